package e2e

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azsecrets"

	"github.com/keyhaven/keyhaven/internal/app"
	"github.com/keyhaven/keyhaven/internal/config"
	"github.com/keyhaven/keyhaven/internal/testenv"
	"github.com/keyhaven/keyhaven/internal/vaults"
)

// startNetServer starts a dev server on listen with these network
// settings (a zero throttle means the defaults).
func startNetServer(t testing.TB, listen string, proxies []string, throttle config.ThrottleConfig) *testenv.Server {
	t.Helper()
	a, info, err := app.NewDev(context.Background(), app.DevOptions{Listen: listen, Dir: t.TempDir(),
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), TrustedProxies: proxies, Throttle: throttle})
	if err != nil {
		t.Fatalf("start dev server: %v", err)
	}
	go func() { _ = a.Serve() }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = a.Shutdown(ctx)
	})
	return &testenv.Server{App: a, Info: info, Client: testenv.NewClient(t, info.CAFile, a.Addr().String())}
}

// from returns srv as seen from the loopback address local: its client
// dials from there (Linux routes all of 127.0.0.0/8 to lo).
func from(t testing.TB, srv *testenv.Server, local string) *testenv.Server {
	t.Helper()
	pem, err := os.ReadFile(srv.Info.CAFile)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	d := &net.Dialer{Timeout: 5 * time.Second, LocalAddr: &net.TCPAddr{IP: net.ParseIP(local)}}
	addr := srv.App.Addr().String()
	tr := &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12},
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return d.DialContext(ctx, network, addr)
		},
	}
	t.Cleanup(tr.CloseIdleConnections)
	c := *srv
	c.Client = &http.Client{Transport: tr, Timeout: 30 * time.Second}
	return &c
}

// setVault changes the dev vault's settings the way the management plane does.
func setVault(t testing.TB, srv *testenv.Server, fn func(*vaults.Settings)) {
	t.Helper()
	if _, err := srv.App.Vaults().Update(context.Background(), "dev", func(v *vaults.Vault) error { fn(&v.Settings); return nil }); err != nil {
		t.Fatal(err)
	}
}

// getSecret sends GET /secrets/{name} with token (none when empty) and
// X-Forwarded-For (none when empty).
func getSecret(t testing.TB, srv *testenv.Server, name, token, xff string) reply {
	t.Helper()
	req, err := http.NewRequest("GET", srv.Info.VaultURL+"/secrets/"+name+"?api-version=7.6", nil)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if xff != "" {
		req.Header.Set("X-Forwarded-For", xff)
	}
	resp, err := srv.Client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	out := reply{status: resp.StatusCode, header: resp.Header, text: string(b)}
	_ = json.Unmarshal(b, &out.body)
	return out
}

func (rep reply) message() string {
	if e, ok := rep.body["error"].(map[string]any); ok {
		m, _ := e["message"].(string)
		return m
	}
	return ""
}

// wantFirewallDenial checks Azure's ForbiddenByFirewall answer naming addr.
func wantFirewallDenial(t testing.TB, rep reply, addr string) {
	t.Helper()
	want := "Client address is not authorized and caller is not a trusted service.\r\nClient address: " + addr + "\r\nVault: dev"
	if rep.status != 403 || rep.code() != "Forbidden" || rep.inner() != "ForbiddenByFirewall" || rep.message() != want {
		t.Fatalf("want 403 Forbidden/ForbiddenByFirewall naming %s, got %d %s", addr, rep.status, rep.text)
	}
	if rep.header.Get("WWW-Authenticate") != "" {
		t.Fatal("a refused address got the authentication challenge")
	}
}

// auditRecords stops srv and returns its audit records by request id.
func auditRecords(t testing.TB, srv *testenv.Server) map[string]map[string]any {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.App.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(srv.Info.AuditFile)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]map[string]any{}
	for _, line := range bytes.Split(data, []byte("\n")) {
		var rec map[string]any
		if json.Unmarshal(line, &rec) != nil {
			continue
		}
		if p, ok := rec["properties"].(map[string]any); ok {
			if id, _ := p["requestId"].(string); id != "" {
				out[id] = rec
			}
		}
	}
	return out
}

func TestFirewallByClientAddress(t *testing.T) {
	srv := startNetServer(t, "127.0.0.1:0", nil, config.ThrottleConfig{})
	admin := newRaw(t, srv)
	if rep := admin.do("PUT", "/secrets/fw?api-version=7.6", `{"value":"behind-the-firewall"}`, true); rep.status != 200 {
		t.Fatalf("set: %d %s", rep.status, rep.text)
	}
	at2, at3 := from(t, srv, "127.0.0.2"), from(t, srv, "127.0.0.3")
	for _, s := range []*testenv.Server{srv, at2, at3} {
		if rep := getSecret(t, s, "fw", admin.token, ""); rep.status != 200 {
			t.Fatalf("open vault: %d %s", rep.status, rep.text)
		}
	}

	setVault(t, srv, func(s *vaults.Settings) {
		s.NetworkACLs.DefaultAction, s.NetworkACLs.IPRules = "Deny", []string{"127.0.0.2"}
	})
	if rep := getSecret(t, at2, "fw", admin.token, ""); rep.status != 200 {
		t.Fatalf("allowed address: %d %s", rep.status, rep.text)
	}
	denied := getSecret(t, at3, "fw", admin.token, "")
	wantFirewallDenial(t, denied, "127.0.0.3")
	if strings.Contains(denied.text, "behind-the-firewall") {
		t.Fatal("a denial carries the secret")
	}
	wantFirewallDenial(t, getSecret(t, srv, "fw", admin.token, ""), "127.0.0.1")
	// Before authentication: no token and a forged one get the same answer
	// as a valid one, so a refused address cannot test tokens.
	noToken := getSecret(t, at3, "fw", "", "")
	wantFirewallDenial(t, noToken, "127.0.0.3")
	wantFirewallDenial(t, getSecret(t, at3, "fw", "not-a-token", ""), "127.0.0.3")
	wantFirewallDenial(t, getSecret(t, at3, "missing", "", ""), "127.0.0.3")

	// The token authority and the management plane still answer.
	r3 := &raw{t: t, srv: at3}
	token3 := r3.fetchToken(srv.Info.ClientID, srv.Info.ClientSecret, "https://vault.localhost/.default")
	if code, body := mgmt(t, at3, token3, "GET", "/authorization/roleDefinitions", ""); code != 200 || body["value"] == nil {
		t.Fatalf("management plane from a refused address: %d", code)
	}
	wantFirewallDenial(t, getSecret(t, at3, "fw", token3, ""), "127.0.0.3")

	// A CIDR rule; the change applies to the next request.
	setVault(t, srv, func(s *vaults.Settings) { s.NetworkACLs.IPRules = []string{"127.0.0.2/31"} })
	for _, s := range []*testenv.Server{at2, at3} {
		if rep := getSecret(t, s, "fw", admin.token, ""); rep.status != 200 {
			t.Fatalf("inside 127.0.0.2/31: %d %s", rep.status, rep.text)
		}
	}
	wantFirewallDenial(t, getSecret(t, srv, "fw", admin.token, ""), "127.0.0.1")
	setVault(t, srv, func(s *vaults.Settings) { s.NetworkACLs.DefaultAction = "Allow" })
	if rep := getSecret(t, srv, "fw", admin.token, ""); rep.status != 200 {
		t.Fatalf("Allow again: %d %s", rep.status, rep.text)
	}

	// Denials are audited: status, error code, the client address, no identity.
	records := auditRecords(t, srv)
	for _, rep := range []reply{denied, noToken} {
		rec := records[rep.header.Get("X-Ms-Request-Id")]
		if rec == nil {
			t.Fatalf("no audit record for denied request %s", rep.header.Get("X-Ms-Request-Id"))
		}
		p := rec["properties"].(map[string]any)
		if rec["callerIpAddress"] != "127.0.0.3" || p["httpStatusCode"] != 403.0 || p["errorCode"] != "Forbidden" ||
			rec["operationName"] != "GetSecret" || rec["identity"] != nil {
			t.Errorf("audit record of a denial: %v", rec)
		}
	}
}

func TestFirewallPublicNetworkAccessDisabled(t *testing.T) {
	srv := startNetServer(t, "127.0.0.1:0", nil, config.ThrottleConfig{})
	admin := newRaw(t, srv)
	if rep := admin.do("PUT", "/secrets/pna?api-version=7.6", `{"value":"v"}`, true); rep.status != 200 {
		t.Fatalf("set: %d", rep.status)
	}
	at2 := from(t, srv, "127.0.0.2")
	setVault(t, srv, func(s *vaults.Settings) {
		s.PublicNetworkAccess = "Disabled"
		s.NetworkACLs.DefaultAction, s.NetworkACLs.IPRules = "Deny", []string{"127.0.0.0/8"} // rules do not reopen it
	})
	want := "Public network access is disabled and request is not from a trusted service nor via an approved private link.\r\nVault: dev"
	for _, s := range []*testenv.Server{srv, at2} {
		for _, token := range []string{admin.token, ""} {
			rep := getSecret(t, s, "pna", token, "")
			if rep.status != 403 || rep.code() != "Forbidden" || rep.inner() != "ForbiddenByConnection" || rep.message() != want {
				t.Fatalf("public network access disabled: %d %s", rep.status, rep.text)
			}
		}
	}
	if rep := admin.do("GET", "/keys?api-version=7.6", "", true); rep.status != 403 || rep.inner() != "ForbiddenByConnection" {
		t.Fatalf("keys: %d %s", rep.status, rep.text)
	}
	if code, _ := mgmt(t, srv, admin.fetchToken(srv.Info.ClientID, srv.Info.ClientSecret, "https://vault.localhost/.default"),
		"GET", "/authorization/roleAssignments", ""); code != 200 {
		t.Fatalf("management plane: %d", code)
	}
	setVault(t, srv, func(s *vaults.Settings) { s.PublicNetworkAccess = "Enabled" })
	if rep := getSecret(t, at2, "pna", admin.token, ""); rep.status != 200 {
		t.Fatalf("enabled again, address in the rules: %d %s", rep.status, rep.text)
	}
}

func TestFirewallTrustedProxy(t *testing.T) {
	srv := startNetServer(t, "127.0.0.1:0", []string{"127.0.0.5", "127.0.0.6"}, config.ThrottleConfig{})
	admin := newRaw(t, srv)
	if rep := admin.do("PUT", "/secrets/px?api-version=7.6", `{"value":"v"}`, true); rep.status != 200 {
		t.Fatalf("set: %d", rep.status)
	}
	setVault(t, srv, func(s *vaults.Settings) {
		s.NetworkACLs.DefaultAction, s.NetworkACLs.IPRules = "Deny", []string{"203.0.113.7", "2001:db8::/32"}
	})
	proxy, other := from(t, srv, "127.0.0.5"), from(t, srv, "127.0.0.3")
	tests := []struct {
		name   string
		via    *testenv.Server
		xff    string
		denied string // the address named in the denial; "" means allowed
	}{
		{name: "proxy forwards an allowed client", via: proxy, xff: "203.0.113.7"},
		{name: "client's own claims left of the proxy's entry do not count", via: proxy, xff: "203.0.113.7, 198.51.100.1", denied: "198.51.100.1"},
		{name: "right-most entry is the client", via: proxy, xff: "198.51.100.1, 203.0.113.7"},
		{name: "chained trusted proxies are skipped", via: proxy, xff: "203.0.113.7, 127.0.0.6"},
		{name: "IPv6 client through the proxy", via: proxy, xff: "2001:db8::42"},
		{name: "IPv6 client outside the rules", via: proxy, xff: "2001:db9::1", denied: "2001:db9::1"},
		{name: "IPv4-mapped IPv6 is IPv4", via: proxy, xff: "::ffff:203.0.113.7"},
		{name: "proxy without the header is the client", via: proxy, denied: "127.0.0.5"},
		{name: "untrusted peer's header is ignored", via: other, xff: "203.0.113.7", denied: "127.0.0.3"},
	}
	var forwarded reply
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rep := getSecret(t, tt.via, "px", admin.token, tt.xff)
			if tt.denied != "" {
				wantFirewallDenial(t, rep, tt.denied)
				return
			}
			if rep.status != 200 {
				t.Fatalf("want 200, got %d %s", rep.status, rep.text)
			}
			if tt.xff == "2001:db8::42" {
				forwarded = rep
			}
		})
	}
	if forwarded.header == nil {
		t.Fatal("the IPv6 request did not pass")
	}
	rec := auditRecords(t, srv)[forwarded.header.Get("X-Ms-Request-Id")]
	if rec == nil || rec["callerIpAddress"] != "2001:db8::42" {
		t.Fatalf("audit record of a forwarded request: %v", rec)
	}
}

func TestFirewallIPv6Loopback(t *testing.T) {
	ln, err := net.Listen("tcp6", "[::1]:0")
	if err != nil {
		t.Skipf("no IPv6 loopback here (%v); TestFirewallTrustedProxy covers IPv6 clients through a proxy", err)
	}
	ln.Close()
	srv := startNetServer(t, "[::1]:0", nil, config.ThrottleConfig{})
	admin := newRaw(t, srv)
	if rep := admin.do("PUT", "/secrets/v6?api-version=7.6", `{"value":"v"}`, true); rep.status != 200 {
		t.Fatalf("set over IPv6: %d", rep.status)
	}
	setVault(t, srv, func(s *vaults.Settings) {
		s.NetworkACLs.DefaultAction, s.NetworkACLs.IPRules = "Deny", []string{"::1"}
	})
	if rep := getSecret(t, srv, "v6", admin.token, ""); rep.status != 200 {
		t.Fatalf("::1 in the rules: %d %s", rep.status, rep.text)
	}
	setVault(t, srv, func(s *vaults.Settings) { s.NetworkACLs.IPRules = []string{"2001:db8::/32", "127.0.0.1"} })
	wantFirewallDenial(t, getSecret(t, srv, "v6", admin.token, ""), "::1")
	setVault(t, srv, func(s *vaults.Settings) { s.NetworkACLs.IPRules = []string{"::/127"} })
	if rep := getSecret(t, srv, "v6", admin.token, ""); rep.status != 200 {
		t.Fatalf("::1 inside ::/127: %d %s", rep.status, rep.text)
	}
}

// throttled gets the secret until the server answers 429 (at most tries
// times) and returns that answer.
func throttledAnswer(t *testing.T, srv *testenv.Server, token string, tries int) reply {
	t.Helper()
	for range tries {
		rep := getSecret(t, srv, "th", token, "")
		if rep.status == 429 {
			return rep
		}
		if rep.status != 200 {
			t.Fatalf("before throttling: %d %s", rep.status, rep.text)
		}
	}
	t.Fatalf("%d requests at a limit of one per second were never throttled", tries)
	return reply{}
}

func TestThrottleVaultLimit(t *testing.T) {
	srv := startNetServer(t, "127.0.0.1:0", nil, config.ThrottleConfig{VaultRequestsPerSecond: 1, Burst: time.Second})
	admin := newRaw(t, srv)
	if rep := admin.do("PUT", "/secrets/th?api-version=7.6", `{"value":"v"}`, true); rep.status != 200 {
		t.Fatalf("set (a fresh bucket is full): %d %s", rep.status, rep.text)
	}
	rep := throttledAnswer(t, srv, admin.token, 50)
	if rep.header.Get("Retry-After") != "1" {
		t.Errorf("Retry-After %q, want 1 (one request per second)", rep.header.Get("Retry-After"))
	}
	const body = `{"error":{"code":"Throttled","message":"Request was not processed because too many requests were received. Reason: VaultRequestTypeLimitReached"}}`
	if rep.text != body {
		t.Errorf("body %s, want Azure's %s", rep.text, body)
	}
	// Callers without a token are challenged, not throttled: they cannot use up the vault's allowance.
	if rep := getSecret(t, srv, "th", "", ""); rep.status != 401 {
		t.Errorf("no token on a throttled vault: %d", rep.status)
	}
	// The Go SDK, with its default retries, honours Retry-After and gets
	// the secret on a retry.
	opts := clientOptions(srv)
	opts.Retry = policy.RetryOptions{}
	sc, err := azsecrets.NewClient(srv.Info.VaultURL, secretCredential(t, srv), &azsecrets.ClientOptions{ClientOptions: opts})
	if err != nil {
		t.Fatal(err)
	}
	throttledAnswer(t, srv, admin.token, 50)
	got, err := sc.GetSecret(context.Background(), "th", "", nil)
	if err != nil || got.Value == nil || *got.Value != "v" {
		t.Fatalf("SDK through throttling: %v", err)
	}
}

func TestThrottlePrincipalLimit(t *testing.T) {
	srv := startNetServer(t, "127.0.0.1:0", nil, config.ThrottleConfig{PrincipalRequestsPerSecond: 1, Burst: time.Second})
	admin := newRaw(t, srv)
	_, created := mgmt(t, srv, admin.token, "POST", "/identity/applications", `{"displayName":"reader"}`)
	if code, _ := mgmt(t, srv, admin.token, "POST", "/authorization/roleAssignments",
		`{"principalId":"`+created["objectId"].(string)+`","roleName":"Key Vault Secrets Officer","scope":"/vaults/dev"}`); code != 201 {
		t.Fatalf("assign: %d", code)
	}
	reader := &raw{t: t, srv: srv}
	reader.token = reader.fetchToken(created["appId"].(string), created["secret"].(string), "https://vault.localhost/.default")
	if rep := admin.do("PUT", "/secrets/th?api-version=7.6", `{"value":"v"}`, true); rep.status != 200 {
		t.Fatalf("set (a fresh bucket is full): %d %s", rep.status, rep.text)
	}
	rep := throttledAnswer(t, srv, admin.token, 50)
	if rep.message() != "Request was not processed because too many requests were received. Reason: PrincipalRequestLimitReached" ||
		rep.code() != "Throttled" || rep.header.Get("Retry-After") == "" {
		t.Fatalf("principal over its limit: %s", rep.text)
	}
	// Another principal has its own allowance.
	if rep := getSecret(t, srv, "th", reader.token, ""); rep.status != 200 {
		t.Fatalf("another principal: %d %s", rep.status, rep.text)
	}
}

// TestDefaultLimitsDoNotThrottle sends a few thousand requests at once
// through the default limits.
func TestDefaultLimitsDoNotThrottle(t *testing.T) {
	srv := startNetServer(t, "127.0.0.1:0", nil, config.ThrottleConfig{})
	if d := config.Default().Throttle; d.VaultRequestsPerSecond == 0 || d.PrincipalRequestsPerSecond == 0 {
		t.Fatal("the defaults are unlimited: this test would prove nothing")
	}
	ctx := context.Background()
	sc := secretsClient(t, srv, secretCredential(t, srv))
	if _, err := sc.SetSecret(ctx, "burst", azsecrets.SetSecretParameters{Value: to.Ptr("v")}, nil); err != nil {
		t.Fatal(err)
	}
	token := newRaw(t, srv).token
	u, _ := url.Parse(srv.Info.VaultURL + "/secrets/burst?api-version=7.6")
	var wg sync.WaitGroup
	var ok, other atomic.Int64
	for range 32 {
		wg.Go(func() {
			for range 100 {
				req, _ := http.NewRequest("GET", u.String(), nil)
				req.Header.Set("Authorization", "Bearer "+token)
				resp, err := srv.Client.Do(req)
				if err != nil {
					other.Add(1)
					continue
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode == 200 {
					ok.Add(1)
				} else {
					other.Add(1)
				}
			}
		})
	}
	wg.Wait()
	if ok.Load() != 3200 {
		t.Fatalf("%d of 3200 requests answered 200 (%d otherwise)", ok.Load(), other.Load())
	}
}

// BenchmarkGetSecretNetwork drives GetSecret through the whole handler, as
// BenchmarkGetSecretHandler does, with the firewall and throttle off (open
// vault, no limits) and on (a vault denying all but 200 rules, default
// limits): the difference is their cost per request.
func BenchmarkGetSecretNetwork(b *testing.B) {
	for _, tc := range []struct {
		name  string
		limit config.ThrottleConfig
		deny  bool
	}{
		{name: "open-unlimited", limit: config.ThrottleConfig{Burst: time.Second}},
		{name: "deny-200-rules-default-limits", deny: true},
	} {
		b.Run(tc.name, func(b *testing.B) {
			srv := startNetServer(b, "127.0.0.1:0", nil, tc.limit)
			token := benchToken(b, srv)
			req, _ := http.NewRequest("PUT", srv.Info.VaultURL+"/secrets/bench?api-version=7.6", strings.NewReader(`{"value":"a-typical-secret-value"}`))
			req.Header.Set("Authorization", "Bearer "+token)
			req.Header.Set("Content-Type", "application/json")
			if resp, err := srv.Client.Do(req); err != nil || resp.StatusCode != 200 {
				b.Fatalf("set: %v", err)
			}
			if tc.deny {
				rules := []string{"127.0.0.1"}
				for i := range 199 {
					rules = append(rules, net.IPv4(198, 18, byte(i), 0).String()+"/24")
				}
				setVault(b, srv, func(s *vaults.Settings) { s.NetworkACLs.DefaultAction, s.NetworkACLs.IPRules = "Deny", rules })
			}
			h := srv.App.Handler()
			b.ReportAllocs()
			for b.Loop() {
				r := httptest.NewRequest("GET", srv.Info.VaultURL+"/secrets/bench?api-version=7.6", nil)
				r.RemoteAddr = "127.0.0.1:40000"
				r.Header.Set("Authorization", "Bearer "+token)
				w := httptest.NewRecorder()
				h.ServeHTTP(w, r)
				if w.Code != 200 {
					b.Fatalf("GetSecret: %d %s", w.Code, w.Body)
				}
			}
		})
	}
}

func benchToken(b *testing.B, srv *testenv.Server) string {
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {srv.Info.ClientID},
		"client_secret": {srv.Info.ClientSecret}, "scope": {"https://vault.localhost/.default"}}
	resp, err := srv.Client.PostForm(srv.Info.AuthorityHost+"/"+srv.Info.TenantID+"/oauth2/v2.0/token", form)
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&tok); err != nil {
		b.Fatal(err)
	}
	return tok.AccessToken
}
