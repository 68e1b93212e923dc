// Package expiry keeps the expiry index of secrets, keys and certificates
// and turns it into Microsoft.KeyVault.*NearExpiry and *Expired events,
// each recorded once per version (and expiry time) in the transaction that
// advances the index, so the scheduler never scans objects.
//
// Layout inside the barrier (root key), per collection:
//
//	sys/expiry/<collection>/near/<exp>/<vault-id>/<lname>/<version>
//	sys/expiry/<collection>/expired/<exp>/<vault-id>/<lname>/<version>
//
// <exp> is the Unix time as 20 digits, so entries sort by expiry. A
// version with an expiry time has one entry, written in the transaction
// that sets or changes its exp attribute: "near" until its near-expiry
// event, then "expired" until its expired event. A changed expiry moves the
// entry back to "near" (both events may fire again for the new time). As
// in Azure, only the current version of an object produces events: an
// entry whose version is no longer current, is gone, or whose expiry
// changed is dropped when it comes due; a soft-deleted object keeps its
// entries for when it is recovered.
package expiry

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/keyhaven/keyhaven/internal/barrier"
	"github.com/keyhaven/keyhaven/internal/events"
	"github.com/keyhaven/keyhaven/internal/kverr"
	"github.com/keyhaven/keyhaven/internal/objects"
	"github.com/keyhaven/keyhaven/internal/vaults"
)

// Kind names a collection and its events.
type Kind struct {
	Collection    string // "secrets", "keys", "certificates"
	ObjectType    string // events' ObjectType: Secret, Key, Certificate
	Near, Expired string // event types
}

// The three kinds of versioned objects that expire.
var (
	Secrets      = Kind{Collection: "secrets", ObjectType: "Secret", Near: events.SecretNearExpiry, Expired: events.SecretExpired}
	Keys         = Kind{Collection: "keys", ObjectType: "Key", Near: events.KeyNearExpiry, Expired: events.KeyExpired}
	Certificates = Kind{Collection: "certificates", ObjectType: "Certificate", Near: events.CertificateNearExpiry, Expired: events.CertificateExpired}
)

const (
	prefix       = "sys/expiry/"
	stageNear    = "near"
	stageExpired = "expired"
	// maxPerRun bounds the entries one run handles per stage; the rest
	// wait for the next run.
	maxPerRun = 1000
)

func stagePrefix(k Kind, stage string) string { return prefix + k.Collection + "/" + stage + "/" }

func key(k Kind, stage string, exp int64, vaultID, lname, version string) string {
	return fmt.Sprintf("%s%020d/%s/%s/%s", stagePrefix(k, stage), exp, vaultID, lname, version)
}

// Index records in bt that a version's expiry changed from old to new
// (nil: none); it does nothing when they are equal.
func Index(bt *barrier.Tx, k Kind, vaultID, name, version string, old, new *int64) error {
	if old == nil && new == nil || old != nil && new != nil && *old == *new {
		return nil
	}
	lname := strings.ToLower(name)
	if old != nil {
		for _, st := range []string{stageNear, stageExpired} {
			if err := bt.Delete(key(k, st, *old, vaultID, lname, version)); err != nil {
				return err
			}
		}
	}
	if new == nil {
		return nil
	}
	return bt.Put(key(k, stageNear, *new, vaultID, lname, version), nil)
}

// Version is what Notify needs to know of an indexed version.
type Version struct {
	Name     string // as created
	Current  bool   // the object's current version
	NBF, EXP *int64
	// SkipNear: another mechanism records this version's near-expiry event
	// (a key rotation policy's Notify action, a certificate's EmailContacts
	// lifetime action), so the index records only the expired one.
	SkipNear bool
}

// entry is one index entry that has come due.
type entry struct {
	key, stage              string
	exp                     int64
	vaultID, lname, version string
}

// Notify records the events that have come due at now: near-expiry for
// current versions that expire within lead (and have not expired yet),
// expired for those whose expiry has passed. vs are the active vaults;
// view reads what Notify needs of a version. It returns how many events it
// recorded; a failing entry does not stop the rest.
func Notify[R any](ctx context.Context, store *objects.Store[R], k Kind, now time.Time, lead time.Duration, vs []*vaults.Vault,
	view func(*objects.Item[R]) Version) (int, error) {
	byID := make(map[string]*vaults.Vault, len(vs))
	for _, v := range vs {
		byID[v.ID] = v
	}
	n := 0
	var errs []error
	for _, stage := range []string{stageNear, stageExpired} {
		until := now.Unix()
		if stage == stageNear {
			until = now.Add(lead).Unix()
		}
		due, err := dueEntries(ctx, store, k, stage, until)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		for _, e := range due {
			recorded, err := advance(ctx, store, k, e, now, byID, view)
			if err != nil {
				errs = append(errs, fmt.Errorf("expiry of %s %s in vault %s: %w", k.Collection, e.lname, e.vaultID, err))
			}
			if recorded {
				n++
			}
		}
	}
	return n, errors.Join(errs...)
}

// dueEntries lists the stage's entries whose expiry is at or before until.
func dueEntries[R any](ctx context.Context, store *objects.Store[R], k Kind, stage string, until int64) ([]entry, error) {
	var out []entry
	p := stagePrefix(k, stage)
	err := store.View(ctx, &vaults.Vault{}, func(t *objects.Tx[R]) error {
		out = out[:0]
		return t.Barrier().ScanKeys(p, "", func(key string) (bool, error) {
			parts := strings.Split(strings.TrimPrefix(key, p), "/")
			if len(parts) != 4 {
				return true, nil
			}
			exp, err := strconv.ParseInt(parts[0], 10, 64)
			if err != nil {
				return true, nil
			}
			if exp > until || len(out) == maxPerRun {
				return false, nil
			}
			out = append(out, entry{key: key, stage: stage, exp: exp, vaultID: parts[1], lname: parts[2], version: parts[3]})
			return true, nil
		})
	})
	return out, err
}

// advance handles one due entry in one transaction: it records the event
// and moves the entry on (near → expired → gone), or drops a stale entry.
func advance[R any](ctx context.Context, store *objects.Store[R], k Kind, e entry, now time.Time, byID map[string]*vaults.Vault,
	view func(*objects.Item[R]) Version) (recorded bool, err error) {
	v, active := byID[e.vaultID]
	if !active {
		v = &vaults.Vault{ID: e.vaultID}
	}
	err = store.Update(ctx, v, func(t *objects.Tx[R]) error {
		recorded = false
		bt := t.Barrier()
		it, err := t.Get(e.lname, e.version)
		if err != nil {
			if keep, err := keepMissing(store, t, e, err); keep || err != nil {
				return err
			}
			return bt.Delete(e.key)
		}
		if !active {
			return nil // a soft-deleted vault: nothing to announce while it is gone
		}
		ver := view(it)
		if !ver.Current || ver.EXP == nil || *ver.EXP != e.exp {
			return bt.Delete(e.key)
		}
		if err := bt.Delete(e.key); err != nil {
			return err
		}
		typ := k.Expired
		if e.stage == stageNear {
			if err := bt.Put(key(k, stageExpired, e.exp, e.vaultID, e.lname, e.version), nil); err != nil {
				return err
			}
			if ver.SkipNear || now.Unix() >= e.exp {
				return nil // the expired event follows (at once when already expired)
			}
			typ = k.Near
		}
		recorded = true
		return events.Record(bt, events.Event{ID: objects.NewVersion(), Type: typ, Time: now.UTC(), VaultID: v.ID, VaultName: v.Name,
			Data: events.Data{ObjectType: k.ObjectType, ObjectName: ver.Name, Version: it.Version, NBF: ver.NBF, EXP: ver.EXP}})
	})
	return recorded && err == nil, err
}

// keepMissing decides about an entry whose version could not be read:
// keep it while the object is soft-deleted, drop it when the object or the
// vault (its key) is gone; other errors are returned.
func keepMissing[R any](store *objects.Store[R], t *objects.Tx[R], e entry, getErr error) (keep bool, err error) {
	switch {
	case errors.Is(getErr, barrier.ErrNoVaultKey):
		return false, nil
	case kverr.As(getErr) == nil || kverr.As(getErr).Kind != kverr.NotFound:
		return false, getErr
	}
	if _, err := store.GetDeletedIn(t, e.lname); err == nil {
		return true, nil
	}
	return false, nil
}
