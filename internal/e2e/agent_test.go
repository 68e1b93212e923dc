package e2e

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azsecrets"

	"github.com/keyhaven/keyhaven/internal/agent"
	"github.com/keyhaven/keyhaven/internal/testenv"
	"github.com/keyhaven/keyhaven/pkg/client"
)

// startAgent runs a keyhaven agent for the dev application on loopback.
func startAgent(t *testing.T, srv *testenv.Server) (*agent.Agent, string) {
	t.Helper()
	cred := &client.ClientSecretCredential{AuthorityHost: srv.Info.AuthorityHost, TenantID: srv.Info.TenantID,
		ClientID: srv.Info.ClientID, ClientSecret: srv.Info.ClientSecret, HTTPClient: srv.Client}
	a := agent.New(cred, srv.Info.ClientID, "", nil)
	ln, err := agent.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = a.Serve(ctx, ln); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return a, "http://" + ln.Addr().String()
}

// workloadTransport reaches *.localhost on the keyhaven server and every
// other address (the agent) as given.
func workloadTransport(t *testing.T, srv *testenv.Server) *http.Client {
	t.Helper()
	pem, err := os.ReadFile(srv.Info.CAFile)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	d := &net.Dialer{Timeout: 5 * time.Second}
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool},
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			if host, _, _ := net.SplitHostPort(addr); strings.HasSuffix(host, ".localhost") || host == "localhost" {
				addr = srv.App.Addr().String()
			}
			return d.DialContext(ctx, network, addr)
		}}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr}
}

func TestManagedIdentityCredentialThroughTheAgent(t *testing.T) {
	srv := testenv.StartDev(t)
	a, base := startAgent(t, srv)
	ctx := context.Background()
	if _, err := secretsClient(t, srv, secretCredential(t, srv)).SetSecret(ctx, "app-config", azsecrets.SetSecretParameters{Value: to.Ptr("v1")}, nil); err != nil {
		t.Fatal(err)
	}
	opts := azcore.ClientOptions{Transport: workloadTransport(t, srv), Retry: policy.RetryOptions{MaxRetries: -1}}
	for _, shape := range []map[string]string{
		{"IDENTITY_ENDPOINT": base + agent.AppServicePath, "IDENTITY_HEADER": a.Header()}, // App Service
		{"MSI_ENDPOINT": base + agent.AppServicePath},                                     // Cloud Shell
	} {
		for _, k := range []string{"IDENTITY_ENDPOINT", "IDENTITY_HEADER", "MSI_ENDPOINT", "MSI_SECRET", "IMDS_ENDPOINT"} {
			t.Setenv(k, shape[k])
		}
		cred, err := azidentity.NewManagedIdentityCredential(&azidentity.ManagedIdentityCredentialOptions{ClientOptions: opts})
		if err != nil {
			t.Fatal(err)
		}
		sc, err := azsecrets.NewClient(srv.Info.VaultURL, cred, &azsecrets.ClientOptions{ClientOptions: opts})
		if err != nil {
			t.Fatal(err)
		}
		got, err := sc.GetSecret(ctx, "app-config", "", nil)
		if err != nil || *got.Value != "v1" {
			t.Fatalf("%v: GetSecret through ManagedIdentityCredential: %v", shape, err)
		}
	}
}

func TestAgentRefusesForgedRequests(t *testing.T) {
	srv := testenv.StartDev(t)
	a, base := startAgent(t, srv)
	resource := url.QueryEscape("https://vault.localhost")
	call := func(method, path string, hdr map[string]string, body string) (int, map[string]any) {
		req, _ := http.NewRequest(method, base+path, strings.NewReader(body))
		for k, v := range hdr {
			if k == "Host" {
				req.Host = v
				continue
			}
			req.Header.Set(k, v)
		}
		if body != "" {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		raw, _ := io.ReadAll(resp.Body)
		var m map[string]any
		_ = json.Unmarshal(raw, &m)
		return resp.StatusCode, m
	}
	appService := agent.AppServicePath + "?api-version=2019-08-01&resource=" + resource
	imds := agent.IMDSPath + "?api-version=2018-02-01&resource=" + resource
	if code, m := call("GET", imds, map[string]string{"Metadata": "true"}, ""); code != 200 || m["access_token"] == "" || m["token_type"] != "Bearer" {
		t.Fatalf("IMDS shape: %d %v", code, m)
	}
	refused := map[string]int{}
	refused["App Service without header"], _ = call("GET", appService, nil, "")
	refused["App Service wrong header"], _ = call("GET", appService, map[string]string{"X-IDENTITY-HEADER": "guess"}, "")
	refused["IMDS without Metadata"], _ = call("GET", imds, nil, "")
	refused["Cloud Shell without Metadata"], _ = call("POST", agent.AppServicePath, nil, "resource="+resource)
	refused["through a proxy"], _ = call("GET", appService, map[string]string{"X-IDENTITY-HEADER": a.Header(), "X-Forwarded-For": "10.0.0.1"}, "")
	refused["another identity"], _ = call("GET", appService+"&client_id=00000000-0000-0000-0000-000000000001", map[string]string{"X-IDENTITY-HEADER": a.Header()}, "")
	refused["no resource"], _ = call("GET", agent.IMDSPath, map[string]string{"Metadata": "true"}, "")
	refused["from a browser"], _ = call("GET", imds, map[string]string{"Metadata": "true", "Origin": "https://evil.example"}, "")
	refused["rebound host name"], _ = call("GET", imds, map[string]string{"Metadata": "true", "Host": "attacker.example"}, "")
	refused["resource with a query"], _ = call("GET", agent.IMDSPath+"?resource="+url.QueryEscape("https://vault.localhost/?n=1"), map[string]string{"Metadata": "true"}, "")
	refused["resource with a user"], _ = call("GET", agent.IMDSPath+"?resource="+url.QueryEscape("https://u@vault.localhost"), map[string]string{"Metadata": "true"}, "")
	refused["Cloud Shell for another identity"], _ = call("POST", agent.AppServicePath, map[string]string{"Metadata": "true"}, "resource="+resource+"&client_id=00000000-0000-0000-0000-000000000001")
	for name, code := range refused {
		if code != 400 && code != 403 {
			t.Errorf("%s: status %d", name, code)
		}
	}
	if _, err := agent.Listen("0.0.0.0:0"); err == nil {
		t.Error("the agent listened on a non-loopback address")
	}
}
