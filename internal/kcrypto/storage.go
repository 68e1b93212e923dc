package kcrypto

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/x509"
	"slices"
)

const storageVersion = 1

const (
	kindRSA   = 1
	kindP256  = 2
	kindP384  = 3
	kindP521  = 4
	kindP256K = 5
	kindOct   = 6
)

var curveKinds = map[string]byte{
	CurveP256: kindP256, CurveP384: kindP384, CurveP521: kindP521, CurveP256K: kindP256K,
}

// MarshalPrivate encodes the key with its private material for storage,
// in this format (version 1):
//
//	offset  size  field
//	0       1     format version (1)
//	1       1     kind: 1 RSA, 2 P-256, 3 P-384, 4 P-521, 5 P-256K, 6 oct
//	2       n     RSA:  PKCS#1 RSAPrivateKey DER (n, e, d, p, q, dp, dq, qi)
//	              EC:   the private scalar d at the curve length (32, 48, 66)
//	              oct:  the AES/HMAC key (16, 24 or 32 bytes)
//
// The public key is recomputed on load. The output is plaintext key
// material: the caller must store it only through the barrier. Public-only
// keys return an error wrapping ErrInvalidKey.
func (k *Key) MarshalPrivate() ([]byte, error) {
	if !k.HasPrivate() {
		return nil, errNoPrivate("storage")
	}
	head := []byte{storageVersion, 0}
	switch {
	case k.rsaPriv != nil:
		head[1] = kindRSA
		return append(head, x509.MarshalPKCS1PrivateKey(k.rsaPriv)...), nil
	case k.k1Priv != nil:
		head[1] = kindP256K
		return append(head, k.k1Priv.Serialize()...), nil
	case k.ecPriv != nil:
		d, err := k.ecPriv.Bytes()
		if err != nil {
			return nil, errorf(ErrInvalidKey, "EC private key cannot be encoded")
		}
		head[1] = curveKinds[k.crv]
		return append(head, d...), nil
	}
	head[1] = kindOct
	return append(head, k.oct...), nil
}

// UnmarshalPrivate decodes MarshalPrivate output and validates it as
// KeyFromJWK would (RSA sizes and consistency, EC scalar range, AES key
// length). Errors wrap ErrInvalidKey.
func UnmarshalPrivate(data []byte) (*Key, error) {
	if len(data) < 2 || data[0] != storageVersion {
		return nil, errorf(ErrInvalidKey, "stored key has an unknown format version")
	}
	body := data[2:]
	switch data[1] {
	case kindRSA:
		return unmarshalRSA(body)
	case kindOct:
		return octFromJWK(JWK{K: body})
	case kindP256K:
		priv, err := k1PrivateFromBytes(body)
		if err != nil {
			return nil, err
		}
		return newK1Key(priv), nil
	}
	for crv, kind := range curveKinds {
		if kind == data[1] {
			return unmarshalEC(crv, body)
		}
	}
	return nil, errorf(ErrInvalidKey, "stored key has an unknown kind")
}

func unmarshalRSA(der []byte) (*Key, error) {
	priv, err := x509.ParsePKCS1PrivateKey(der)
	if err != nil {
		return nil, errorf(ErrInvalidKey, "stored RSA key is malformed")
	}
	if !slices.Contains(rsaSizes, priv.N.BitLen()) || priv.E < 3 {
		return nil, errorf(ErrInvalidKey, "stored RSA key has an unsupported size or exponent")
	}
	priv.Precompute()
	return newRSAKey(priv), nil
}

func unmarshalEC(crv string, d []byte) (*Key, error) {
	info := curves[crv]
	if len(d) != info.size {
		return nil, errorf(ErrInvalidKey, "stored %s key has the wrong length", crv)
	}
	priv, err := ecdsa.ParseRawPrivateKey(info.curve, bytes.Clone(d))
	if err != nil {
		return nil, errorf(ErrInvalidKey, "stored %s key is invalid", crv)
	}
	return newECKey(crv, priv, &priv.PublicKey)
}
