package app

import (
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
)

// Webhook deliveries do not reach the server's own network unless allowed.
func TestEventClientRefusesPrivateAddresses(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {}))
	defer srv.Close()
	guarded, err := eventClient("", false)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := guarded.Get(srv.URL); err == nil || !strings.Contains(err.Error(), "not public") {
		t.Fatalf("a loopback endpoint was reached: %v", err)
	}
	open, _ := eventClient("", true)
	resp, err := open.Get(srv.URL)
	if err != nil {
		t.Fatalf("with allowPrivateEndpoints: %v", err)
	}
	resp.Body.Close()
	for addr, public := range map[string]bool{"8.8.8.8": true, "2001:4860::8888": true, "10.1.2.3": false, "192.168.0.1": false,
		"172.16.5.4": false, "169.254.169.254": false, "100.64.0.1": false, "::1": false, "fd00::1": false, "fe80::1": false, "0.0.0.0": false} {
		if got := publicAddr(netip.MustParseAddr(addr)); got != public {
			t.Errorf("%s: public %v, want %v", addr, got, public)
		}
	}
}
