package kcrypto

import "crypto/rand"

// MaxRandomBytes is the largest count RandomBytes accepts (Azure's /rng
// limit).
const MaxRandomBytes = 128

// RandomBytes returns n bytes from crypto/rand; n must be 1 to 128
// (ErrInvalidInput otherwise).
func RandomBytes(n int) ([]byte, error) {
	if n < 1 || n > MaxRandomBytes {
		return nil, errorf(ErrInvalidInput, "count %d is out of range; use 1 to %d", n, MaxRandomBytes)
	}
	b := make([]byte, n)
	rand.Read(b)
	return b, nil
}
