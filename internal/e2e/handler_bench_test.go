package e2e

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"fmt"
	"io"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/keyhaven/keyhaven/internal/testenv"
)

// driveHandler sends method target (with body, when not empty) to the
// server's handler in-process, as the raw client's admin, for b.N
// iterations; ok checks each response.
func driveHandler(b *testing.B, srv *testenv.Server, admin *raw, method, target, body string, ok func(*httptest.ResponseRecorder) bool) {
	b.Helper()
	h := srv.App.Handler()
	u, _ := url.Parse(srv.Info.VaultURL)
	b.ReportAllocs()
	for b.Loop() {
		var rd io.Reader
		if body != "" {
			rd = strings.NewReader(body)
		}
		r := httptest.NewRequest(method, "https://"+u.Host+target, rd)
		r.RemoteAddr = "127.0.0.1:40000"
		r.Header.Set("Authorization", "Bearer "+admin.token)
		if body != "" {
			r.Header.Set("Content-Type", "application/json")
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if !ok(w) {
			b.Fatalf("%s %s: %d %s", method, target, w.Code, w.Body)
		}
	}
}

func status200(w *httptest.ResponseRecorder) bool { return w.Code == 200 }

// BenchmarkGetSecretHandler drives GetSecret through the server's whole
// handler (routing, token check, authorization, storage, audit, response)
// in-process, without TLS or sockets: what keyhaven adds on top of net/http.
func BenchmarkGetSecretHandler(b *testing.B) {
	srv := testenv.StartDev(b)
	admin := newRaw(b, srv)
	if rep := admin.do("PUT", "/secrets/bench?api-version=7.6", `{"value":"a-typical-secret-value","contentType":"text/plain","tags":{"env":"prod"}}`, true); rep.status != 200 {
		b.Fatalf("set: %d %s", rep.status, rep.text)
	}
	driveHandler(b, srv, admin, "GET", "/secrets/bench?api-version=7.6", "", status200)
}

// BenchmarkListSecretsHandler drives a page of 25 secrets through the whole
// handler in-process, like BenchmarkGetSecretHandler.
func BenchmarkListSecretsHandler(b *testing.B) {
	srv := testenv.StartDev(b)
	admin := newRaw(b, srv)
	for i := range 30 {
		body := `{"value":"a-typical-secret-value","contentType":"text/plain","tags":{"env":"prod","team":"payments"}}`
		if rep := admin.do("PUT", fmt.Sprintf("/secrets/bench-%02d?api-version=7.6", i), body, true); rep.status != 200 {
			b.Fatalf("set: %d %s", rep.status, rep.text)
		}
	}
	driveHandler(b, srv, admin, "GET", "/secrets?api-version=7.6&maxresults=25", "", func(w *httptest.ResponseRecorder) bool {
		return w.Code == 200 && strings.Contains(w.Body.String(), `"nextLink":"https://`)
	})
}

// BenchmarkListKeysHandler drives a page of 25 RSA-2048 keys in-process.
func BenchmarkListKeysHandler(b *testing.B) {
	srv := testenv.StartDev(b)
	admin := newRaw(b, srv)
	for i := range 26 {
		if rep := admin.do("POST", fmt.Sprintf("/keys/bench-%02d/create?api-version=7.6", i), `{"kty":"RSA","key_size":2048,"tags":{"env":"prod"}}`, true); rep.status != 200 {
			b.Fatalf("create: %d %s", rep.status, rep.text)
		}
	}
	driveHandler(b, srv, admin, "GET", "/keys?api-version=7.6&maxresults=25", "", func(w *httptest.ResponseRecorder) bool {
		return w.Code == 200 && strings.Contains(w.Body.String(), `"nextLink":"https://`)
	})
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
	body := `{"alg":"RS256","value":"` + strings.Repeat("A", 43) + `"}`
	b.Run("handler", func(b *testing.B) {
		driveHandler(b, srv, admin, "POST", "/keys/bench/sign?api-version=7.6", body, status200)
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
