package barrier

import (
	"crypto/cipher"
	"encoding/binary"
	"math/rand/v2"
	"sync"
	"sync/atomic"
)

// maxCachedDEKs bounds the data-key cache (about 1 KiB each: an expanded
// AES key and its GHASH table).
const maxCachedDEKs = 4096

// doorkeeperSlots is the size of the table of recently missed data keys
// (8 bytes each): a key is cached on its second miss within that window.
// Twice the cache's size: a working set the cache can hold is re-read well
// within it, and at 64 KiB it stays in a core's L2 cache, so the misses of
// a vault far larger than the cache do not each cost a trip to memory.
const doorkeeperSlots = 2 * maxCachedDEKs

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
// It is a 4-way set-associative table of immutable entries, placed by the
// wrapped key (random bytes, already a hash), each slot with a tag (the
// wrapped key's first eight bytes) that is compared before the entry is
// looked at. A read writes nothing shared, and a read that misses — every
// read, in a vault far larger than the cache — touches one cache line of a
// 64 KiB table rather than a map's buckets. An entry counts only when its
// whole dekID matches. A key is admitted on its second miss (the
// doorkeeper remembers first misses), so reads spread over far more
// records than the cache holds do not churn it.
type dekCache struct {
	sets [dekSets][dekWays]dekSlot
	door [doorkeeperSlots]atomic.Uint64
	// put serializes writers (admissions are rare), so a slot's tag and
	// entry always end up belonging together and a key is cached once.
	putMu sync.Mutex
}

const (
	dekWays = 4
	dekSets = maxCachedDEKs / dekWays
)

// dekSlot is one way of a set. The tag is written after the entry, so a
// reader that sees a tag may still find an older entry (or none): the full
// comparison of the entry's dekID decides.
type dekSlot struct {
	tag atomic.Uint64
	e   atomic.Pointer[dekEntry]
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
	h := hashOf(id)
	set := &c.sets[setOf(h)]
	for i := range set {
		if set[i].tag.Load() != h {
			continue
		}
		if e := set[i].e.Load(); e != nil && e.id == *id {
			return e.aead
		}
	}
	return nil
}

// hashOf places a data key in the cache and the doorkeeper. The wrapped
// key is AES-GCM output: its first bytes are already uniformly
// distributed, so they serve as the hash. Never 0, the empty tag and slot.
func hashOf(id *dekID) uint64 { return binary.LittleEndian.Uint64(id.wrapped[:8]) | 1 }

// setOf is the set of a hash (bits above the one hashOf sets; the
// doorkeeper uses others still).
func setOf(h uint64) uint64 { return (h >> 8) % dekSets }

// admit reports whether a data key that just missed should be cached: true
// when it missed before, recently.
func (c *dekCache) admit(id *dekID) bool {
	h := hashOf(id)
	slot := &c.door[(h>>32)%doorkeeperSlots] // other bits than the set's
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
	h := hashOf(id)
	set := &c.sets[setOf(h)]
	c.putMu.Lock()
	defer c.putMu.Unlock()
	way := -1
	for i := range set {
		e := set[i].e.Load()
		if e != nil && set[i].tag.Load() == h && e.id == *id {
			return // another reader admitted it meanwhile
		}
		if e == nil && way < 0 {
			way = i
		}
	}
	if way < 0 {
		way = rand.IntN(dekWays) // a full set: replace any of its entries
	}
	// Readers may see the new tag with the old entry, or the reverse, for a
	// moment: the full comparison of the entry decides, so that is a miss.
	set[way].tag.Store(0)
	set[way].e.Store(&dekEntry{id: *id, aead: a})
	set[way].tag.Store(h)
}

// len counts the cached data keys.
func (c *dekCache) len() int {
	n := 0
	for i := range c.sets {
		for j := range c.sets[i] {
			if c.sets[i][j].e.Load() != nil {
				n++
			}
		}
	}
	return n
}

func (c *dekCache) wipe() {
	for i := range c.sets {
		for j := range c.sets[i] {
			c.sets[i][j].tag.Store(0)
			c.sets[i][j].e.Store(nil)
		}
	}
	for i := range c.door {
		c.door[i].Store(0)
	}
}
