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
	var snap *Snapshot
	err := s.View(ctx, v, func(t *Tx[R]) error {
		var err error
		if snap, err = t.Export(name); err == nil && snap.Head.Managed {
			return s.errs.Managed("backup")
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return s.SealBackup(s.purpose(), snap)
}

// Snapshot is an active object's head and every version's stored record,
// the content of a backup.
type Snapshot = backupBlob

// Export reads the snapshot of an active object for a backup.
func (t *Tx[R]) Export(name string) (*Snapshot, error) {
	s := t.s
	cur, err := t.Get(name, "")
	if err != nil {
		return nil, err
	}
	blob := &backupBlob{Head: cur.Head}
	prefix := s.versionsPrefix(t.v, strings.ToLower(name))
	err = t.tx.Scan(prefix, "", func(key string, val []byte) (bool, error) {
		if len(blob.Versions) == MaxBackupVersions {
			return false, s.errs.TooManyVersions(MaxBackupVersions)
		}
		blob.Versions = append(blob.Versions, backupVersion{Version: strings.TrimPrefix(key, prefix), Rec: val})
		return true, nil
	})
	return blob, err
}

// SealBackup deflates and seals v (a snapshot, or a domain's composite of
// snapshots) under the barrier key of purpose, refusing blobs over
// MaxBackupBytes.
func (s *Store[R]) SealBackup(purpose string, v any) ([]byte, error) {
	packed, err := deflate(v)
	if err != nil {
		return nil, err
	}
	sealed, err := s.b.SealBytes(purpose, packed)
	if err != nil {
		return nil, err
	}
	if len(sealed) > MaxBackupBytes {
		return nil, s.errs.BackupTooLarge(MaxBackupBytes)
	}
	return sealed, nil
}

// OpenBackup opens a blob SealBackup made for purpose into dst; a blob that
// does not open is InvalidBackup.
func (s *Store[R]) OpenBackup(purpose string, sealed []byte, dst any) error {
	packed, err := s.b.OpenBytes(purpose, sealed)
	if errors.Is(err, barrier.ErrSealed) {
		return err
	}
	if err != nil {
		return s.errs.InvalidBackup()
	}
	plain, err := inflate(packed)
	if err != nil {
		return s.errs.InvalidBackup()
	}
	if err := json.Unmarshal(plain, dst); err != nil {
		return s.errs.InvalidBackup()
	}
	return nil
}

// Restore recreates a backed-up object with all its versions and version
// ids. The name must be free in the vault: neither active nor soft-deleted.
func (s *Store[R]) Restore(ctx context.Context, v *vaults.Vault, sealed []byte) (*Item[R], error) {
	blob, err := s.openBackup(sealed)
	if err != nil {
		return nil, err
	}
	var it *Item[R]
	err = s.Update(ctx, v, func(t *Tx[R]) error {
		var err error
		it, err = t.Import(blob)
		return err
	})
	return it, err
}

// Import writes a snapshot back as an active object; its name must be free
// (neither active nor soft-deleted).
func (t *Tx[R]) Import(blob *Snapshot) (*Item[R], error) {
	s, v := t.s, t.v
	if !blob.valid() {
		return nil, s.errs.InvalidBackup()
	}
	lname := strings.ToLower(blob.Head.Name)
	for _, k := range []string{s.headKey(v, lname), s.deletedKey(v, lname)} {
		if exists, err := has(t.tx, k); err != nil || exists {
			return nil, errOr(err, s.errs.RestoreConflict(blob.Head.Name))
		}
	}
	for _, bv := range blob.Versions {
		if err := t.tx.Put(s.versionsPrefix(v, lname)+bv.Version, bv.Rec); err != nil {
			return nil, err
		}
	}
	if err := t.PutHead(&blob.Head); err != nil {
		return nil, err
	}
	return t.Get(blob.Head.Name, "")
}

func (s *Store[R]) openBackup(sealed []byte) (*backupBlob, error) {
	var blob backupBlob
	if err := s.OpenBackup(s.purpose(), sealed, &blob); err != nil {
		return nil, err
	}
	if !blob.valid() {
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
		if !validVersion(v.Version) {
			return false
		}
		current = current || v.Version == b.Head.Current
	}
	return current
}

func deflate(v any) ([]byte, error) {
	plain, err := Marshal(v)
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
