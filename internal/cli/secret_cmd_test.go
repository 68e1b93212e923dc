package cli

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/keyhaven/keyhaven/pkg/client"
)

// fakeVault is a TLS server that challenges requests without a token and
// answers the others from routes ("METHOD /path" → status and body).
type fakeVault struct {
	srv    *httptest.Server
	routes map[string]func(r *http.Request) (int, string)

	mu   sync.Mutex
	reqs []vaultRequest
}

type vaultRequest struct {
	Method, Path, Query, Body string
}

type staticCredential struct{}

func (staticCredential) GetToken(context.Context, client.TokenRequest) (client.AccessToken, error) {
	return client.AccessToken{Token: "test-token"}, nil
}

// useFakeVault starts a fake vault and points newSecretsClient at it; the
// returned URL is the vault URL to pass with --vault-url.
func useFakeVault(t *testing.T) *fakeVault {
	t.Helper()
	v := &fakeVault{routes: map[string]func(*http.Request) (int, string){}}
	v.srv = httptest.NewTLSServer(v)
	t.Cleanup(v.srv.Close)
	orig := newSecretsClient
	newSecretsClient = func(vaultURL string) (*client.SecretsClient, error) {
		return client.NewSecretsClient(vaultURL, staticCredential{}, &client.ClientOptions{
			HTTPClient: v.srv.Client(), DisableChallengeResourceVerification: true,
		})
	}
	t.Cleanup(func() { newSecretsClient = orig })
	return v
}

func (v *fakeVault) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("Authorization") == "" {
		w.Header().Set("WWW-Authenticate", `Bearer authorization="https://login.localhost/t1", resource="https://vault.localhost"`)
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	body, _ := io.ReadAll(r.Body)
	v.mu.Lock()
	v.reqs = append(v.reqs, vaultRequest{r.Method, r.URL.Path, r.URL.RawQuery, string(body)})
	v.mu.Unlock()
	status, resp := 404, `{"error":{"code":"SecretNotFound","message":"A secret with (name/id) x was not found in this key vault"}}`
	if h, ok := v.routes[r.Method+" "+r.URL.Path]; ok {
		status, resp = h(r)
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, resp)
}

func (v *fakeVault) route(key string, status int, body string) {
	v.routes[key] = func(*http.Request) (int, string) { return status, body }
}

func (v *fakeVault) requests() []vaultRequest {
	v.mu.Lock()
	defer v.mu.Unlock()
	return append([]vaultRequest(nil), v.reqs...)
}

// runCLI runs keyhaven with args and stdin; it returns the exit code,
// stdout and stderr.
func runCLI(t *testing.T, stdin string, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := run(args, streams{in: strings.NewReader(stdin), out: &out, err: &errOut})
	return code, out.String(), errOut.String()
}

const (
	secretID   = "https://myvault.vault.localhost/secrets/db-pass/0123456789abcdef0123456789abcdef"
	bundleBody = `{"value":"hunter2","id":"` + secretID + `","contentType":"text/plain",
	  "tags":{"env":"dev","team":"core"},
	  "attributes":{"enabled":true,"exp":1800000000,"created":1700000000,"updated":1700000100,
	    "recoverableDays":90,"recoveryLevel":"Recoverable+Purgeable"}}`
)

func TestSecretUsageErrors(t *testing.T) {
	t.Setenv(envVaultURL, "")
	tests := []struct {
		name    string
		args    []string
		wantErr string
	}{
		{name: "set without --name", args: []string{"secret", "set", "--vault-url", "https://v", "--value", "x"}, wantErr: "--name is required"},
		{name: "--value and --file together", args: []string{"secret", "set", "--vault-url", "https://v", "-n", "a", "--value", "x", "--file", "f"}, wantErr: "mutually exclusive"},
		{name: "neither --value nor --file", args: []string{"secret", "set", "--vault-url", "https://v", "-n", "a"}, wantErr: "one of --value or --file is required"},
		{name: "tag without a name", args: []string{"secret", "set", "--vault-url", "https://v", "-n", "a", "--value", "x", "--tags", "a=1", "=v"}, wantErr: `invalid --tags value "=v"`},
		{name: "bad --enabled", args: []string{"secret", "set", "--vault-url", "https://v", "-n", "a", "--value", "x", "--enabled", "maybe"}, wantErr: "must be true or false"},
		{name: "--enabled and --disabled", args: []string{"secret", "set", "--vault-url", "https://v", "-n", "a", "--value", "x", "--enabled", "true", "--disabled", "true"}, wantErr: "mutually exclusive"},
		{name: "bad --expires", args: []string{"secret", "set", "--vault-url", "https://v", "-n", "a", "--value", "x", "--expires", "tomorrow"}, wantErr: "ISO-8601"},
		{name: "--encoding without --file", args: []string{"secret", "set", "--vault-url", "https://v", "-n", "a", "--value", "x", "--encoding", "base64"}, wantErr: "only to --file"},
		{name: "unknown --encoding", args: []string{"secret", "set", "--vault-url", "https://v", "-n", "a", "--file", "f", "--encoding", "utf-16"}, wantErr: "allowed values are utf-8, base64"},
		{name: "no vault", args: []string{"secret", "show", "-n", "a"}, wantErr: "one of --vault-name or --vault-url is required"},
		{name: "both vault flags", args: []string{"secret", "show", "-n", "a", "--vault-name", "myvault", "--vault-url", "https://x"}, wantErr: "mutually exclusive"},
		{name: "bad vault name", args: []string{"secret", "show", "-n", "a", "--vault-name", "a.b"}, wantErr: "invalid --vault-name"},
		{name: "vault URL over http", args: []string{"secret", "show", "-n", "a", "--vault-url", "http://v.vault.localhost"}, wantErr: "want https://"},
		{name: "--id with --name", args: []string{"secret", "show", "--id", secretID, "-n", "a"}, wantErr: "--id cannot be combined"},
		{name: "bad --id", args: []string{"secret", "show", "--id", "https://v/keys/a"}, wantErr: "--id: invalid secret id"},
		{name: "bad secret name", args: []string{"secret", "show", "--vault-url", "https://v", "-n", "a/b"}, wantErr: "invalid name"},
		{name: "bad output", args: []string{"secret", "list", "--vault-url", "https://v", "-o", "xml"}, wantErr: "invalid --output"},
		{name: "bad query", args: []string{"secret", "list", "--vault-url", "https://v", "--query", "[?"}, wantErr: "invalid --query"},
		{name: "maxresults too small", args: []string{"secret", "list", "--vault-url", "https://v", "--maxresults", "0"}, wantErr: "between 1 and 25"},
		{name: "maxresults too large", args: []string{"secret", "list", "--vault-url", "https://v", "--maxresults", "26"}, wantErr: "between 1 and 25"},
		{name: "unknown flag", args: []string{"secret", "list", "--vault-url", "https://v", "--bogus"}, wantErr: "unknown flag"},
		{name: "positional argument", args: []string{"secret", "show", "--vault-url", "https://v", "-n", "a", "extra"}, wantErr: "1 unexpected argument(s)"},
		{name: "unquoted value is not echoed", args: []string{"secret", "set", "--vault-url", "https://v", "-n", "a", "--value", "my", "s3cret"}, wantErr: "quote values that contain spaces"},
		{name: "backup without --file", args: []string{"secret", "backup", "--vault-url", "https://v", "-n", "a"}, wantErr: "--file is required"},
		{name: "restore without --file", args: []string{"secret", "restore", "--vault-url", "https://v"}, wantErr: "--file is required"},
		{name: "--name on list", args: []string{"secret", "list", "--vault-url", "https://v", "-n", "a"}, wantErr: "unknown shorthand flag"},
		{name: "unknown subcommand", args: []string{"secret", "frobnicate"}, wantErr: "unknown command"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := useFakeVault(t)
			code, out, errOut := runCLI(t, "", tt.args...)
			if code != exitUsage || !strings.Contains(errOut, tt.wantErr) || !strings.HasPrefix(errOut, "error: ") {
				t.Errorf("exit %d, stderr %q; want %d and %q", code, errOut, exitUsage, tt.wantErr)
			}
			if strings.Contains(errOut, "s3cret") {
				t.Errorf("stderr %q shows part of the secret value", errOut)
			}
			if out != "" || len(v.requests()) != 0 {
				t.Errorf("stdout %q, %d requests; want none", out, len(v.requests()))
			}
		})
	}
}

func TestSecretServerErrorExitsOne(t *testing.T) {
	v := useFakeVault(t)
	v.route("PUT /secrets/a", 409, `{"error":{"code":"Conflict","message":"Secret a is currently in a deleted but recoverable state.","innererror":{"code":"ObjectIsDeletedButRecoverable"}}}`)
	code, out, errOut := runCLI(t, "", "secret", "set", "--vault-url", v.srv.URL, "-n", "a", "--value", "s3cret-value")
	want := "error: Conflict (409, ObjectIsDeletedButRecoverable): Secret a is currently in a deleted but recoverable state.\n"
	if code != exitError || errOut != want || out != "" {
		t.Errorf("exit %d, stdout %q, stderr %q; want 1 and %q", code, out, errOut, want)
	}
	if strings.Contains(errOut, "s3cret-value") {
		t.Error("the secret value appears in the error")
	}
	code, _, errOut = runCLI(t, "", "secret", "show", "--vault-url", v.srv.URL, "-n", "missing")
	if code != exitError || !strings.Contains(errOut, "SecretNotFound (404)") {
		t.Errorf("exit %d, stderr %q", code, errOut)
	}
}

func TestSecretMissingCredentials(t *testing.T) {
	for _, k := range []string{client.EnvClientID, client.EnvClientSecret, client.EnvTenantID, client.EnvAuthorityHost} {
		t.Setenv(k, "")
	}
	code, _, errOut := runCLI(t, "", "secret", "show", "--vault-url", "https://v.vault.localhost", "-n", "a")
	if code != exitError || !strings.Contains(errOut, "AZURE_CLIENT_ID, AZURE_CLIENT_SECRET, AZURE_TENANT_ID, AZURE_AUTHORITY_HOST") {
		t.Errorf("exit %d, stderr %q", code, errOut)
	}
}

func TestSecretRequests(t *testing.T) {
	tests := []struct {
		name      string
		args      []string
		stdin     string
		route     string
		wantQuery string
		wantBody  string
	}{
		{name: "set with attributes and space-separated tags",
			args:  []string{"set", "-n", "a", "--value", "v", "--tags", "a=1", "b=2", "--content-type", "text/plain", "--expires", "2030-01-01T00:00:00Z", "--not-before", "2029-01-01", "--enabled", "false"},
			route: "PUT /secrets/a", wantBody: `{"value":"v","tags":{"a":"1","b":"2"},"contentType":"text/plain","attributes":{"enabled":false,"nbf":1861920000,"exp":1893456000}}`},
		{name: "set with repeated --tags and a flag after them",
			args:  []string{"set", "--tags", "a=1", "--tags", "b", "-n", "a", "--value", "--tags"},
			route: "PUT /secrets/a", wantBody: `{"value":"--tags","tags":{"a":"1","b":""}}`},
		{name: "set from stdin", args: []string{"set", "-n", "a", "--file", "-"}, stdin: "line1\nline2\n",
			route: "PUT /secrets/a", wantBody: `{"value":"line1\nline2\n","tags":{"file-encoding":"utf-8"}}`},
		{name: "set from stdin as base64", args: []string{"set", "-n", "a", "-f", "-", "-e", "base64", "--disabled", "true"}, stdin: "\xff\x00",
			route: "PUT /secrets/a", wantBody: `{"value":"/wA=","tags":{"file-encoding":"base64"},"attributes":{"enabled":false}}`},
		{name: "set-attributes clears tags and content type",
			args:  []string{"set-attributes", "-n", "a", "--version", "0123456789abcdef0123456789abcdef", "--tags", "", "--content-type", ""},
			route: "PATCH /secrets/a/0123456789abcdef0123456789abcdef", wantBody: `{"contentType":"","tags":{}}`},
		{name: "set-attributes with an empty --tags list", args: []string{"set-attributes", "-n", "a", "--tags", "--enabled", "true"},
			route: "PATCH /secrets/a/", wantBody: `{"attributes":{"enabled":true},"tags":{}}`},
		{name: "show by id", args: []string{"show", "--id", "VAULT/secrets/a/ff"}, route: "GET /secrets/a/ff"},
		{name: "delete by id ignores the version", args: []string{"delete", "--id", "VAULT/secrets/a/ff"}, route: "DELETE /secrets/a"},
		{name: "purge by recovery id", args: []string{"purge", "--id", "VAULT/deletedsecrets/a"}, route: "DELETE /deletedsecrets/a"},
		{name: "recover", args: []string{"recover", "-n", "a"}, route: "POST /deletedsecrets/a/recover"},
		{name: "show-deleted", args: []string{"show-deleted", "-n", "a"}, route: "GET /deletedsecrets/a"},
		{name: "list-versions with page size", args: []string{"list-versions", "-n", "a", "--maxresults", "5"},
			route: "GET /secrets/a/versions", wantQuery: "api-version=7.6&maxresults=5"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := useFakeVault(t)
			v.route(tt.route, 200, strings.ReplaceAll(bundleBody, "\n", ""))
			if strings.Contains(tt.route, "versions") {
				v.route(tt.route, 200, `{"value":[],"nextLink":null}`)
			}
			args := []string{"secret"}
			for _, a := range tt.args {
				args = append(args, strings.Replace(a, "VAULT", v.srv.URL, 1))
			}
			if !strings.Contains(strings.Join(args, " "), "--id") {
				args = append(args, "--vault-url", v.srv.URL)
			}
			code, _, errOut := runCLI(t, tt.stdin, args...)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, errOut)
			}
			reqs := v.requests()
			if len(reqs) != 1 {
				t.Fatalf("requests %+v", reqs)
			}
			got := reqs[0]
			wantQuery := tt.wantQuery
			if wantQuery == "" {
				wantQuery = "api-version=7.6"
			}
			if got.Method+" "+got.Path != tt.route || got.Query != wantQuery || got.Body != tt.wantBody {
				t.Errorf("request %+v\nwant %s ?%s body %s", got, tt.route, wantQuery, tt.wantBody)
			}
		})
	}
}

func TestSecretVaultNameUsesDNSSuffix(t *testing.T) {
	t.Setenv(envDNSSuffix, "vault.localhost:8443")
	var got string
	orig := newSecretsClient
	newSecretsClient = func(u string) (*client.SecretsClient, error) { got = u; return nil, fmt.Errorf("stop") }
	t.Cleanup(func() { newSecretsClient = orig })
	if code, _, _ := runCLI(t, "", "secret", "show", "--vault-name", "myvault", "-n", "a"); code != exitError {
		t.Fatalf("exit %d", code)
	}
	if got != "https://myvault.vault.localhost:8443" {
		t.Errorf("vault URL = %q", got)
	}
}

func TestSecretHelp(t *testing.T) {
	code, out, _ := runCLI(t, "", "secret", "set", "--help")
	if code != 0 || !strings.Contains(out, "--tags k=v") || !strings.Contains(out, "--vault-name") {
		t.Errorf("exit %d, help:\n%s", code, out)
	}
}
