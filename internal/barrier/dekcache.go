package barrier

import (
	"crypto/cipher"
	"encoding/binary"
	"sync"
	"sync/atomic"
)

// maxCachedDEKs bounds the data-key cache (about 1 KiB each: an expanded
// AES key and its GHASH table).
const maxCachedDEKs = 4096

// doorkeeperSlots is the size of the table of recently missed data keys
// (8 bytes each): a key is cached on its second miss within that window.
const doorkeeperSlots = 1 << 16

// wrappedKey is a data key as stored: wrapped under a KEK, with its tag.
type wrappedKey = [keySize + tagSize]byte

// dekID names one stored data key: the KEK that wrapped it, the wrapped
// bytes with their nonce, the envelope header and the storage key, i.e.
// everything its unwrapping authenticated. A cache hit therefore stands for
// an unwrap that succeeded with exactly these inputs.
type dekID struct {
	kek     cipher.AEAD
	header  [offWrapNonce]byte
	nonce   [nonceSize]byte
	wrapped wrappedKey
	key     string
}

// dekCache remembers unwrapped data keys as ready AES-GCM ciphers, so a
// hot record is not unwrapped and its key not expanded on every read. It
// holds no more than the vault keys it derives from (which stay in memory
// while unsealed anyway), and is dropped with them when the barrier seals.
//
// Entries are found by the wrapped key alone (random bytes, cheap to hash)
// and count only when the whole dekID matches. A key is admitted on its
// second miss (the doorkeeper remembers first misses), so reads spread over
// far more records than the cache holds do not churn it: they would evict
// on every read and hit almost never.
type dekCache struct {
	mu   sync.RWMutex
	m    map[wrappedKey]*dekEntry
	door [doorkeeperSlots]atomic.Uint64
}

type dekEntry struct {
	id   dekID
	aead cipher.AEAD
}

func newDEKID(kek cipher.AEAD, env envelope, key string) dekID {
	id := dekID{kek: kek, key: key}
	copy(id.header[:], env.header)
	copy(id.nonce[:], env.wrapNonce)
	copy(id.wrapped[:], env.wrapped)
	return id
}

func (c *dekCache) get(id *dekID) cipher.AEAD {
	c.mu.RLock()
	e := c.m[id.wrapped]
	c.mu.RUnlock()
	if e == nil || e.id != *id {
		return nil
	}
	return e.aead
}

// admit reports whether a data key that just missed should be cached: true
// when it missed before, recently.
func (c *dekCache) admit(id *dekID) bool {
	// The wrapped key is AES-GCM output: its first bytes are already
	// uniformly distributed, so they serve as the hash.
	h := binary.LittleEndian.Uint64(id.wrapped[:8]) | 1 // never 0, the empty slot
	slot := &c.door[h%doorkeeperSlots]
	if slot.Load() == h {
		return true
	}
	slot.Store(h)
	return false
}

func (c *dekCache) put(id *dekID, a cipher.AEAD) {
	if !c.admit(id) {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = make(map[wrappedKey]*dekEntry)
	}
	if len(c.m) >= maxCachedDEKs {
		n := maxCachedDEKs / 8 // evict an arbitrary eighth (map order is unspecified)
		for k := range c.m {
			delete(c.m, k)
			if n--; n == 0 {
				break
			}
		}
	}
	c.m[id.wrapped] = &dekEntry{id: *id, aead: a}
}

func (c *dekCache) wipe() {
	c.mu.Lock()
	c.m = nil
	for i := range c.door {
		c.door[i].Store(0)
	}
	c.mu.Unlock()
}
