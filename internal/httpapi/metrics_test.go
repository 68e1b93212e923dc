package httpapi

import "testing"

func TestMetricsTokenLength(t *testing.T) {
	var m MetricsAccess
	if err := m.SetToken("too-short-for-a-scrape-token"); err == nil || m.token != nil {
		t.Fatal("a short scrape token was accepted")
	}
	if err := m.SetToken("a-scrape-token-of-thirty-two-chars"); err != nil || m.token == nil {
		t.Fatalf("a 32-character token: %v", err)
	}
}
