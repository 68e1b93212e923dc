package barrier

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"sync"
)

const (
	formatVersion = 1  // value format version byte: a value under its own data key
	formatIndex   = 2  // format version byte of a value under its KEK's index key
	keySize       = 32 // AES-256 key length (data, vault, root and derived keys)
	nonceSize     = 12 // GCM standard nonce
	tagSize       = 16 // GCM tag

	offTerm      = 1
	offWrapNonce = offTerm + 4
	offWrapped   = offWrapNonce + nonceSize
	offNonce     = offWrapped + keySize + tagSize
	offPayload   = offNonce + nonceSize
	// overhead is the number of bytes a stored value has beyond its plaintext.
	overhead = offPayload + tagSize

	labelDEK = "keyhaven/barrier/dek/v1"
	labelVal = "keyhaven/barrier/val/v1"
	labelIdx = "keyhaven/barrier/idx/v1"
	// aadKeyOff is where the storage key starts inside the associated data:
	// label || version || term || key.
	aadKeyOff = len(labelDEK) + 1 + 4
)

// The labels must share one length for the associated data to be
// unambiguous: a constant index out of [0, 1) does not compile.
var (
	_ = [1]struct{}{}[len(labelVal)-len(labelDEK)]
	_ = [1]struct{}{}[len(labelIdx)-len(labelDEK)]
)

// rootTerm is the term recorded for values protected by the root KEK.
const rootTerm = 0

// The index format: version (2) || term (4) || nonce || ciphertext + tag.
const (
	offIdxNonce   = offWrapNonce
	offIdxPayload = offIdxNonce + nonceSize
	overheadIdx   = offIdxPayload + tagSize
	// indexKeyInfo derives a KEK's index key from the KEK's own key.
	indexKeyInfo = "keyhaven/barrier/index-key/v1"
)

// envelope is a parsed stored value; its slices alias the raw bytes.
type envelope struct {
	header    []byte // version || term
	term      uint32
	wrapNonce []byte
	wrapped   []byte
	nonce     []byte
	payload   []byte
}

// parseEnvelope splits raw into its fields. It only checks lengths and the
// version; authenticity is checked by openEnvelope.
func parseEnvelope(raw []byte) (envelope, error) {
	if len(raw) < overhead || raw[0] != formatVersion {
		return envelope{}, ErrIntegrity
	}
	return envelope{
		header:    raw[:offWrapNonce],
		term:      binary.BigEndian.Uint32(raw[offTerm:]),
		wrapNonce: raw[offWrapNonce:offWrapped],
		wrapped:   raw[offWrapped:offNonce],
		nonce:     raw[offNonce:offPayload],
		payload:   raw[offPayload:],
	}, nil
}

// setAAD writes label and header into the first aadKeyOff bytes of aad; the
// storage key must already follow them.
func setAAD(aad []byte, label string, header []byte) {
	copy(aad, label)
	copy(aad[len(label):aadKeyOff], header)
}

// openEnvelope decrypts env. aad holds the storage key at aadKeyOff; its first
// aadKeyOff bytes are overwritten. dk is scratch space for the data key and is
// zeroed before return. The returned slice is freshly allocated.
func openEnvelope(kek cipher.AEAD, env envelope, aad []byte, dk *[keySize]byte) ([]byte, error) {
	aead, err := unwrapDEK(kek, env, aad, dk)
	if err != nil {
		return nil, err
	}
	return openPayload(aead, env, aad, nil)
}

// unwrapDEK unwraps env's data key with kek and returns it as a cipher. aad
// is as for openEnvelope; dk is zeroed before return.
func unwrapDEK(kek cipher.AEAD, env envelope, aad []byte, dk *[keySize]byte) (cipher.AEAD, error) {
	defer clear(dk[:])
	setAAD(aad, labelDEK, env.header)
	key, err := kek.Open(dk[:0], env.wrapNonce, env.wrapped, aad)
	if err != nil || len(key) != keySize {
		return nil, ErrIntegrity
	}
	return newAEAD(key)
}

// openPayload decrypts env's payload with its data key, into dst when it
// has room and into a new slice (never nil) otherwise.
func openPayload(aead cipher.AEAD, env envelope, aad, dst []byte) ([]byte, error) {
	setAAD(aad, labelVal, env.header)
	return openInto(aead, env.nonce, env.payload, aad, dst)
}

// openInto opens ciphertext (with its tag) into dst when it has room and
// into a new slice (never nil) otherwise; any failure is ErrIntegrity.
func openInto(aead cipher.AEAD, nonce, ciphertext, aad, dst []byte) ([]byte, error) {
	if n := len(ciphertext) - tagSize; dst == nil || cap(dst) < n {
		dst = make([]byte, n)
	}
	out, err := aead.Open(dst[:0], nonce, ciphertext, aad)
	if err != nil {
		return nil, ErrIntegrity
	}
	return out, nil
}

// sealEnvelope encrypts value for storage under key with kek at term. It
// makes a single allocation holding both the stored value and the storage
// key, both of which stay valid for the rest of the transaction.
func sealEnvelope(kek cipher.AEAD, term uint32, key string, value []byte) (storageKey, stored []byte, err error) {
	stored, aad := newStored(formatVersion, term, overhead+len(value), key)
	header := stored[:offWrapNonce]

	sc := getScratch()
	defer putScratch(sc)
	rnd := sc.rnd[:]
	rand.Read(rnd) // never fails (crashes the program instead)
	dk, n1, n2 := rnd[:keySize], rnd[keySize:keySize+nonceSize], rnd[keySize+nonceSize:]
	copy(stored[offWrapNonce:], n1)
	copy(stored[offNonce:], n2)

	setAAD(aad, labelDEK, header)
	kek.Seal(stored[offWrapped:offWrapped], n1, dk, aad)
	aead, err := newAEAD(dk)
	if err != nil {
		return nil, nil, err
	}
	setAAD(aad, labelVal, header)
	aead.Seal(stored[offPayload:offPayload], n2, value, aad)
	return aad[aadKeyOff:], stored, nil
}

// newStored makes, in one allocation, a stored value of n bytes with its
// header (version and term) written, and after it the associated data with
// key in place (aad[aadKeyOff:] is the storage key as bytes).
func newStored(version byte, term uint32, n int, key string) (stored, aad []byte) {
	buf := make([]byte, n+aadKeyOff+len(key))
	stored, aad = buf[:n:n], buf[n:]
	copy(aad[aadKeyOff:], key)
	stored[0] = version
	binary.BigEndian.PutUint32(stored[offTerm:], term)
	return stored, aad
}

// sealIndex encrypts value for storage under key with idx, the index key of
// the KEK at term, in one allocation like sealEnvelope.
func sealIndex(idx cipher.AEAD, term uint32, key string, value []byte) (storageKey, stored []byte) {
	stored, aad := newStored(formatIndex, term, overheadIdx+len(value), key)
	rand.Read(stored[offIdxNonce:offIdxPayload]) // never fails
	setAAD(aad, labelIdx, stored[:offIdxNonce])
	idx.Seal(stored[offIdxPayload:offIdxPayload], stored[offIdxNonce:offIdxPayload], value, aad)
	return aad[aadKeyOff:], stored
}

// openIndex decrypts a value in the index format (raw[0] == formatIndex)
// with idx, into dst when it has room. aad is as for openEnvelope.
func openIndex(idx cipher.AEAD, raw, aad, dst []byte) ([]byte, error) {
	if len(raw) < overheadIdx {
		return nil, ErrIntegrity
	}
	setAAD(aad, labelIdx, raw[:offIdxNonce])
	return openInto(idx, raw[offIdxNonce:offIdxPayload], raw[offIdxPayload:], aad, dst)
}

// indexAEAD derives the index key of a KEK from the KEK's key.
func indexAEAD(kek []byte) (cipher.AEAD, error) {
	k, err := hkdf.Key(sha256.New, kek, nil, indexKeyInfo, keySize)
	if err != nil {
		return nil, err
	}
	defer clear(k)
	return newAEAD(k)
}

// newAEAD returns AES-256-GCM keyed with key. The caller may zero key
// afterwards: the cipher keeps its own expanded copy.
func newAEAD(key []byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

// scratch is per-operation working memory, pooled so that the hot paths do
// not allocate for associated data, data keys or randomness.
type scratch struct {
	aad []byte                      // label || header || storage key
	rec []byte                      // vault key record path
	rnd [keySize + 2*nonceSize]byte // data key || wrap nonce || nonce
	dk  [keySize]byte               // unwrapped data key
	pt  []byte                      // ScanBorrowed's plaintext, cleared after each use
}

const maxPooledScratch = 4 << 10

var scratchPool = sync.Pool{New: func() any { return new(scratch) }}

func getScratch() *scratch { return scratchPool.Get().(*scratch) }

func putScratch(sc *scratch) {
	clear(sc.rnd[:])
	clear(sc.dk[:])
	if cap(sc.aad) > maxPooledScratch {
		sc.aad = nil
	}
	if cap(sc.pt) > maxPooledScratch {
		sc.pt = nil
	}
	scratchPool.Put(sc)
}

// aadFor returns sc's associated-data buffer sized for key, with key
// already in place: aad[aadKeyOff:] is the storage key as bytes.
func aadFor[K string | []byte](sc *scratch, key K) []byte {
	n := aadKeyOff + len(key)
	if cap(sc.aad) < n {
		sc.aad = make([]byte, n)
	}
	aad := sc.aad[:n]
	copy(aad[aadKeyOff:], key)
	return aad
}
