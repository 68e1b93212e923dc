package httpapi

import (
	"net/http"
	"net/netip"
	"slices"
	"strings"
	"sync"

	"github.com/keyhaven/keyhaven/internal/kverr"
	"github.com/keyhaven/keyhaven/internal/vaults"
)

// Network configures the data plane's firewall and rate limits. The zero
// value trusts no proxy and throttles nothing.
type Network struct {
	// TrustedProxies are the reverse proxies whose X-Forwarded-For header
	// names the client (see clientAddr); anyone else's is ignored.
	TrustedProxies []netip.Prefix
	Throttle       ThrottleLimits
}

// ParseIPRules parses addresses and CIDR prefixes ("203.0.113.5",
// "10.0.0.0/8", "2001:db8::/32") as the firewall matches them: IPv4-mapped
// IPv6 forms become IPv4, zones are dropped.
func ParseIPRules(rules []string) ([]netip.Prefix, error) {
	out := make([]netip.Prefix, 0, len(rules))
	for _, r := range rules {
		p, err := vaults.ParseIPRule(strings.TrimSpace(r))
		if err != nil {
			return nil, err
		}
		out = append(out, canonicalPrefix(p))
	}
	return out, nil
}

// canonicalPrefix turns ::ffff:a.b.c.d/n (n ≥ 96) into a.b.c.d/(n-96) and
// drops zones, so that prefixes compare with canonicalAddr's addresses.
func canonicalPrefix(p netip.Prefix) netip.Prefix {
	a := p.Addr().WithZone("")
	if a.Is4In6() && p.Bits() >= 96 {
		return netip.PrefixFrom(a.Unmap(), p.Bits()-96).Masked()
	}
	return netip.PrefixFrom(a, p.Bits()).Masked()
}

// canonicalAddr maps IPv4-mapped IPv6 to IPv4 and drops zones.
func canonicalAddr(a netip.Addr) netip.Addr { return a.Unmap().WithZone("") }

// clientAddr returns the address a request comes from: the TCP peer's, or,
// when the peer is a trusted proxy, the right-most X-Forwarded-For entry
// that is not itself a trusted proxy. Walking from the peer leftwards,
// each trusted hop vouches for the entry before it; the walk stops at the
// first untrusted address (the client), at a malformed entry (then the
// last trusted hop is the client), or at the left end. A peer that is not
// a trusted proxy cannot choose its address. The zero Addr means the peer
// address could not be parsed.
func clientAddr(r *http.Request, trusted []netip.Prefix) netip.Addr {
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		return netip.Addr{}
	}
	addr := canonicalAddr(ap.Addr())
	if len(trusted) == 0 || !containsAddr(trusted, addr) {
		return addr
	}
	lines := r.Header.Values("X-Forwarded-For")
	for i := len(lines) - 1; i >= 0; i-- {
		rest := lines[i]
		for more := true; more; {
			var entry string
			if j := strings.LastIndexByte(rest, ','); j >= 0 {
				entry, rest = rest[j+1:], rest[:j]
			} else {
				entry, more = rest, false
			}
			hop, ok := parseHop(entry)
			if !ok {
				return addr
			}
			addr = hop
			if !containsAddr(trusted, addr) {
				return addr
			}
		}
	}
	return addr
}

// parseHop parses one X-Forwarded-For entry: an address, optionally with a
// port ("203.0.113.5:4711", "[2001:db8::1]:4711") or in brackets.
func parseHop(s string) (netip.Addr, bool) {
	s = strings.TrimSpace(s)
	if a, err := netip.ParseAddr(s); err == nil {
		return canonicalAddr(a), true
	}
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return canonicalAddr(ap.Addr()), true
	}
	if inner, ok := strings.CutPrefix(s, "["); ok {
		if a, err := netip.ParseAddr(strings.TrimSuffix(inner, "]")); err == nil && strings.HasSuffix(inner, "]") {
			return canonicalAddr(a), true
		}
	}
	return netip.Addr{}, false
}

func containsAddr(prefixes []netip.Prefix, a netip.Addr) bool {
	for _, p := range prefixes {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// firewall applies the vault's network rules to a data-plane request,
// before authentication, so a refused address learns nothing else: with
// publicNetworkAccess Disabled every request is refused; with
// networkAcls.defaultAction Deny only addresses in ipRules pass. Vaults
// open to all (the default) cost two string comparisons.
func (s *Server) firewall(c *call) error {
	v := c.vault
	disabled := v.PublicNetworkAccess == "Disabled"
	if !disabled && v.NetworkACLs.DefaultAction != "Deny" {
		return nil
	}
	c.client = clientAddr(c.r, s.Network.TrustedProxies)
	if disabled {
		return kverr.New(kverr.Forbidden, "Forbidden",
			"Public network access is disabled and request is not from a trusted service nor via an approved private link.\r\n"+
				"Vault: "+v.Name).WithInner("ForbiddenByConnection")
	}
	if s.fw.rules(v).allows(c.client) {
		return nil
	}
	return kverr.New(kverr.Forbidden, "Forbidden",
		"Client address is not authorized and caller is not a trusted service.\r\n"+
			"Client address: "+addrText(c.client)+"\r\n"+
			"Vault: "+v.Name).WithInner("ForbiddenByFirewall")
}

func addrText(a netip.Addr) string {
	if !a.IsValid() {
		return "unknown"
	}
	return a.String()
}

// callerIP is the client address for the audit record: the one the
// firewall resolved, or else resolved the same way.
func (s *Server) callerIP(c *call) string {
	if !c.client.IsValid() {
		if len(s.Network.TrustedProxies) == 0 && !strings.HasPrefix(c.r.RemoteAddr, "[::ffff:") {
			return remoteIP(c.r.RemoteAddr) // the common case, without parsing
		}
		c.client = clientAddr(c.r, s.Network.TrustedProxies)
	}
	if !c.client.IsValid() {
		return remoteIP(c.r.RemoteAddr)
	}
	return c.client.String()
}

// fwCache holds each vault's parsed IP rules for the settings version
// they were parsed from. Vault settings are immutable snapshots replaced
// on every change, so a pointer comparison tells whether the cached rules
// are current; requests never parse rules. Entries are keyed by vault id,
// so the cache holds at most one entry per vault ever seen denying.
type fwCache struct{ m sync.Map } // vault id → *ipRules

func (f *fwCache) rules(v *vaults.Vault) *ipRules {
	if r, ok := f.m.Load(v.ID); ok && r.(*ipRules).vault == v {
		return r.(*ipRules)
	}
	r := newIPRules(v.NetworkACLs.IPRules)
	r.vault = v
	f.m.Store(v.ID, r)
	return r
}

// ipRules matches an address against a set of prefixes with one map
// lookup per distinct prefix length of its family, however many rules
// there are.
type ipRules struct {
	vault        *vaults.Vault // the settings version parsed
	set          map[netip.Prefix]struct{}
	bits4, bits6 []int // distinct prefix lengths present, per family
}

// newIPRules parses rules; a rule that does not parse (settings are
// validated when written, so none should) matches nothing.
func newIPRules(rules []string) *ipRules {
	r := &ipRules{set: make(map[netip.Prefix]struct{}, len(rules))}
	for _, s := range rules {
		p, err := vaults.ParseIPRule(strings.TrimSpace(s))
		if err != nil {
			continue
		}
		p = canonicalPrefix(p)
		r.set[p] = struct{}{}
		if p.Addr().Is4() {
			r.bits4 = append(r.bits4, p.Bits())
		} else {
			r.bits6 = append(r.bits6, p.Bits())
		}
	}
	for _, b := range []*[]int{&r.bits4, &r.bits6} {
		slices.Sort(*b)
		*b = slices.Compact(*b)
	}
	return r
}

// allows reports whether a is inside one of the prefixes.
func (r *ipRules) allows(a netip.Addr) bool {
	if !a.IsValid() {
		return false
	}
	bits := r.bits6
	if a.Is4() {
		bits = r.bits4
	}
	for _, b := range bits {
		p, err := a.Prefix(b)
		if err != nil {
			continue
		}
		if _, ok := r.set[p]; ok {
			return true
		}
	}
	return false
}
