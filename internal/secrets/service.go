package secrets

import (
	"context"
	"time"

	"github.com/keyhaven/keyhaven/internal/barrier"
	"github.com/keyhaven/keyhaven/internal/events"
	"github.com/keyhaven/keyhaven/internal/events/expiry"
	"github.com/keyhaven/keyhaven/internal/jsonx"
	"github.com/keyhaven/keyhaven/internal/kverr"
	"github.com/keyhaven/keyhaven/internal/objects"
	"github.com/keyhaven/keyhaven/internal/vaults"
)

// record is the stored form of one secret version.
type record struct {
	Value       string            `json:"value"`
	ContentType string            `json:"contentType,omitempty"`
	Tags        map[string]string `json:"tags,omitempty"`
	Enabled     bool              `json:"enabled"`
	NotBefore   *int64            `json:"nbf,omitempty"`
	Expires     *int64            `json:"exp,omitempty"`
	Created     int64             `json:"created"`
	Updated     int64             `json:"updated"`
	Managed     bool              `json:"managed,omitempty"`
	KeyID       string            `json:"kid,omitempty"`
}

// DecodeRecord decodes the record at the start of data as json.Unmarshal
// would, without its value for a list page (objects.RecordDecoder; GetSecret
// reads one per request).
func (r *record) DecodeRecord(data []byte, listing bool) (int, error) {
	withValue := !listing
	return jsonx.ObjectAt(data, func(k, v []byte) error {
		if jsonx.IsNull(v) {
			switch string(k) {
			case "tags":
				r.Tags = nil
			case "nbf":
				r.NotBefore = nil
			case "exp":
				r.Expires = nil
			}
			return nil
		}
		var err error
		switch string(k) {
		case "value":
			if withValue {
				r.Value, err = jsonx.ParseString(v)
			}
		case "contentType":
			r.ContentType, err = jsonx.ParseString(v)
		case "tags":
			r.Tags, err = jsonx.ParseStringMap(v)
		case "enabled":
			r.Enabled, err = jsonx.ParseBool(v)
		case "nbf":
			r.NotBefore, err = jsonx.ParseIntPtr(v)
		case "exp":
			r.Expires, err = jsonx.ParseIntPtr(v)
		case "created":
			r.Created, err = jsonx.ParseInt(v)
		case "updated":
			r.Updated, err = jsonx.ParseInt(v)
		case "managed":
			r.Managed, err = jsonx.ParseBool(v)
		case "kid":
			r.KeyID, err = jsonx.ParseString(v)
		}
		return err // unknown members are ignored, as json.Unmarshal does
	})
}

type item = objects.Item[record]

// Service implements the secrets operations of one keyhaven server.
type Service struct {
	store *objects.Store[record]
	now   func() time.Time
}

// New returns the secrets service over b; now is the clock.
func New(b *barrier.Barrier, now func() time.Time) *Service {
	return &Service{store: objects.New[record](b, now, "secrets", lifecycleErrors), now: now}
}

var lifecycleErrors = objects.Errors{
	NotFound:              notFound,
	DeletedNotFound:       deletedNotFound,
	DeletedButRecoverable: deletedButRecoverable,
	RestoreConflict:       restoreConflict,
	PurgeProtected:        purgeProtected,
	InvalidBackup: func() error {
		return kverr.BadParameterf("The backup blob is invalid: it is corrupt, was altered, or was not made by this server for a secret.")
	},
	TooManyVersions: func(max int) error {
		return kverr.BadParameterf("The secret has more than %d versions and cannot be backed up.", max)
	},
	BackupTooLarge: func(max int) error {
		return kverr.BadParameterf("The backup of this secret would exceed %d bytes; delete old versions first.", max)
	},
	Managed: func(op string) error {
		return kverr.Forbiddenf("Operation %q is not allowed as this object's lifetime is managed by Key Vault: it is the secret of a certificate; use the certificate's operations.", op).
			WithInner("SecretManagedByKeyVault")
	},
}

// Set stores a new version of the secret name and returns it.
func (s *Service) Set(ctx context.Context, v *vaults.Vault, name string, p SetParams) (*Secret, error) {
	if err := ValidateName(name); err != nil {
		return nil, err
	}
	if err := p.Validate(); err != nil {
		return nil, err
	}
	now := s.now().Unix()
	rec := record{Value: *p.Value, Tags: p.Tags, Enabled: true, Created: now, Updated: now}
	if p.ContentType != nil {
		rec.ContentType = *p.ContentType
	}
	applyAttributes(&rec, p.Attributes)
	var it *item
	err := s.store.Update(ctx, v, func(t *objects.Tx[record]) error {
		var err error
		if it, err = t.Add(name, objects.NewVersion(), rec); err != nil {
			return err
		}
		if err := expiry.Index(t.Barrier(), expiry.Secrets, v.ID, it.Head.Name, it.Version, nil, rec.Expires); err != nil {
			return err
		}
		return events.Record(t.Barrier(), events.Event{ID: objects.NewVersion(), Type: events.SecretNewVersionCreated, Time: s.now().UTC(),
			VaultID: v.ID, VaultName: v.Name, Data: events.Data{ObjectType: "Secret", ObjectName: it.Head.Name, Version: it.Version,
				NBF: rec.NotBefore, EXP: rec.Expires}})
	})
	if err != nil {
		return nil, err
	}
	return secretOf(it, true), nil
}

// Get returns a version of the secret (version "" means the latest),
// refusing disabled versions as Azure does. nbf/exp do not block a get.
func (s *Service) Get(ctx context.Context, v *vaults.Vault, name, version string) (*Secret, error) {
	it, err := s.store.Get(ctx, v, name, version)
	if err != nil {
		return nil, err
	}
	if !it.Rec.Enabled {
		return nil, disabled()
	}
	return secretOf(it, true), nil
}

// Update changes the attributes, content type or tags of one version
// (version "" means the latest). The value never changes.
func (s *Service) Update(ctx context.Context, v *vaults.Vault, name, version string, p UpdateParams) (*Secret, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	it, err := s.modify(ctx, v, name, version, func(it *item) error {
		rec := &it.Rec
		if p.ContentType != nil {
			rec.ContentType = *p.ContentType
		}
		if p.Tags != nil {
			rec.Tags = p.Tags
		}
		applyAttributes(rec, p.Attributes)
		if rec.NotBefore != nil && rec.Expires != nil && *rec.Expires < *rec.NotBefore {
			return errExpiryBeforeNotBefore
		}
		rec.Updated = s.now().Unix()
		return nil
	})
	if err != nil {
		return nil, err
	}
	return secretOf(it, false), nil
}

// Page is one page of a list.
type Page[T any] = objects.Page[T]

// List returns a page of the vault's active secrets, without values.
func (s *Service) List(ctx context.Context, v *vaults.Vault, cursor string, max int) (Page[Secret], error) {
	p, err := s.store.List(ctx, v, cursor, max)
	return mapPage(p, err, secretItem)
}

// ListVersions returns a page of the versions of an active secret.
func (s *Service) ListVersions(ctx context.Context, v *vaults.Vault, name, cursor string, max int) (Page[Secret], error) {
	p, err := s.store.ListVersions(ctx, v, name, cursor, max)
	return mapPage(p, err, secretItem)
}

// ListDeleted returns a page of the vault's soft-deleted secrets.
func (s *Service) ListDeleted(ctx context.Context, v *vaults.Vault, cursor string, max int) (Page[DeletedSecret], error) {
	p, err := s.store.ListDeleted(ctx, v, cursor, max)
	return mapPage(p, err, deletedOf)
}

// Delete soft-deletes every version of the secret.
func (s *Service) Delete(ctx context.Context, v *vaults.Vault, name string) (*DeletedSecret, error) {
	it, err := s.store.Delete(ctx, v, name)
	return deletedOrErr(it, err)
}

// GetDeleted returns a soft-deleted secret (without its value).
func (s *Service) GetDeleted(ctx context.Context, v *vaults.Vault, name string) (*DeletedSecret, error) {
	it, err := s.store.GetDeleted(ctx, v, name)
	return deletedOrErr(it, err)
}

// Recover makes a soft-deleted secret active again with all its versions.
func (s *Service) Recover(ctx context.Context, v *vaults.Vault, name string) (*Secret, error) {
	it, err := s.store.Recover(ctx, v, name)
	if err != nil {
		return nil, err
	}
	return secretOf(it, false), nil
}

// Purge permanently removes a soft-deleted secret.
func (s *Service) Purge(ctx context.Context, v *vaults.Vault, name string) error {
	return s.store.Purge(ctx, v, name)
}

// PurgeDue purges soft-deleted secrets whose retention has ended.
func (s *Service) PurgeDue(ctx context.Context, now time.Time) (int, error) {
	return s.store.PurgeDue(ctx, now)
}

// Backup returns an opaque blob with every version of an active secret.
func (s *Service) Backup(ctx context.Context, v *vaults.Vault, name string) ([]byte, error) {
	return s.store.Backup(ctx, v, name)
}

// Restore recreates a backed-up secret with its version ids.
func (s *Service) Restore(ctx context.Context, v *vaults.Vault, blob []byte) (*Secret, error) {
	var snap objects.Snapshot
	if err := s.store.OpenBackup(backupPurpose, blob, &snap); err != nil {
		return nil, err
	}
	var it *item
	err := s.store.Update(ctx, v, func(t *objects.Tx[record]) error {
		var err error
		if it, err = t.Import(&snap); err != nil {
			return err
		}
		return expiry.Index(t.Barrier(), expiry.Secrets, v.ID, it.Head.Name, it.Version, nil, it.Rec.Expires)
	})
	if err != nil {
		return nil, err
	}
	return secretOf(it, false), nil
}

// backupPurpose is the barrier key purpose of secret backups (objects.Store
// seals a collection's backups under "keyhaven/backup/{collection}/v1").
const backupPurpose = "keyhaven/backup/secrets/v1"

// modify is objects.Store.Modify that also moves the version's entry in
// the expiry index, in the same transaction.
func (s *Service) modify(ctx context.Context, v *vaults.Vault, name, version string, fn func(*item) error) (*item, error) {
	var it *item
	err := s.store.Update(ctx, v, func(t *objects.Tx[record]) error {
		var err error
		if it, err = t.Get(name, version); err != nil {
			return err
		}
		if it.Head.Managed {
			return lifecycleErrors.Managed("update")
		}
		old := copyInt(it.Rec.Expires)
		if err := fn(it); err != nil {
			return err
		}
		if err := t.Put(it); err != nil {
			return err
		}
		return expiry.Index(t.Barrier(), expiry.Secrets, v.ID, it.Head.Name, it.Version, old, it.Rec.Expires)
	})
	return it, err
}

// NotifyExpiring records SecretNearExpiry (lead before expiry) and
// SecretExpired events for the current versions of the given vaults'
// secrets, once each, from the expiry index. Certificates' backing secrets
// are not indexed: their certificate's events cover them.
func (s *Service) NotifyExpiring(ctx context.Context, now time.Time, lead time.Duration, vs []*vaults.Vault) (int, error) {
	return expiry.Notify(ctx, s.store, expiry.Secrets, now, lead, vs, func(it *item) expiry.Version {
		return expiry.Version{Name: it.Head.Name, Current: it.Version == it.Head.Current, NBF: it.Rec.NotBefore, EXP: it.Rec.Expires}
	})
}

func applyAttributes(rec *record, a AttributesUpdate) {
	if a.Enabled != nil {
		rec.Enabled = *a.Enabled
	}
	if a.NotBefore != nil {
		rec.NotBefore = a.NotBefore
	}
	if a.Expires != nil {
		rec.Expires = a.Expires
	}
}

func secretOf(it *item, withValue bool) *Secret {
	r := &it.Rec
	s := &Secret{Name: it.Head.Name, Version: it.Version, ContentType: r.ContentType, Tags: r.Tags,
		Managed: r.Managed, KeyID: r.KeyID,
		Attributes: Attributes{Enabled: r.Enabled, NotBefore: r.NotBefore, Expires: r.Expires, Created: r.Created, Updated: r.Updated}}
	if withValue {
		s.Value = r.Value
	}
	return s
}

func secretItem(it *item) Secret { return *secretOf(it, false) }

func deletedOf(it *item) DeletedSecret {
	return DeletedSecret{Secret: secretItem(it), DeletedDate: it.Head.DeletedDate, ScheduledPurgeDate: it.Head.ScheduledPurgeDate}
}

func deletedOrErr(it *item, err error) (*DeletedSecret, error) {
	if err != nil {
		return nil, err
	}
	d := deletedOf(it)
	return &d, nil
}

func mapPage[T any](p objects.Page[item], err error, f func(*item) T) (Page[T], error) {
	out := Page[T]{Next: p.Next, Items: make([]T, 0, len(p.Items))}
	for i := range p.Items {
		out.Items = append(out.Items, f(&p.Items[i]))
	}
	return out, err
}

func copyInt(p *int64) *int64 {
	if p == nil {
		return nil
	}
	c := *p
	return &c
}

// CheckHeadCopies corrects stale copies of current versions in the heads of
// the vaults vaultIDs (see objects.Store.CheckHeadCopies).
func (s *Service) CheckHeadCopies(ctx context.Context, vaultIDs []string) (int, error) {
	return s.store.CheckHeadCopies(ctx, vaultIDs)
}
