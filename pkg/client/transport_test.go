package client

import (
	"context"
	"errors"
	"net"
	"testing"
)

func TestIsLocalhostName(t *testing.T) {
	tests := []struct {
		host string
		want bool
	}{
		{"localhost", true},
		{"dev.vault.localhost", true},
		{"DEV.Vault.LOCALHOST", true},
		{"dev.vault.localhost.", true},
		{"localhost.example.com", false},
		{"notlocalhost", false},
		{"127.0.0.1", false},
		{"vault.azure.net", false},
	}
	for _, tt := range tests {
		if got := isLocalhostName(tt.host); got != tt.want {
			t.Errorf("isLocalhostName(%q) = %v, want %v", tt.host, got, tt.want)
		}
	}
}

func TestLoopbackDialer(t *testing.T) {
	tests := []struct {
		name      string
		addr      string
		refuseV4  bool
		wantDials []string
	}{
		{name: "localhost name goes to 127.0.0.1", addr: "dev.vault.localhost:8443", wantDials: []string{"127.0.0.1:8443"}},
		{name: "falls back to ::1", addr: "dev.vault.localhost:8443", refuseV4: true, wantDials: []string{"127.0.0.1:8443", "[::1]:8443"}},
		{name: "other names untouched", addr: "vault.example.com:443", wantDials: []string{"vault.example.com:443"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var dials []string
			dial := loopbackDialer(func(_ context.Context, _, addr string) (net.Conn, error) {
				dials = append(dials, addr)
				if tt.refuseV4 && addr == "127.0.0.1:8443" {
					return nil, errors.New("refused")
				}
				c, _ := net.Pipe()
				return c, nil
			})
			conn, err := dial(context.Background(), "tcp", tt.addr)
			if err != nil {
				t.Fatal(err)
			}
			conn.Close()
			if len(dials) != len(tt.wantDials) {
				t.Fatalf("dialled %v, want %v", dials, tt.wantDials)
			}
			for i := range dials {
				if dials[i] != tt.wantDials[i] {
					t.Errorf("dialled %v, want %v", dials, tt.wantDials)
				}
			}
		})
	}
}
