package cli

import (
	"errors"
	"testing"
)

func TestResolveVaultURL(t *testing.T) {
	tests := []struct {
		name      string
		vaultName string
		vaultURL  string
		env       map[string]string
		want      string
		wantUsage bool
		wantErr   bool
	}{
		{name: "name with default suffix", vaultName: "myvault", want: "https://myvault.vault.localhost"},
		{name: "name with suffix and port", vaultName: "myvault", env: map[string]string{envDNSSuffix: "vault.localhost:8443"},
			want: "https://myvault.vault.localhost:8443"},
		{name: "suffix written as a URL", vaultName: "myvault", env: map[string]string{envDNSSuffix: "https://kv.example.com/"},
			want: "https://myvault.kv.example.com"},
		{name: "name takes the suffix and port of the vault URL", vaultName: "other", env: map[string]string{envVaultURL: "https://dev.vault.localhost:8443"},
			want: "https://other.vault.localhost:8443"},
		{name: "url", vaultURL: "https://dev.vault.localhost:8443/", want: "https://dev.vault.localhost:8443"},
		{name: "flag beats environment", vaultURL: "https://a.vault.localhost", env: map[string]string{envVaultURL: "https://b.vault.localhost"},
			want: "https://a.vault.localhost"},
		{name: "environment", env: map[string]string{envVaultURL: "https://b.vault.localhost"}, want: "https://b.vault.localhost"},
		{name: "bad environment URL is not a usage error", env: map[string]string{envVaultURL: "b.vault.localhost"}, wantErr: true},
		{name: "bad suffix", vaultName: "myvault", env: map[string]string{envDNSSuffix: "x/y"}, wantErr: true},
		{name: "neither", wantUsage: true},
		{name: "both", vaultName: "myvault", vaultURL: "https://x", wantUsage: true},
		{name: "name too short", vaultName: "ab", wantUsage: true},
		{name: "name with a dot", vaultName: "a.evil.com", wantUsage: true},
		{name: "url with path", vaultURL: "https://x/secrets", wantUsage: true},
		{name: "url over http", vaultURL: "http://x", wantUsage: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := resolveVaultURL(tt.vaultName, tt.vaultURL, func(k string) string { return tt.env[k] })
			var ue usageError
			switch {
			case tt.wantUsage:
				if !errors.As(err, &ue) {
					t.Errorf("err = %v, want a usage error", err)
				}
			case tt.wantErr:
				if err == nil || errors.As(err, &ue) {
					t.Errorf("err = %v, want a non-usage error", err)
				}
			case err != nil || got != tt.want:
				t.Errorf("got %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}
