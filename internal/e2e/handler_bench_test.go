package e2e

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
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
	admin := newRaw(b, srv)
	if rep := admin.do("PUT", "/secrets/bench?api-version=7.6", `{"value":"a-typical-secret-value","contentType":"text/plain","tags":{"env":"prod"}}`, true); rep.status != 200 {
		b.Fatalf("set: %d %s", rep.status, rep.text)
	}
	tok := admin.token
	h := srv.App.Handler()
	u, _ := url.Parse(srv.Info.VaultURL)
	b.ReportAllocs()
	for b.Loop() {
		r := httptest.NewRequest("GET", "https://"+u.Host+"/secrets/bench?api-version=7.6", nil)
		r.RemoteAddr = "127.0.0.1:40000"
		r.Header.Set("Authorization", "Bearer "+tok)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != 200 {
			b.Fatalf("GetSecret: %d %s", w.Code, w.Body)
		}
	}
}

// BenchmarkListSecretsHandler drives a page of 25 secrets through the whole
// handler in-process, like BenchmarkGetSecretHandler.
func BenchmarkListSecretsHandler(b *testing.B) {
	srv := testenv.StartDev(b)
	admin := newRaw(b, srv)
	for i := range 30 {
		body := `{"value":"a-typical-secret-value","contentType":"text/plain","tags":{"env":"prod","team":"payments"}}`
		if rep := admin.do("PUT", "/secrets/bench-"+strings.Repeat("x", i%7)+string(rune('a'+i%26))+"-"+string(rune('a'+i/26))+"?api-version=7.6", body, true); rep.status != 200 {
			b.Fatalf("set: %d %s", rep.status, rep.text)
		}
	}
	tok := admin.token
	h := srv.App.Handler()
	u, _ := url.Parse(srv.Info.VaultURL)
	b.ReportAllocs()
	for b.Loop() {
		r := httptest.NewRequest("GET", "https://"+u.Host+"/secrets?api-version=7.6&maxresults=25", nil)
		r.RemoteAddr = "127.0.0.1:40000"
		r.Header.Set("Authorization", "Bearer "+tok)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != 200 || !strings.Contains(w.Body.String(), `"nextLink":"https://`) {
			b.Fatalf("ListSecrets: %d %s", w.Code, w.Body)
		}
	}
}

// BenchmarkSignRS256Handler drives an RS256 signature with an RSA-2048 key
// through the whole handler in-process, beside crypto/rsa signing alone:
// their difference is what keyhaven adds to a signature.
func BenchmarkSignRS256Handler(b *testing.B) {
	srv := testenv.StartDev(b)
	admin := newRaw(b, srv)
	if rep := admin.do("POST", "/keys/bench/create?api-version=7.6", `{"kty":"RSA","key_size":2048}`, true); rep.status != 200 {
		b.Fatalf("create: %d %s", rep.status, rep.text)
	}
	tok := admin.token
	h := srv.App.Handler()
	u, _ := url.Parse(srv.Info.VaultURL)
	body := `{"alg":"RS256","value":"` + strings.Repeat("A", 43) + `"}`
	b.Run("handler", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			r := httptest.NewRequest("POST", "https://"+u.Host+"/keys/bench/sign?api-version=7.6", strings.NewReader(body))
			r.RemoteAddr = "127.0.0.1:40000"
			r.Header.Set("Authorization", "Bearer "+tok)
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
