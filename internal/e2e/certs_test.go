package e2e

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azcertificates"
	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azkeys"
	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azsecrets"
	pkcs12 "software.sslmate.com/src/go-pkcs12"

	"github.com/keyhaven/keyhaven/internal/testenv"
)

func certsClient(t *testing.T, srv *testenv.Server) *azcertificates.Client {
	t.Helper()
	c, err := azcertificates.NewClient(srv.Info.VaultURL, secretCredential(t, srv), &azcertificates.ClientOptions{ClientOptions: clientOptions(srv)})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// certClients returns the certificates, keys and secrets clients of the
// dev vault.
func certClients(t *testing.T, srv *testenv.Server) (*azcertificates.Client, *azkeys.Client, *azsecrets.Client) {
	return certsClient(t, srv), keysClient(t, srv), secretsClient(t, srv, secretCredential(t, srv))
}

func webPolicy() *azcertificates.CertificatePolicy {
	return &azcertificates.CertificatePolicy{
		IssuerParameters: &azcertificates.IssuerParameters{Name: to.Ptr("Self")},
		X509CertificateProperties: &azcertificates.X509CertificateProperties{
			Subject: to.Ptr("CN=web.example.test, O=Keyhaven Test, C=NL"),
			SubjectAlternativeNames: &azcertificates.SubjectAlternativeNames{
				DNSNames:           []*string{to.Ptr("web.example.test"), to.Ptr("*.web.example.test")},
				Emails:             []*string{to.Ptr("ops@example.test")},
				UserPrincipalNames: []*string{to.Ptr("svc@example.test")},
				IPAddresses:        []*string{to.Ptr("127.0.0.1")},
			},
			ValidityInMonths: to.Ptr(int32(6)),
		},
	}
}

// mustCompleted fails unless op completed.
func mustCompleted(t *testing.T, op azcertificates.CertificateOperation) {
	t.Helper()
	if op.Status == nil || *op.Status != "completed" || op.Target == nil {
		t.Fatalf("operation: status %v target %v error %+v", deref(op.Status), deref(op.Target), op.Error)
	}
}

func deref[T any](p *T) any {
	if p == nil {
		return nil
	}
	return *p
}

func TestCertificatesSelfSignedThroughSDK(t *testing.T) {
	srv := testenv.StartDev(t)
	cc, kc, sc := certClients(t, srv)
	ctx := context.Background()

	created, err := cc.CreateCertificate(ctx, "web", azcertificates.CreateCertificateParameters{CertificatePolicy: webPolicy(),
		Tags: map[string]*string{"env": to.Ptr("test")}}, nil)
	if err != nil {
		t.Fatalf("CreateCertificate: %v", err)
	}
	mustCompleted(t, created.CertificateOperation)
	op, err := cc.GetCertificateOperation(ctx, "web", nil)
	if err != nil {
		t.Fatal(err)
	}
	mustCompleted(t, op.CertificateOperation)

	got, err := cc.GetCertificate(ctx, "web", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(got.CER)
	if err != nil {
		t.Fatalf("cer: %v", err)
	}
	sum := sha1.Sum(got.CER)
	if !bytes.Equal(got.X509Thumbprint, sum[:]) {
		t.Fatal("x5t is not the SHA-1 of cer")
	}
	a := got.Attributes
	if !a.NotBefore.Equal(cert.NotBefore) || !a.Expires.Equal(cert.NotAfter) || !*a.Enabled {
		t.Fatalf("attributes %v..%v, certificate %v..%v", a.NotBefore, a.Expires, cert.NotBefore, cert.NotAfter)
	}
	if got.ID.Version() == "" || got.KID.Version() != got.ID.Version() || got.SID.Version() != got.ID.Version() ||
		got.KID.Name() != "web" || got.SID.Name() != "web" || *got.Tags["env"] != "test" {
		t.Fatalf("ids: %s %s %s", *got.ID, *got.KID, *got.SID)
	}
	p := got.Policy
	if *p.KeyProperties.KeyType != azcertificates.KeyTypeRSA || *p.KeyProperties.KeySize != 2048 || !*p.KeyProperties.Exportable ||
		*p.SecretProperties.ContentType != "application/x-pkcs12" || *p.X509CertificateProperties.ValidityInMonths != 6 ||
		len(p.LifetimeActions) != 1 || *p.LifetimeActions[0].Action.ActionType != azcertificates.CertificatePolicyActionAutoRenew {
		t.Fatalf("policy defaults: %+v", p)
	}

	// The certificate as OpenSSL sees it.
	dir := t.TempDir()
	text := openssl(t, dir, got.CER, "x509", "-inform", "DER", "-noout", "-text")
	for _, want := range []string{"CN = web.example.test", "DNS:web.example.test", "DNS:*.web.example.test", "email:ops@example.test",
		"IP Address:127.0.0.1", "TLS Web Server Authentication", "TLS Web Client Authentication", "Digital Signature",
		"Key Encipherment", "CA:FALSE", "othername: UPN::svc@example.test"} {
		if !strings.Contains(text, want) {
			t.Errorf("openssl x509 -text lacks %q:\n%s", want, text)
		}
	}

	// The backing secret is the PFX with the private key; OpenSSL reads it.
	sec, err := sc.GetSecret(ctx, "web", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	if *sec.ContentType != "application/x-pkcs12" || !*sec.Managed || sec.KID == nil || string(*sec.KID) != string(*got.KID) {
		t.Fatalf("secret: contentType %v managed %v kid %v", deref(sec.ContentType), deref(sec.Managed), deref(sec.KID))
	}
	pfx, err := base64.StdEncoding.DecodeString(*sec.Value)
	if err != nil {
		t.Fatal(err)
	}
	out := openssl(t, dir, pfx, "pkcs12", "-nodes", "-passin", "pass:")
	if !strings.Contains(out, "PRIVATE KEY") || !strings.Contains(out, "web.example.test") {
		t.Fatalf("openssl pkcs12 output lacks key or certificate:\n%s", out)
	}
	priv, leaf, err := pkcs12.Decode(pfx, "")
	if err != nil || !bytes.Equal(leaf.Raw, got.CER) {
		t.Fatalf("PFX: %v", err)
	}

	// The backing key signs; the certificate's public key verifies.
	k, err := kc.GetKey(ctx, "web", "", nil)
	if err != nil || !*k.Managed {
		t.Fatalf("GetKey: %v", err)
	}
	digest := sha256.Sum256([]byte("hello"))
	sig, err := kc.Sign(ctx, "web", got.KID.Version(), azkeys.SignParameters{Algorithm: to.Ptr(azkeys.SignatureAlgorithmRS256), Value: digest[:]}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := rsa.VerifyPKCS1v15(cert.PublicKey.(*rsa.PublicKey), crypto.SHA256, digest[:], sig.Result); err != nil {
		t.Fatalf("signature by the backing key does not verify with the certificate: %v", err)
	}
	if !priv.(*rsa.PrivateKey).PublicKey.Equal(cert.PublicKey) {
		t.Fatal("PFX key is not the certificate's key")
	}

	// The backing key and secret follow the certificate only.
	_, err = sc.SetSecret(ctx, "web", azsecrets.SetSecretParameters{Value: to.Ptr("x")}, nil)
	wantCode(t, err, 403, "Forbidden")
	_, err = sc.DeleteSecret(ctx, "web", nil)
	wantCode(t, err, 403, "Forbidden")
	_, err = kc.DeleteKey(ctx, "web", nil)
	wantCode(t, err, 403, "Forbidden")
	_, err = kc.RotateKey(ctx, "web", nil)
	wantCode(t, err, 403, "Forbidden")
	_, err = sc.BackupSecret(ctx, "web", nil)
	wantCode(t, err, 403, "Forbidden")
}

// wantCode fails unless err is an Azure response error with status and code.
func wantCode(t *testing.T, err error, status int, code string) {
	t.Helper()
	var re *azcore.ResponseError
	if !errors.As(err, &re) || re.StatusCode != status || re.ErrorCode != code {
		t.Fatalf("want %d %s, got %v", status, code, err)
	}
}

// openssl runs openssl on input written to a temporary file and returns
// its output.
func openssl(t *testing.T, dir string, input []byte, args ...string) string {
	t.Helper()
	if _, err := exec.LookPath("openssl"); err != nil {
		t.Skip("openssl is not installed")
	}
	f, err := os.CreateTemp(dir, "in")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write(input); err != nil {
		t.Fatal(err)
	}
	f.Close()
	if args[0] == "verify" {
		args = append(args, f.Name()) // verify takes the certificate as an argument
	} else {
		args = append(args, "-in", f.Name())
	}
	cmd := exec.Command("openssl", args...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("openssl %v: %v\n%s", args, err, out)
	}
	return string(out)
}

func TestCertificatesECWithPEMSecret(t *testing.T) {
	srv := testenv.StartDev(t)
	cc, _, sc := certClients(t, srv)
	ctx := context.Background()
	pol := &azcertificates.CertificatePolicy{
		IssuerParameters: &azcertificates.IssuerParameters{Name: to.Ptr("Self")},
		KeyProperties:    &azcertificates.KeyProperties{KeyType: to.Ptr(azcertificates.KeyTypeEC), Curve: to.Ptr(azcertificates.CurveNameP384)},
		SecretProperties: &azcertificates.SecretProperties{ContentType: to.Ptr("application/x-pem-file")},
		X509CertificateProperties: &azcertificates.X509CertificateProperties{Subject: to.Ptr("CN=ec.example.test"),
			SubjectAlternativeNames: &azcertificates.SubjectAlternativeNames{DNSNames: []*string{to.Ptr("ec.example.test")}},
			KeyUsage:                []*azcertificates.KeyUsageType{to.Ptr(azcertificates.KeyUsageTypeDigitalSignature)},
			EnhancedKeyUsage:        []*string{to.Ptr("1.3.6.1.5.5.7.3.1")}},
	}
	if _, err := cc.CreateCertificate(ctx, "ec", azcertificates.CreateCertificateParameters{CertificatePolicy: pol}, nil); err != nil {
		t.Fatal(err)
	}
	sec, err := sc.GetSecret(ctx, "ec", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	if *sec.ContentType != "application/x-pem-file" || !strings.HasPrefix(*sec.Value, "-----BEGIN PRIVATE KEY-----") {
		t.Fatalf("PEM secret: %v", deref(sec.ContentType))
	}
	pair, err := tls.X509KeyPair([]byte(*sec.Value), []byte(*sec.Value))
	if err != nil {
		t.Fatalf("Go's TLS stack does not load the PEM secret: %v", err)
	}
	if pub, ok := pair.Leaf.PublicKey.(*ecdsa.PublicKey); !ok || pub.Curve != elliptic.P384() {
		t.Fatalf("key: %T", pair.Leaf.PublicKey)
	}
	dir := t.TempDir()
	if out := openssl(t, dir, []byte(*sec.Value), "pkey", "-noout", "-text"); !strings.Contains(out, "NIST CURVE: P-384") {
		t.Fatalf("openssl pkey:\n%s", out)
	}
	if out := openssl(t, dir, []byte(*sec.Value), "x509", "-noout", "-ext", "keyUsage,extendedKeyUsage"); !strings.Contains(out, "Digital Signature") ||
		!strings.Contains(out, "TLS Web Server Authentication") || strings.Contains(out, "Client Authentication") {
		t.Fatalf("openssl usages:\n%s", out)
	}
}

// testCA is a CA made with crypto/x509 for signing CSRs and building
// bundles to import.
type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
}

func newTestCA(t *testing.T, cn string) *testCA {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := x509.ParseCertificate(der)
	return &testCA{cert: c, key: key}
}

// signCSR issues a certificate for a CSR, copying its requested extensions.
func (ca *testCA) signCSR(t *testing.T, csrDER []byte) *x509.Certificate {
	t.Helper()
	csr, err := x509.ParseCertificateRequest(csrDER)
	if err != nil {
		t.Fatalf("CSR: %v", err)
	}
	if err := csr.CheckSignature(); err != nil {
		t.Fatalf("CSR signature: %v", err)
	}
	return ca.issue(t, csr.PublicKey, csr.Subject, csr.Extensions)
}

func (ca *testCA) issue(t *testing.T, pub crypto.PublicKey, subject pkix.Name, exts []pkix.Extension) *x509.Certificate {
	t.Helper()
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: subject,
		NotBefore: time.Now().Add(-time.Minute), NotAfter: time.Now().Add(12 * time.Hour), ExtraExtensions: exts}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, pub, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := x509.ParseCertificate(der)
	return c
}

func pemBlock(typ string, der []byte) string {
	return string(pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}))
}

func TestCertificatesUnknownIssuerMerge(t *testing.T) {
	srv := testenv.StartDev(t)
	cc, _, sc := certClients(t, srv)
	ctx := context.Background()
	pol := &azcertificates.CertificatePolicy{
		IssuerParameters:          &azcertificates.IssuerParameters{Name: to.Ptr("Unknown")},
		X509CertificateProperties: &azcertificates.X509CertificateProperties{Subject: to.Ptr("CN=ext.example.test"), SubjectAlternativeNames: &azcertificates.SubjectAlternativeNames{DNSNames: []*string{to.Ptr("ext.example.test")}}},
	}
	created, err := cc.CreateCertificate(ctx, "ext", azcertificates.CreateCertificateParameters{CertificatePolicy: pol}, nil)
	if err != nil {
		t.Fatal(err)
	}
	op := created.CertificateOperation
	if *op.Status != "inProgress" || len(op.CSR) == 0 || !strings.Contains(*op.StatusDetails, "Merge") {
		t.Fatalf("pending operation: %v %v", deref(op.Status), deref(op.StatusDetails))
	}
	// Before the merge the certificate shows as pending: no DER, no key or
	// secret, disabled; a second create is refused.
	pend, err := cc.GetCertificate(ctx, "ext", "", nil)
	if err != nil || pend.CER != nil || pend.KID != nil || pend.SID != nil || *pend.Attributes.Enabled ||
		*pend.Policy.IssuerParameters.Name != "Unknown" {
		t.Fatalf("pending certificate: %v %+v", err, pend)
	}
	_, err = sc.GetSecret(ctx, "ext", "", nil)
	wantCode(t, err, 404, "SecretNotFound")
	_, err = cc.CreateCertificate(ctx, "ext", azcertificates.CreateCertificateParameters{CertificatePolicy: pol}, nil)
	wantCode(t, err, 409, "Forbidden")

	ca := newTestCA(t, "External Test CA")
	leaf := ca.signCSR(t, op.CSR)
	if leaf.Subject.CommonName != "ext.example.test" || len(leaf.DNSNames) != 1 {
		t.Fatalf("CSR content: %v %v", leaf.Subject, leaf.DNSNames)
	}
	// A certificate for another key is refused and changes nothing.
	other := ca.issue(t, &newTestCA(t, "x").key.PublicKey, leaf.Subject, nil)
	_, err = cc.MergeCertificate(ctx, "ext", azcertificates.MergeCertificateParameters{X509Certificates: [][]byte{other.Raw}}, nil)
	wantCode(t, err, 400, "BadParameter")

	merged, err := cc.MergeCertificate(ctx, "ext", azcertificates.MergeCertificateParameters{X509Certificates: [][]byte{leaf.Raw, ca.cert.Raw}}, nil)
	if err != nil {
		t.Fatalf("MergeCertificate: %v", err)
	}
	if !bytes.Equal(merged.CER, leaf.Raw) || merged.ID.Version() != pend.ID.Version() {
		t.Fatal("merged certificate differs from the pending one")
	}
	done, err := cc.GetCertificateOperation(ctx, "ext", nil)
	if err != nil {
		t.Fatal(err)
	}
	mustCompleted(t, done.CertificateOperation)

	// The PFX holds the chain; OpenSSL verifies the leaf against the CA.
	sec, err := sc.GetSecret(ctx, "ext", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	pfx, _ := base64.StdEncoding.DecodeString(*sec.Value)
	_, gotLeaf, chain, err := pkcs12.DecodeChain(pfx, "")
	if err != nil || !bytes.Equal(gotLeaf.Raw, leaf.Raw) || len(chain) != 1 || !bytes.Equal(chain[0].Raw, ca.cert.Raw) {
		t.Fatalf("PFX chain: %v", err)
	}
	dir := t.TempDir()
	caFile := filepath.Join(dir, "ca.pem")
	os.WriteFile(caFile, []byte(pemBlock("CERTIFICATE", ca.cert.Raw)), 0o600)
	if out := openssl(t, dir, []byte(pemBlock("CERTIFICATE", leaf.Raw)), "verify", "-CAfile", caFile); !strings.Contains(out, "OK") {
		t.Fatalf("openssl verify: %s", out)
	}

	// Cancel and delete of an operation.
	if _, err := cc.CreateCertificate(ctx, "ext2", azcertificates.CreateCertificateParameters{CertificatePolicy: pol}, nil); err != nil {
		t.Fatal(err)
	}
	cancelled, err := cc.UpdateCertificateOperation(ctx, "ext2", azcertificates.UpdateCertificateOperationParameter{CancellationRequested: to.Ptr(true)}, nil)
	if err != nil || !*cancelled.CancellationRequested || *cancelled.Status != "cancelled" {
		t.Fatalf("cancel: %v", err)
	}
	_, err = cc.UpdateCertificateOperation(ctx, "ext2", azcertificates.UpdateCertificateOperationParameter{CancellationRequested: to.Ptr(true)}, nil)
	wantCode(t, err, 400, "BadParameter")
	if _, err := cc.CreateCertificate(ctx, "ext2", azcertificates.CreateCertificateParameters{CertificatePolicy: pol}, nil); err != nil {
		t.Fatalf("create after cancel: %v", err)
	}
	if _, err := cc.DeleteCertificateOperation(ctx, "ext2", nil); err != nil {
		t.Fatal(err)
	}
	_, err = cc.GetCertificateOperation(ctx, "ext2", nil)
	wantCode(t, err, 404, "PendingCertificateNotFound")
	_, err = cc.MergeCertificate(ctx, "ext2", azcertificates.MergeCertificateParameters{X509Certificates: [][]byte{leaf.Raw}}, nil)
	wantCode(t, err, 404, "PendingCertificateNotFound")
}
