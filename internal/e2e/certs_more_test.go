package e2e

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azcertificates"
	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azsecrets"
	pkcs12 "software.sslmate.com/src/go-pkcs12"

	"github.com/keyhaven/keyhaven/internal/testenv"
)

// leafWithKey issues an RSA leaf from ca and returns its PKCS#8 key.
func leafWithKey(t *testing.T, ca *testCA, cn string) (*x509.Certificate, []byte) {
	t.Helper()
	key, _ := rsa.GenerateKey(rand.Reader, 2048)
	leaf := ca.issue(t, &key.PublicKey, pkix.Name{CommonName: cn}, nil)
	der, _ := x509.MarshalPKCS8PrivateKey(key)
	return leaf, der
}

func TestCertificatesImportPFXAndPEM(t *testing.T) {
	srv := testenv.StartDev(t)
	cc, _, sc := certClients(t, srv)
	ctx := context.Background()
	ca := newTestCA(t, "Import CA")
	leaf, keyDER := leafWithKey(t, ca, "imported.example.test")
	dir := t.TempDir()

	// PFX made by OpenSSL with a password.
	if _, err := exec.LookPath("openssl"); err != nil {
		t.Skip("openssl is not installed")
	}
	bundlePEM := pemBlock("PRIVATE KEY", keyDER) + pemBlock("CERTIFICATE", leaf.Raw) + pemBlock("CERTIFICATE", ca.cert.Raw)
	in := filepath.Join(dir, "in.pem")
	pfxFile := filepath.Join(dir, "out.pfx")
	os.WriteFile(in, []byte(bundlePEM), 0o600)
	if out, err := exec.Command("openssl", "pkcs12", "-export", "-in", in, "-out", pfxFile, "-passout", "pass:s3cret").CombinedOutput(); err != nil {
		t.Fatalf("openssl pkcs12 -export: %v\n%s", err, out)
	}
	pfx, _ := os.ReadFile(pfxFile)
	b64 := base64.StdEncoding.EncodeToString(pfx)

	_, err := cc.ImportCertificate(ctx, "pfx", azcertificates.ImportCertificateParameters{Base64EncodedCertificate: &b64, Password: to.Ptr("wrong")}, nil)
	wantCode(t, err, 400, "BadParameter")
	imp, err := cc.ImportCertificate(ctx, "pfx", azcertificates.ImportCertificateParameters{Base64EncodedCertificate: &b64, Password: to.Ptr("s3cret")}, nil)
	if err != nil {
		t.Fatalf("import PFX: %v", err)
	}
	if !bytes.Equal(imp.CER, leaf.Raw) || *imp.Policy.IssuerParameters.Name != "Unknown" ||
		*imp.Policy.X509CertificateProperties.Subject != "CN=imported.example.test" ||
		*imp.Policy.LifetimeActions[0].Action.ActionType != azcertificates.CertificatePolicyActionEmailContacts {
		t.Fatalf("imported: policy %+v", imp.Policy.X509CertificateProperties)
	}
	sec, err := sc.GetSecret(ctx, "pfx", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := base64.StdEncoding.DecodeString(*sec.Value)
	if out := openssl(t, dir, raw, "pkcs12", "-nodes", "-passin", "pass:"); strings.Count(out, "BEGIN CERTIFICATE") != 2 || !strings.Contains(out, "PRIVATE KEY") {
		t.Fatalf("re-exported PFX:\n%s", out)
	}

	// PEM in any order, into a PEM secret.
	shuffled := pemBlock("CERTIFICATE", ca.cert.Raw) + pemBlock("CERTIFICATE", leaf.Raw) + pemBlock("PRIVATE KEY", keyDER)
	pemPolicy := &azcertificates.CertificatePolicy{SecretProperties: &azcertificates.SecretProperties{ContentType: to.Ptr("application/x-pem-file")}}
	imp, err = cc.ImportCertificate(ctx, "pem", azcertificates.ImportCertificateParameters{Base64EncodedCertificate: &shuffled, CertificatePolicy: pemPolicy}, nil)
	if err != nil {
		t.Fatalf("import PEM: %v", err)
	}
	if !bytes.Equal(imp.CER, leaf.Raw) {
		t.Fatal("PEM import picked the wrong leaf")
	}
	sec, err = sc.GetSecret(ctx, "pem", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tls.X509KeyPair([]byte(*sec.Value), []byte(*sec.Value)); err != nil {
		t.Fatalf("PEM secret does not load: %v", err)
	}
	if i, j := strings.Index(*sec.Value, "PRIVATE KEY"), strings.Index(*sec.Value, "CERTIFICATE"); i > j {
		t.Fatal("PEM secret: key must come first")
	}

	// Bad bundles change nothing.
	for name, value := range map[string]string{
		"garbage":  "not a certificate",
		"nokey":    pemBlock("CERTIFICATE", leaf.Raw),
		"mismatch": pemBlock("PRIVATE KEY", keyDERFor(t)) + pemBlock("CERTIFICATE", leaf.Raw),
	} {
		_, err := cc.ImportCertificate(ctx, "bad-"+name, azcertificates.ImportCertificateParameters{Base64EncodedCertificate: to.Ptr(value)}, nil)
		wantCode(t, err, 400, "BadParameter")
		_, err = cc.GetCertificate(ctx, "bad-"+name, "", nil)
		wantCode(t, err, 404, "CertificateNotFound")
	}
	// A PFX value under a PEM content type is refused.
	_, err = cc.ImportCertificate(ctx, "pem", azcertificates.ImportCertificateParameters{Base64EncodedCertificate: &b64, Password: to.Ptr("s3cret"), CertificatePolicy: pemPolicy}, nil)
	wantCode(t, err, 400, "BadParameter")
}

func keyDERFor(t *testing.T) []byte {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

func TestCertificatesLifecycle(t *testing.T) {
	srv := testenv.StartDev(t)
	cc, kc, sc := certClients(t, srv)
	ctx := context.Background()
	params := azcertificates.CreateCertificateParameters{CertificatePolicy: webPolicy()}
	for i := 0; i < 2; i++ {
		if _, err := cc.CreateCertificate(ctx, "life", params, nil); err != nil {
			t.Fatal(err)
		}
	}
	var versions []string
	pager := cc.NewListCertificatePropertiesVersionsPager("life", nil)
	for pager.More() {
		page, err := pager.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range page.Value {
			versions = append(versions, p.ID.Version())
		}
	}
	if len(versions) != 2 {
		t.Fatalf("versions: %v", versions)
	}
	list := cc.NewListCertificatePropertiesPager(nil)
	page, err := list.NextPage(ctx)
	if err != nil || len(page.Value) != 1 || page.Value[0].ID.Name() != "life" || len(page.Value[0].X509Thumbprint) != 20 {
		t.Fatalf("list: %v %+v", err, page.Value)
	}

	// Disabling the certificate disables its key and secret.
	cur, _ := cc.GetCertificate(ctx, "life", "", nil)
	upd, err := cc.UpdateCertificate(ctx, "life", "", azcertificates.UpdateCertificateParameters{
		CertificateAttributes: &azcertificates.CertificateAttributes{Enabled: to.Ptr(false)}, Tags: map[string]*string{"a": to.Ptr("b")}}, nil)
	if err != nil || *upd.Attributes.Enabled || *upd.Tags["a"] != "b" {
		t.Fatalf("update: %v", err)
	}
	_, err = sc.GetSecret(ctx, "life", "", nil)
	wantCode(t, err, 403, "Forbidden")
	if k, err := kc.GetKey(ctx, "life", "", nil); err != nil || *k.Attributes.Enabled {
		t.Fatalf("backing key still enabled: %v", err)
	}
	if _, err := cc.UpdateCertificate(ctx, "life", cur.ID.Version(), azcertificates.UpdateCertificateParameters{
		CertificateAttributes: &azcertificates.CertificateAttributes{Enabled: to.Ptr(true)}}, nil); err != nil {
		t.Fatal(err)
	}

	// Policy update merges the members given.
	pol, err := cc.UpdateCertificatePolicy(ctx, "life", azcertificates.CertificatePolicy{
		X509CertificateProperties: &azcertificates.X509CertificateProperties{ValidityInMonths: to.Ptr(int32(3))}}, nil)
	if err != nil || *pol.X509CertificateProperties.ValidityInMonths != 3 || *pol.X509CertificateProperties.Subject != "CN=web.example.test, O=Keyhaven Test, C=NL" {
		t.Fatalf("policy update: %v", err)
	}

	// Backup, delete (with key and secret), purge, restore.
	backup, err := cc.BackupCertificate(ctx, "life", nil)
	if err != nil {
		t.Fatal(err)
	}
	del, err := cc.DeleteCertificate(ctx, "life", nil)
	if err != nil || del.RecoveryID == nil || del.ScheduledPurgeDate == nil {
		t.Fatalf("delete: %v", err)
	}
	if _, err := kc.GetDeletedKey(ctx, "life", nil); err != nil {
		t.Fatalf("backing key not deleted with the certificate: %v", err)
	}
	if _, err := sc.GetDeletedSecret(ctx, "life", nil); err != nil {
		t.Fatalf("backing secret not deleted with the certificate: %v", err)
	}
	_, err = sc.PurgeDeletedSecret(ctx, "life", nil)
	wantCode(t, err, 403, "Forbidden")
	if _, err := cc.RecoverDeletedCertificate(ctx, "life", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := sc.GetSecret(ctx, "life", "", nil); err != nil {
		t.Fatalf("secret not recovered: %v", err)
	}
	if _, err := cc.DeleteCertificate(ctx, "life", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := cc.PurgeDeletedCertificate(ctx, "life", nil); err != nil {
		t.Fatal(err)
	}
	_, err = kc.GetDeletedKey(ctx, "life", nil)
	wantCode(t, err, 404, "KeyNotFound")
	restored, err := cc.RestoreCertificate(ctx, azcertificates.RestoreCertificateParameters{CertificateBackup: backup.Value}, nil)
	if err != nil {
		t.Fatalf("restore: %v", err)
	}
	if restored.ID.Version() != cur.ID.Version() || *restored.Policy.X509CertificateProperties.ValidityInMonths != 3 {
		t.Fatalf("restored version %s, want %s", restored.ID.Version(), cur.ID.Version())
	}
	sec, err := sc.GetSecret(ctx, "life", cur.ID.Version(), nil)
	if err != nil || !*sec.Managed {
		t.Fatalf("restored secret: %v", err)
	}
	_, err = cc.RestoreCertificate(ctx, azcertificates.RestoreCertificateParameters{CertificateBackup: backup.Value}, nil)
	wantCode(t, err, 409, "Conflict")

	// A name held by a plain secret cannot become a certificate.
	if _, err := sc.SetSecret(ctx, "plain", azsecrets.SetSecretParameters{Value: to.Ptr("v")}, nil); err != nil {
		t.Fatal(err)
	}
	_, err = cc.CreateCertificate(ctx, "plain", params, nil)
	wantCode(t, err, 409, "Conflict")
}

func TestCertificatesPrivateCAIssuesAndRenews(t *testing.T) {
	srv, clock := testenv.StartDevWithClock(t)
	cc := certsClient(t, srv)
	ctx := context.Background()
	caPolicy := &azcertificates.CertificatePolicy{
		IssuerParameters: &azcertificates.IssuerParameters{Name: to.Ptr("Self")},
		KeyProperties:    &azcertificates.KeyProperties{KeyType: to.Ptr(azcertificates.KeyTypeEC), Curve: to.Ptr(azcertificates.CurveNameP256), Exportable: to.Ptr(false)},
		X509CertificateProperties: &azcertificates.X509CertificateProperties{Subject: to.Ptr("CN=Keyhaven Internal CA, O=Test"),
			KeyUsage:         []*azcertificates.KeyUsageType{to.Ptr(azcertificates.KeyUsageTypeKeyCertSign), to.Ptr(azcertificates.KeyUsageTypeCRLSign)},
			EnhancedKeyUsage: []*string{}, ValidityInMonths: to.Ptr(int32(60))},
	}
	if _, err := cc.CreateCertificate(ctx, "internal-ca", azcertificates.CreateCertificateParameters{CertificatePolicy: caPolicy}, nil); err != nil {
		t.Fatal(err)
	}
	// The issuer refers to the CA; a non-CA certificate is refused.
	_, err := cc.SetIssuer(ctx, "bad", azcertificates.SetIssuerParameters{Provider: to.Ptr("PrivateCA"),
		Credentials: &azcertificates.IssuerCredentials{AccountID: to.Ptr("missing")}}, nil)
	wantCode(t, err, 400, "BadParameter")
	iss, err := cc.SetIssuer(ctx, "corp", azcertificates.SetIssuerParameters{Provider: to.Ptr("PrivateCA"),
		Credentials: &azcertificates.IssuerCredentials{AccountID: to.Ptr("internal-ca"), Password: to.Ptr("unused-secret")}}, nil)
	if err != nil || iss.Credentials.Password != nil {
		t.Fatalf("SetIssuer: %v", err)
	}

	leafPolicy := webPolicy()
	leafPolicy.IssuerParameters.Name = to.Ptr("corp")
	leafPolicy.X509CertificateProperties.ValidityInMonths = to.Ptr(int32(12))
	leafPolicy.LifetimeActions = []*azcertificates.LifetimeAction{{Trigger: &azcertificates.LifetimeActionTrigger{DaysBeforeExpiry: to.Ptr(int32(30))},
		Action: &azcertificates.LifetimeActionType{ActionType: to.Ptr(azcertificates.CertificatePolicyActionAutoRenew)}}}
	created, err := cc.CreateCertificate(ctx, "svc", azcertificates.CreateCertificateParameters{CertificatePolicy: leafPolicy}, nil)
	if err != nil {
		t.Fatal(err)
	}
	mustCompleted(t, created.CertificateOperation)
	caCert := getX509(t, cc, "internal-ca")
	first := getX509(t, cc, "svc")
	serveAndVerifyTLS(t, srv, "svc", caCert)

	// Renewal: move the clock inside the last 30 days, run the scheduler.
	clock.Advance(time.Until(first.NotAfter) - 20*24*time.Hour)
	if err := srv.App.RunScheduledJobs(ctx); err != nil {
		t.Fatal(err)
	}
	cc = certsClient(t, srv) // tokens of the old credential expired with the clock
	second := getX509(t, cc, "svc")
	if second.SerialNumber.Cmp(first.SerialNumber) == 0 || !second.NotAfter.After(first.NotAfter) {
		t.Fatalf("not renewed: %v → %v", first.NotAfter, second.NotAfter)
	}
	if err := second.CheckSignatureFrom(caCert); err != nil {
		t.Fatalf("renewed certificate is not signed by the CA: %v", err)
	}
	if err := srv.App.RunScheduledJobs(ctx); err != nil {
		t.Fatal(err)
	}
	if third := getX509(t, cc, "svc"); third.SerialNumber.Cmp(second.SerialNumber) != 0 {
		t.Fatal("renewed twice for one trigger")
	}

	// The CA's key is not exportable: its secret holds no private key.
	sc := secretsClient(t, srv, secretCredential(t, srv))
	sec, err := sc.GetSecret(ctx, "internal-ca", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := base64.StdEncoding.DecodeString(*sec.Value)
	if out := openssl(t, t.TempDir(), raw, "pkcs12", "-nodes", "-passin", "pass:"); strings.Contains(out, "PRIVATE KEY") {
		t.Fatal("non-exportable CA key leaked into its secret")
	}
}

func getX509(t *testing.T, cc *azcertificates.Client, name string) *x509.Certificate {
	t.Helper()
	got, err := cc.GetCertificate(context.Background(), name, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(got.CER)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// serveAndVerifyTLS loads the certificate's PFX secret into a Go TLS
// server and connects with a client that trusts only the CA.
func serveAndVerifyTLS(t *testing.T, srv *testenv.Server, name string, ca *x509.Certificate) {
	t.Helper()
	sc := secretsClient(t, srv, secretCredential(t, srv))
	sec, err := sc.GetSecret(context.Background(), name, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := base64.StdEncoding.DecodeString(*sec.Value)
	pair := pfxKeyPair(t, raw)
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{pair}})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	hs := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "ok") })}
	go hs.Serve(ln)
	defer hs.Close()
	pool := x509.NewCertPool()
	pool.AddCert(ca)
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, ServerName: "web.example.test"},
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, network, ln.Addr().String())
		}}}
	resp, err := client.Get("https://web.example.test/")
	if err != nil {
		t.Fatalf("TLS client does not accept the issued certificate: %v", err)
	}
	resp.Body.Close()
}

func pfxKeyPair(t *testing.T, pfx []byte) tls.Certificate {
	t.Helper()
	key, leaf, chain, err := pkcs12.DecodeChain(pfx, "")
	if err != nil {
		t.Fatalf("PFX: %v", err)
	}
	pair := tls.Certificate{Certificate: [][]byte{leaf.Raw}, PrivateKey: key, Leaf: leaf}
	for _, c := range chain {
		pair.Certificate = append(pair.Certificate, c.Raw)
	}
	return pair
}
