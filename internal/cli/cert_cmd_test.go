package cli

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/keyhaven/keyhaven/pkg/client"
)

// useFakeCertVault starts a fake vault and points the certificates client
// at it.
func useFakeCertVault(t *testing.T) *fakeVault {
	t.Helper()
	v := useFakeVault(t)
	orig := newCertificatesClient
	newCertificatesClient = func(vaultURL string) (*client.CertificatesClient, error) {
		return client.NewCertificatesClient(vaultURL, staticCredential{}, &client.ClientOptions{
			HTTPClient: v.srv.Client(), DisableChallengeResourceVerification: true,
		})
	}
	t.Cleanup(func() { newCertificatesClient = orig })
	return v
}

// fastPolling makes create poll every millisecond.
func fastPolling(t *testing.T) {
	orig := certPollInterval
	certPollInterval = time.Millisecond
	t.Cleanup(func() { certPollInterval = orig })
}

const (
	certID     = fakeVaultURL + "/certificates/web/0123456789abcdef0123456789abcdef"
	certBundle = `{"id":"` + certID + `","kid":"` + fakeVaultURL + `/keys/web/0123456789abcdef0123456789abcdef",
	  "sid":"` + fakeVaultURL + `/secrets/web/0123456789abcdef0123456789abcdef","x5t":"-_8B","cer":"+/8B",
	  "contentType":"application/x-pkcs12","tags":{"env":"dev"},
	  "attributes":{"enabled":true,"nbf":1700000000,"exp":1731536000,"created":1700000100,"updated":1700000200,"recoverableDays":90,"recoveryLevel":"Recoverable+Purgeable"},
	  "policy":{"id":"` + fakeVaultURL + `/certificates/web/policy",
	    "key_props":{"exportable":true,"kty":"RSA","key_size":2048,"reuse_key":false},
	    "secret_props":{"contentType":"application/x-pkcs12"},
	    "x509_props":{"subject":"CN=web","ekus":["1.3.6.1.5.5.7.3.1"],"sans":{"dns_names":["web.example"]},
	      "key_usage":["digitalSignature"],"validity_months":12,"basic_constraints":{"ca":false}},
	    "lifetime_actions":[{"trigger":{"lifetime_percentage":80},"action":{"action_type":"AutoRenew"}}],
	    "issuer":{"name":"Self"},"attributes":{"enabled":true,"created":1700000000,"updated":1700000000}}}`
	opPending = `{"id":"` + fakeVaultURL + `/certificates/web/pending","issuer":{"name":"%s"},"csr":"+/8B",
	  "cancellation_requested":false,"status":"%s","request_id":"r1"}`
	storedPolicy = `{"id":"` + fakeVaultURL + `/certificates/web/policy","issuer":{"name":"Self"},
	  "x509_props":{"subject":"CN=web","validity_months":12},"attributes":{"enabled":true,"created":1700000000,"updated":1700000000}}`
)

func opBody(issuer, status string) string { return fmt.Sprintf(opPending, issuer, status) }

// runCert runs `keyhaven certificate args... --vault-url URL`.
func runCert(t *testing.T, v *fakeVault, args ...string) (int, string, string) {
	t.Helper()
	return runCLI(t, "", append(append([]string{"certificate"}, args...), "--vault-url", v.srv.URL)...)
}

func TestCertDefaultPolicyIsAz(t *testing.T) {
	code, out, errOut := runCLI(t, "", "certificate", "get-default-policy", "-o", "json")
	want := `{
  "issuerParameters": {
    "name": "Self"
  },
  "keyProperties": {
    "exportable": true,
    "keySize": 2048,
    "keyType": "RSA",
    "reuseKey": true
  },
  "lifetimeActions": [
    {
      "action": {
        "actionType": "AutoRenew"
      },
      "trigger": {
        "daysBeforeExpiry": 90
      }
    }
  ],
  "secretProperties": {
    "contentType": "application/x-pkcs12"
  },
  "x509CertificateProperties": {
    "ekus": [
      "1.3.6.1.5.5.7.3.1",
      "1.3.6.1.5.5.7.3.2"
    ],
    "keyUsage": [
      "cRLSign",
      "dataEncipherment",
      "digitalSignature",
      "keyEncipherment",
      "keyAgreement",
      "keyCertSign"
    ],
    "subject": "CN=CLIGetDefaultPolicy",
    "validityInMonths": 12
  }
}
`
	if code != 0 || out != want {
		t.Errorf("exit %d %s\n%s", code, errOut, out)
	}
	// Fed back to --policy, it is the default policy on the wire.
	p, err := parseCertPolicy([]byte(out))
	if err != nil || !reflect.DeepEqual(p, defaultCertPolicy()) {
		t.Errorf("parse: %+v %v", p, err)
	}
	if code, _, errOut := runCLI(t, "", "certificate", "get-default-policy", "--vault-url", "https://v"); code != exitUsage || !strings.Contains(errOut, "unknown flag: --vault-url") {
		t.Errorf("exit %d %s", code, errOut)
	}
}

func TestCertShowPrintsLikeAz(t *testing.T) {
	v := useFakeCertVault(t)
	v.route("GET /certificates/web/", 200, certBundle)
	code, out, errOut := runCert(t, v, "show", "-n", "web")
	if code != 0 {
		t.Fatalf("exit %d %s", code, errOut)
	}
	var got map[string]any
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatal(err)
	}
	pol := got["policy"].(map[string]any)
	x509 := pol["x509CertificateProperties"].(map[string]any)
	checks := map[string]any{
		"name": got["name"], "cer": got["cer"], "x509Thumbprint": got["x509Thumbprint"], "x509ThumbprintHex": got["x509ThumbprintHex"],
		"expires": got["attributes"].(map[string]any)["expires"], "notBefore": got["attributes"].(map[string]any)["notBefore"],
		"keySize": pol["keyProperties"].(map[string]any)["keySize"], "subject": x509["subject"],
		"dnsNames": x509["subjectAlternativeNames"].(map[string]any)["dnsNames"], "validity": x509["validityInMonths"],
		"percentage": pol["lifetimeActions"].([]any)[0].(map[string]any)["trigger"].(map[string]any)["lifetimePercentage"],
		"issuer":     pol["issuerParameters"].(map[string]any)["name"], "sid": got["sid"],
	}
	want := map[string]any{
		"name": "web", "cer": "+/8B", "x509Thumbprint": "+/8B", "x509ThumbprintHex": "FBFF01",
		"expires": "2024-11-13T22:13:20+00:00", "notBefore": "2023-11-14T22:13:20+00:00",
		"keySize": 2048.0, "subject": "CN=web", "dnsNames": []any{"web.example"}, "validity": 12.0,
		"percentage": 80.0, "issuer": "Self", "sid": fakeVaultURL + "/secrets/web/0123456789abcdef0123456789abcdef",
	}
	if !reflect.DeepEqual(checks, want) {
		t.Errorf("show:\n got %v\nwant %v", checks, want)
	}
	// The policy that show prints is accepted by --policy.
	raw, _ := json.Marshal(got["policy"])
	if p, err := parseCertPolicy(raw); err != nil || p.X509Props.Subject != "CN=web" || p.ID != "" || p.Attributes == nil || *p.Attributes.Enabled != true {
		t.Errorf("show's policy fed back: %+v %v", p, err)
	}
}

func TestCertListTable(t *testing.T) {
	v := useFakeCertVault(t)
	v.routes["GET /certificates"] = func(r *http.Request) (int, string) {
		if r.URL.Query().Get("$skiptoken") == "" {
			return 200, fmt.Sprintf(`{"value":[{"id":"%s/certificates/a","x5t":"AQID","attributes":{"enabled":true}}],
			  "nextLink":"%s/certificates?api-version=7.6&$skiptoken=2"}`, fakeVaultURL, v.srv.URL)
		}
		return 200, `{"value":[{"id":"` + fakeVaultURL + `/certificates/b","x5t":"BAU","tags":{"k":"v"}}],"nextLink":null}`
	}
	code, out, errOut := runCert(t, v, "list", "-o", "table")
	want := "Name    X509Thumbprint    X509ThumbprintHex\n" +
		"------  ----------------  -------------------\n" +
		"a       AQID              010203\n" +
		"b       BAU=              0405\n"
	if code != 0 || out != want {
		t.Errorf("exit %d %s\n%s", code, errOut, out)
	}
}

func TestCertUsageErrors(t *testing.T) {
	t.Setenv(envVaultURL, "")
	tests := []struct {
		name    string
		args    []string
		wantErr string
	}{
		{"create without --name", []string{"create"}, "--name is required"},
		{"create with --id", []string{"create", "--id", "https://v/certificates/a"}, "unknown flag: --id"},
		{"malformed policy JSON", []string{"create", "-n", "a", "--policy", `{"issuer":`}, "--policy: not valid JSON"},
		{"policy not an object", []string{"create", "-n", "a", "--policy", `{} {}`}, "--policy: text after the JSON object"},
		{"policy neither JSON nor file", []string{"create", "-n", "a", "-p", "self signed"}, "--policy is neither a JSON object nor an existing file"},
		{"policy typo", []string{"create", "-n", "a", "-p", `{"x509_props":{"subjekt":"CN=a"}}`}, `unknown member "subjekt" in x509_props`},
		{"policy unknown top member", []string{"create", "-n", "a", "-p", `{"policy":{}}`}, `unknown member "policy"`},
		{"policy wrong type", []string{"create", "-n", "a", "-p", `{"keyProperties":{"keySize":"big"}}`}, "key_props.key_size must be a whole number"},
		{"policy member twice", []string{"create", "-n", "a", "-p", `{"key_props":{"kty":"RSA"},"keyProperties":{"keyType":"EC"}}`}, "key_props is given twice"},
		{"policy list expected", []string{"create", "-n", "a", "-p", `{"lifetime_actions":{}}`}, "lifetime_actions must be a list"},
		{"bad --validity", []string{"create", "-n", "a", "--validity", "0"}, "--validity must be at least 1 month"},
		{"bad --timeout", []string{"create", "-n", "a", "--timeout", "0"}, "--timeout must be at least 1 second"},
		{"create has no --enabled", []string{"create", "-n", "a", "--enabled", "true"}, "unknown flag: --enabled"},
		{"tag without a name", []string{"create", "-n", "a", "--tags", "=v"}, `invalid --tags value "=v"`},
		{"import without --file", []string{"import", "-n", "a"}, "--file is required"},
		{"show without --name", []string{"show"}, "--name (or --id) is required"},
		{"key id", []string{"show", "--id", "https://v/keys/a"}, "--id: invalid certificate id"},
		{"bad version", []string{"show", "-n", "a", "--version", "../x"}, "invalid version"},
		{"download without --file", []string{"download", "-n", "a"}, "--file is required"},
		{"download encoding", []string{"download", "-n", "a", "-f", "x", "-e", "PFX"}, "invalid --encoding"},
		{"set-attributes has no --disabled", []string{"set-attributes", "-n", "a", "--disabled", "true"}, "unknown flag: --disabled"},
		{"backup without --file", []string{"backup", "-n", "a"}, "--file is required"},
		{"restore without --file", []string{"restore"}, "--file is required"},
		{"merge without --file", []string{"pending", "merge", "-n", "a"}, "--file is required"},
		{"pending show without --name", []string{"pending", "show"}, "--name (or --id) is required"},
		{"issuer without --issuer-name", []string{"issuer", "show"}, "--issuer-name is required"},
		{"bad issuer name", []string{"issuer", "delete", "--issuer-name", "a/b"}, "invalid --issuer-name"},
		{"issuer create without provider", []string{"issuer", "create", "--issuer-name", "a"}, "--provider-name is required"},
		{"issuer create has no --enabled", []string{"issuer", "create", "--issuer-name", "a", "--provider-name", "p", "--enabled", "true"}, "unknown flag: --enabled"},
		{"contact add without --email", []string{"contact", "add", "--name", "A"}, "--email is required"},
		{"contact delete without --email", []string{"contact", "delete"}, "--email is required"},
		{"maxresults", []string{"list", "--maxresults", "26"}, "between 1 and 25"},
		{"unknown subcommand", []string{"frobnicate"}, `unknown command "frobnicate" for "keyhaven certificate"`},
		{"unknown pending subcommand", []string{"pending", "approve"}, `unknown command "approve"`},
		{"positional argument", []string{"show", "-n", "a", "extra"}, "1 unexpected argument(s)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := useFakeCertVault(t)
			args := append([]string{"certificate"}, tt.args...)
			if !strings.Contains(strings.Join(tt.args, " "), "--id") && !strings.HasSuffix(tt.name, "subcommand") {
				args = append(args, "--vault-url", v.srv.URL)
			}
			code, out, errOut := runCLI(t, "", args...)
			if code != exitUsage || !strings.Contains(errOut, tt.wantErr) || !strings.HasPrefix(errOut, "error: ") {
				t.Errorf("exit %d, stderr %q; want %d and %q", code, errOut, exitUsage, tt.wantErr)
			}
			if out != "" || len(v.requests()) != 0 {
				t.Errorf("stdout %q, %d requests; want none", out, len(v.requests()))
			}
		})
	}
}

// TestCertLocalFailures covers errors that are not usage errors but must
// still stop before any request.
func TestCertLocalFailures(t *testing.T) {
	dir := t.TempDir()
	existing, empty, notCert := filepath.Join(dir, "exists"), filepath.Join(dir, "empty"), filepath.Join(dir, "policy.json")
	writeTestFile(t, existing, "x")
	writeTestFile(t, empty, "")
	writeTestFile(t, notCert, `{"issuer":{"name":"Self"}}`)
	missing := filepath.Join(dir, "missing")
	tests := []struct {
		name    string
		args    []string
		wantErr string
	}{
		{"policy from a missing file", []string{"create", "-n", "a", "--policy", "@" + missing}, "--policy: open " + missing + ": no such file"},
		{"import a missing file", []string{"import", "-n", "a", "-f", missing, "--password", "pw-s3cret"}, "no such file"},
		{"import an empty file", []string{"import", "-n", "a", "-f", empty}, "is empty"},
		{"download over a file", []string{"download", "-n", "a", "-f", existing}, "already exists"},
		{"backup over a file", []string{"backup", "-n", "a", "-f", existing}, "already exists"},
		{"restore from an empty file", []string{"restore", "-f", empty}, "is empty"},
		{"merge a file without certificate", []string{"pending", "merge", "-n", "a", "-f", notCert}, "holds no certificate"},
		{"merge a missing file", []string{"pending", "merge", "-n", "a", "-f", missing}, "no such file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := useFakeCertVault(t)
			code, out, errOut := runCert(t, v, tt.args...)
			if code != exitError || !strings.Contains(errOut, tt.wantErr) || out != "" || len(v.requests()) != 0 {
				t.Errorf("exit %d, stdout %q, stderr %q, %d requests; want 1 and %q", code, out, errOut, len(v.requests()), tt.wantErr)
			}
			if strings.Contains(errOut, "pw-s3cret") {
				t.Errorf("stderr shows the password: %s", errOut)
			}
		})
	}
}

func writeTestFile(t *testing.T, path, data string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
}

// wantRequests compares the requests' "METHOD /path body" with want.
func wantRequests(t *testing.T, v *fakeVault, want ...string) {
	t.Helper()
	var got []string
	for _, r := range v.requests() {
		got = append(got, strings.TrimSpace(r.Method+" "+r.Path+" "+r.Body))
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("requests\n got %q\nwant %q", got, want)
	}
}

func TestCertRequests(t *testing.T) {
	dir := t.TempDir()
	pfx, pemFile, bak := filepath.Join(dir, "c.pfx"), filepath.Join(dir, "c.pem"), filepath.Join(dir, "c.bak")
	writeTestFile(t, pfx, "\x30\x82\xfb\xff")
	writeTestFile(t, pemFile, "-----BEGIN PRIVATE KEY-----\nAA==\n-----END PRIVATE KEY-----\n")
	writeTestFile(t, bak, "\xfb\xff\x01")
	const ver = "0123456789abcdef0123456789abcdef"
	tests := []struct {
		name  string
		args  []string
		route string
		body  string
	}{
		{"import a PFX with its password", []string{"import", "-n", "web", "-f", pfx, "--password", "pw", "--tags", "a=1", "--disabled", "true"},
			"POST /certificates/web/import", `{"value":"MIL7/w==","pwd":"pw","attributes":{"enabled":false},"tags":{"a":"1"}}`},
		{"import PEM sets the policy's content type", []string{"import", "-n", "web", "-f", pemFile, "-p", `{"x509_props":{"validity_months":3}}`},
			"POST /certificates/web/import", `{"value":"-----BEGIN PRIVATE KEY-----\nAA==\n-----END PRIVATE KEY-----\n","policy":{"secret_props":{"contentType":"application/x-pem-file"},"x509_props":{"validity_months":3}}}`},
		{"import PFX keeps a given content type", []string{"import", "-n", "web", "-f", pfx, "-p", `{"secretProperties":{"contentType":"application/x-pkcs12"}}`},
			"POST /certificates/web/import", `{"value":"MIL7/w==","policy":{"secret_props":{"contentType":"application/x-pkcs12"}}}`},
		{"show a version by id", []string{"show", "--id", "VAULT/certificates/web/" + ver}, "GET /certificates/web/" + ver, ""},
		{"set-attributes", []string{"set-attributes", "-n", "web", "--enabled", "false", "--tags", ""}, "PATCH /certificates/web/", `{"attributes":{"enabled":false},"tags":{}}`},
		{"set-attributes with a policy", []string{"set-attributes", "-n", "web", "-v", ver, "--policy", `{"lifetimeActions":[{"trigger":{"daysBeforeExpiry":10},"action":{"actionType":"EmailContacts"}}]}`},
			"PATCH /certificates/web/" + ver, `{"policy":{"lifetime_actions":[{"trigger":{"days_before_expiry":10},"action":{"action_type":"EmailContacts"}}]}}`},
		{"delete by id ignores the version", []string{"delete", "--id", "VAULT/certificates/web/" + ver}, "DELETE /certificates/web", ""},
		{"show-deleted", []string{"show-deleted", "-n", "web"}, "GET /deletedcertificates/web", ""},
		{"recover", []string{"recover", "-n", "web"}, "POST /deletedcertificates/web/recover", ""},
		{"purge by recovery id", []string{"purge", "--id", "VAULT/deletedcertificates/web"}, "DELETE /deletedcertificates/web", ""},
		{"restore", []string{"restore", "-f", bak}, "POST /certificates/restore", `{"value":"-_8B"}`},
		{"pending show", []string{"pending", "show", "-n", "web"}, "GET /certificates/web/pending", ""},
		{"pending cancel", []string{"pending", "cancel", "-n", "web"}, "PATCH /certificates/web/pending", `{"cancellation_requested":true}`},
		{"pending delete", []string{"pending", "delete", "-n", "web"}, "DELETE /certificates/web/pending", ""},
		{"issuer create", []string{"issuer", "create", "--issuer-name", "ca1", "--provider-name", "PrivateCA", "--account-id", "root", "--password", "pw", "--organization-id", "o1", "--disabled", "true"},
			"PUT /certificates/issuers/ca1", `{"provider":"PrivateCA","credentials":{"account_id":"root","pwd":"pw"},"org_details":{"id":"o1"},"attributes":{"enabled":false}}`},
		{"issuer update", []string{"issuer", "update", "--issuer-name", "ca1", "--enabled", "true"}, "PATCH /certificates/issuers/ca1", `{"attributes":{"enabled":true}}`},
		{"issuer show", []string{"issuer", "show", "--issuer-name", "ca1"}, "GET /certificates/issuers/ca1", ""},
		{"issuer delete", []string{"issuer", "delete", "--issuer-name", "ca1"}, "DELETE /certificates/issuers/ca1", ""},
		{"contact list", []string{"contact", "list"}, "GET /certificates/contacts", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := useFakeCertVault(t)
			v.route(tt.route, 200, strings.ReplaceAll(certBundle, "\n", ""))
			args := []string{"certificate"}
			for _, a := range tt.args {
				args = append(args, strings.Replace(a, "VAULT", v.srv.URL, 1))
			}
			if !strings.Contains(strings.Join(args, " "), "--id") {
				args = append(args, "--vault-url", v.srv.URL)
			}
			if code, _, errOut := runCLI(t, "", args...); code != 0 {
				t.Fatalf("exit %d: %s", code, errOut)
			}
			wantRequests(t, v, strings.TrimSpace(tt.route+" "+tt.body))
		})
	}
}

func TestCertCreate(t *testing.T) {
	fastPolling(t)
	az := `{"issuerParameters":{"name":"Self","certificateType":null},"keyProperties":{"keyType":"EC","curve":"P-256","exportable":false},
	  "x509CertificateProperties":{"subject":"CN=web","subjectAlternativeNames":{"dnsNames":["web.example"]},"validityInMonths":6}}`
	tests := []struct {
		name    string
		args    []string
		stored  bool     // GET policy answers 200
		pending []string // statuses GET /pending answers, in order
		want    []string
		wantOut string // a member the output has: "cer" (the certificate) or "csr" (the operation)
	}{
		{name: "default policy for a new certificate", args: []string{"-n", "web"}, pending: []string{"completed"},
			want: []string{"GET /certificates/web/policy", "POST /certificates/web/create " + mustJSON(t, client.CertificateCreateParameters{Policy: defaultCertPolicy()}),
				"GET /certificates/web/pending", "GET /certificates/web/"}, wantOut: "cer"},
		{name: "az's policy form", args: []string{"-n", "web", "-p", az, "--tags", "k=v", "--disabled", "true"}, pending: []string{"inProgress", "inProgress", "completed"},
			want: []string{`POST /certificates/web/create {"policy":{"key_props":{"exportable":false,"kty":"EC","crv":"P-256"},"x509_props":{"subject":"CN=web","sans":{"dns_names":["web.example"]},"validity_months":6},"issuer":{"name":"Self"}},"attributes":{"enabled":false},"tags":{"k":"v"}}`,
				"GET /certificates/web/pending", "GET /certificates/web/pending", "GET /certificates/web/pending", "GET /certificates/web/"}, wantOut: "cer"},
		{name: "a new version keeps the stored policy", args: []string{"-n", "web"}, stored: true, pending: []string{"completed"},
			want: []string{"GET /certificates/web/policy", "POST /certificates/web/create {}", "GET /certificates/web/pending", "GET /certificates/web/"}, wantOut: "cer"},
		{name: "--validity changes the stored policy", args: []string{"-n", "web", "--validity", "3"}, stored: true, pending: []string{"completed"},
			want: []string{"GET /certificates/web/policy", `POST /certificates/web/create {"policy":{"x509_props":{"subject":"CN=web","validity_months":3},"issuer":{"name":"Self"}}}`,
				"GET /certificates/web/pending", "GET /certificates/web/"}, wantOut: "cer"},
		{name: "--no-wait prints the operation", args: []string{"-n", "web", "-p", `{"issuer":{"name":"Self"}}`, "--no-wait"},
			want: []string{`POST /certificates/web/create {"policy":{"issuer":{"name":"Self"}}}`}, wantOut: "csr"},
		{name: "issuer Unknown waits for a merge", args: []string{"-n", "web", "-p", `{"issuer":{"name":"Unknown"}}`},
			want: []string{`POST /certificates/web/create {"policy":{"issuer":{"name":"Unknown"}}}`}, wantOut: "csr"},
		{name: "a cancelled operation is printed", args: []string{"-n", "web", "-p", `{"issuer":{"name":"Self"}}`}, pending: []string{"cancelled"},
			want: []string{`POST /certificates/web/create {"policy":{"issuer":{"name":"Self"}}}`, "GET /certificates/web/pending"}, wantOut: "csr"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := useFakeCertVault(t)
			issuer := "Self"
			if strings.Contains(strings.Join(tt.args, " "), "Unknown") {
				issuer = "Unknown"
			}
			v.route("POST /certificates/web/create", 202, opBody(issuer, "inProgress"))
			v.route("GET /certificates/web/", 200, certBundle)
			if tt.stored {
				v.route("GET /certificates/web/policy", 200, storedPolicy)
			}
			polls := 0
			v.routes["GET /certificates/web/pending"] = func(*http.Request) (int, string) {
				polls++
				return 200, opBody(issuer, tt.pending[min(polls, len(tt.pending))-1])
			}
			code, out, errOut := runCert(t, v, append([]string{"create"}, tt.args...)...)
			if code != 0 || errOut != "" {
				t.Fatalf("exit %d: %s", code, errOut)
			}
			wantRequests(t, v, tt.want...)
			var got map[string]any
			if err := json.Unmarshal([]byte(out), &got); err != nil || got[tt.wantOut] == nil {
				t.Errorf("output lacks %q: %v\n%s", tt.wantOut, err, out)
			}
		})
	}
}

func mustJSON(t *testing.T, v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestCertCreateFailsOrTimesOut(t *testing.T) {
	fastPolling(t)
	v := useFakeCertVault(t)
	v.route("POST /certificates/bad/create", 202, opBody("nosuch", "inProgress"))
	v.route("GET /certificates/bad/pending", 200, `{"id":"x","issuer":{"name":"nosuch"},"status":"failed",
	  "error":{"code":"Certificate issuer error","message":"The issuer nosuch of the policy does not exist in this vault."}}`)
	code, out, errOut := runCert(t, v, "create", "-n", "bad", "-p", `{"issuer":{"name":"nosuch"}}`)
	if code != exitError || out != "" || errOut != "error: the certificate operation failed: Certificate issuer error: The issuer nosuch of the policy does not exist in this vault.\n" {
		t.Errorf("exit %d, stdout %q, stderr %q", code, out, errOut)
	}

	certPollInterval = 100 * time.Millisecond
	v.route("POST /certificates/slow/create", 202, opBody("ca1", "inProgress"))
	v.route("GET /certificates/slow/pending", 200, opBody("ca1", "inProgress"))
	start := time.Now()
	code, out, errOut = runCert(t, v, "create", "-n", "slow", "-p", `{"issuer":{"name":"ca1"}}`, "--timeout", "1", "--query", "status")
	if code != 0 || out != "\"inProgress\"\n" || !strings.Contains(errOut, "warning: the certificate operation is still in progress after 1 seconds") {
		t.Errorf("exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	if d := time.Since(start); d < time.Second || d > 5*time.Second {
		t.Errorf("waited %v, want about --timeout 1", d)
	}
}

// testChain returns a CA certificate and a leaf it signed, DER.
func testChain(t *testing.T) (ca, leaf []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "Test CA"}, NotBefore: time.Now(),
		NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	if ca, err = x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key); err != nil {
		t.Fatal(err)
	}
	caCert, _ := x509.ParseCertificate(ca)
	leafTmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "leaf"}, NotBefore: time.Now(), NotAfter: time.Now().Add(time.Hour)}
	if leaf, err = x509.CreateCertificate(rand.Reader, leafTmpl, caCert, &key.PublicKey, key); err != nil {
		t.Fatal(err)
	}
	return ca, leaf
}

func TestCertMergeSendsTheChain(t *testing.T) {
	ca, leaf := testChain(t)
	dir := t.TempDir()
	chainPEM := filepath.Join(dir, "chain.pem")
	writeTestFile(t, chainPEM, "subject=leaf\n"+string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: leaf}))+
		string(pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: []byte{1}}))+
		string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ca})))
	der := filepath.Join(dir, "leaf.der")
	writeTestFile(t, der, string(leaf))
	b64 := base64.StdEncoding.EncodeToString
	for file, x5c := range map[string]string{chainPEM: `["` + b64(leaf) + `","` + b64(ca) + `"]`, der: `["` + b64(leaf) + `"]`} {
		v := useFakeCertVault(t)
		v.route("POST /certificates/web/pending/merge", 201, certBundle)
		code, out, errOut := runCert(t, v, "pending", "merge", "-n", "web", "-f", file, "--tags", "src=ca", "--query", "name")
		if code != 0 || out != "\"web\"\n" {
			t.Fatalf("exit %d %s %s", code, out, errOut)
		}
		wantRequests(t, v, `POST /certificates/web/pending/merge {"x5c":`+x5c+`,"tags":{"src":"ca"}}`)
	}
	bad := filepath.Join(dir, "bad.pem")
	writeTestFile(t, bad, string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte("not DER")})))
	v := useFakeCertVault(t)
	if code, _, errOut := runCert(t, v, "pending", "merge", "-n", "web", "-f", bad); code != exitError || !strings.Contains(errOut, "certificate 1 cannot be parsed") {
		t.Errorf("exit %d %s", code, errOut)
	}
}

func TestCertFiles(t *testing.T) {
	_, leaf := testChain(t)
	v := useFakeCertVault(t)
	v.route("GET /certificates/web/", 200, `{"id":"`+certID+`","cer":"`+base64.StdEncoding.EncodeToString(leaf)+`"}`)
	v.route("POST /certificates/web/backup", 200, `{"value":"-_8B"}`)
	dir := t.TempDir()
	for _, enc := range []string{"PEM", "der"} {
		file := filepath.Join(dir, "web."+enc)
		if code, out, errOut := runCert(t, v, "download", "-n", "web", "-f", file, "-e", enc); code != 0 || out != "" {
			t.Fatalf("download: exit %d %q %s", code, out, errOut)
		}
		data, _ := os.ReadFile(file)
		if enc == "PEM" {
			block, rest := pem.Decode(data)
			if block == nil || block.Type != "CERTIFICATE" || len(rest) != 0 {
				t.Fatalf("PEM file %q", data)
			}
			data = block.Bytes
		}
		if string(data) != string(leaf) {
			t.Errorf("%s: not the certificate", enc)
		}
	}
	bak := filepath.Join(dir, "web.bak")
	if code, out, errOut := runCert(t, v, "backup", "-n", "web", "-f", bak); code != 0 || out != "" {
		t.Fatalf("backup: exit %d %q %s", code, out, errOut)
	}
	if data, err := os.ReadFile(bak); err != nil || string(data) != "\xfb\xff\x01" {
		t.Errorf("backup file %x %v", data, err)
	}
	// A failed download leaves no file behind.
	file := filepath.Join(dir, "missing.pem")
	v.route("GET /certificates/missing/", 404, `{"error":{"code":"CertificateNotFound","message":"A certificate with (name/id) missing was not found in this key vault."}}`)
	if code, _, errOut := runCert(t, v, "download", "-n", "missing", "-f", file); code != exitError || !strings.Contains(errOut, "CertificateNotFound (404)") {
		t.Errorf("exit %d %s", code, errOut)
	}
	if _, err := os.Stat(file); !os.IsNotExist(err) {
		t.Errorf("a failed download left %s", file)
	}
}

func TestCertContacts(t *testing.T) {
	contacts := `{"id":"` + fakeVaultURL + `/certificates/contacts","contacts":[{"email":"a@example.com","name":"A"},{"email":"b@example.com"}]}`
	tests := []struct {
		name    string
		args    []string
		current string // GET contacts; "" answers 404
		want    []string
		wantErr string
	}{
		{name: "add the first", args: []string{"add", "--email", "a@example.com", "--name", "A", "--phone", "1"},
			want: []string{"GET /certificates/contacts", `PUT /certificates/contacts {"contacts":[{"email":"a@example.com","name":"A","phone":"1"}]}`}},
		{name: "add to the list", args: []string{"add", "--email", "c@example.com"}, current: contacts,
			want: []string{"GET /certificates/contacts", `PUT /certificates/contacts {"contacts":[{"email":"a@example.com","name":"A"},{"email":"b@example.com"},{"email":"c@example.com"}]}`}},
		{name: "add an existing address", args: []string{"add", "--email", "B@example.com"}, current: contacts,
			want: []string{"GET /certificates/contacts"}, wantErr: `contact "B@example.com" already exists`},
		{name: "delete one", args: []string{"delete", "--email", "a@example.com"}, current: contacts,
			want: []string{"GET /certificates/contacts", `PUT /certificates/contacts {"contacts":[{"email":"b@example.com"}]}`}},
		{name: "delete the last", args: []string{"delete", "--email", "b@example.com"}, current: `{"contacts":[{"email":"b@example.com"}]}`,
			want: []string{"GET /certificates/contacts", "DELETE /certificates/contacts"}},
		{name: "delete a stranger", args: []string{"delete", "--email", "z@example.com"}, current: contacts,
			want: []string{"GET /certificates/contacts"}, wantErr: `contact "z@example.com" not found`},
		{name: "delete without contacts", args: []string{"delete", "--email", "z@example.com"},
			want: []string{"GET /certificates/contacts"}, wantErr: "ContactsNotFound (404)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := useFakeCertVault(t)
			v.routes["GET /certificates/contacts"] = func(*http.Request) (int, string) {
				if tt.current == "" {
					return 404, `{"error":{"code":"ContactsNotFound","message":"Contacts not found."}}`
				}
				return 200, tt.current
			}
			v.route("PUT /certificates/contacts", 200, contacts)
			v.route("DELETE /certificates/contacts", 200, contacts)
			code, out, errOut := runCert(t, v, append([]string{"contact"}, tt.args...)...)
			wantRequests(t, v, tt.want...)
			if tt.wantErr != "" {
				if code != exitError || out != "" || !strings.Contains(errOut, tt.wantErr) {
					t.Errorf("exit %d, stdout %q, stderr %q", code, out, errOut)
				}
				return
			}
			if code != 0 || !strings.Contains(out, `"contactList": [`) || !strings.Contains(out, `"emailAddress": "a@example.com"`) {
				t.Errorf("exit %d %s\n%s", code, errOut, out)
			}
		})
	}
}

func TestCertIssuerNeverShowsThePassword(t *testing.T) {
	v := useFakeCertVault(t)
	// Even a server that echoed the password would not get it printed.
	v.route("PUT /certificates/issuers/ca1", 200, `{"id":"`+fakeVaultURL+`/certificates/issuers/ca1","provider":"PrivateCA",
	  "credentials":{"account_id":"root","pwd":"pw-s3cret"},"org_details":{"id":"o1","admin_details":[{"first_name":"A","email":"a@b"}]},
	  "attributes":{"enabled":true,"created":1700000000,"updated":1700000000}}`)
	v.route("GET /certificates/issuers", 200, `{"value":[{"id":"`+fakeVaultURL+`/certificates/issuers/ca1","provider":"PrivateCA"}],"nextLink":null}`)
	code, out, errOut := runCert(t, v, "issuer", "create", "--issuer-name", "ca1", "--provider-name", "PrivateCA", "--password", "pw-s3cret")
	if code != 0 || strings.Contains(out+errOut, "pw-s3cret") || !strings.Contains(out, `"password": null`) ||
		!strings.Contains(out, `"name": "ca1"`) || !strings.Contains(out, `"emailAddress": "a@b"`) {
		t.Errorf("exit %d %s\n%s", code, errOut, out)
	}
	code, out, _ = runCert(t, v, "issuer", "list", "-o", "tsv")
	if code != 0 || out != fakeVaultURL+"/certificates/issuers/ca1\tca1\tPrivateCA\n" {
		t.Errorf("exit %d %q", code, out)
	}
}

func TestCertServerErrorKeepsThePasswordOut(t *testing.T) {
	dir := t.TempDir()
	pfx := filepath.Join(dir, "c.pfx")
	writeTestFile(t, pfx, "\x30\x82")
	v := useFakeCertVault(t)
	v.route("POST /certificates/web/import", 400, `{"error":{"code":"BadParameter","message":"The PFX could not be decoded: wrong password or corrupt data."}}`)
	code, out, errOut := runCert(t, v, "import", "-n", "web", "-f", pfx, "--password", "pw-s3cret")
	if code != exitError || out != "" || errOut != "error: BadParameter (400): The PFX could not be decoded: wrong password or corrupt data.\n" {
		t.Errorf("exit %d, stdout %q, stderr %q", code, out, errOut)
	}
}

func TestCertHelp(t *testing.T) {
	code, out, _ := runCLI(t, "", "certificate", "--help")
	if code != 0 || !strings.Contains(out, "Where keyhaven differs from az") || !strings.Contains(out, "get-default-policy") {
		t.Errorf("exit %d, help:\n%s", code, out)
	}
	code, out, _ = runCLI(t, "", "certificate", "pending", "cancel", "--help")
	if code != 0 || !strings.Contains(out, "az has no such command") || !strings.Contains(out, "certificate id, https://VAULT/certificates/NAME") {
		t.Errorf("exit %d, help:\n%s", code, out)
	}
}
