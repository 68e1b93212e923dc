package bench

import (
	"context"
	"crypto/tls"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

const apiVersion = "?api-version=7.6"

// seedWriters is how many requests at least seed a vault in parallel, so
// that a run with few connections still seeds a large vault quickly (the
// server's group commit needs concurrent writes to share its fsyncs).
const seedWriters = 32

// newEnv logs in with the bootstrap credentials and prepares the client.
func newEnv(ctx context.Context, addr, caFile, credsFile string, conns int) (*env, error) {
	client, err := httpClient(caFile, addr, conns)
	if err != nil {
		return nil, err
	}
	raw, err := os.ReadFile(credsFile)
	if err != nil {
		return nil, err
	}
	var creds struct{ TenantID, ClientID, ClientSecret string }
	if err := json.Unmarshal(raw, &creds); err != nil {
		return nil, err
	}
	port := portOf(addr)
	e := &env{client: client, host: "bench.vault.localhost:" + port, vaultURL: "https://bench.vault.localhost:" + port,
		body: []byte(`{"value":"a-typical-secret-value-of-moderate-length-0123456789"}`)}
	e.token, err = fetchToken(ctx, client, "https://localhost:"+port+"/"+creds.TenantID+"/oauth2/v2.0/token",
		creds.ClientID, creds.ClientSecret, "https://vault.localhost/.default")
	return e, err
}

// targetEnv prepares a run against an existing vault: credentials from the
// AZURE_* variables the Azure SDKs read (AZURE_TENANT_ID may be "adfs"),
// TLS trust from the system (SSL_CERT_FILE), *.localhost on loopback.
func targetEnv(ctx context.Context, vaultURL string, conns int) (*env, error) {
	u, err := url.Parse(strings.TrimSuffix(vaultURL, "/"))
	if err != nil || u.Scheme != "https" || u.Path != "" {
		return nil, fmt.Errorf("bench: --url must be a vault URL https://{vault}.{suffix}[:port]")
	}
	authority, tenant := os.Getenv("AZURE_AUTHORITY_HOST"), os.Getenv("AZURE_TENANT_ID")
	id, secret := os.Getenv("AZURE_CLIENT_ID"), os.Getenv("AZURE_CLIENT_SECRET")
	if authority == "" || tenant == "" || id == "" || secret == "" {
		return nil, fmt.Errorf("bench: --url needs AZURE_AUTHORITY_HOST, AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET")
	}
	d := &net.Dialer{Timeout: 10 * time.Second}
	tr := newTransport(&tls.Config{MinVersion: tls.VersionTLS12}, conns, func(ctx context.Context, network, addr string) (net.Conn, error) {
		host, port, _ := net.SplitHostPort(addr)
		if host == "localhost" || strings.HasSuffix(host, ".localhost") {
			addr = net.JoinHostPort("127.0.0.1", port)
		}
		return d.DialContext(ctx, network, addr)
	})
	e := &env{client: &http.Client{Transport: tr, Timeout: 30 * time.Second}, vaultURL: u.String(), host: u.Host,
		body: []byte(`{"value":"a-typical-secret-value-of-moderate-length-0123456789"}`)}
	endpoint := strings.TrimSuffix(authority, "/") + "/" + tenant + "/oauth2/v2.0/token"
	if strings.EqualFold(tenant, "adfs") {
		endpoint = strings.TrimSuffix(authority, "/") + "/adfs/oauth2/token"
	}
	_, suffix, _ := strings.Cut(u.Host, ".")
	e.token, err = fetchToken(ctx, e.client, endpoint, id, secret, "https://"+suffix+"/.default")
	return e, err
}

func fetchToken(ctx context.Context, client *http.Client, endpoint, id, secret, scope string) (string, error) {
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {id}, "client_secret": {secret},
		"scope": {scope}, "resource": {strings.TrimSuffix(scope, "/.default")}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, strings.NewReader(form.Encode()))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := client.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&tok); err != nil || tok.AccessToken == "" {
		return "", fmt.Errorf("bench: token endpoint answered %s", resp.Status)
	}
	return tok.AccessToken, nil
}

// endpoint addresses requests to the vault, with the bearer token.
func (e *env) endpoint() endpoint {
	return endpoint{base: e.vaultURL, host: e.host, token: e.token}
}

// do sends one request and decodes a JSON answer into out (if not nil).
func (e *env) do(ctx context.Context, method, path string, body []byte, out any) error {
	return e.doWith(e.client, ctx, method, path, body, out)
}

// doWith is do through client.
func (e *env) doWith(client *http.Client, ctx context.Context, method, path string, body []byte, out any) error {
	req, err := e.endpoint().httpRequest(call{method, path, body})
	if err != nil {
		return err
	}
	resp, err := client.Do(req.WithContext(ctx))
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("bench: %s %s: %s", method, path, resp.Status)
	}
	if out != nil {
		return json.Unmarshal(raw, out)
	}
	return nil
}

// seed creates n secrets through the API with seedWriters writers (or
// conns, when more), remembering each one's version for GetSecret by
// version. The writers have connections of their own, closed when done:
// the measured load keeps exactly its conns.
func (e *env) seed(ctx context.Context, n, conns int) error {
	conns = max(conns, seedWriters)
	bulk := e.client
	if tr, ok := e.client.Transport.(*http.Transport); ok {
		t := tr.Clone()
		t.MaxConnsPerHost, t.MaxIdleConnsPerHost, t.MaxIdleConns = conns, conns, conns
		defer t.CloseIdleConnections()
		bulk = &http.Client{Transport: t, Timeout: e.client.Timeout}
	}
	e.names, e.versions = make([]string, n), make([]string, n)
	var next atomic.Int64
	var wg sync.WaitGroup
	errc := make(chan error, conns)
	for w := 0; w < conns; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := int(next.Add(1) - 1); i < n; i = int(next.Add(1) - 1) {
				name := fmt.Sprintf("bench-%07d", i)
				var b struct{ ID string }
				if err := e.doWith(bulk, ctx, http.MethodPut, "/secrets/"+name+apiVersion, e.body, &b); err != nil {
					errc <- err
					return
				}
				e.names[i], e.versions[i] = name, b.ID[strings.LastIndexByte(b.ID, '/')+1:]
			}
		}()
	}
	wg.Wait()
	close(errc)
	return <-errc
}

// getSize returns the size of a GetSecret response body, for the baseline.
func (e *env) getSize(ctx context.Context) (int, error) {
	var m json.RawMessage
	if err := e.do(ctx, http.MethodGet, "/secrets/"+e.names[0]+apiVersion, nil, &m); err != nil {
		return 0, err
	}
	return len(m), nil
}

// pick spreads requests over the seeded secrets.
func (e *env) pick(worker, seq int) int {
	return int((uint64(worker)*2654435761 + uint64(seq)*40503) % uint64(len(e.names)))
}

// operation is one measured API call.
type operation struct {
	name  string
	keys  bool // needs the seeded keys
	build func(e *env) request
}

var operations = []operation{
	{name: "GetSecret", build: func(e *env) request {
		return func(w, seq int) call {
			return call{http.MethodGet, "/secrets/" + e.names[e.pick(w, seq)] + apiVersion, nil}
		}
	}},
	{name: "GetSecretVersion", build: func(e *env) request {
		return func(w, seq int) call {
			i := e.pick(w, seq)
			return call{http.MethodGet, "/secrets/" + e.names[i] + "/" + e.versions[i] + apiVersion, nil}
		}
	}},
	{name: "SetSecret", build: func(e *env) request {
		return func(w, seq int) call {
			return call{http.MethodPut, "/secrets/bench-set-" + strconv.Itoa(w) + "-" + strconv.Itoa(seq%100) + apiVersion, e.body}
		}
	}},
	// A page of 25 that starts after a seeded secret picked like
	// GetSecret's: pages from all over the vault, with the $skiptoken
	// cursor a client paging through it sends (keyhaven's nextLink carries
	// the last name of the page before, base64url-encoded). Every page is
	// full: it starts at least 25 seeded secrets before the last.
	{name: "ListSecrets", build: func(e *env) request {
		return func(w, seq int) call {
			path := "/secrets" + apiVersion + "&maxresults=25"
			if n := len(e.names) - listPage; n > 0 {
				after := e.names[e.pick(w, seq)%n]
				path += "&$skiptoken=" + base64.RawURLEncoding.EncodeToString([]byte(after))
			}
			return call{http.MethodGet, path, nil}
		}
	}},
}

// listPage is the page size ListSecrets asks for.
const listPage = 25

// OperationNames lists the operations in the order they run.
func OperationNames() []string {
	var out []string
	for _, op := range allOperations() {
		out = append(out, op.name)
	}
	return out
}

func allOperations() []operation {
	return append(append([]operation(nil), operations...), keyOperations...)
}

func selected(names []string) []operation {
	if len(names) == 0 {
		return allOperations()
	}
	var out []operation
	for _, op := range allOperations() {
		for _, n := range names {
			if strings.EqualFold(n, op.name) {
				out = append(out, op)
			}
		}
	}
	return out
}
