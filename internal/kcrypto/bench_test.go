package kcrypto_test

import (
	"crypto"
	"testing"

	"github.com/keyhaven/keyhaven/internal/kcrypto"
)

func BenchmarkSignRS256RSA2048(b *testing.B) {
	key := rsaKey(b)
	d := digest(crypto.SHA256, testMessage)
	for b.Loop() {
		if _, err := key.Sign("RS256", d); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkSignES256(b *testing.B) {
	key := ecKey(b, "P-256")
	d := digest(crypto.SHA256, testMessage)
	for b.Loop() {
		if _, err := key.Sign("ES256", d); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEncryptA256GCM1KiB(b *testing.B) {
	key := octKey(b, 256)
	p := kcrypto.Params{Value: make([]byte, 1024)}
	b.SetBytes(1024)
	for b.Loop() {
		if _, err := key.Encrypt("A256GCM", p); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkWrapA256KW(b *testing.B) {
	key := octKey(b, 256)
	cek := make([]byte, 32)
	for b.Loop() {
		if _, err := key.WrapKey("A256KW", cek); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkUnwrapA256KW(b *testing.B) {
	key := octKey(b, 256)
	wrapped, err := key.WrapKey("A256KW", make([]byte, 32))
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := key.UnwrapKey("A256KW", wrapped); err != nil {
			b.Fatal(err)
		}
	}
}
