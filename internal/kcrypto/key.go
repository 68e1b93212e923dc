package kcrypto

import (
	"crypto"
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"fmt"
	"slices"

	"github.com/decred/dcrd/dcrec/secp256k1/v4"
)

// Key is one key: RSA, EC (P-256, P-384, P-521 or secp256k1 "P-256K") or
// oct (AES/HMAC). It may be public-only (RSA and EC imported without d);
// then only Verify, Encrypt and WrapKey work.
//
// A Key is immutable after construction and safe for concurrent use.
type Key struct {
	kty string // KtyRSA, KtyEC or KtyOct
	crv string // EC only

	rsaPriv *rsa.PrivateKey // nil when public-only
	rsaPub  *rsa.PublicKey

	ecPriv *ecdsa.PrivateKey // NIST curves; nil when public-only
	ecPub  *ecdsa.PublicKey

	k1Priv *secp256k1.PrivateKey // P-256K; nil when public-only
	k1Pub  *secp256k1.PublicKey

	point []byte // EC: 0x04 || x || y, fixed-length coordinates

	oct   []byte       // AES/HMAC key
	block cipher.Block // AES cipher of oct
	gcm   cipher.AEAD  // AES-GCM of oct, 12-byte nonce, 16-byte tag
}

// Kty returns KtyRSA, KtyEC or KtyOct.
func (k *Key) Kty() string { return k.kty }

// Curve returns the curve name of an EC key and "" otherwise.
func (k *Key) Curve() string { return k.crv }

// Size returns the key size in bits: the modulus length for RSA, the curve
// size for EC (256, 384, 521; 256 for P-256K), the AES key length for oct.
func (k *Key) Size() int {
	switch k.kty {
	case KtyRSA:
		return k.rsaPub.N.BitLen()
	case KtyEC:
		return curves[k.crv].bits
	}
	return 8 * len(k.oct)
}

// HasPrivate reports whether the key holds private (or secret) material.
// oct keys always do.
func (k *Key) HasPrivate() bool {
	return k.rsaPriv != nil || k.ecPriv != nil || k.k1Priv != nil || k.oct != nil
}

// PublicKey returns the public key: *rsa.PublicKey, *ecdsa.PublicKey or,
// for P-256K, *secp256k1.PublicKey. It returns nil for oct keys.
func (k *Key) PublicKey() crypto.PublicKey {
	switch {
	case k.rsaPub != nil:
		return k.rsaPub
	case k.ecPub != nil:
		return k.ecPub
	case k.k1Pub != nil:
		return k.k1Pub
	}
	return nil
}

func (k *Key) describe() string {
	switch k.kty {
	case KtyEC:
		return "an EC " + k.crv + " key"
	case KtyRSA:
		return fmt.Sprintf("a %d-bit RSA key", k.Size())
	}
	return fmt.Sprintf("a %d-bit oct key", k.Size())
}

// curveInfo describes a supported curve. curve is nil for P-256K, which
// crypto/ecdsa does not implement.
type curveInfo struct {
	curve elliptic.Curve
	bits  int
	size  int // bytes of a coordinate, a scalar, and each of r and s
}

var curves = map[string]curveInfo{
	CurveP256:  {curve: elliptic.P256(), bits: 256, size: 32},
	CurveP384:  {curve: elliptic.P384(), bits: 384, size: 48},
	CurveP521:  {curve: elliptic.P521(), bits: 521, size: 66},
	CurveP256K: {curve: nil, bits: 256, size: 32},
}

var (
	rsaSizes = []int{2048, 3072, 4096}
	octSizes = []int{128, 192, 256}
)

// Generate creates a new key. kty is "RSA", "EC" or "oct" (the -HSM
// variants are accepted as the same type).
//
//   - RSA: size 2048, 3072 or 4096 (0 means 2048); publicExponent 0 or
//     65537 (crypto/rsa generates only e = 65537); crv must be empty.
//   - EC: crv P-256, P-384, P-521 or P-256K ("" means P-256); size must be
//     0 or the curve's size; publicExponent must be 0.
//   - oct: size 128, 192 or 256 (0 means 256); crv and publicExponent must
//     be empty.
//
// Invalid parameters return an error wrapping ErrInvalidInput.
func Generate(kty string, size int, crv string, publicExponent int) (*Key, error) {
	base, ok := BaseKty(kty)
	if !ok {
		return nil, errorf(ErrInvalidInput, "key type %q is not supported; use RSA, EC or oct", kty)
	}
	if base != KtyRSA && publicExponent != 0 {
		return nil, errorf(ErrInvalidInput, "public_exponent applies to RSA keys only")
	}
	if base != KtyEC && crv != "" {
		return nil, errorf(ErrInvalidInput, "crv applies to EC keys only")
	}
	switch base {
	case KtyRSA:
		return generateRSA(size, publicExponent)
	case KtyEC:
		return generateEC(size, crv)
	}
	return generateOct(size)
}

func generateRSA(size, e int) (*Key, error) {
	if size == 0 {
		size = 2048
	}
	if !slices.Contains(rsaSizes, size) {
		return nil, errorf(ErrInvalidInput, "RSA key size %d is not supported; use 2048, 3072 or 4096", size)
	}
	if e != 0 && e != 65537 {
		return nil, errorf(ErrInvalidInput, "RSA public exponent %d is not supported; use 65537", e)
	}
	priv, err := rsa.GenerateKey(rand.Reader, size)
	if err != nil {
		return nil, fmt.Errorf("kcrypto: generating RSA key: %w", err)
	}
	return newRSAKey(priv), nil
}

func generateEC(size int, crv string) (*Key, error) {
	if crv == "" {
		crv = CurveP256
	}
	info, ok := curves[crv]
	if !ok {
		return nil, errorf(ErrInvalidInput, "curve %q is not supported; use P-256, P-384, P-521 or P-256K", crv)
	}
	if size != 0 && size != info.bits {
		return nil, errorf(ErrInvalidInput, "key size %d does not match curve %s", size, crv)
	}
	if crv == CurveP256K {
		priv, err := secp256k1.GeneratePrivateKey()
		if err != nil {
			return nil, fmt.Errorf("kcrypto: generating P-256K key: %w", err)
		}
		return newK1Key(priv), nil
	}
	priv, err := ecdsa.GenerateKey(info.curve, rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("kcrypto: generating %s key: %w", crv, err)
	}
	return newECKey(crv, priv, &priv.PublicKey)
}

func generateOct(size int) (*Key, error) {
	if size == 0 {
		size = 256
	}
	if !slices.Contains(octSizes, size) {
		return nil, errorf(ErrInvalidInput, "oct key size %d is not supported; use 128, 192 or 256", size)
	}
	b := make([]byte, size/8)
	rand.Read(b)
	return newOctKey(b)
}

// newRSAKey wraps a validated, precomputed private key.
func newRSAKey(priv *rsa.PrivateKey) *Key {
	return &Key{kty: KtyRSA, rsaPriv: priv, rsaPub: &priv.PublicKey}
}

// newECKey wraps a NIST-curve key; priv is nil for a public-only key.
func newECKey(crv string, priv *ecdsa.PrivateKey, pub *ecdsa.PublicKey) (*Key, error) {
	point, err := pub.Bytes()
	if err != nil {
		return nil, errorf(ErrInvalidKey, "invalid %s public key", crv)
	}
	return &Key{kty: KtyEC, crv: crv, ecPriv: priv, ecPub: pub, point: point}, nil
}

func newK1Key(priv *secp256k1.PrivateKey) *Key {
	k := newK1Public(priv.PubKey())
	k.k1Priv = priv
	return k
}

func newK1Public(pub *secp256k1.PublicKey) *Key {
	return &Key{kty: KtyEC, crv: CurveP256K, k1Pub: pub, point: pub.SerializeUncompressed()}
}

// newOctKey takes ownership of b, which must be 16, 24 or 32 bytes.
func newOctKey(b []byte) (*Key, error) {
	block, err := aes.NewCipher(b)
	if err != nil {
		return nil, errorf(ErrInvalidKey, "oct key is %d bytes; use 16, 24 or 32", len(b))
	}
	gcm, err := cipher.NewGCM(block)
	if err != nil {
		return nil, errorf(ErrInvalidKey, "AES-GCM is unavailable")
	}
	return &Key{kty: KtyOct, oct: b, block: block, gcm: gcm}, nil
}
