package certs

import (
	"context"
	"strings"
	"time"

	"github.com/keyhaven/keyhaven/internal/barrier"
	"github.com/keyhaven/keyhaven/internal/events/expiry"
	"github.com/keyhaven/keyhaven/internal/kverr"
	"github.com/keyhaven/keyhaven/internal/objects"
	"github.com/keyhaven/keyhaven/internal/vaults"
)

// Get returns a certificate version ("" is the current one) with the
// certificate's policy. A certificate whose first version is still pending
// is returned without a certificate (disabled), as Azure does, so that
// SDK pollers that read it before the operation work.
func (s *Service) Get(ctx context.Context, v *vaults.Vault, name, version string) (*Certificate, error) {
	it, err := s.store.Get(ctx, v, name, version)
	if e := kverr.As(err); e != nil && e.Kind == kverr.NotFound {
		if c := s.pendingCertificate(ctx, v, name, version); c != nil {
			return c, nil
		}
	}
	if err != nil {
		return nil, err
	}
	return certOf(it, true), nil
}

// pendingCertificate returns the certificate a pending operation will
// create, or nil.
func (s *Service) pendingCertificate(ctx context.Context, v *vaults.Vault, name, version string) *Certificate {
	var op *pending
	err := s.b.View(ctx, func(bt *barrier.Tx) error {
		var err error
		op, err = s.pendingFor(bt, v, name, "")
		return err
	})
	if err != nil || op.Status == StatusCompleted || (version != "" && !strings.EqualFold(version, op.Version)) {
		return nil
	}
	pol := op.Policy
	return &Certificate{Name: op.Name, Version: op.Version, ContentType: pol.SecretProps.ContentType, Tags: op.Tags,
		Policy: &pol, PreserveOrder: op.Preserve, Pending: true,
		Attributes: Attributes{Created: op.Created, Updated: op.Created}}
}

// List returns a page of the vault's certificates.
func (s *Service) List(ctx context.Context, v *vaults.Vault, cursor string, max int) (Page[Certificate], error) {
	p, err := s.store.List(ctx, v, cursor, max)
	return mapPage(p, err, func(it *item) Certificate { return *certOf(it, false) })
}

// ListVersions returns a page of a certificate's versions.
func (s *Service) ListVersions(ctx context.Context, v *vaults.Vault, name, cursor string, max int) (Page[Certificate], error) {
	p, err := s.store.ListVersions(ctx, v, name, cursor, max)
	return mapPage(p, err, func(it *item) Certificate { return *certOf(it, false) })
}

// ListDeleted returns a page of the vault's soft-deleted certificates.
func (s *Service) ListDeleted(ctx context.Context, v *vaults.Vault, cursor string, max int) (Page[DeletedCertificate], error) {
	p, err := s.store.ListDeleted(ctx, v, cursor, max)
	return mapPage(p, err, func(it *item) DeletedCertificate { return deletedOf(it, false) })
}

func deletedOf(it *item, withPolicy bool) DeletedCertificate {
	return DeletedCertificate{Certificate: *certOf(it, withPolicy), DeletedDate: it.Head.DeletedDate, ScheduledPurgeDate: it.Head.ScheduledPurgeDate}
}

func mapPage[T any](p objects.Page[item], err error, f func(*item) T) (Page[T], error) {
	out := Page[T]{Next: p.Next}
	for i := range p.Items {
		out.Items = append(out.Items, f(&p.Items[i]))
	}
	return out, err
}

// GetDeleted returns a soft-deleted certificate with its policy.
func (s *Service) GetDeleted(ctx context.Context, v *vaults.Vault, name string) (*DeletedCertificate, error) {
	it, err := s.store.GetDeleted(ctx, v, name)
	if err != nil {
		return nil, err
	}
	d := deletedOf(it, true)
	return &d, nil
}

// UpdateParams change a version's enabled attribute and tags, and the
// certificate's policy.
type UpdateParams struct {
	Attributes AttributesUpdate
	Tags       map[string]string
	Policy     *Policy
}

// Update changes a certificate version ("" is the current one): enabling
// or disabling it does the same to its backing key and secret.
func (s *Service) Update(ctx context.Context, v *vaults.Vault, name, version string, p UpdateParams) (*Certificate, error) {
	if err := validateTags(p.Tags); err != nil {
		return nil, err
	}
	var it *item
	err := s.b.Update(ctx, func(bt *barrier.Tx) error {
		t := objects.In(s.store, bt, v)
		var err error
		if it, err = t.Get(name, version); err != nil {
			return err
		}
		if p.Attributes.Enabled != nil {
			it.Rec.Enabled = *p.Attributes.Enabled
		}
		if p.Tags != nil {
			it.Rec.Tags = p.Tags
		}
		it.Rec.Updated = s.now().Unix()
		if err := t.Put(it); err != nil {
			return err
		}
		if p.Attributes.Enabled != nil {
			if err := s.keys.SetManagedEnabled(bt, v, it.Head.Name, it.Version, it.Rec.Enabled); err != nil {
				return err
			}
			if err := s.secrets.SetManagedEnabled(bt, v, it.Head.Name, it.Version, it.Rec.Enabled); err != nil {
				return err
			}
		}
		if p.Policy == nil {
			return nil
		}
		return s.patchPolicy(t, it, p.Policy)
	})
	if err != nil {
		return nil, err
	}
	return certOf(it, true), nil
}

// GetPolicy returns a certificate's policy.
func (s *Service) GetPolicy(ctx context.Context, v *vaults.Vault, name string) (*Policy, error) {
	it, err := s.store.Get(ctx, v, name, "")
	if err != nil {
		return nil, err
	}
	m, err := metaOf(it.Head)
	if err != nil {
		return nil, err
	}
	return m.Policy, nil
}

// UpdatePolicy merges the members given into a certificate's policy.
func (s *Service) UpdatePolicy(ctx context.Context, v *vaults.Vault, name string, u *Policy) (*Policy, error) {
	var out *Policy
	err := s.store.Update(ctx, v, func(t *objects.Tx[record]) error {
		it, err := t.Get(name, "")
		if err != nil {
			return err
		}
		if err := s.patchPolicy(t, it, u); err != nil {
			return err
		}
		m, err := metaOf(it.Head)
		out = m.Policy
		return err
	})
	return out, err
}

func (s *Service) patchPolicy(t *objects.Tx[record], it *item, u *Policy) error {
	m, err := metaOf(it.Head)
	if err != nil {
		return err
	}
	next := orZero(m.Policy).merge(u)
	// A policy whose certificates this server issues is checked as for a
	// create: generated key sizes, a subject or names.
	issues := next.Issuer != nil && !strings.EqualFold(next.Issuer.Name, IssuerUnknown)
	if err := next.normalize(issues); err != nil {
		return err
	}
	return s.setPolicy(t, &it.Head, &next, s.now().Unix())
}

// Delete soft-deletes a certificate with its backing key and secret, and
// drops its pending operation.
func (s *Service) Delete(ctx context.Context, v *vaults.Vault, name string) (*DeletedCertificate, error) {
	var it *item
	err := s.b.Update(ctx, func(bt *barrier.Tx) error {
		var err error
		if it, err = objects.In(s.store, bt, v).Delete(name); err != nil {
			return err
		}
		n := it.Head.Name
		if err := s.keys.Linked().DeleteLinked(bt, v, n); err != nil {
			return err
		}
		if err := s.secrets.Linked().DeleteLinked(bt, v, n); err != nil {
			return err
		}
		if err := bt.Delete(pendingKey(v.ID, strings.ToLower(n))); err != nil {
			return err
		}
		return bt.Delete(lifetimeIndex(v.ID, strings.ToLower(n)))
	})
	if err != nil {
		return nil, err
	}
	d := deletedOf(it, true)
	return &d, nil
}

// Recover makes a soft-deleted certificate, its key and its secret active
// again.
func (s *Service) Recover(ctx context.Context, v *vaults.Vault, name string) (*Certificate, error) {
	var it *item
	err := s.b.Update(ctx, func(bt *barrier.Tx) error {
		var err error
		if it, err = objects.In(s.store, bt, v).Recover(name); err != nil {
			return err
		}
		n := it.Head.Name
		if err := s.keys.Linked().RecoverLinked(bt, v, n); err != nil {
			return err
		}
		if err := s.secrets.Linked().RecoverLinked(bt, v, n); err != nil {
			return err
		}
		return bt.Put(lifetimeIndex(v.ID, strings.ToLower(n)), nil)
	})
	if err != nil {
		return nil, err
	}
	return certOf(it, true), nil
}

// Purge permanently removes a soft-deleted certificate with its key and
// secret; purge protection refuses it until retention ends.
func (s *Service) Purge(ctx context.Context, v *vaults.Vault, name string) error {
	return s.b.Update(ctx, func(bt *barrier.Tx) error {
		if err := objects.In(s.store, bt, v).Purge(name); err != nil {
			return err
		}
		if err := s.keys.Linked().PurgeLinked(bt, v, name); err != nil {
			return err
		}
		return s.secrets.Linked().PurgeLinked(bt, v, name)
	})
}

// PurgeDue purges soft-deleted certificates whose retention has ended (the
// keys' and secrets' jobs purge their backing objects at the same date).
func (s *Service) PurgeDue(ctx context.Context, now time.Time) (int, error) {
	return s.store.PurgeDue(ctx, now)
}

// certBackup is the plaintext of a certificate backup: the certificate's,
// its key's and its secret's versions.
type certBackup struct {
	Cert   *objects.Snapshot `json:"certificate"`
	Key    *objects.Snapshot `json:"key"`
	Secret *objects.Snapshot `json:"secret"`
}

const backupPurpose = "keyhaven/backup/certificates/v1"

// Backup returns an opaque blob with every version of a certificate, its
// key (private material included, sealed) and its secret.
func (s *Service) Backup(ctx context.Context, v *vaults.Vault, name string) ([]byte, error) {
	var b certBackup
	err := s.b.View(ctx, func(bt *barrier.Tx) error {
		var err error
		if b.Cert, err = objects.In(s.store, bt, v).Export(name); err != nil {
			return err
		}
		n := b.Cert.Head.Name
		if b.Key, err = s.keys.Linked().ExportLinked(bt, v, n); err != nil {
			return err
		}
		b.Secret, err = s.secrets.Linked().ExportLinked(bt, v, n)
		return err
	})
	if err != nil {
		return nil, err
	}
	return s.store.SealBackup(backupPurpose, &b)
}

// Restore recreates a backed-up certificate with its key and secret and
// all version ids. The name must be free among certificates, keys and
// secrets.
func (s *Service) Restore(ctx context.Context, v *vaults.Vault, blob []byte) (*Certificate, error) {
	var b certBackup
	if err := s.store.OpenBackup(backupPurpose, blob, &b); err != nil {
		return nil, err
	}
	if !b.consistent() {
		return nil, lifecycleErrors.InvalidBackup()
	}
	var it *item
	err := s.b.Update(ctx, func(bt *barrier.Tx) error {
		var err error
		if it, err = objects.In(s.store, bt, v).Import(b.Cert); err != nil {
			return err
		}
		if err := s.keys.Linked().ImportLinked(bt, v, b.Key); err != nil {
			return restoreConflict(err, it.Head.Name)
		}
		if err := s.secrets.Linked().ImportLinked(bt, v, b.Secret); err != nil {
			return restoreConflict(err, it.Head.Name)
		}
		if err := expiry.Index(bt, expiry.Certificates, v.ID, it.Head.Name, it.Version, nil, &it.Rec.Expires); err != nil {
			return err
		}
		return bt.Put(lifetimeIndex(v.ID, strings.ToLower(it.Head.Name)), nil)
	})
	if err != nil {
		return nil, err
	}
	return certOf(it, true), nil
}

func (b *certBackup) consistent() bool {
	if b.Cert == nil || b.Key == nil || b.Secret == nil {
		return false
	}
	n := b.Cert.Head.Name
	return ValidateName(n) == nil && strings.EqualFold(n, b.Key.Head.Name) && strings.EqualFold(n, b.Secret.Head.Name) &&
		b.Key.Head.Managed && b.Secret.Head.Managed
}

// restoreConflict words a key's or secret's name conflict as the
// certificate's.
func restoreConflict(err error, name string) error {
	if e := kverr.As(err); e != nil && e.Kind == kverr.Conflict {
		return lifecycleErrors.RestoreConflict(name)
	}
	return err
}

// NotifyExpiring records CertificateNearExpiry (lead before expiry) and
// CertificateExpired events for the current versions of the given vaults'
// certificates, once each, from the expiry index. A certificate whose
// policy has an EmailContacts lifetime action gets its near-expiry event
// from that action (RenewDue) instead.
func (s *Service) NotifyExpiring(ctx context.Context, now time.Time, lead time.Duration, vs []*vaults.Vault) (int, error) {
	return expiry.Notify(ctx, s.store, expiry.Certificates, now, lead, vs, func(it *item) expiry.Version {
		nbf, exp := it.Rec.NotBefore, it.Rec.Expires
		return expiry.Version{Name: it.Head.Name, Current: it.Version == it.Head.Current, NBF: &nbf, EXP: &exp, SkipNear: emailsContacts(it.Head)}
	})
}

// emailsContacts reports whether the certificate's policy has an
// EmailContacts lifetime action.
func emailsContacts(h objects.Head) bool {
	m, err := metaOf(h)
	if err != nil || m.Policy == nil {
		return false
	}
	for _, a := range m.Policy.LifetimeActions {
		if a.Action.ActionType == ActionEmail {
			return true
		}
	}
	return false
}
