package barrier

import (
	"crypto/cipher"
	"sync"
)

// maxCachedDEKs bounds the data-key cache (about 1 KiB each: an expanded
// AES key and its GHASH table).
const maxCachedDEKs = 4096

// dekID names one stored data key: the KEK that wrapped it, the wrapped
// bytes with their nonce, the envelope header and the storage key, i.e.
// everything its unwrapping authenticated. A cache hit therefore stands for
// an unwrap that succeeded with exactly these inputs.
type dekID struct {
	kek     cipher.AEAD
	header  [offWrapNonce]byte
	nonce   [nonceSize]byte
	wrapped [keySize + tagSize]byte
	key     string
}

// dekCache remembers unwrapped data keys as ready AES-GCM ciphers, so a
// hot record is not unwrapped and its key not expanded on every read. It
// holds no more than the vault keys it derives from (which stay in memory
// while unsealed anyway), and is dropped with them when the barrier seals.
type dekCache struct {
	mu sync.RWMutex
	m  map[dekID]cipher.AEAD
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
	a := c.m[*id]
	c.mu.RUnlock()
	return a
}

func (c *dekCache) put(id *dekID, a cipher.AEAD) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = make(map[dekID]cipher.AEAD)
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
	c.m[*id] = a
}

func (c *dekCache) wipe() {
	c.mu.Lock()
	c.m = nil
	c.mu.Unlock()
}
