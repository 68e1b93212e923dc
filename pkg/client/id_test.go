package client

import "testing"

func TestParseSecretID(t *testing.T) {
	tests := []struct {
		name                   string
		id                     string
		vault, secret, version string
		wantErr                bool
	}{
		{name: "versioned", id: "https://v.vault.localhost:8443/secrets/db-pass/0123456789abcdef0123456789abcdef",
			vault: "https://v.vault.localhost:8443", secret: "db-pass", version: "0123456789abcdef0123456789abcdef"},
		{name: "version-less", id: "https://v.vault.azure.net/secrets/db-pass", vault: "https://v.vault.azure.net", secret: "db-pass"},
		{name: "trailing slash", id: "https://v.vault.azure.net/secrets/db-pass/", vault: "https://v.vault.azure.net", secret: "db-pass"},
		{name: "deleted recovery id", id: "https://v.vault.azure.net/deletedsecrets/db-pass", vault: "https://v.vault.azure.net", secret: "db-pass"},
		{name: "key id", id: "https://v.vault.azure.net/keys/k/1", wantErr: true},
		{name: "too many segments", id: "https://v.vault.azure.net/secrets/a/b/c", wantErr: true},
		{name: "deleted with version", id: "https://v.vault.azure.net/deletedsecrets/a/b", wantErr: true},
		{name: "no name", id: "https://v.vault.azure.net/secrets/", wantErr: true},
		{name: "relative", id: "secrets/a", wantErr: true},
		{name: "other scheme", id: "ftp://v/secrets/a", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			vault, secret, version, err := ParseSecretID(tt.id)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			if vault != tt.vault || secret != tt.secret || version != tt.version {
				t.Errorf("got (%q, %q, %q), want (%q, %q, %q)", vault, secret, version, tt.vault, tt.secret, tt.version)
			}
		})
	}
}
