package e2e

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/keyhaven/keyhaven/internal/testenv"
)

var guidPattern = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)

// arm calls an endpoint of the server's bare host with token ("" for none).
func arm(t *testing.T, srv *testenv.Server, token, path string) reply {
	t.Helper()
	req, err := http.NewRequest("GET", srv.Info.AuthorityHost+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
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

// TestToolingARMEndpoints checks the endpoints Azure tooling probes on the
// bare host with plain HTTP requests: the metadata is public;
// /subscriptions and /tenants answer ARM's 401s without a valid token and
// list the server's one subscription and tenant to any principal of the
// tenant, even one without a role; every request is audited.
func TestToolingARMEndpoints(t *testing.T) {
	srv := testenv.StartDev(t)
	tenant := srv.Info.TenantID

	meta := arm(t, srv, "", "/metadata/endpoints?api-version=2022-09-01")
	auth, _ := meta.body["authentication"].(map[string]any)
	if meta.status != 200 || meta.body["resourceManager"] != srv.Info.AuthorityHost+"/" || auth["loginEndpoint"] != srv.Info.AuthorityHost+"/adfs" {
		t.Fatalf("metadata: %d %s", meta.status, meta.text)
	}

	for _, path := range []string{"/subscriptions?api-version=2022-12-01", "/tenants?api-version=2022-12-01"} {
		rep := arm(t, srv, "", path)
		if rep.status != 401 || rep.code() != "AuthenticationFailed" ||
			!strings.Contains(rep.header.Get("WWW-Authenticate"), `authorization_uri="`+srv.Info.AuthorityHost+"/"+tenant+`"`) {
			t.Errorf("%s without a token: %d %v %s", path, rep.status, rep.header["Www-Authenticate"], rep.text)
		}
		if rep := arm(t, srv, "not-a-token", path); rep.status != 401 || rep.code() != "InvalidAuthenticationToken" {
			t.Errorf("%s with a bad token: %d %s", path, rep.status, rep.text)
		}
	}

	// An application without any role still sees the subscription.
	clientID, secret := srv.CreateApp(t, "no-roles")
	token := (&raw{t: t, srv: srv}).fetchToken(clientID, secret, "https://vault.localhost/.default")
	subs := arm(t, srv, token, "/subscriptions?api-version=2022-12-01")
	list, _ := subs.body["value"].([]any)
	if subs.status != 200 || len(list) != 1 {
		t.Fatalf("subscriptions: %d %s", subs.status, subs.text)
	}
	sub := list[0].(map[string]any)
	id, _ := sub["subscriptionId"].(string)
	if !guidPattern.MatchString(id) || id == tenant || sub["id"] != "/subscriptions/"+id || sub["tenantId"] != tenant ||
		sub["state"] != "Enabled" || sub["displayName"] != "keyhaven (vault.localhost)" {
		t.Fatalf("subscription: %s", subs.text)
	}
	if rep := arm(t, srv, token, "/subscriptions/"+strings.ToUpper(id)+"?api-version=2022-12-01"); rep.status != 200 || rep.body["subscriptionId"] != id {
		t.Errorf("get subscription: %d %s", rep.status, rep.text)
	}
	if rep := arm(t, srv, token, "/subscriptions/"+tenant+"?api-version=2022-12-01"); rep.status != 404 || rep.code() != "SubscriptionNotFound" {
		t.Errorf("another subscription: %d %s", rep.status, rep.text)
	}
	tenants := arm(t, srv, token, "/tenants?api-version=2022-12-01")
	tl, _ := tenants.body["value"].([]any)
	if tenants.status != 200 || len(tl) != 1 || tl[0].(map[string]any)["tenantId"] != tenant || tl[0].(map[string]any)["id"] != "/tenants/"+tenant {
		t.Fatalf("tenants: %d %s", tenants.status, tenants.text)
	}

	// az's lookup of a --tenant that is not a GUID.
	for _, name := range []string{"adfs", strings.ToUpper(tenant)} {
		rep := arm(t, srv, "", "/adfs/"+name+"/.well-known/openid-configuration")
		if iss, _ := rep.body["issuer"].(string); rep.status != 200 || strings.Split(iss, "/")[3] != tenant {
			t.Errorf("tenant %s: %d %s", name, rep.status, rep.text)
		}
	}
	if rep := arm(t, srv, "", "/adfs/contoso.com/.well-known/openid-configuration"); rep.status != 404 || rep.code() != "TenantNotFound" {
		t.Errorf("unknown tenant: %d %s", rep.status, rep.text)
	}

	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.App.Shutdown(sctx); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(srv.Info.AuditFile)
	if err != nil {
		t.Fatal(err)
	}
	recs := readRecords(t, data)
	for _, w := range []struct {
		op     string
		status int
		caller string
		path   string
	}{
		{"GetCloudMetadata", 200, "", "/metadata/endpoints"},
		{"ListSubscriptions", 401, "", "/subscriptions"},
		{"ListSubscriptions", 200, clientID, "/subscriptions"},
		{"GetSubscription", 404, clientID, "/subscriptions/" + tenant},
		{"ListTenants", 200, clientID, "/tenants"},
	} {
		if !hasRecord(recs, w.op, w.status, w.caller, w.path) {
			t.Errorf("no audit record %s %d by %q on %s", w.op, w.status, w.caller, w.path)
		}
	}
}

// TestAzCLI drives the Azure CLI, unchanged, against a dev server: `az cloud
// register` from the ARM endpoint alone, `az login --service-principal`
// (tenant "adfs" and the tenant id), `az account get-access-token` whose
// token the vault accepts, `az rest` on /tenants, `az keyvault key random`
// on the vault's own host name, and a cloud built from
// ARM_CLOUD_METADATA_URL.
//
// *.vault.localhost names do not resolve without an /etc/hosts line, and a
// Python process cannot be handed a dialer: az is given HTTPS_PROXY, a
// CONNECT proxy of the test's own that tunnels localhost and
// *.vault.localhost on the server's port to the server, and nothing else.
// TLS runs end to end through the tunnel, checked against the dev CA.
func TestAzCLI(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the Azure CLI")
	}
	azPath, err := exec.LookPath("az")
	if err != nil {
		t.Skip("az is not on PATH: this test needs the Azure CLI (scripts/test.sh installs Debian's azure-cli)")
	}
	srv := testenv.StartDev(t)
	port := srv.App.Port()
	authority := srv.Info.AuthorityHost // https://localhost:{port}
	proxy := startLoopbackProxy(t, srv.App.Addr().String())
	az := newAzCLI(t, azPath, srv.Info.CAFile, proxy.url, srv.Info.ClientSecret)

	// A secret for the CLI's token to read.
	const value = "read-with-the-az-token-5e1b"
	if rep := newRaw(t, srv).do("PUT", "/secrets/az-check?api-version=7.6", `{"value":"`+value+`"}`, true); rep.status != 200 {
		t.Fatalf("set secret: %d %s", rep.status, rep.text)
	}

	// Register the cloud from the ARM endpoint: az fetches
	// /metadata/endpoints?api-version=2015-01-01 for the rest.
	az.run("cloud", "register", "-n", "keyhaven-test", "--endpoint-resource-manager", authority+"/",
		"--suffix-keyvault-dns", ".vault.localhost:"+port)
	var cloud struct {
		Endpoints map[string]any `json:"endpoints"`
		Suffixes  map[string]any `json:"suffixes"`
	}
	az.json(&cloud, "cloud", "show", "-n", "keyhaven-test")
	if e := cloud.Endpoints; e["activeDirectory"] != authority+"/adfs" || e["activeDirectoryResourceId"] != "https://vault.localhost" ||
		e["resourceManager"] != authority+"/" || e["activeDirectoryGraphResourceId"] == nil {
		t.Fatalf("registered cloud: %+v", cloud)
	}
	az.run("cloud", "set", "-n", "keyhaven-test")

	// A wrong secret is refused by the authority.
	if out := az.fail("login", "--service-principal", "-u", srv.Info.ClientID, "-p", "not-the-secret", "--tenant", srv.Info.TenantID); !strings.Contains(out, "Invalid client credentials") {
		t.Errorf("login with a wrong secret: %s", out)
	}

	type account struct {
		ID        string `json:"id"`
		Name      string `json:"name"`
		TenantID  string `json:"tenantId"`
		State     string `json:"state"`
		IsDefault bool   `json:"isDefault"`
		CloudName string `json:"cloudName"`
		User      struct {
			Name string `json:"name"`
			Type string `json:"type"`
		} `json:"user"`
	}
	var subscriptionID string
	for _, tenant := range []string{"adfs", srv.Info.TenantID} {
		var accounts []account
		az.json(&accounts, "login", "--service-principal", "-u", srv.Info.ClientID, "-p", srv.Info.ClientSecret, "--tenant", tenant)
		if len(accounts) != 1 {
			t.Fatalf("login --tenant %s: %+v", tenant, accounts)
		}
		a := accounts[0]
		if !guidPattern.MatchString(a.ID) || a.TenantID != srv.Info.TenantID || a.Name != "keyhaven (vault.localhost)" || a.State != "Enabled" ||
			!a.IsDefault || a.CloudName != "keyhaven-test" || a.User.Name != srv.Info.ClientID || a.User.Type != "servicePrincipal" {
			t.Fatalf("login --tenant %s: %+v", tenant, a)
		}
		if subscriptionID != "" && a.ID != subscriptionID {
			t.Fatalf("the subscription changed between logins: %s, then %s", subscriptionID, a.ID)
		}
		subscriptionID = a.ID
	}

	var tok struct {
		AccessToken  string `json:"accessToken"`
		TokenType    string `json:"tokenType"`
		Tenant       string `json:"tenant"`
		Subscription string `json:"subscription"`
	}
	az.json(&tok, "account", "get-access-token", "--resource", "https://vault.localhost")
	if tok.TokenType != "Bearer" || tok.Tenant != srv.Info.TenantID || tok.Subscription != subscriptionID || tok.AccessToken == "" {
		t.Fatalf("get-access-token: %+v", tok)
	}
	withCLIToken := &raw{t: t, srv: srv, token: tok.AccessToken}
	if rep := withCLIToken.do("GET", "/secrets/az-check?api-version=7.6", "", true); rep.status != 200 || rep.body["value"] != value {
		t.Fatalf("the vault refused the CLI's token: %d %s", rep.status, rep.text)
	}
	if rep := arm(t, srv, tok.AccessToken, "/subscriptions/"+subscriptionID+"?api-version=2022-12-01"); rep.status != 200 {
		t.Fatalf("the subscription refused the CLI's token: %d %s", rep.status, rep.text)
	}

	// az rest picks the cloud's ARM token for the resource manager's URLs.
	var tenants struct {
		Value []struct {
			TenantID string `json:"tenantId"`
		} `json:"value"`
	}
	az.json(&tenants, "rest", "--method", "get", "--url", authority+"/tenants?api-version=2022-12-01")
	if len(tenants.Value) != 1 || tenants.Value[0].TenantID != srv.Info.TenantID {
		t.Fatalf("az rest /tenants: %+v", tenants)
	}

	// The data plane on the vault's host name: the 401 challenge, a token
	// for its resource, POST /rng.
	var random struct {
		Value string `json:"value"`
	}
	az.json(&random, "keyvault", "key", "random", "--count", "16", "--id", srv.Info.VaultURL)
	if b, err := base64.StdEncoding.DecodeString(random.Value); err != nil || len(b) != 16 {
		t.Fatalf("key random: %q (%v)", random.Value, err)
	}
	if vaultHost := strings.TrimPrefix(srv.Info.VaultURL, "https://"); !proxy.tunneled(vaultHost) {
		t.Fatalf("no tunnel to %s: the vault was reached some other way (tunnels: %v)", vaultHost, proxy.hosts())
	}

	// A cloud from ARM_CLOUD_METADATA_URL: az parses the 2019-05-01 array.
	// That download goes through urllib, which trusts SSL_CERT_FILE.
	other := newAzCLI(t, azPath, srv.Info.CAFile, proxy.url, srv.Info.ClientSecret,
		"ARM_CLOUD_METADATA_URL="+authority+"/metadata/endpoints?api-version=2019-05-01")
	var listed struct {
		Endpoints map[string]any `json:"endpoints"`
		Suffixes  map[string]any `json:"suffixes"`
	}
	other.json(&listed, "cloud", "show", "-n", "keyhaven")
	if listed.Endpoints["activeDirectory"] != authority+"/adfs" || listed.Endpoints["activeDirectoryResourceId"] != "https://vault.localhost" ||
		listed.Suffixes["keyvaultDns"] != ".vault.localhost:"+port {
		t.Fatalf("cloud from ARM_CLOUD_METADATA_URL: %+v", listed)
	}
}

// azCLI runs az with its own configuration directory.
type azCLI struct {
	t      *testing.T
	path   string
	env    []string
	secret string // kept out of failure messages
}

// newAzCLI returns an az with a fresh configuration directory that trusts
// only caFile and sends every request through proxy. The caller's Azure,
// ARM, proxy and CA settings are dropped.
func newAzCLI(t *testing.T, path, caFile, proxy, secret string, extraEnv ...string) *azCLI {
	t.Helper()
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		switch u := strings.ToUpper(k); {
		case strings.HasPrefix(u, "AZURE_"), strings.HasPrefix(u, "ARM_"), strings.HasPrefix(u, "KEYHAVEN_"),
			u == "HTTP_PROXY", u == "HTTPS_PROXY", u == "ALL_PROXY", u == "NO_PROXY",
			u == "REQUESTS_CA_BUNDLE", u == "CURL_CA_BUNDLE", u == "SSL_CERT_FILE", u == "SSL_CERT_DIR":
			continue
		}
		env = append(env, kv)
	}
	env = append(env, "AZURE_CONFIG_DIR="+t.TempDir(), "REQUESTS_CA_BUNDLE="+caFile, "SSL_CERT_FILE="+caFile,
		"HTTPS_PROXY="+proxy, "HTTP_PROXY="+proxy,
		"AZURE_CORE_COLLECT_TELEMETRY=false", "AZURE_CORE_NO_COLOR=true",
		"AZURE_CORE_SURVEY_MESSAGE=false", "AZURE_CORE_OUTPUT=json")
	return &azCLI{t: t, path: path, env: append(env, extraEnv...), secret: secret}
}

func (a *azCLI) exec(args ...string) (stdout, stderr string, err error) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, a.path, args...)
	cmd.Env = a.env
	cmd.WaitDelay = 5 * time.Second
	var out, errOut strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err = cmd.Run()
	return out.String(), errOut.String(), err
}

func (a *azCLI) redact(s string) string {
	if a.secret == "" {
		return s
	}
	return strings.ReplaceAll(s, a.secret, "***")
}

// run runs az and returns its standard output; it fails the test unless az
// succeeds.
func (a *azCLI) run(args ...string) string {
	a.t.Helper()
	out, errOut, err := a.exec(args...)
	if err != nil {
		a.t.Fatalf("az %s: %v\n%s%s", a.redact(strings.Join(args, " ")), err, out, errOut)
	}
	return out
}

// json runs az and decodes its JSON output into v.
func (a *azCLI) json(v any, args ...string) {
	a.t.Helper()
	out := a.run(append(args, "-o", "json")...)
	if err := json.Unmarshal([]byte(out), v); err != nil {
		a.t.Fatalf("az %s printed no JSON (%v):\n%s", a.redact(strings.Join(args, " ")), err, a.redact(out))
	}
}

// fail runs az, expects it to fail and returns what it printed.
func (a *azCLI) fail(args ...string) string {
	a.t.Helper()
	out, errOut, err := a.exec(args...)
	if err == nil {
		a.t.Fatalf("az %s succeeded:\n%s", a.redact(strings.Join(args, " ")), a.redact(out))
	}
	return out + errOut
}

// loopbackProxy is an HTTP CONNECT proxy on 127.0.0.1 that tunnels
// localhost and *.vault.localhost, on the server's port only, to the
// server's address: what an /etc/hosts line does for these names. Every
// other request is refused.
type loopbackProxy struct {
	url string

	mu    sync.Mutex
	seen  map[string]bool
	conns map[net.Conn]bool
}

func startLoopbackProxy(t *testing.T, serverAddr string) *loopbackProxy {
	t.Helper()
	_, port, err := net.SplitHostPort(serverAddr)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &loopbackProxy{url: "http://" + ln.Addr().String(), seen: map[string]bool{}, conns: map[net.Conn]bool{}}
	hs := &http.Server{ReadHeaderTimeout: 10 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host, hostPort, err := net.SplitHostPort(r.Host)
		host = strings.ToLower(host)
		if r.Method != http.MethodConnect || err != nil || hostPort != port || (host != "localhost" && !strings.HasSuffix(host, ".vault.localhost")) {
			http.Error(w, "this proxy only tunnels to the keyhaven server under test", http.StatusForbidden)
			return
		}
		up, err := net.Dial("tcp", serverAddr)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		down, buf, err := http.NewResponseController(w).Hijack()
		if err != nil {
			up.Close()
			return
		}
		p.track(r.Host, up, down)
		if _, err := down.Write([]byte("HTTP/1.1 200 Connection established\r\n\r\n")); err != nil {
			p.close(up, down)
			return
		}
		go p.pipe(up, buf.Reader, up, down)
		go p.pipe(down, up, up, down)
	})}
	go func() { _ = hs.Serve(ln) }()
	t.Cleanup(func() {
		_ = hs.Close()
		p.mu.Lock()
		defer p.mu.Unlock()
		for c := range p.conns {
			_ = c.Close()
		}
	})
	return p
}

func (p *loopbackProxy) track(host string, conns ...net.Conn) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.seen[strings.ToLower(host)] = true
	for _, c := range conns {
		p.conns[c] = true
	}
}

// pipe copies src to dst, then closes both ends of the tunnel.
func (p *loopbackProxy) pipe(dst io.Writer, src io.Reader, up, down net.Conn) {
	_, _ = io.Copy(dst, src)
	p.close(up, down)
}

func (p *loopbackProxy) close(conns ...net.Conn) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range conns {
		_ = c.Close()
		delete(p.conns, c)
	}
}

// tunneled reports whether a tunnel to host:port was opened.
func (p *loopbackProxy) tunneled(hostport string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.seen[strings.ToLower(hostport)]
}

func (p *loopbackProxy) hosts() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []string
	for h := range p.seen {
		out = append(out, h)
	}
	return out
}
