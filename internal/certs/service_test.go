package certs

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/json"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/keyhaven/keyhaven/internal/barrier"
	"github.com/keyhaven/keyhaven/internal/events"
	"github.com/keyhaven/keyhaven/internal/keys"
	"github.com/keyhaven/keyhaven/internal/kverr"
	"github.com/keyhaven/keyhaven/internal/objects"
	"github.com/keyhaven/keyhaven/internal/secrets"
	"github.com/keyhaven/keyhaven/internal/storage/memory"
	"github.com/keyhaven/keyhaven/internal/vaults"
)

// testClock is a settable clock.
type testClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *testClock) advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

func newTestService(t testing.TB) (*Service, *vaults.Vault, *barrier.Barrier, *testClock) {
	t.Helper()
	ctx := context.Background()
	b := barrier.New(memory.New())
	if err := b.Initialize(ctx, barrier.NewDevSeal()); err != nil {
		t.Fatal(err)
	}
	clock := &testClock{now: time.Now()}
	v, err := vaults.New(b, clock.Now).Create(ctx, vaults.Spec{Name: "test"})
	if err != nil {
		t.Fatal(err)
	}
	ks, ss := keys.New(b, clock.Now), secrets.New(b, clock.Now)
	return New(b, ks, ss, clock.Now), v, b, clock
}

func ecPolicy(issuer string, actions ...LifetimeAction) *Policy {
	return &Policy{Issuer: &IssuerParameters{Name: issuer}, KeyProps: &KeyProps{Kty: "EC"},
		X509Props: &X509Props{Subject: "CN=t", ValidityMonths: ptr(12)}, LifetimeActions: actions}
}

func outbox(t *testing.T, b *barrier.Barrier) []events.Event {
	t.Helper()
	var out []events.Event
	err := b.View(context.Background(), func(tx *barrier.Tx) error {
		return tx.Scan(events.Prefix, "", func(_ string, val []byte) (bool, error) {
			var e events.Event
			if err := json.Unmarshal(val, &e); err != nil {
				return false, err
			}
			out = append(out, e)
			return true, nil
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func countEvents(evs []events.Event, typ string) int {
	n := 0
	for _, e := range evs {
		if e.Type == typ && e.Data.ObjectType == "Certificate" {
			n++
		}
	}
	return n
}

func TestEmailContactsRecordsNearExpiryOncePerVersion(t *testing.T) {
	s, v, b, clock := newTestService(t)
	ctx := context.Background()
	email := LifetimeAction{Trigger: Trigger{DaysBeforeExpiry: ptr(30)}, Action: Action{ActionType: ActionEmail}}
	if _, err := s.Create(ctx, v, "mail", CreateParams{Policy: ecPolicy(IssuerSelf, email)}); err != nil {
		t.Fatal(err)
	}
	if n := countEvents(outbox(t, b), events.CertificateNewVersionCreated); n != 1 {
		t.Fatalf("NewVersionCreated events: %d", n)
	}
	if _, err := s.RenewDue(ctx, clock.Now(), []*vaults.Vault{v}); err != nil {
		t.Fatal(err)
	}
	if n := countEvents(outbox(t, b), events.CertificateNearExpiry); n != 0 {
		t.Fatalf("near-expiry too early: %d", n)
	}
	clock.advance(340 * 24 * time.Hour)
	for i := 0; i < 2; i++ {
		n, err := s.RenewDue(ctx, clock.Now(), []*vaults.Vault{v})
		if err != nil || n != 0 {
			t.Fatalf("RenewDue: %d %v", n, err)
		}
	}
	if n := countEvents(outbox(t, b), events.CertificateNearExpiry); n != 1 {
		t.Fatalf("near-expiry events: %d, want exactly 1", n)
	}
}

func TestAutoRenewReusesKeyWhenAsked(t *testing.T) {
	s, v, _, clock := newTestService(t)
	ctx := context.Background()
	renew := LifetimeAction{Trigger: Trigger{LifetimePercentage: ptr(50)}, Action: Action{ActionType: ActionAutoRenew}}
	for _, reuse := range []bool{true, false} {
		name := map[bool]string{true: "reuse", false: "fresh"}[reuse]
		p := ecPolicy(IssuerSelf, renew)
		p.KeyProps.ReuseKey = ptr(reuse)
		if _, err := s.Create(ctx, v, name, CreateParams{Policy: p}); err != nil {
			t.Fatal(err)
		}
	}
	first := map[string]*x509.Certificate{"reuse": parsed(t, s, v, "reuse"), "fresh": parsed(t, s, v, "fresh")}
	clock.advance(200 * 24 * time.Hour)
	n, err := s.RenewDue(ctx, clock.Now(), []*vaults.Vault{v})
	if err != nil || n != 2 {
		t.Fatalf("renewed %d: %v", n, err)
	}
	for name, old := range first {
		cur := parsed(t, s, v, name)
		same := string(cur.RawSubjectPublicKeyInfo) == string(old.RawSubjectPublicKeyInfo)
		if same != (name == "reuse") || cur.NotBefore.Before(clock.Now().Add(-time.Hour)) {
			t.Fatalf("%s: same key %v, nbf %v", name, same, cur.NotBefore)
		}
	}
}

func parsed(t *testing.T, s *Service, v *vaults.Vault, name string) *x509.Certificate {
	t.Helper()
	c, err := s.Get(context.Background(), v, name, "")
	if err != nil {
		t.Fatal(err)
	}
	x, err := x509.ParseCertificate(c.DER)
	if err != nil {
		t.Fatal(err)
	}
	return x
}

func TestDeletedNameRefusesCreateAndSecretsStayManaged(t *testing.T) {
	s, v, _, _ := newTestService(t)
	ctx := context.Background()
	if _, err := s.Create(ctx, v, "gone", CreateParams{Policy: ecPolicy(IssuerSelf)}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Delete(ctx, v, "gone"); err != nil {
		t.Fatal(err)
	}
	_, err := s.Create(ctx, v, "gone", CreateParams{Policy: ecPolicy(IssuerSelf)})
	if e := kverr.As(err); e == nil || e.Kind != kverr.Conflict || e.Inner != "ObjectIsDeletedButRecoverable" {
		t.Fatalf("create on deleted name: %v", err)
	}
	_, err = s.secrets.Recover(ctx, v, "gone")
	if e := kverr.As(err); e == nil || e.Inner != "SecretManagedByKeyVault" {
		t.Fatalf("recovering the backing secret alone: %v", err)
	}
	_, err = s.Import(ctx, v, "gone", ImportParams{Value: "x"})
	if e := kverr.As(err); e == nil || e.Kind != kverr.BadParameter {
		t.Fatalf("import garbage: %v", err)
	}
}

func TestPrivateCAIssuesUnderItsChain(t *testing.T) {
	s, v, _, _ := newTestService(t)
	ctx := context.Background()
	ca := ecPolicy(IssuerSelf)
	ca.X509Props.KeyUsage = []string{"keyCertSign", "cRLSign"}
	ca.X509Props.Subject = "CN=Root"
	if _, err := s.Create(ctx, v, "root", CreateParams{Policy: ca}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SetIssuer(ctx, v, "root-ca", Issuer{Provider: "privateca", Credentials: &IssuerCredentials{AccountID: "root"}}); err != nil {
		t.Fatal(err)
	}
	inter := ecPolicy("root-ca")
	inter.X509Props.KeyUsage = []string{"keyCertSign"}
	inter.X509Props.Subject = "CN=Intermediate"
	if op, err := s.Create(ctx, v, "inter", CreateParams{Policy: inter}); err != nil || op.Status != StatusCompleted {
		t.Fatalf("intermediate: %v %+v", err, op)
	}
	if _, err := s.SetIssuer(ctx, v, "inter-ca", Issuer{Provider: ProviderPrivateCA, Credentials: &IssuerCredentials{AccountID: "inter"}}); err != nil {
		t.Fatal(err)
	}
	leaf := ecPolicy("inter-ca")
	leaf.X509Props.SANs = &SANs{DNSNames: []string{"leaf.test"}}
	if op, err := s.Create(ctx, v, "leaf", CreateParams{Policy: leaf}); err != nil || op.Status != StatusCompleted {
		t.Fatalf("leaf: %v %+v", err, op)
	}
	roots := x509.NewCertPool()
	roots.AddCert(parsed(t, s, v, "root"))
	inters := x509.NewCertPool()
	inters.AddCert(parsed(t, s, v, "inter"))
	chains, err := parsed(t, s, v, "leaf").Verify(x509.VerifyOptions{DNSName: "leaf.test", Roots: roots, Intermediates: inters})
	if err != nil || len(chains[0]) != 3 {
		t.Fatalf("verify: %v", err)
	}
	// The leaf's secret carries the whole chain.
	sec, err := s.secrets.Get(ctx, v, "leaf", "")
	if err != nil || sec.ContentType != "application/x-pkcs12" {
		t.Fatal(err)
	}
	// Disabling the CA fails the next issuance, without an HTTP error.
	if _, err := s.Update(ctx, v, "inter", "", UpdateParams{Attributes: AttributesUpdate{Enabled: ptr(false)}}); err != nil {
		t.Fatal(err)
	}
	op, err := s.Create(ctx, v, "leaf", CreateParams{})
	if err != nil || op.Status != StatusFailed || !strings.Contains(op.Error.Message, "disabled") {
		t.Fatalf("issuance by a disabled CA: %v %+v", err, op)
	}
}

func TestRenewalNeverLoopsWhenTheCAIsShort(t *testing.T) {
	s, v, _, clock := newTestService(t)
	ctx := context.Background()
	ca := ecPolicy(IssuerSelf)
	ca.X509Props.KeyUsage = []string{"keyCertSign"}
	ca.X509Props.ValidityMonths = ptr(2)
	if _, err := s.Create(ctx, v, "ca", CreateParams{Policy: ca}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SetIssuer(ctx, v, "corp", Issuer{Provider: ProviderPrivateCA, Credentials: &IssuerCredentials{AccountID: "ca"}}); err != nil {
		t.Fatal(err)
	}
	leaf := ecPolicy("corp", LifetimeAction{Trigger: Trigger{DaysBeforeExpiry: ptr(30)}, Action: Action{ActionType: ActionAutoRenew}})
	leaf.X509Props.ValidityMonths = ptr(3) // clamped to the CA's two months
	if _, err := s.Create(ctx, v, "leaf", CreateParams{Policy: leaf}); err != nil {
		t.Fatal(err)
	}
	clock.advance(40 * 24 * time.Hour) // inside the last 30 days of the CA, so of every leaf it signs
	for i := 0; i < 3; i++ {
		if n, _ := s.RenewDue(ctx, clock.Now(), []*vaults.Vault{v}); n != 0 {
			t.Fatalf("tick %d renewed %d", i, n)
		}
	}
	p, err := s.ListVersions(ctx, v, "leaf", "", 25)
	if err != nil || len(p.Items) != 1 {
		t.Fatalf("versions: %d %v", len(p.Items), err)
	}
	op, err := s.GetOperation(ctx, v, "leaf", "")
	if err != nil || op.Status != StatusFailed || !strings.Contains(op.Error.Message, "at once") {
		t.Fatalf("operation: %v %+v", err, op)
	}
}

func TestDaysBeforeExpiryMustFitTheShortestMonth(t *testing.T) {
	p := ecPolicy(IssuerSelf, LifetimeAction{Trigger: Trigger{DaysBeforeExpiry: ptr(28)}, Action: Action{ActionType: ActionAutoRenew}})
	p.X509Props.ValidityMonths = ptr(1)
	if err := p.normalize(true); err == nil {
		t.Fatal("a trigger as long as the validity was accepted")
	}
}

// A certificate version's expiry is indexed when it is stored: the job
// records CertificateNearExpiry 30 days before (unless the policy's
// EmailContacts action does) and CertificateExpired, once each, for the
// current version only; a restored certificate is indexed again.
func TestCertificateExpiryEvents(t *testing.T) {
	s, v, b, clock := newTestService(t)
	ctx := context.Background()
	email := LifetimeAction{Trigger: Trigger{DaysBeforeExpiry: ptr(30)}, Action: Action{ActionType: ActionEmail}}
	for name, p := range map[string]*Policy{"plain": ecPolicy(IssuerSelf), "mailed": ecPolicy(IssuerSelf, email)} {
		if _, err := s.Create(ctx, v, name, CreateParams{Policy: p}); err != nil {
			t.Fatal(err)
		}
	}
	run := func() {
		t.Helper()
		for i := range 2 {
			if n, err := s.NotifyExpiring(ctx, clock.Now(), 30*24*time.Hour, []*vaults.Vault{v}); err != nil || (i == 1 && n != 0) {
				t.Fatalf("NotifyExpiring: %d %v", n, err)
			}
		}
	}
	count := func(typ, name string) int {
		n := 0
		for _, e := range outbox(t, b) {
			if e.Type == typ && e.Data.ObjectName == name {
				n++
			}
		}
		return n
	}
	run()
	if count(events.CertificateNearExpiry, "plain") != 0 {
		t.Fatal("near-expiry a year early")
	}
	exp := parsed(t, s, v, "plain").NotAfter
	clock.advance(exp.Sub(clock.Now()) - 29*24*time.Hour)
	run()
	if count(events.CertificateNearExpiry, "plain") != 1 || count(events.CertificateNearExpiry, "mailed") != 0 {
		t.Fatalf("near-expiry events: plain %d, mailed %d (its EmailContacts action records its own)",
			count(events.CertificateNearExpiry, "plain"), count(events.CertificateNearExpiry, "mailed"))
	}
	blob, err := s.Backup(ctx, v, "plain")
	if err != nil {
		t.Fatal(err)
	}
	clock.advance(30 * 24 * time.Hour)
	run()
	if count(events.CertificateExpired, "plain") != 1 || count(events.CertificateExpired, "mailed") != 1 {
		t.Fatalf("expired events: plain %d, mailed %d", count(events.CertificateExpired, "plain"), count(events.CertificateExpired, "mailed"))
	}
	if _, err := s.Delete(ctx, v, "plain"); err != nil {
		t.Fatal(err)
	}
	if err := s.Purge(ctx, v, "plain"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Restore(ctx, v, blob); err != nil {
		t.Fatal(err)
	}
	run()
	if count(events.CertificateExpired, "plain") != 2 {
		t.Fatalf("a restored, expired certificate: %d expired events, want 2", count(events.CertificateExpired, "plain"))
	}
}

// A record decodes as json.Unmarshal decodes it; for a list, without its
// issuers' chain. A list shows each certificate's own thumbprint from the
// head alone.
func TestRecordDecodeAndList(t *testing.T) {
	in := record{DER: []byte{1, 2, 3}, Chain: [][]byte{{4}, {5, 6}}, ContentType: "application/x-pem-file",
		Tags: map[string]string{"a": "b"}, Enabled: true, NotBefore: 1, Expires: 2, Created: 3, Updated: 4, PreserveOrder: true}
	raw, err := objects.Marshal(&in)
	if err != nil {
		t.Fatal(err)
	}
	for _, listing := range []bool{false, true} {
		var want, got record
		if err := json.Unmarshal(raw, &want); err != nil {
			t.Fatal(err)
		}
		if listing {
			want.Chain = nil
		}
		n, err := got.DecodeRecord(append(append([]byte(" \n"), raw...), " ,"...), listing)
		if err != nil || n != len(raw)+2 || !reflect.DeepEqual(got, want) {
			t.Fatalf("listing %v: %+v (%d of %d bytes), %v; want %+v", listing, got, n, len(raw), err, want)
		}
	}

	s, v, _, _ := newTestService(t)
	ctx := context.Background()
	for _, name := range []string{"one", "two"} {
		if _, err := s.Create(ctx, v, name, CreateParams{Policy: ecPolicy(IssuerSelf)}); err != nil {
			t.Fatal(err)
		}
	}
	p, err := s.List(ctx, v, "", 25)
	if err != nil || len(p.Items) != 2 {
		t.Fatalf("List: %+v, %v", p, err)
	}
	for _, c := range p.Items {
		full, err := s.Get(ctx, v, c.Name, "")
		if err != nil || !bytes.Equal(c.Thumbprint, full.Thumbprint) || len(c.Thumbprint) != 20 || c.Attributes != full.Attributes {
			t.Fatalf("%s listed %+v, read %+v, %v", c.Name, c, full, err)
		}
	}
}
