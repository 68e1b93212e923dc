package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azcertificates"
	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azkeys"
	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azsecrets"

	"github.com/keyhaven/keyhaven/internal/audit"
	"github.com/keyhaven/keyhaven/internal/testenv"
)

// TestAuditRecordsEveryRequest drives successes, 401, 403, 404 and 400
// through the server, stops it, and reads its audit log: one record per
// request with who, what, where and the result; a valid signed chain; and
// none of the values, secrets or tokens the test used.
func TestAuditRecordsEveryRequest(t *testing.T) {
	srv := testenv.StartDev(t)
	ctx := context.Background()
	sc := secretsClient(t, srv, secretCredential(t, srv))
	const value = "audit-secret-value-7f3c91"
	if _, err := sc.SetSecret(ctx, "db-password", azsecrets.SetSecretParameters{Value: to.Ptr(value)}, nil); err != nil {
		t.Fatal(err)
	}
	got, err := sc.GetSecret(ctx, "db-password", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = sc.GetSecret(ctx, "missing", "", nil)
	kc := keysClient(t, srv)
	if _, err := kc.CreateKey(ctx, "k", azkeys.CreateKeyParameters{Kty: to.Ptr(azkeys.KeyTypeEC)}, nil); err != nil {
		t.Fatal(err)
	}
	cc := certsClient(t, srv)
	if _, err := cc.CreateCertificate(ctx, "c", azcertificates.CreateCertificateParameters{CertificatePolicy: webPolicy()}, nil); err != nil {
		t.Fatal(err)
	}
	certSecret, err := sc.GetSecret(ctx, "c", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	r := newRaw(t, srv)
	if rep := r.do("GET", "/secrets/db-password?api-version=7.6", "", false); rep.status != 401 {
		t.Fatalf("no token: %d", rep.status)
	}
	if rep := r.do("PUT", "/secrets/x?api-version=7.6", `{"value":`, true); rep.status != 400 {
		t.Fatalf("bad JSON: %d", rep.status)
	}
	clientID, appSecret := srv.CreateApp(t, "no-roles")
	denied := &raw{t: t, srv: srv}
	denied.token = denied.fetchToken(clientID, appSecret, "https://vault.localhost/.default")
	if rep := denied.do("GET", "/secrets/db-password?api-version=7.6", "", true); rep.status != 403 {
		t.Fatalf("no role: %d", rep.status)
	}

	sctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := srv.App.Shutdown(sctx); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(srv.Info.AuditFile)
	if err != nil {
		t.Fatal(err)
	}

	// Nothing sensitive: no secret value, no certificate secret, no client
	// secret, no token.
	for name, s := range map[string]string{"secret value": value, "certificate secret": (*certSecret.Value)[:64],
		"client secret": srv.Info.ClientSecret, "app secret": appSecret, "token": r.token[len(r.token)-40:]} {
		if bytes.Contains(data, []byte(s)) {
			t.Errorf("the audit log contains the %s", name)
		}
	}
	_ = got

	pubPEM, err := os.ReadFile(srv.Info.AuditKeyFile)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := audit.ParsePublicKey(pubPEM)
	if err != nil {
		t.Fatal(err)
	}
	v := audit.NewVerifier(pub)
	if err := v.Read("audit.log", bytes.NewReader(data)); err != nil {
		t.Fatal(err)
	}
	if rep := v.Report(); !rep.OK() {
		t.Fatalf("the audit log does not verify: %+v", rep)
	}

	recs := readRecords(t, data)
	want := []struct {
		op     string
		status int
		caller string
		object string
	}{
		{"SetSecret", 200, srv.Info.ClientID, "/secrets/db-password"},
		{"GetSecret", 200, srv.Info.ClientID, "/secrets/db-password"},
		{"GetSecret", 404, srv.Info.ClientID, "/secrets/missing"},
		{"CreateKey", 200, srv.Info.ClientID, "/keys/k/create"},
		{"CreateCertificate", 202, srv.Info.ClientID, "/certificates/c/create"},
		{"GetSecret", 401, "", "/secrets/db-password"},
		{"SetSecret", 400, srv.Info.ClientID, "/secrets/x"},
		{"GetSecret", 403, clientID, "/secrets/db-password"},
	}
	for _, w := range want {
		if !hasRecord(recs, w.op, w.status, w.caller, w.object) {
			t.Errorf("no audit record %s %d by %q on %s", w.op, w.status, w.caller, w.object)
		}
	}
	for _, rec := range recs {
		if rec.Category != audit.CategoryAuditEvent || rec.CallerIPAddress != "127.0.0.1" || rec.Properties.RequestID == "" ||
			rec.Time.IsZero() || rec.ResultSignature == "" {
			t.Fatalf("incomplete record: %+v", rec)
		}
		if rec.ResourceID == "/vaults/dev" && rec.OperationVersion == "" && rec.Properties.HTTPStatusCode != 401 {
			t.Errorf("data-plane record without api-version: %+v", rec)
		}
	}
}

func readRecords(t *testing.T, data []byte) []audit.Record {
	t.Helper()
	var out []audit.Record
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var r audit.Record
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatal(err)
		}
		if r.Category == audit.CategoryAuditEvent {
			out = append(out, r)
		}
	}
	return out
}

func hasRecord(recs []audit.Record, op string, status int, caller, object string) bool {
	for _, r := range recs {
		appID := ""
		if r.Identity != nil {
			appID = r.Identity.Claim.AppID
		}
		if r.OperationName == op && r.Properties.HTTPStatusCode == status && appID == caller &&
			strings.Contains(r.Properties.ID, object) && r.ResultType == audit.ResultType(status) {
			return true
		}
	}
	return false
}
