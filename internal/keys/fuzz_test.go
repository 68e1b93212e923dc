package keys

import (
	"context"
	"testing"
	"time"

	"github.com/keyhaven/keyhaven/internal/barrier"
	"github.com/keyhaven/keyhaven/internal/kverr"
	"github.com/keyhaven/keyhaven/internal/storage/memory"
	"github.com/keyhaven/keyhaven/internal/vaults"
)

func fuzzService(f *testing.F) (*Service, *vaults.Vault) {
	f.Helper()
	ctx := context.Background()
	b := barrier.New(memory.New())
	if err := b.Initialize(ctx, barrier.NewDevSeal()); err != nil {
		f.Fatal(err)
	}
	v, err := vaults.New(b, time.Now).Create(ctx, vaults.Spec{Name: "fuzz"})
	if err != nil {
		f.Fatal(err)
	}
	s := New(b, time.Now)
	size := 2048
	for _, p := range []struct {
		name string
		p    CreateParams
	}{{"rsa", CreateParams{Kty: "RSA", KeySize: &size}}, {"ec", CreateParams{Kty: "EC", Curve: "P-256"}}, {"oct", CreateParams{Kty: "oct"}}} {
		if _, err := s.Create(ctx, v, p.name, p.p); err != nil {
			f.Fatal(err)
		}
	}
	return s, v
}

// Arbitrary operation bodies never panic and fail only with the caller's
// errors (400 or 403), never an internal error.
func FuzzKeyOperation(f *testing.F) {
	s, v := fuzzService(f)
	ops := []string{"encrypt", "decrypt", "sign", "verify", "wrapKey", "unwrapKey"}
	keys := []string{"rsa", "ec", "oct"}
	f.Add(uint8(0), uint8(0), "RSA-OAEP", []byte("hello"), []byte{}, []byte{}, []byte{})
	f.Add(uint8(2), uint8(0), "RS256", make([]byte, 32), []byte{}, []byte{}, []byte{})
	f.Add(uint8(2), uint8(1), "ES256", make([]byte, 31), []byte{}, []byte{}, []byte{})
	f.Add(uint8(1), uint8(2), "A256GCM", []byte("ct"), make([]byte, 12), []byte("aad"), make([]byte, 16))
	f.Add(uint8(5), uint8(2), "A256KW", make([]byte, 40), []byte{}, []byte{}, []byte{})
	f.Add(uint8(1), uint8(2), "A256CBCPAD", make([]byte, 32), make([]byte, 16), []byte{}, []byte{})
	f.Fuzz(func(t *testing.T, op, key uint8, alg string, value, iv, aad, tag []byte) {
		p := OpParams{Alg: alg, Value: value, IV: iv, AAD: aad, Tag: tag, Digest: value}
		_, err := s.Do(context.Background(), v, keys[int(key)%len(keys)], "", ops[int(op)%len(ops)], p)
		if err == nil {
			return
		}
		if e := kverr.As(err); e == nil || (e.Kind != kverr.BadParameter && e.Kind != kverr.Forbidden) {
			t.Fatalf("%s %s: unexpected error %v", ops[int(op)%len(ops)], alg, err)
		}
	})
}

// Arbitrary JWKs never panic the import and fail only as bad input.
func FuzzImportJWK(f *testing.F) {
	s, v := fuzzService(f)
	f.Add([]byte(`{"kty":"EC","crv":"P-256","x":"AA","y":"AA","d":"AA"}`))
	f.Add([]byte(`{"kty":"RSA","n":"AQAB","e":"AQAB","d":"AQAB"}`))
	f.Add([]byte(`{"kty":"oct","k":"AAAAAAAAAAAAAAAAAAAAAA"}`))
	f.Add([]byte(`{"kty":"RSA-HSM"}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, jwk []byte) {
		_, err := s.Import(context.Background(), v, "fuzzed", ImportParams{JWK: jwk})
		if err == nil {
			return
		}
		if e := kverr.As(err); e == nil || e.Kind != kverr.BadParameter {
			t.Fatalf("unexpected error %v", err)
		}
	})
}
