package barrier

import (
	"context"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/keyhaven/keyhaven/internal/storage"
)

var (
	// ErrSealed is returned by every operation while the barrier is sealed.
	ErrSealed = errors.New("barrier: sealed")
	// ErrIntegrity is wrapped by errors for ciphertexts that fail to parse
	// or authenticate.
	ErrIntegrity = errors.New("barrier: integrity check failed")
	// ErrNotInitialized is returned by Unseal when there is no seal record.
	ErrNotInitialized = errors.New("barrier: not initialized")
	// ErrAlreadyInitialized is returned by Initialize when a seal record
	// already exists.
	ErrAlreadyInitialized = errors.New("barrier: already initialized")
	// ErrUnsealFailed is wrapped by errors for a wrong seal secret.
	ErrUnsealFailed = errors.New("barrier: unseal failed")
	// ErrReservedKey is returned for Tx operations on barrier-owned keys.
	ErrReservedKey = errors.New("barrier: reserved key")
	// ErrInvalidKey is returned for malformed storage keys and vault IDs.
	ErrInvalidKey = errors.New("barrier: invalid key")
	// ErrNoVaultKey is wrapped by errors for operations on a vault whose
	// vault key does not exist (never created, or destroyed).
	ErrNoVaultKey = errors.New("barrier: vault key not found")
	// ErrVaultKeyExists is returned by CreateVaultKey for an existing key.
	ErrVaultKeyExists = errors.New("barrier: vault key already exists")
)

// Barrier-owned storage keys.
const (
	sealKey        = "sys/seal"
	canaryKey      = "sys/canary"
	vaultKeyPrefix = "sys/vaultkeys/"
	// RawKeyPrefix holds the server's own unencrypted notes in storage
	// (written below the barrier, with no secret in them); the barrier
	// neither reads, writes nor scans them.
	RawKeyPrefix = "sys/raw/"
	vaultPrefix  = "v/"

	rootKEKInfo     = "keyhaven/barrier/root-kek/v1"
	sealBytesInfo   = "keyhaven/barrier/sealbytes/v1:"
	canaryPlaintext = "keyhaven/barrier/canary/v1"
)

// Barrier encrypts values on their way into a storage.Store and decrypts
// them on the way out. It is safe for concurrent use.
type Barrier struct {
	store storage.Store
	life  sync.Mutex // serializes Initialize, Unseal and Seal
	state atomic.Pointer[keyState]
}

// keyState is everything the barrier holds while unsealed.
type keyState struct {
	// deks comes first: a keyState is large enough to be allocated
	// page-aligned, so each of the cache's 64-byte sets fills one cache line.
	deks dekCache

	root      cipher.AEAD // root KEK, immutable
	rootIndex cipher.AEAD // the root KEK's index key, immutable

	mu      sync.RWMutex
	rootKey []byte                    // nil once sealed
	vaults  map[string]*cachedKeyring // by vault ID; nil once sealed
}

// New returns a sealed barrier over store.
func New(store storage.Store) *Barrier {
	return &Barrier{store: store}
}

// newKeyState takes ownership of root (which it zeroes when sealed).
func newKeyState(root []byte) (*keyState, error) {
	if len(root) != keySize {
		return nil, fmt.Errorf("%w: root key has wrong length", ErrUnsealFailed)
	}
	kek, err := hkdf.Key(sha256.New, root, nil, rootKEKInfo, keySize)
	if err != nil {
		return nil, err
	}
	defer clear(kek)
	aead, err := newAEAD(kek)
	if err != nil {
		return nil, err
	}
	idx, err := indexAEAD(kek)
	if err != nil {
		return nil, err
	}
	return &keyState{root: aead, rootIndex: idx, rootKey: root, vaults: make(map[string]*cachedKeyring)}, nil
}

// wipe zeroes the root key and drops every cached key.
func (st *keyState) wipe() {
	st.mu.Lock()
	defer st.mu.Unlock()
	clear(st.rootKey)
	st.rootKey, st.vaults = nil, nil
	st.deks.wipe()
}

// active returns the current key state, or ErrSealed.
func (b *Barrier) active() (*keyState, error) {
	if st := b.state.Load(); st != nil {
		return st, nil
	}
	return nil, ErrSealed
}

// Sealed reports whether the barrier is sealed.
func (b *Barrier) Sealed() bool { return b.state.Load() == nil }

// Initialized reports whether a seal record exists at "sys/seal". It works
// while sealed.
func (b *Barrier) Initialized(ctx context.Context) (bool, error) {
	found := false
	err := b.store.View(ctx, func(stx storage.Tx) error {
		_, err := stx.Get([]byte(sealKey))
		if errors.Is(err, storage.ErrNotFound) {
			return nil
		}
		found = err == nil
		return err
	})
	return found, err
}

// Initialize generates a root key, stores s.Wrap(root) at "sys/seal" together
// with a canary value encrypted under the root key, and leaves the barrier
// unsealed. It returns ErrAlreadyInitialized if a seal record exists.
func (b *Barrier) Initialize(ctx context.Context, s Seal) error {
	b.life.Lock()
	defer b.life.Unlock()
	ok, err := b.Initialized(ctx)
	if err != nil {
		return err
	}
	if ok {
		return ErrAlreadyInitialized
	}
	root := make([]byte, keySize)
	rand.Read(root)
	blob, err := s.Wrap(root)
	if err != nil {
		clear(root)
		return fmt.Errorf("barrier: wrapping root key: %w", err)
	}
	st, err := newKeyState(root)
	if err != nil {
		clear(root)
		return err
	}
	if err := b.writeSealRecords(ctx, st, blob); err != nil {
		st.wipe()
		return err
	}
	b.state.Store(st)
	return nil
}

// writeSealRecords stores the seal blob and the canary in one transaction,
// failing with ErrAlreadyInitialized if a seal record appeared meanwhile.
func (b *Barrier) writeSealRecords(ctx context.Context, st *keyState, blob []byte) error {
	ck, cv, err := sealEnvelope(st.root, rootTerm, canaryKey, []byte(canaryPlaintext))
	if err != nil {
		return err
	}
	return b.store.Update(ctx, func(stx storage.Tx) error {
		_, err := stx.Get([]byte(sealKey))
		if err == nil {
			return ErrAlreadyInitialized
		}
		if !errors.Is(err, storage.ErrNotFound) {
			return err
		}
		if err := stx.Put([]byte(sealKey), blob); err != nil {
			return err
		}
		return stx.Put(ck, cv)
	})
}

// Unseal reads the seal record, asks s to release the root key and verifies
// it against the canary. A wrong secret returns an error wrapping
// ErrUnsealFailed and leaves the barrier sealed. Unsealing an unsealed
// barrier is a no-op.
func (b *Barrier) Unseal(ctx context.Context, s Seal) error {
	b.life.Lock()
	defer b.life.Unlock()
	if b.state.Load() != nil {
		return nil
	}
	blob, canary, err := b.readSealRecords(ctx)
	if err != nil {
		return err
	}
	root, err := s.Unwrap(blob)
	if err != nil {
		return err
	}
	st, err := newKeyState(root)
	if err != nil {
		clear(root)
		return err
	}
	if err := st.verifyCanary(canary); err != nil {
		st.wipe()
		return err
	}
	b.state.Store(st)
	return nil
}

// readSealRecords returns copies of the seal blob and the canary ciphertext.
func (b *Barrier) readSealRecords(ctx context.Context) (blob, canary []byte, err error) {
	err = b.store.View(ctx, func(stx storage.Tx) error {
		v, err := stx.Get([]byte(sealKey))
		if errors.Is(err, storage.ErrNotFound) {
			return ErrNotInitialized
		}
		if err != nil {
			return err
		}
		blob = append([]byte(nil), v...)
		if v, err = stx.Get([]byte(canaryKey)); err != nil {
			return fmt.Errorf("barrier: reading canary: %w", err)
		}
		canary = append([]byte(nil), v...)
		return nil
	})
	return blob, canary, err
}

// verifyCanary checks that the root key opens the canary value.
func (st *keyState) verifyCanary(raw []byte) error {
	env, err := parseEnvelope(raw)
	if err != nil || env.term != rootTerm {
		return fmt.Errorf("%w: canary is malformed", ErrUnsealFailed)
	}
	sc := getScratch()
	defer putScratch(sc)
	pt, err := openEnvelope(st.root, env, aadFor(sc, canaryKey), &sc.dk)
	if err != nil || subtle.ConstantTimeCompare(pt, []byte(canaryPlaintext)) != 1 {
		return fmt.Errorf("%w: root key does not match the canary", ErrUnsealFailed)
	}
	return nil
}

// Seal forgets the root key and every cached key. Transactions in flight
// fail with ErrSealed on their next operation.
func (b *Barrier) Seal() {
	b.life.Lock()
	defer b.life.Unlock()
	if st := b.state.Swap(nil); st != nil {
		st.wipe()
	}
}

// View runs fn in a read-only transaction. It returns ErrSealed without
// calling fn while sealed.
func (b *Barrier) View(ctx context.Context, fn func(*Tx) error) error {
	st, err := b.active()
	if err != nil {
		return err
	}
	return b.store.View(ctx, func(stx storage.Tx) error {
		return fn(&Tx{b: b, st: st, stx: stx})
	})
}

// Update runs fn in a read-write transaction with the contract of
// storage.Store.Update: fn may be called more than once, and when it returns
// an error none of its writes are applied.
func (b *Barrier) Update(ctx context.Context, fn func(*Tx) error) error {
	st, err := b.active()
	if err != nil {
		return err
	}
	return b.store.Update(ctx, func(stx storage.Tx) error {
		return fn(&Tx{b: b, st: st, stx: stx, writable: true})
	})
}
