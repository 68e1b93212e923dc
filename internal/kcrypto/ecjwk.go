package kcrypto

import (
	"bytes"
	"crypto/ecdsa"

	"github.com/decred/dcrd/dcrec/secp256k1/v4"
)

func ecFromJWK(j JWK) (*Key, error) {
	info, ok := curves[j.Crv]
	if !ok {
		return nil, errorf(ErrInvalidKey, "curve %q is not supported; use P-256, P-384, P-521 or P-256K", j.Crv)
	}
	x, errX := fixedLength(j.X, info.size)
	y, errY := fixedLength(j.Y, info.size)
	if errX != nil || errY != nil {
		return nil, errorf(ErrInvalidKey, "EC JWK needs x and y of at most %d bytes for %s", info.size, j.Crv)
	}
	point := append(append([]byte{4}, x...), y...)
	var d []byte
	if len(j.D) > 0 {
		var err error
		if d, err = fixedLength(j.D, info.size); err != nil {
			return nil, errorf(ErrInvalidKey, "EC private key d is longer than %d bytes for %s", info.size, j.Crv)
		}
	}
	if j.Crv == CurveP256K {
		return k1FromParts(point, d)
	}
	return ecdsaFromParts(j.Crv, info, point, d)
}

// fixedLength left-pads b with zeros to size bytes. Longer input is
// accepted only if the extra leading bytes are zero. Empty input fails.
func fixedLength(b []byte, size int) ([]byte, error) {
	if len(b) == 0 {
		return nil, ErrInvalidKey
	}
	if len(b) > size {
		extra := len(b) - size
		if !isZero(b[:extra]) {
			return nil, ErrInvalidKey
		}
		return bytes.Clone(b[extra:]), nil
	}
	out := make([]byte, size)
	copy(out[size-len(b):], b)
	return out, nil
}

func isZero(b []byte) bool {
	var acc byte
	for _, c := range b {
		acc |= c
	}
	return acc == 0
}

func ecdsaFromParts(crv string, info curveInfo, point, d []byte) (*Key, error) {
	pub, err := ecdsa.ParseUncompressedPublicKey(info.curve, point)
	if err != nil {
		return nil, errorf(ErrInvalidKey, "x, y is not a point on %s", crv)
	}
	if d == nil {
		return newECKey(crv, nil, pub)
	}
	priv, err := ecdsa.ParseRawPrivateKey(info.curve, d)
	if err != nil {
		return nil, errorf(ErrInvalidKey, "d is not a valid %s private key", crv)
	}
	if !priv.PublicKey.Equal(pub) {
		return nil, errorf(ErrInvalidKey, "d does not match x, y")
	}
	return newECKey(crv, priv, &priv.PublicKey)
}

func k1FromParts(point, d []byte) (*Key, error) {
	pub, err := secp256k1.ParsePubKey(point)
	if err != nil {
		return nil, errorf(ErrInvalidKey, "x, y is not a point on P-256K")
	}
	if d == nil {
		return newK1Public(pub), nil
	}
	priv, err := k1PrivateFromBytes(d)
	if err != nil {
		return nil, err
	}
	if !priv.PubKey().IsEqual(pub) {
		return nil, errorf(ErrInvalidKey, "d does not match x, y")
	}
	return newK1Key(priv), nil
}

// k1PrivateFromBytes parses a 32-byte scalar in [1, N-1].
func k1PrivateFromBytes(d []byte) (*secp256k1.PrivateKey, error) {
	var s secp256k1.ModNScalar
	if len(d) != 32 || s.SetByteSlice(d) || s.IsZero() {
		return nil, errorf(ErrInvalidKey, "d is not a valid P-256K private key")
	}
	return secp256k1.NewPrivateKey(&s), nil
}
