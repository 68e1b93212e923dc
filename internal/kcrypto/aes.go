package kcrypto

import (
	"bytes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/subtle"
)

func gcmSeal(gcm cipher.AEAD, p Params) (Result, error) {
	iv := bytes.Clone(p.IV)
	if len(iv) == 0 {
		iv = make([]byte, gcmIVSize)
		rand.Read(iv)
	}
	out := gcm.Seal(nil, iv, p.Value, p.AAD)
	n := len(out) - gcmTagSize
	return Result{Value: out[:n:n], IV: iv, Tag: out[n:], AAD: bytes.Clone(p.AAD)}, nil
}

func gcmOpen(gcm cipher.AEAD, p Params) ([]byte, error) {
	sealed := append(bytes.Clone(p.Value), p.Tag...)
	pt, err := gcm.Open(sealed[:0], p.IV, sealed, p.AAD)
	if err != nil {
		return nil, ErrDecryption
	}
	return pt, nil
}

func cbcEncrypt(name string, block cipher.Block, p Params, pad bool) (Result, error) {
	if !pad && len(p.Value)%aesBlock != 0 {
		return Result{}, errorf(ErrInvalidInput, "%s plaintext is %d bytes; it must be a multiple of 16 (%sPAD pads)", name, len(p.Value), name)
	}
	buf := bytes.Clone(p.Value)
	if pad {
		buf = padPKCS7(p.Value)
	}
	iv := bytes.Clone(p.IV)
	if len(iv) == 0 {
		iv = make([]byte, aesBlock)
		rand.Read(iv)
	}
	cipher.NewCBCEncrypter(block, iv).CryptBlocks(buf, buf)
	return Result{Value: buf, IV: iv}, nil
}

// cbcDecrypt: for CBC without padding, a length that is not a multiple of
// 16 is a request error; for CBCPAD every failure is ErrDecryption.
func cbcDecrypt(name string, block cipher.Block, p Params, pad bool) ([]byte, error) {
	n := len(p.Value)
	switch {
	case pad && (n == 0 || n%aesBlock != 0):
		return nil, ErrDecryption
	case n%aesBlock != 0:
		return nil, errorf(ErrInvalidInput, "%s ciphertext is %d bytes; it must be a multiple of 16", name, n)
	}
	buf := bytes.Clone(p.Value)
	cipher.NewCBCDecrypter(block, p.IV).CryptBlocks(buf, buf)
	if !pad {
		return buf, nil
	}
	pt, ok := unpadPKCS7(buf)
	if !ok {
		return nil, ErrDecryption
	}
	return pt, nil
}

func padPKCS7(b []byte) []byte {
	n := aesBlock - len(b)%aesBlock
	out := make([]byte, len(b)+n)
	copy(out, b)
	for i := len(b); i < len(out); i++ {
		out[i] = byte(n)
	}
	return out
}

// unpadPKCS7 checks the padding of the last block in constant time: the
// work and the branches do not depend on the padding bytes, so timing does
// not tell a bad pad length from a bad pad byte. len(b) must be a positive
// multiple of 16.
func unpadPKCS7(b []byte) ([]byte, bool) {
	last := b[len(b)-aesBlock:]
	n := int(last[aesBlock-1])
	good := subtle.ConstantTimeLessOrEq(1, n) & subtle.ConstantTimeLessOrEq(n, aesBlock)
	for i := 0; i < aesBlock; i++ {
		inPad := subtle.ConstantTimeLessOrEq(i+1, n) // byte aesBlock-1-i is padding
		same := subtle.ConstantTimeByteEq(last[aesBlock-1-i], byte(n))
		good &= subtle.ConstantTimeSelect(inPad, same, 1)
	}
	if good != 1 {
		return nil, false
	}
	return b[:len(b)-n], true
}
