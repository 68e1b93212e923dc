package kcrypto

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"hash"
)

// Params is the input of Encrypt and Decrypt (Azure's
// KeyOperationsParameters without alg). IV, AAD and Tag apply only to the
// algorithms that use them; passing one to any other algorithm is an error
// (ErrInvalidInput), so a caller never believes data was authenticated or
// randomized when it was not.
type Params struct {
	Value []byte
	IV    []byte
	AAD   []byte
	Tag   []byte
}

// Result is the output of Encrypt and Decrypt (Azure's KeyOperationResult
// without kid). IV, Tag and AAD are set only where the algorithm returns
// them: GCM encrypt returns IV, Tag and AAD; CBC encrypt returns IV.
type Result struct {
	Value []byte
	IV    []byte
	Tag   []byte
	AAD   []byte
}

const (
	gcmIVSize  = 12
	gcmTagSize = 16
	aesBlock   = 16
)

// Encrypt encrypts p.Value with alg.
//
//   - RSA1_5, RSA-OAEP (SHA-1, MGF1-SHA-1), RSA-OAEP-256 (SHA-256,
//     MGF1-SHA-256): one block; the plaintext may be at most k−11, k−42 and
//     k−66 bytes for a k-byte modulus. Works with public-only keys.
//   - A128GCM, A192GCM, A256GCM: p.IV is 12 bytes or empty (then a random
//     IV is generated); p.AAD is optional. The result carries IV, the
//     16-byte Tag and AAD; Value is the ciphertext without the tag.
//   - A128CBC, A192CBC, A256CBC: no padding, so the plaintext length must
//     be a multiple of 16. A128CBCPAD, A192CBCPAD, A256CBCPAD: PKCS#7
//     padding. p.IV is 16 bytes or empty (then generated); the result
//     carries IV.
//
// The AES algorithms need an oct key of the matching size.
func (k *Key) Encrypt(alg string, p Params) (Result, error) {
	a, err := k.lookup(OpEncrypt, alg)
	if err != nil {
		return Result{}, err
	}
	if err := checkParams(alg, a, p, false); err != nil {
		return Result{}, err
	}
	switch a.scheme {
	case schemeGCM:
		return gcmSeal(k.gcm, p)
	case schemeCBC, schemeCBCPad:
		return cbcEncrypt(alg, k.block, p, a.scheme == schemeCBCPad)
	}
	ct, err := k.rsaEncrypt(alg, a, p.Value)
	return Result{Value: ct}, err
}

// Decrypt reverses Encrypt. GCM needs p.IV (12 bytes) and p.Tag (16
// bytes) and the same p.AAD; CBC needs p.IV (16 bytes). Any failure to
// decrypt or authenticate — wrong key, tag, IV, AAD, padding or ciphertext —
// returns ErrDecryption itself, with no detail.
func (k *Key) Decrypt(alg string, p Params) (Result, error) {
	a, err := k.lookup(OpDecrypt, alg)
	if err != nil {
		return Result{}, err
	}
	if err := checkParams(alg, a, p, true); err != nil {
		return Result{}, err
	}
	var pt []byte
	switch a.scheme {
	case schemeGCM:
		pt, err = gcmOpen(k.gcm, p)
	case schemeCBC, schemeCBCPad:
		pt, err = cbcDecrypt(alg, k.block, p, a.scheme == schemeCBCPad)
	default:
		pt, err = k.rsaDecrypt(a, p.Value)
	}
	if err != nil {
		return Result{}, err
	}
	return Result{Value: pt}, nil
}

// checkParams rejects parameters the algorithm does not use and checks the
// lengths of those it does.
func checkParams(name string, a alg, p Params, decrypt bool) error {
	gcm := a.scheme == schemeGCM
	cbc := a.scheme == schemeCBC || a.scheme == schemeCBCPad
	switch {
	case len(p.AAD) > 0 && !gcm:
		return errorf(ErrInvalidInput, "%s does not take aad", name)
	case len(p.Tag) > 0 && !(gcm && decrypt):
		return errorf(ErrInvalidInput, "%s does not take a tag on this operation", name)
	case len(p.IV) > 0 && !gcm && !cbc:
		return errorf(ErrInvalidInput, "%s does not take an iv", name)
	case gcm && decrypt && len(p.Tag) != gcmTagSize:
		return errorf(ErrInvalidInput, "%s decryption needs a %d-byte tag; got %d bytes", name, gcmTagSize, len(p.Tag))
	case gcm:
		return checkIV(name, p.IV, gcmIVSize, decrypt)
	case cbc:
		return checkIV(name, p.IV, aesBlock, decrypt)
	}
	return nil
}

// checkIV requires an iv of size bytes; an empty one is allowed when it is
// not required (encryption generates it).
func checkIV(name string, iv []byte, size int, required bool) error {
	if len(iv) == size || len(iv) == 0 && !required {
		return nil
	}
	return errorf(ErrInvalidInput, "%s needs a %d-byte iv; got %d bytes", name, size, len(iv))
}

// rsaOverhead is the padding overhead in bytes: the plaintext limit is
// k − overhead for a k-byte modulus.
func rsaOverhead(a alg) int {
	switch a.scheme {
	case schemeOAEP1, schemeOAEP256:
		return 2*a.hash.Size() + 2 // 42 for SHA-1, 66 for SHA-256
	}
	return 11
}

func oaepHash(a alg) hash.Hash {
	if a.scheme == schemeOAEP1 {
		return sha1.New()
	}
	return sha256.New()
}

func (k *Key) rsaEncrypt(name string, a alg, pt []byte) ([]byte, error) {
	if limit := k.rsaPub.Size() - rsaOverhead(a); len(pt) > limit {
		return nil, errorf(ErrInvalidInput, "%s plaintext is %d bytes; at most %d fit this %d-bit key", name, len(pt), limit, k.Size())
	}
	var ct []byte
	var err error
	if a.scheme == schemeRSA15 {
		ct, err = rsa.EncryptPKCS1v15(rand.Reader, k.rsaPub, pt)
	} else {
		ct, err = rsa.EncryptOAEP(oaepHash(a), rand.Reader, k.rsaPub, pt, nil)
	}
	if err != nil { // lengths are checked, so this is an internal failure
		return nil, errorf(ErrInvalidInput, "%s encryption failed", name)
	}
	return ct, nil
}

// rsaDecrypt returns ErrDecryption for every failure. RSA1_5 is exposed to
// Bleichenbacher-style oracles by nature (the API must report failure);
// Azure marks it not recommended.
func (k *Key) rsaDecrypt(a alg, ct []byte) ([]byte, error) {
	if k.rsaPriv == nil {
		return nil, errNoPrivate(OpDecrypt)
	}
	var pt []byte
	var err error
	if a.scheme == schemeRSA15 {
		pt, err = rsa.DecryptPKCS1v15(nil, k.rsaPriv, ct)
	} else {
		pt, err = rsa.DecryptOAEP(oaepHash(a), nil, k.rsaPriv, ct, nil)
	}
	if err != nil {
		return nil, ErrDecryption
	}
	return pt, nil
}
