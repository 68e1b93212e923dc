package kcrypto_test

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/rand"
	"encoding/json"
	"testing"

	"github.com/keyhaven/keyhaven/internal/kcrypto"
)

// FuzzParseJWK: arbitrary input never panics; anything accepted survives a
// public round trip and, when private, a storage round trip and a
// sign/verify. The seeds (run by plain "go test") cover every key type,
// public and private, and broken variants.
func FuzzParseJWK(f *testing.F) {
	priv, _ := importedRSA(f)
	full := rsaJWK(priv)
	ecPriv, err := ecdsa.GenerateKey(curveByName["P-256"], rand.Reader)
	if err != nil {
		f.Fatal(err)
	}
	seeds := []kcrypto.JWK{
		full,
		{Kty: "RSA", N: full.N, E: full.E, D: full.D},
		{Kty: "RSA", N: full.N, E: full.E},
		ecJWK(f, "P-256", ecPriv),
		ecKey(f, "P-521").PublicJWK(),
		ecKey(f, "P-256K").PublicJWK(),
		{Kty: "oct", K: bytes.Repeat([]byte{1}, 32)},
		{Kty: "oct-HSM", K: bytes.Repeat([]byte{1}, 16)},
		{Kty: "EC", Crv: "P-256K", X: []byte{1}, Y: []byte{2}, D: []byte{3}},
	}
	for _, s := range seeds {
		b, _ := json.Marshal(s)
		f.Add(b)
	}
	for _, s := range []string{"", "{}", "null", `{"kty":"RSA","n":"AQAB","e":"AQAB"}`, `{"kty":"oct","k":"=="}`, `{"kty":"EC","crv":"P-256","x":"","y":""}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		key, err := kcrypto.ParseJWK(data)
		if err != nil {
			return
		}
		pub, err := kcrypto.KeyFromJWK(key.PublicJWK())
		if key.Kty() != "oct" && (err != nil || !jwkEqual(pub.PublicJWK(), key.PublicJWK())) {
			t.Fatalf("accepted key does not survive PublicJWK → KeyFromJWK: %v", err)
		}
		if !key.HasPrivate() {
			return
		}
		stored, err := key.MarshalPrivate()
		if err != nil {
			t.Fatal(err)
		}
		back, err := kcrypto.UnmarshalPrivate(stored)
		if err != nil || !jwkEqual(back.PublicJWK(), key.PublicJWK()) {
			t.Fatalf("storage round trip: %v", err)
		}
		alg := key.Algorithms(kcrypto.OpSign)[0]
		d := make([]byte, hashFor(alg).Size())
		sig, err := back.Sign(alg, d)
		if err != nil {
			t.Fatal(err)
		}
		if ok, err := key.Verify(alg, d, sig); !ok || err != nil {
			t.Fatalf("%s signature of the stored copy does not verify", alg)
		}
	})
}

var fuzzKEKs = [][]byte{
	bytes.Repeat([]byte{0x11}, 16), bytes.Repeat([]byte{0x22}, 24), bytes.Repeat([]byte{0x33}, 32),
}

// FuzzUnwrap feeds arbitrary data to the three parsers of secret-dependent
// structure: RFC 3394 unwrap, RFC 5649 unwrap and CBC-PAD decrypt. They
// must never panic, must fail only with the bare ErrDecryption, and what
// they accept must re-encrypt to the same bytes.
func FuzzUnwrap(f *testing.F) {
	for i, kek := range fuzzKEKs {
		key, _ := kcrypto.KeyFromJWK(kcrypto.JWK{Kty: "oct", K: kek})
		for _, n := range []int{1, 8, 16, 20, 32} {
			w, _ := key.WrapKey("CKM_AES_KEY_WRAP_PAD", bytes.Repeat([]byte{7}, n))
			f.Add(uint8(i), w)
		}
		w, _ := key.WrapKey("CKM_AES_KEY_WRAP", bytes.Repeat([]byte{7}, 24))
		f.Add(uint8(i), w)
		iv := bytes.Repeat([]byte{9}, 16)
		res, _ := key.Encrypt(cbcPadAlg(kek), kcrypto.Params{Value: []byte("pad me"), IV: iv})
		f.Add(uint8(i), append(iv, res.Value...))
	}
	f.Add(uint8(0), []byte{})
	f.Add(uint8(1), make([]byte, 24))
	f.Add(uint8(2), make([]byte, 48))
	f.Fuzz(func(t *testing.T, sel uint8, data []byte) {
		kek := fuzzKEKs[int(sel)%len(fuzzKEKs)]
		key, err := kcrypto.KeyFromJWK(kcrypto.JWK{Kty: "oct", K: kek})
		if err != nil {
			t.Fatal(err)
		}
		for _, alg := range []string{"CKM_AES_KEY_WRAP", "CKM_AES_KEY_WRAP_PAD"} {
			plain, err := key.UnwrapKey(alg, data)
			if err != nil {
				if err != kcrypto.ErrDecryption {
					t.Fatalf("%s: err = %v, want bare ErrDecryption", alg, err)
				}
				continue
			}
			if again, err := key.WrapKey(alg, plain); err != nil || !bytes.Equal(again, data) {
				t.Fatalf("%s: accepted input does not rewrap to itself: %v", alg, err)
			}
		}
		fuzzCBCPad(t, key, cbcPadAlg(kek), data)
	})
}

func fuzzCBCPad(t *testing.T, key *kcrypto.Key, alg string, data []byte) {
	if len(data) < 16 {
		return
	}
	iv, ct := data[:16], data[16:]
	res, err := key.Decrypt(alg, kcrypto.Params{Value: ct, IV: iv})
	if err != nil {
		if err != kcrypto.ErrDecryption {
			t.Fatalf("%s: err = %v, want bare ErrDecryption", alg, err)
		}
		return
	}
	enc, err := key.Encrypt(alg, kcrypto.Params{Value: res.Value, IV: iv})
	if err != nil || !bytes.Equal(enc.Value, ct) {
		t.Fatalf("%s: accepted ciphertext does not re-encrypt to itself: %v", alg, err)
	}
}

func cbcPadAlg(kek []byte) string {
	return map[int]string{16: "A128CBCPAD", 24: "A192CBCPAD", 32: "A256CBCPAD"}[len(kek)]
}

// FuzzUnmarshalPrivate: stored bytes never panic the decoder, and accepted
// input re-encodes identically.
func FuzzUnmarshalPrivate(f *testing.F) {
	for _, k := range []*kcrypto.Key{ecKey(f, "P-256"), ecKey(f, "P-256K"), ecKey(f, "P-521"), octKey(f, 128), rsaKey(f)} {
		b, _ := k.MarshalPrivate()
		f.Add(b)
	}
	f.Add([]byte{1})
	f.Add([]byte{1, 1, 0x30, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		key, err := kcrypto.UnmarshalPrivate(data)
		if err != nil {
			return
		}
		again, err := key.MarshalPrivate()
		if err != nil {
			t.Fatal(err)
		}
		if data[1] != 1 && !bytes.Equal(again, data) { // RSA DER may be re-encoded
			t.Fatalf("re-encoding differs")
		}
	})
}
