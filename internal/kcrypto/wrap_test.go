package kcrypto_test

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"testing"

	"github.com/keyhaven/keyhaven/internal/kcrypto"
)

// RFC 3394 §4.1–4.6.
var kwVectors = []struct{ name, kek, data, wrapped string }{
	{"4.1 128-bit data, 128-bit KEK", "000102030405060708090A0B0C0D0E0F",
		"00112233445566778899AABBCCDDEEFF",
		"1FA68B0A8112B447 AEF34BD8FB5A7B82 9D3E862371D2CFE5"},
	{"4.2 128-bit data, 192-bit KEK", "000102030405060708090A0B0C0D0E0F1011121314151617",
		"00112233445566778899AABBCCDDEEFF",
		"96778B25AE6CA435 F92B5B97C050AED2 468AB8A17AD84E5D"},
	{"4.3 128-bit data, 256-bit KEK", "000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F",
		"00112233445566778899AABBCCDDEEFF",
		"64E8C3F9CE0F5BA2 63E9777905818A2A 93C8191E7D6E8AE7"},
	{"4.4 192-bit data, 192-bit KEK", "000102030405060708090A0B0C0D0E0F1011121314151617",
		"00112233445566778899AABBCCDDEEFF0001020304050607",
		"031D33264E15D332 68F24EC260743EDC E1C6C7DDEE725A93 6BA814915C6762D2"},
	{"4.5 192-bit data, 256-bit KEK", "000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F",
		"00112233445566778899AABBCCDDEEFF0001020304050607",
		"A8F9BC1612C68B3F F6E6F4FBE30E71E4 769C8B80A32CB895 8CD5D17D6B254DA1"},
	{"4.6 256-bit data, 256-bit KEK", "000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F",
		"00112233445566778899AABBCCDDEEFF000102030405060708090A0B0C0D0E0F",
		"28C9F404C4B810F4 CBCCB35CFB87F826 3F5786E2D80ED326 CBC7F0E71A99F43B FB988B9B7A02DD21"},
}

func kwAlg(kek []byte) string { return fmt.Sprintf("A%dKW", 8*len(kek)) }

func TestKeyWrapRFC3394(t *testing.T) {
	for _, v := range kwVectors {
		kek := unhex(t, v.kek)
		key := octFromHex(t, v.kek)
		for _, alg := range []string{kwAlg(kek), "CKM_AES_KEY_WRAP"} {
			got, err := key.WrapKey(alg, unhex(t, v.data))
			if err != nil || !bytes.Equal(got, unhex(t, v.wrapped)) {
				t.Errorf("%s %s: wrap = %x, %v", v.name, alg, got, err)
			}
			plain, err := key.UnwrapKey(alg, unhex(t, v.wrapped))
			if err != nil || !bytes.Equal(plain, unhex(t, v.data)) {
				t.Errorf("%s %s: unwrap: %v", v.name, alg, err)
			}
		}
	}
}

// RFC 5649 §6: 192-bit KEK, 20-byte and 7-byte keys.
var kwpVectors = []struct{ name, data, wrapped string }{
	{"20 octets", "c37b7e6492584340 bed1220780894115 5068f738",
		"138bdeaa9b8fa7fc 61f97742e72248ee 5ae6ae5360d1ae6a 5f54f373fa543b6a"},
	{"7 octets", "466f7250617369", "afbeb0f07dfbf541 9200f2ccb50bb24f"},
}

const kwpKEK = "5840df6e29b02af1 ab493b705bf16ea1 ae8338f4dcc176a8"

func TestKeyWrapPadRFC5649(t *testing.T) {
	key := octFromHex(t, kwpKEK)
	for _, v := range kwpVectors {
		got, err := key.WrapKey("CKM_AES_KEY_WRAP_PAD", unhex(t, v.data))
		if err != nil || !bytes.Equal(got, unhex(t, v.wrapped)) {
			t.Errorf("%s: wrap = %x, %v", v.name, got, err)
		}
		plain, err := key.UnwrapKey("CKM_AES_KEY_WRAP_PAD", unhex(t, v.wrapped))
		if err != nil || !bytes.Equal(plain, unhex(t, v.data)) {
			t.Errorf("%s: unwrap: %v", v.name, err)
		}
	}
}

// TestKeyWrapOpenSSL compares random wraps with openssl's id-aesNNN-wrap
// and id-aesNNN-wrap-pad ciphers.
func TestKeyWrapOpenSSL(t *testing.T) {
	dir := t.TempDir()
	for _, bits := range []int{128, 192, 256} {
		key := octKey(t, bits)
		kek := kwKEK(t, key)
		for _, n := range []int{1, 7, 8, 9, 16, 24, 31, 40, 64} {
			in := make([]byte, n)
			rand.Read(in)
			writeFile(t, dir, "in.bin", in)
			alg, cipher, iv := "CKM_AES_KEY_WRAP_PAD", fmt.Sprintf("-id-aes%d-wrap-pad", bits), "A65959A6"
			if n%8 == 0 && n >= 16 {
				alg, cipher, iv = "CKM_AES_KEY_WRAP", fmt.Sprintf("-id-aes%d-wrap", bits), "A6A6A6A6A6A6A6A6"
			}
			mustOpenSSL(t, dir, "enc", cipher, "-K", hex.EncodeToString(kek), "-iv", iv, "-in", "in.bin", "-out", "out.bin")
			got, err := key.WrapKey(alg, in)
			if err != nil || !bytes.Equal(got, readFile(t, dir, "out.bin")) {
				t.Errorf("%d-bit KEK, %d bytes, %s: differs from openssl: %v", bits, n, alg, err)
			}
		}
	}
}

// kwKEK returns the AES key bytes of an oct test key, to hand to openssl.
// Key exposes no accessor, so this reads the storage encoding.
func kwKEK(t testing.TB, key *kcrypto.Key) []byte {
	t.Helper()
	b, err := key.MarshalPrivate()
	if err != nil {
		t.Fatal(err)
	}
	return b[2:] // version, kind, key bytes (storage format v1)
}

func TestKeyWrapTamper(t *testing.T) {
	key := octKey(t, 256)
	other := octFromHex(t, "000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F")
	secret := fill(32, 7)
	for _, alg := range []string{"A256KW", "CKM_AES_KEY_WRAP", "CKM_AES_KEY_WRAP_PAD"} {
		wrapped, err := key.WrapKey(alg, secret)
		if err != nil {
			t.Fatal(err)
		}
		for i := range wrapped {
			c := append([]byte(nil), wrapped...)
			c[i] ^= 1
			if _, err := key.UnwrapKey(alg, c); err != kcrypto.ErrDecryption {
				t.Fatalf("%s with byte %d altered: err = %v, want bare ErrDecryption", alg, i, err)
			}
		}
		for name, c := range map[string][]byte{
			"truncated": wrapped[:len(wrapped)-8],
			"odd size":  wrapped[:len(wrapped)-1],
			"extended":  append(append([]byte(nil), wrapped...), make([]byte, 8)...),
			"empty":     nil,
		} {
			if _, err := key.UnwrapKey(alg, c); err != kcrypto.ErrDecryption {
				t.Errorf("%s %s: err = %v", alg, name, err)
			}
		}
		if _, err := other.UnwrapKey(alg, wrapped); err != kcrypto.ErrDecryption {
			t.Errorf("%s under another key: err = %v", alg, err)
		}
	}
}

// TestKeyWrapPadNeighbours: RFC 5649 output must not unwrap as RFC 3394 and
// vice versa (different initial values).
func TestKeyWrapPadNeighbours(t *testing.T) {
	key := octKey(t, 128)
	w, _ := key.WrapKey("CKM_AES_KEY_WRAP_PAD", fill(16, 1))
	if _, err := key.UnwrapKey("A128KW", w); err != kcrypto.ErrDecryption {
		t.Errorf("KWP output unwrapped as KW: %v", err)
	}
	w, _ = key.WrapKey("A128KW", fill(16, 1))
	if _, err := key.UnwrapKey("CKM_AES_KEY_WRAP_PAD", w); err != kcrypto.ErrDecryption {
		t.Errorf("KW output unwrapped as KWP: %v", err)
	}
}

func TestKeyWrapInputRules(t *testing.T) {
	key := octKey(t, 128)
	for _, n := range []int{0, 8, 15, 17, 23} {
		if _, err := key.WrapKey("A128KW", make([]byte, n)); !errors.Is(err, kcrypto.ErrInvalidInput) {
			t.Errorf("A128KW with %d bytes: err = %v", n, err)
		}
	}
	if _, err := key.WrapKey("CKM_AES_KEY_WRAP_PAD", nil); !errors.Is(err, kcrypto.ErrInvalidInput) {
		t.Errorf("KWP with 0 bytes: err = %v", err)
	}
	for n := 1; n <= 40; n++ {
		in := fill(n, byte(n))
		w, err := key.WrapKey("CKM_AES_KEY_WRAP_PAD", in)
		if err != nil || len(w) != 8+(n+7)/8*8 {
			t.Fatalf("KWP %d bytes: %d-byte output, %v", n, len(w), err)
		}
		if got, err := key.UnwrapKey("CKM_AES_KEY_WRAP_PAD", w); err != nil || !bytes.Equal(got, in) {
			t.Fatalf("KWP %d bytes: round trip: %v", n, err)
		}
	}
	if _, err := key.WrapKey("A256KW", make([]byte, 16)); !errors.Is(err, kcrypto.ErrAlgorithmKeyMismatch) {
		t.Errorf("A256KW with a 128-bit key: err = %v", err)
	}
	if _, err := key.WrapKey("A128GCM", make([]byte, 16)); !errors.Is(err, kcrypto.ErrUnsupportedAlgorithm) {
		t.Errorf("A128GCM as a wrap algorithm: err = %v", err)
	}
	if _, err := rsaKey(t).WrapKey("A128KW", make([]byte, 16)); !errors.Is(err, kcrypto.ErrAlgorithmKeyMismatch) {
		t.Errorf("A128KW with RSA: err = %v", err)
	}
}
