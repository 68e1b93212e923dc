package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
)

// recorded is one request seen by the fake vault.
type recorded struct {
	Method, Path, Query, Auth, Body string
}

// fakeVault answers requests without a token with a challenge for resource
// (default https://vault.localhost:{port}) and others with routes[method+" "+path].
type fakeVault struct {
	t        *testing.T
	srv      *testServer
	resource string
	routes   map[string]func(w http.ResponseWriter, r *http.Request)
	reject   map[string]bool // tokens answered with 401 + challenge
	public   map[string]bool // routes served without a token

	mu   sync.Mutex
	reqs []recorded
}

func newFakeVault(t *testing.T) *fakeVault {
	v := &fakeVault{t: t, routes: map[string]func(http.ResponseWriter, *http.Request){},
		reject: map[string]bool{}, public: map[string]bool{}}
	v.srv = newTLSServer(t, v)
	v.resource = "https://vault.localhost:" + v.srv.port
	return v
}

func (v *fakeVault) url() string { return "https://myvault.vault.localhost:" + v.srv.port }

func (v *fakeVault) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	r.Body = io.NopCloser(strings.NewReader(string(body)))
	v.mu.Lock()
	v.reqs = append(v.reqs, recorded{r.Method, r.URL.Path, r.URL.RawQuery, r.Header.Get("Authorization"), string(body)})
	v.mu.Unlock()
	auth := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
	if (auth == "" && !v.public[r.Method+" "+r.URL.Path]) || v.reject[auth] {
		w.Header().Set("WWW-Authenticate", fmt.Sprintf(`Bearer authorization="https://login.vault.localhost:%s/t1", resource="%s"`, v.srv.port, v.resource))
		writeJSON(w, 401, `{"error":{"code":"Unauthorized","message":"Request is missing a Bearer or PoP token."}}`)
		return
	}
	h, ok := v.routes[r.Method+" "+r.URL.Path]
	if !ok {
		writeJSON(w, 404, `{"error":{"code":"NotFound","message":"no route"}}`)
		return
	}
	h(w, r)
}

func (v *fakeVault) requests() []recorded {
	v.mu.Lock()
	defer v.mu.Unlock()
	return append([]recorded(nil), v.reqs...)
}

func writeJSON(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, body)
}

func answer(status int, body string) func(http.ResponseWriter, *http.Request) {
	return func(w http.ResponseWriter, _ *http.Request) { writeJSON(w, status, body) }
}

// fakeCredential hands out "tok-1", "tok-2", ... and records requests.
type fakeCredential struct {
	mu      sync.Mutex
	reqs    []TokenRequest
	forgets int
	current string
}

func (c *fakeCredential) GetToken(_ context.Context, req TokenRequest) (AccessToken, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.reqs = append(c.reqs, req)
	if c.current == "" {
		c.current = fmt.Sprintf("tok-%d", c.forgets+1)
	}
	return AccessToken{Token: c.current}, nil
}

func (c *fakeCredential) forget(string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.forgets++
	c.current = ""
}

func newTestClient(t *testing.T, v *fakeVault, cred TokenCredential, opts ClientOptions) *SecretsClient {
	t.Helper()
	opts.RootCAs = v.srv.roots
	c, err := NewSecretsClient(v.url(), cred, &opts)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

const bundleJSON = `{"value":"v1","id":"https://myvault.vault.localhost/secrets/a/0123456789abcdef0123456789abcdef","attributes":{"enabled":true,"created":1700000000,"updated":1700000000,"recoverableDays":90,"recoveryLevel":"Recoverable+Purgeable"}}`

func TestChallengeFlow(t *testing.T) {
	v := newFakeVault(t)
	v.routes["PUT /secrets/a"] = answer(200, bundleJSON)
	v.routes["GET /secrets/a/"] = answer(200, bundleJSON)
	cred := &fakeCredential{}
	c := newTestClient(t, v, cred, ClientOptions{})

	got, err := c.SetSecret(context.Background(), "a", SecretSetParameters{Value: "v1"})
	if err != nil {
		t.Fatal(err)
	}
	if got.Value != "v1" || *got.Attributes.RecoverableDays != 90 {
		t.Errorf("bundle = %+v", got)
	}
	if _, err := c.GetSecret(context.Background(), "a", ""); err != nil {
		t.Fatal(err)
	}
	want := []recorded{
		{Method: "PUT", Path: "/secrets/a", Query: "api-version=7.6"},
		{Method: "PUT", Path: "/secrets/a", Query: "api-version=7.6", Auth: "Bearer tok-1", Body: `{"value":"v1"}`},
		{Method: "GET", Path: "/secrets/a/", Query: "api-version=7.6", Auth: "Bearer tok-1"},
	}
	assertRequests(t, v.requests(), want)
	wantTok := TokenRequest{Scope: v.resource + "/.default", TenantID: "t1"}
	if len(cred.reqs) != 2 || cred.reqs[0] != wantTok {
		t.Errorf("token requests = %+v, want twice %+v", cred.reqs, wantTok)
	}
}

func assertRequests(t *testing.T, got, want []recorded) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d requests %+v, want %d %+v", len(got), got, len(want), want)
	}
	for i := range got {
		if got[i] != want[i] {
			t.Errorf("request %d = %+v, want %+v", i, got[i], want[i])
		}
	}
}

func TestChallengeResourceVerification(t *testing.T) {
	tests := []struct {
		name    string
		disable bool
		wantErr string
	}{
		{name: "mismatch refused before any token is requested", wantErr: "doesn't match the requested domain"},
		{name: "mismatch allowed when verification is disabled", disable: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := newFakeVault(t)
			v.resource = "https://other.localhost:" + v.srv.port
			v.routes["GET /secrets/a/"] = answer(200, bundleJSON)
			cred := &fakeCredential{}
			c := newTestClient(t, v, cred, ClientOptions{DisableChallengeResourceVerification: tt.disable})
			_, err := c.GetSecret(context.Background(), "a", "")
			if tt.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err = %v, want %q", err, tt.wantErr)
			}
			if len(cred.reqs) != 0 || len(v.requests()) != 1 {
				t.Errorf("token requests %d, vault requests %d; want 0 and 1", len(cred.reqs), len(v.requests()))
			}
		})
	}
}

func TestReauthorizeOnRejectedToken(t *testing.T) {
	v := newFakeVault(t)
	v.routes["GET /secrets/a/"] = answer(200, bundleJSON)
	cred := &fakeCredential{}
	c := newTestClient(t, v, cred, ClientOptions{})
	if _, err := c.GetSecret(context.Background(), "a", ""); err != nil {
		t.Fatal(err)
	}
	v.reject["tok-1"] = true
	if _, err := c.GetSecret(context.Background(), "a", ""); err != nil {
		t.Fatal(err)
	}
	reqs := v.requests()
	if len(reqs) != 4 || reqs[2].Auth != "Bearer tok-1" || reqs[3].Auth != "Bearer tok-2" || cred.forgets != 1 {
		t.Errorf("requests %+v, forgets %d", reqs, cred.forgets)
	}
	v.reject["tok-2"], v.reject["tok-3"] = true, true
	_, err := c.GetSecret(context.Background(), "a", "")
	var re *ResponseError
	if !errors.As(err, &re) || re.StatusCode != 401 {
		t.Errorf("err = %v, want a 401 *ResponseError after one retry", err)
	}
}

func TestProbeOfBodyRequestNeedsChallenge(t *testing.T) {
	v := newFakeVault(t)
	c := newTestClient(t, v, &fakeCredential{}, ClientOptions{})
	v.public["PUT /secrets/a"] = true
	v.routes["PUT /secrets/a"] = answer(200, bundleJSON)
	_, err := c.SetSecret(context.Background(), "a", SecretSetParameters{Value: "s3cret"})
	if err == nil || !strings.Contains(err.Error(), "instead of a 401 challenge") {
		t.Fatalf("err = %v", err)
	}
	if strings.Contains(err.Error(), "s3cret") {
		t.Error("error shows the secret value")
	}
}

func TestResponseErrorFromVault(t *testing.T) {
	v := newFakeVault(t)
	v.routes["GET /secrets/missing/"] = answer(404,
		`{"error":{"code":"SecretNotFound","message":"A secret with (name/id) missing was not found in this key vault"}}`)
	c := newTestClient(t, v, &fakeCredential{}, ClientOptions{})
	_, err := c.GetSecret(context.Background(), "missing", "")
	var re *ResponseError
	if !errors.As(err, &re) {
		t.Fatalf("err = %v (%T), want *ResponseError", err, err)
	}
	if got := re.Error(); got != "SecretNotFound (404): A secret with (name/id) missing was not found in this key vault" {
		t.Errorf("Error() = %q", got)
	}
}

func TestOperationsWire(t *testing.T) {
	const deleted = `{"recoveryId":"https://v/deletedsecrets/a","deletedDate":1700000000,"id":"https://v/secrets/a/1"}`
	ctx := context.Background()
	tests := []struct {
		name     string
		route    string
		response string
		call     func(c *SecretsClient) error
		wantBody string
		wantPath string
	}{
		{name: "get version", route: "GET /secrets/a/ff", response: bundleJSON,
			call: func(c *SecretsClient) error { _, err := c.GetSecret(ctx, "a", "ff"); return err }},
		{name: "update latest", route: "PATCH /secrets/a/", response: bundleJSON, wantBody: `{"attributes":{"enabled":false}}`,
			call: func(c *SecretsClient) error {
				_, err := c.UpdateSecretProperties(ctx, "a", "", SecretUpdateParameters{Attributes: &SecretAttributes{Enabled: ptr(false)}})
				return err
			}},
		{name: "delete", route: "DELETE /secrets/a", response: deleted,
			call: func(c *SecretsClient) error {
				d, err := c.DeleteSecret(ctx, "a")
				return check(err, d.RecoveryID != "")
			}},
		{name: "get deleted", route: "GET /deletedsecrets/a", response: deleted,
			call: func(c *SecretsClient) error {
				d, err := c.GetDeletedSecret(ctx, "a")
				return check(err, d.DeletedDate != nil)
			}},
		{name: "purge", route: "DELETE /deletedsecrets/a", response: "",
			call: func(c *SecretsClient) error { return c.PurgeDeletedSecret(ctx, "a") }},
		{name: "recover", route: "POST /deletedsecrets/a/recover", response: bundleJSON,
			call: func(c *SecretsClient) error { _, err := c.RecoverDeletedSecret(ctx, "a"); return err }},
		{name: "backup", route: "POST /secrets/a/backup", response: `{"value":"YWJj"}`,
			call: func(c *SecretsClient) error {
				b, err := c.BackupSecret(ctx, "a")
				return check(err, string(b.Value) == "abc")
			}},
		{name: "restore", route: "POST /secrets/restore", response: bundleJSON, wantBody: `{"value":"YWJj"}`,
			call: func(c *SecretsClient) error {
				_, err := c.RestoreSecret(ctx, SecretRestoreParameters{SecretBundleBackup: []byte("abc")})
				return err
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := newFakeVault(t)
			status := 200
			if tt.response == "" {
				status = 204
			}
			v.routes[tt.route] = answer(status, tt.response)
			c := newTestClient(t, v, &fakeCredential{}, ClientOptions{})
			if err := tt.call(c); err != nil {
				t.Fatal(err)
			}
			reqs := v.requests()
			last := reqs[len(reqs)-1]
			if last.Method+" "+last.Path != tt.route || last.Query != "api-version=7.6" || last.Body != tt.wantBody {
				t.Errorf("request %+v, want %s with body %q", last, tt.route, tt.wantBody)
			}
		})
	}
}

func check(err error, ok bool) error {
	if err == nil && !ok {
		return errors.New("unexpected result")
	}
	return err
}

func TestInvalidInputsSendNothing(t *testing.T) {
	v := newFakeVault(t)
	c := newTestClient(t, v, &fakeCredential{}, ClientOptions{})
	ctx := context.Background()
	for _, err := range []error{
		func() error { _, err := c.GetSecret(ctx, "../x", ""); return err }(),
		func() error { _, err := c.GetSecret(ctx, "", ""); return err }(),
		func() error { _, err := c.GetSecret(ctx, "a", "v/../../x"); return err }(),
		func() error { _, err := c.DeleteSecret(ctx, "a b"); return err }(),
	} {
		if err == nil {
			t.Error("invalid name or version accepted")
		}
	}
	if n := len(v.requests()); n != 0 {
		t.Errorf("%d requests sent", n)
	}
	for _, u := range []string{"http://v.vault.localhost", "https://", "https://v/path", "v.vault.localhost"} {
		if _, err := NewSecretsClient(u, &fakeCredential{}, nil); err == nil {
			t.Errorf("NewSecretsClient(%q) accepted", u)
		}
	}
}

func TestPagingFollowsNextLink(t *testing.T) {
	v := newFakeVault(t)
	base := v.url()
	pages := map[string]string{
		"":   fmt.Sprintf(`{"value":[{"id":"%[1]s/secrets/a"},{"id":"%[1]s/secrets/b"}],"nextLink":"%[1]s/secrets?api-version=7.6&$skiptoken=p2&maxresults=2"}`, base),
		"p2": fmt.Sprintf(`{"value":[],"nextLink":"%[1]s/secrets?$skiptoken=p3&maxresults=2"}`, base),
		"p3": fmt.Sprintf(`{"value":[{"id":"%[1]s/secrets/c"}],"nextLink":null}`, base),
	}
	v.routes["GET /secrets"] = func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, pages[r.URL.Query().Get("$skiptoken")])
	}
	c := newTestClient(t, v, &fakeCredential{}, ClientOptions{})
	var ids []string
	for item, err := range c.ListSecrets(context.Background(), &ListOptions{MaxResults: 2}) {
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, item.ID[len(base):])
	}
	if strings.Join(ids, " ") != "/secrets/a /secrets/b /secrets/c" {
		t.Errorf("ids = %v", ids)
	}
	reqs := v.requests()
	wantQueries := []string{"api-version=7.6&maxresults=2", "api-version=7.6&maxresults=2",
		"api-version=7.6&$skiptoken=p2&maxresults=2", "%24skiptoken=p3&api-version=7.6&maxresults=2"}
	if len(reqs) != len(wantQueries) {
		t.Fatalf("requests %+v", reqs)
	}
	for i, q := range wantQueries {
		if reqs[i].Query != q {
			t.Errorf("request %d query = %q, want %q", i, reqs[i].Query, q)
		}
	}
}

func TestPagingStopsEarlyAndOnErrors(t *testing.T) {
	v := newFakeVault(t)
	base := v.url()
	v.routes["GET /deletedsecrets"] = answer(200, fmt.Sprintf(
		`{"value":[{"id":"%[1]s/secrets/a","recoveryId":"%[1]s/deletedsecrets/a","deletedDate":1700000000}],"nextLink":"%[1]s/deletedsecrets?api-version=7.6"}`, base))
	v.routes["GET /secrets/a/versions"] = answer(200, fmt.Sprintf(`{"value":[{"id":"%s/secrets/a/1"}],"nextLink":""}`, base))
	c := newTestClient(t, v, &fakeCredential{}, ClientOptions{})

	var items []DeletedSecretItem
	var lastErr error
	for item, err := range c.ListDeletedSecrets(context.Background(), nil) {
		if err != nil {
			lastErr = err
			break
		}
		items = append(items, item)
	}
	if len(items) != 1 || items[0].DeletedDate.Unix() != 1700000000 || lastErr == nil || !strings.Contains(lastErr.Error(), "repeats") {
		t.Errorf("items %+v, err %v; want one item then a repeated-link error", items, lastErr)
	}
	n := 0
	for _, err := range c.ListSecretVersions(context.Background(), "a", nil) {
		if err != nil {
			t.Fatal(err)
		}
		n++
	}
	if n != 1 {
		t.Errorf("versions = %d, want 1 (empty nextLink ends the list)", n)
	}
	for range c.ListSecretVersions(context.Background(), "a", nil) {
		break // stopping early must not panic or request more pages
	}
	var re *ResponseError
	for _, err := range c.ListSecretVersions(context.Background(), "nope", nil) {
		if !errors.As(err, &re) || re.StatusCode != 404 {
			t.Errorf("err = %v, want 404", err)
		}
	}
}

func TestEndToEndWithClientSecretCredential(t *testing.T) {
	v := newFakeVault(t)
	v.routes["GET /secrets/a/"] = answer(200, bundleJSON)
	var form map[string][]string
	v.routes["POST /t1/oauth2/v2.0/token"] = func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		form = r.PostForm
		writeJSON(w, 200, `{"token_type":"Bearer","access_token":"real","expires_in":3600}`)
	}
	v.public["POST /t1/oauth2/v2.0/token"] = true
	cred := &ClientSecretCredential{AuthorityHost: "https://login.vault.localhost:" + v.srv.port, TenantID: "t1",
		ClientID: "app", ClientSecret: "pw", HTTPClient: defaultHTTPClient(v.srv.roots)}
	c := newTestClient(t, v, cred, ClientOptions{})
	b, err := c.GetSecret(context.Background(), "a", "")
	if err != nil {
		t.Fatal(err)
	}
	reqs := v.requests()
	if b.Value != "v1" || reqs[len(reqs)-1].Auth != "Bearer real" {
		t.Errorf("value %q, requests %+v", b.Value, reqs)
	}
	if got := form["scope"]; len(got) != 1 || got[0] != v.resource+"/.default" {
		t.Errorf("scope = %v", got)
	}
	out, _ := json.Marshal(b)
	if !strings.Contains(string(out), `"created":1700000000`) {
		t.Errorf("re-encoded bundle %s", out)
	}
}
