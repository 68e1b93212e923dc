package kcrypto

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/rsa"
)

// FromSigner wraps an RSA or NIST-curve EC private key, as X.509 bundles
// carry them, as a Key. Other key types return an error wrapping
// ErrInvalidKey.
func FromSigner(priv crypto.Signer) (*Key, error) {
	switch p := priv.(type) {
	case *rsa.PrivateKey:
		if err := p.Validate(); err != nil {
			return nil, errorf(ErrInvalidKey, "invalid RSA private key")
		}
		p.Precompute()
		return newRSAKey(p), nil
	case *ecdsa.PrivateKey:
		for name, c := range curves {
			if c.curve != nil && c.curve == p.Curve {
				return newECKey(name, p, &p.PublicKey)
			}
		}
	}
	return nil, errorf(ErrInvalidKey, "only RSA and EC (P-256, P-384, P-521) private keys are supported")
}

// Signer returns the RSA or NIST-curve EC private key as a crypto.Signer,
// for X.509 signatures, or nil for public-only, oct and P-256K keys.
func (k *Key) Signer() crypto.Signer {
	switch {
	case k.rsaPriv != nil:
		return k.rsaPriv
	case k.ecPriv != nil:
		return k.ecPriv
	}
	return nil
}
