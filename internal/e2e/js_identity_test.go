package e2e

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/keyhaven/keyhaven/pkg/client"
)

// TestJavaScriptIdentity runs test/js/identity.test.mjs: the credentials of
// @azure/identity for JavaScript, unchanged, sign in against the real binary
// (`keyhaven server --dev`) and read a secret with @azure/keyvault-secrets.
// This test prepares what the credentials need and hands it over in
// KEYHAVEN_JS_* variables:
//   - a PEM file with a certificate and its private key, the certificate
//     registered as a credential of the dev application, and one more that
//     is not (ClientCertificateCredential);
//   - an external OIDC issuer (HTTPS, discovery and JWKS) that the server
//     trusts through SSL_CERT_FILE, a federated credential of the dev
//     application for (issuer, subject, api://AzureADTokenExchange), and
//     token files for that subject and for an untrusted one
//     (WorkloadIdentityCredential);
//   - `keyhaven agent` holding the dev application's secret, for the App
//     Service and IMDS shapes of ManagedIdentityCredential.
func TestJavaScriptIdentity(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the server binary and runs Node.js")
	}
	node, dir := jsToolchain(t)
	tmp := t.TempDir()

	// The server fetches the external issuer's discovery document and keys
	// over HTTPS; SSL_CERT_FILE makes it trust the issuer's certificate.
	iss := newOIDCIssuer(t)
	issuerCA := filepath.Join(tmp, "issuer-ca.pem")
	writeFile(t, issuerCA, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: iss.srv.Certificate().Raw}))
	info, infoFile := startDevProcess(t, "SSL_CERT_FILE="+issuerCA)

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	ids := devIdentityClient(t, info)

	certFile := filepath.Join(tmp, "client.pem")
	certPEM := writeCertAndKey(t, certFile, "keyhaven js client")
	if c, err := ids.AddApplicationCertificate(ctx, info.ClientID, certPEM); err != nil || c.Type != "certificate" {
		t.Fatalf("registering the certificate credential: %+v %v", c, err)
	}
	unknownCertFile := filepath.Join(tmp, "unregistered.pem")
	writeCertAndKey(t, unknownCertFile, "keyhaven js stranger")

	const subject = "system:serviceaccount:payments:js-api"
	if c, err := ids.AddApplicationFederatedCredential(ctx, info.ClientID, iss.srv.URL, subject, nil); err != nil || c.Type != "federated" {
		t.Fatalf("adding the federated credential: %+v %v", c, err)
	}
	now := time.Now().Unix()
	claims := func(sub string) map[string]any {
		// An hour of validity: the suite may run slowly on a busy machine.
		return map[string]any{"iss": iss.srv.URL, "sub": sub, "aud": []string{"api://AzureADTokenExchange"},
			"iat": now, "nbf": now, "exp": now + 3600}
	}
	tokenFile := filepath.Join(tmp, "federated-token")
	writeFile(t, tokenFile, []byte(iss.token(t, iss.key, claims(subject))))
	untrustedFile := filepath.Join(tmp, "untrusted-token")
	writeFile(t, untrustedFile, []byte(iss.token(t, iss.key, claims("system:serviceaccount:other:intruder"))))

	endpoint, header := startAgentProcess(t, info)
	u, err := url.Parse(endpoint)
	if err != nil {
		t.Fatal(err)
	}

	runNodeTests(t, node, dir, []string{"identity.test.mjs"},
		"NODE_EXTRA_CA_CERTS="+info.CAFile,
		"KEYHAVEN_DEV_INFO="+infoFile,
		"KEYHAVEN_JS_CERT_FILE="+certFile,
		"KEYHAVEN_JS_UNKNOWN_CERT_FILE="+unknownCertFile,
		"KEYHAVEN_JS_FEDERATED_TOKEN_FILE="+tokenFile,
		"KEYHAVEN_JS_UNTRUSTED_TOKEN_FILE="+untrustedFile,
		"KEYHAVEN_JS_IDENTITY_ENDPOINT="+endpoint,
		"KEYHAVEN_JS_IDENTITY_HEADER="+header,
		"KEYHAVEN_JS_IMDS_HOST="+u.Scheme+"://"+u.Host,
	)
}

// devIdentityClient returns a management API client of the dev server
// that signs in as the dev application (an Owner).
func devIdentityClient(t *testing.T, info *devInfo) *client.IdentityClient {
	t.Helper()
	hc := devHTTPClient(t, info)
	cred := &client.ClientSecretCredential{AuthorityHost: info.AuthorityHost, TenantID: info.TenantID,
		ClientID: info.ClientID, ClientSecret: info.ClientSecret, HTTPClient: hc}
	vault, err := url.Parse(info.VaultURL)
	if err != nil {
		t.Fatal(err)
	}
	_, suffix, _ := strings.Cut(vault.Host, ".") // dev.vault.localhost:port → vault.localhost:port
	ids, err := client.NewIdentityClient(info.AuthorityHost, suffix, cred, &client.ClientOptions{HTTPClient: hc})
	if err != nil {
		t.Fatal(err)
	}
	return ids
}

// devHTTPClient trusts the dev server's CA and dials localhost and
// *.localhost on 127.0.0.1, where the dev server listens.
func devHTTPClient(t *testing.T, info *devInfo) *http.Client {
	t.Helper()
	raw, err := os.ReadFile(info.CAFile)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(raw) {
		t.Fatalf("no certificate in %s", info.CAFile)
	}
	d := &net.Dialer{Timeout: 10 * time.Second}
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool},
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			if host, port, err := net.SplitHostPort(addr); err == nil && (host == "localhost" || strings.HasSuffix(host, ".localhost")) {
				addr = net.JoinHostPort("127.0.0.1", port)
			}
			return d.DialContext(ctx, network, addr)
		}}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 30 * time.Second}
}

// writeCertAndKey makes a self-signed RSA certificate, writes it and its
// PKCS#8 private key to one PEM file (the form ClientCertificateCredential
// reads) and returns the certificate's PEM.
func writeCertAndKey(t *testing.T, file, cn string) string {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	serial, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
	tmpl := &x509.Certificate{SerialNumber: serial, Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	pkcs8, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pkcs8})
	writeFile(t, file, append(certPEM, keyPEM...))
	return string(certPEM)
}

// startAgentProcess runs `keyhaven agent --listen 127.0.0.1:0` for the dev
// application and returns the IDENTITY_ENDPOINT and IDENTITY_HEADER it
// prints. The agent is stopped with SIGTERM (then SIGKILL) when the test
// ends.
func startAgentProcess(t *testing.T, info *devInfo) (endpoint, header string) {
	t.Helper()
	secretFile := filepath.Join(t.TempDir(), "client-secret")
	writeFile(t, secretFile, []byte(info.ClientSecret))
	cmd := exec.Command(keyhavenBinary(t), "agent", "--listen", "127.0.0.1:0", "--client-secret-file", secretFile)
	cmd.Env = append(nodeEnv(),
		"AZURE_AUTHORITY_HOST="+info.AuthorityHost,
		"AZURE_TENANT_ID="+info.TenantID,
		"AZURE_CLIENT_ID="+info.ClientID,
		"SSL_CERT_FILE="+info.CAFile, // the agent reaches the server's token endpoint over TLS
	)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	logs := &lockedBuffer{}
	cmd.Stderr = logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// The agent prints its endpoint and header on stdout at start; its
	// logs go to stderr.
	lines := make(chan string, 64)
	done := make(chan struct{})
	var waitErr error
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			_, _ = logs.Write([]byte(sc.Text() + "\n"))
			select {
			case lines <- sc.Text():
			default: // nobody reads any more
			}
		}
		_, _ = io.Copy(io.Discard, stdout)
		waitErr = cmd.Wait()
		close(done)
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
		if t.Failed() {
			t.Logf("keyhaven agent output:\n%s", logs.String())
		}
	})

	deadline := time.After(30 * time.Second)
	for endpoint == "" || header == "" {
		select {
		case line := <-lines:
			line = strings.TrimSpace(line)
			if v, ok := strings.CutPrefix(line, "export IDENTITY_ENDPOINT="); ok {
				endpoint = v
			} else if v, ok := strings.CutPrefix(line, "export IDENTITY_HEADER="); ok {
				header = v
			}
		case <-done:
			t.Fatalf("keyhaven agent exited before printing its endpoint: %v\n%s", waitErr, logs.String())
		case <-deadline:
			t.Fatalf("keyhaven agent printed no IDENTITY_ENDPOINT and IDENTITY_HEADER in 30s:\n%s", logs.String())
		}
	}
	return endpoint, header
}

// lockedBuffer collects a process's output from several goroutines.
type lockedBuffer struct {
	mu  sync.Mutex
	buf strings.Builder
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
