package client

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"reflect"
	"strings"
	"testing"
)

func newTestCertificatesClient(t *testing.T, v *fakeVault) *CertificatesClient {
	t.Helper()
	c, err := NewCertificatesClient(v.url(), &fakeCredential{}, &ClientOptions{RootCAs: v.srv.roots})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

const (
	testCertID = "https://myvault.vault.localhost/certificates/c1/0123456789abcdef0123456789abcdef"
	// certBundleJSON is shaped like the spec's GetCertificate example: cer
	// in standard base64 (with + and /), x5t in base64url (with - and _).
	certBundleJSON = `{"id":"` + testCertID + `",
	  "kid":"https://myvault.vault.localhost/keys/c1/0123456789abcdef0123456789abcdef",
	  "sid":"https://myvault.vault.localhost/secrets/c1/0123456789abcdef0123456789abcdef",
	  "x5t":"-_8B","cer":"+/8B","contentType":"application/x-pkcs12",
	  "attributes":{"enabled":true,"nbf":1700000000,"exp":1731536000,"created":1700000100,"updated":1700000200,"recoverableDays":90,"recoveryLevel":"Recoverable+Purgeable"},
	  "tags":{"env":"dev"},
	  "policy":{"id":"https://myvault.vault.localhost/certificates/c1/policy",
	    "key_props":{"exportable":true,"kty":"RSA","key_size":2048,"reuse_key":false},
	    "secret_props":{"contentType":"application/x-pkcs12"},
	    "x509_props":{"subject":"CN=c1","ekus":["1.3.6.1.5.5.7.3.1"],"sans":{"dns_names":["c1.example"],"ipAddresses":["10.0.0.1"]},
	      "key_usage":["digitalSignature","keyEncipherment"],"validity_months":12,"basic_constraints":{"ca":false}},
	    "lifetime_actions":[{"trigger":{"lifetime_percentage":80},"action":{"action_type":"AutoRenew"}}],
	    "issuer":{"name":"Self"},
	    "attributes":{"enabled":true,"created":1700000000,"updated":1700000000}}}`
	certOperationJSON = `{"id":"https://myvault.vault.localhost/certificates/c1/pending","issuer":{"name":"Unknown"},
	  "csr":"+/8B","cancellation_requested":false,"status":"inProgress",
	  "status_details":"Pending certificate created. Please Perform Merge to complete the request.","request_id":"6faacd568ab049a2803861e8dd3ae21f"}`
)

func i32(v int32) *int32 { return &v }

func TestCertificateJSONMirrorsTheWire(t *testing.T) {
	var b CertificateBundle
	if err := json.Unmarshal([]byte(certBundleJSON), &b); err != nil {
		t.Fatal(err)
	}
	if b.ID != testCertID || string(b.Cer) != "\xfb\xff\x01" || string(b.X5t) != "\xfb\xff\x01" || b.Tags["env"] != "dev" {
		t.Fatalf("bundle %+v", b)
	}
	if a := b.Attributes; a == nil || !*a.Enabled || *a.NotBefore != 1700000000 || *a.Expires != 1731536000 || *a.RecoverableDays != 90 {
		t.Fatalf("attributes %+v", a)
	}
	p := b.Policy
	if p == nil || *p.KeyProps.KeySize != 2048 || p.X509Props.SANs.DNSNames[0] != "c1.example" || p.X509Props.SANs.IPAddresses[0] != "10.0.0.1" ||
		*p.X509Props.ValidityMonths != 12 || *p.LifetimeActions[0].Trigger.LifetimePercentage != 80 || p.Issuer.Name != "Self" ||
		p.X509Props.BasicConstraints == nil || p.X509Props.BasicConstraints.CA {
		t.Fatalf("policy %+v", p)
	}
	var op CertificateOperation
	if err := json.Unmarshal([]byte(certOperationJSON), &op); err != nil || string(op.CSR) != "\xfb\xff\x01" || op.Issuer.Name != "Unknown" || op.Status != "inProgress" {
		t.Fatalf("operation %+v %v", op, err)
	}
	// A policy goes out with the wire's snake_case names and nothing else.
	out, err := json.Marshal(CertificatePolicy{
		KeyProps:        &CertificateKeyProperties{Kty: "EC", Curve: "P-256"},
		X509Props:       &X509CertificateProperties{Subject: "CN=a", SANs: &SubjectAlternativeNames{Emails: []string{"a@b"}, UPNs: []string{"u"}, URIs: []string{"https://a"}}, KeyUsage: []string{"keyCertSign"}, ValidityMonths: i32(24)},
		LifetimeActions: []CertificateLifetimeAction{{Trigger: CertificateTrigger{DaysBeforeExpiry: i32(30)}, Action: CertificateAction{ActionType: "EmailContacts"}}},
		Issuer:          &IssuerParameters{Name: "Unknown", CertificateType: "OV-SSL"},
	})
	want := `{"key_props":{"kty":"EC","crv":"P-256"},"x509_props":{"subject":"CN=a","sans":{"emails":["a@b"],"upns":["u"],"uris":["https://a"]},"key_usage":["keyCertSign"],"validity_months":24},` +
		`"lifetime_actions":[{"trigger":{"days_before_expiry":30},"action":{"action_type":"EmailContacts"}}],"issuer":{"name":"Unknown","cty":"OV-SSL"}}`
	if err != nil || string(out) != want {
		t.Errorf("policy JSON\n got %s\nwant %s", out, want)
	}
	// A deleted certificate's dates are Unix seconds.
	var d CertificateBundle
	if err := json.Unmarshal([]byte(`{"id":"x","recoveryId":"r","deletedDate":1700000000,"scheduledPurgeDate":1707776000}`), &d); err != nil ||
		d.RecoveryID != "r" || d.DeletedDate != 1700000000 || d.ScheduledPurgeDate != 1707776000 {
		t.Errorf("deleted %+v %v", d, err)
	}
}

func TestCertificateRequestBodies(t *testing.T) {
	enabled := false
	tests := []struct {
		name     string
		call     func(ctx context.Context, c *CertificatesClient) error
		route    string
		wantBody string
	}{
		{"create", func(ctx context.Context, c *CertificatesClient) error {
			_, err := c.CreateCertificate(ctx, "c1", CertificateCreateParameters{
				Policy:     &CertificatePolicy{Issuer: &IssuerParameters{Name: "Self"}, X509Props: &X509CertificateProperties{Subject: "CN=c1"}},
				Attributes: &CertificateAttributes{Enabled: &enabled}, Tags: map[string]string{"a": "1"}})
			return err
		}, "POST /certificates/c1/create", `{"policy":{"x509_props":{"subject":"CN=c1"},"issuer":{"name":"Self"}},"attributes":{"enabled":false},"tags":{"a":"1"}}`},
		{"create reusing the policy", func(ctx context.Context, c *CertificatesClient) error {
			_, err := c.CreateCertificate(ctx, "c1", CertificateCreateParameters{})
			return err
		}, "POST /certificates/c1/create", `{}`},
		{"import", func(ctx context.Context, c *CertificatesClient) error {
			_, err := c.ImportCertificate(ctx, "c1", CertificateImportParameters{Value: "MIIK", Password: "pw",
				Policy: &CertificatePolicy{SecretProps: &CertificateSecretProps{ContentType: "application/x-pkcs12"}}})
			return err
		}, "POST /certificates/c1/import", `{"value":"MIIK","pwd":"pw","policy":{"secret_props":{"contentType":"application/x-pkcs12"}}}`},
		{"merge sends x5c in standard base64", func(ctx context.Context, c *CertificatesClient) error {
			_, err := c.MergeCertificate(ctx, "c1", CertificateMergeParameters{X5C: [][]byte{{0xfb, 0xff}, {1}}})
			return err
		}, "POST /certificates/c1/pending/merge", `{"x5c":["+/8=","AQ=="]}`},
		{"get latest", func(ctx context.Context, c *CertificatesClient) error {
			_, err := c.GetCertificate(ctx, "c1", "")
			return err
		},
			"GET /certificates/c1/", ""},
		{"get version", func(ctx context.Context, c *CertificatesClient) error {
			_, err := c.GetCertificate(ctx, "c1", "abc")
			return err
		},
			"GET /certificates/c1/abc", ""},
		{"update clears tags", func(ctx context.Context, c *CertificatesClient) error {
			_, err := c.UpdateCertificateProperties(ctx, "c1", "", CertificateUpdateParameters{Tags: map[string]string{}})
			return err
		}, "PATCH /certificates/c1/", `{"tags":{}}`},
		{"update enabled", func(ctx context.Context, c *CertificatesClient) error {
			_, err := c.UpdateCertificateProperties(ctx, "c1", "v1", CertificateUpdateParameters{Attributes: &CertificateAttributes{Enabled: &enabled}})
			return err
		}, "PATCH /certificates/c1/v1", `{"attributes":{"enabled":false}}`},
		{"update policy", func(ctx context.Context, c *CertificatesClient) error {
			_, err := c.UpdateCertificatePolicy(ctx, "c1", CertificatePolicy{X509Props: &X509CertificateProperties{ValidityMonths: i32(6)}})
			return err
		}, "PATCH /certificates/c1/policy", `{"x509_props":{"validity_months":6}}`},
		{"get policy", func(ctx context.Context, c *CertificatesClient) error {
			_, err := c.GetCertificatePolicy(ctx, "c1")
			return err
		},
			"GET /certificates/c1/policy", ""},
		{"get operation", func(ctx context.Context, c *CertificatesClient) error {
			_, err := c.GetCertificateOperation(ctx, "c1")
			return err
		},
			"GET /certificates/c1/pending", ""},
		{"cancel operation", func(ctx context.Context, c *CertificatesClient) error {
			_, err := c.CancelCertificateOperation(ctx, "c1")
			return err
		},
			"PATCH /certificates/c1/pending", `{"cancellation_requested":true}`},
		{"delete operation", func(ctx context.Context, c *CertificatesClient) error {
			_, err := c.DeleteCertificateOperation(ctx, "c1")
			return err
		},
			"DELETE /certificates/c1/pending", ""},
		{"delete", func(ctx context.Context, c *CertificatesClient) error {
			_, err := c.DeleteCertificate(ctx, "c1")
			return err
		},
			"DELETE /certificates/c1", ""},
		{"get deleted", func(ctx context.Context, c *CertificatesClient) error {
			_, err := c.GetDeletedCertificate(ctx, "c1")
			return err
		},
			"GET /deletedcertificates/c1", ""},
		{"recover", func(ctx context.Context, c *CertificatesClient) error {
			_, err := c.RecoverDeletedCertificate(ctx, "c1")
			return err
		},
			"POST /deletedcertificates/c1/recover", ""},
		{"restore", func(ctx context.Context, c *CertificatesClient) error {
			_, err := c.RestoreCertificate(ctx, []byte{0xfb, 0xff})
			return err
		},
			"POST /certificates/restore", `{"value":"-_8"}`},
		{"set issuer", func(ctx context.Context, c *CertificatesClient) error {
			_, err := c.SetCertificateIssuer(ctx, "ca1", IssuerBundle{Provider: "PrivateCA", Credentials: &IssuerCredentials{AccountID: "root", Password: "pw"},
				OrgDetails: &OrganizationDetails{ID: "o", AdminDetails: []AdministratorDetails{{FirstName: "A", Email: "a@b"}}}})
			return err
		}, "PUT /certificates/issuers/ca1", `{"provider":"PrivateCA","credentials":{"account_id":"root","pwd":"pw"},"org_details":{"id":"o","admin_details":[{"first_name":"A","email":"a@b"}]}}`},
		{"update issuer", func(ctx context.Context, c *CertificatesClient) error {
			_, err := c.UpdateCertificateIssuer(ctx, "ca1", IssuerBundle{Attributes: &IssuerAttributes{Enabled: &enabled}})
			return err
		}, "PATCH /certificates/issuers/ca1", `{"attributes":{"enabled":false}}`},
		{"get issuer", func(ctx context.Context, c *CertificatesClient) error {
			_, err := c.GetCertificateIssuer(ctx, "ca1")
			return err
		},
			"GET /certificates/issuers/ca1", ""},
		{"delete issuer", func(ctx context.Context, c *CertificatesClient) error {
			_, err := c.DeleteCertificateIssuer(ctx, "ca1")
			return err
		},
			"DELETE /certificates/issuers/ca1", ""},
		{"set contacts", func(ctx context.Context, c *CertificatesClient) error {
			_, err := c.SetCertificateContacts(ctx, []Contact{{Email: "a@b", Name: "A"}})
			return err
		}, "PUT /certificates/contacts", `{"contacts":[{"email":"a@b","name":"A"}]}`},
		{"set no contacts", func(ctx context.Context, c *CertificatesClient) error {
			_, err := c.SetCertificateContacts(ctx, nil)
			return err
		},
			"PUT /certificates/contacts", `{"contacts":[]}`},
		{"get contacts", func(ctx context.Context, c *CertificatesClient) error {
			_, err := c.GetCertificateContacts(ctx)
			return err
		},
			"GET /certificates/contacts", ""},
		{"delete contacts", func(ctx context.Context, c *CertificatesClient) error {
			_, err := c.DeleteCertificateContacts(ctx)
			return err
		},
			"DELETE /certificates/contacts", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := newFakeVault(t)
			v.routes[tt.route] = answer(200, certBundleJSON)
			if err := tt.call(context.Background(), newTestCertificatesClient(t, v)); err != nil {
				t.Fatal(err)
			}
			got := lastRequest(t, v)
			if got.Method+" "+got.Path != tt.route || got.Query != "api-version=7.6" || got.Body != tt.wantBody {
				t.Errorf("request %s %s?%s %s\nwant %s %s", got.Method, got.Path, got.Query, got.Body, tt.route, tt.wantBody)
			}
		})
	}
}

func TestCertificateResults(t *testing.T) {
	v := newFakeVault(t)
	c := newTestCertificatesClient(t, v)
	ctx := context.Background()
	v.routes["POST /certificates/c1/create"] = answer(202, certOperationJSON)
	v.routes["POST /certificates/c1/pending/merge"] = answer(201, certBundleJSON)
	v.routes["POST /certificates/c1/backup"] = answer(200, `{"value":"-_8"}`)
	v.routes["DELETE /deletedcertificates/c1"] = func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(204) }
	v.routes["GET /certificates/contacts"] = answer(200, `{"id":"https://myvault.vault.localhost/certificates/contacts","contacts":[{"email":"a@b","name":"A","phone":"1"}]}`)
	v.routes["GET /certificates/issuers/ca1"] = answer(200, `{"id":"https://myvault.vault.localhost/certificates/issuers/ca1","provider":"PrivateCA",
	  "credentials":{"account_id":"root"},"attributes":{"enabled":true,"created":1700000000,"updated":1700000001}}`)

	op, err := c.CreateCertificate(ctx, "c1", CertificateCreateParameters{})
	if err != nil || op.Status != "inProgress" || op.RequestID != "6faacd568ab049a2803861e8dd3ae21f" || len(op.CSR) != 3 {
		t.Errorf("CreateCertificate: %+v %v", op, err)
	}
	b, err := c.MergeCertificate(ctx, "c1", CertificateMergeParameters{X5C: [][]byte{{1}}})
	if err != nil || b.ID != testCertID {
		t.Errorf("MergeCertificate: %+v %v", b, err)
	}
	blob, err := c.BackupCertificate(ctx, "c1")
	if err != nil || string(blob) != "\xfb\xff" {
		t.Errorf("BackupCertificate: %x %v", blob, err)
	}
	if err := c.PurgeDeletedCertificate(ctx, "c1"); err != nil {
		t.Errorf("PurgeDeletedCertificate: %v", err)
	}
	cs, err := c.GetCertificateContacts(ctx)
	if err != nil || !reflect.DeepEqual(cs.Contacts, []Contact{{Email: "a@b", Name: "A", Phone: "1"}}) {
		t.Errorf("GetCertificateContacts: %+v %v", cs, err)
	}
	is, err := c.GetCertificateIssuer(ctx, "ca1")
	if err != nil || is.Provider != "PrivateCA" || is.Credentials.AccountID != "root" || *is.Attributes.Updated != 1700000001 {
		t.Errorf("GetCertificateIssuer: %+v %v", is, err)
	}
}

func TestCertificateErrorsAndNames(t *testing.T) {
	v := newFakeVault(t)
	c := newTestCertificatesClient(t, v)
	ctx := context.Background()
	v.routes["GET /certificates/c1/pending"] = answer(404, `{"error":{"code":"PendingCertificateNotFound","message":"Pending certificate not found: c1"}}`)
	_, err := c.GetCertificateOperation(ctx, "c1")
	var re *ResponseError
	if !errors.As(err, &re) || re.StatusCode != 404 || re.Code != "PendingCertificateNotFound" {
		t.Errorf("err = %v", err)
	}
	n := len(v.requests())
	for _, call := range []func() error{
		func() error { _, err := c.GetCertificate(ctx, "a/b", ""); return err },
		func() error { _, err := c.GetCertificate(ctx, "a", "../x"); return err },
		func() error { _, err := c.CreateCertificate(ctx, "a?b", CertificateCreateParameters{}); return err },
		func() error { _, err := c.GetCertificateIssuer(ctx, ""); return err },
		func() error { _, err := c.SetCertificateIssuer(ctx, "x/../y", IssuerBundle{}); return err },
		func() error {
			for _, err := range c.ListCertificateVersions(ctx, "", nil) {
				return err
			}
			return nil
		},
	} {
		if err := call(); err == nil || !strings.Contains(err.Error(), "invalid") {
			t.Errorf("err = %v, want an invalid name or version", err)
		}
	}
	if len(v.requests()) != n {
		t.Error("an invalid name reached the server")
	}
}

func TestListCertificatesPages(t *testing.T) {
	v := newFakeVault(t)
	c := newTestCertificatesClient(t, v)
	v.routes["GET /certificates"] = func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("$skiptoken") == "" {
			writeJSON(w, 200, `{"value":[{"id":"https://myvault.vault.localhost/certificates/a","x5t":"AQ","attributes":{"enabled":true}}],
			  "nextLink":"https://myvault.vault.localhost:`+v.srv.port+`/certificates?api-version=7.6&$skiptoken=2&maxresults=1"}`)
			return
		}
		writeJSON(w, 200, `{"value":[{"id":"https://myvault.vault.localhost/certificates/b"}],"nextLink":null}`)
	}
	v.routes["GET /deletedcertificates"] = answer(200, `{"value":[{"id":"https://myvault.vault.localhost/certificates/d","recoveryId":"https://myvault.vault.localhost/deletedcertificates/d","deletedDate":1700000000}]}`)
	v.routes["GET /certificates/a/versions"] = answer(200, `{"value":[{"id":"https://myvault.vault.localhost/certificates/a/v1"}]}`)
	v.routes["GET /certificates/issuers"] = answer(200, `{"value":[{"id":"https://myvault.vault.localhost/certificates/issuers/ca1","provider":"PrivateCA"}]}`)
	var ids []string
	for b, err := range c.ListCertificates(context.Background(), &ListOptions{MaxResults: 1}) {
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, b.ID)
	}
	if !reflect.DeepEqual(ids, []string{"https://myvault.vault.localhost/certificates/a", "https://myvault.vault.localhost/certificates/b"}) {
		t.Errorf("ids %v", ids)
	}
	if q := v.requests()[1].Query; q != "api-version=7.6&maxresults=1" {
		t.Errorf("first page query %q", q)
	}
	for b, err := range c.ListDeletedCertificates(context.Background(), nil) {
		if err != nil || b.RecoveryID != "https://myvault.vault.localhost/deletedcertificates/d" || b.DeletedDate != 1700000000 {
			t.Errorf("deleted %+v %v", b, err)
		}
	}
	for b, err := range c.ListCertificateVersions(context.Background(), "a", nil) {
		if err != nil || b.ID != "https://myvault.vault.localhost/certificates/a/v1" {
			t.Errorf("version %+v %v", b, err)
		}
	}
	for is, err := range c.ListCertificateIssuers(context.Background(), nil) {
		if err != nil || is.Provider != "PrivateCA" {
			t.Errorf("issuer %+v %v", is, err)
		}
	}
}

func TestParseCertificateID(t *testing.T) {
	tests := []struct {
		id, vault, name, version string
		ok                       bool
	}{
		{"https://v.vault.localhost:8443/certificates/c", "https://v.vault.localhost:8443", "c", "", true},
		{"https://v.vault.localhost/certificates/c/0123", "https://v.vault.localhost", "c", "0123", true},
		{"https://v.vault.localhost/certificates/c/", "https://v.vault.localhost", "c", "", true},
		{"https://v.vault.localhost/deletedcertificates/c", "https://v.vault.localhost", "c", "", true},
		{"https://v.vault.localhost/Certificates/c", "https://v.vault.localhost", "c", "", true},
		{"https://v.vault.localhost/keys/c", "", "", "", false},
		{"https://v.vault.localhost/deletedcertificates/c/v", "", "", "", false},
		{"https://v.vault.localhost/certificates/c/v/x", "", "", "", false},
		{"https://v.vault.localhost/certificates", "", "", "", false},
		{"https://v.vault.localhost/certificates/c?x=1", "", "", "", false},
		{"certificates/c", "", "", "", false},
	}
	for _, tt := range tests {
		vault, name, version, err := ParseCertificateID(tt.id)
		if (err == nil) != tt.ok || vault != tt.vault || name != tt.name || version != tt.version {
			t.Errorf("ParseCertificateID(%q) = %q, %q, %q, %v", tt.id, vault, name, version, err)
		}
	}
}
