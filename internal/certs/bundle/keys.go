package bundle

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"

	"github.com/keyhaven/keyhaven/internal/kverr"
)

// RSA modulus sizes accepted for keys and leaf certificates.
const (
	minRSABits = 2048
	maxRSABits = 16384
)

// checkKey returns k as a crypto.Signer if it is a supported private key.
func checkKey(k any) (crypto.Signer, error) {
	switch k := k.(type) {
	case *rsa.PrivateKey:
		if k != nil && rsaSizeOK(&k.PublicKey) {
			return k, nil
		}
	case *ecdsa.PrivateKey:
		if k != nil && curveOK(k.Curve) {
			return k, nil
		}
	}
	return nil, errUnsupportedKey()
}

// checkPublicKey reports whether pub is a supported certificate public key.
func checkPublicKey(pub any) error {
	switch pub := pub.(type) {
	case *rsa.PublicKey:
		if pub != nil && rsaSizeOK(pub) {
			return nil
		}
	case *ecdsa.PublicKey:
		if pub != nil && curveOK(pub.Curve) {
			return nil
		}
	}
	return errUnsupportedKey()
}

func rsaSizeOK(pub *rsa.PublicKey) bool {
	if pub.N == nil {
		return false
	}
	bits := pub.N.BitLen()
	return bits >= minRSABits && bits <= maxRSABits
}

func curveOK(c elliptic.Curve) bool {
	return c == elliptic.P256() || c == elliptic.P384() || c == elliptic.P521()
}

// keyMatches reports whether cert's public key is the public half of key.
func keyMatches(cert *x509.Certificate, key crypto.Signer) bool {
	pub, ok := cert.PublicKey.(interface{ Equal(crypto.PublicKey) bool })
	return ok && pub.Equal(key.Public())
}

func errUnsupportedKey() *kverr.Error {
	return kverr.BadParameterf("Only RSA (2048 bits or more, up to %d) and EC (P-256, P-384, P-521) keys are supported.", maxRSABits)
}

func errKeyMismatch() *kverr.Error {
	return kverr.BadParameterf("The private key does not match the certificate.")
}
