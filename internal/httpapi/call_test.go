package httpapi

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
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
