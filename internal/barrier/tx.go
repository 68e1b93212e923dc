package barrier

import (
	"bytes"
	"crypto/cipher"
	"encoding/binary"
	"fmt"
	"strings"

	"github.com/keyhaven/keyhaven/internal/storage"
)

// Tx is a barrier transaction. It is only valid during the function given
// to View or Update and must not be used concurrently.
type Tx struct {
	b        *Barrier
	st       *keyState
	stx      storage.Tx
	writable bool

	// memo remembers the last vault keyring used in this transaction.
	memoID string
	memo   *keyring
}

// check returns ErrSealed if the barrier was sealed (or resealed) since the
// transaction started.
func (tx *Tx) check() error {
	if tx.b.state.Load() != tx.st {
		return ErrSealed
	}
	return nil
}

// checkKey validates key for a Get, Put or Delete.
func (tx *Tx) checkKey(key string, write bool) error {
	if err := tx.check(); err != nil {
		return err
	}
	if isReserved(key) {
		return fmt.Errorf("%w: %q", ErrReservedKey, key)
	}
	if _, _, err := vaultOf(key); err != nil {
		return err
	}
	if write && !tx.writable {
		return storage.ErrReadOnly
	}
	return nil
}

// Get returns the decrypted value stored at key, or an error wrapping
// storage.ErrNotFound or ErrIntegrity. The result belongs to the caller.
func (tx *Tx) Get(key string) ([]byte, error) {
	if err := tx.checkKey(key, false); err != nil {
		return nil, err
	}
	sc := getScratch()
	defer putScratch(sc)
	aad := aadFor(sc, key)
	raw, err := tx.stx.Get(aad[aadKeyOff:])
	if err != nil {
		return nil, fmt.Errorf("barrier: get %q: %w", key, err)
	}
	return tx.open(key, raw, aad, sc)
}

// open decrypts raw, stored at key, into a new slice; aad comes from
// aadFor(sc, key).
func (tx *Tx) open(key string, raw, aad []byte, sc *scratch) ([]byte, error) {
	return tx.openInto(key, raw, aad, sc, nil)
}

// openInto is open that decrypts into dst when it has room.
func (tx *Tx) openInto(key string, raw, aad []byte, sc *scratch, dst []byte) ([]byte, error) {
	if len(raw) > 0 && raw[0] == formatIndex {
		if len(raw) < overheadIdx {
			return nil, fmt.Errorf("barrier: open %q: %w", key, ErrIntegrity)
		}
		idx, err := tx.readKEK(key, binary.BigEndian.Uint32(raw[offTerm:]), sc, true)
		if err != nil {
			return nil, err
		}
		pt, err := openIndex(idx, raw, aad, dst)
		if err != nil {
			return nil, fmt.Errorf("barrier: open %q: %w", key, err)
		}
		return pt, nil
	}
	env, err := parseEnvelope(raw)
	if err != nil {
		return nil, fmt.Errorf("barrier: open %q: %w", key, err)
	}
	kek, err := tx.readKEK(key, env.term, sc, false)
	if err != nil {
		return nil, err
	}
	id := newDEKID(kek, env, key)
	dek := tx.st.deks.get(&id)
	if dek == nil {
		if dek, err = unwrapDEK(kek, env, aad, &sc.dk); err != nil {
			return nil, fmt.Errorf("barrier: open %q: %w", key, err)
		}
		tx.st.deks.put(&id, dek)
	}
	pt, err := openPayload(dek, env, aad, dst)
	if err != nil {
		return nil, fmt.Errorf("barrier: open %q: %w", key, err)
	}
	return pt, nil
}

// Put encrypts value under a fresh data key of its own and stores it at
// key. Keys under "v/<vaultID>/" need that vault's key (see
// CreateVaultKey).
func (tx *Tx) Put(key string, value []byte) error {
	_, err := tx.PutSealed(key, value)
	return err
}

// PutSealed is Put that also returns a copy of the value as sealed and
// stored, for a record that carries it (an index entry with the current
// version of what it indexes) to open later with OpenSealed.
func (tx *Tx) PutSealed(key string, value []byte) ([]byte, error) {
	if err := tx.checkKey(key, true); err != nil {
		return nil, err
	}
	kek, term, err := tx.writeKEK(key, false)
	if err != nil {
		return nil, err
	}
	k, v, err := sealEnvelope(kek, term, key, value)
	if err != nil {
		return nil, err
	}
	return bytes.Clone(v), tx.stx.Put(k, v)
}

// PutIndex encrypts value under the index key of key's KEK (see the
// package doc) instead of a data key of its own, and stores it at key:
// reading it back takes one decryption with a cipher the barrier keeps,
// not a data key's unwrapping and expansion. It is for records that hold
// no secret material of their own (an object's head, which names its
// current version and carries that version's public attributes and sealed
// record); anything secret goes through Put. Get and Scan open both forms.
func (tx *Tx) PutIndex(key string, value []byte) error {
	if err := tx.checkKey(key, true); err != nil {
		return err
	}
	idx, term, err := tx.writeKEK(key, true)
	if err != nil {
		return err
	}
	k, v := sealIndex(idx, term, key, value)
	return tx.stx.Put(k, v)
}

// Stored returns a copy of the value at key as it is stored, sealed,
// without decrypting it (see PutSealed), or an error wrapping
// storage.ErrNotFound.
func (tx *Tx) Stored(key string) ([]byte, error) {
	if err := tx.checkKey(key, false); err != nil {
		return nil, err
	}
	raw, err := tx.stx.Get([]byte(key))
	if err != nil {
		return nil, fmt.Errorf("barrier: get %q: %w", key, err)
	}
	return bytes.Clone(raw), nil
}

// OpenSealed decrypts sealed, a value as stored at key (from PutSealed or
// Stored), as Get would if it were stored there now: a value sealed for
// another key, or changed, fails with ErrIntegrity. It decrypts in place:
// the plaintext is returned as a slice of sealed, whose bytes are
// overwritten (also when it fails), so sealed must be the caller's own.
func (tx *Tx) OpenSealed(key string, sealed []byte) ([]byte, error) {
	if err := tx.checkKey(key, false); err != nil {
		return nil, err
	}
	sc := getScratch()
	defer putScratch(sc)
	// The payload's own bytes, capped at sealed's end (a failed Open may
	// write up to dst's capacity): GCM decrypts exactly in place.
	var dst []byte
	switch n := len(sealed); {
	case n >= overhead && sealed[0] == formatVersion:
		dst = sealed[offPayload:offPayload:n]
	case n >= overheadIdx && sealed[0] == formatIndex:
		dst = sealed[offIdxPayload:offIdxPayload:n]
	}
	return tx.openInto(key, sealed, aadFor(sc, key), sc, dst)
}

// Delete removes key. Deleting an absent key is not an error.
func (tx *Tx) Delete(key string) error {
	if err := tx.checkKey(key, true); err != nil {
		return err
	}
	return tx.stx.Delete([]byte(key))
}

// Scan calls fn with the decrypted value of every key that starts with
// prefix and is >= start ("" for no lower bound), in ascending key order,
// until fn returns false or an error. Barrier-owned keys are skipped.
func (tx *Tx) Scan(prefix, start string, fn func(key string, value []byte) (bool, error)) error {
	return tx.scanOpen(prefix, start, false, fn)
}

// ScanBorrowed is Scan for a caller that keeps nothing of a value after fn
// returns: the values (up to a pooled buffer's 4 KiB) are decrypted into one
// buffer, reused from value to value and cleared after each, so a page of
// them makes no plaintext allocation per value and leaves no plaintext
// behind for the garbage collector. A larger value gets its own buffer,
// also cleared after fn.
func (tx *Tx) ScanBorrowed(prefix, start string, fn func(key string, value []byte) (bool, error)) error {
	return tx.scanOpen(prefix, start, true, fn)
}

// scanOpen is Scan, and ScanBorrowed when borrow is set.
func (tx *Tx) scanOpen(prefix, start string, borrow bool, fn func(key string, value []byte) (bool, error)) error {
	sc := getScratch()
	defer putScratch(sc)
	return tx.scan(prefix, start, func(k, raw []byte) (bool, error) {
		key := string(k)
		var dst []byte // nil: a new plaintext for the caller to keep
		if borrow {
			dst = sc.pt[:0]
		}
		pt, err := tx.openInto(key, raw, aadFor(sc, k), sc, dst)
		if err != nil {
			return false, err
		}
		if borrow {
			defer clear(pt)
			if cap(pt) <= maxPooledScratch && cap(pt) > cap(sc.pt) {
				sc.pt = pt[:0]
			}
		}
		return fn(key, pt)
	})
}

// ScanKeys is Scan without decryption: it only visits keys.
func (tx *Tx) ScanKeys(prefix, start string, fn func(key string) (bool, error)) error {
	return tx.scan(prefix, start, func(k, _ []byte) (bool, error) {
		return fn(string(k))
	})
}

// scan runs the underlying scan, skipping reserved keys and stopping with
// ErrSealed if the barrier is sealed meanwhile.
func (tx *Tx) scan(prefix, start string, fn func(k, v []byte) (bool, error)) error {
	if err := tx.check(); err != nil {
		return err
	}
	var from []byte
	if start != "" {
		from = []byte(start)
	}
	return tx.stx.Scan([]byte(prefix), from, func(k, v []byte) (bool, error) {
		if err := tx.check(); err != nil {
			return false, err
		}
		if isReservedBytes(k) {
			return true, nil
		}
		return fn(k, v)
	})
}

// writeKEK returns the KEK (or with index, its index key) and term that
// new values at key are sealed with.
func (tx *Tx) writeKEK(key string, index bool) (cipher.AEAD, uint32, error) {
	id, inVault, err := vaultOf(key)
	if err != nil || !inVault {
		if index {
			return tx.st.rootIndex, rootTerm, err
		}
		return tx.st.root, rootTerm, err
	}
	sc := getScratch()
	defer putScratch(sc)
	kr, err := tx.keyring(id, sc)
	if err != nil {
		return nil, 0, err
	}
	if index {
		return kr.index[kr.current], kr.current, nil
	}
	return kr.aeads[kr.current], kr.current, nil
}

// readKEK returns the KEK (or with index, its index key) for a value at
// key sealed at term.
func (tx *Tx) readKEK(key string, term uint32, sc *scratch, index bool) (cipher.AEAD, error) {
	id, inVault, err := vaultOf(key)
	if err != nil {
		return nil, err
	}
	if !inVault {
		if term != rootTerm {
			return nil, fmt.Errorf("barrier: open %q: %w: unknown key term", key, ErrIntegrity)
		}
		if index {
			return tx.st.rootIndex, nil
		}
		return tx.st.root, nil
	}
	kr, err := tx.keyring(id, sc)
	if err != nil {
		return nil, err
	}
	keys := kr.aeads
	if index {
		keys = kr.index
	}
	if kek := keys[term]; kek != nil {
		return kek, nil
	}
	return nil, fmt.Errorf("barrier: open %q: %w: unknown key term", key, ErrIntegrity)
}

// vaultOf reports which vault key protects key. Keys under "v/" must have
// the form "v/<vaultID>/..." with a non-empty vaultID.
func vaultOf(key string) (vaultID string, inVault bool, err error) {
	if key == "" {
		return "", false, fmt.Errorf("%w: empty key", ErrInvalidKey)
	}
	rest, ok := strings.CutPrefix(key, vaultPrefix)
	if !ok {
		return "", false, nil
	}
	id, _, found := strings.Cut(rest, "/")
	if !found || id == "" {
		return "", false, fmt.Errorf("%w: %q is not v/<vaultID>/...", ErrInvalidKey, key)
	}
	return id, true, nil
}

// isReserved reports whether key belongs to the barrier itself.
func isReserved(key string) bool {
	return key == sealKey || key == canaryKey || strings.HasPrefix(key, vaultKeyPrefix) || strings.HasPrefix(key, RawKeyPrefix)
}

func isReservedBytes(k []byte) bool {
	return string(k) == sealKey || string(k) == canaryKey ||
		bytes.HasPrefix(k, []byte(vaultKeyPrefix)) || bytes.HasPrefix(k, []byte(RawKeyPrefix))
}
