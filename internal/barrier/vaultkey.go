package barrier

import (
	"bytes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"strings"

	"github.com/keyhaven/keyhaven/internal/storage"
)

// keyring is the usable form of one vault key record: per term, the vault
// key's AEAD and its index key's. It is immutable once built.
type keyring struct {
	current uint32
	aeads   map[uint32]cipher.AEAD
	index   map[uint32]cipher.AEAD
}

// cachedKeyring is a keyring together with the stored record it was built
// from; it is only used while that record is still the stored one.
type cachedKeyring struct {
	raw []byte
	kr  *keyring
}

// termKey is one term of a vault key in decoded (plaintext) form.
type termKey struct {
	term uint32
	key  [keySize]byte
}

const (
	recordVersion = 1
	recordHeader  = 1 + 4 + 4 // version || current term || count
	recordEntry   = 4 + keySize
	maxTerms      = 1 << 16
)

// CreateVaultKey creates a random vault key for vaultID with term 1. It
// returns ErrVaultKeyExists if the vault already has one.
func (tx *Tx) CreateVaultKey(vaultID string) error {
	recKey, err := tx.vaultAdmin(vaultID)
	if err != nil {
		return err
	}
	_, err = tx.stx.Get([]byte(recKey))
	if err == nil {
		return fmt.Errorf("%w: vault %q", ErrVaultKeyExists, vaultID)
	}
	if !errors.Is(err, storage.ErrNotFound) {
		return err
	}
	keys := []termKey{{term: 1}}
	defer wipeKeys(keys)
	rand.Read(keys[0].key[:])
	return tx.putRecord(vaultID, recKey, 1, keys)
}

// RotateVaultKey adds a new random term to vaultID's key and makes it
// current: new writes use it, values sealed under older terms still open.
func (tx *Tx) RotateVaultKey(vaultID string) error {
	recKey, err := tx.vaultAdmin(vaultID)
	if err != nil {
		return err
	}
	_, keys, err := tx.readRecord(vaultID, recKey)
	if err != nil {
		return err
	}
	defer wipeKeys(keys[:cap(keys)])
	last := keys[len(keys)-1].term // terms are strictly increasing
	if last == math.MaxUint32 || len(keys) >= maxTerms {
		return fmt.Errorf("barrier: vault %q: no terms left", vaultID)
	}
	keys = append(keys, termKey{term: last + 1}) // within capacity
	rand.Read(keys[len(keys)-1].key[:])
	return tx.putRecord(vaultID, recKey, last+1, keys)
}

// DestroyVaultKey deletes vaultID's key, so everything stored under
// "v/<vaultID>/" can never be decrypted again. The data itself is left in
// place. It returns an error wrapping ErrNoVaultKey if there is no key.
func (tx *Tx) DestroyVaultKey(vaultID string) error {
	recKey, err := tx.vaultAdmin(vaultID)
	if err != nil {
		return err
	}
	if _, err := tx.stx.Get([]byte(recKey)); err != nil {
		return noVaultKey(vaultID, err)
	}
	if err := tx.stx.Delete([]byte(recKey)); err != nil {
		return err
	}
	tx.forget(vaultID)
	tx.st.evict(vaultID)
	return nil
}

// vaultAdmin checks that vault keys may be changed in tx and returns the
// record key for vaultID.
func (tx *Tx) vaultAdmin(vaultID string) (string, error) {
	if err := tx.check(); err != nil {
		return "", err
	}
	if !tx.writable {
		return "", storage.ErrReadOnly
	}
	if vaultID == "" || strings.Contains(vaultID, "/") {
		return "", fmt.Errorf("%w: vault ID %q", ErrInvalidKey, vaultID)
	}
	return vaultKeyPrefix + vaultID, nil
}

func noVaultKey(vaultID string, err error) error {
	if errors.Is(err, storage.ErrNotFound) {
		return fmt.Errorf("%w: vault %q", ErrNoVaultKey, vaultID)
	}
	return err
}

// readRecord decrypts and decodes vaultID's record. The caller must wipe the
// returned keys, including their spare capacity (one slot).
func (tx *Tx) readRecord(vaultID, recKey string) (uint32, []termKey, error) {
	raw, err := tx.stx.Get([]byte(recKey))
	if err != nil {
		return 0, nil, noVaultKey(vaultID, err)
	}
	pt, err := tx.st.openRecord(recKey, raw)
	if err != nil {
		return 0, nil, err
	}
	defer clear(pt)
	return decodeRecord(recKey, pt)
}

// putRecord encrypts and stores a vault key record.
func (tx *Tx) putRecord(vaultID, recKey string, current uint32, keys []termKey) error {
	pt := encodeRecord(current, keys)
	defer clear(pt)
	k, v, err := sealEnvelope(tx.st.root, rootTerm, recKey, pt)
	if err != nil {
		return err
	}
	if err := tx.stx.Put(k, v); err != nil {
		return err
	}
	tx.forget(vaultID)
	return nil
}

// forget drops the transaction's memo for vaultID.
func (tx *Tx) forget(vaultID string) {
	if tx.memoID == vaultID {
		tx.memoID, tx.memo = "", nil
	}
}

// keyring returns vaultID's keyring as stored in this transaction's view,
// from the memo or the barrier cache when they match the stored record.
func (tx *Tx) keyring(vaultID string, sc *scratch) (*keyring, error) {
	if tx.memo != nil && tx.memoID == vaultID {
		return tx.memo, nil
	}
	sc.rec = append(append(sc.rec[:0], vaultKeyPrefix...), vaultID...)
	raw, err := tx.stx.Get(sc.rec)
	if err != nil {
		return nil, noVaultKey(vaultID, err)
	}
	kr, err := tx.st.keyring(vaultID, raw)
	if err != nil {
		return nil, err
	}
	tx.memoID, tx.memo = vaultID, kr
	return kr, nil
}

// keyring returns the cached keyring for vaultID if it was built from raw,
// else builds it from raw and caches it.
func (st *keyState) keyring(vaultID string, raw []byte) (*keyring, error) {
	st.mu.RLock()
	c, sealed := st.vaults[vaultID], st.vaults == nil
	st.mu.RUnlock()
	if sealed {
		return nil, ErrSealed
	}
	if c != nil && bytes.Equal(c.raw, raw) {
		return c.kr, nil
	}
	kr, err := st.buildKeyring(vaultKeyPrefix+vaultID, raw)
	if err != nil {
		return nil, err
	}
	st.mu.Lock()
	if st.vaults != nil {
		st.vaults[vaultID] = &cachedKeyring{raw: bytes.Clone(raw), kr: kr}
	}
	st.mu.Unlock()
	return kr, nil
}

// evict drops vaultID from the cache.
func (st *keyState) evict(vaultID string) {
	st.mu.Lock()
	delete(st.vaults, vaultID)
	st.mu.Unlock()
}

// buildKeyring decrypts a stored record into a keyring.
func (st *keyState) buildKeyring(recKey string, raw []byte) (*keyring, error) {
	pt, err := st.openRecord(recKey, raw)
	if err != nil {
		return nil, err
	}
	defer clear(pt)
	current, keys, err := decodeRecord(recKey, pt)
	if err != nil {
		return nil, err
	}
	defer wipeKeys(keys[:cap(keys)])
	kr := &keyring{current: current, aeads: make(map[uint32]cipher.AEAD, len(keys)), index: make(map[uint32]cipher.AEAD, len(keys))}
	for i := range keys {
		if kr.aeads[keys[i].term], err = newAEAD(keys[i].key[:]); err != nil {
			return nil, err
		}
		if kr.index[keys[i].term], err = indexAEAD(keys[i].key[:]); err != nil {
			return nil, err
		}
	}
	return kr, nil
}

// openRecord decrypts a vault key record with the root KEK.
func (st *keyState) openRecord(recKey string, raw []byte) ([]byte, error) {
	env, err := parseEnvelope(raw)
	if err == nil && env.term != rootTerm {
		err = ErrIntegrity
	}
	if err != nil {
		return nil, fmt.Errorf("barrier: open %q: %w", recKey, err)
	}
	sc := getScratch()
	defer putScratch(sc)
	pt, err := openEnvelope(st.root, env, aadFor(sc, recKey), &sc.dk)
	if err != nil {
		return nil, fmt.Errorf("barrier: open %q: %w", recKey, err)
	}
	return pt, nil
}

// encodeRecord serializes a vault key record (see the package doc).
func encodeRecord(current uint32, keys []termKey) []byte {
	buf := make([]byte, recordHeader, recordHeader+len(keys)*recordEntry)
	buf[0] = recordVersion
	binary.BigEndian.PutUint32(buf[1:], current)
	binary.BigEndian.PutUint32(buf[5:], uint32(len(keys)))
	for i := range keys {
		buf = binary.BigEndian.AppendUint32(buf, keys[i].term)
		buf = append(buf, keys[i].key[:]...)
	}
	return buf
}

// decodeRecord parses a vault key record. Terms must be non-zero and
// strictly increasing, and current must be one of them. The result has one
// spare slot of capacity for rotation.
func decodeRecord(recKey string, pt []byte) (uint32, []termKey, error) {
	if len(pt) < recordHeader || pt[0] != recordVersion {
		return 0, nil, malformedRecord(recKey)
	}
	current := binary.BigEndian.Uint32(pt[1:])
	n := binary.BigEndian.Uint32(pt[5:])
	body := pt[recordHeader:]
	if n == 0 || n > maxTerms || len(body) != int(n)*recordEntry {
		return 0, nil, malformedRecord(recKey)
	}
	keys := make([]termKey, n, n+1)
	valid, found, prev := true, false, uint32(0)
	for i := range keys {
		e := body[i*recordEntry:]
		keys[i].term = binary.BigEndian.Uint32(e)
		copy(keys[i].key[:], e[4:recordEntry])
		valid = valid && keys[i].term > prev
		found = found || keys[i].term == current
		prev = keys[i].term
	}
	if !valid || !found {
		wipeKeys(keys)
		return 0, nil, malformedRecord(recKey)
	}
	return current, keys, nil
}

func malformedRecord(recKey string) error {
	return fmt.Errorf("barrier: open %q: %w: malformed vault key record", recKey, ErrIntegrity)
}

// wipeKeys zeroes decoded vault keys.
func wipeKeys(keys []termKey) {
	for i := range keys {
		clear(keys[i].key[:])
	}
}
