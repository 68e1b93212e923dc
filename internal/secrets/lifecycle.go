package secrets

import (
	"context"
	"encoding/json"
	"strings"

	"github.com/keyhaven/keyhaven/internal/barrier"
	"github.com/keyhaven/keyhaven/internal/kverr"
	"github.com/keyhaven/keyhaven/internal/vaults"
)

// Page is one page of a list: items and the cursor of the next page ("" at
// the end). Cursors are opaque to callers.
type Page[T any] struct {
	Items []T
	Next  string
}

func clampPage(max int) int {
	if max <= 0 || max > MaxPageSize {
		return MaxPageSize
	}
	return max
}

// scanPage visits up to max records under prefix that sort after cursor and
// returns the cursor of the next page when more records follow.
func scanPage(tx *barrier.Tx, prefix, cursor string, max int, visit func(val []byte) error) (string, error) {
	start := ""
	if cursor != "" {
		start = prefix + cursor + "\x00"
	}
	n, last, next := 0, "", ""
	err := tx.Scan(prefix, start, func(key string, val []byte) (bool, error) {
		if n == max {
			next = last
			return false, nil
		}
		n++
		last = strings.TrimPrefix(key, prefix)
		return true, visit(val)
	})
	return next, err
}

// List returns a page of the vault's active secrets, without values.
func (s *Service) List(ctx context.Context, v *vaults.Vault, cursor string, max int) (Page[Secret], error) {
	var p Page[Secret]
	err := s.b.View(ctx, func(tx *barrier.Tx) error {
		var err error
		p.Next, err = scanPage(tx, "v/"+v.ID+"/secrets/", cursor, clampPage(max), func(val []byte) error {
			h, rec, err := decodeHeadVersion(tx, v, val)
			if err == nil {
				p.Items = append(p.Items, rec.item(h.Name))
			}
			return err
		})
		return err
	})
	return p, err
}

// ListVersions returns a page of the versions of an active secret.
func (s *Service) ListVersions(ctx context.Context, v *vaults.Vault, name, cursor string, max int) (Page[Secret], error) {
	var p Page[Secret]
	err := s.b.View(ctx, func(tx *barrier.Tx) error {
		h, _, err := loadVersion(tx, v, name, "")
		if err != nil {
			return err
		}
		p.Next, err = scanPage(tx, versionsPrefix(v, strings.ToLower(name)), cursor, clampPage(max), func(val []byte) error {
			var rec version
			if err := json.Unmarshal(val, &rec); err != nil {
				return err
			}
			p.Items = append(p.Items, rec.item(h.Name))
			return nil
		})
		return err
	})
	return p, err
}

// ListDeleted returns a page of the vault's soft-deleted secrets.
func (s *Service) ListDeleted(ctx context.Context, v *vaults.Vault, cursor string, max int) (Page[DeletedSecret], error) {
	var p Page[DeletedSecret]
	err := s.b.View(ctx, func(tx *barrier.Tx) error {
		var err error
		p.Next, err = scanPage(tx, "v/"+v.ID+"/deletedsecrets/", cursor, clampPage(max), func(val []byte) error {
			h, rec, err := decodeHeadVersion(tx, v, val)
			if err == nil {
				p.Items = append(p.Items, deleted(h, rec))
			}
			return err
		})
		return err
	})
	return p, err
}

func decodeHeadVersion(tx *barrier.Tx, v *vaults.Vault, val []byte) (*head, *version, error) {
	var h head
	if err := json.Unmarshal(val, &h); err != nil {
		return nil, nil, err
	}
	var rec version
	if _, err := getJSON(tx, versionsPrefix(v, strings.ToLower(h.Name))+h.Current, &rec); err != nil {
		return nil, nil, err
	}
	return &h, &rec, nil
}

func deleted(h *head, rec *version) DeletedSecret {
	return DeletedSecret{Secret: rec.item(h.Name), DeletedDate: h.DeletedDate, ScheduledPurgeDate: h.ScheduledPurgeDate}
}

// Delete soft-deletes every version of the secret. It stays recoverable for
// the vault's retention period, then it is purged.
func (s *Service) Delete(ctx context.Context, v *vaults.Vault, name string) (*DeletedSecret, error) {
	lname := strings.ToLower(name)
	now := s.now().Unix()
	var out DeletedSecret
	err := s.b.Update(ctx, func(tx *barrier.Tx) error {
		h, rec, err := loadVersion(tx, v, name, "")
		if err != nil {
			return err
		}
		h.DeletedDate = now
		h.ScheduledPurgeDate = now + int64(v.SoftDeleteRetentionDays)*86400
		out = deleted(h, rec)
		if err := tx.Delete(headKey(v, lname)); err != nil {
			return err
		}
		if err := tx.Put(purgeKey(v, lname, h.ScheduledPurgeDate), nil); err != nil {
			return err
		}
		return putJSON(tx, deletedKey(v, lname), h)
	})
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// loadDeleted reads a soft-deleted secret's head and latest version.
func loadDeleted(tx *barrier.Tx, v *vaults.Vault, name string) (*head, *version, error) {
	if !nameRE.MatchString(name) {
		return nil, nil, deletedNotFound(name)
	}
	raw, err := tx.Get(deletedKey(v, strings.ToLower(name)))
	if err != nil {
		if isNotFound(err) {
			return nil, nil, deletedNotFound(name)
		}
		return nil, nil, err
	}
	return decodeHeadVersion(tx, v, raw)
}

// GetDeleted returns a soft-deleted secret (without its value).
func (s *Service) GetDeleted(ctx context.Context, v *vaults.Vault, name string) (*DeletedSecret, error) {
	var out DeletedSecret
	err := s.b.View(ctx, func(tx *barrier.Tx) error {
		h, rec, err := loadDeleted(tx, v, name)
		if err == nil {
			out = deleted(h, rec)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// Recover makes a soft-deleted secret active again with all its versions.
func (s *Service) Recover(ctx context.Context, v *vaults.Vault, name string) (*Secret, error) {
	lname := strings.ToLower(name)
	var out *Secret
	err := s.b.Update(ctx, func(tx *barrier.Tx) error {
		h, rec, err := loadDeleted(tx, v, name)
		if err != nil {
			return err
		}
		if err := tx.Delete(purgeKey(v, lname, h.ScheduledPurgeDate)); err != nil {
			return err
		}
		if err := tx.Delete(deletedKey(v, lname)); err != nil {
			return err
		}
		restored := head{Name: h.Name, Current: h.Current}
		item := rec.item(h.Name)
		out = &item
		return putJSON(tx, headKey(v, lname), &restored)
	})
	return out, err
}

// Purge permanently removes a soft-deleted secret. Purge protection refuses
// it until the retention period has passed.
func (s *Service) Purge(ctx context.Context, v *vaults.Vault, name string) error {
	return s.b.Update(ctx, func(tx *barrier.Tx) error {
		h, _, err := loadDeleted(tx, v, name)
		if err != nil {
			return err
		}
		if v.PurgeProtection && s.now().Unix() < h.ScheduledPurgeDate {
			return kverr.Forbiddenf("Operation \"purge\" is not allowed because purge protection is enabled for this vault. Key Vault service will automatically purge it after the retention period has passed.").
				WithInner("PurgeProtectionEnabled")
		}
		return purge(tx, v, strings.ToLower(name), h.ScheduledPurgeDate)
	})
}

// purge deletes the deleted head, every version and the schedule entry.
func purge(tx *barrier.Tx, v *vaults.Vault, lname string, at int64) error {
	var keys []string
	err := tx.ScanKeys(versionsPrefix(v, lname), "", func(k string) (bool, error) {
		keys = append(keys, k)
		return true, nil
	})
	if err != nil {
		return err
	}
	keys = append(keys, deletedKey(v, lname), purgeKey(v, lname, at))
	for _, k := range keys {
		if err := tx.Delete(k); err != nil {
			return err
		}
	}
	return nil
}
