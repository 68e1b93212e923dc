package e2e

import (
	"context"
	"strings"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azcertificates"

	"github.com/keyhaven/keyhaven/internal/testenv"
)

func TestCertificateIssuersAndContacts(t *testing.T) {
	srv := testenv.StartDev(t)
	cc := certsClient(t, srv)
	ctx := context.Background()

	_, err := cc.GetContacts(ctx, nil)
	wantCode(t, err, 404, "ContactsNotFound")
	set, err := cc.SetContacts(ctx, azcertificates.Contacts{ContactList: []*azcertificates.Contact{
		{Email: to.Ptr("pki@example.test"), Name: to.Ptr("PKI team"), Phone: to.Ptr("+31 20 000 0000")}}}, nil)
	if err != nil || len(set.ContactList) != 1 || !strings.HasSuffix(*set.ID, "/certificates/contacts") {
		t.Fatalf("SetContacts: %v", err)
	}
	_, err = cc.SetContacts(ctx, azcertificates.Contacts{ContactList: []*azcertificates.Contact{{Email: to.Ptr("not an address")}}}, nil)
	wantCode(t, err, 400, "BadParameter")
	got, err := cc.GetContacts(ctx, nil)
	if err != nil || *got.ContactList[0].Email != "pki@example.test" {
		t.Fatalf("GetContacts: %v", err)
	}
	if _, err := cc.DeleteContacts(ctx, nil); err != nil {
		t.Fatal(err)
	}
	_, err = cc.GetContacts(ctx, nil)
	wantCode(t, err, 404, "ContactsNotFound")

	iss, err := cc.SetIssuer(ctx, "digicert", azcertificates.SetIssuerParameters{Provider: to.Ptr("DigiCert"),
		Credentials: &azcertificates.IssuerCredentials{AccountID: to.Ptr("acct-1"), Password: to.Ptr("issuer-password-value")},
		OrganizationDetails: &azcertificates.OrganizationDetails{ID: to.Ptr("org-1"), AdminContacts: []*azcertificates.AdministratorContact{
			{FirstName: to.Ptr("Ada"), LastName: to.Ptr("L"), Email: to.Ptr("ada@example.test")}}}}, nil)
	if err != nil || *iss.Provider != "DigiCert" || iss.Credentials.Password != nil || *iss.Credentials.AccountID != "acct-1" || !*iss.Attributes.Enabled {
		t.Fatalf("SetIssuer: %v", err)
	}
	upd, err := cc.UpdateIssuer(ctx, "digicert", azcertificates.UpdateIssuerParameters{Attributes: &azcertificates.IssuerAttributes{Enabled: to.Ptr(false)}}, nil)
	if err != nil || *upd.Attributes.Enabled || *upd.Credentials.AccountID != "acct-1" || *upd.OrganizationDetails.ID != "org-1" {
		t.Fatalf("UpdateIssuer: %v", err)
	}
	pager := cc.NewListIssuerPropertiesPager(nil)
	page, err := pager.NextPage(ctx)
	if err != nil || len(page.Value) != 1 || *page.Value[0].Provider != "DigiCert" {
		t.Fatalf("list issuers: %v", err)
	}
	// The issuer's password never comes back, not even in the raw JSON.
	if body := newRaw(t, srv).do("GET", "/certificates/issuers/digicert?api-version=7.6", "", true).text; strings.Contains(body, "issuer-password-value") || strings.Contains(body, "pwd") {
		t.Fatalf("issuer password returned: %s", body)
	}
	// A certificate whose issuer cannot be reached fails with the CSR kept for a merge.
	pol := webPolicy()
	pol.IssuerParameters.Name = to.Ptr("digicert")
	created, err := cc.CreateCertificate(ctx, "via-partner", azcertificates.CreateCertificateParameters{CertificatePolicy: pol}, nil)
	if err != nil || *created.Status != "failed" || created.Error == nil || len(created.CSR) == 0 {
		t.Fatalf("partner issuer: %v %+v", err, created.CertificateOperation)
	}
	if _, err := cc.DeleteIssuer(ctx, "digicert", nil); err != nil {
		t.Fatal(err)
	}
	_, err = cc.GetIssuer(ctx, "digicert", nil)
	wantCode(t, err, 404, "CertificateIssuerNotFound")
	_, err = cc.SetIssuer(ctx, "Self", azcertificates.SetIssuerParameters{Provider: to.Ptr("x")}, nil)
	wantCode(t, err, 400, "BadParameter")
}

func TestCertificateBadPoliciesChangeNothing(t *testing.T) {
	srv := testenv.StartDev(t)
	cc := certsClient(t, srv)
	ctx := context.Background()
	bad := map[string]func(p *azcertificates.CertificatePolicy){
		"no-issuer": func(p *azcertificates.CertificatePolicy) { p.IssuerParameters = nil },
		"rsa-1024": func(p *azcertificates.CertificatePolicy) {
			p.KeyProperties = &azcertificates.KeyProperties{KeySize: to.Ptr(int32(1024))}
		},
		"bad-curve": func(p *azcertificates.CertificatePolicy) {
			p.KeyProperties = &azcertificates.KeyProperties{KeyType: to.Ptr(azcertificates.KeyTypeEC), Curve: to.Ptr(azcertificates.CurveNameP256K)}
		},
		"bad-content": func(p *azcertificates.CertificatePolicy) {
			p.SecretProperties = &azcertificates.SecretProperties{ContentType: to.Ptr("text/plain")}
		},
		"bad-subject": func(p *azcertificates.CertificatePolicy) {
			p.X509CertificateProperties.Subject = to.Ptr("no equals sign")
		},
		"bad-dns": func(p *azcertificates.CertificatePolicy) {
			p.X509CertificateProperties.SubjectAlternativeNames.DNSNames = []*string{to.Ptr("bad host")}
		},
		"bad-ip": func(p *azcertificates.CertificatePolicy) {
			p.X509CertificateProperties.SubjectAlternativeNames.IPAddresses = []*string{to.Ptr("300.1.1.1")}
		},
		"bad-eku": func(p *azcertificates.CertificatePolicy) {
			p.X509CertificateProperties.EnhancedKeyUsage = []*string{to.Ptr("serverAuth")}
		},
		"bad-usage": func(p *azcertificates.CertificatePolicy) {
			p.X509CertificateProperties.KeyUsage = []*azcertificates.KeyUsageType{to.Ptr(azcertificates.KeyUsageType("signEverything"))}
		},
		"zero-validity": func(p *azcertificates.CertificatePolicy) {
			p.X509CertificateProperties.ValidityInMonths = to.Ptr(int32(0))
		},
		"bad-lifetime": func(p *azcertificates.CertificatePolicy) {
			p.LifetimeActions = []*azcertificates.LifetimeAction{{Trigger: &azcertificates.LifetimeActionTrigger{LifetimePercentage: to.Ptr(int32(100))}, Action: &azcertificates.LifetimeActionType{ActionType: to.Ptr(azcertificates.CertificatePolicyActionAutoRenew)}}}
		},
		"unknown-renews": func(p *azcertificates.CertificatePolicy) {
			p.IssuerParameters.Name = to.Ptr("Unknown")
			p.LifetimeActions = []*azcertificates.LifetimeAction{{Trigger: &azcertificates.LifetimeActionTrigger{LifetimePercentage: to.Ptr(int32(80))}, Action: &azcertificates.LifetimeActionType{ActionType: to.Ptr(azcertificates.CertificatePolicyActionAutoRenew)}}}
		},
	}
	for name, mutate := range bad {
		p := webPolicy()
		mutate(p)
		_, err := cc.CreateCertificate(ctx, name, azcertificates.CreateCertificateParameters{CertificatePolicy: p}, nil)
		wantCode(t, err, 400, "BadParameter")
		_, err = cc.GetCertificateOperation(ctx, name, nil)
		wantCode(t, err, 404, "PendingCertificateNotFound")
	}
	_, err := cc.CreateCertificate(ctx, "nopolicy", azcertificates.CreateCertificateParameters{}, nil)
	wantCode(t, err, 400, "BadParameter")
	for _, name := range []string{"bad_name", "contacts", "Issuers"} {
		_, err = cc.CreateCertificate(ctx, name, azcertificates.CreateCertificateParameters{CertificatePolicy: webPolicy()}, nil)
		wantCode(t, err, 400, "BadParameter")
	}
	pager := cc.NewListCertificatePropertiesPager(nil)
	page, err := pager.NextPage(ctx)
	if err != nil || len(page.Value) != 0 {
		t.Fatalf("bad requests created certificates: %v %d", err, len(page.Value))
	}
	// Malformed JSON and wrong types are refused before the service.
	for _, body := range []string{`{"policy":`, `{"policy":{"key_props":{"key_size":"big"}}}`, `{"policy":{"x509_props":{"ekus":"1.2"}}}`} {
		if rep := newRaw(t, srv).do("POST", "/certificates/x/create?api-version=7.6", body, true); rep.status != 400 || rep.code() != "BadParameter" {
			t.Errorf("%s: status %d %s", body, rep.status, rep.code())
		}
	}
}
