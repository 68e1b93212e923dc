package httpapi

import (
	"context"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/keyhaven/keyhaven/internal/barrier"
	"github.com/keyhaven/keyhaven/internal/kverr"
	"github.com/keyhaven/keyhaven/internal/storage/memory"
	"github.com/keyhaven/keyhaven/internal/vaults"
)

func mustPrefixes(t testing.TB, rules ...string) []netip.Prefix {
	t.Helper()
	p, err := ParseIPRules(rules)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestClientAddr(t *testing.T) {
	trusted := mustPrefixes(t, "10.0.0.0/8", "fd00::/8", "192.0.2.1")
	tests := []struct {
		name    string
		peer    string
		xff     []string // X-Forwarded-For header lines
		trusted []netip.Prefix
		want    string
	}{
		{name: "no proxies configured: the peer", peer: "203.0.113.5:4711", xff: []string{"198.51.100.1"}, want: "203.0.113.5"},
		{name: "untrusted peer's header is ignored", peer: "203.0.113.5:4711", xff: []string{"198.51.100.1"}, trusted: trusted, want: "203.0.113.5"},
		{name: "spoofed trusted address from an untrusted peer", peer: "203.0.113.5:4711", xff: []string{"10.0.0.7"}, trusted: trusted, want: "203.0.113.5"},
		{name: "trusted peer: the entry it appended", peer: "10.1.2.3:4711", xff: []string{"198.51.100.1"}, trusted: trusted, want: "198.51.100.1"},
		{name: "right-most untrusted entry wins over the client's own claims", peer: "10.1.2.3:4711",
			xff: []string{"192.168.1.1, 198.51.100.1"}, trusted: trusted, want: "198.51.100.1"},
		{name: "trusted hops are skipped", peer: "10.1.2.3:4711", xff: []string{"198.51.100.1, 10.9.9.9, 192.0.2.1"}, trusted: trusted, want: "198.51.100.1"},
		{name: "several header lines read as one list", peer: "10.1.2.3:4711", xff: []string{"203.0.113.9, 198.51.100.1", "10.2.2.2"},
			trusted: trusted, want: "198.51.100.1"},
		{name: "trusted peer without header: the peer", peer: "10.1.2.3:4711", trusted: trusted, want: "10.1.2.3"},
		{name: "every hop trusted: the left-most", peer: "10.1.2.3:4711", xff: []string{"10.4.4.4, 10.5.5.5"}, trusted: trusted, want: "10.4.4.4"},
		{name: "malformed entry: the last trusted hop", peer: "10.1.2.3:4711", xff: []string{"198.51.100.1, unknown"}, trusted: trusted, want: "10.1.2.3"},
		{name: "empty entry: the last trusted hop", peer: "10.1.2.3:4711", xff: []string{"198.51.100.1, , 10.6.6.6"}, trusted: trusted, want: "10.6.6.6"},
		{name: "entry with a port", peer: "10.1.2.3:4711", xff: []string{"198.51.100.1:5555"}, trusted: trusted, want: "198.51.100.1"},
		{name: "IPv6 entry in brackets with a port", peer: "10.1.2.3:4711", xff: []string{"[2001:db8::1]:5555"}, trusted: trusted, want: "2001:db8::1"},
		{name: "IPv6 entry in brackets", peer: "10.1.2.3:4711", xff: []string{"[2001:db8::2]"}, trusted: trusted, want: "2001:db8::2"},
		{name: "IPv6 peer and entry", peer: "[fd00::1]:4711", xff: []string{"2001:db8::3"}, trusted: trusted, want: "2001:db8::3"},
		{name: "IPv4-mapped peer is IPv4", peer: "[::ffff:203.0.113.5]:4711", want: "203.0.113.5"},
		{name: "IPv4-mapped trusted peer matches an IPv4 rule", peer: "[::ffff:10.1.2.3]:4711", xff: []string{"198.51.100.1"}, trusted: trusted, want: "198.51.100.1"},
		{name: "IPv4-mapped entry is IPv4", peer: "10.1.2.3:4711", xff: []string{"::ffff:198.51.100.1"}, trusted: trusted, want: "198.51.100.1"},
		{name: "IPv4-mapped trusted entry is skipped", peer: "10.1.2.3:4711", xff: []string{"198.51.100.1, ::ffff:10.7.7.7"}, trusted: trusted, want: "198.51.100.1"},
		{name: "zone dropped", peer: "[fe80::1%eth0]:4711", want: "fe80::1"},
		{name: "unparsable peer", peer: "pipe", want: "invalid IP"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "https://dev.vault.localhost/secrets", nil)
			r.RemoteAddr = tt.peer
			for _, line := range tt.xff {
				r.Header.Add("X-Forwarded-For", line)
			}
			if got := clientAddr(r, tt.trusted).String(); got != tt.want {
				t.Errorf("clientAddr = %s, want %s", got, tt.want)
			}
		})
	}
}

func TestIPRules(t *testing.T) {
	rules := newIPRules([]string{"203.0.113.5", "198.51.100.0/24", "10.0.0.0/8", "2001:db8::/32", "fd00::1", "::ffff:192.0.2.0/120", "not-an-address"})
	tests := []struct {
		addr string
		want bool
	}{
		{addr: "203.0.113.5", want: true},
		{addr: "203.0.113.6", want: false},
		{addr: "198.51.100.0", want: true},
		{addr: "198.51.100.255", want: true},
		{addr: "198.51.101.1", want: false},
		{addr: "10.255.0.1", want: true},
		{addr: "11.0.0.1", want: false},
		{addr: "192.0.2.77", want: true}, // from the IPv4-mapped rule
		{addr: "2001:db8:1234::9", want: true},
		{addr: "2001:db9::1", want: false},
		{addr: "fd00::1", want: true},
		{addr: "fd00::2", want: false},
		{addr: "::ffff:203.0.113.5", want: false}, // clientAddr unmaps first; rules compare canonical forms
	}
	for _, tt := range tests {
		if got := rules.allows(netip.MustParseAddr(tt.addr)); got != tt.want {
			t.Errorf("allows(%s) = %v, want %v", tt.addr, got, tt.want)
		}
	}
	if rules.allows(netip.Addr{}) {
		t.Error("an unknown address is allowed")
	}
	if newIPRules(nil).allows(netip.MustParseAddr("127.0.0.1")) {
		t.Error("no rules allow an address")
	}
	if !newIPRules([]string{"0.0.0.0/0"}).allows(netip.MustParseAddr("8.8.8.8")) || newIPRules([]string{"0.0.0.0/0"}).allows(netip.MustParseAddr("::1")) {
		t.Error("0.0.0.0/0 must match every IPv4 address and no IPv6 one")
	}
}

// testVaults is a real vault registry over memory storage.
func testVaults(t testing.TB) *vaults.Service {
	t.Helper()
	b := barrier.New(memory.New())
	if err := b.Initialize(context.Background(), barrier.NewDevSeal()); err != nil {
		t.Fatal(err)
	}
	vs := vaults.New(b, time.Now)
	if _, err := vs.Create(context.Background(), vaults.Spec{Name: "dev"}); err != nil {
		t.Fatal(err)
	}
	return vs
}

func setACLs(t testing.TB, vs *vaults.Service, fn func(*vaults.Settings)) *vaults.Vault {
	t.Helper()
	v, err := vs.Update(context.Background(), "dev", func(v *vaults.Vault) error { fn(&v.Settings); return nil })
	if err != nil {
		t.Fatal(err)
	}
	got, _ := vs.Lookup("dev")
	if got.ID != v.ID {
		t.Fatal("lookup returned another vault")
	}
	return got
}

func firewallCall(v *vaults.Vault, peer string, xff ...string) *call {
	r := httptest.NewRequest("GET", "https://dev.vault.localhost/secrets/x?api-version=7.6", nil)
	r.RemoteAddr = peer
	for _, h := range xff {
		r.Header.Add("X-Forwarded-For", h)
	}
	return &call{w: httptest.NewRecorder(), r: r, vault: v}
}

func innerCode(err error) string {
	if ke := kverr.As(err); ke != nil && ke.Kind == kverr.Forbidden {
		return ke.Inner
	}
	return ""
}

func TestFirewallDecisions(t *testing.T) {
	vs := testVaults(t)
	s := &Server{Deps: Deps{Vaults: vs, Network: Network{TrustedProxies: mustPrefixes(t, "10.0.0.1")}}}
	open, _ := vs.Lookup("dev")
	if err := s.firewall(firewallCall(open, "203.0.113.5:1")); err != nil {
		t.Fatalf("default settings: %v", err)
	}

	deny := setACLs(t, vs, func(st *vaults.Settings) {
		st.NetworkACLs.DefaultAction, st.NetworkACLs.IPRules = "Deny", []string{"198.51.100.0/24", "2001:db8::7"}
	})
	if err := s.firewall(firewallCall(deny, "198.51.100.9:1")); err != nil {
		t.Errorf("address in a rule: %v", err)
	}
	if err := s.firewall(firewallCall(deny, "[2001:db8::7]:1")); err != nil {
		t.Errorf("IPv6 address in a rule: %v", err)
	}
	err := s.firewall(firewallCall(deny, "203.0.113.5:1", "198.51.100.9"))
	if innerCode(err) != "ForbiddenByFirewall" || !strings.Contains(kverr.As(err).Message, "Client address: 203.0.113.5\r\n") ||
		!strings.Contains(kverr.As(err).Message, "Vault: dev") {
		t.Errorf("untrusted peer with a forwarded allowed address: %v", err)
	}
	if err := s.firewall(firewallCall(deny, "10.0.0.1:1", "198.51.100.9")); err != nil {
		t.Errorf("trusted proxy forwarding an allowed address: %v", err)
	}
	c := firewallCall(deny, "10.0.0.1:1", "203.0.113.77")
	if err := s.firewall(c); innerCode(err) != "ForbiddenByFirewall" || !strings.Contains(err.Error(), "Client address: 203.0.113.77") {
		t.Errorf("trusted proxy forwarding another address: %v", err)
	}
	if got := s.callerIP(c); got != "203.0.113.77" {
		t.Errorf("audit caller address %q, want the forwarded client", got)
	}

	// A settings change is seen at once: the cached rules belong to the old version.
	allow := setACLs(t, vs, func(st *vaults.Settings) { st.NetworkACLs.IPRules = []string{"203.0.113.0/24"} })
	if allow == deny {
		t.Fatal("Update kept the vault pointer; the rule cache depends on its replacement")
	}
	if err := s.firewall(firewallCall(allow, "203.0.113.5:1")); err != nil {
		t.Errorf("after the rule change: %v", err)
	}
	if err := s.firewall(firewallCall(allow, "198.51.100.9:1")); innerCode(err) != "ForbiddenByFirewall" {
		t.Errorf("old rule still applies: %v", err)
	}

	disabled := setACLs(t, vs, func(st *vaults.Settings) { st.PublicNetworkAccess = "Disabled" })
	err = s.firewall(firewallCall(disabled, "203.0.113.5:1"))
	if innerCode(err) != "ForbiddenByConnection" || !strings.HasPrefix(kverr.As(err).Message, "Public network access is disabled") {
		t.Errorf("public network access disabled, allowed address: %v", err)
	}
	reopened := setACLs(t, vs, func(st *vaults.Settings) {
		st.PublicNetworkAccess, st.NetworkACLs.DefaultAction = "Enabled", "Allow"
	})
	if err := s.firewall(firewallCall(reopened, "192.0.2.200:1")); err != nil {
		t.Errorf("Allow: %v", err)
	}
}

func TestCallerIPWithoutFirewall(t *testing.T) {
	s := &Server{}
	for peer, want := range map[string]string{"203.0.113.5:1": "203.0.113.5", "[2001:db8::1]:1": "2001:db8::1",
		"[::ffff:203.0.113.5]:1": "203.0.113.5"} {
		if got := s.callerIP(firewallCall(nil, peer)); got != want {
			t.Errorf("callerIP(%s) = %s, want %s", peer, got, want)
		}
	}
	s.Network.TrustedProxies = mustPrefixes(t, "10.0.0.0/8")
	if got := s.callerIP(firewallCall(nil, "10.0.0.1:1", "203.0.113.9")); got != "203.0.113.9" {
		t.Errorf("behind a trusted proxy: %s", got)
	}
}

// BenchmarkFirewall is the firewall's cost per data-plane request: a vault
// open to all (the default), and a vault denying all but 200 rules.
func BenchmarkFirewall(b *testing.B) {
	vs := testVaults(b)
	s := &Server{Deps: Deps{Vaults: vs}}
	open, _ := vs.Lookup("dev")
	b.Run("open", func(b *testing.B) {
		c := firewallCall(open, "203.0.113.5:40000")
		b.ReportAllocs()
		for b.Loop() {
			if err := s.firewall(c); err != nil {
				b.Fatal(err)
			}
		}
	})
	var rules []string
	for i := range 100 {
		rules = append(rules, netip.AddrFrom4([4]byte{198, 18, byte(i), 0}).String()+"/24",
			netip.AddrFrom4([4]byte{203, 0, 113, byte(i)}).String())
	}
	deny := setACLs(b, vs, func(st *vaults.Settings) { st.NetworkACLs.DefaultAction, st.NetworkACLs.IPRules = "Deny", rules })
	b.Run("deny-200-rules", func(b *testing.B) {
		c := firewallCall(deny, "198.18.99.7:40000")
		b.ReportAllocs()
		for b.Loop() {
			if err := s.firewall(c); err != nil {
				b.Fatal(err)
			}
		}
	})
	s.Network.TrustedProxies = mustPrefixes(b, "10.0.0.0/8")
	b.Run("deny-200-rules-behind-proxy", func(b *testing.B) {
		c := firewallCall(deny, "10.0.0.1:40000", "198.18.99.7")
		b.ReportAllocs()
		for b.Loop() {
			if err := s.firewall(c); err != nil {
				b.Fatal(err)
			}
		}
	})
}
