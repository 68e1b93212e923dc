package secrets

import (
	"bytes"
	"compress/flate"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/keyhaven/keyhaven/internal/barrier"
	"github.com/keyhaven/keyhaven/internal/kverr"
	"github.com/keyhaven/keyhaven/internal/vaults"
)

// backupPurpose names the key the barrier derives for secret backups, so a
// backup of another object type (or anything else sealed by the server) is
// never accepted as a secret backup.
const backupPurpose = "keyhaven/backup/secret/v1"

// backupBlob is the plaintext inside a backup: every version of one secret.
type backupBlob struct {
	Name     string    `json:"name"`
	Current  string    `json:"current"`
	Versions []version `json:"versions"`
}

// Backup returns an opaque, encrypted and integrity-protected blob holding
// every version of an active secret. Only this server (its root key) can
// restore it.
func (s *Service) Backup(ctx context.Context, v *vaults.Vault, name string) ([]byte, error) {
	var blob backupBlob
	err := s.b.View(ctx, func(tx *barrier.Tx) error {
		h, _, err := loadVersion(tx, v, name, "")
		if err != nil {
			return err
		}
		blob = backupBlob{Name: h.Name, Current: h.Current}
		return tx.Scan(versionsPrefix(v, strings.ToLower(name)), "", func(_ string, val []byte) (bool, error) {
			var rec version
			if err := json.Unmarshal(val, &rec); err != nil {
				return false, err
			}
			blob.Versions = append(blob.Versions, rec)
			if len(blob.Versions) > MaxBackupVersions {
				return false, kverr.BadParameterf("The secret has more than %d versions and cannot be backed up.", MaxBackupVersions)
			}
			return true, nil
		})
	})
	if err != nil {
		return nil, err
	}
	plain, err := compress(&blob)
	if err != nil {
		return nil, err
	}
	sealed, err := s.b.SealBytes(backupPurpose, plain)
	if err != nil {
		return nil, err
	}
	if len(sealed) > MaxBackupBytes {
		return nil, kverr.BadParameterf("The backup of this secret would exceed %d bytes; delete old versions first.", MaxBackupBytes)
	}
	return sealed, nil
}

// compress encodes the blob as JSON and deflates it.
func compress(blob *backupBlob) ([]byte, error) {
	plain, err := marshal(blob)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	w, _ := flate.NewWriter(&buf, flate.BestSpeed)
	if _, err := w.Write(plain); err != nil {
		return nil, err
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// decompress inflates a backup, refusing output larger than any backup
// this server makes.
func decompress(data []byte) ([]byte, error) {
	r := flate.NewReader(bytes.NewReader(data))
	defer r.Close()
	out, err := io.ReadAll(io.LimitReader(r, maxBackupPlain+1))
	if err != nil || len(out) > maxBackupPlain {
		return nil, errors.New("secrets: backup does not inflate")
	}
	return out, nil
}

// Restore recreates a backed-up secret with all its versions and version
// ids. The name must be free in the vault: neither active nor soft-deleted.
func (s *Service) Restore(ctx context.Context, v *vaults.Vault, sealed []byte) (*Secret, error) {
	blob, err := s.openBackup(sealed)
	if err != nil {
		return nil, err
	}
	lname := strings.ToLower(blob.Name)
	var out *Secret
	err = s.b.Update(ctx, func(tx *barrier.Tx) error {
		for _, k := range []string{headKey(v, lname), deletedKey(v, lname)} {
			if exists, err := has(tx, k); err != nil || exists {
				return errOr(err, restoreConflict(blob.Name))
			}
		}
		for i := range blob.Versions {
			rec := &blob.Versions[i]
			if rec.Version == blob.Current {
				item := rec.item(blob.Name)
				out = &item
			}
			if err := putJSON(tx, versionsPrefix(v, lname)+rec.Version, rec); err != nil {
				return err
			}
		}
		return putJSON(tx, headKey(v, lname), &head{Name: blob.Name, Current: blob.Current})
	})
	return out, err
}

func (s *Service) openBackup(sealed []byte) (*backupBlob, error) {
	invalid := kverr.BadParameterf("The backup blob is invalid: it is corrupt, was altered, or was not made by this server for a secret.")
	packed, err := s.b.OpenBytes(backupPurpose, sealed)
	if err != nil {
		if isSealed(err) {
			return nil, err
		}
		return nil, invalid
	}
	plain, err := decompress(packed)
	if err != nil {
		return nil, invalid
	}
	var blob backupBlob
	if err := json.Unmarshal(plain, &blob); err != nil || ValidateName(blob.Name) != nil || !blob.hasCurrent() {
		return nil, invalid
	}
	return &blob, nil
}

func (b *backupBlob) hasCurrent() bool {
	for _, v := range b.Versions {
		if !versionRE.MatchString(v.Version) {
			return false
		}
	}
	for _, v := range b.Versions {
		if v.Version == b.Current {
			return true
		}
	}
	return false
}

func restoreConflict(name string) error {
	return kverr.New(kverr.Conflict, "Conflict",
		"There was a conflict restoring the secret '"+name+"'. This can happen if either: a secret with the same name already exists, or the secret was deleted but not yet purged.")
}

// PurgeDue permanently removes soft-deleted secrets (in every vault) whose
// scheduled purge date is at or before now, and returns how many it purged.
// An entry that fails is reported and skipped, so it cannot block the rest.
func (s *Service) PurgeDue(ctx context.Context, now time.Time) (int, error) {
	list, err := s.duePurges(ctx, now)
	if err != nil {
		return 0, err
	}
	n := 0
	var errs []error
	for _, d := range list {
		purged, err := s.purgeEntry(ctx, d)
		if err != nil {
			errs = append(errs, fmt.Errorf("purge %s in vault %s: %w", d.lname, d.vaultID, err))
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

func (s *Service) duePurges(ctx context.Context, now time.Time) ([]duePurge, error) {
	var list []duePurge
	err := s.b.View(ctx, func(tx *barrier.Tx) error {
		return tx.ScanKeys(purgePrefix, "", func(k string) (bool, error) {
			parts := strings.Split(strings.TrimPrefix(k, purgePrefix), "/")
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

// purgeEntry purges one due secret. A stale entry (the secret was recovered
// or deleted again with another date) is dropped; so is an entry whose
// vault key is gone, since nothing under it can be read any more.
func (s *Service) purgeEntry(ctx context.Context, d duePurge) (purged bool, err error) {
	v := &vaults.Vault{ID: d.vaultID}
	err = s.b.Update(ctx, func(tx *barrier.Tx) error {
		purged = false
		var h head
		found, err := getJSON(tx, deletedKey(v, d.lname), &h)
		if errors.Is(err, barrier.ErrNoVaultKey) || (err == nil && (!found || h.ScheduledPurgeDate != d.at)) {
			return tx.Delete(d.key)
		}
		if err != nil {
			return err
		}
		purged = true
		return purge(tx, v, d.lname, d.at)
	})
	return purged && err == nil, err
}
