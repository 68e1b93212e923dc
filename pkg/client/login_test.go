package client

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
)

// rotatingAuthority is a token endpoint that rotates refresh tokens and,
// like keyhaven's, ends the whole sign-in when a rotated token is presented
// again.
type rotatingAuthority struct {
	mu      sync.Mutex
	current string
	used    map[string]bool
	revoked bool
	n       int
}

func (a *rotatingAuthority) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	a.mu.Lock()
	defer a.mu.Unlock()
	rt := r.PostFormValue("refresh_token")
	if a.used[rt] {
		a.revoked = true
	}
	if a.revoked || rt != a.current {
		w.WriteHeader(http.StatusBadRequest)
		_, _ = w.Write([]byte(`{"error":"invalid_grant","error_description":"refresh token reused"}`))
		return
	}
	a.used[rt] = true
	a.n++
	a.current = "rt-" + strconv.Itoa(a.n)
	_ = json.NewEncoder(w).Encode(map[string]any{"token_type": "Bearer", "access_token": "at-" + a.current,
		"expires_in": 3600, "refresh_token": a.current})
}

// Commands sharing one sign-in file refresh it at the same time without
// replaying each other's rotated refresh token.
func TestLoginFileConcurrentRefresh(t *testing.T) {
	auth := &rotatingAuthority{current: "rt-0", used: map[string]bool{}}
	srv := httptest.NewTLSServer(auth)
	defer srv.Close()
	path := filepath.Join(t.TempDir(), "login.json")
	first := &UserCredential{Authority: Authority{Host: srv.URL, TenantID: "adfs"}, RefreshToken: "rt-0"}
	if err := SaveLogin(path, first, "ada@example.com"); err != nil {
		t.Fatal(err)
	}
	const commands = 6
	var wg sync.WaitGroup
	errs := make([]error, commands)
	for i := range commands {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Each command loads the file itself, as separate processes do.
			c, user, err := LoadLogin(path, srv.Client())
			if err != nil || user != "ada@example.com" {
				errs[i] = err
				return
			}
			_, errs[i] = c.GetToken(context.Background(), TokenRequest{Scope: "https://vault.localhost/.default"})
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("command %d: %v", i, err)
		}
	}
	if auth.revoked || auth.n != commands {
		t.Fatalf("revoked %v after %d redemptions, want %d", auth.revoked, auth.n, commands)
	}
	f, err := readLogin(path)
	if err != nil || f.RefreshToken != auth.current {
		t.Fatalf("the file holds %q (%v), the server's current token is %q", f.RefreshToken, err, auth.current)
	}
}
