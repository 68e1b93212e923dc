package objects

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/keyhaven/keyhaven/internal/barrier"
	"github.com/keyhaven/keyhaven/internal/storage"
	"github.com/keyhaven/keyhaven/internal/vaults"
)

func clampPage(max int) int {
	if max <= 0 || max > MaxPageSize {
		return MaxPageSize
	}
	return max
}

// ScanPage visits up to max records under prefix that sort after cursor and
// returns the cursor of the next page when more records follow. val is only
// valid during visit (barrier.Tx.ScanBorrowed): visit copies what it keeps.
func ScanPage(tx *barrier.Tx, prefix, cursor string, max int, visit func(suffix string, val []byte) error) (string, error) {
	start := ""
	if cursor != "" {
		start = prefix + cursor + "\x00"
	}
	n, last, next := 0, "", ""
	err := tx.ScanBorrowed(prefix, start, func(key string, val []byte) (bool, error) {
		if n == clampPage(max) {
			next = last
			return false, nil
		}
		n++
		last = strings.TrimPrefix(key, prefix)
		return true, visit(last, val)
	})
	return next, err
}

// List returns a page of active objects, each with its current version.
func (s *Store[R]) List(ctx context.Context, v *vaults.Vault, cursor string, max int) (Page[Item[R]], error) {
	return s.listHeads(ctx, v, "v/"+v.ID+"/"+s.coll+"/", cursor, max)
}

// ListDeleted returns a page of soft-deleted objects.
func (s *Store[R]) ListDeleted(ctx context.Context, v *vaults.Vault, cursor string, max int) (Page[Item[R]], error) {
	return s.listHeads(ctx, v, "v/"+v.ID+"/deleted"+s.coll+"/", cursor, max)
}

func (s *Store[R]) listHeads(ctx context.Context, v *vaults.Vault, prefix, cursor string, max int) (Page[Item[R]], error) {
	p := Page[Item[R]]{Items: make([]Item[R], 0, clampPage(max))}
	err := s.b.View(ctx, func(tx *barrier.Tx) error {
		var err error
		p.Next, err = ScanPage(tx, prefix, cursor, max, func(_ string, val []byte) error {
			p.Items = append(p.Items, Item[R]{})
			return s.currentInto(&p.Items[len(p.Items)-1], tx, v, val, true)
		})
		return err
	})
	return p, err
}

// current decodes a head and its current version (for a list page when
// listing).
func (s *Store[R]) current(tx *barrier.Tx, v *vaults.Vault, rawHead []byte, listing bool) (*Item[R], error) {
	it := &Item[R]{}
	if err := s.currentInto(it, tx, v, rawHead, listing); err != nil {
		return nil, err
	}
	return it, nil
}

// currentInto is current decoding into it, which must be zero.
func (s *Store[R]) currentInto(it *Item[R], tx *barrier.Tx, v *vaults.Vault, rawHead []byte, listing bool) error {
	c, err := decodeHead(rawHead, &it.Head, &it.Rec, listing)
	if err != nil {
		return err
	}
	it.Version = it.Head.Current
	if c.took {
		return nil
	}
	_, err = readCurrent(tx, s.versionsPrefix(v, strings.ToLower(it.Head.Name))+it.Version, c, &it.Rec, listing)
	return err
}

// ListVersions returns a page of an active object's versions.
func (s *Store[R]) ListVersions(ctx context.Context, v *vaults.Vault, name, cursor string, max int) (Page[Item[R]], error) {
	var p Page[Item[R]]
	err := s.View(ctx, v, func(t *Tx[R]) error {
		h, err := t.head(name)
		if err != nil {
			return err
		}
		p.Next, err = ScanPage(t.tx, s.versionsPrefix(v, strings.ToLower(name)), cursor, max, func(ver string, val []byte) error {
			it := Item[R]{Head: *h, Version: ver}
			if err := DecodeRecord(val, &it.Rec, true); err != nil {
				return err
			}
			p.Items = append(p.Items, it)
			return nil
		})
		return err
	})
	return p, err
}

// Delete soft-deletes every version of an object; it stays recoverable for
// the vault's retention period, then the scheduler purges it.
func (s *Store[R]) Delete(ctx context.Context, v *vaults.Vault, name string) (*Item[R], error) {
	var it *Item[R]
	err := s.Update(ctx, v, func(t *Tx[R]) error {
		if err := t.unmanaged(t.Get(name, ""))("delete"); err != nil {
			return err
		}
		var err error
		it, err = t.Delete(name)
		return err
	})
	return it, err
}

// Delete soft-deletes every version of an active object.
func (t *Tx[R]) Delete(name string) (*Item[R], error) {
	s, v := t.s, t.v
	now := s.now().Unix()
	it, err := t.Get(name, "")
	if err != nil {
		return nil, err
	}
	lname := strings.ToLower(name)
	it.Head.DeletedDate = now
	it.Head.ScheduledPurgeDate = now + int64(v.SoftDeleteRetentionDays)*86400
	if err := t.tx.Delete(s.headKey(v, lname)); err != nil {
		return nil, err
	}
	if err := t.tx.Put(s.purgeKey(v, lname, it.Head.ScheduledPurgeDate), nil); err != nil {
		return nil, err
	}
	// A deleted object's versions do not change until it is recovered
	// (which writes its active head anew) or purged: its head keeps the
	// copies, for GetDeleted and ListDeleted.
	raw, sealed, err := s.storedVersion(t.tx, s.versionsPrefix(v, lname)+it.Version)
	if err != nil {
		return nil, err
	}
	defer clear(raw)
	return it, s.writeHead(t.tx, s.deletedKey(v, lname), &it.Head, raw, sealed)
}

// getDeleted reads a soft-deleted object's head and current version.
func (t *Tx[R]) getDeleted(name string) (*Item[R], error) {
	if !ValidName(name) {
		return nil, t.s.errs.DeletedNotFound(name)
	}
	raw, err := t.tx.Get(t.s.deletedKey(t.v, strings.ToLower(name)))
	if err != nil {
		if isNotFound(err) {
			return nil, t.s.errs.DeletedNotFound(name)
		}
		return nil, err
	}
	return t.s.current(t.tx, t.v, raw, false)
}

// GetDeleted reads a soft-deleted object.
func (s *Store[R]) GetDeleted(ctx context.Context, v *vaults.Vault, name string) (*Item[R], error) {
	var it *Item[R]
	err := s.View(ctx, v, func(t *Tx[R]) error {
		var err error
		it, err = t.getDeleted(name)
		return err
	})
	return it, err
}

// Recover makes a soft-deleted object active again with all its versions.
func (s *Store[R]) Recover(ctx context.Context, v *vaults.Vault, name string) (*Item[R], error) {
	var it *Item[R]
	err := s.Update(ctx, v, func(t *Tx[R]) error {
		if err := t.unmanaged(t.getDeleted(name))("recover"); err != nil {
			return err
		}
		var err error
		it, err = t.Recover(name)
		return err
	})
	return it, err
}

// Recover makes a soft-deleted object active again.
func (t *Tx[R]) Recover(name string) (*Item[R], error) {
	s, v := t.s, t.v
	it, err := t.getDeleted(name)
	if err != nil {
		return nil, err
	}
	lname := strings.ToLower(name)
	if err := t.tx.Delete(s.purgeKey(v, lname, it.Head.ScheduledPurgeDate)); err != nil {
		return nil, err
	}
	if err := t.tx.Delete(s.deletedKey(v, lname)); err != nil {
		return nil, err
	}
	it.Head.DeletedDate, it.Head.ScheduledPurgeDate = 0, 0
	return it, t.PutHead(&it.Head)
}

// Purge permanently removes a soft-deleted object. Purge protection refuses
// it until the retention period has passed.
func (s *Store[R]) Purge(ctx context.Context, v *vaults.Vault, name string) error {
	return s.Update(ctx, v, func(t *Tx[R]) error {
		if err := t.unmanaged(t.getDeleted(name))("purge"); err != nil {
			return err
		}
		return t.Purge(name)
	})
}

// Purge permanently removes a soft-deleted object, unless purge protection
// holds it.
func (t *Tx[R]) Purge(name string) error {
	s, v := t.s, t.v
	it, err := t.getDeleted(name)
	if err != nil {
		return err
	}
	if v.PurgeProtection && s.now().Unix() < it.Head.ScheduledPurgeDate {
		return s.errs.PurgeProtected()
	}
	return s.purge(t.tx, v, strings.ToLower(name), it.Head.ScheduledPurgeDate)
}

// purge deletes the deleted head, every version and the schedule entry.
func (s *Store[R]) purge(tx *barrier.Tx, v *vaults.Vault, lname string, at int64) error {
	var keys []string
	err := tx.ScanKeys(s.versionsPrefix(v, lname), "", func(k string) (bool, error) {
		keys = append(keys, k)
		return true, nil
	})
	if err != nil {
		return err
	}
	keys = append(keys, s.deletedKey(v, lname), s.purgeKey(v, lname, at))
	for _, k := range keys {
		if err := tx.Delete(k); err != nil {
			return err
		}
	}
	return nil
}

// PurgeDue permanently removes soft-deleted objects (in every vault) whose
// scheduled purge date is at or before now, and returns how many it purged.
// An entry that fails is reported and skipped, so it cannot block the rest.
func (s *Store[R]) PurgeDue(ctx context.Context, now time.Time) (int, error) {
	list, err := s.duePurges(ctx, now)
	if err != nil {
		return 0, err
	}
	n := 0
	var errs []error
	for _, d := range list {
		purged, err := s.purgeEntry(ctx, d)
		if err != nil {
			errs = append(errs, fmt.Errorf("purge %s %s in vault %s: %w", s.coll, d.lname, d.vaultID, err))
		}
		if purged {
			n++
		}
	}
	return n, errors.Join(errs...)
}

// duePurge is one entry of the purge schedule whose time has come.
type duePurge struct {
	vaultID, lname, key string
	at                  int64
}

func (s *Store[R]) duePurges(ctx context.Context, now time.Time) ([]duePurge, error) {
	var list []duePurge
	prefix := s.purgePrefix()
	err := s.b.View(ctx, func(tx *barrier.Tx) error {
		return tx.ScanKeys(prefix, "", func(k string) (bool, error) {
			parts := strings.Split(strings.TrimPrefix(k, prefix), "/")
			if len(parts) != 3 {
				return true, nil
			}
			at, err := strconv.ParseInt(parts[0], 10, 64)
			if err != nil || at > now.Unix() {
				return false, nil
			}
			list = append(list, duePurge{vaultID: parts[1], lname: parts[2], key: k, at: at})
			return len(list) < 1000, nil
		})
	})
	return list, err
}

// purgeEntry purges one due object. A stale entry (the object was
// recovered, or deleted again with another date) is dropped; so is an entry
// whose vault key is gone, since nothing under it can be read any more.
func (s *Store[R]) purgeEntry(ctx context.Context, d duePurge) (purged bool, err error) {
	v := &vaults.Vault{ID: d.vaultID}
	err = s.b.Update(ctx, func(tx *barrier.Tx) error {
		purged = false
		var h Head
		found, err := getJSON(tx, s.deletedKey(v, d.lname), &h)
		if errors.Is(err, barrier.ErrNoVaultKey) || (err == nil && (!found || h.ScheduledPurgeDate != d.at)) {
			return tx.Delete(d.key)
		}
		if err != nil {
			return err
		}
		purged = true
		return s.purge(tx, v, d.lname, d.at)
	})
	return purged && err == nil, err
}

func isNotFound(err error) bool {
	return errors.Is(err, storage.ErrNotFound)
}

// GetDeletedIn reads a soft-deleted object inside a transaction.
func (s *Store[R]) GetDeletedIn(t *Tx[R], name string) (*Item[R], error) { return t.getDeleted(name) }

// unmanaged returns a check that refuses op when the object read is
// managed; a failed read is passed on.
func (t *Tx[R]) unmanaged(it *Item[R], err error) func(op string) error {
	return func(op string) error {
		if err != nil {
			return err
		}
		if it.Head.Managed {
			return t.s.errs.Managed(op)
		}
		return nil
	}
}
