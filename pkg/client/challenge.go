package client

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
)

// Challenge is a parsed Key Vault Bearer challenge, the WWW-Authenticate
// header of a 401: Bearer authorization="https://login/{tenant}",
// resource="https://vault.suffix" [scope="..."].
type Challenge struct {
	Authorization string // authorization (or authorization_uri)
	Resource      string // resource (or resource_id)
	Scope         string // scope; optional
	TenantID      string // first path segment of Authorization
}

// ParseChallenge parses a WWW-Authenticate header value. Parameters may be
// separated by ", " or by spaces; quotes are stripped. It fails when the
// scheme is not Bearer, when authorization is missing, or when neither
// scope nor resource is given.
func ParseChallenge(header string) (Challenge, error) {
	scheme, rest, _ := strings.Cut(strings.TrimSpace(header), " ")
	if !strings.EqualFold(scheme, "Bearer") {
		return Challenge{}, fmt.Errorf("authentication challenge %q is not a Bearer challenge", truncate(header, 200))
	}
	params := challengeParams(rest)
	c := Challenge{
		Authorization: first(params["authorization"], params["authorization_uri"]),
		Resource:      first(params["resource"], params["resource_id"]),
		Scope:         params["scope"],
	}
	if c.Authorization == "" {
		return Challenge{}, errors.New("authentication challenge has no authorization parameter")
	}
	if c.Resource == "" && c.Scope == "" {
		return Challenge{}, errors.New("authentication challenge has neither scope nor resource")
	}
	u, err := url.Parse(c.Authorization)
	if err != nil {
		return Challenge{}, fmt.Errorf("authentication challenge: invalid authorization URL: %w", err)
	}
	c.TenantID, _, _ = strings.Cut(strings.TrimPrefix(u.Path, "/"), "/")
	return c, nil
}

// challengeParams splits `a="x", b="y"` or `a="x" b="y"` into a map with
// lower-case keys and unquoted values.
func challengeParams(s string) map[string]string {
	params := map[string]string{}
	parts := strings.FieldsFunc(s, func(r rune) bool { return r == ' ' || r == ',' })
	for _, p := range parts {
		k, v, ok := strings.Cut(p, "=")
		if !ok {
			continue
		}
		params[strings.ToLower(strings.TrimSpace(k))] = strings.Trim(v, `"'`)
	}
	return params
}

// TokenScope is the scope to request a token for: Scope if given, else
// Resource, with "/.default" appended when missing.
func (c Challenge) TokenScope() string {
	s := first(c.Scope, c.Resource)
	if !strings.HasSuffix(s, "/.default") {
		s = strings.TrimSuffix(s, "/") + "/.default"
	}
	return s
}

// VerifyResource checks that vaultHost (host[:port] of the request URL)
// ends with "." plus the host[:port] of the challenge's scope. This keeps
// a server from obtaining a token meant for another service. Hosts compare
// case-insensitively and ":443" counts as no port.
func (c Challenge) VerifyResource(vaultHost string) error {
	u, err := url.Parse(c.TokenScope())
	if err != nil || u.Host == "" {
		return fmt.Errorf("challenge resource %q is not a URL", first(c.Scope, c.Resource))
	}
	want := normalizeHost(u.Host)
	if !strings.HasSuffix(normalizeHost(vaultHost), "."+want) {
		return fmt.Errorf("challenge resource %q doesn't match the requested domain %q: the vault host must end in %q. "+
			"Set DisableChallengeResourceVerification in ClientOptions if you trust this server",
			first(c.Scope, c.Resource), vaultHost, "."+want)
	}
	return nil
}

func normalizeHost(h string) string {
	return strings.TrimSuffix(strings.ToLower(h), ":443")
}

func first(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
