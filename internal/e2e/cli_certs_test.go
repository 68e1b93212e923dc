package e2e

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	pkcs12 "software.sslmate.com/src/go-pkcs12"
)

// keyhaven certificate, run as a user would, against a real server: create
// with the default policy and with a policy file, show, list, download
// checked with openssl, set-attributes, backup/delete/purge/restore.
func TestCLICertificates(t *testing.T) {
	cliForEachTenant(t, func(t *testing.T, c *cliEnv) {
		created := cliObject(t, c.ok(t, "certificate", "create", "-n", "cli-default", "--tags", "env=test"))
		pol, _ := created["policy"].(map[string]any)
		x509Props, _ := pol["x509CertificateProperties"].(map[string]any)
		if created["name"] != "cli-default" || x509Props["subject"] != "CN=CLIGetDefaultPolicy" || cliTags(created["tags"])["env"] != "test" {
			t.Fatalf("create: %v", created)
		}
		thumb := created["x509ThumbprintHex"].(string)

		// A policy file in the form az prints, EC instead of RSA.
		policyFile := filepath.Join(c.dir, "policy.json")
		writeFile(t, policyFile, []byte(`{"issuerParameters":{"name":"Self"},"keyProperties":{"keyType":"EC","curve":"P-256","exportable":true},
		  "secretProperties":{"contentType":"application/x-pem-file"},
		  "x509CertificateProperties":{"subject":"CN=cli.example","subjectAlternativeNames":{"dnsNames":["cli.example"]},"validityInMonths":6}}`))
		c.ok(t, "certificate", "create", "-n", "cli-ec", "--policy", "@"+policyFile, "-o", "none")
		rep := c.get(t, "/certificates/cli-ec/policy")
		if kp, _ := rep.body["key_props"].(map[string]any); rep.status != 200 || kp["kty"] != "EC" || kp["crv"] != "P-256" {
			t.Fatalf("server: policy %d %s", rep.status, rep.text)
		}

		names := strings.Fields(c.ok(t, "certificate", "list", "--query", "[].name", "-o", "tsv").stdout)
		if strings.Join(names, " ") != "cli-default cli-ec" {
			t.Fatalf("list: %v", names)
		}
		if got := strings.TrimSpace(c.ok(t, "certificate", "show", "-n", "cli-default", "--query", "x509ThumbprintHex", "-o", "tsv").stdout); got != thumb {
			t.Fatalf("show: thumbprint %s, want %s", got, thumb)
		}
		cliCertDownloads(t, c, "cli-ec", "cli.example")

		c.ok(t, "certificate", "set-attributes", "-n", "cli-ec", "--enabled", "false", "--tags", "k=v", "-o", "none")
		if rep := c.get(t, "/certificates/cli-ec/"); cliAttr(rep.body, "enabled") != false || cliTags(rep.body["tags"])["k"] != "v" {
			t.Fatalf("server after set-attributes: %s", rep.text)
		}

		bak := filepath.Join(c.dir, "cli-default.bak")
		c.ok(t, "certificate", "backup", "-n", "cli-default", "-f", bak)
		c.ok(t, "certificate", "delete", "-n", "cli-default", "-o", "none")
		if d := cliArray(t, c.ok(t, "certificate", "list-deleted")); len(d) != 1 || d[0]["name"] != "cli-default" {
			t.Fatalf("list-deleted: %v", d)
		}
		c.ok(t, "certificate", "purge", "-n", "cli-default")
		restored := cliObject(t, c.ok(t, "certificate", "restore", "-f", bak))
		if restored["name"] != "cli-default" || restored["x509ThumbprintHex"] != thumb {
			t.Fatalf("restore: %v", restored)
		}
		c.fails(t, 1, []string{"already exists"}, "certificate", "backup", "-n", "cli-default", "-f", bak)
	})
}

// cliCertDownloads downloads a certificate as PEM and DER and checks both
// with openssl: the subject, and the SHA-1 fingerprint against show's
// x509ThumbprintHex. An existing file is never overwritten.
func cliCertDownloads(t *testing.T, c *cliEnv, name, cn string) {
	t.Helper()
	thumb := strings.TrimSpace(c.ok(t, "certificate", "show", "-n", name, "--query", "x509ThumbprintHex", "-o", "tsv").stdout)
	pemFile, derFile := filepath.Join(c.dir, name+".pem"), filepath.Join(c.dir, name+".der")
	c.ok(t, "certificate", "download", "-n", name, "-f", pemFile)
	c.ok(t, "certificate", "download", "-n", name, "-f", derFile, "--encoding", "DER")
	c.fails(t, 1, []string{"already exists"}, "certificate", "download", "-n", name, "-f", pemFile)
	openssl, err := exec.LookPath("openssl")
	if err != nil {
		t.Log("openssl not found: the downloads are not checked with it")
		return
	}
	for _, f := range []struct{ file, form string }{{pemFile, "PEM"}, {derFile, "DER"}} {
		out, err := exec.Command(openssl, "x509", "-inform", f.form, "-in", f.file, "-noout", "-subject", "-fingerprint", "-sha1").CombinedOutput()
		if err != nil {
			t.Fatalf("openssl x509 %s: %v\n%s", f.form, err, out)
		}
		text := strings.ReplaceAll(string(out), ":", "")
		if !strings.Contains(text, cn) || !strings.Contains(strings.ToUpper(text), thumb) {
			t.Errorf("openssl x509 %s: %s; want CN %s and fingerprint %s", f.form, out, cn, thumb)
		}
	}
}

// Import of a PFX (made by openssl pkcs12 -export when openssl is there)
// with --password, and the Unknown-issuer flow: pending show, the CSR
// signed by a CA made here, pending merge of the chain.
func TestCLICertificateImportAndMerge(t *testing.T) {
	c := startCLI(t, cliGUIDTenant)
	pfx := cliCertPFX(t, c.dir, "x")
	imported := cliObject(t, c.ok(t, "certificate", "import", "-n", "cli-imported", "-f", pfx, "--password", "x"))
	pol, _ := imported["policy"].(map[string]any)
	if imported["contentType"] != "application/x-pkcs12" || pol["issuerParameters"].(map[string]any)["name"] != "Unknown" {
		t.Fatalf("import: %v", imported)
	}
	wrong := c.newValue("wrong-pw")
	c.fails(t, 1, []string{"BadParameter", "(400)"}, "certificate", "import", "-n", "cli-imported2", "-f", pfx, "--password", wrong)

	policy := `{"issuer":{"name":"Unknown"},"x509_props":{"subject":"CN=merged.example","sans":{"dns_names":["merged.example"]},"validity_months":3},
	  "lifetime_actions":[{"trigger":{"lifetime_percentage":80},"action":{"action_type":"EmailContacts"}}]}`
	op := cliObject(t, c.ok(t, "certificate", "create", "-n", "cli-merged", "-p", policy))
	if op["status"] != "inProgress" || op["csr"] == nil {
		t.Fatalf("create with issuer Unknown: %v", op)
	}
	csr := strings.TrimSpace(c.ok(t, "certificate", "pending", "show", "-n", "cli-merged", "--query", "csr", "-o", "tsv").stdout)
	ca := newCLICertCA(t)
	leaf := ca.sign(t, csr)
	chain := filepath.Join(c.dir, "chain.pem")
	writeFile(t, chain, append(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: leaf}), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ca.der})...))
	merged := cliObject(t, c.ok(t, "certificate", "pending", "merge", "-n", "cli-merged", "-f", chain, "--tags", "src=merge"))
	sum := sha1.Sum(leaf)
	if merged["x509ThumbprintHex"] != strings.ToUpper(hex.EncodeToString(sum[:])) || cliTags(merged["tags"])["src"] != "merge" {
		t.Fatalf("merge: %v", merged)
	}
	if rep := c.get(t, "/certificates/cli-merged/pending"); rep.status != 200 || rep.body["status"] != "completed" {
		t.Fatalf("server: pending after merge %d %s", rep.status, rep.text)
	}
	cliCertDownloads(t, c, "cli-merged", "merged.example")

	// pending cancel and pending delete.
	c.ok(t, "certificate", "create", "-n", "cli-cancel", "-p", policy, "-o", "none")
	if st := strings.TrimSpace(c.ok(t, "certificate", "pending", "cancel", "-n", "cli-cancel", "--query", "status", "-o", "tsv").stdout); st != "cancelled" {
		t.Fatalf("pending cancel: %s", st)
	}
	c.ok(t, "certificate", "pending", "delete", "-n", "cli-cancel", "-o", "none")
	c.fails(t, 1, []string{"PendingCertificateNotFound"}, "certificate", "pending", "show", "-n", "cli-cancel")
}

// cliCertPFX writes a self-signed RSA certificate with its key as a PFX
// encrypted with password: by openssl pkcs12 -export, or by go-pkcs12 when
// openssl is absent.
func cliCertPFX(t *testing.T, dir, password string) string {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: "imported.example"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	pfx := filepath.Join(dir, "imported.pfx")
	openssl, err := exec.LookPath("openssl")
	if err != nil {
		cert, _ := x509.ParseCertificate(der)
		data, err := pkcs12.Modern.Encode(key, cert, nil, password)
		if err != nil {
			t.Fatal(err)
		}
		writeFile(t, pfx, data)
		return pfx
	}
	pkcs8, _ := x509.MarshalPKCS8PrivateKey(key)
	keyFile, certFile := filepath.Join(dir, "imported.key"), filepath.Join(dir, "imported.crt")
	writeFile(t, keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pkcs8}))
	writeFile(t, certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
	out, err := exec.Command(openssl, "pkcs12", "-export", "-inkey", keyFile, "-in", certFile, "-out", pfx, "-passout", "pass:"+password).CombinedOutput()
	if err != nil {
		t.Fatalf("openssl pkcs12 -export: %v\n%s", err, out)
	}
	return pfx
}

// cliCertCA is a CA made in the test, which signs the CSRs of pending
// certificates.
type cliCertCA struct {
	key  *ecdsa.PrivateKey
	cert *x509.Certificate
	der  []byte
}

func newCLICertCA(t *testing.T) *cliCertCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "keyhaven CLI test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	return &cliCertCA{key: key, cert: cert, der: der}
}

// sign issues a certificate for a base64 CSR as pending show prints it.
func (ca *cliCertCA) sign(t *testing.T, csrB64 string) []byte {
	t.Helper()
	raw, err := base64.StdEncoding.DecodeString(csrB64)
	if err != nil {
		t.Fatal(err)
	}
	csr, err := x509.ParseCertificateRequest(raw)
	if err != nil || csr.CheckSignature() != nil {
		t.Fatalf("CSR: %v", err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: csr.Subject, DNSNames: csr.DNSNames,
		NotBefore: time.Now().Add(-time.Minute), NotAfter: time.Now().Add(30 * 24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, csr.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

// Issuers (a PrivateCA issuer signing a certificate of the vault) and
// contacts, as az's contact add and delete edit the list.
func TestCLICertificateIssuersAndContacts(t *testing.T) {
	c := startCLI(t, cliGUIDTenant)
	c.ok(t, "certificate", "create", "-n", "cli-root", "-o", "none", "-p",
		`{"issuer":{"name":"Self"},"x509_props":{"subject":"CN=CLI Root","key_usage":["keyCertSign","cRLSign"],"basic_constraints":{"ca":true}}}`)
	password := c.newValue("issuer-pw")
	res := c.ok(t, "certificate", "issuer", "create", "--issuer-name", "cli-ca", "--provider-name", "PrivateCA", "--account-id", "cli-root",
		"--password", password, "--organization-id", "org-1")
	issuer := cliObject(t, res)
	if strings.Contains(res.stdout, password) || issuer["provider"] != "PrivateCA" || issuer["credentials"].(map[string]any)["accountId"] != "cli-root" {
		t.Fatalf("issuer create: %s", res.stdout)
	}
	if rep := c.get(t, "/certificates/issuers/cli-ca"); rep.status != 200 || strings.Contains(rep.text, password) {
		t.Fatalf("server: issuer %d %s", rep.status, rep.text)
	}
	c.ok(t, "certificate", "create", "-n", "cli-issued", "-o", "none", "-p", `{"issuer":{"name":"cli-ca"},"x509_props":{"subject":"CN=issued.example"}}`)
	cliCertIssuedBy(t, c, "cli-issued", "CLI Root")
	if en := strings.TrimSpace(c.ok(t, "certificate", "issuer", "update", "--issuer-name", "cli-ca", "--enabled", "false", "--query", "attributes.enabled", "-o", "tsv").stdout); !strings.EqualFold(en, "false") {
		t.Fatalf("issuer update: %s", en)
	}
	if got := cliArray(t, c.ok(t, "certificate", "issuer", "list")); len(got) != 1 || got[0]["name"] != "cli-ca" {
		t.Fatalf("issuer list: %v", got)
	}
	c.ok(t, "certificate", "issuer", "delete", "--issuer-name", "cli-ca", "-o", "none")
	c.fails(t, 1, []string{"CertificateIssuerNotFound"}, "certificate", "issuer", "show", "--issuer-name", "cli-ca")

	c.fails(t, 1, []string{"ContactsNotFound"}, "certificate", "contact", "list")
	c.ok(t, "certificate", "contact", "add", "--email", "ops@example.com", "--name", "Ops", "--phone", "555", "-o", "none")
	c.ok(t, "certificate", "contact", "add", "--email", "dev@example.com", "-o", "none")
	c.fails(t, 1, []string{"already exists"}, "certificate", "contact", "add", "--email", "ops@example.com")
	if got := strings.Fields(c.ok(t, "certificate", "contact", "list", "--query", "contactList[].emailAddress", "-o", "tsv").stdout); strings.Join(got, " ") != "ops@example.com dev@example.com" {
		t.Fatalf("contact list: %v", got)
	}
	c.ok(t, "certificate", "contact", "delete", "--email", "ops@example.com", "-o", "none")
	if rep := c.get(t, "/certificates/contacts"); rep.status != 200 || strings.Contains(rep.text, "ops@") {
		t.Fatalf("server: contacts %d %s", rep.status, rep.text)
	}
	c.ok(t, "certificate", "contact", "delete", "--email", "dev@example.com", "-o", "none")
	if rep := c.get(t, "/certificates/contacts"); rep.status != 404 {
		t.Fatalf("server: contacts after the last delete %d %s", rep.status, rep.text)
	}
}

// cliCertIssuedBy checks that a certificate's issuer is the CN given.
func cliCertIssuedBy(t *testing.T, c *cliEnv, name, issuerCN string) {
	t.Helper()
	file := filepath.Join(c.dir, name+".der")
	c.ok(t, "certificate", "download", "-n", name, "-f", file, "-e", "DER")
	der, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil || cert.Issuer.CommonName != issuerCN {
		t.Fatalf("%s: issuer %v, want %s (%v)", name, cert.Issuer, issuerCN, err)
	}
}

// Bad input gives a clear error, a non-zero exit and no output.
func TestCLICertificateBadInput(t *testing.T) {
	c := startCLI(t, cliGUIDTenant)
	missing := filepath.Join(c.dir, "missing.json")
	notCert := filepath.Join(c.dir, "not-a-cert.txt")
	writeFile(t, notCert, []byte("hello"))
	tests := []struct {
		args []string
		code int
		want []string
	}{
		{[]string{"create", "-n", "bad", "--policy", "@" + missing}, 1, []string{"--policy", "no such file"}},
		{[]string{"create", "-n", "bad", "--policy", `{"issuer":{"name":"Self"},`}, 2, []string{"--policy: not valid JSON"}},
		{[]string{"create", "-n", "bad", "--policy", `{"x509_props":{"validity_months":"twelve"}}`}, 2, []string{"x509_props.validity_months must be a whole number"}},
		{[]string{"create", "-n", "bad", "--policy", `{"x509CertificateProperties":{"subjekt":"CN=a"}}`}, 2, []string{`unknown member "subjekt"`}},
		{[]string{"create", "-n", "bad", "--policy", `{"issuer":{"name":"Self"},"x509_props":{"validity_months":0}}`}, 1, []string{"BadParameter"}},
		{[]string{"import", "-n", "bad", "-f", missing}, 1, []string{"no such file"}},
		{[]string{"import", "-n", "bad", "-f", notCert}, 1, []string{"(400)"}},
		{[]string{"pending", "merge", "-n", "bad", "-f", notCert}, 1, []string{"holds no certificate"}},
		{[]string{"pending", "merge", "-n", "bad", "-f", missing}, 1, []string{"no such file"}},
		{[]string{"restore", "-f", missing}, 1, []string{"no such file"}},
		{[]string{"show", "-n", "nosuch"}, 1, []string{"CertificateNotFound (404)"}},
		{[]string{"show", "-n", "bad_name"}, 2, []string{"invalid name"}},
		{[]string{"download", "-n", "nosuch"}, 2, []string{"--file is required"}},
	}
	for _, tt := range tests {
		cliWantFailure(t, c.run(t, append([]string{"certificate"}, tt.args...)...), tt.code, tt.want...)
	}
	if got := c.list(t, "/certificates"); len(got) != 0 {
		t.Errorf("bad input created certificates: %v", got)
	}
}
