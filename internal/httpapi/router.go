package httpapi

import (
	"strings"
)

// route is one row of a plane's route table. Every data-plane route names
// the RBAC data action it needs; the one ServeHTTP enforces it.
type route struct {
	method  string
	pattern string // "/secrets/{name}/{version}"; literal segments match case-insensitively
	op      string // operation name, as in Azure's spec (also the audit operation name)
	action  string // RBAC data action; required on the data plane
	// self marks an authority route that needs an authenticated caller but
	// no management role: it acts on the caller's own grants (PIM
	// activation).
	self   bool
	scope  scopeKind
	body   int64 // largest accepted body in bytes; 0 means no body is read
	handle func(*Server, *call) error

	segs []string // pattern split on "/"
}

// scopeKind says which authorization scope a data-plane route checks.
type scopeKind int

const (
	scopeVault  scopeKind = iota // the vault: lists, restore
	scopeObject                  // one object: /vaults/{v}/{collection}/{name}
)

// table is a compiled route table.
type table struct{ routes []*route }

func newTable(routes []route) *table {
	t := &table{}
	for i := range routes {
		r := routes[i]
		r.segs = splitPath(r.pattern)
		t.routes = append(t.routes, &r)
	}
	return t
}

// match finds the route for method and the cleaned path segments. Among the
// routes whose shape fits, the one with the most literal segments wins, so
// "/secrets/{name}/versions" beats "/secrets/{name}/{version}". It reports
// whether some route fits the path with another method (405).
func (t *table) match(method string, segs []string) (best *route, params []string, pathKnown bool) {
	bestScore := -1
	for _, r := range t.routes {
		score, ok := r.fits(segs)
		if !ok {
			continue
		}
		pathKnown = true
		if r.method == method && score > bestScore {
			best, bestScore = r, score
		}
	}
	if best == nil {
		return nil, nil, pathKnown
	}
	for i, s := range best.segs {
		if isParam(s) {
			params = append(params, segs[i])
		}
	}
	return best, params, true
}

// fits reports whether the route's shape fits segs, and its score: the
// number of literal segments, and among equals the longer literal prefix,
// so "/certificates/issuers/{issuer}" beats "/certificates/{name}/pending"
// for /certificates/issuers/pending.
func (r *route) fits(segs []string) (score int, ok bool) {
	if len(segs) != len(r.segs) {
		return 0, false
	}
	literals, prefix, inPrefix := 0, 0, true
	for i, p := range r.segs {
		if isParam(p) {
			if segs[i] == "" {
				return 0, false
			}
			inPrefix = false
			continue
		}
		if !strings.EqualFold(p, segs[i]) {
			return 0, false
		}
		literals++
		if inPrefix {
			prefix++
		}
	}
	return literals*64 + prefix, true
}

func isParam(seg string) bool { return strings.HasPrefix(seg, "{") }

// splitPath cleans a request path the way Key Vault clients need: empty
// segments (from "//" or a trailing slash, which means "latest version")
// are dropped, and no redirect is ever issued.
func splitPath(p string) []string {
	parts := strings.Split(p, "/")
	out := parts[:0]
	for _, s := range parts {
		if s != "" && s != "." {
			out = append(out, s)
		}
	}
	return out
}
