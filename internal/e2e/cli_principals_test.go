package e2e

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
)

// keyhaven app and keyhaven role, run as an administrator would against a
// real dev server: an application is created, granted a role, used by the
// CLI with its own secret and by the Azure SDK with a certificate, loses a
// secret, its role and finally itself.
func TestCLIPrincipals(t *testing.T) {
	cliForEachTenant(t, func(t *testing.T, c *cliEnv) {
		value := c.newValue("principal")
		c.ok(t, "secret", "set", "-n", "cli-principal", "--value", value, "-o", "none")

		app := cliObject(t, c.ok(t, "app", "create", "--display-name", "cli-billing"))
		appID, objectID, first := app["appId"].(string), app["objectId"].(string), app["password"].(string)
		if appID == "" || objectID == "" || first == "" || app["tenant"] != c.srv.Info.TenantID {
			t.Fatalf("create: %v", app)
		}
		asApp := func(secret string, args ...string) cliResult {
			return c.call(t, cliCall{args: args, env: map[string]string{"AZURE_CLIENT_ID": appID, "AZURE_CLIENT_SECRET": secret}})
		}
		// No role yet: the vault refuses, and the app may not manage anything.
		cliWantFailure(t, asApp(first, "secret", "show", "-n", "cli-principal"), 1, "Forbidden")
		cliWantFailure(t, asApp(first, "app", "list"), 1, "AuthorizationFailed (403)")

		a := cliObject(t, c.ok(t, "role", "assignment", "create", "--assignee", objectID, "--role", "Key Vault Secrets User", "--scope", "/vaults/dev"))
		if a["roleDefinitionName"] != "Key Vault Secrets User" || a["principalId"] != objectID || a["scope"] != "/vaults/dev" {
			t.Fatalf("assignment: %v", a)
		}
		listed := cliArray(t, c.ok(t, "role", "assignment", "list", "--assignee", objectID))
		if len(listed) != 1 || listed[0]["id"] != a["id"] {
			t.Fatalf("assignment list: %v", listed)
		}
		got := strings.TrimSpace(asApp(first, "secret", "show", "-n", "cli-principal", "--query", "value", "-o", "tsv").stdout)
		if got != value {
			t.Fatalf("the application read %q, want %q", got, value)
		}

		// A certificate credential, from a file that also holds the key.
		key, cert := cliCertFile(t, filepath.Join(c.dir, "billing.pem"))
		cc := cliObject(t, c.ok(t, "app", "credential", "add", "--id", appID, "--cert", filepath.Join(c.dir, "billing.pem")))
		if cc["type"] != "certificate" || len(cc["thumbprint"].(string)) != 40 || cc["password"] != nil {
			t.Fatalf("certificate credential: %v", cc)
		}
		cred, err := azidentity.NewClientCertificateCredential(c.srv.Info.TenantID, appID, []*x509.Certificate{cert}, key,
			&azidentity.ClientCertificateCredentialOptions{ClientOptions: clientOptions(c.srv), DisableInstanceDiscovery: true})
		if err != nil {
			t.Fatal(err)
		}
		if s, err := secretsClient(t, c.srv, cred).GetSecret(context.Background(), "cli-principal", "", nil); err != nil || *s.Value != value {
			t.Fatalf("the Azure SDK with the certificate credential: %v", err)
		}

		// A second secret, then the first one removed.
		added := cliObject(t, c.ok(t, "app", "credential", "add", "--id", appID, "--years", "2"))
		second := added["password"].(string)
		var firstID string
		creds := cliArray(t, c.ok(t, "app", "credential", "list", "--id", appID))
		for _, cr := range creds {
			if cr["type"] == "secret" && cr["keyId"] != added["keyId"] {
				firstID = cr["keyId"].(string)
			}
		}
		if len(creds) != 3 || firstID == "" {
			t.Fatalf("credentials: %v", creds)
		}
		shown := c.ok(t, "app", "show", "--id", appID)
		if strings.Contains(shown.stdout, first) || strings.Contains(shown.stdout, second) {
			t.Fatalf("app show prints a secret:\n%s", shown)
		}
		c.ok(t, "app", "credential", "remove", "--id", appID, "--credential-id", firstID)
		if code := tokenStatus(t, c.srv, appID, first); code != 401 {
			t.Fatalf("the removed secret still gets a token: %d", code)
		}
		cliWantFailure(t, asApp(first, "secret", "show", "-n", "cli-principal"), 1, "invalid_client")
		if got := strings.TrimSpace(asApp(second, "secret", "show", "-n", "cli-principal", "--query", "value", "-o", "tsv").stdout); got != value {
			t.Fatalf("the second secret read %q", got)
		}

		// Bad input: clear errors, non-zero exits, nothing changed.
		c.fails(t, 2, []string{"--id is required"}, "app", "show")
		c.fails(t, 2, []string{"--id is required"}, "app", "credential", "add", "--years", "1")
		c.fails(t, 1, []string{"BadParameter (400)", "No such role definition"},
			"role", "assignment", "create", "--assignee", objectID, "--role", "Emperor", "--scope", "/vaults/dev")
		c.fails(t, 1, []string{"BadParameter (400)", "scope must be /, /vaults/{vault}"},
			"role", "assignment", "create", "--assignee", objectID, "--role", "Key Vault Secrets User", "--scope", "/vaults/dev/../x")
		c.fails(t, 1, []string{"NotFound (404)"}, "role", "assignment", "delete", "--ids", "00000000-0000-4000-8000-000000000000")

		// The assignment goes: the application can no longer read.
		c.ok(t, "role", "assignment", "delete", "--ids", a["id"].(string))
		cliWantFailure(t, asApp(second, "secret", "show", "-n", "cli-principal"), 1, "Forbidden")
		if n := len(cliArray(t, c.ok(t, "role", "assignment", "list", "--assignee", objectID))); n != 0 {
			t.Fatalf("%d assignments left", n)
		}

		// The application goes.
		c.ok(t, "app", "delete", "--id", appID)
		c.fails(t, 1, []string{"NotFound (404)"}, "app", "show", "--id", appID)
		if code := tokenStatus(t, c.srv, appID, second); code != 401 {
			t.Fatalf("a deleted application still gets a token: %d", code)
		}
		for _, x := range cliArray(t, c.ok(t, "app", "list")) {
			if x["appId"] == appID {
				t.Fatal("app list shows the deleted application")
			}
		}
		defs := cliArray(t, c.ok(t, "role", "definition", "list", "--name", "Owner"))
		if len(defs) != 1 || defs[0]["roleName"] != "Owner" {
			t.Fatalf("definitions: %v", defs)
		}
	})
}

// cliCertFile writes an RSA key and a self-signed certificate to one PEM
// file at path.
func cliCertFile(t *testing.T, path string) (*rsa.PrivateKey, *x509.Certificate) {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(11), Subject: pkix.Name{CommonName: "cli-billing"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	writeFile(t, path, []byte(pemBlock("RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(key))+pemBlock("CERTIFICATE", der)))
	return key, cert
}
