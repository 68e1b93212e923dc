package objects

import (
	"bytes"
	"compress/flate"
	"context"
	"encoding/json"
	"errors"
	"io"
	"strings"

	"github.com/keyhaven/keyhaven/internal/barrier"
	"github.com/keyhaven/keyhaven/internal/vaults"
)

// Backup limits.
const (
	MaxBackupVersions = 500
	// MaxBackupBytes bounds a backup blob (before base64), so every backup
	// this server hands out can be restored within the restore body limit.
	MaxBackupBytes = 16 << 20
	// maxBackupPlain bounds the inflated JSON inside a backup.
	maxBackupPlain = 128 << 20
)

// backupBlob is the plaintext inside a backup: the head and every version.
type backupBlob struct {
	Head     Head            `json:"head"`
	Versions []backupVersion `json:"versions"`
}

type backupVersion struct {
	Version string          `json:"version"`
	Rec     json.RawMessage `json:"rec"`
}

// purpose names the barrier key backups of this collection are sealed
// under, so a backup of another collection never restores here.
func (s *Store[R]) purpose() string { return "keyhaven/backup/" + s.coll + "/v1" }

// Backup returns an opaque, compressed, encrypted and integrity-protected
// blob with every version of an active object. Only this server's root key
// opens it.
func (s *Store[R]) Backup(ctx context.Context, v *vaults.Vault, name string) ([]byte, error) {
	var blob backupBlob
	err := s.View(ctx, v, func(t *Tx[R]) error {
		cur, err := t.Get(name, "")
		if err != nil {
			return err
		}
		blob = backupBlob{Head: cur.Head}
		prefix := s.versionsPrefix(v, strings.ToLower(name))
		return t.tx.Scan(prefix, "", func(key string, val []byte) (bool, error) {
			if len(blob.Versions) == MaxBackupVersions {
				return false, s.errs.TooManyVersions(MaxBackupVersions)
			}
			blob.Versions = append(blob.Versions, backupVersion{Version: strings.TrimPrefix(key, prefix), Rec: val})
			return true, nil
		})
	})
	if err != nil {
		return nil, err
	}
	packed, err := deflate(&blob)
	if err != nil {
		return nil, err
	}
	sealed, err := s.b.SealBytes(s.purpose(), packed)
	if err != nil {
		return nil, err
	}
	if len(sealed) > MaxBackupBytes {
		return nil, s.errs.BackupTooLarge(MaxBackupBytes)
	}
	return sealed, nil
}

// Restore recreates a backed-up object with all its versions and version
// ids. The name must be free in the vault: neither active nor soft-deleted.
func (s *Store[R]) Restore(ctx context.Context, v *vaults.Vault, sealed []byte) (*Item[R], error) {
	blob, err := s.openBackup(sealed)
	if err != nil {
		return nil, err
	}
	lname := strings.ToLower(blob.Head.Name)
	var it *Item[R]
	err = s.Update(ctx, v, func(t *Tx[R]) error {
		for _, k := range []string{s.headKey(v, lname), s.deletedKey(v, lname)} {
			if exists, err := has(t.tx, k); err != nil || exists {
				return errOr(err, s.errs.RestoreConflict(blob.Head.Name))
			}
		}
		for _, bv := range blob.Versions {
			if err := t.tx.Put(s.versionsPrefix(v, lname)+bv.Version, bv.Rec); err != nil {
				return err
			}
		}
		if err := t.PutHead(&blob.Head); err != nil {
			return err
		}
		var err error
		it, err = t.Get(blob.Head.Name, "")
		return err
	})
	return it, err
}

func (s *Store[R]) openBackup(sealed []byte) (*backupBlob, error) {
	packed, err := s.b.OpenBytes(s.purpose(), sealed)
	if errors.Is(err, barrier.ErrSealed) {
		return nil, err
	}
	if err != nil {
		return nil, s.errs.InvalidBackup()
	}
	plain, err := inflate(packed)
	if err != nil {
		return nil, s.errs.InvalidBackup()
	}
	var blob backupBlob
	if err := json.Unmarshal(plain, &blob); err != nil || !blob.valid() {
		return nil, s.errs.InvalidBackup()
	}
	return &blob, nil
}

// valid checks the blob's shape: a valid name, version ids, and a current
// version among them.
func (b *backupBlob) valid() bool {
	if !ValidName(b.Head.Name) || b.Head.DeletedDate != 0 {
		return false
	}
	current := false
	for _, v := range b.Versions {
		if !versionRE.MatchString(v.Version) {
			return false
		}
		current = current || v.Version == b.Head.Current
	}
	return current
}

func deflate(blob *backupBlob) ([]byte, error) {
	plain, err := Marshal(blob)
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

// inflate refuses output larger than any backup this server makes.
func inflate(data []byte) ([]byte, error) {
	r := flate.NewReader(bytes.NewReader(data))
	defer r.Close()
	out, err := io.ReadAll(io.LimitReader(r, maxBackupPlain+1))
	if err != nil || len(out) > maxBackupPlain {
		return nil, errors.New("objects: backup does not inflate")
	}
	return out, nil
}
