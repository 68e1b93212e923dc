package kcrypto

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"math/big"
)

// Base64URL is a byte string that JSON-encodes as base64url without
// padding (RFC 7515 §2) and decodes from base64url with or without padding.
type Base64URL []byte

// MarshalJSON implements json.Marshaler.
func (b Base64URL) MarshalJSON() ([]byte, error) {
	return json.Marshal(base64.RawURLEncoding.EncodeToString(b))
}

// UnmarshalJSON implements json.Unmarshaler. JSON null leaves b nil.
func (b *Base64URL) UnmarshalJSON(data []byte) error {
	if string(data) == "null" {
		*b = nil
		return nil
	}
	var s string
	if err := json.Unmarshal(data, &s); err != nil {
		return errorf(ErrInvalidInput, "expected a base64url string")
	}
	v, err := DecodeBase64URL(s)
	if err != nil {
		return err
	}
	*b = v
	return nil
}

// DecodeBase64URL decodes base64url with or without "=" padding. The error
// wraps ErrInvalidInput and does not echo the input.
func DecodeBase64URL(s string) ([]byte, error) {
	v, err := base64.RawURLEncoding.DecodeString(trimPadding(s))
	if err != nil {
		return nil, errorf(ErrInvalidInput, "value is not valid base64url")
	}
	return v, nil
}

// trimPadding removes up to two trailing "=" (more is never valid).
func trimPadding(s string) string {
	for i := 0; i < 2 && len(s) > 0 && s[len(s)-1] == '='; i++ {
		s = s[:len(s)-1]
	}
	return s
}

// JWK is Azure Key Vault's JsonWebKey. Field names and order follow the
// spec; binary fields are [Base64URL]. Kid and KeyOps are carried for the
// caller; this package neither sets nor reads them.
type JWK struct {
	Kid    string    `json:"kid,omitempty"`
	Kty    string    `json:"kty,omitempty"`
	KeyOps []string  `json:"key_ops,omitempty"`
	N      Base64URL `json:"n,omitempty"`
	E      Base64URL `json:"e,omitempty"`
	D      Base64URL `json:"d,omitempty"`
	DP     Base64URL `json:"dp,omitempty"`
	DQ     Base64URL `json:"dq,omitempty"`
	QI     Base64URL `json:"qi,omitempty"`
	P      Base64URL `json:"p,omitempty"`
	Q      Base64URL `json:"q,omitempty"`
	K      Base64URL `json:"k,omitempty"`
	KeyHSM Base64URL `json:"key_hsm,omitempty"`
	Crv    string    `json:"crv,omitempty"`
	X      Base64URL `json:"x,omitempty"`
	Y      Base64URL `json:"y,omitempty"`
}

// PublicJWK returns the public JWK of the key with Kty set to "RSA", "EC"
// or "oct" (the caller sets Kid, KeyOps and any -HSM label). It never
// contains private parts: RSA gets n and e as unsigned big-endian bytes
// without leading zeros (e = 65537 is "AQAB"); EC gets crv and x, y
// left-padded to the coordinate length (32, 48, 66 bytes); oct gets no
// key material at all.
func (k *Key) PublicJWK() JWK {
	j := JWK{Kty: k.kty}
	switch {
	case k.rsaPub != nil:
		j.N = k.rsaPub.N.Bytes()
		j.E = big.NewInt(int64(k.rsaPub.E)).Bytes()
	case k.kty == KtyEC:
		j.Crv = k.crv
		size := curves[k.crv].size
		j.X = bytes.Clone(k.point[1 : 1+size])
		j.Y = bytes.Clone(k.point[1+size:])
	}
	return j
}

// ParseJWK decodes a JSON JsonWebKey and imports it with KeyFromJWK.
// Malformed JSON or base64url returns an error wrapping ErrInvalidKey.
func ParseJWK(data []byte) (*Key, error) {
	var j JWK
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&j); err != nil {
		return nil, errorf(ErrInvalidKey, "the JWK is not valid JSON with base64url fields")
	}
	if dec.More() {
		return nil, errorf(ErrInvalidKey, "unexpected data after the JWK")
	}
	return KeyFromJWK(j)
}

// KeyFromJWK imports a JWK. kty may carry the -HSM suffix.
//
//   - RSA: n and e are required; d makes it a private key. p and q are
//     optional (recovered from n, e, d when both are absent); dp, dq, qi are
//     optional and, when present, must equal the values computed from the
//     primes. The modulus must be 2048, 3072 or 4096 bits; e any odd value
//     from 3 to 2^31-1. Private keys pass rsa.PrivateKey.Validate.
//   - EC: crv, x and y are required, d optional. The point must be on the
//     curve and d must produce it. Coordinates and d shorter than the
//     curve's length are left-padded.
//   - oct: k of 16, 24 or 32 bytes.
//
// key_hsm (BYOK) blobs are refused. Kid and KeyOps are ignored. Errors wrap
// ErrInvalidKey and never contain key material. A key without private parts
// is returned public-only (HasPrivate false); callers that require private
// material on import must check.
func KeyFromJWK(j JWK) (*Key, error) {
	if len(j.KeyHSM) > 0 {
		return nil, errorf(ErrInvalidKey, "key_hsm (BYOK) import is not supported")
	}
	base, ok := BaseKty(j.Kty)
	if !ok {
		return nil, errorf(ErrInvalidKey, "kty %q is not supported; use RSA, EC or oct", j.Kty)
	}
	switch base {
	case KtyRSA:
		return rsaFromJWK(j)
	case KtyEC:
		return ecFromJWK(j)
	}
	return octFromJWK(j)
}

func octFromJWK(j JWK) (*Key, error) {
	switch len(j.K) {
	case 16, 24, 32:
		return newOctKey(bytes.Clone(j.K))
	case 0:
		return nil, errorf(ErrInvalidKey, "oct JWK has no k")
	}
	return nil, errorf(ErrInvalidKey, "oct key is %d bytes; use 16, 24 or 32", len(j.K))
}
