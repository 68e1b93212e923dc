package kcrypto_test

import (
	"bytes"
	"errors"
	"fmt"
	"testing"

	"github.com/keyhaven/keyhaven/internal/kcrypto"
)

func TestMarshalPrivateRoundTrip(t *testing.T) {
	keys := allKeys(t)
	for _, bits := range []int{128, 192, 256} {
		keys[fmt.Sprintf("oct%d", bits)] = octKey(t, bits)
	}
	for name, key := range keys {
		b, err := key.MarshalPrivate()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if b[0] != 1 {
			t.Errorf("%s: version byte %d", name, b[0])
		}
		back, err := kcrypto.UnmarshalPrivate(b)
		if err != nil {
			t.Fatalf("%s: UnmarshalPrivate: %v", name, err)
		}
		if !jwkEqual(back.PublicJWK(), key.PublicJWK()) || back.Size() != key.Size() || !back.HasPrivate() {
			t.Errorf("%s: key changed in storage round trip", name)
		}
		again, _ := back.MarshalPrivate()
		if !bytes.Equal(again, b) {
			t.Errorf("%s: encoding is not stable", name)
		}
		crossCheck(t, name, key, back)
	}
}

// crossCheck: what one copy produces, the other accepts.
func crossCheck(t *testing.T, name string, a, b *kcrypto.Key) {
	t.Helper()
	if a.Kty() == "oct" {
		w, err := a.WrapKey("CKM_AES_KEY_WRAP_PAD", []byte("k"))
		if err != nil {
			t.Fatal(err)
		}
		if got, err := b.UnwrapKey("CKM_AES_KEY_WRAP_PAD", w); err != nil || string(got) != "k" {
			t.Errorf("%s: stored copy cannot unwrap: %v", name, err)
		}
		return
	}
	alg := a.Algorithms(kcrypto.OpSign)[0]
	d := digest(hashFor(alg), testMessage)
	sig, err := b.Sign(alg, d)
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := a.Verify(alg, d, sig); !ok || err != nil {
		t.Errorf("%s: original rejects the stored copy's %s signature", name, alg)
	}
}

func TestUnmarshalPrivateRejects(t *testing.T) {
	rsaBytes, _ := rsaKey(t).MarshalPrivate()
	cases := map[string][]byte{
		"empty":           nil,
		"version 2":       {2, 6, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16},
		"unknown kind":    append([]byte{1, 9}, fill(32, 1)...),
		"truncated RSA":   rsaBytes[:100],
		"P-256 short":     append([]byte{1, 2}, fill(31, 1)...),
		"P-256 zero":      append([]byte{1, 2}, make([]byte, 32)...),
		"P-256 too large": append([]byte{1, 2}, fill(32, 0xFF)...),
		"P-256K zero":     append([]byte{1, 5}, make([]byte, 32)...),
		"P-521 short":     append([]byte{1, 4}, fill(65, 1)...),
		"oct 20 bytes":    append([]byte{1, 6}, fill(20, 1)...),
	}
	for name, b := range cases {
		if _, err := kcrypto.UnmarshalPrivate(b); !errors.Is(err, kcrypto.ErrInvalidKey) {
			t.Errorf("%s: err = %v, want ErrInvalidKey", name, err)
		}
	}
}
