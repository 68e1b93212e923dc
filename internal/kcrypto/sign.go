package kcrypto

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"math/big"

	"github.com/decred/dcrd/dcrec/secp256k1/v4"
	k1ecdsa "github.com/decred/dcrd/dcrec/secp256k1/v4/ecdsa"
)

// pssSign uses salt length = hash length (RFC 7518 §3.5).
var pssSign = &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash}

// pssVerify accepts any salt length the signature encodes (RFC 8017's
// verification recovers it); signatures made with salt length = hash length,
// the only kind Sign produces, are one case of that.
var pssVerify = &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthAuto}

// Sign signs digest with alg. For RS*, PS*, ES* the input is the digest of
// the message under the algorithm's hash and must be 32, 48 or 64 bytes
// (ErrInvalidDigest otherwise); for RSNULL it is signed as is with PKCS#1
// v1.5 padding and no DigestInfo (at most k−11 bytes); for HS* it is the
// data to MAC, of any length. ECDSA signatures are r||s, each left-padded
// to the curve's byte length.
func (k *Key) Sign(alg string, digest []byte) ([]byte, error) {
	a, err := k.lookup(OpSign, alg)
	if err != nil {
		return nil, err
	}
	if err := k.checkSignInput(alg, a, digest); err != nil {
		return nil, err
	}
	switch a.scheme {
	case schemeHMAC:
		return hmacSum(a.hash, k.oct, digest), nil
	case schemeECDSA:
		return k.signECDSA(digest)
	}
	return k.signRSA(a, digest)
}

// Verify reports whether sig is a valid alg signature of digest. Input
// rules are those of Sign, and a digest of the wrong length is an error
// (ErrInvalidDigest); a signature that does not verify, including one of
// the wrong length, is (false, nil). HMAC tags are compared in constant
// time.
func (k *Key) Verify(alg string, digest, sig []byte) (bool, error) {
	a, err := k.lookup(OpVerify, alg)
	if err != nil {
		return false, err
	}
	if err := k.checkSignInput(alg, a, digest); err != nil {
		return false, err
	}
	switch a.scheme {
	case schemeHMAC:
		return hmac.Equal(hmacSum(a.hash, k.oct, digest), sig), nil
	case schemeECDSA:
		return k.verifyECDSA(digest, sig), nil
	case schemePSS:
		return rsa.VerifyPSS(k.rsaPub, a.hash, digest, sig, pssVerify) == nil, nil
	case schemeRSNULL:
		return rsa.VerifyPKCS1v15(k.rsaPub, 0, digest, sig) == nil, nil
	}
	return rsa.VerifyPKCS1v15(k.rsaPub, a.hash, digest, sig) == nil, nil
}

func (k *Key) checkSignInput(name string, a alg, digest []byte) error {
	switch a.scheme {
	case schemeHMAC:
		return nil
	case schemeRSNULL:
		if limit := k.rsaPub.Size() - 11; len(digest) == 0 || len(digest) > limit {
			return errorf(ErrInvalidDigest, "RSNULL input is %d bytes; it must be 1 to %d bytes for this key", len(digest), limit)
		}
		return nil
	}
	if want := a.hash.Size(); len(digest) != want {
		return errorf(ErrInvalidDigest, "%s needs a %d-byte digest; got %d bytes", name, want, len(digest))
	}
	return nil
}

func hmacSum(h crypto.Hash, key, data []byte) []byte {
	m := hmac.New(h.New, key)
	m.Write(data)
	return m.Sum(nil)
}

func (k *Key) signRSA(a alg, digest []byte) ([]byte, error) {
	if k.rsaPriv == nil {
		return nil, errNoPrivate(OpSign)
	}
	var sig []byte
	var err error
	switch a.scheme {
	case schemePSS:
		sig, err = rsa.SignPSS(rand.Reader, k.rsaPriv, a.hash, digest, pssSign)
	case schemeRSNULL:
		sig, err = rsa.SignPKCS1v15(nil, k.rsaPriv, 0, digest)
	default:
		sig, err = rsa.SignPKCS1v15(nil, k.rsaPriv, a.hash, digest)
	}
	if err != nil { // unreachable: key size and input length are checked
		return nil, errorf(ErrInvalidInput, "RSA signing failed")
	}
	return sig, nil
}

func (k *Key) signECDSA(digest []byte) ([]byte, error) {
	size := curves[k.crv].size
	if k.k1Priv != nil {
		s := k1ecdsa.Sign(k.k1Priv, digest)
		r, sv := s.R(), s.S()
		out := make([]byte, 2*size)
		r.PutBytesUnchecked(out[:size])
		sv.PutBytesUnchecked(out[size:])
		return out, nil
	}
	if k.ecPriv == nil {
		return nil, errNoPrivate(OpSign)
	}
	r, s, err := ecdsa.Sign(rand.Reader, k.ecPriv, digest)
	if err != nil {
		return nil, errorf(ErrInvalidInput, "ECDSA signing failed")
	}
	out := make([]byte, 2*size)
	r.FillBytes(out[:size])
	s.FillBytes(out[size:])
	return out, nil
}

// verifyECDSA checks a raw r||s signature. Both high- and low-S forms are
// accepted.
func (k *Key) verifyECDSA(digest, sig []byte) bool {
	size := curves[k.crv].size
	if len(sig) != 2*size {
		return false
	}
	if k.k1Pub != nil {
		var r, s secp256k1.ModNScalar
		if r.SetByteSlice(sig[:size]) || s.SetByteSlice(sig[size:]) {
			return false // r or s >= N
		}
		return k1ecdsa.NewSignature(&r, &s).Verify(digest, k.k1Pub)
	}
	r := new(big.Int).SetBytes(sig[:size])
	s := new(big.Int).SetBytes(sig[size:])
	return ecdsa.Verify(k.ecPub, digest, r, s)
}
