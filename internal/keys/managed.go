package keys

import (
	"github.com/keyhaven/keyhaven/internal/barrier"
	"github.com/keyhaven/keyhaven/internal/kcrypto"
	"github.com/keyhaven/keyhaven/internal/objects"
	"github.com/keyhaven/keyhaven/internal/vaults"
)

// ManagedVersion is a version of a certificate's backing key. Its
// attributes never say exportable: that attribute means secure key
// release, which this server does not do; an exportable certificate's
// private key is read through its backing secret.
type ManagedVersion struct {
	Key       *kcrypto.Key // with its private part
	Kty       string       // as the policy names it: RSA or EC
	KeyOps    []string
	Enabled   bool
	NotBefore *int64
	Expires   *int64
	Tags      map[string]string
}

// AddManaged stores a version of a certificate's backing key inside the
// certificate's transaction. A name held by an unmanaged key is refused.
func (s *Service) AddManaged(bt *barrier.Tx, v *vaults.Vault, name, version string, m ManagedVersion) error {
	material, err := m.Key.MarshalPrivate()
	if err != nil {
		return err
	}
	now := s.now().Unix()
	rec := record{Kty: m.Kty, Material: material, KeyOps: m.KeyOps, Tags: m.Tags, Enabled: m.Enabled,
		NotBefore: m.NotBefore, Expires: m.Expires, Created: now, Updated: now, Managed: true}
	_, err = objects.In(s.store, bt, v).AddManaged(name, version, rec)
	return err
}

// SetManagedEnabled enables or disables one version of a certificate's
// backing key, as the certificate's version is.
func (s *Service) SetManagedEnabled(bt *barrier.Tx, v *vaults.Vault, name, version string, enabled bool) error {
	t := objects.In(s.store, bt, v)
	it, err := t.Get(name, version)
	if err != nil {
		return err
	}
	it.Rec.Enabled, it.Rec.Updated = enabled, s.now().Unix()
	return t.Put(it)
}

// PrivateKey loads a key version's private key inside bt, for a
// certificate that reuses its key or a private CA that signs with it.
func (s *Service) PrivateKey(bt *barrier.Tx, v *vaults.Vault, name, version string) (*kcrypto.Key, error) {
	it, err := objects.In(s.store, bt, v).Get(name, version)
	if err != nil {
		return nil, err
	}
	return kcrypto.UnmarshalPrivate(it.Rec.Material)
}

// Linked returns the keys' lifecycle for a certificate's transactions.
func (s *Service) Linked() objects.Linked { return s.store }
