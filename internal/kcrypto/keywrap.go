package kcrypto

import (
	"crypto/cipher"
	"crypto/subtle"
	"encoding/binary"
)

// AES key wrap, RFC 3394 §2.2 (index-based form), and its padded variant,
// RFC 5649. Both operate on 64-bit semiblocks.

var defaultKWIV = [8]byte{0xA6, 0xA6, 0xA6, 0xA6, 0xA6, 0xA6, 0xA6, 0xA6}

// kwpPrefix is the constant half of RFC 5649's alternative initial value.
var kwpPrefix = [4]byte{0xA6, 0x59, 0x59, 0xA6}

// kwWrap wraps p (a multiple of 8 bytes, at least 16) under block with the
// initial value iv and returns iv' || R[1..n], n+1 semiblocks.
func kwWrap(block cipher.Block, iv [8]byte, p []byte) []byte {
	n := len(p) / 8
	out := make([]byte, 8+len(p))
	copy(out[8:], p)
	var b [16]byte
	a := iv
	for j := 0; j < 6; j++ {
		for i := 1; i <= n; i++ {
			r := out[8*i : 8*i+8]
			copy(b[:8], a[:])
			copy(b[8:], r)
			block.Encrypt(b[:], b[:])
			t := uint64(n*j + i)
			binary.BigEndian.PutUint64(a[:], binary.BigEndian.Uint64(b[:8])^t)
			copy(r, b[8:])
		}
	}
	copy(out[:8], a[:])
	return out
}

// kwUnwrap inverts kwWrap for c of n+1 semiblocks (n >= 1) and returns the
// recovered initial value and plaintext; the caller checks the value.
func kwUnwrap(block cipher.Block, c []byte) (iv [8]byte, p []byte) {
	n := len(c)/8 - 1
	p = make([]byte, 8*n)
	copy(p, c[8:])
	var b [16]byte
	copy(iv[:], c[:8])
	for j := 5; j >= 0; j-- {
		for i := n; i >= 1; i-- {
			r := p[8*(i-1) : 8*i]
			t := uint64(n*j + i)
			binary.BigEndian.PutUint64(b[:8], binary.BigEndian.Uint64(iv[:])^t)
			copy(b[8:], r)
			block.Decrypt(b[:], b[:])
			copy(iv[:], b[:8])
			copy(r, b[8:])
		}
	}
	return iv, p
}

// kwUnwrapDefault is RFC 3394 unwrap with the default IV check.
func kwUnwrapDefault(block cipher.Block, c []byte) ([]byte, error) {
	if len(c) < 24 || len(c)%8 != 0 {
		return nil, ErrDecryption
	}
	iv, p := kwUnwrap(block, c)
	if subtle.ConstantTimeCompare(iv[:], defaultKWIV[:]) != 1 {
		return nil, ErrDecryption
	}
	return p, nil
}

// kwpWrap is RFC 5649 §4.1: pad to a multiple of 8 with zeros; a single
// padded semiblock is encrypted as one AES block with the initial value.
func kwpWrap(block cipher.Block, p []byte) []byte {
	var aiv [8]byte
	copy(aiv[:4], kwpPrefix[:])
	binary.BigEndian.PutUint32(aiv[4:], uint32(len(p)))
	padded := make([]byte, (len(p)+7)/8*8)
	copy(padded, p)
	if len(padded) == 8 {
		out := append(aiv[:], padded...)
		block.Encrypt(out, out)
		return out
	}
	return kwWrap(block, aiv, padded)
}

// kwpUnwrap is RFC 5649 §4.2. The initial value, length and padding checks
// are combined without data-dependent branches before the single result.
func kwpUnwrap(block cipher.Block, c []byte) ([]byte, error) {
	if len(c) < 16 || len(c)%8 != 0 {
		return nil, ErrDecryption
	}
	var aiv [8]byte
	var p []byte
	if len(c) == 16 {
		b := make([]byte, 16)
		block.Decrypt(b, c)
		copy(aiv[:], b[:8])
		p = b[8:]
	} else {
		aiv, p = kwUnwrap(block, c)
	}
	mli := binary.BigEndian.Uint32(aiv[4:])
	if kwpCheck(aiv, mli, p) != 1 {
		return nil, ErrDecryption
	}
	return p[:mli], nil
}

// kwpCheck returns 1 if aiv has the RFC 5649 prefix, 8(n−1) < mli ≤ 8n for
// n = len(p)/8, and the bytes after mli are zero; 0 otherwise.
func kwpCheck(aiv [8]byte, mli uint32, p []byte) int {
	ok := subtle.ConstantTimeCompare(aiv[:4], kwpPrefix[:])
	padLen := uint64(len(p)) - uint64(mli) // wraps around when mli > len(p)
	ok &= isZero64(padLen >> 3)            // padLen <= 7
	pad := int(padLen & 7)
	last := p[len(p)-8:]
	var bad byte
	for i := 0; i < 8; i++ {
		inPad := subtle.ConstantTimeLessOrEq(8-pad, i) // last[i] is padding
		bad |= byte(-inPad) & last[i]
	}
	return ok & subtle.ConstantTimeByteEq(bad, 0)
}

// isZero64 returns 1 if v == 0 and 0 otherwise, without branching.
func isZero64(v uint64) int {
	return int(1 ^ (v|-v)>>63)
}
