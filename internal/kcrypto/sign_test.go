package kcrypto_test

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"math/big"
	"strings"
	"sync"
	"testing"

	"github.com/decred/dcrd/dcrec/secp256k1/v4"
	k1ecdsa "github.com/decred/dcrd/dcrec/secp256k1/v4/ecdsa"

	"github.com/keyhaven/keyhaven/internal/kcrypto"
)

type signCase struct {
	alg string
	key func(testing.TB) *kcrypto.Key
}

func signCases() []signCase {
	rsaCase := func(alg string) signCase { return signCase{alg, rsaKey} }
	ecCase := func(alg, crv string) signCase {
		return signCase{alg, func(t testing.TB) *kcrypto.Key { return ecKey(t, crv) }}
	}
	return []signCase{
		rsaCase("RS256"), rsaCase("RS384"), rsaCase("RS512"),
		rsaCase("PS256"), rsaCase("PS384"), rsaCase("PS512"),
		ecCase("ES256", "P-256"), ecCase("ES384", "P-384"), ecCase("ES512", "P-521"),
		ecCase("ES256K", "P-256K"),
	}
}

var testMessage = []byte("keyhaven signs digests, not messages")

// TestSignVerifyStdlib verifies every signature with the standard library
// using only the public JWK, and with a public-only kcrypto key.
func TestSignVerifyStdlib(t *testing.T) {
	for _, tc := range signCases() {
		t.Run(tc.alg, func(t *testing.T) {
			key := tc.key(t)
			d := digest(hashFor(tc.alg), testMessage)
			sig, err := key.Sign(tc.alg, d)
			if err != nil {
				t.Fatalf("Sign: %v", err)
			}
			jwk := key.PublicJWK()
			if !stdlibVerify(t, tc.alg, jwk, d, sig) {
				t.Fatalf("%s signature does not verify from the public JWK", tc.alg)
			}
			pub, err := kcrypto.KeyFromJWK(jwk)
			if err != nil {
				t.Fatalf("KeyFromJWK(public): %v", err)
			}
			if ok, err := pub.Verify(tc.alg, d, sig); !ok || err != nil {
				t.Fatalf("public-only Verify = %v, %v", ok, err)
			}
		})
	}
}

// stdlibVerify checks sig with crypto/rsa or crypto/ecdsa (decred for
// P-256K, which the standard library lacks). PSS is checked with salt
// length = hash length exactly.
func stdlibVerify(t testing.TB, alg string, jwk kcrypto.JWK, d, sig []byte) bool {
	t.Helper()
	h := hashFor(alg)
	switch alg[:2] {
	case "RS":
		if alg == "RSNULL" {
			h = 0
		}
		return rsa.VerifyPKCS1v15(publicFromJWK(t, jwk).(*rsa.PublicKey), h, d, sig) == nil
	case "PS":
		opts := &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash}
		return rsa.VerifyPSS(publicFromJWK(t, jwk).(*rsa.PublicKey), h, d, sig, opts) == nil
	}
	if len(sig) != 2*len(jwk.X) {
		t.Fatalf("%s signature is %d bytes; want r||s of %d", alg, len(sig), 2*len(jwk.X))
	}
	if alg == "ES256K" {
		return verifyK1(t, jwk, d, sig)
	}
	pub := publicFromJWK(t, jwk).(*ecdsa.PublicKey)
	r, s := new(big.Int).SetBytes(sig[:len(sig)/2]), new(big.Int).SetBytes(sig[len(sig)/2:])
	return ecdsa.Verify(pub, d, r, s) && ecdsa.VerifyASN1(pub, d, rawToDER(t, sig))
}

func verifyK1(t testing.TB, jwk kcrypto.JWK, d, sig []byte) bool {
	pub, err := secp256k1.ParsePubKey(append(append([]byte{4}, jwk.X...), jwk.Y...))
	if err != nil {
		t.Fatalf("P-256K JWK point: %v", err)
	}
	parsed, err := k1ecdsa.ParseDERSignature(rawToDER(t, sig))
	if err != nil {
		t.Fatalf("P-256K signature: %v", err)
	}
	return parsed.Verify(d, pub)
}

func TestRSNULL(t *testing.T) {
	key := rsaKey(t)
	data := []byte("raw input, no DigestInfo")
	sig, err := key.Sign("RSNULL", data)
	if err != nil {
		t.Fatal(err)
	}
	if !stdlibVerify(t, "RSNULL", key.PublicJWK(), data, sig) {
		t.Fatal("RSNULL signature does not verify with rsa.VerifyPKCS1v15(hash 0)")
	}
	if _, err := key.Sign("RSNULL", make([]byte, 256-10)); !errors.Is(err, kcrypto.ErrInvalidDigest) {
		t.Fatalf("RSNULL over k-10 bytes: err = %v, want ErrInvalidDigest", err)
	}
	if _, err := key.Sign("RSNULL", make([]byte, 256-11)); err != nil {
		t.Fatalf("RSNULL over k-11 bytes: %v", err)
	}
}

// TestSignVerifyOpenSSL checks each signature with the openssl command
// line, from a PEM made from the public JWK: "openssl dgst -verify" over
// the message and "openssl pkeyutl -verify" over the digest. A tampered
// message must fail, so the harness cannot pass vacuously.
func TestSignVerifyOpenSSL(t *testing.T) {
	for _, tc := range signCases() {
		t.Run(tc.alg, func(t *testing.T) {
			key := tc.key(t)
			h := hashFor(tc.alg)
			sig, err := key.Sign(tc.alg, digest(h, testMessage))
			if err != nil {
				t.Fatal(err)
			}
			if strings.HasPrefix(tc.alg, "ES") {
				sig = rawToDER(t, sig)
			}
			dir := t.TempDir()
			writeFile(t, dir, "pub.pem", publicPEM(t, key.PublicJWK()))
			writeFile(t, dir, "msg.bin", testMessage)
			writeFile(t, dir, "digest.bin", digest(h, testMessage))
			writeFile(t, dir, "bad.bin", append([]byte("X"), testMessage...))
			writeFile(t, dir, "sig.bin", sig)
			opts := opensslSigOpts(tc.alg)
			dgst := append([]string{"dgst", "-" + opensslMD(h), "-verify", "pub.pem", "-signature", "sig.bin"}, prefixEach("-sigopt", opts)...)
			out := mustOpenSSL(t, dir, append(dgst, "msg.bin")...)
			if !strings.Contains(out, "Verified OK") {
				t.Fatalf("openssl dgst: %s", out)
			}
			if out, ok := openssl(t, dir, append(dgst, "bad.bin")...); ok {
				t.Fatalf("openssl verified a tampered message: %s", out)
			}
			pk := []string{"pkeyutl", "-verify", "-pubin", "-inkey", "pub.pem", "-in", "digest.bin", "-sigfile", "sig.bin"}
			if !strings.HasPrefix(tc.alg, "ES") {
				opts = append(opts, "digest:"+opensslMD(h))
			}
			out = mustOpenSSL(t, dir, append(pk, prefixEach("-pkeyopt", opts)...)...)
			if !strings.Contains(out, "Signature Verified Successfully") {
				t.Fatalf("openssl pkeyutl: %s", out)
			}
		})
	}
}

func TestRSNULLOpenSSL(t *testing.T) {
	key := rsaKey(t)
	data := []byte("RSNULL raw input")
	sig, err := key.Sign("RSNULL", data)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	writeFile(t, dir, "pub.pem", publicPEM(t, key.PublicJWK()))
	writeFile(t, dir, "data.bin", data)
	writeFile(t, dir, "sig.bin", sig)
	out := mustOpenSSL(t, dir, "pkeyutl", "-verify", "-pubin", "-inkey", "pub.pem",
		"-in", "data.bin", "-sigfile", "sig.bin", "-pkeyopt", "rsa_padding_mode:pkcs1")
	if !strings.Contains(out, "Signature Verified Successfully") {
		t.Fatalf("openssl pkeyutl: %s", out)
	}
}

func opensslMD(h crypto.Hash) string {
	return map[crypto.Hash]string{crypto.SHA256: "sha256", crypto.SHA384: "sha384", crypto.SHA512: "sha512"}[h]
}

// opensslSigOpts requires PSS with salt length = digest length, so openssl
// also checks the salt length kcrypto uses.
func opensslSigOpts(alg string) []string {
	if strings.HasPrefix(alg, "PS") {
		return []string{"rsa_padding_mode:pss", "rsa_pss_saltlen:digest"}
	}
	return nil
}

func prefixEach(flag string, vals []string) []string {
	var out []string
	for _, v := range vals {
		out = append(out, flag, v)
	}
	return out
}

func TestSignDigestLength(t *testing.T) {
	for _, tc := range signCases() {
		key := tc.key(t)
		want := hashFor(tc.alg).Size()
		for _, n := range []int{0, want - 1, want + 1, 20} {
			_, err := key.Sign(tc.alg, make([]byte, n))
			if !errors.Is(err, kcrypto.ErrInvalidDigest) {
				t.Errorf("%s Sign with %d-byte digest: err = %v, want ErrInvalidDigest", tc.alg, n, err)
			}
			_, err = key.Verify(tc.alg, make([]byte, n), make([]byte, 64))
			if !errors.Is(err, kcrypto.ErrInvalidDigest) {
				t.Errorf("%s Verify with %d-byte digest: err = %v, want ErrInvalidDigest", tc.alg, n, err)
			}
		}
	}
}

func TestAlgorithmErrors(t *testing.T) {
	tests := []struct {
		name string
		key  *kcrypto.Key
		alg  string
		want error
	}{
		{"ES384 with P-256", ecKey(t, "P-256"), "ES384", kcrypto.ErrAlgorithmKeyMismatch},
		{"ES256 with P-256K", ecKey(t, "P-256K"), "ES256", kcrypto.ErrAlgorithmKeyMismatch},
		{"ES256K with P-256", ecKey(t, "P-256"), "ES256K", kcrypto.ErrAlgorithmKeyMismatch},
		{"RS256 with EC", ecKey(t, "P-256"), "RS256", kcrypto.ErrAlgorithmKeyMismatch},
		{"ES256 with RSA", rsaKey(t), "ES256", kcrypto.ErrAlgorithmKeyMismatch},
		{"HS256 with RSA", rsaKey(t), "HS256", kcrypto.ErrAlgorithmKeyMismatch},
		{"PS256 with oct", octKey(t, 256), "PS256", kcrypto.ErrAlgorithmKeyMismatch},
		{"unknown", rsaKey(t), "RS1", kcrypto.ErrUnsupportedAlgorithm},
		{"lower case", rsaKey(t), "rs256", kcrypto.ErrUnsupportedAlgorithm},
		{"encryption alg", rsaKey(t), "RSA-OAEP", kcrypto.ErrUnsupportedAlgorithm},
	}
	for _, tc := range tests {
		d := make([]byte, 32)
		if _, err := tc.key.Sign(tc.alg, d); !errors.Is(err, tc.want) {
			t.Errorf("%s: Sign err = %v, want %v", tc.name, err, tc.want)
		}
		if _, err := tc.key.Verify(tc.alg, d, d); !errors.Is(err, tc.want) {
			t.Errorf("%s: Verify err = %v, want %v", tc.name, err, tc.want)
		}
		if err := tc.key.CheckAlgorithm(kcrypto.OpSign, tc.alg); !errors.Is(err, tc.want) {
			t.Errorf("%s: CheckAlgorithm err = %v, want %v", tc.name, err, tc.want)
		}
	}
}

// TestVerifyWrongSignature: a bad signature is (false, nil), never an
// error.
func TestVerifyWrongSignature(t *testing.T) {
	cases := append(signCases(), signCase{"HS256", func(t testing.TB) *kcrypto.Key { return octKey(t, 256) }}, signCase{"RSNULL", rsaKey})
	for _, tc := range cases {
		key := tc.key(t)
		d := digest(hashFor(tc.alg), testMessage)
		sig, err := key.Sign(tc.alg, d)
		if err != nil {
			t.Fatal(err)
		}
		other := digest(hashFor(tc.alg), []byte("another message"))
		flipped := append([]byte(nil), sig...)
		flipped[len(flipped)/2] ^= 1
		for name, v := range map[string]struct{ d, sig []byte }{
			"flipped bit":     {d, flipped},
			"other digest":    {other, sig},
			"truncated":       {d, sig[:len(sig)-1]},
			"extended":        {d, append(append([]byte(nil), sig...), 0)},
			"empty signature": {d, nil},
			"all zero":        {d, make([]byte, len(sig))},
			"all ones":        {d, fill(len(sig), 0xFF)},
		} {
			ok, err := key.Verify(tc.alg, v.d, v.sig)
			if ok || err != nil {
				t.Errorf("%s %s: Verify = %v, %v; want false, nil", tc.alg, name, ok, err)
			}
		}
	}
}

func fill(n int, b byte) []byte {
	out := make([]byte, n)
	for i := range out {
		out[i] = b
	}
	return out
}

// TestPSSVerifySaltLengths documents what Verify accepts: PSS with MGF1 of
// the same hash and any salt length, including hash length.
func TestPSSVerifySaltLengths(t *testing.T) {
	priv, key := importedRSA(t)
	d := digest(crypto.SHA256, testMessage)
	for _, salt := range []int{rsa.PSSSaltLengthEqualsHash, rsa.PSSSaltLengthAuto, 0, 20, 64} {
		sig, err := rsa.SignPSS(rand.Reader, priv, crypto.SHA256, d, &rsa.PSSOptions{SaltLength: salt})
		if err != nil {
			t.Fatal(err)
		}
		if ok, err := key.Verify("PS256", d, sig); !ok || err != nil {
			t.Errorf("salt length %d: Verify = %v, %v", salt, ok, err)
		}
	}
}

// importedRSA returns a standard-library RSA key and the same key
// imported into kcrypto, for tests that need the private key outside.
var importedRSA = func() func(t testing.TB) (*rsa.PrivateKey, *kcrypto.Key) {
	var once sync.Once
	var priv *rsa.PrivateKey
	var key *kcrypto.Key
	var err error
	return func(t testing.TB) (*rsa.PrivateKey, *kcrypto.Key) {
		t.Helper()
		once.Do(func() {
			if priv, err = rsa.GenerateKey(rand.Reader, 2048); err == nil {
				key, err = kcrypto.KeyFromJWK(rsaJWK(priv))
			}
		})
		if err != nil {
			t.Fatal(err)
		}
		return priv, key
	}
}()

// TestECDSAHighS: verification accepts both s and N−s (OpenSSL and crypto/
// ecdsa may produce either); decred signs low-S.
func TestECDSAHighS(t *testing.T) {
	orders := map[string]*big.Int{
		"P-256":  bigHex("FFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551"),
		"P-256K": bigHex("FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141"),
	}
	for crv, n := range orders {
		alg := map[string]string{"P-256": "ES256", "P-256K": "ES256K"}[crv]
		key := ecKey(t, crv)
		d := digest(crypto.SHA256, testMessage)
		sig, err := key.Sign(alg, d)
		if err != nil {
			t.Fatal(err)
		}
		s := new(big.Int).SetBytes(sig[32:])
		other := append([]byte(nil), sig...)
		new(big.Int).Sub(n, s).FillBytes(other[32:])
		for _, v := range [][]byte{sig, other} {
			if ok, err := key.Verify(alg, d, v); !ok || err != nil {
				t.Errorf("%s: Verify(s or N-s) = %v, %v", crv, ok, err)
			}
		}
		for name, bad := range map[string]*big.Int{"s = N": n, "s = 0": new(big.Int)} {
			v := append([]byte(nil), sig...)
			bad.FillBytes(v[32:])
			if ok, err := key.Verify(alg, d, v); ok || err != nil {
				t.Errorf("%s: %s: Verify = %v, %v; want false, nil", crv, name, ok, err)
			}
		}
	}
}

func bigHex(s string) *big.Int {
	v, _ := new(big.Int).SetString(s, 16)
	return v
}

func TestHMACSignVerify(t *testing.T) {
	for _, bits := range []int{128, 192, 256} {
		key := octKey(t, bits)
		for _, alg := range []string{"HS256", "HS384", "HS512"} {
			data := []byte("data of any length")
			tag, err := key.Sign(alg, data)
			if err != nil {
				t.Fatal(err)
			}
			if len(tag) != hashFor(alg).Size() {
				t.Errorf("%s tag is %d bytes", alg, len(tag))
			}
			if ok, err := key.Verify(alg, data, tag); !ok || err != nil {
				t.Errorf("%s/%d: Verify = %v, %v", alg, bits, ok, err)
			}
			other := hmac.New(hashFor(alg).New, make([]byte, bits/8))
			other.Write(data)
			if ok, _ := key.Verify(alg, data, other.Sum(nil)); ok {
				t.Errorf("%s: tag under another key accepted", alg)
			}
		}
	}
}

// TestConcurrentUse runs every operation on shared keys from many
// goroutines; with -race it checks that Key is safe for concurrent use.
func TestConcurrentUse(t *testing.T) {
	rk, ek, hk := rsaKey(t), ecKey(t, "P-256K"), octKey(t, 256)
	d := digest(crypto.SHA256, testMessage)
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for _, k := range []struct {
				key *kcrypto.Key
				alg string
			}{{rk, "PS256"}, {ek, "ES256K"}, {hk, "HS256"}} {
				sig, err := k.key.Sign(k.alg, d)
				if err != nil {
					t.Error(err)
					return
				}
				if v, err := k.key.Verify(k.alg, d, sig); !v || err != nil {
					t.Errorf("%s: %v %v", k.alg, v, err)
				}
			}
			res, err := hk.Encrypt("A256GCM", kcrypto.Params{Value: d})
			if err == nil {
				_, err = hk.Decrypt("A256GCM", kcrypto.Params{Value: res.Value, IV: res.IV, Tag: res.Tag})
			}
			if err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
}

// TestOpenSSLChecksPSSSaltLength shows the openssl PSS options used above
// really pin the salt length: a valid PSS signature with a 0-byte salt is
// rejected, one with a 32-byte salt accepted.
func TestOpenSSLChecksPSSSaltLength(t *testing.T) {
	priv, key := importedRSA(t)
	d := digest(crypto.SHA256, testMessage)
	dir := t.TempDir()
	writeFile(t, dir, "pub.pem", publicPEM(t, key.PublicJWK()))
	writeFile(t, dir, "msg.bin", testMessage)
	args := append([]string{"dgst", "-sha256", "-verify", "pub.pem", "-signature", "sig.bin"}, prefixEach("-sigopt", opensslSigOpts("PS256"))...)
	for salt, want := range map[int]bool{0: false, 32: true} {
		sig, err := rsa.SignPSS(rand.Reader, priv, crypto.SHA256, d, &rsa.PSSOptions{SaltLength: salt})
		if err != nil {
			t.Fatal(err)
		}
		writeFile(t, dir, "sig.bin", sig)
		if out, ok := openssl(t, dir, append(args, "msg.bin")...); ok != want {
			t.Errorf("salt length %d: openssl verified = %v, want %v: %s", salt, ok, want, out)
		}
	}
}
