package kcrypto

import (
	"crypto"
	"slices"
	"strings"
)

// Key types (JsonWebKeyType without the -HSM suffix).
const (
	KtyRSA = "RSA"
	KtyEC  = "EC"
	KtyOct = "oct"
)

// Curve names (JsonWebKeyCurveName).
const (
	CurveP256  = "P-256"
	CurveP384  = "P-384"
	CurveP521  = "P-521"
	CurveP256K = "P-256K"
)

// Key operations (JsonWebKeyOperation values that name a crypto operation).
const (
	OpEncrypt   = "encrypt"
	OpDecrypt   = "decrypt"
	OpSign      = "sign"
	OpVerify    = "verify"
	OpWrapKey   = "wrapKey"
	OpUnwrapKey = "unwrapKey"
)

// BaseKty maps a JsonWebKeyType to the key type this package implements:
// "RSA" and "RSA-HSM" to "RSA", "EC" and "EC-HSM" to "EC", "oct" and
// "oct-HSM" to "oct". The -HSM variants are labels only: keyhaven keeps
// every key in software. ok is false for any other value.
func BaseKty(kty string) (base string, ok bool) {
	base = strings.TrimSuffix(kty, "-HSM")
	switch base {
	case KtyRSA, KtyEC, KtyOct:
		return base, true
	}
	return "", false
}

// DefaultKeyOps returns the key_ops a new key of type kty gets when the
// request names none: RSA: encrypt, decrypt, sign, verify, wrapKey,
// unwrapKey (Azure's CreateKey example); EC: sign, verify; oct: encrypt,
// decrypt, wrapKey, unwrapKey. HMAC (sign, verify) is available for oct
// keys only when key_ops asks for it. It returns nil for an unknown kty.
func DefaultKeyOps(kty string) []string {
	base, _ := BaseKty(kty)
	switch base {
	case KtyRSA:
		return []string{OpEncrypt, OpDecrypt, OpSign, OpVerify, OpWrapKey, OpUnwrapKey}
	case KtyEC:
		return []string{OpSign, OpVerify}
	case KtyOct:
		return []string{OpEncrypt, OpDecrypt, OpWrapKey, OpUnwrapKey}
	}
	return nil
}

// KeyOpsFor returns every crypto operation a key of type kty can perform
// with some algorithm (a superset of DefaultKeyOps: oct adds sign and
// verify for HMAC). It returns nil for an unknown kty.
func KeyOpsFor(kty string) []string {
	base, _ := BaseKty(kty)
	switch base {
	case KtyRSA:
		return []string{OpEncrypt, OpDecrypt, OpSign, OpVerify, OpWrapKey, OpUnwrapKey}
	case KtyEC:
		return []string{OpSign, OpVerify}
	case KtyOct:
		return []string{OpEncrypt, OpDecrypt, OpSign, OpVerify, OpWrapKey, OpUnwrapKey}
	}
	return nil
}

type scheme int

const (
	schemePKCS1  scheme = iota + 1 // RSASSA-PKCS1-v1_5 with DigestInfo
	schemeRSNULL                   // RSASSA-PKCS1-v1_5 over raw input
	schemePSS
	schemeECDSA
	schemeHMAC
	schemeRSA15 // RSAES-PKCS1-v1_5
	schemeOAEP1
	schemeOAEP256
	schemeGCM
	schemeCBC
	schemeCBCPad
	schemeKW  // RFC 3394
	schemeKWP // RFC 5649
)

// alg describes one algorithm. keyLen is the AES key length in bytes it
// requires (0: any AES key); crv is the curve an ECDSA algorithm requires.
type alg struct {
	kty    string
	scheme scheme
	hash   crypto.Hash
	crv    string
	keyLen int
}

var signAlgs = map[string]alg{
	"RS256":  {kty: KtyRSA, scheme: schemePKCS1, hash: crypto.SHA256},
	"RS384":  {kty: KtyRSA, scheme: schemePKCS1, hash: crypto.SHA384},
	"RS512":  {kty: KtyRSA, scheme: schemePKCS1, hash: crypto.SHA512},
	"RSNULL": {kty: KtyRSA, scheme: schemeRSNULL},
	"PS256":  {kty: KtyRSA, scheme: schemePSS, hash: crypto.SHA256},
	"PS384":  {kty: KtyRSA, scheme: schemePSS, hash: crypto.SHA384},
	"PS512":  {kty: KtyRSA, scheme: schemePSS, hash: crypto.SHA512},
	"ES256":  {kty: KtyEC, scheme: schemeECDSA, hash: crypto.SHA256, crv: CurveP256},
	"ES384":  {kty: KtyEC, scheme: schemeECDSA, hash: crypto.SHA384, crv: CurveP384},
	"ES512":  {kty: KtyEC, scheme: schemeECDSA, hash: crypto.SHA512, crv: CurveP521},
	"ES256K": {kty: KtyEC, scheme: schemeECDSA, hash: crypto.SHA256, crv: CurveP256K},
	"HS256":  {kty: KtyOct, scheme: schemeHMAC, hash: crypto.SHA256},
	"HS384":  {kty: KtyOct, scheme: schemeHMAC, hash: crypto.SHA384},
	"HS512":  {kty: KtyOct, scheme: schemeHMAC, hash: crypto.SHA512},
}

var encryptAlgs = map[string]alg{
	"RSA1_5":       {kty: KtyRSA, scheme: schemeRSA15},
	"RSA-OAEP":     {kty: KtyRSA, scheme: schemeOAEP1, hash: crypto.SHA1},
	"RSA-OAEP-256": {kty: KtyRSA, scheme: schemeOAEP256, hash: crypto.SHA256},
	"A128GCM":      {kty: KtyOct, scheme: schemeGCM, keyLen: 16},
	"A192GCM":      {kty: KtyOct, scheme: schemeGCM, keyLen: 24},
	"A256GCM":      {kty: KtyOct, scheme: schemeGCM, keyLen: 32},
	"A128CBC":      {kty: KtyOct, scheme: schemeCBC, keyLen: 16},
	"A192CBC":      {kty: KtyOct, scheme: schemeCBC, keyLen: 24},
	"A256CBC":      {kty: KtyOct, scheme: schemeCBC, keyLen: 32},
	"A128CBCPAD":   {kty: KtyOct, scheme: schemeCBCPad, keyLen: 16},
	"A192CBCPAD":   {kty: KtyOct, scheme: schemeCBCPad, keyLen: 24},
	"A256CBCPAD":   {kty: KtyOct, scheme: schemeCBCPad, keyLen: 32},
}

var wrapAlgs = map[string]alg{
	"RSA1_5":               encryptAlgs["RSA1_5"],
	"RSA-OAEP":             encryptAlgs["RSA-OAEP"],
	"RSA-OAEP-256":         encryptAlgs["RSA-OAEP-256"],
	"A128KW":               {kty: KtyOct, scheme: schemeKW, keyLen: 16},
	"A192KW":               {kty: KtyOct, scheme: schemeKW, keyLen: 24},
	"A256KW":               {kty: KtyOct, scheme: schemeKW, keyLen: 32},
	"CKM_AES_KEY_WRAP":     {kty: KtyOct, scheme: schemeKW},
	"CKM_AES_KEY_WRAP_PAD": {kty: KtyOct, scheme: schemeKWP},
}

func algTable(op string) map[string]alg {
	switch op {
	case OpSign, OpVerify:
		return signAlgs
	case OpEncrypt, OpDecrypt:
		return encryptAlgs
	case OpWrapKey, OpUnwrapKey:
		return wrapAlgs
	}
	return nil
}

// lookup returns the algorithm named name for op if it fits k.
func (k *Key) lookup(op, name string) (alg, error) {
	a, ok := algTable(op)[name]
	if !ok {
		return alg{}, errorf(ErrUnsupportedAlgorithm, "algorithm %q is not supported for %s", name, op)
	}
	if !k.fits(a) {
		return alg{}, errorf(ErrAlgorithmKeyMismatch, "algorithm %s cannot be used with %s", name, k.describe())
	}
	return a, nil
}

func (k *Key) fits(a alg) bool {
	switch {
	case a.kty != k.kty:
		return false
	case a.crv != "" && a.crv != k.crv:
		return false
	case a.keyLen != 0 && a.keyLen != len(k.oct):
		return false
	}
	return true
}

// CheckAlgorithm reports whether alg can be used for op (one of the Op
// constants) with this key. It returns nil, an error wrapping
// ErrUnsupportedAlgorithm (alg unknown, or not defined for op), or one
// wrapping ErrAlgorithmKeyMismatch (alg is for another key type, curve or
// size). It does not look at key_ops, which belong to the caller, nor at
// whether the key holds private material (see HasPrivate).
func (k *Key) CheckAlgorithm(op, alg string) error {
	_, err := k.lookup(op, alg)
	return err
}

// Algorithms returns, sorted, every algorithm usable for op with this key,
// or nil if op is not a crypto operation or the key supports none.
func (k *Key) Algorithms(op string) []string {
	var out []string
	for name, a := range algTable(op) {
		if k.fits(a) {
			out = append(out, name)
		}
	}
	slices.Sort(out)
	return out
}
