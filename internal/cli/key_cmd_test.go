package cli

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/keyhaven/keyhaven/pkg/client"
)

// useFakeKeyVault starts a fake vault and points both client factories at
// it.
func useFakeKeyVault(t *testing.T) *fakeVault {
	t.Helper()
	v := useFakeVault(t)
	orig := newKeysClient
	newKeysClient = func(vaultURL string) (*client.KeysClient, error) {
		return client.NewKeysClient(vaultURL, staticCredential{}, &client.ClientOptions{
			HTTPClient: v.srv.Client(), DisableChallengeResourceVerification: true,
		})
	}
	t.Cleanup(func() { newKeysClient = orig })
	return v
}

const (
	fakeVaultURL = "https://myvault.vault.localhost"
	rsaKid       = fakeVaultURL + "/keys/rsa-key/0123456789abcdef0123456789abcdef"
	rsaBundle    = `{"key":{"kid":"` + rsaKid + `","kty":"RSA","key_ops":["sign","verify","wrapKey","unwrapKey"],
	  "n":"0Z_ezvOCmVBOe1HI81TPn-MQMVbnGFs5Q-lNrvJ6YdMIRYI2obiRuALtkNzLlq7SCFF-8j8i3SyCG_jWhqTxTw","e":"AQAB"},
	  "attributes":{"enabled":true,"nbf":1700000000,"exp":1800000000,"created":1700000000,"updated":1700000100,
	    "recoverableDays":90,"recoveryLevel":"Recoverable+Purgeable","exportable":false},
	  "tags":{"env":"dev"}}`
	ecBundle = `{"key":{"kid":"` + fakeVaultURL + `/keys/ec-key/fedcba9876543210fedcba9876543210","kty":"EC","key_ops":["sign","verify"],"crv":"P-256",
	  "x":"FUqiC6y8onRfSx1-FKDV3jIbrCTm5XurDMaMweI9Eos","y":"Cra7Bru4Z--7W_CZVW1EKOq3a-Y4E5eeUfgkYt7B1VU"},
	  "attributes":{"enabled":false,"created":1700000000,"updated":1700000000,"recoverableDays":7,
	    "recoveryLevel":"CustomizedRecoverable+Purgeable","exportable":false,"hsmPlatform":"0"},
	  "managed":true,
	  "release_policy":{"contentType":"application/json; charset=utf-8","immutable":false,"data":"eyJ2ZXJzaW9uIjoiMS4wLjAifQ"}}`
	deletedKeyBundle = `{"key":{"kid":"` + fakeVaultURL + `/keys/old/00000000000000000000000000000001","kty":"oct","key_ops":["wrapKey","unwrapKey"]},
	  "attributes":{"enabled":true,"created":1690000000,"updated":1690000000,"recoverableDays":90,"recoveryLevel":"Recoverable+Purgeable","exportable":false},
	  "recoveryId":"` + fakeVaultURL + `/deletedkeys/old","deletedDate":1700500000,"scheduledPurgeDate":1708276000}`
	policyBody = `{"id":"` + fakeVaultURL + `/keys/rsa-key/rotationpolicy",
	  "lifetimeActions":[{"trigger":{"timeAfterCreate":"P90D"},"action":{"type":"Rotate"}},{"trigger":{"timeBeforeExpiry":"P30D"},"action":{"type":"Notify"}}],
	  "attributes":{"expiryTime":"P2Y","created":1700000000,"updated":1700000200}}`
)

// keyGoldenVault serves keys with fixed ids so that the output does not
// depend on the port.
func keyGoldenVault(t *testing.T) *fakeVault {
	v := useFakeKeyVault(t)
	v.route("GET /keys/rsa-key/", 200, rsaBundle)
	v.route("GET /keys/ec-key/", 200, ecBundle)
	v.routes["GET /keys"] = func(r *http.Request) (int, string) {
		if r.URL.Query().Get("$skiptoken") == "" {
			return 200, fmt.Sprintf(`{"value":[
			  {"kid":"%[1]s/keys/ec-key","managed":true,"attributes":{"enabled":false,"created":1700000000,"updated":1700000000,"recoverableDays":7,"recoveryLevel":"CustomizedRecoverable+Purgeable","exportable":false}},
			  {"kid":"%[1]s/keys/rsa-key","tags":{"env":"dev"},"attributes":{"enabled":true,"nbf":1700000000,"exp":1800000000,"created":1700000000,"updated":1700000100,"recoverableDays":90,"recoveryLevel":"Recoverable+Purgeable","exportable":false}}],
			  "nextLink":"%[2]s/keys?api-version=7.6&$skiptoken=2"}`, fakeVaultURL, v.srv.URL)
		}
		return 200, fmt.Sprintf(`{"value":[{"kid":"%s/keys/wrapper","attributes":{"enabled":true,"created":1690000000,"updated":1690000000,"recoverableDays":90,"recoveryLevel":"Recoverable+Purgeable","exportable":false}}],"nextLink":null}`, fakeVaultURL)
	}
	v.route("GET /keys/rsa-key/versions", 200, `{"value":[
	  {"kid":"`+rsaKid+`","attributes":{"enabled":true,"created":1700000000,"updated":1700000100,"recoverableDays":90,"recoveryLevel":"Recoverable+Purgeable","exportable":false}},
	  {"kid":"`+fakeVaultURL+`/keys/rsa-key/00000000000000000000000000000002","attributes":{"enabled":false,"created":1690000000,"updated":1690000000,"recoverableDays":90,"recoveryLevel":"Recoverable+Purgeable","exportable":false}}],"nextLink":null}`)
	v.route("DELETE /keys/old", 200, deletedKeyBundle)
	v.route("GET /deletedkeys", 200, `{"value":[{"kid":"`+fakeVaultURL+`/keys/old","attributes":{"enabled":true,"created":1690000000,"updated":1690000000,"recoverableDays":90,"recoveryLevel":"Recoverable+Purgeable","exportable":false},
	  "recoveryId":"`+fakeVaultURL+`/deletedkeys/old","deletedDate":1700500000,"scheduledPurgeDate":1708276000}],"nextLink":null}`)
	v.route("POST /keys/rsa-key/sign", 200, `{"kid":"`+rsaKid+`","value":"c2lnbmF0dXJlIGJ5dGVz_-8"}`)
	v.route("POST /keys/rsa-key/0123456789abcdef0123456789abcdef/verify", 200, `{"value":true}`)
	v.route("POST /keys/aes/encrypt", 200, `{"kid":"`+fakeVaultURL+`/keys/aes/0123","value":"Y2lwaGVy","iv":"AAECAwQFBgcICQoL","tag":"DxAREhMUFRYXGBkaGxwdHh8","aad":"qrs"}`)
	v.route("POST /keys/aes/decrypt", 200, `{"kid":"`+fakeVaultURL+`/keys/aes/0123","value":"cGxhaW4gdGV4dA"}`)
	v.route("POST /keys/aes/unwrapkey", 200, `{"kid":"`+fakeVaultURL+`/keys/aes/0123","value":"AAEC"}`)
	v.route("POST /rng", 200, `{"value":"AAECAwQFBgcICQoLDA0ODw"}`)
	v.route("GET /keys/rsa-key/rotationpolicy", 200, policyBody)
	return v
}

func TestKeyOutputGolden(t *testing.T) {
	tests := []struct {
		golden string
		args   []string
	}{
		{"key_show.json", []string{"show", "-n", "rsa-key"}},
		{"key_show_managed.json", []string{"show", "-n", "ec-key"}},
		{"key_show.tsv", []string{"show", "-n", "rsa-key", "-o", "tsv"}},
		{"key_show_query_key.tsv", []string{"show", "-n", "rsa-key", "--query", "[key.kty, key.e, attributes.expires]", "-o", "tsv"}},
		{"key_list.json", []string{"list"}},
		{"key_list.table", []string{"list", "-o", "table"}},
		{"key_list_include_managed.table", []string{"list", "--include-managed", "-o", "table"}},
		{"key_list_maxresults.json", []string{"list", "--maxresults", "1", "--query", "[].name"}},
		{"key_list_versions.table", []string{"list-versions", "-n", "rsa-key", "-o", "table", "--query", "[].{kid: kid, enabled: attributes.enabled}"}},
		{"key_delete.json", []string{"delete", "-n", "old"}},
		{"key_list_deleted.json", []string{"list-deleted"}},
		{"key_list_deleted.table", []string{"list-deleted", "-o", "table"}},
		{"key_sign.json", []string{"sign", "-n", "rsa-key", "-a", "rs256", "--digest", "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="}},
		{"key_verify.json", []string{"verify", "-n", "rsa-key", "-v", "0123456789abcdef0123456789abcdef", "-a", "RS256",
			"--digest", "47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU", "--signature", "c2ln"}},
		{"key_encrypt.json", []string{"encrypt", "-n", "aes", "-a", "A256GCM", "--value", "plain text", "--data-type", "plaintext", "--aad", "aabb"}},
		{"key_decrypt.json", []string{"decrypt", "-n", "aes", "-a", "A256GCM", "--value", "Y2lwaGVy", "--iv", "000102030405060708090a0b", "--tag", "0f101112131415161718191a1b1c1d1e1f"}},
		{"key_decrypt_plaintext.tsv", []string{"decrypt", "-n", "aes", "-a", "A256GCM", "--value", "Y2lwaGVy", "--data-type", "plaintext", "--query", "result", "-o", "tsv"}},
		{"key_unwrap.json", []string{"unwrap", "-n", "aes", "-a", "A256KW", "--value", "AAEC"}},
		{"key_random.json", []string{"random", "--count", "16"}},
		{"key_rotation_policy.json", []string{"rotation-policy", "show", "-n", "rsa-key"}},
		{"key_rotation_policy.table", []string{"rotation-policy", "show", "-n", "rsa-key", "--query", "lifetimeActions", "-o", "table"}},
	}
	for _, tt := range tests {
		t.Run(tt.golden, func(t *testing.T) {
			v := keyGoldenVault(t)
			args := append([]string{"key"}, tt.args...)
			args = append(args, "--vault-url", v.srv.URL)
			code, out, errOut := runCLI(t, "", args...)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, errOut)
			}
			// Ids built from the vault URL (verify's keyId) name the test
			// server's port.
			checkGolden(t, tt.golden, strings.ReplaceAll(out, v.srv.URL, fakeVaultURL))
		})
	}
}

func TestKeyUsageErrors(t *testing.T) {
	t.Setenv(envVaultURL, "")
	u := []string{"--vault-url", "https://v"}
	tests := []struct {
		name    string
		args    []string
		wantErr string
	}{
		{"create without --name", []string{"create"}, "--name is required"},
		{"create with --id", []string{"create", "--id", "https://v/keys/a"}, "unknown flag: --id"},
		{"unknown --kty", []string{"create", "-n", "a", "--kty", "DSA"}, `invalid --kty "DSA"`},
		{"unknown --curve", []string{"create", "-n", "a", "--curve", "P-224"}, `invalid --curve "P-224"`},
		{"unknown --ops", []string{"create", "-n", "a", "--ops", "sign", "frob"}, `invalid --ops "frob"`},
		{"HSM type with software protection", []string{"create", "-n", "a", "--kty", "RSA-HSM", "--protection", "software"}, "omit --protection"},
		{"unknown --protection", []string{"create", "-n", "a", "--protection", "tpm"}, "invalid --protection"},
		{"negative --size", []string{"create", "-n", "a", "--size", "-1"}, "--size must be positive"},
		{"--enabled and --disabled", []string{"create", "-n", "a", "--enabled", "true", "--disabled", "true"}, "mutually exclusive"},
		{"bad --expires", []string{"create", "-n", "a", "--expires", "soon"}, "ISO-8601"},
		{"tag without a name", []string{"create", "-n", "a", "--tags", "=v"}, `invalid --tags value "=v"`},
		{"import without PEM", []string{"import", "-n", "a"}, "one of --pem-file or --pem-string is required"},
		{"import with both", []string{"import", "-n", "a", "--pem-file", "f", "--pem-string", "s"}, "mutually exclusive"},
		{"set-attributes has no --disabled", []string{"set-attributes", "-n", "a", "--disabled", "true"}, "unknown flag: --disabled"},
		{"show without --name", []string{"show"}, "--name (or --id) is required"},
		{"--id with --name", []string{"show", "--id", "https://v/keys/a", "-n", "a"}, "--id cannot be combined"},
		{"secret id", []string{"show", "--id", "https://v/secrets/a"}, "--id: invalid key id"},
		{"bad key name", []string{"show", "-n", "a_b"}, "invalid name"},
		{"bad version", []string{"show", "-n", "a", "--version", "../x"}, "invalid version"},
		{"list with --name", []string{"list", "-n", "a"}, "unknown shorthand flag"},
		{"maxresults", []string{"list-deleted", "--maxresults", "0"}, "between 1 and 25"},
		{"backup without --file", []string{"backup", "-n", "a"}, "--file is required"},
		{"restore without --file", []string{"restore"}, "--file is required"},
		{"download without --file", []string{"download", "-n", "a"}, "--file is required"},
		{"download encoding", []string{"download", "-n", "a", "-f", "x", "-e", "JWK"}, "invalid --encoding"},
		{"sign without --algorithm", []string{"sign", "-n", "a", "--digest", "AAAA"}, "--algorithm is required"},
		{"sign with an encryption algorithm", []string{"sign", "-n", "a", "-a", "RSA-OAEP", "--digest", "AAAA"}, `invalid --algorithm "RSA-OAEP"`},
		{"sign without --digest", []string{"sign", "-n", "a", "-a", "ES256"}, "--digest is required"},
		{"digest not base64", []string{"sign", "-n", "a", "-a", "ES256", "--digest", "!!"}, "--digest is not base64"},
		{"verify without --signature", []string{"verify", "-n", "a", "-a", "ES256", "--digest", "AAAA"}, "--signature is required"},
		{"encrypt with a signature algorithm", []string{"encrypt", "-n", "a", "-a", "RS256", "--value", "AA"}, `invalid --algorithm "RS256"`},
		{"encrypt without --value", []string{"encrypt", "-n", "a", "-a", "RSA-OAEP", "--data-type", "plaintext"}, "--value is required"},
		{"encrypt text without --data-type", []string{"encrypt", "-n", "a", "-a", "RSA-OAEP", "--value", "plain text"}, "--value is not base64"},
		{"unknown --data-type", []string{"encrypt", "-n", "a", "-a", "RSA-OAEP", "--value", "AA", "--data-type", "hex"}, "invalid --data-type"},
		{"iv not hex", []string{"decrypt", "-n", "a", "-a", "A128CBC", "--value", "AA", "--iv", "AAAA=="}, "--iv is not hex"},
		{"decrypt has no --data-type hex", []string{"decrypt", "-n", "a", "-a", "A128GCM", "--value", "AA", "--tag", "0g"}, "--tag is not hex"},
		{"wrap has no --iv", []string{"wrap", "-n", "a", "-a", "A256KW", "--value", "AA", "--iv", "00"}, "unknown flag: --iv"},
		{"unwrap without --value", []string{"unwrap", "-n", "a", "-a", "A256KW"}, "--value is required"},
		{"random without --count", []string{"random"}, "--count is required"},
		{"random --count 0", []string{"random", "--count", "0"}, "between 1 and 128"},
		{"random --count 129", []string{"random", "--count", "129"}, "between 1 and 128"},
		{"policy without --value", []string{"rotation-policy", "update", "-n", "a"}, "--value is required"},
		{"policy not JSON", []string{"rotation-policy", "update", "-n", "a", "--value", "rotate often"}, "neither a JSON object nor an existing file"},
		{"policy typo", []string{"rotation-policy", "update", "-n", "a", "--value", `{"lifetimeAction":[]}`}, `unknown member "lifetimeAction"`},
		{"policy bad action", []string{"rotation-policy", "update", "-n", "a", "--value", `{"lifetimeActions":[{"action":"Expire"}]}`}, `invalid action type "Expire"`},
		{"policy bad trigger", []string{"rotation-policy", "update", "-n", "a", "--value", `{"lifetimeActions":[{"trigger":{"timeAfterCreate":30},"action":"Rotate"}]}`}, "must be a string"},
		{"policy trailing text", []string{"rotation-policy", "update", "-n", "a", "--value", `{} {}`}, "text after the JSON object"},
		{"unknown subcommand", []string{"frobnicate"}, `unknown command "frobnicate" for "keyhaven key"`},
		{"unknown policy subcommand", []string{"rotation-policy", "delete"}, `unknown command "delete"`},
		{"positional argument", []string{"show", "-n", "a", "extra"}, "1 unexpected argument(s)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := useFakeKeyVault(t)
			args := append([]string{"key"}, tt.args...)
			if !strings.Contains(strings.Join(tt.args, " "), "--id") && !strings.HasSuffix(tt.name, "subcommand") {
				args = append(args, u...)
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

// TestKeyLocalFailures covers errors that are not usage errors but must
// still stop before any request.
func TestKeyLocalFailures(t *testing.T) {
	dir := t.TempDir()
	existing := filepath.Join(dir, "exists")
	empty := filepath.Join(dir, "empty")
	for _, f := range []string{existing, empty} {
		if err := os.WriteFile(f, []byte(map[string]string{existing: "x"}[f]), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name    string
		args    []string
		wantErr string
	}{
		{"backup over a file", []string{"backup", "-n", "a", "-f", existing}, "already exists"},
		{"download over a file", []string{"download", "-n", "a", "-f", existing}, "already exists"},
		{"restore from a missing file", []string{"restore", "-f", filepath.Join(dir, "missing")}, "no such file"},
		{"restore from an empty file", []string{"restore", "-f", empty}, "is empty"},
		{"import a missing file", []string{"import", "-n", "a", "--pem-file", filepath.Join(dir, "missing")}, "no such file"},
		{"import a non-key", []string{"import", "-n", "a", "--pem-file", existing}, "no PEM private key"},
		{"policy from a missing file", []string{"rotation-policy", "update", "-n", "a", "--value", "@" + filepath.Join(dir, "missing")}, "no such file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := useFakeKeyVault(t)
			code, out, errOut := runCLI(t, "", append(append([]string{"key"}, tt.args...), "--vault-url", v.srv.URL)...)
			if code != exitError || !strings.Contains(errOut, tt.wantErr) || out != "" || len(v.requests()) != 0 {
				t.Errorf("exit %d, stdout %q, stderr %q, %d requests; want 1 and %q", code, out, errOut, len(v.requests()), tt.wantErr)
			}
		})
	}
}

func TestKeyRequests(t *testing.T) {
	dir := t.TempDir()
	policyFile := filepath.Join(dir, "policy.json")
	if err := os.WriteFile(policyFile, []byte(`{"lifetimeActions":[{"trigger":{"timeBeforeExpiry":"P30D"},"action":{"type":"notify"}}]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	restoreFile := filepath.Join(dir, "key.bak")
	if err := os.WriteFile(restoreFile, []byte{0xfb, 0xff, 0x01}, 0o600); err != nil {
		t.Fatal(err)
	}
	const ver = "0123456789abcdef0123456789abcdef"
	tests := []struct {
		name      string
		args      []string
		route     string
		wantQuery string
		wantBody  string
	}{
		{name: "create RSA by default", args: []string{"create", "-n", "a"}, route: "POST /keys/a/create", wantBody: `{"kty":"RSA"}`},
		{name: "create EC from --curve, space-separated ops and tags",
			args:  []string{"create", "-n", "a", "--curve", "p-256k", "--ops", "sign", "Verify", "--tags", "a=1", "b=2", "--disabled", "true"},
			route: "POST /keys/a/create", wantBody: `{"kty":"EC","crv":"P-256K","key_ops":["sign","verify"],"attributes":{"enabled":false},"tags":{"a":"1","b":"2"}}`},
		{name: "create oct with comma-separated ops and dates",
			args:  []string{"create", "-n", "a", "--kty", "OCT", "--size", "256", "--ops", "wrapKey,unwrapKey", "--expires", "2030-01-01T00:00:00Z", "--not-before", "2029-01-01"},
			route: "POST /keys/a/create", wantBody: `{"kty":"oct","key_size":256,"key_ops":["wrapKey","unwrapKey"],"attributes":{"nbf":1861920000,"exp":1893456000}}`},
		{name: "create with hsm protection", args: []string{"create", "-n", "a", "--kty", "EC", "--protection", "hsm"},
			route: "POST /keys/a/create", wantBody: `{"kty":"EC-HSM"}`},
		{name: "create HSM type", args: []string{"create", "-n", "a", "--kty", "rsa-hsm", "--protection", "HSM", "--size", "3072"},
			route: "POST /keys/a/create", wantBody: `{"kty":"RSA-HSM","key_size":3072}`},
		{name: "show by id", args: []string{"show", "--id", "VAULT/keys/a/" + ver}, route: "GET /keys/a/" + ver},
		{name: "show the latest", args: []string{"show", "-n", "a"}, route: "GET /keys/a/"},
		{name: "set-attributes clears tags", args: []string{"set-attributes", "-n", "a", "--version", ver, "--tags", "", "--enabled", "false", "--ops", "verify"},
			route: "PATCH /keys/a/" + ver, wantBody: `{"key_ops":["verify"],"attributes":{"enabled":false},"tags":{}}`},
		{name: "set-attributes with an empty --tags list", args: []string{"set-attributes", "-n", "a", "--tags", "--expires", "2030-01-01"},
			route: "PATCH /keys/a/", wantBody: `{"attributes":{"exp":1893456000},"tags":{}}`},
		{name: "delete by id ignores the version", args: []string{"delete", "--id", "VAULT/keys/a/" + ver}, route: "DELETE /keys/a"},
		{name: "purge by recovery id", args: []string{"purge", "--id", "VAULT/deletedkeys/a"}, route: "DELETE /deletedkeys/a"},
		{name: "recover", args: []string{"recover", "-n", "a"}, route: "POST /deletedkeys/a/recover"},
		{name: "show-deleted", args: []string{"show-deleted", "-n", "a"}, route: "GET /deletedkeys/a"},
		{name: "rotate", args: []string{"rotate", "-n", "a"}, route: "POST /keys/a/rotate"},
		{name: "restore", args: []string{"restore", "-f", restoreFile}, route: "POST /keys/restore", wantBody: `{"value":"-_8B"}`},
		{name: "list-versions by id with page size", args: []string{"list-versions", "--id", "VAULT/keys/a", "--maxresults", "5"},
			route: "GET /keys/a/versions", wantQuery: "api-version=7.6&maxresults=5"},
		{name: "encrypt base64 by default", args: []string{"encrypt", "-n", "a", "-a", "rsa-oaep-256", "--value", "cGxhaW4gdGV4dA=="},
			route: "POST /keys/a/encrypt", wantBody: `{"alg":"RSA-OAEP-256","value":"cGxhaW4gdGV4dA"}`},
		{name: "encrypt plaintext with hex iv and aad", args: []string{"encrypt", "-n", "a", "-v", ver, "-a", "A128CBCPAD", "--value", "plain text", "--data-type", "plaintext", "--iv", "000102030405060708090A0B0C0D0E0F"},
			route: "POST /keys/a/" + ver + "/encrypt", wantBody: `{"alg":"A128CBCPAD","value":"cGxhaW4gdGV4dA","iv":"AAECAwQFBgcICQoLDA0ODw"}`},
		{name: "encrypt empty plaintext", args: []string{"encrypt", "-n", "a", "-a", "A256GCM", "--value", "", "--data-type", "plaintext"},
			route: "POST /keys/a/encrypt", wantBody: `{"alg":"A256GCM","value":""}`},
		{name: "decrypt with hex iv, tag and aad", args: []string{"decrypt", "-n", "a", "-a", "A256GCM", "--value", "-_8", "--iv", "0a0b", "--tag", "0c", "--aad", "0d"},
			route: "POST /keys/a/decrypt", wantBody: `{"alg":"A256GCM","value":"-_8","iv":"Cgs","aad":"DQ","tag":"DA"}`},
		{name: "wrap", args: []string{"wrap", "-n", "a", "-a", "ckm_aes_key_wrap_pad", "--value", "AAECAw=="},
			route: "POST /keys/a/wrapkey", wantBody: `{"alg":"CKM_AES_KEY_WRAP_PAD","value":"AAECAw"}`},
		{name: "unwrap", args: []string{"unwrap", "-n", "a", "-a", "RSA1_5", "--value", "AAECAw"},
			route: "POST /keys/a/unwrapkey", wantBody: `{"alg":"RSA1_5","value":"AAECAw"}`},
		{name: "sign", args: []string{"sign", "-n", "a", "-a", "es256k", "--digest", "+/8="},
			route: "POST /keys/a/sign", wantBody: `{"alg":"ES256K","value":"-_8"}`},
		{name: "verify", args: []string{"verify", "--id", "VAULT/keys/a/" + ver, "-a", "PS256", "--digest", "AQ", "--signature", "Ag=="},
			route: "POST /keys/a/" + ver + "/verify", wantBody: `{"alg":"PS256","digest":"AQ","value":"Ag"}`},
		{name: "random", args: []string{"random", "--count", "128"}, route: "POST /rng", wantBody: `{"count":128}`},
		{name: "rotation-policy show by id", args: []string{"rotation-policy", "show", "--id", "VAULT/keys/a/" + ver}, route: "GET /keys/a/rotationpolicy"},
		{name: "rotation-policy from @file", args: []string{"rotation-policy", "update", "-n", "a", "--value", "@" + policyFile},
			route:    "PUT /keys/a/rotationpolicy",
			wantBody: `{"lifetimeActions":[{"trigger":{"timeBeforeExpiry":"P30D"},"action":{"type":"Notify"}}],"attributes":{}}`},
		{name: "rotation-policy from a file name", args: []string{"rotation-policy", "update", "-n", "a", "--value", policyFile},
			route:    "PUT /keys/a/rotationpolicy",
			wantBody: `{"lifetimeActions":[{"trigger":{"timeBeforeExpiry":"P30D"},"action":{"type":"Notify"}}],"attributes":{}}`},
		{name: "rotation-policy in snake_case", args: []string{"rotation-policy", "update", "-n", "a", "--value",
			`{"lifetime_actions":[{"action":"Rotate","time_after_create":"P90D"}],"attributes":{"expiry_time":"P1Y"}}`},
			route:    "PUT /keys/a/rotationpolicy",
			wantBody: `{"lifetimeActions":[{"trigger":{"timeAfterCreate":"P90D"},"action":{"type":"Rotate"}}],"attributes":{"expiryTime":"P1Y"}}`},
		{name: "rotation-policy as show prints it", args: []string{"rotation-policy", "update", "-n", "a", "--value",
			`{"createdOn":"2023-11-14T22:13:20+00:00","expiresIn":"P2Y","id":"x","lifetimeActions":[{"action":"Rotate","timeAfterCreate":"P90D","timeBeforeExpiry":null}],"updatedOn":null}`},
			route:    "PUT /keys/a/rotationpolicy",
			wantBody: `{"lifetimeActions":[{"trigger":{"timeAfterCreate":"P90D"},"action":{"type":"Rotate"}}],"attributes":{"expiryTime":"P2Y"}}`},
		{name: "empty rotation-policy", args: []string{"rotation-policy", "update", "-n", "a", "--value", `{}`},
			route: "PUT /keys/a/rotationpolicy", wantBody: `{"lifetimeActions":[],"attributes":{}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := useFakeKeyVault(t)
			body := rsaBundle
			switch {
			case strings.Contains(tt.route, "rotationpolicy"):
				body = policyBody
			case strings.Contains(tt.route, "versions"):
				body = `{"value":[],"nextLink":null}`
			case strings.Contains(tt.route, "verify"):
				body = `{"value":false}`
			case strings.Contains(tt.route, "rng"):
				body = `{"value":"AA"}`
			case strings.HasSuffix(tt.route, "crypt") || strings.HasSuffix(tt.route, "key") || strings.HasSuffix(tt.route, "sign"):
				body = `{"kid":"` + rsaKid + `","value":"cGxhaW4gdGV4dA"}`
			}
			v.route(tt.route, 200, body)
			args := []string{"key"}
			for _, a := range tt.args {
				args = append(args, strings.Replace(a, "VAULT", v.srv.URL, 1))
			}
			if !strings.Contains(strings.Join(args, " "), "--id") {
				args = append(args, "--vault-url", v.srv.URL)
			}
			code, _, errOut := runCLI(t, "", args...)
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

func TestKeyImportSendsTheJWK(t *testing.T) {
	key, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, _ := x509.MarshalPKCS8PrivateKey(key)
	file := filepath.Join(t.TempDir(), "key.pem")
	if err := os.WriteFile(file, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	v := useFakeKeyVault(t)
	v.route("PUT /keys/imported", 200, ecBundle)
	code, _, errOut := runCLI(t, "", "key", "import", "-n", "imported", "--pem-file", file, "--ops", "sign", "--protection", "software",
		"--tags", "src=pem", "--vault-url", v.srv.URL, "-o", "none")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var got client.KeyImportParameters
	if err := json.Unmarshal([]byte(v.requests()[0].Body), &got); err != nil {
		t.Fatal(err)
	}
	d, _ := key.Bytes()
	if got.Key.Kty != "EC" || got.Key.Crv != "P-384" || string(got.Key.D) != string(d) || len(got.Key.X) != 48 ||
		!reflect.DeepEqual(got.Key.KeyOps, []string{"sign"}) || got.HSM == nil || *got.HSM || got.Tags["src"] != "pem" {
		t.Errorf("import body %s", v.requests()[0].Body)
	}
	// --pem-string takes the PEM text itself.
	v2 := useFakeKeyVault(t)
	v2.route("PUT /keys/imported", 200, ecBundle)
	pemText, _ := os.ReadFile(file)
	if code, _, errOut := runCLI(t, "", "key", "import", "-n", "imported", "--pem-string", string(pemText), "--vault-url", v2.srv.URL, "-o", "none"); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if !strings.Contains(v2.requests()[0].Body, `"crv":"P-384"`) || strings.Contains(v2.requests()[0].Body, "Hsm") {
		t.Errorf("import body %s", v2.requests()[0].Body)
	}
}

func TestKeyFiles(t *testing.T) {
	v := keyGoldenVault(t)
	v.route("POST /keys/rsa-key/backup", 200, `{"value":"-_8B"}`)
	dir := t.TempDir()
	bak := filepath.Join(dir, "rsa.bak")
	if code, out, errOut := runCLI(t, "", "key", "backup", "-n", "rsa-key", "-f", bak, "--vault-url", v.srv.URL); code != 0 || out != "" {
		t.Fatalf("backup: exit %d, %q %s", code, out, errOut)
	}
	if data, err := os.ReadFile(bak); err != nil || string(data) != "\xfb\xff\x01" {
		t.Errorf("backup file %x %v", data, err)
	}
	if fi, err := os.Stat(bak); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("backup file mode %v %v", fi.Mode(), err)
	}
	// The downloaded public key is the JWK's, in PEM and DER.
	var b client.KeyBundle
	if err := json.Unmarshal([]byte(ecBundle), &b); err != nil {
		t.Fatal(err)
	}
	want, err := publicKeyDER(b.Key)
	if err != nil {
		t.Fatal(err)
	}
	for _, enc := range []string{"PEM", "der"} {
		file := filepath.Join(dir, "ec."+enc)
		if code, _, errOut := runCLI(t, "", "key", "download", "-n", "ec-key", "-f", file, "-e", enc, "--vault-url", v.srv.URL); code != 0 {
			t.Fatalf("download: exit %d %s", code, errOut)
		}
		data, _ := os.ReadFile(file)
		if enc == "PEM" {
			block, rest := pem.Decode(data)
			if block == nil || block.Type != "PUBLIC KEY" || len(rest) != 0 {
				t.Fatalf("PEM file %q", data)
			}
			data = block.Bytes
		}
		pub, err := x509.ParsePKIXPublicKey(data)
		if _, ok := pub.(*ecdsa.PublicKey); err != nil || !ok || string(data) != string(want) {
			t.Errorf("%s: %T %v", enc, pub, err)
		}
	}
	// Failed downloads leave no file behind.
	v.route("GET /keys/missing/", 404, `{"error":{"code":"KeyNotFound","message":"A key with (name/id) missing was not found in this key vault."}}`)
	file := filepath.Join(dir, "missing.pem")
	if code, _, errOut := runCLI(t, "", "key", "download", "-n", "missing", "-f", file, "--vault-url", v.srv.URL); code != exitError || !strings.Contains(errOut, "KeyNotFound (404)") {
		t.Errorf("exit %d %s", code, errOut)
	}
	if _, err := os.Stat(file); !os.IsNotExist(err) {
		t.Errorf("a failed download left %s", file)
	}
}

func TestKeyServerErrorExitsOne(t *testing.T) {
	v := useFakeKeyVault(t)
	v.route("POST /keys/h/create", 400, `{"error":{"code":"BadParameter","message":"Key type RSA-HSM needs a hardware security module."}}`)
	code, out, errOut := runCLI(t, "", "key", "create", "-n", "h", "--protection", "hsm", "--vault-url", v.srv.URL)
	if code != exitError || out != "" || errOut != "error: BadParameter (400): Key type RSA-HSM needs a hardware security module.\n" {
		t.Errorf("exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	v.route("POST /keys/k/decrypt", 200, `{"kid":"`+rsaKid+`","value":"__8"}`)
	code, out, errOut = runCLI(t, "", "key", "decrypt", "-n", "k", "-a", "RSA-OAEP", "--value", "AA", "--data-type", "plaintext", "--vault-url", v.srv.URL)
	if code != exitError || out != "" || !strings.Contains(errOut, "not UTF-8 text; use --data-type base64") {
		t.Errorf("exit %d, stdout %q, stderr %q", code, out, errOut)
	}
}

func TestKeyHelp(t *testing.T) {
	code, out, _ := runCLI(t, "", "key", "--help")
	if code != 0 || !strings.Contains(out, "Where keyhaven differs from az") || !strings.Contains(out, "rotation-policy") {
		t.Errorf("exit %d, help:\n%s", code, out)
	}
	code, out, _ = runCLI(t, "", "key", "encrypt", "--help")
	if code != 0 || !strings.Contains(out, `--data-type string`) || !strings.Contains(out, `(default "base64")`) || !strings.Contains(out, "key id, https://VAULT/keys/NAME") {
		t.Errorf("exit %d, help:\n%s", code, out)
	}
}
