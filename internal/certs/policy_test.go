package certs

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/json"
	"math/big"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/keyhaven/keyhaven/internal/kverr"
)

func TestPolicyDefaults(t *testing.T) {
	p := Policy{Issuer: &IssuerParameters{Name: "self"}, X509Props: &X509Props{Subject: "CN=a"}}
	if err := p.normalize(true); err != nil {
		t.Fatal(err)
	}
	got, _ := json.Marshal(p)
	want := `{"key_props":{"exportable":true,"kty":"RSA","key_size":2048,"reuse_key":false},` +
		`"secret_props":{"contentType":"application/x-pkcs12"},` +
		`"x509_props":{"subject":"CN=a","ekus":["1.3.6.1.5.5.7.3.1","1.3.6.1.5.5.7.3.2"],"key_usage":["digitalSignature","keyEncipherment"],"validity_months":12,"basic_constraints":{"ca":false}},` +
		`"lifetime_actions":[{"trigger":{"lifetime_percentage":80},"action":{"action_type":"AutoRenew"}}],` +
		`"issuer":{"name":"Self"},"attributes":{"enabled":true}}`
	if string(got) != want {
		t.Fatalf("normalized policy\n got %s\nwant %s", got, want)
	}
	u := Policy{Issuer: &IssuerParameters{Name: "unknown"}, X509Props: &X509Props{Subject: "CN=a"}, KeyProps: &KeyProps{Kty: "EC"}}
	if err := u.normalize(true); err != nil {
		t.Fatal(err)
	}
	if u.LifetimeActions[0].Action.ActionType != ActionEmail || u.KeyProps.Curve != "P-256" || u.KeyProps.KeySize != nil ||
		!reflect.DeepEqual(u.X509Props.KeyUsage, []string{"digitalSignature"}) {
		t.Fatalf("Unknown/EC defaults: %+v %+v", u.LifetimeActions, u.KeyProps)
	}
}

func TestPolicyErrors(t *testing.T) {
	base := func() Policy {
		return Policy{Issuer: &IssuerParameters{Name: "Self"}, X509Props: &X509Props{Subject: "CN=a"}}
	}
	cases := map[string]func(*Policy){
		"no issuer":    func(p *Policy) { p.Issuer = nil },
		"no subject":   func(p *Policy) { p.X509Props.Subject = "" },
		"hsm":          func(p *Policy) { p.KeyProps = &KeyProps{Kty: "RSA-HSM"} },
		"oct":          func(p *Policy) { p.KeyProps = &KeyProps{Kty: "oct"} },
		"rsa size":     func(p *Policy) { p.KeyProps = &KeyProps{KeySize: ptr(1024)} },
		"ec size":      func(p *Policy) { p.KeyProps = &KeyProps{Kty: "EC", Curve: "P-256", KeySize: ptr(384)} },
		"rsa crv":      func(p *Policy) { p.KeyProps = &KeyProps{Curve: "P-256"} },
		"p256k":        func(p *Policy) { p.KeyProps = &KeyProps{Kty: "EC", Curve: "P-256K"} },
		"content type": func(p *Policy) { p.SecretProps = &SecretProps{ContentType: "text/plain"} },
		"validity":     func(p *Policy) { p.X509Props.ValidityMonths = ptr(1201) },
		"eku":          func(p *Policy) { p.X509Props.EKUs = []string{"1.3.6.1..1"} },
		"key usage":    func(p *Policy) { p.X509Props.KeyUsage = []string{"everything"} },
		"email":        func(p *Policy) { p.X509Props.SANs = &SANs{Emails: []string{"Ann <a@b.c>"}} },
		"upn":          func(p *Policy) { p.X509Props.SANs = &SANs{UPNs: []string{"@b"}} },
		"uri":          func(p *Policy) { p.X509Props.SANs = &SANs{URIs: []string{"relative/path"}} },
		"dns":          func(p *Policy) { p.X509Props.SANs = &SANs{DNSNames: []string{"a..b"}} },
		"two triggers": func(p *Policy) {
			p.LifetimeActions = []LifetimeAction{{Trigger: Trigger{LifetimePercentage: ptr(5), DaysBeforeExpiry: ptr(5)}, Action: Action{ActionType: "AutoRenew"}}}
		},
		"no trigger": func(p *Policy) { p.LifetimeActions = []LifetimeAction{{Action: Action{ActionType: "AutoRenew"}}} },
		"days too large": func(p *Policy) {
			p.LifetimeActions = []LifetimeAction{{Trigger: Trigger{DaysBeforeExpiry: ptr(400)}, Action: Action{ActionType: "AutoRenew"}}}
		},
		"bad action": func(p *Policy) {
			p.LifetimeActions = []LifetimeAction{{Trigger: Trigger{DaysBeforeExpiry: ptr(4)}, Action: Action{ActionType: "Rotate"}}}
		},
		"duplicate action": func(p *Policy) {
			a := LifetimeAction{Trigger: Trigger{DaysBeforeExpiry: ptr(4)}, Action: Action{ActionType: "AutoRenew"}}
			p.LifetimeActions = []LifetimeAction{a, a}
		},
		"bad issuer name": func(p *Policy) { p.Issuer.Name = "a b" },
		"country":         func(p *Policy) { p.X509Props.Subject = "CN=a, C=Netherlands" },
	}
	for name, mutate := range cases {
		p := base()
		mutate(&p)
		err := p.normalize(true)
		if e := kverr.As(err); e == nil || e.Kind != kverr.BadParameter {
			t.Errorf("%s: got %v, want BadParameter", name, err)
		}
	}
}

func TestPolicyMergeKeepsWhatIsNotGiven(t *testing.T) {
	p := Policy{Issuer: &IssuerParameters{Name: "Self"}, X509Props: &X509Props{Subject: "CN=a", SANs: &SANs{DNSNames: []string{"a"}}}}
	if err := p.normalize(true); err != nil {
		t.Fatal(err)
	}
	m := p.merge(&Policy{X509Props: &X509Props{ValidityMonths: ptr(3)}, KeyProps: &KeyProps{Kty: "EC"}})
	if err := m.normalize(false); err != nil {
		t.Fatal(err)
	}
	if m.X509Props.Subject != "CN=a" || *m.X509Props.ValidityMonths != 3 || m.X509Props.SANs.DNSNames[0] != "a" ||
		m.KeyProps.Kty != "EC" || m.KeyProps.Curve != "P-256" || m.KeyProps.KeySize != nil {
		t.Fatalf("merged: %+v %+v", m.X509Props, m.KeyProps)
	}
	if *p.X509Props.ValidityMonths != 12 || p.KeyProps.Kty != "RSA" {
		t.Fatal("merge changed the original")
	}
}

func TestDNRoundTrip(t *testing.T) {
	for _, s := range []string{"CN=a", "CN=www.contoso.com, O=Contoso, C=US", `CN="Doe, John", OU=R\+D`, "CN=a+UID=x, DC=example, DC=com", "E=a@b.c, CN=x"} {
		der, err := parseDN(s)
		if err != nil {
			t.Fatalf("%q: %v", s, err)
		}
		c := certWithSubject(t, der)
		again, err := parseDN(formatDN(c))
		if err != nil || string(again) != string(der) {
			t.Fatalf("%q formats as %q, which parses differently (%v)", s, formatDN(c), err)
		}
	}
	der, _ := parseDN("CN=leaf, O=Org, C=NL")
	var seq pkix.RDNSequence
	if _, err := asn1.Unmarshal(der, &seq); err != nil {
		t.Fatal(err)
	}
	if seq[0][0].Value != "NL" || seq[2][0].Value != "leaf" {
		t.Fatalf("DER order must be reversed: %v", seq)
	}
	for _, bad := range []string{"CN", "=x", "CN=", "XX=1", "CN=a,,O=b", `CN=a"b`, "CN=a\\"} {
		if _, err := parseDN(bad); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
}

func certWithSubject(t *testing.T, rawSubject []byte) *x509.Certificate {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: bigOne(), RawSubject: rawSubject, NotBefore: time.Now(), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := x509.ParseCertificate(der)
	return c
}

func TestTemplateExtensionsReadBack(t *testing.T) {
	p := Policy{Issuer: &IssuerParameters{Name: "Self"}, X509Props: &X509Props{Subject: "CN=svc",
		SANs:     &SANs{DNSNames: []string{"svc.local"}, Emails: []string{"a@b.c"}, UPNs: []string{"u@corp"}, IPAddresses: []string{"::1", "10.0.0.1"}, URIs: []string{"spiffe://corp/svc"}},
		KeyUsage: []string{"digitalSignature", "keyCertSign", "decipherOnly"}, EKUs: []string{"1.3.6.1.5.5.7.3.2", "1.2.3.4"}}}
	if err := p.normalize(true); err != nil {
		t.Fatal(err)
	}
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	c, err := selfSign(&p, key, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	x := policyFrom(c)
	if !reflect.DeepEqual(x.SANs, p.X509Props.SANs) || !reflect.DeepEqual(x.KeyUsage, p.X509Props.KeyUsage) ||
		!reflect.DeepEqual(x.EKUs, p.X509Props.EKUs) || !x.BasicConstraints.CA || x.Subject != "CN=svc" || *x.ValidityMonths != 12 {
		t.Fatalf("read back %+v %+v", x, x.SANs)
	}
	if c.KeyUsage != x509.KeyUsageDigitalSignature|x509.KeyUsageCertSign|x509.KeyUsageDecipherOnly || !c.IsCA || len(c.SubjectKeyId) != 20 {
		t.Fatalf("Go reads key usage %b, CA %v", c.KeyUsage, c.IsCA)
	}
	if err := c.CheckSignatureFrom(c); err != nil {
		t.Fatal(err)
	}
	csrDER, err := makeCSR(&p, key)
	if err != nil {
		t.Fatal(err)
	}
	csr, err := x509.ParseCertificateRequest(csrDER)
	if err != nil || csr.CheckSignature() != nil || csr.Subject.CommonName != "svc" || len(csr.DNSNames) != 1 || len(csr.Extensions) != 4 {
		t.Fatalf("CSR: %v %+v", err, csr)
	}
	if strings.Count(string(csrDER), "svc.local") != 1 {
		t.Fatal("CSR should carry the SAN once")
	}
}

func TestKeyOpsFollowKeyUsage(t *testing.T) {
	p := &Policy{X509Props: &X509Props{KeyUsage: []string{"digitalSignature", "keyEncipherment", "dataEncipherment"}}}
	if got := keyOps(p, "RSA"); !reflect.DeepEqual(got, []string{"sign", "verify", "wrapKey", "unwrapKey", "encrypt", "decrypt"}) {
		t.Fatalf("RSA ops %v", got)
	}
	if got := keyOps(p, "EC"); !reflect.DeepEqual(got, []string{"sign", "verify"}) {
		t.Fatalf("EC ops %v", got)
	}
}

func TestTriggerTimes(t *testing.T) {
	rec := &record{NotBefore: 1000, Expires: 1000 + 100*86400}
	if got := triggerTime(Trigger{LifetimePercentage: ptr(80)}, rec); got != 1000+80*86400 {
		t.Fatalf("percentage trigger %d", got)
	}
	if got := triggerTime(Trigger{DaysBeforeExpiry: ptr(30)}, rec); got != 1000+70*86400 {
		t.Fatalf("days trigger %d", got)
	}
	p := &Policy{LifetimeActions: []LifetimeAction{
		{Trigger: Trigger{DaysBeforeExpiry: ptr(30)}, Action: Action{ActionType: ActionAutoRenew}},
		{Trigger: Trigger{LifetimePercentage: ptr(50)}, Action: Action{ActionType: ActionEmail}}}}
	if r, n := dueAction(p, rec, time.Unix(1000+60*86400, 0)); r || !n {
		t.Fatalf("at 60%%: renew %v notify %v", r, n)
	}
	if r, n := dueAction(p, rec, time.Unix(1000+71*86400, 0)); !r || !n {
		t.Fatalf("at 71 days: renew %v notify %v", r, n)
	}
}

func bigOne() *big.Int { return big.NewInt(1) }

func TestEmptyListsSurviveStorage(t *testing.T) {
	var p Policy
	in := `{"issuer":{"name":"Self"},"x509_props":{"subject":"CN=ca","ekus":[],"key_usage":["keyCertSign"]},"lifetime_actions":[]}`
	if err := json.Unmarshal([]byte(in), &p); err != nil {
		t.Fatal(err)
	}
	if err := p.normalize(true); err != nil {
		t.Fatal(err)
	}
	stored, _ := json.Marshal(p)
	var back Policy
	if err := json.Unmarshal(stored, &back); err != nil {
		t.Fatal(err)
	}
	if err := back.normalize(true); err != nil {
		t.Fatal(err)
	}
	if len(back.X509Props.EKUs) != 0 || len(back.LifetimeActions) != 0 {
		t.Fatalf("defaults came back after storage: %s", stored)
	}
}
