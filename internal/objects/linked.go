package objects

import (
	"strings"

	"github.com/keyhaven/keyhaven/internal/barrier"
	"github.com/keyhaven/keyhaven/internal/vaults"
)

// Linked is the lifecycle of a collection whose objects another object
// owns: a certificate deletes, recovers, purges, backs up and restores its
// backing key and secret inside its own transaction, so the three never
// drift apart. The operations do not check Head.Managed; the owner
// decides.
type Linked interface {
	DeleteLinked(bt *barrier.Tx, v *vaults.Vault, name string) error
	RecoverLinked(bt *barrier.Tx, v *vaults.Vault, name string) error
	PurgeLinked(bt *barrier.Tx, v *vaults.Vault, name string) error
	ExportLinked(bt *barrier.Tx, v *vaults.Vault, name string) (*Snapshot, error)
	ImportLinked(bt *barrier.Tx, v *vaults.Vault, snap *Snapshot) error
	// Occupied reports whether an object the owner does not manage (active
	// or soft-deleted) holds name.
	Occupied(bt *barrier.Tx, v *vaults.Vault, name string) (bool, error)
}

// DeleteLinked soft-deletes name inside bt.
func (s *Store[R]) DeleteLinked(bt *barrier.Tx, v *vaults.Vault, name string) error {
	_, err := In(s, bt, v).Delete(name)
	return err
}

// RecoverLinked recovers the soft-deleted name inside bt.
func (s *Store[R]) RecoverLinked(bt *barrier.Tx, v *vaults.Vault, name string) error {
	_, err := In(s, bt, v).Recover(name)
	return err
}

// PurgeLinked purges the soft-deleted name inside bt.
func (s *Store[R]) PurgeLinked(bt *barrier.Tx, v *vaults.Vault, name string) error {
	return In(s, bt, v).Purge(name)
}

// ExportLinked reads the snapshot of the active name inside bt.
func (s *Store[R]) ExportLinked(bt *barrier.Tx, v *vaults.Vault, name string) (*Snapshot, error) {
	return In(s, bt, v).Export(name)
}

// ImportLinked writes snap back inside bt; the name must be free.
func (s *Store[R]) ImportLinked(bt *barrier.Tx, v *vaults.Vault, snap *Snapshot) error {
	_, err := In(s, bt, v).Import(snap)
	return err
}

// Occupied reports whether an unmanaged object, active or soft-deleted,
// holds name.
func (s *Store[R]) Occupied(bt *barrier.Tx, v *vaults.Vault, name string) (bool, error) {
	lname := strings.ToLower(name)
	for _, key := range []string{s.headKey(v, lname), s.deletedKey(v, lname)} {
		var h Head
		found, err := getJSON(bt, key, &h)
		if err != nil {
			return false, err
		}
		if found && !h.Managed {
			return true, nil
		}
	}
	return false, nil
}
