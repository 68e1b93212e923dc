package client

import (
	"strings"
	"testing"
)

func TestParseChallenge(t *testing.T) {
	tests := []struct {
		name    string
		header  string
		want    Challenge
		wantErr string
	}{
		{
			name:   "comma separated, as Azure sends it",
			header: `Bearer authorization="https://login.localhost:8443/t1", resource="https://vault.localhost:8443"`,
			want:   Challenge{Authorization: "https://login.localhost:8443/t1", Resource: "https://vault.localhost:8443", TenantID: "t1"},
		},
		{
			name:   "space separated",
			header: `Bearer authorization="https://login.localhost/t2" resource="https://vault.localhost"`,
			want:   Challenge{Authorization: "https://login.localhost/t2", Resource: "https://vault.localhost", TenantID: "t2"},
		},
		{
			name:   "scope beside resource",
			header: `Bearer authorization="https://login/t3" scope="https://vault.localhost/.default" resource="https://other"`,
			want:   Challenge{Authorization: "https://login/t3", Resource: "https://other", Scope: "https://vault.localhost/.default", TenantID: "t3"},
		},
		{
			name:   "aliases authorization_uri and resource_id, lower-case scheme",
			header: `bearer authorization_uri="https://login/t4/extra", resource_id="https://vault.localhost"`,
			want:   Challenge{Authorization: "https://login/t4/extra", Resource: "https://vault.localhost", TenantID: "t4"},
		},
		{
			name:   "unquoted values",
			header: `Bearer authorization=https://login/t5, resource=https://vault.localhost`,
			want:   Challenge{Authorization: "https://login/t5", Resource: "https://vault.localhost", TenantID: "t5"},
		},
		{name: "missing authorization", header: `Bearer resource="https://vault.localhost"`, wantErr: "no authorization"},
		{name: "missing resource and scope", header: `Bearer authorization="https://login/t"`, wantErr: "neither scope nor resource"},
		{name: "not bearer", header: `Basic realm="x"`, wantErr: "not a Bearer challenge"},
		{name: "empty", header: ``, wantErr: "not a Bearer challenge"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseChallenge(tt.header)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestChallengeTokenScope(t *testing.T) {
	tests := []struct {
		name      string
		challenge Challenge
		want      string
	}{
		{name: "resource gets /.default", challenge: Challenge{Resource: "https://vault.localhost:8443"}, want: "https://vault.localhost:8443/.default"},
		{name: "resource with trailing slash", challenge: Challenge{Resource: "https://vault.localhost/"}, want: "https://vault.localhost/.default"},
		{name: "scope wins over resource", challenge: Challenge{Resource: "https://a", Scope: "https://b/.default"}, want: "https://b/.default"},
		{name: "scope without /.default", challenge: Challenge{Scope: "https://b"}, want: "https://b/.default"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.challenge.TokenScope(); got != tt.want {
				t.Errorf("TokenScope() = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestChallengeVerifyResource(t *testing.T) {
	tests := []struct {
		name      string
		resource  string
		vaultHost string
		ok        bool
	}{
		{name: "subdomain with same port", resource: "https://vault.localhost:8443", vaultHost: "dev.vault.localhost:8443", ok: true},
		{name: "no port on either side", resource: "https://vault.azure.net", vaultHost: "v.vault.azure.net", ok: true},
		{name: "explicit 443 on the vault", resource: "https://vault.azure.net", vaultHost: "v.vault.azure.net:443", ok: true},
		{name: "case differs", resource: "https://Vault.Localhost:8443", vaultHost: "DEV.vault.localhost:8443", ok: true},
		{name: "port differs", resource: "https://vault.localhost:8443", vaultHost: "dev.vault.localhost:9443", ok: false},
		{name: "vault has port, resource has none", resource: "https://vault.localhost", vaultHost: "dev.vault.localhost:8443", ok: false},
		{name: "host equal to resource is not a subdomain", resource: "https://localhost:8443", vaultHost: "localhost:8443", ok: false},
		{name: "suffix without dot", resource: "https://vault.localhost", vaultHost: "evilvault.localhost", ok: false},
		{name: "other domain", resource: "https://vault.azure.net", vaultHost: "v.vault.localhost", ok: false},
		{name: "resource not a URL", resource: "vault.localhost", vaultHost: "v.vault.localhost", ok: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Challenge{Resource: tt.resource}.VerifyResource(tt.vaultHost)
			if (err == nil) != tt.ok {
				t.Errorf("VerifyResource(%q) with resource %q: err = %v, want ok=%v", tt.vaultHost, tt.resource, err, tt.ok)
			}
		})
	}
}
