package kcrypto

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"encoding/hex"
	"math/big"
	"testing"
)

// RFC 4231 test cases 1, 2 and 4. Their keys (20, 4 and 25 bytes) are not
// valid oct key sizes, so the MAC function is tested directly.
func TestHMACRFC4231(t *testing.T) {
	h := func(s string) []byte { b, _ := hex.DecodeString(s); return b }
	vectors := []struct {
		name             string
		key, data        []byte
		s256, s384, s512 string
	}{
		{"case 1", bytes.Repeat([]byte{0x0b}, 20), []byte("Hi There"),
			"b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7",
			"afd03944d84895626b0825f4ab46907f15f9dadbe4101ec682aa034c7cebc59cfaea9ea9076ede7f4af152e8b2fa9cb6",
			"87aa7cdea5ef619d4ff0b4241a1d6cb02379f4e2ce4ec2787ad0b30545e17cdedaa833b7d6b8a702038b274eaea3f4e4be9d914eeb61f1702e696c203a126854"},
		{"case 2", []byte("Jefe"), []byte("what do ya want for nothing?"),
			"5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
			"af45d2e376484031617f78d2b58a6b1b9c7ef464f5a01b47e42ec3736322445e8e2240ca5e69e2c78b3239ecfab21649",
			"164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea2505549758bf75c05a994a6d034f65f8f0e6fdcaeab1a34d4a6b4b636e070a38bce737"},
		{"case 4", h("0102030405060708090a0b0c0d0e0f10111213141516171819"), bytes.Repeat([]byte{0xcd}, 50),
			"82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b",
			"3e8a69b7783c25851933ab6290af6ca77a9981480850009cc5577c6e1f573b4e6801dd23c4a7d679ccf8a386c674cffb",
			"b0ba465637458c6990e5a8c5f61d4af7e576d97ff94b872de76f8050361ee3dba91ca5c11aa25eb4d679275cc5788063a5f19741120c4f2de2adebeb10a298dd"},
	}
	for _, v := range vectors {
		for hash, want := range map[crypto.Hash]string{crypto.SHA256: v.s256, crypto.SHA384: v.s384, crypto.SHA512: v.s512} {
			if got := hex.EncodeToString(hmacSum(hash, v.key, v.data)); got != want {
				t.Errorf("%s %v: got %s", v.name, hash, got)
			}
		}
	}
}

// TestUnpadPKCS7 checks every final byte value against a plain reference.
func TestUnpadPKCS7(t *testing.T) {
	for n := 0; n < 256; n++ {
		for _, fillByte := range []byte{byte(n), 0xAA} {
			block := bytes.Repeat([]byte{fillByte}, 16)
			block[15] = byte(n)
			wantOK := n >= 1 && n <= 16 && bytes.Equal(block[16-n:], bytes.Repeat([]byte{byte(n)}, n))
			got, ok := unpadPKCS7(append([]byte(nil), block...))
			if ok != wantOK || ok && len(got) != 16-n {
				t.Fatalf("last byte %d, fill %#x: ok = %v, len %d", n, fillByte, ok, len(got))
			}
		}
	}
}

// TestKWPCheck covers the RFC 5649 length bounds directly.
func TestKWPCheck(t *testing.T) {
	aiv := [8]byte{0xA6, 0x59, 0x59, 0xA6}
	p := make([]byte, 16) // n = 2: valid MLI is 9..16
	for mli := uint32(0); mli < 40; mli++ {
		want := mli >= 9 && mli <= 16
		if got := kwpCheck(aiv, mli, p) == 1; got != want {
			t.Errorf("mli %d: %v, want %v", mli, got, want)
		}
	}
	if kwpCheck(aiv, 1<<31, p) != 0 || kwpCheck(aiv, 1<<32-1, p) != 0 {
		t.Error("huge MLI accepted")
	}
	p[15] = 1
	if kwpCheck(aiv, 15, p) != 0 || kwpCheck(aiv, 16, p) != 1 {
		t.Error("non-zero padding byte handling")
	}
	aiv[0] = 0
	if kwpCheck(aiv, 16, p) != 0 {
		t.Error("wrong prefix accepted")
	}
}

func TestRecoverPrimes(t *testing.T) {
	priv, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	p, q, ok := recoverPrimes(priv.N, priv.E, priv.D)
	if !ok || new(big.Int).Mul(p, q).Cmp(priv.N) != 0 {
		t.Fatal("primes not recovered")
	}
	if !(p.Cmp(priv.Primes[0]) == 0 || p.Cmp(priv.Primes[1]) == 0) {
		t.Fatal("recovered a factorization other than p, q")
	}
	bad := new(big.Int).Add(priv.D, big.NewInt(2))
	if _, _, ok := recoverPrimes(priv.N, priv.E, bad); ok {
		t.Fatal("wrong d accepted")
	}
	// d = (5·2^4000 + 1)/3, so d·e − 1 = 5·2^4000: the worst case for the
	// squaring loop. It must end (after one base) and fail.
	d := new(big.Int).Lsh(big.NewInt(5), 4000)
	d.Add(d, big.NewInt(1)).Div(d, big.NewInt(3))
	if _, _, ok := recoverPrimes(priv.N, 3, d); ok {
		t.Fatal("nonsense d accepted")
	}
}
