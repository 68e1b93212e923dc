package client

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestParseTokenResponse(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	tests := []struct {
		name    string
		body    string
		want    AccessToken
		wantErr string
	}{
		{name: "expires_in as number", body: `{"token_type":"Bearer","access_token":"tok","expires_in":3600}`,
			want: AccessToken{Token: "tok", ExpiresOn: now.Add(time.Hour)}},
		{name: "expires_in as string", body: `{"token_type":"Bearer","access_token":"tok","expires_in":"3599"}`,
			want: AccessToken{Token: "tok", ExpiresOn: now.Add(3599 * time.Second)}},
		{name: "expires_on only, as string", body: `{"token_type":"bearer","access_token":"tok","expires_on":"1700000600"}`,
			want: AccessToken{Token: "tok", ExpiresOn: time.Unix(1_700_000_600, 0)}},
		{name: "expires_in wins over expires_on", body: `{"access_token":"tok","expires_in":60,"expires_on":1}`,
			want: AccessToken{Token: "tok", ExpiresOn: now.Add(time.Minute)}},
		{name: "no expiry: not cacheable", body: `{"access_token":"tok"}`, want: AccessToken{Token: "tok", ExpiresOn: now}},
		{name: "missing access_token", body: `{"token_type":"Bearer","expires_in":3600}`, wantErr: "no access_token"},
		{name: "other token type", body: `{"token_type":"pop","access_token":"tok","expires_in":3600}`, wantErr: "token_type"},
		{name: "bad expires_in", body: `{"access_token":"tok","expires_in":"soon"}`, wantErr: "invalid token response"},
		{name: "not JSON", body: `<html>`, wantErr: "invalid token response"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseTokenResponse([]byte(tt.body), now)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.Token != tt.want.Token || !got.ExpiresOn.Equal(tt.want.ExpiresOn) {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestCredentialFromEnv(t *testing.T) {
	full := map[string]string{
		EnvClientID: "app", EnvClientSecret: "very-secret", EnvTenantID: "t1", EnvAuthorityHost: "https://localhost:8443",
	}
	tests := []struct {
		name    string
		unset   []string
		set     map[string]string
		wantErr string
	}{
		{name: "all set"},
		{name: "secret and tenant missing", unset: []string{EnvClientSecret, EnvTenantID},
			wantErr: "missing credential environment variable(s): AZURE_CLIENT_SECRET, AZURE_TENANT_ID"},
		{name: "authority missing", unset: []string{EnvAuthorityHost}, wantErr: "AZURE_AUTHORITY_HOST"},
		{name: "authority over http", set: map[string]string{EnvAuthorityHost: "http://localhost:8443"}, wantErr: "must be an https URL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := map[string]string{}
			for k, v := range full {
				env[k] = v
			}
			for _, k := range tt.unset {
				delete(env, k)
			}
			for k, v := range tt.set {
				env[k] = v
			}
			c, err := credentialFromLookup(func(k string) string { return env[k] })
			if tt.wantErr == "" {
				if err != nil || c.ClientSecret != "very-secret" || c.TenantID != "t1" {
					t.Fatalf("got %+v, %v", c, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err = %v, want one containing %q", err, tt.wantErr)
			}
			if strings.Contains(err.Error(), "very-secret") {
				t.Errorf("error %q contains the client secret", err)
			}
		})
	}
}

func TestTokenEndpoint(t *testing.T) {
	tests := []struct {
		name      string
		authority string
		tenant    string
		want      string
		wantErr   bool
	}{
		{name: "tenant", authority: "https://localhost:8443", tenant: "t1", want: "https://localhost:8443/t1/oauth2/v2.0/token"},
		{name: "trailing slash", authority: "https://login.example/", tenant: "t1", want: "https://login.example/t1/oauth2/v2.0/token"},
		{name: "adfs", authority: "https://adfs.example", tenant: "adfs", want: "https://adfs.example/adfs/oauth2/token"},
		{name: "http refused", authority: "http://localhost", tenant: "t1", wantErr: true},
		{name: "tenant with slash", authority: "https://localhost", tenant: "a/b", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &ClientSecretCredential{AuthorityHost: tt.authority, TenantID: tt.tenant}
			got, err := c.tokenEndpoint()
			if (err != nil) != tt.wantErr || got != tt.want {
				t.Errorf("got %q, %v; want %q (err %v)", got, err, tt.want, tt.wantErr)
			}
		})
	}
}

// tokenServer is a fake token endpoint recording the forms it receives.
type tokenServer struct {
	mu     sync.Mutex
	forms  []url.Values
	paths  []string
	status int
	body   string
}

func (s *tokenServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	_ = r.ParseForm()
	s.mu.Lock()
	s.forms = append(s.forms, r.PostForm)
	s.paths = append(s.paths, r.URL.Path)
	status, body := s.status, s.body
	s.mu.Unlock()
	if status == 0 {
		status, body = 200, `{"token_type":"Bearer","access_token":"tok-`+r.PostForm.Get("scope")+`","expires_in":"3600"}`
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(body))
}

func (s *tokenServer) calls() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.forms)
}

func newTestCredential(t *testing.T, ts *tokenServer, tenant string) *ClientSecretCredential {
	srv := newTLSServer(t, ts)
	return &ClientSecretCredential{
		AuthorityHost: "https://login.vault.localhost:" + srv.port, TenantID: tenant,
		ClientID: "app", ClientSecret: "very-secret", HTTPClient: defaultHTTPClient(srv.roots),
	}
}

func TestClientSecretCredentialForm(t *testing.T) {
	tests := []struct {
		name         string
		tenant       string
		wantPath     string
		wantResource string
	}{
		{name: "tenant uses v2 endpoint and scope only", tenant: "t1", wantPath: "/t1/oauth2/v2.0/token"},
		{name: "adfs sends resource and scope", tenant: "adfs", wantPath: "/adfs/oauth2/token", wantResource: "https://vault.localhost"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts := &tokenServer{}
			c := newTestCredential(t, ts, tt.tenant)
			tok, err := c.GetToken(context.Background(), TokenRequest{Scope: "https://vault.localhost/.default"})
			if err != nil {
				t.Fatal(err)
			}
			if tok.Token != "tok-https://vault.localhost/.default" {
				t.Errorf("token = %q", tok.Token)
			}
			f := ts.forms[0]
			if ts.paths[0] != tt.wantPath || f.Get("grant_type") != "client_credentials" || f.Get("client_id") != "app" ||
				f.Get("client_secret") != "very-secret" || f.Get("scope") != "https://vault.localhost/.default" ||
				f.Get("resource") != tt.wantResource {
				t.Errorf("path %q form %v", ts.paths[0], f)
			}
		})
	}
}

func TestClientSecretCredentialCache(t *testing.T) {
	ts := &tokenServer{}
	c := newTestCredential(t, ts, "t1")
	now := time.Unix(1_700_000_000, 0)
	c.now = func() time.Time { return now }
	get := func(scope string) {
		t.Helper()
		if _, err := c.GetToken(context.Background(), TokenRequest{Scope: scope, TenantID: "t1"}); err != nil {
			t.Fatal(err)
		}
	}
	get("https://a/.default")
	get("https://a/.default")
	if ts.calls() != 1 {
		t.Fatalf("token requests = %d after a cached call, want 1", ts.calls())
	}
	get("https://b/.default")
	if ts.calls() != 2 {
		t.Fatalf("token requests = %d for a second scope, want 2", ts.calls())
	}
	now = now.Add(54 * time.Minute)
	get("https://a/.default")
	if ts.calls() != 2 {
		t.Fatalf("token refreshed %d times before its refresh time", ts.calls()-2)
	}
	now = now.Add(2 * time.Minute) // 4 minutes before expiry
	get("https://a/.default")
	if ts.calls() != 3 {
		t.Fatalf("token requests = %d, want a refresh 5 minutes before expiry", ts.calls())
	}
	c.forget("https://a/.default")
	get("https://a/.default")
	if ts.calls() != 4 {
		t.Fatalf("token requests = %d, want a new token after forget", ts.calls())
	}
}

func TestClientSecretCredentialErrors(t *testing.T) {
	tests := []struct {
		name    string
		status  int
		body    string
		tenant  string
		want    string
		wantErr *AuthenticationError
	}{
		{name: "OAuth error", status: 401,
			body:    `{"error":"invalid_client","error_description":"AADSTS7000215: Invalid client secret provided."}`,
			wantErr: &AuthenticationError{StatusCode: 401, ErrorCode: "invalid_client", Description: "AADSTS7000215: Invalid client secret provided."}},
		{name: "server echoes the secret", status: 400,
			body:    `{"error":"invalid_request","error_description":"secret very-secret rejected"}`,
			wantErr: &AuthenticationError{StatusCode: 400, ErrorCode: "invalid_request", Description: "secret *** rejected"}},
		{name: "not OAuth", status: 404, body: `not found`,
			wantErr: &AuthenticationError{StatusCode: 404, Description: "the answer is not an OAuth error response"}},
		{name: "tenant mismatch", tenant: "other", want: `tenant "other"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts := &tokenServer{status: tt.status, body: tt.body}
			c := newTestCredential(t, ts, "t1")
			_, err := c.GetToken(context.Background(), TokenRequest{Scope: "https://vault.localhost/.default", TenantID: tt.tenant})
			if err == nil {
				t.Fatal("no error")
			}
			if strings.Contains(err.Error(), "very-secret") {
				t.Errorf("error %q contains the client secret", err)
			}
			if tt.want != "" && !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want one containing %q", err, tt.want)
			}
			if tt.wantErr == nil {
				return
			}
			var ae *AuthenticationError
			if !errors.As(err, &ae) {
				t.Fatalf("err %T is not *AuthenticationError", err)
			}
			ae.Endpoint = ""
			if *ae != *tt.wantErr {
				t.Errorf("got %+v, want %+v", *ae, *tt.wantErr)
			}
		})
	}
}
