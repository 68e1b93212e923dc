package kcrypto

import (
	"crypto/rsa"
	"math/big"
	"slices"
)

const maxRSABytes = 4096 / 8

func rsaFromJWK(j JWK) (*Key, error) {
	pub, err := rsaPublicFromJWK(j)
	if err != nil {
		return nil, err
	}
	if len(j.D) == 0 {
		if len(j.P)+len(j.Q)+len(j.DP)+len(j.DQ)+len(j.QI) > 0 {
			return nil, errorf(ErrInvalidKey, "RSA JWK has private parts but no d")
		}
		return &Key{kty: KtyRSA, rsaPub: pub}, nil
	}
	priv, err := rsaPrivateFromJWK(pub, j)
	if err != nil {
		return nil, err
	}
	return newRSAKey(priv), nil
}

func rsaPublicFromJWK(j JWK) (*rsa.PublicKey, error) {
	if len(j.N) == 0 || len(j.E) == 0 {
		return nil, errorf(ErrInvalidKey, "RSA JWK needs n and e")
	}
	if len(j.N) > maxRSABytes+1 { // one leading zero byte is tolerated
		return nil, errorf(ErrInvalidKey, "RSA modulus is longer than 4096 bits")
	}
	n := new(big.Int).SetBytes(j.N)
	if !slices.Contains(rsaSizes, n.BitLen()) {
		return nil, errorf(ErrInvalidKey, "RSA modulus is %d bits; supported sizes are 2048, 3072 and 4096", n.BitLen())
	}
	if n.Bit(0) == 0 {
		return nil, errorf(ErrInvalidKey, "RSA modulus is even")
	}
	e, err := rsaExponent(j.E)
	if err != nil {
		return nil, err
	}
	return &rsa.PublicKey{N: n, E: e}, nil
}

// rsaExponent accepts any odd e with 3 <= e <= 2^31-1 (crypto/rsa's limit).
func rsaExponent(b []byte) (int, error) {
	e := new(big.Int).SetBytes(b)
	if e.BitLen() > 31 || e.Int64() < 3 || e.Bit(0) == 0 {
		return 0, errorf(ErrInvalidKey, "RSA public exponent must be odd and between 3 and 2^31-1")
	}
	return int(e.Int64()), nil
}

func rsaPrivateFromJWK(pub *rsa.PublicKey, j JWK) (*rsa.PrivateKey, error) {
	if len(j.D) > maxRSABytes+1 || len(j.P) > maxRSABytes || len(j.Q) > maxRSABytes {
		return nil, errorf(ErrInvalidKey, "RSA private parameters are too long")
	}
	d := new(big.Int).SetBytes(j.D)
	p, q, err := rsaPrimes(pub, d, j)
	if err != nil {
		return nil, err
	}
	priv := &rsa.PrivateKey{PublicKey: *pub, D: d, Primes: []*big.Int{p, q}}
	if err := priv.Validate(); err != nil {
		return nil, errorf(ErrInvalidKey, "RSA private key is inconsistent")
	}
	priv.Precompute()
	if err := checkCRT(priv, j); err != nil {
		return nil, err
	}
	return priv, nil
}

// rsaPrimes returns p and q from the JWK, or recovers them from n, e, d.
// Recovered primes are ordered to match dp (or qi) when those are given.
func rsaPrimes(pub *rsa.PublicKey, d *big.Int, j JWK) (p, q *big.Int, err error) {
	switch {
	case len(j.P) > 0 && len(j.Q) > 0:
		return new(big.Int).SetBytes(j.P), new(big.Int).SetBytes(j.Q), nil
	case len(j.P) > 0 || len(j.Q) > 0:
		return nil, nil, errorf(ErrInvalidKey, "RSA JWK has only one of p and q")
	}
	p, q, ok := recoverPrimes(pub.N, pub.E, d)
	if !ok {
		return nil, nil, errorf(ErrInvalidKey, "RSA primes cannot be recovered from n, e and d")
	}
	if len(j.DP) > 0 && !equalsBig(j.DP, crtExp(d, p)) ||
		len(j.DP) == 0 && len(j.QI) > 0 && !equalsBig(j.QI, new(big.Int).ModInverse(q, p)) {
		p, q = q, p
	}
	return p, q, nil
}

func crtExp(d, prime *big.Int) *big.Int {
	return new(big.Int).Mod(d, new(big.Int).Sub(prime, big.NewInt(1)))
}

// checkCRT compares the optional dp, dq, qi with the precomputed values.
func checkCRT(priv *rsa.PrivateKey, j JWK) error {
	pre := priv.Precomputed
	for _, c := range []struct {
		given Base64URL
		want  *big.Int
	}{{j.DP, pre.Dp}, {j.DQ, pre.Dq}, {j.QI, pre.Qinv}} {
		if len(c.given) > 0 && !equalsBig(c.given, c.want) {
			return errorf(ErrInvalidKey, "RSA CRT parameters dp, dq, qi do not match the key")
		}
	}
	return nil
}

func equalsBig(b []byte, v *big.Int) bool {
	return v != nil && new(big.Int).SetBytes(b).Cmp(v) == 0
}

// recoverPrimes factors n given e and d (NIST SP 800-56B Rev. 2, Appendix
// C.2): write k = d·e − 1 = 2^t·r with r odd. For a valid key g^k ≡ 1
// (mod n) for every g coprime to n, so squaring g^r at most t times
// reaches 1; the element before the first 1, when it is not −1, is a
// square root of 1 that shares a factor with n. Each base succeeds with
// probability at least 1/2. A base whose chain never reaches ±1 proves the
// key invalid, which bounds the work for bad input to t squarings.
func recoverPrimes(n *big.Int, e int, d *big.Int) (p, q *big.Int, ok bool) {
	one := big.NewInt(1)
	k := new(big.Int).Mul(d, big.NewInt(int64(e)))
	k.Sub(k, one)
	if k.Sign() <= 0 || k.Bit(0) == 1 {
		return nil, nil, false
	}
	t := k.TrailingZeroBits()
	r := new(big.Int).Rsh(k, t)
	nMinus1 := new(big.Int).Sub(n, one)
	for g := int64(2); g < 100; g++ {
		y := new(big.Int).Exp(big.NewInt(g), r, n)
		for i := uint(0); i < t && y.Cmp(one) != 0 && y.Cmp(nMinus1) != 0; i++ {
			x := new(big.Int).Mul(y, y)
			x.Mod(x, n)
			if x.Cmp(one) == 0 {
				return splitModulus(n, y)
			}
			y = x
		}
		if y.Cmp(one) != 0 && y.Cmp(nMinus1) != 0 {
			return nil, nil, false // g^k ≠ 1: d does not belong to (n, e)
		}
	}
	return nil, nil, false
}

// splitModulus returns gcd(y−1, n) and its cofactor.
func splitModulus(n, y *big.Int) (p, q *big.Int, ok bool) {
	one := big.NewInt(1)
	p = new(big.Int).GCD(nil, nil, new(big.Int).Sub(y, one), n)
	q, rem := new(big.Int).QuoRem(n, p, new(big.Int))
	ok = rem.Sign() == 0 && p.Cmp(one) > 0 && q.Cmp(one) > 0
	return p, q, ok
}
