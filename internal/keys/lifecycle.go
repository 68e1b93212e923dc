package keys

import (
	"context"
	"encoding/json"
	"strings"
	"time"

	"github.com/keyhaven/keyhaven/internal/events/expiry"
	"github.com/keyhaven/keyhaven/internal/objects"
	"github.com/keyhaven/keyhaven/internal/vaults"
)

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }

// List returns a page of the vault's active keys.
func (s *Service) List(ctx context.Context, v *vaults.Vault, cursor string, max int) (Page[Key], error) {
	p, err := s.store.List(ctx, v, cursor, max)
	return mapPage(p, err, keyItem)
}

// ListVersions returns a page of an active key's versions.
func (s *Service) ListVersions(ctx context.Context, v *vaults.Vault, name, cursor string, max int) (Page[Key], error) {
	p, err := s.store.ListVersions(ctx, v, name, cursor, max)
	return mapPage(p, err, keyItem)
}

// ListDeleted returns a page of the vault's soft-deleted keys.
func (s *Service) ListDeleted(ctx context.Context, v *vaults.Vault, cursor string, max int) (Page[DeletedKey], error) {
	p, err := s.store.ListDeleted(ctx, v, cursor, max)
	return mapPage(p, err, deletedItem)
}

// Delete soft-deletes every version of the key.
func (s *Service) Delete(ctx context.Context, v *vaults.Vault, name string) (*DeletedKey, error) {
	it, err := s.store.Delete(ctx, v, name)
	return deletedOrErr(it, err)
}

// GetDeleted returns a soft-deleted key (public parts).
func (s *Service) GetDeleted(ctx context.Context, v *vaults.Vault, name string) (*DeletedKey, error) {
	it, err := s.store.GetDeleted(ctx, v, name)
	return deletedOrErr(it, err)
}

// Recover makes a soft-deleted key active again with all its versions.
func (s *Service) Recover(ctx context.Context, v *vaults.Vault, name string) (*Key, error) {
	it, err := s.store.Recover(ctx, v, name)
	if err != nil {
		return nil, err
	}
	return keyOf(it)
}

// Purge permanently removes a soft-deleted key.
func (s *Service) Purge(ctx context.Context, v *vaults.Vault, name string) error {
	return s.store.Purge(ctx, v, name)
}

// PurgeDue purges soft-deleted keys whose retention has ended.
func (s *Service) PurgeDue(ctx context.Context, now time.Time) (int, error) {
	return s.store.PurgeDue(ctx, now)
}

// Backup returns an opaque blob with every version (private material
// included, sealed) and the rotation policy of an active key.
func (s *Service) Backup(ctx context.Context, v *vaults.Vault, name string) ([]byte, error) {
	return s.store.Backup(ctx, v, name)
}

// Restore recreates a backed-up key with its version ids.
// The scheduler learns of a restored key's rotation policy again.
func (s *Service) Restore(ctx context.Context, v *vaults.Vault, blob []byte) (*Key, error) {
	var snap objects.Snapshot
	if err := s.store.OpenBackup(backupPurpose, blob, &snap); err != nil {
		return nil, err
	}
	var it *item
	err := s.store.Update(ctx, v, func(tx *objects.Tx[record]) error {
		var err error
		if it, err = tx.Import(&snap); err != nil {
			return err
		}
		if m, err := metaOf(it.Head); err == nil && m.Policy != nil {
			if err := tx.Barrier().Put(rotationIndex(v.ID, strings.ToLower(it.Head.Name)), nil); err != nil {
				return err
			}
		}
		return expiry.Index(tx.Barrier(), expiry.Keys, v.ID, it.Head.Name, it.Version, nil, it.Rec.Expires)
	})
	if err != nil {
		return nil, err
	}
	return keyOf(it)
}

// backupPurpose is the barrier key purpose of key backups (objects.Store
// seals a collection's backups under "keyhaven/backup/{collection}/v1").
const backupPurpose = "keyhaven/backup/keys/v1"

// NotifyExpiring records KeyNearExpiry (lead before expiry) and KeyExpired
// events for the current versions of the given vaults' keys, once each,
// from the expiry index. A key whose rotation policy has a Notify action
// gets its near-expiry event from the policy (RotateDue) instead.
// Certificates' backing keys are not indexed: their certificate's events
// cover them.
func (s *Service) NotifyExpiring(ctx context.Context, now time.Time, lead time.Duration, vs []*vaults.Vault) (int, error) {
	return expiry.Notify(ctx, s.store, expiry.Keys, now, lead, vs, func(it *item) expiry.Version {
		return expiry.Version{Name: it.Head.Name, Current: it.Version == it.Head.Current, NBF: it.Rec.NotBefore, EXP: it.Rec.Expires,
			SkipNear: hasNotify(it.Head)}
	})
}

// hasNotify reports whether the key's rotation policy has a Notify action.
func hasNotify(h objects.Head) bool {
	p, err := policyOf(h)
	if err != nil || p == nil {
		return false
	}
	for _, a := range p.LifetimeActions {
		if strings.EqualFold(a.Action.Type, "Notify") {
			return true
		}
	}
	return false
}

// keyItem is a key as a list shows it: its id, attributes and tags. Lists
// read records without their private material, so it has no JWK beyond
// the key type and operations.
func keyItem(it *item) (Key, error) {
	k := keyInfo(it)
	k.JWK.Kty, k.JWK.KeyOps = it.Rec.Kty, it.Rec.KeyOps
	return k, nil
}

func deletedItem(it *item) (DeletedKey, error) {
	k, err := keyItem(it)
	return deleted(it, k), err
}

func deleted(it *item, k Key) DeletedKey {
	return DeletedKey{Key: k, DeletedDate: it.Head.DeletedDate, ScheduledPurgeDate: it.Head.ScheduledPurgeDate}
}

func deletedOrErr(it *item, err error) (*DeletedKey, error) {
	if err != nil {
		return nil, err
	}
	k, err := keyOf(it)
	if err != nil {
		return nil, err
	}
	d := deleted(it, *k)
	return &d, nil
}

func mapPage[T any](p objects.Page[item], err error, f func(*item) (T, error)) (Page[T], error) {
	out := Page[T]{Next: p.Next}
	if err != nil {
		return out, err
	}
	for i := range p.Items {
		x, err := f(&p.Items[i])
		if err != nil {
			return out, err
		}
		out.Items = append(out.Items, x)
	}
	return out, nil
}
