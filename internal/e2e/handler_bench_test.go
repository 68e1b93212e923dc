package e2e

import (
	"context"
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
