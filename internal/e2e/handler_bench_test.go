package e2e

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/keyhaven/keyhaven/internal/testenv"
)

// BenchmarkGetSecretHandler drives GetSecret through the server's whole
// handler (routing, token check, authorization, storage, audit, response)
// in-process, without TLS or sockets: what keyhaven adds on top of net/http.
func BenchmarkGetSecretHandler(b *testing.B) {
	srv := testenv.StartDev(b)
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {srv.Info.ClientID},
		"client_secret": {srv.Info.ClientSecret}, "scope": {"https://vault.localhost/.default"}}
	resp, err := srv.Client.PostForm(srv.Info.AuthorityHost+"/"+srv.Info.TenantID+"/oauth2/v2.0/token", form)
	if err != nil {
		b.Fatal(err)
	}
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&tok); err != nil || resp.StatusCode != 200 {
		b.Fatalf("token: %v %s", err, resp.Status)
	}
	resp.Body.Close()
	req, _ := http.NewRequestWithContext(context.Background(), "PUT", srv.Info.VaultURL+"/secrets/bench?api-version=7.6",
		strings.NewReader(`{"value":"a-typical-secret-value","contentType":"text/plain","tags":{"env":"prod"}}`))
	req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	req.Header.Set("Content-Type", "application/json")
	if resp, err = srv.Client.Do(req); err != nil || resp.StatusCode != 200 {
		b.Fatalf("set: %v", err)
	}
	resp.Body.Close()

	h := srv.App.Handler()
	u, _ := url.Parse(srv.Info.VaultURL)
	b.ReportAllocs()
	for b.Loop() {
		r := httptest.NewRequest("GET", "https://"+u.Host+"/secrets/bench?api-version=7.6", nil)
		r.RemoteAddr = "127.0.0.1:40000"
		r.Header.Set("Authorization", "Bearer "+tok.AccessToken)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != 200 {
			b.Fatalf("GetSecret: %d %s", w.Code, w.Body)
		}
	}
}

// BenchmarkSignRS256Handler drives an RS256 signature with an RSA-2048 key
// through the whole handler in-process, beside crypto/rsa signing alone:
// their difference is what keyhaven adds to a signature.
func BenchmarkSignRS256Handler(b *testing.B) {
	srv := testenv.StartDev(b)
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {srv.Info.ClientID},
		"client_secret": {srv.Info.ClientSecret}, "scope": {"https://vault.localhost/.default"}}
	resp, err := srv.Client.PostForm(srv.Info.AuthorityHost+"/"+srv.Info.TenantID+"/oauth2/v2.0/token", form)
	if err != nil {
		b.Fatal(err)
	}
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&tok); err != nil || resp.StatusCode != 200 {
		b.Fatalf("token: %v %s", err, resp.Status)
	}
	resp.Body.Close()
	req, _ := http.NewRequestWithContext(context.Background(), "POST", srv.Info.VaultURL+"/keys/bench/create?api-version=7.6",
		strings.NewReader(`{"kty":"RSA","key_size":2048}`))
	req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	req.Header.Set("Content-Type", "application/json")
	if resp, err = srv.Client.Do(req); err != nil || resp.StatusCode != 200 {
		b.Fatalf("create: %v", err)
	}
	resp.Body.Close()
	h := srv.App.Handler()
	u, _ := url.Parse(srv.Info.VaultURL)
	body := `{"alg":"RS256","value":"` + strings.Repeat("A", 43) + `"}`
	b.Run("handler", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			r := httptest.NewRequest("POST", "https://"+u.Host+"/keys/bench/sign?api-version=7.6", strings.NewReader(body))
			r.RemoteAddr = "127.0.0.1:40000"
			r.Header.Set("Authorization", "Bearer "+tok.AccessToken)
			r.Header.Set("Content-Type", "application/json")
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if w.Code != 200 {
				b.Fatalf("Sign: %d %s", w.Code, w.Body)
			}
		}
	})
	b.Run("crypto-rsa", func(b *testing.B) {
		key, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			b.Fatal(err)
		}
		digest := sha256.Sum256([]byte("keyhaven"))
		b.ReportAllocs()
		for b.Loop() {
			if _, err := rsa.SignPKCS1v15(nil, key, crypto.SHA256, digest[:]); err != nil {
				b.Fatal(err)
			}
		}
	})
}
