package secrets

import (
	"github.com/keyhaven/keyhaven/internal/barrier"
	"github.com/keyhaven/keyhaven/internal/objects"
	"github.com/keyhaven/keyhaven/internal/vaults"
)

// ManagedVersion is a version of a certificate's backing secret: the
// certificate (with its private key when exportable) as PFX or PEM.
type ManagedVersion struct {
	Value       string
	ContentType string
	KeyID       string // "/keys/{name}/{version}"
	Enabled     bool
	NotBefore   *int64
	Expires     *int64
	Tags        map[string]string
}

// AddManaged stores a version of a certificate's backing secret inside the
// certificate's transaction. A name held by an unmanaged secret is refused.
func (s *Service) AddManaged(bt *barrier.Tx, v *vaults.Vault, name, version string, m ManagedVersion) error {
	now := s.now().Unix()
	rec := record{Value: m.Value, ContentType: m.ContentType, Tags: m.Tags, Enabled: m.Enabled,
		NotBefore: m.NotBefore, Expires: m.Expires, Created: now, Updated: now, Managed: true, KeyID: m.KeyID}
	_, err := objects.In(s.store, bt, v).AddManaged(name, version, rec)
	return err
}

// SetManagedEnabled enables or disables one version of a certificate's
// backing secret, as the certificate's version is.
func (s *Service) SetManagedEnabled(bt *barrier.Tx, v *vaults.Vault, name, version string, enabled bool) error {
	t := objects.In(s.store, bt, v)
	it, err := t.Get(name, version)
	if err != nil {
		return err
	}
	it.Rec.Enabled, it.Rec.Updated = enabled, s.now().Unix()
	return t.Put(it)
}

// Linked returns the secrets' lifecycle for a certificate's transactions.
func (s *Service) Linked() objects.Linked { return s.store }
