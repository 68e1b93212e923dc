package barrier

import (
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"fmt"
)

const sealBytesVersion = 1

// SealBytes encrypts plaintext with AES-256-GCM under a key derived from the
// root key for purpose (HKDF-SHA256, info "keyhaven/barrier/sealbytes/v1:"
// + purpose). The result is self-describing: version || nonce || ciphertext.
// It is meant for blobs that leave the store, such as backups; they only
// open on a barrier unsealed with the same root key.
func (b *Barrier) SealBytes(purpose string, plaintext []byte) ([]byte, error) {
	aead, err := b.purposeAEAD(purpose)
	if err != nil {
		return nil, err
	}
	out := make([]byte, 1+nonceSize, 1+nonceSize+len(plaintext)+tagSize)
	out[0] = sealBytesVersion
	rand.Read(out[1:])
	return aead.Seal(out, out[1:], plaintext, out[:1]), nil
}

// OpenBytes reverses SealBytes. Any tampering, truncation or a different
// purpose returns an error wrapping ErrIntegrity. The result is a fresh
// slice.
func (b *Barrier) OpenBytes(purpose string, sealed []byte) ([]byte, error) {
	aead, err := b.purposeAEAD(purpose)
	if err != nil {
		return nil, err
	}
	if len(sealed) < 1+nonceSize+tagSize || sealed[0] != sealBytesVersion {
		return nil, fmt.Errorf("barrier: open sealed bytes: %w", ErrIntegrity)
	}
	body := sealed[1+nonceSize:]
	out := make([]byte, 0, len(body)-tagSize)
	out, err = aead.Open(out, sealed[1:1+nonceSize], body, sealed[:1])
	if err != nil {
		return nil, fmt.Errorf("barrier: open sealed bytes: %w", ErrIntegrity)
	}
	return out, nil
}

// purposeAEAD derives the SealBytes cipher for purpose from the root key.
func (b *Barrier) purposeAEAD(purpose string) (cipher.AEAD, error) {
	st, err := b.active()
	if err != nil {
		return nil, err
	}
	st.mu.RLock()
	if st.rootKey == nil {
		st.mu.RUnlock()
		return nil, ErrSealed
	}
	key, err := hkdf.Key(sha256.New, st.rootKey, nil, sealBytesInfo+purpose, keySize)
	st.mu.RUnlock()
	if err != nil {
		return nil, err
	}
	defer clear(key)
	return newAEAD(key)
}
