package kcrypto_test

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"errors"
	"fmt"
	"hash"
	"testing"

	"github.com/keyhaven/keyhaven/internal/kcrypto"
)

var rsaEncAlgs = []string{"RSA1_5", "RSA-OAEP", "RSA-OAEP-256"}

// stdlibEncrypt encrypts with crypto/rsa as a client would, from the
// public key alone.
func stdlibEncrypt(t testing.TB, alg string, pub *rsa.PublicKey, msg []byte) []byte {
	t.Helper()
	var ct []byte
	var err error
	switch alg {
	case "RSA1_5":
		ct, err = rsa.EncryptPKCS1v15(rand.Reader, pub, msg)
	default:
		ct, err = rsa.EncryptOAEP(oaepHash(alg), rand.Reader, pub, msg, nil)
	}
	if err != nil {
		t.Fatal(err)
	}
	return ct
}

func stdlibDecrypt(t testing.TB, alg string, priv *rsa.PrivateKey, ct []byte) []byte {
	t.Helper()
	var pt []byte
	var err error
	switch alg {
	case "RSA1_5":
		pt, err = rsa.DecryptPKCS1v15(nil, priv, ct)
	default:
		pt, err = rsa.DecryptOAEP(oaepHash(alg), nil, priv, ct, nil)
	}
	if err != nil {
		t.Fatalf("%s: standard library cannot decrypt kcrypto output: %v", alg, err)
	}
	return pt
}

func oaepHash(alg string) hash.Hash {
	if alg == "RSA-OAEP" {
		return sha1.New()
	}
	return sha256.New()
}

func TestRSAEncryptDecryptStdlib(t *testing.T) {
	key := rsaKey(t)
	pub := publicFromJWK(t, key.PublicJWK()).(*rsa.PublicKey)
	priv, imported := importedRSA(t)
	msg := []byte("a 32-byte content-encryption key")
	for _, alg := range rsaEncAlgs {
		// client encrypts with the public JWK → kcrypto decrypts
		res, err := key.Decrypt(alg, kcrypto.Params{Value: stdlibEncrypt(t, alg, pub, msg)})
		if err != nil || !bytes.Equal(res.Value, msg) {
			t.Errorf("%s: Decrypt of crypto/rsa ciphertext = %v", alg, err)
		}
		unwrapped, err := key.UnwrapKey(alg, stdlibEncrypt(t, alg, pub, msg))
		if err != nil || !bytes.Equal(unwrapped, msg) {
			t.Errorf("%s: UnwrapKey of crypto/rsa ciphertext = %v", alg, err)
		}
		// kcrypto encrypts → crypto/rsa decrypts
		enc, err := imported.Encrypt(alg, kcrypto.Params{Value: msg})
		if err != nil {
			t.Fatal(err)
		}
		if got := stdlibDecrypt(t, alg, priv, enc.Value); !bytes.Equal(got, msg) {
			t.Errorf("%s: crypto/rsa decrypted the wrong plaintext", alg)
		}
		wrapped, err := imported.WrapKey(alg, msg)
		if err != nil {
			t.Fatal(err)
		}
		if got := stdlibDecrypt(t, alg, priv, wrapped); !bytes.Equal(got, msg) {
			t.Errorf("%s: crypto/rsa cannot unwrap WrapKey output", alg)
		}
	}
}

func TestRSAEncryptWithPublicOnlyKey(t *testing.T) {
	key := rsaKey(t)
	pub, err := kcrypto.KeyFromJWK(key.PublicJWK())
	if err != nil {
		t.Fatal(err)
	}
	for _, alg := range rsaEncAlgs {
		enc, err := pub.Encrypt(alg, kcrypto.Params{Value: []byte("x")})
		if err != nil {
			t.Fatal(err)
		}
		if res, err := key.Decrypt(alg, kcrypto.Params{Value: enc.Value}); err != nil || string(res.Value) != "x" {
			t.Errorf("%s: round trip through public-only key: %v", alg, err)
		}
	}
}

func TestRSAPlaintextLimits(t *testing.T) {
	key := rsaKey(t) // 2048 bits: k = 256
	for alg, max := range map[string]int{"RSA1_5": 256 - 11, "RSA-OAEP": 256 - 42, "RSA-OAEP-256": 256 - 66} {
		for _, n := range []int{0, 1, max} {
			enc, err := key.Encrypt(alg, kcrypto.Params{Value: make([]byte, n)})
			if err != nil {
				t.Errorf("%s with %d bytes: %v", alg, n, err)
				continue
			}
			if res, err := key.Decrypt(alg, kcrypto.Params{Value: enc.Value}); err != nil || len(res.Value) != n {
				t.Errorf("%s with %d bytes: round trip: %v", alg, n, err)
			}
		}
		_, err := key.Encrypt(alg, kcrypto.Params{Value: make([]byte, max+1)})
		var kerr *kcrypto.Error
		if !errors.Is(err, kcrypto.ErrInvalidInput) || !errors.As(err, &kerr) {
			t.Fatalf("%s with %d bytes: err = %v, want ErrInvalidInput", alg, max+1, err)
		}
		if want := fmt.Sprintf("%s plaintext is %d bytes; at most %d fit this 2048-bit key", alg, max+1, max); kerr.Msg != want {
			t.Errorf("message = %q, want %q", kerr.Msg, want)
		}
		if _, err := key.WrapKey(alg, make([]byte, max+1)); !errors.Is(err, kcrypto.ErrInvalidInput) {
			t.Errorf("%s WrapKey with %d bytes: err = %v", alg, max+1, err)
		}
	}
}

// TestRSADecryptOpenSSL: openssl pkeyutl encrypts with a PEM made from the
// public JWK; kcrypto decrypts.
func TestRSADecryptOpenSSL(t *testing.T) {
	key := rsaKey(t)
	dir := t.TempDir()
	writeFile(t, dir, "pub.pem", publicPEM(t, key.PublicJWK()))
	msg := []byte("openssl to keyhaven")
	writeFile(t, dir, "msg.bin", msg)
	for alg, opts := range opensslPadding {
		args := append([]string{"pkeyutl", "-encrypt", "-pubin", "-inkey", "pub.pem", "-in", "msg.bin", "-out", "ct.bin"}, prefixEach("-pkeyopt", opts)...)
		mustOpenSSL(t, dir, args...)
		res, err := key.Decrypt(alg, kcrypto.Params{Value: readFile(t, dir, "ct.bin")})
		if err != nil || !bytes.Equal(res.Value, msg) {
			t.Errorf("%s: Decrypt of openssl ciphertext: %v", alg, err)
		}
	}
}

var opensslPadding = map[string][]string{
	"RSA1_5":       {"rsa_padding_mode:pkcs1"},
	"RSA-OAEP":     {"rsa_padding_mode:oaep"}, // SHA-1 and MGF1-SHA-1 by default
	"RSA-OAEP-256": {"rsa_padding_mode:oaep", "rsa_oaep_md:sha256", "rsa_mgf1_md:sha256"},
}

func TestRSADecryptFailures(t *testing.T) {
	key := rsaKey(t)
	pub := publicFromJWK(t, key.PublicJWK()).(*rsa.PublicKey)
	oaep1 := stdlibEncrypt(t, "RSA-OAEP", pub, []byte("secret"))
	for _, alg := range rsaEncAlgs {
		for name, ct := range map[string][]byte{
			"random":    fill(256, 0x42),
			"short":     make([]byte, 10),
			"long":      make([]byte, 257),
			"empty":     nil,
			"truncated": oaep1[:255],
		} {
			if _, err := key.Decrypt(alg, kcrypto.Params{Value: ct}); err != kcrypto.ErrDecryption {
				t.Errorf("%s %s: err = %v, want bare ErrDecryption", alg, name, err)
			}
		}
	}
	if _, err := key.Decrypt("RSA-OAEP-256", kcrypto.Params{Value: oaep1}); err != kcrypto.ErrDecryption {
		t.Errorf("OAEP-SHA1 ciphertext under RSA-OAEP-256: err = %v", err)
	}
}

// McGrew & Viega, "The Galois/Counter Mode of Operation", test cases 4
// (AES-128), 10 (AES-192) and 16 (AES-256): 60-byte plaintext with AAD.
var gcmVectors = []struct{ alg, key, iv, aad, pt, ct, tag string }{
	{
		alg: "A128GCM", key: "feffe9928665731c6d6a8f9467308308",
		ct:  "42831ec2217774244b7221b784d0d49ce3aa212f2c02a4e035c17e2329aca12e21d514b25466931c7d8f6a5aac84aa051ba30b396a0aac973d58e091",
		tag: "5bc94fbc3221a5db94fae95ae7121a47",
	},
	{
		alg: "A192GCM", key: "feffe9928665731c6d6a8f9467308308feffe9928665731c",
		ct:  "3980ca0b3c00e841eb06fac4872a2757859e1ceaa6efd984628593b40ca1e19c7d773d00c144c525ac619d18c84a3f4718e2448b2fe324d9ccda2710",
		tag: "2519498e80f1478f37ba55bd6d27618c",
	},
	{
		alg: "A256GCM", key: "feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308",
		ct:  "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662",
		tag: "76fc6ece0f4e1768cddf8853bb2d551b",
	},
}

const (
	gcmIV  = "cafebabefacedbaddecaf888"
	gcmAAD = "feedfacedeadbeeffeedfacedeadbeefabaddad2"
	gcmPT  = "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a721c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39"
)

func octFromHex(t testing.TB, h string) *kcrypto.Key {
	t.Helper()
	key, err := kcrypto.KeyFromJWK(kcrypto.JWK{Kty: "oct", K: unhex(t, h)})
	if err != nil {
		t.Fatal(err)
	}
	return key
}

func TestGCMKnownAnswer(t *testing.T) {
	for _, v := range gcmVectors {
		key := octFromHex(t, v.key)
		in := kcrypto.Params{Value: unhex(t, gcmPT), IV: unhex(t, gcmIV), AAD: unhex(t, gcmAAD)}
		res, err := key.Encrypt(v.alg, in)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(res.Value, unhex(t, v.ct)) || !bytes.Equal(res.Tag, unhex(t, v.tag)) {
			t.Errorf("%s: ciphertext or tag differs from the vector", v.alg)
		}
		if !bytes.Equal(res.IV, in.IV) || !bytes.Equal(res.AAD, in.AAD) {
			t.Errorf("%s: result does not echo iv and aad", v.alg)
		}
		dec, err := key.Decrypt(v.alg, kcrypto.Params{Value: unhex(t, v.ct), IV: in.IV, AAD: in.AAD, Tag: unhex(t, v.tag)})
		if err != nil || !bytes.Equal(dec.Value, in.Value) {
			t.Errorf("%s: Decrypt of the vector: %v", v.alg, err)
		}
	}
}

func TestGCMGeneratedIV(t *testing.T) {
	key := octKey(t, 256)
	msg := []byte("hello")
	a, err := key.Encrypt("A256GCM", kcrypto.Params{Value: msg})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := key.Encrypt("A256GCM", kcrypto.Params{Value: msg})
	if len(a.IV) != 12 || len(a.Tag) != 16 || len(a.Value) != len(msg) {
		t.Fatalf("iv %d, tag %d, value %d bytes", len(a.IV), len(a.Tag), len(a.Value))
	}
	if bytes.Equal(a.IV, b.IV) || bytes.Equal(a.Value, b.Value) {
		t.Fatal("two encryptions reused an IV")
	}
	res, err := key.Decrypt("A256GCM", kcrypto.Params{Value: a.Value, IV: a.IV, Tag: a.Tag})
	if err != nil || !bytes.Equal(res.Value, msg) {
		t.Fatalf("round trip: %v", err)
	}
}

// TestGCMTamper: any change to ciphertext, tag, iv or aad fails with the
// bare ErrDecryption.
func TestGCMTamper(t *testing.T) {
	key := octKey(t, 128)
	aad := []byte("header")
	enc, err := key.Encrypt("A128GCM", kcrypto.Params{Value: []byte("attack at dawn"), AAD: aad})
	if err != nil {
		t.Fatal(err)
	}
	good := kcrypto.Params{Value: enc.Value, IV: enc.IV, AAD: aad, Tag: enc.Tag}
	flip := func(b []byte, i int) []byte {
		c := append([]byte(nil), b...)
		c[i] ^= 0x80
		return c
	}
	cases := map[string]kcrypto.Params{
		"ciphertext": {Value: flip(good.Value, 3), IV: good.IV, AAD: aad, Tag: good.Tag},
		"tag":        {Value: good.Value, IV: good.IV, AAD: aad, Tag: flip(good.Tag, 15)},
		"iv":         {Value: good.Value, IV: flip(good.IV, 0), AAD: aad, Tag: good.Tag},
		"aad":        {Value: good.Value, IV: good.IV, AAD: flip(aad, 1), Tag: good.Tag},
		"no aad":     {Value: good.Value, IV: good.IV, Tag: good.Tag},
		"truncated":  {Value: good.Value[:5], IV: good.IV, AAD: aad, Tag: good.Tag},
	}
	for name, p := range cases {
		if _, err := key.Decrypt("A128GCM", p); err != kcrypto.ErrDecryption {
			t.Errorf("%s changed: err = %v, want bare ErrDecryption", name, err)
		}
	}
	if _, err := octKey(t, 256).Decrypt("A128GCM", good); !errors.Is(err, kcrypto.ErrAlgorithmKeyMismatch) {
		t.Errorf("A128GCM with a 256-bit key: err = %v", err)
	}
	if _, err := key.Decrypt("A128GCM", good); err != nil {
		t.Errorf("untouched input fails: %v", err)
	}
}

// NIST SP 800-38A, F.2.1/F.2.2 (CBC-AES128), F.2.3/F.2.4 (CBC-AES192),
// F.2.5/F.2.6 (CBC-AES256). Four blocks, shared IV and plaintext.
var cbcVectors = []struct{ alg, key, ct string }{
	{"A128CBC", "2b7e151628aed2a6abf7158809cf4f3c",
		"7649abac8119b246cee98e9b12e9197d 5086cb9b507219ee95db113a917678b2 73bed6b8e3c1743b7116e69e22229516 3ff1caa1681fac09120eca307586e1a7"},
	{"A192CBC", "8e73b0f7da0e6452c810f32b809079e562f8ead2522c6b7b",
		"4f021db243bc633d7178183a9fa071e8 b4d9ada9ad7dedf4e5e738763f69145a 571b242012fb7ae07fa9baac3df102e0 08b0e27988598881d920a9e64f5615cd"},
	{"A256CBC", "603deb1015ca71be2b73aef0857d77811f352c073b6108d72d9810a30914dff4",
		"f58c4c04d6e5f1ba779eabfb5f7bfbd6 9cfc4e967edb808d679f777bc6702c7d 39f23369a9d9bacfa530e26304231461 b2eb05e2c39be9fcda6c19078c6a9d1b"},
}

const (
	cbcIV = "000102030405060708090a0b0c0d0e0f"
	cbcPT = "6bc1bee22e409f96e93d7e117393172a ae2d8a571e03ac9c9eb76fac45af8e51 30c81c46a35ce411e5fbc1191a0a52ef f69f2445df4f9b17ad2b417be66c3710"
)

func TestCBCKnownAnswer(t *testing.T) {
	for _, v := range cbcVectors {
		key := octFromHex(t, v.key)
		res, err := key.Encrypt(v.alg, kcrypto.Params{Value: unhex(t, cbcPT), IV: unhex(t, cbcIV)})
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(res.Value, unhex(t, v.ct)) || !bytes.Equal(res.IV, unhex(t, cbcIV)) {
			t.Errorf("%s encrypt differs from SP 800-38A", v.alg)
		}
		dec, err := key.Decrypt(v.alg, kcrypto.Params{Value: unhex(t, v.ct), IV: unhex(t, cbcIV)})
		if err != nil || !bytes.Equal(dec.Value, unhex(t, cbcPT)) {
			t.Errorf("%s decrypt differs from SP 800-38A: %v", v.alg, err)
		}
		// CBCPAD of the same data is the vector plus one block of padding.
		pad, err := key.Encrypt(v.alg+"PAD", kcrypto.Params{Value: unhex(t, cbcPT), IV: unhex(t, cbcIV)})
		if err != nil || len(pad.Value) != 80 || !bytes.Equal(pad.Value[:64], unhex(t, v.ct)) {
			t.Errorf("%sPAD does not extend the vector: %v", v.alg, err)
		}
	}
}

func TestCBCLengthsAndIV(t *testing.T) {
	key := octKey(t, 192)
	if _, err := key.Encrypt("A192CBC", kcrypto.Params{Value: make([]byte, 17)}); !errors.Is(err, kcrypto.ErrInvalidInput) {
		t.Errorf("A192CBC with 17 bytes: err = %v", err)
	}
	if _, err := key.Decrypt("A192CBC", kcrypto.Params{Value: make([]byte, 16)}); !errors.Is(err, kcrypto.ErrInvalidInput) {
		t.Errorf("A192CBC decrypt without iv: err = %v", err)
	}
	for n := 0; n <= 33; n++ {
		msg := fill(n, byte(n))
		enc, err := key.Encrypt("A192CBCPAD", kcrypto.Params{Value: msg})
		if err != nil {
			t.Fatal(err)
		}
		if len(enc.IV) != 16 || len(enc.Value) != (n/16+1)*16 {
			t.Fatalf("%d bytes: iv %d, ciphertext %d", n, len(enc.IV), len(enc.Value))
		}
		dec, err := key.Decrypt("A192CBCPAD", kcrypto.Params{Value: enc.Value, IV: enc.IV})
		if err != nil || !bytes.Equal(dec.Value, msg) {
			t.Fatalf("%d bytes: round trip: %v", n, err)
		}
	}
}

// TestCBCPADNoOracle: every padding failure, and decryption under the
// wrong key, return the same bare ErrDecryption.
func TestCBCPADNoOracle(t *testing.T) {
	key, other := octKey(t, 256), octFromHex(t, "603deb1015ca71be2b73aef0857d77811f352c073b6108d72d9810a30914dff4")
	enc, err := key.Encrypt("A256CBCPAD", kcrypto.Params{Value: []byte("sixteen byte msg and more")})
	if err != nil {
		t.Fatal(err)
	}
	_, wrongKey := other.Decrypt("A256CBCPAD", kcrypto.Params{Value: enc.Value, IV: enc.IV})
	if wrongKey != kcrypto.ErrDecryption {
		t.Fatalf("wrong key: err = %v", wrongKey)
	}
	// Changing the last byte of the previous block changes the last
	// plaintext byte (the pad length) to every value in turn.
	failures := 0
	for b := 0; b < 256; b++ {
		ct := append([]byte(nil), enc.Value...)
		ct[len(ct)-17] ^= byte(b)
		_, err := key.Decrypt("A256CBCPAD", kcrypto.Params{Value: ct, IV: enc.IV})
		if err != nil {
			failures++
			if err != wrongKey || err.Error() != wrongKey.Error() {
				t.Fatalf("bad padding error %v differs from wrong-key error %v", err, wrongKey)
			}
		}
	}
	if failures < 250 {
		t.Fatalf("only %d of 256 altered paddings failed", failures)
	}
	for _, n := range []int{0, 15, 17} {
		if _, err := key.Decrypt("A256CBCPAD", kcrypto.Params{Value: make([]byte, n), IV: enc.IV}); err != wrongKey {
			t.Errorf("%d-byte ciphertext: err = %v", n, err)
		}
	}
}

func TestUnusedParamsRejected(t *testing.T) {
	rk, ok := rsaKey(t), octKey(t, 256)
	iv12, iv16 := make([]byte, 12), make([]byte, 16)
	cases := []struct {
		name string
		key  *kcrypto.Key
		alg  string
		p    kcrypto.Params
	}{
		{"iv for RSA", rk, "RSA-OAEP-256", kcrypto.Params{Value: []byte("x"), IV: iv16}},
		{"aad for RSA", rk, "RSA-OAEP-256", kcrypto.Params{Value: []byte("x"), AAD: []byte("a")}},
		{"aad for CBC", ok, "A256CBCPAD", kcrypto.Params{Value: []byte("x"), AAD: []byte("a")}},
		{"tag for GCM encrypt", ok, "A256GCM", kcrypto.Params{Value: []byte("x"), Tag: iv16}},
		{"16-byte GCM iv", ok, "A256GCM", kcrypto.Params{Value: []byte("x"), IV: iv16}},
		{"12-byte CBC iv", ok, "A256CBCPAD", kcrypto.Params{Value: []byte("x"), IV: iv12}},
	}
	for _, tc := range cases {
		if _, err := tc.key.Encrypt(tc.alg, tc.p); !errors.Is(err, kcrypto.ErrInvalidInput) {
			t.Errorf("%s: err = %v, want ErrInvalidInput", tc.name, err)
		}
	}
	if _, err := ok.Decrypt("A256GCM", kcrypto.Params{Value: []byte("x"), IV: iv12, Tag: iv12}); !errors.Is(err, kcrypto.ErrInvalidInput) {
		t.Errorf("12-byte GCM tag: err = %v", err)
	}
	if _, err := ok.Encrypt("A256KW", kcrypto.Params{Value: iv16}); !errors.Is(err, kcrypto.ErrUnsupportedAlgorithm) {
		t.Errorf("A256KW as an encryption algorithm: err = %v", err)
	}
	if _, err := ecKey(t, "P-256").Encrypt("RSA-OAEP", kcrypto.Params{Value: iv16}); !errors.Is(err, kcrypto.ErrAlgorithmKeyMismatch) {
		t.Errorf("RSA-OAEP with EC key: err = %v", err)
	}
}
