package kcrypto

import "math"

// WrapKey wraps key material with alg.
//
//   - RSA1_5, RSA-OAEP, RSA-OAEP-256: as Encrypt (same length limits);
//     works with public-only keys.
//   - A128KW, A192KW, A256KW: RFC 3394 AES key wrap with the default IV
//     A6A6A6A6A6A6A6A6 and an oct key of 16, 24 or 32 bytes.
//     CKM_AES_KEY_WRAP is the same with an oct key of any of those sizes.
//     The input must be a multiple of 8 bytes and at least 16.
//   - CKM_AES_KEY_WRAP_PAD: RFC 5649 AES key wrap with padding; any input
//     of 1 byte or more.
func (k *Key) WrapKey(alg string, key []byte) ([]byte, error) {
	a, err := k.lookup(OpWrapKey, alg)
	if err != nil {
		return nil, err
	}
	switch a.scheme {
	case schemeKW:
		if len(key) < 16 || len(key)%8 != 0 {
			return nil, errorf(ErrInvalidInput, "%s input is %d bytes; it must be a multiple of 8 and at least 16", alg, len(key))
		}
		return kwWrap(k.block, defaultKWIV, key), nil
	case schemeKWP:
		if len(key) == 0 || uint64(len(key)) > math.MaxUint32 {
			return nil, errorf(ErrInvalidInput, "%s input is %d bytes; it must be 1 to 2^32-1", alg, len(key))
		}
		return kwpWrap(k.block, key), nil
	}
	return k.rsaEncrypt(alg, a, key)
}

// UnwrapKey reverses WrapKey. Every failure to unwrap — integrity check,
// wrong key, malformed or wrongly sized input — returns ErrDecryption
// itself, with no detail.
func (k *Key) UnwrapKey(alg string, wrapped []byte) ([]byte, error) {
	a, err := k.lookup(OpUnwrapKey, alg)
	if err != nil {
		return nil, err
	}
	switch a.scheme {
	case schemeKW:
		return kwUnwrapDefault(k.block, wrapped)
	case schemeKWP:
		return kwpUnwrap(k.block, wrapped)
	}
	return k.rsaDecrypt(a, wrapped)
}
