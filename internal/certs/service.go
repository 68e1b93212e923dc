// Package certs implements Key Vault certificates: policies, issuance
// (self-signed, by a private CA held in the vault, or by an external CA
// through a CSR and merge), import of PFX and PEM bundles, the lifecycle
// shared with keys and secrets, issuers, contacts and auto-renewal.
//
// A certificate version is three objects with the same name and version,
// written in one transaction: the certificate (public, in this package's
// store), its backing key (the private key, managed) and its backing
// secret (the PFX or PEM bundle, managed). Deleting, recovering, purging,
// backing up and restoring a certificate moves all three together.
package certs

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"runtime"
	"strings"
	"time"

	"github.com/keyhaven/keyhaven/internal/barrier"
	"github.com/keyhaven/keyhaven/internal/certs/bundle"
	"github.com/keyhaven/keyhaven/internal/events"
	"github.com/keyhaven/keyhaven/internal/events/expiry"
	"github.com/keyhaven/keyhaven/internal/kcrypto"
	"github.com/keyhaven/keyhaven/internal/keys"
	"github.com/keyhaven/keyhaven/internal/kverr"
	"github.com/keyhaven/keyhaven/internal/objects"
	"github.com/keyhaven/keyhaven/internal/secrets"
	"github.com/keyhaven/keyhaven/internal/vaults"
)

// Service implements the certificate operations of one keyhaven server.
type Service struct {
	b       *barrier.Barrier
	store   *objects.Store[record]
	keys    *keys.Service
	secrets *secrets.Service
	now     func() time.Time
	// parsing bounds concurrent bundle parses: a PFX may ask for up to a
	// million key-derivation rounds, so imports queue rather than take
	// every core.
	parsing chan struct{}
}

// New returns the certificates service over b, writing backing keys and
// secrets through ks and ss; now is the clock.
func New(b *barrier.Barrier, ks *keys.Service, ss *secrets.Service, now func() time.Time) *Service {
	return &Service{b: b, store: objects.New[record](b, now, "certificates", lifecycleErrors), keys: ks, secrets: ss, now: now,
		parsing: make(chan struct{}, max(1, runtime.NumCPU()/2))}
}

// issuance is a signed certificate version ready to be stored.
type issuance struct {
	name, version string
	policy        *Policy
	leaf          *x509.Certificate
	chain         []*x509.Certificate
	key           *kcrypto.Key
	enabled       bool
	tags          map[string]string
	preserve      bool
}

// put stores a new certificate version with its backing key and secret,
// the policy, the renewal and expiry index entries and a
// NewVersionCreated event, all in bt.
func (s *Service) put(bt *barrier.Tx, v *vaults.Vault, is *issuance) (*item, error) {
	if err := s.checkNameFree(bt, v, is.name); err != nil {
		return nil, err
	}
	now := s.now().Unix()
	rec := record{DER: is.leaf.Raw, Chain: ders(is.chain), ContentType: is.policy.SecretProps.ContentType, Tags: is.tags,
		Enabled: is.enabled, NotBefore: is.leaf.NotBefore.Unix(), Expires: is.leaf.NotAfter.Unix(),
		Created: now, Updated: now, PreserveOrder: is.preserve}
	t := objects.In(s.store, bt, v)
	it, err := t.Add(is.name, is.version, rec)
	if err != nil {
		return nil, err
	}
	if err := s.setPolicy(t, &it.Head, is.policy, now); err != nil {
		return nil, err
	}
	if err := s.putBacking(bt, v, it, is); err != nil {
		return nil, err
	}
	if err := bt.Put(lifetimeIndex(v.ID, strings.ToLower(it.Head.Name)), nil); err != nil {
		return nil, err
	}
	if err := expiry.Index(bt, expiry.Certificates, v.ID, it.Head.Name, it.Version, nil, &rec.Expires); err != nil {
		return nil, err
	}
	return it, recordEvent(bt, v, it, events.CertificateNewVersionCreated, s.now())
}

// putBacking writes the managed key and secret of a new version.
func (s *Service) putBacking(bt *barrier.Tx, v *vaults.Vault, it *item, is *issuance) error {
	b := &bundle.Bundle{Leaf: is.leaf, Chain: is.chain}
	if *is.policy.KeyProps.Exportable {
		b.Key = is.key.Signer()
	}
	value, err := bundle.Encode(b, it.Rec.ContentType)
	if err != nil {
		return err
	}
	nbf, exp := it.Rec.NotBefore, it.Rec.Expires
	name := it.Head.Name
	err = s.keys.AddManaged(bt, v, name, it.Version, keys.ManagedVersion{Key: is.key, Kty: is.key.Kty(),
		KeyOps: keyOps(is.policy, is.key.Kty()), Enabled: is.enabled,
		NotBefore: &nbf, Expires: &exp})
	if err != nil {
		return err
	}
	return s.secrets.AddManaged(bt, v, name, it.Version, secrets.ManagedVersion{Value: value, ContentType: it.Rec.ContentType,
		KeyID: "/keys/" + name + "/" + it.Version, Enabled: is.enabled, NotBefore: &nbf, Expires: &exp})
}

// checkNameFree refuses a name held by a key or secret that no
// certificate owns.
func (s *Service) checkNameFree(bt *barrier.Tx, v *vaults.Vault, name string) error {
	if used, err := s.keys.Linked().Occupied(bt, v, name); err != nil || used {
		return errOr(err, nameTaken("key", name))
	}
	if used, err := s.secrets.Linked().Occupied(bt, v, name); err != nil || used {
		return errOr(err, nameTaken("secret", name))
	}
	return nil
}

// setPolicy stores p as the certificate's policy in its head.
func (s *Service) setPolicy(t *objects.Tx[record], h *objects.Head, p *Policy, now int64) error {
	m, err := metaOf(*h)
	if err != nil {
		return err
	}
	stored := p.clone()
	a := orZero(stored.Attributes)
	a.Created, a.Updated = now, now
	if m.Policy != nil && m.Policy.Attributes != nil && m.Policy.Attributes.Created != 0 {
		a.Created = m.Policy.Attributes.Created
	}
	stored.Attributes = &a
	m.Policy = &stored
	if h.Meta, err = json.Marshal(m); err != nil {
		return err
	}
	return t.PutHead(h)
}

func metaOf(h objects.Head) (meta, error) {
	var m meta
	if len(h.Meta) == 0 {
		return m, nil
	}
	return m, json.Unmarshal(h.Meta, &m)
}

// keyOps maps the policy's key usages to the backing key's operations
// (Azure's table), limited to what the key type can do.
func keyOps(p *Policy, kty string) []string {
	var ops []string
	add := func(names ...string) {
		for _, n := range names {
			if !contains(ops, n) {
				ops = append(ops, n)
			}
		}
	}
	for _, u := range p.X509Props.KeyUsage {
		switch u {
		case "digitalSignature", "nonRepudiation", "keyCertSign", "cRLSign":
			add("sign", "verify")
		case "keyEncipherment":
			add("wrapKey", "unwrapKey")
		case "dataEncipherment":
			add("encrypt", "decrypt")
		case "encipherOnly":
			add("encrypt")
		case "decipherOnly":
			add("decrypt")
		}
	}
	if kty == kcrypto.KtyEC {
		ops = filter(ops, func(op string) bool { return op == "sign" || op == "verify" })
	}
	if len(ops) == 0 {
		ops = []string{"sign", "verify"}
	}
	return ops
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func filter(list []string, keep func(string) bool) []string {
	var out []string
	for _, x := range list {
		if keep(x) {
			out = append(out, x)
		}
	}
	return out
}

func ders(cs []*x509.Certificate) [][]byte {
	out := make([][]byte, 0, len(cs))
	for _, c := range cs {
		out = append(out, c.Raw)
	}
	return out
}

func parseDERs(raw [][]byte) ([]*x509.Certificate, error) {
	out := make([]*x509.Certificate, 0, len(raw))
	for _, d := range raw {
		c, err := x509.ParseCertificate(d)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}

func recordEvent(bt *barrier.Tx, v *vaults.Vault, it *item, typ string, now time.Time) error {
	nbf, exp := it.Rec.NotBefore, it.Rec.Expires
	return events.Record(bt, events.Event{ID: objects.NewVersion(), Type: typ, Time: now.UTC(), VaultID: v.ID, VaultName: v.Name,
		Data: events.Data{ObjectType: "Certificate", ObjectName: it.Head.Name, Version: it.Version, NBF: &nbf, EXP: &exp}})
}

func lifetimeIndex(vaultID, lname string) string {
	return "sys/lifetime/certificates/" + vaultID + "/" + lname
}

func errOr(err, alt error) error {
	if err != nil {
		return err
	}
	return alt
}

// certOf renders a stored version; withPolicy adds the head's policy.
func certOf(it *item, withPolicy bool) *Certificate {
	r := &it.Rec
	c := &Certificate{Name: it.Head.Name, Version: it.Version, DER: r.DER, Thumbprint: thumbprint(r.DER),
		ContentType: r.ContentType, Tags: r.Tags, PreserveOrder: r.PreserveOrder,
		Attributes: Attributes{Enabled: r.Enabled, NotBefore: r.NotBefore, Expires: r.Expires, Created: r.Created, Updated: r.Updated}}
	if withPolicy {
		if m, err := metaOf(it.Head); err == nil {
			c.Policy = m.Policy
		}
	}
	return c
}

// ValidateName checks a certificate name. "contacts" and "issuers" are
// refused: /certificates/contacts and /certificates/issuers always mean the
// vault's contacts and issuers, so such a certificate could never be read
// or deleted by its path.
func ValidateName(name string) error {
	if !objects.ValidName(name) {
		return invalidName(name)
	}
	if strings.EqualFold(name, "contacts") || strings.EqualFold(name, "issuers") {
		return kverr.BadParameterf("The certificate name %q is reserved: /certificates/%s addresses the vault's %s.", name, strings.ToLower(name), strings.ToLower(name))
	}
	return nil
}

func validateTags(tags map[string]string) error { return objects.ValidateTags(tags) }

// CheckHeadCopies corrects stale copies of current versions in the heads of
// the vaults vaultIDs (see objects.Store.CheckHeadCopies).
func (s *Service) CheckHeadCopies(ctx context.Context, vaultIDs []string) (int, error) {
	return s.store.CheckHeadCopies(ctx, vaultIDs)
}
