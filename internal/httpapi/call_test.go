package httpapi

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/keyhaven/keyhaven/internal/identity"
)

func newQueryCall(raw string) *call {
	return &call{r: &http.Request{URL: &url.URL{RawQuery: raw}}}
}

func TestQueryValue(t *testing.T) {
	for _, tc := range []struct {
		raw, name, want string
		ok              bool
	}{
		{"api-version=7.5", "api-version", "7.5", true},
		{"maxresults=25&api-version=7.4", "api-version", "7.4", true},
		{"&&api-version=7.5&", "api-version", "7.5", true},
		{"api-version=", "api-version", "", true},
		{"api-version", "api-version", "", true},
		{"", "api-version", "", false},
		{"api-versions=1", "api-version", "", false},
		{"API-VERSION=7.5", "api-version", "7.5", true},
		{"Api-Version=1&api-version=2", "api-version", "2", true}, // an exact match first
		{"api-version=1&api-version=2", "api-version", "1", true},
		{"x=1&API-version=3&Api-Version=4", "api-version", "3", true}, // then the first in another case
		{"api%2Dversion=7.5", "api-version", "7.5", true},
		{"api-version=7%2E5", "api-version", "7.5", true},
		{"api-version=a+b", "api-version", "a b", true},
		{"api-version=7.5;x=1", "api-version", "", false}, // a pair with ';' does not parse
		{"a=1;b=2&api-version=7.5", "api-version", "7.5", true},
		{"api-version=%zz&API-Version=7", "api-version", "7", true},
		{"=7.5", "", "7.5", true},
		// Beyond url.ParseQuery's limit of 10,000 pairs nothing is parsed.
		{"api-version=7.5" + strings.Repeat("&a=1", 10000), "api-version", "", false},
		{"api-version=7.5" + strings.Repeat("&a=1", 9999), "api-version", "7.5", true},
	} {
		got, ok := newQueryCall(tc.raw).queryValue(tc.name)
		if got != tc.want || ok != tc.ok {
			t.Errorf("queryValue(%q, %q) = %q, %v; want %q, %v", tc.raw, tc.name, got, ok, tc.want, tc.ok)
		}
	}
}

// The fast path (a query without escapes read in place) answers as the
// parsed query does.
func FuzzQueryValue(f *testing.F) {
	f.Add("api-version=7.5&maxresults=25", "api-version")
	f.Add("API-Version=7&api-version=8&Api-version=9", "api-version")
	f.Add("API-Version=7%2e5&a+b=c;d", "api-version")
	f.Fuzz(func(t *testing.T, raw, name string) {
		got, ok := newQueryCall(raw).queryValue(name)
		parsed := newQueryCall(raw)
		parsed.values()
		want, wantOK := parsed.queryValue(name)
		if got != want || ok != wantOK {
			t.Fatalf("queryValue(%q, %q) = %q, %v; parsed: %q, %v", raw, name, got, ok, want, wantOK)
		}
	})
}

// requestURLs gives what the plain concatenations would.
func TestRequestURLs(t *testing.T) {
	for _, target := range []string{"/secrets/a?api-version=7.5", "/secrets/a", "/secrets/a%2Fb?x=1", "/", "/?", "/x?", "*",
		"/secrets/" + strings.Repeat("n", 3000) + "?api-version=7.5"} {
		r := httptest.NewRequest(http.MethodGet, target, nil)
		r.Host = "v.vault.localhost:8443"
		id, uri := requestURLs(r)
		base := "https://" + r.Host
		if wantID, wantURI := truncate(base+r.URL.EscapedPath(), 2048), truncate(base+r.URL.RequestURI(), 2048); id != wantID || uri != wantURI {
			t.Errorf("%s: %q %q, want %q %q", target, id, uri, wantID, wantURI)
		}
	}
}

// isAudience remembers the audience it last accepted, and only that one.
func TestIsAudience(t *testing.T) {
	s := &Server{Deps: Deps{DNSSuffix: "vault.localhost"}}
	for i := range 2 { // the second round answers from the remembered audience
		for aud, want := range map[string]bool{
			"https://vault.localhost": true, "https://vault.azure.net/": true, "https://VAULT.localhost:8443": true,
			"http://vault.localhost": false, "https://vault.localhost/x": false, "https://evil.example": false,
			"vault.localhost": false, "": false, "https://vault.azure.net.evil": false,
		} {
			if got := s.isAudience(aud); got != want {
				t.Errorf("round %d: isAudience(%q) = %v, want %v", i, aud, got, want)
			}
		}
	}
}

// A connection remembers its last validated token while its validation
// holds (not before nbf, not after exp, same identity generation), and
// answers only for exactly that token.
func TestConnStateRemembersItsLastToken(t *testing.T) {
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	p := &identity.Principal{ObjectID: "o"}
	cs := &connState{}
	cs.remember("tok-a", p, identity.Validity{}) // zero: checked at every use, never remembered
	if cs.principal("tok-a", now, 0) != nil {
		t.Fatal("a token to check at every use was remembered")
	}
	cs.remember("tok-a", p, identity.Validity{From: now.Add(-time.Minute), Until: now.Add(time.Minute), Generation: 3})
	for _, c := range []struct {
		token string
		at    time.Time
		gen   uint64
		want  bool
	}{
		{"tok-a", now, 3, true},
		{"tok-a", now.Add(time.Minute), 3, true}, // until is inclusive, as the expiry check is
		{"tok-a", now.Add(time.Minute + time.Nanosecond), 3, false},
		{"tok-a", now.Add(-time.Minute), 3, true},
		{"tok-a", now.Add(-time.Minute - time.Nanosecond), 3, false}, // before nbf (the clock went back)
		{"tok-a", now, 4, false},                                     // signing keys or tenant changed
		{"tok-b", now, 3, false},                                     // same length, other bytes
		{"tok-a ", now, 3, false},
		{"tok-", now, 3, false},
		{"", now, 3, false},
	} {
		if got := cs.principal(c.token, c.at, c.gen) == p; got != c.want {
			t.Errorf("principal(%q, %v, %d) = %v, want %v", c.token, c.at, c.gen, got, c.want)
		}
	}
	var none *connState // a request that did not come through a listener
	none.remember("tok-a", p, identity.Validity{Until: now.Add(time.Minute)})
	if none.principal("tok-a", now, 0) != nil {
		t.Fatal("no connection state, yet an answer")
	}
}

func TestEqualConstantTime(t *testing.T) {
	base := strings.Repeat("eyJhbGciOiJSUzI1NiJ9.", 45) + "abc"
	if !equalConstantTime(base, strings.Clone(base)) || !equalConstantTime("", "") {
		t.Fatal("equal strings compare unequal")
	}
	for i := range len(base) { // a difference at every offset, in words and in the tail
		b := []byte(base)
		b[i] ^= 0x20
		if equalConstantTime(base, string(b)) {
			t.Fatalf("a difference at %d is missed", i)
		}
	}
	if equalConstantTime(base, base[:len(base)-1]) {
		t.Fatal("different lengths compare equal")
	}
}

func BenchmarkEqualConstantTime(b *testing.B) {
	a := strings.Repeat("x", 941)
	c := strings.Clone(a)
	for b.Loop() {
		if !equalConstantTime(a, c) {
			b.Fatal("unequal")
		}
	}
}
