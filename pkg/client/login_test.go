package client

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"
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

// A command whose sign-in file was replaced by another sign-in (another
// server or user) neither sends the new refresh token to its own authority
// nor adopts the other identity.
func TestLoginFileReplacedByAnotherSignIn(t *testing.T) {
	auth := &rotatingAuthority{current: "rt-0", used: map[string]bool{}}
	srv := httptest.NewTLSServer(auth)
	defer srv.Close()
	path := filepath.Join(t.TempDir(), "login.json")
	if err := SaveLogin(path, &UserCredential{Authority: Authority{Host: srv.URL, TenantID: "adfs"}, RefreshToken: "rt-0"}, "ada@example.com"); err != nil {
		t.Fatal(err)
	}
	c, _, err := LoadLogin(path, srv.Client())
	if err != nil {
		t.Fatal(err)
	}
	other := &UserCredential{Authority: Authority{Host: "https://other.example:8443", TenantID: "adfs"}, RefreshToken: "secret-of-another-server"}
	if err := SaveLogin(path, other, "bob@example.com"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.GetToken(context.Background(), TokenRequest{Scope: "https://vault.localhost/.default"}); err == nil {
		t.Fatal("refreshed with a sign-in that replaced ours")
	}
	if auth.n != 0 || auth.used["secret-of-another-server"] {
		t.Fatalf("the other sign-in's token reached this authority (%d redemptions)", auth.n)
	}
}

// The lock gives up when its context ends, and refuses a symbolic link.
func TestLoginLockWaitsOnlyAsLongAsAllowed(t *testing.T) {
	path := filepath.Join(t.TempDir(), "login.json")
	held := make(chan struct{})
	release := make(chan struct{})
	go func() {
		_ = WithLoginLock(context.Background(), path, func() error { close(held); <-release; return nil })
	}()
	<-held
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := WithLoginLock(ctx, path, func() error { return nil }); err == nil {
		t.Fatal("took a lock another holder has")
	}
	close(release)
	if err := WithLoginLock(context.Background(), path, func() error { return nil }); err != nil {
		t.Fatalf("after release: %v", err)
	}
	link := filepath.Join(t.TempDir(), "linked.json")
	if err := os.Symlink(filepath.Join(t.TempDir(), "target"), link+".lock"); err != nil {
		t.Fatal(err)
	}
	if err := WithLoginLock(context.Background(), link, func() error { return nil }); err == nil {
		t.Fatal("locked through a symbolic link")
	}
}
