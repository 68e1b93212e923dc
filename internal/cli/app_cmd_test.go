package cli

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/keyhaven/keyhaven/pkg/client"
)

// useFakeIdentity starts a fake server for the management API and points
// newIdentityClient at it, whatever server URL the command resolved; that
// URL is left in *gotURL.
func useFakeIdentity(t *testing.T) (v *fakeVault, gotURL *string) {
	t.Helper()
	v = useFakeVault(t)
	gotURL = new(string)
	orig := newIdentityClient
	newIdentityClient = func(serverURL string) (*client.IdentityClient, error) {
		*gotURL = serverURL
		return client.NewIdentityClient(v.srv.URL, "vault.localhost", staticCredential{}, &client.ClientOptions{HTTPClient: v.srv.Client()})
	}
	t.Cleanup(func() { newIdentityClient = orig })
	return v, gotURL
}

const (
	cliAppID    = "11111111-1111-4111-8111-111111111111"
	cliObjectID = "22222222-2222-4222-8222-222222222222"
	cliAppJSON  = `{"appId":"` + cliAppID + `","objectId":"` + cliObjectID + `","displayName":"billing",
	  "credentials":[{"id":"c1","type":"secret","hint":"abc","expires":"2030-01-02T03:04:05Z"},
	  {"id":"c2","type":"certificate","thumbprint":"ABCDEF","expires":"2031-01-02T03:04:05Z"}]}`
	cliSecret = "abc-very-secret-value"
)

// wantJSON compares printed JSON with want, ignoring layout.
func wantJSON(t *testing.T, got, want string) {
	t.Helper()
	var g, w any
	if err := json.Unmarshal([]byte(got), &g); err != nil {
		t.Fatalf("stdout is not JSON: %v\n%s", err, got)
	}
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatalf("bad want: %v", err)
	}
	if !reflect.DeepEqual(g, w) {
		t.Errorf("stdout:\n%s\nwant:\n%s", got, want)
	}
}

func TestAppCommands(t *testing.T) {
	appPath := "/identity/applications/" + cliAppID
	credsOut := `[{"keyId":"c1","type":"secret","hint":"abc","thumbprint":null,"endDateTime":"2030-01-02T03:04:05+00:00"},
	  {"keyId":"c2","type":"certificate","hint":null,"thumbprint":"ABCDEF","endDateTime":"2031-01-02T03:04:05+00:00"}]`
	appOut := `{"appId":"` + cliAppID + `","objectId":"` + cliObjectID + `","displayName":"billing","credentials":` + credsOut + `}`
	tests := []struct {
		name, route, reply string
		args               []string
		wantReq            vaultRequest
		wantOut            string
	}{
		{name: "create prints the secret once, as az's password",
			args:  []string{"create", "--display-name", "billing"},
			route: "POST /identity/applications", reply: strings.Replace(cliAppJSON, `"displayName"`, `"secret":"`+cliSecret+`","tenantId":"t1","displayName"`, 1),
			wantReq: vaultRequest{Method: "POST", Path: "/identity/applications", Body: `{"displayName":"billing"}`},
			wantOut: `{"appId":"` + cliAppID + `","displayName":"billing","objectId":"` + cliObjectID + `","password":"` + cliSecret + `","tenant":"t1"}`},
		{name: "list", args: []string{"list"},
			route: "GET /identity/applications", reply: `{"value":[` + cliAppJSON + `]}`,
			wantReq: vaultRequest{Method: "GET", Path: "/identity/applications"}, wantOut: `[` + appOut + `]`},
		{name: "list with a display name prefix", args: []string{"list", "--display-name", "PAY"},
			route: "GET /identity/applications", reply: `{"value":[` + cliAppJSON + `]}`,
			wantReq: vaultRequest{Method: "GET", Path: "/identity/applications"}, wantOut: `[]`},
		{name: "show", args: []string{"show", "--id", cliAppID},
			route: "GET " + appPath, reply: cliAppJSON,
			wantReq: vaultRequest{Method: "GET", Path: appPath}, wantOut: appOut},
		{name: "credential list", args: []string{"credential", "list", "--id", cliAppID},
			route: "GET " + appPath, reply: cliAppJSON,
			wantReq: vaultRequest{Method: "GET", Path: appPath}, wantOut: credsOut},
		{name: "credential add: a secret for two years",
			args:  []string{"credential", "add", "--id", cliAppID, "--years", "2"},
			route: "POST " + appPath + "/secrets", reply: `{"id":"c3","type":"secret","hint":"xyz","expires":"2030-01-02T03:04:05Z","secret":"xyz-new-secret"}`,
			wantReq: vaultRequest{Method: "POST", Path: appPath + "/secrets", Body: `{"expiresInDays":730}`},
			wantOut: `{"appId":"` + cliAppID + `","keyId":"c3","type":"secret","hint":"xyz","thumbprint":null,"endDateTime":"2030-01-02T03:04:05+00:00","password":"xyz-new-secret"}`},
		{name: "federated-credential create",
			args:  []string{"federated-credential", "create", "--id", cliAppID, "--issuer", "https://issuer.example", "--subject", "system:serviceaccount:ns:sa"},
			route: "POST " + appPath + "/federatedCredentials", reply: `{"id":"c4","type":"federated","issuer":"https://issuer.example","subject":"system:serviceaccount:ns:sa","audiences":["api://AzureADTokenExchange"],"expires":"0001-01-01T00:00:00Z"}`,
			wantReq: vaultRequest{Method: "POST", Path: appPath + "/federatedCredentials", Body: `{"issuer":"https://issuer.example","subject":"system:serviceaccount:ns:sa"}`},
			wantOut: `{"appId":"` + cliAppID + `","keyId":"c4","type":"federated","hint":null,"thumbprint":null,"endDateTime":null,"issuer":"https://issuer.example","subject":"system:serviceaccount:ns:sa","audiences":["api://AzureADTokenExchange"]}`},
		{name: "credential remove", args: []string{"credential", "remove", "--id", cliAppID, "--credential-id", "c1"},
			route: "DELETE " + appPath + "/credentials/c1", reply: "",
			wantReq: vaultRequest{Method: "DELETE", Path: appPath + "/credentials/c1"}},
		{name: "credential delete --key-id, as in az", args: []string{"credential", "delete", "--id", cliAppID, "--key-id", "c1"},
			route: "DELETE " + appPath + "/credentials/c1", reply: "",
			wantReq: vaultRequest{Method: "DELETE", Path: appPath + "/credentials/c1"}},
		{name: "delete", args: []string{"delete", "--id", cliAppID},
			route: "DELETE " + appPath, reply: "",
			wantReq: vaultRequest{Method: "DELETE", Path: appPath}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, _ := useFakeIdentity(t)
			status := 200
			if tt.reply == "" {
				status = 204
			}
			v.route(tt.route, status, tt.reply)
			code, out, errOut := runCLI(t, "", append([]string{"app", "--url", v.srv.URL}, tt.args...)...)
			if code != exitOK {
				t.Fatalf("exit %d: %s", code, errOut)
			}
			if reqs := v.requests(); len(reqs) != 1 || reqs[0] != tt.wantReq {
				t.Errorf("requests %+v, want %+v", reqs, tt.wantReq)
			}
			if tt.wantOut == "" {
				if out != "" {
					t.Errorf("stdout %q, want nothing", out)
				}
				return
			}
			wantJSON(t, out, tt.wantOut)
		})
	}
}

func TestAppTableHidesNothingSecret(t *testing.T) {
	v, _ := useFakeIdentity(t)
	v.route("GET /identity/applications", 200, `{"value":[`+cliAppJSON+`]}`)
	code, out, errOut := runCLI(t, "", "app", "list", "--url", v.srv.URL, "-o", "table")
	want := "AppId                                 DisplayName    ObjectId\n" +
		"------------------------------------  -------------  ------------------------------------\n" +
		cliAppID + "  billing        " + cliObjectID + "\n"
	if code != exitOK || out != want {
		t.Errorf("exit %d %s\nstdout:\n%s\nwant:\n%s", code, errOut, out, want)
	}
}

// newCertFile writes a PEM file holding a private key and then a
// certificate, as many tools write them.
func newCertFile(t *testing.T) (path string, der []byte) {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: "billing"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err = x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, _ := x509.MarshalPKCS8PrivateKey(key)
	data := append(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})...)
	path = filepath.Join(t.TempDir(), "billing.pem")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return path, der
}

func TestAppCredentialAddCertificateSendsOnlyTheCertificate(t *testing.T) {
	path, der := newCertFile(t)
	for _, arg := range []string{path, "@" + path} {
		v, _ := useFakeIdentity(t)
		route := "POST /identity/applications/" + cliAppID + "/certificates"
		v.route(route, 201, `{"id":"c4","type":"certificate","thumbprint":"00FF","expires":"2030-01-02T03:04:05Z"}`)
		code, out, errOut := runCLI(t, "", "app", "credential", "add", "--url", v.srv.URL, "--id", cliAppID, "--cert", arg)
		if code != exitOK {
			t.Fatalf("exit %d: %s", code, errOut)
		}
		wantJSON(t, out, `{"appId":"`+cliAppID+`","keyId":"c4","type":"certificate","hint":null,"thumbprint":"00FF","endDateTime":"2030-01-02T03:04:05+00:00"}`)
		reqs := v.requests()
		var body struct{ Certificate string }
		if len(reqs) != 1 || json.Unmarshal([]byte(reqs[0].Body), &body) != nil {
			t.Fatalf("requests %+v", reqs)
		}
		if want := string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})); body.Certificate != want {
			t.Errorf("sent %q, want only the certificate", body.Certificate)
		}
	}
	// A DER file is sent as base64.
	derFile := filepath.Join(t.TempDir(), "billing.cer")
	if err := os.WriteFile(derFile, der, 0o600); err != nil {
		t.Fatal(err)
	}
	v, _ := useFakeIdentity(t)
	v.route("POST /identity/applications/"+cliAppID+"/certificates", 201, `{"id":"c4","type":"certificate","expires":"2030-01-02T03:04:05Z"}`)
	if code, _, errOut := runCLI(t, "", "app", "credential", "add", "--url", v.srv.URL, "--id", cliAppID, "--cert", derFile); code != exitOK {
		t.Fatalf("DER: exit %d: %s", code, errOut)
	}
	if reqs := v.requests(); len(reqs) != 1 || !strings.Contains(reqs[0].Body, `"certificate":"MII`) {
		t.Errorf("DER: requests %+v", reqs)
	}
}

func TestAppUsageErrors(t *testing.T) {
	keyOnly := filepath.Join(t.TempDir(), "key.pem")
	if err := os.WriteFile(keyOnly, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: []byte("s3cret-key")}), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		args    []string
		wantErr string
	}{
		{name: "create without --display-name", args: []string{"app", "create"}, wantErr: "--display-name is required"},
		{name: "show without --id", args: []string{"app", "show"}, wantErr: "--id is required"},
		{name: "delete without --id", args: []string{"app", "delete"}, wantErr: "--id is required"},
		{name: "credential add without --id", args: []string{"app", "credential", "add"}, wantErr: "--id is required"},
		{name: "credential list without --id", args: []string{"app", "credential", "list"}, wantErr: "--id is required"},
		{name: "credential remove without --credential-id", args: []string{"app", "credential", "remove", "--id", cliAppID}, wantErr: "--credential-id is required"},
		{name: "three years", args: []string{"app", "credential", "add", "--id", cliAppID, "--years", "3"}, wantErr: "--years must be 1 or 2"},
		{name: "--years with --cert", args: []string{"app", "credential", "add", "--id", cliAppID, "--years", "1", "--cert", keyOnly}, wantErr: "--years applies to secrets only"},
		{name: "missing cert file", args: []string{"app", "credential", "add", "--id", cliAppID, "--cert", "/nonexistent/c.pem"}, wantErr: "--cert:"},
		{name: "a key is not a certificate", args: []string{"app", "credential", "add", "--id", cliAppID, "--cert", keyOnly}, wantErr: "no PEM CERTIFICATE block"},
		{name: "http server address", args: []string{"app", "list", "--url", "http://localhost:8443"}, wantErr: "want https://host[:port]"},
		{name: "bad output", args: []string{"app", "list", "-o", "xml"}, wantErr: "invalid --output"},
		{name: "positional argument", args: []string{"app", "show", cliAppID}, wantErr: "unknown command"},
		{name: "unknown subcommand", args: []string{"app", "frobnicate"}, wantErr: "unknown command"},
		{name: "unknown credential subcommand", args: []string{"app", "credential", "reset"}, wantErr: "unknown command"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, _ := useFakeIdentity(t)
			code, out, errOut := runCLI(t, "", tt.args...)
			if code != exitUsage || !strings.Contains(errOut, tt.wantErr) || !strings.HasPrefix(errOut, "error: ") {
				t.Errorf("exit %d, stderr %q; want %d and %q", code, errOut, exitUsage, tt.wantErr)
			}
			if strings.Contains(errOut, "s3cret") {
				t.Errorf("stderr %q shows file content", errOut)
			}
			if out != "" || len(v.requests()) != 0 {
				t.Errorf("stdout %q, %d requests; want none", out, len(v.requests()))
			}
		})
	}
}

func TestAppServerErrorExitsOne(t *testing.T) {
	v, _ := useFakeIdentity(t)
	v.route("GET /identity/applications/"+cliAppID, 404, `{"error":{"code":"NotFound","message":"Application or credential not found in application `+cliAppID+`."}}`)
	v.route("GET /identity/applications", 403, `{"error":{"code":"AuthorizationFailed","message":"The client 'x' does not have authorization to perform action 'Keyhaven/identity/applications/read' over scope '/'."}}`)
	code, out, errOut := runCLI(t, "", "app", "show", "--url", v.srv.URL, "--id", cliAppID)
	if code != exitError || out != "" || !strings.Contains(errOut, "NotFound (404)") {
		t.Errorf("exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	code, out, errOut = runCLI(t, "", "app", "list", "--url", v.srv.URL)
	if code != exitError || out != "" || !strings.Contains(errOut, "AuthorizationFailed (403)") {
		t.Errorf("exit %d, stdout %q, stderr %q", code, out, errOut)
	}
}

// The server address comes from --url, else KEYHAVEN_ADDR, else
// AZURE_AUTHORITY_HOST, else https://localhost:8443, as for operator.
func TestAppServerAddress(t *testing.T) {
	tests := []struct {
		name, flag, addr, authority, want string
	}{
		{name: "flag wins", flag: "https://a.example:1/", addr: "https://b.example:2", authority: "https://c.example:3", want: "https://a.example:1"},
		{name: "KEYHAVEN_ADDR", addr: "https://b.example:2", authority: "https://c.example:3", want: "https://b.example:2"},
		{name: "AZURE_AUTHORITY_HOST", authority: "https://c.example:3", want: "https://c.example:3"},
		{name: "default", want: "https://localhost:8443"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, got := useFakeIdentity(t)
			t.Setenv(envServerURL, tt.addr)
			t.Setenv(client.EnvAuthorityHost, tt.authority)
			v.route("GET /identity/applications", 200, `{"value":[]}`)
			args := []string{"app", "list"}
			if tt.flag != "" {
				args = append(args, "--url", tt.flag)
			}
			if code, _, errOut := runCLI(t, "", args...); code != exitOK {
				t.Fatalf("exit %d: %s", code, errOut)
			}
			if *got != tt.want {
				t.Errorf("server %q, want %q", *got, tt.want)
			}
		})
	}
}
