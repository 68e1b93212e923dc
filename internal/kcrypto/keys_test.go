package kcrypto_test

import (
	"crypto"
	"errors"
	"slices"
	"testing"

	"github.com/keyhaven/keyhaven/internal/kcrypto"
)

func TestGenerate(t *testing.T) {
	tests := []struct {
		kty, crv       string
		size, e        int
		wantKty        string
		wantSize       int
		wantCurve, alg string
	}{
		{kty: "RSA", wantKty: "RSA", wantSize: 2048, alg: "RS256"},
		{kty: "RSA-HSM", size: 3072, e: 65537, wantKty: "RSA", wantSize: 3072, alg: "PS512"},
		{kty: "RSA", size: 4096, wantKty: "RSA", wantSize: 4096, alg: "RS512"},
		{kty: "EC", wantKty: "EC", wantSize: 256, wantCurve: "P-256", alg: "ES256"},
		{kty: "EC-HSM", crv: "P-384", size: 384, wantKty: "EC", wantSize: 384, wantCurve: "P-384", alg: "ES384"},
		{kty: "EC", crv: "P-521", wantKty: "EC", wantSize: 521, wantCurve: "P-521", alg: "ES512"},
		{kty: "EC", crv: "P-256K", wantKty: "EC", wantSize: 256, wantCurve: "P-256K", alg: "ES256K"},
		{kty: "oct", wantKty: "oct", wantSize: 256, alg: "HS256"},
		{kty: "oct-HSM", size: 128, wantKty: "oct", wantSize: 128, alg: "HS512"},
		{kty: "oct", size: 192, wantKty: "oct", wantSize: 192, alg: "HS384"},
	}
	for _, tc := range tests {
		key, err := kcrypto.Generate(tc.kty, tc.size, tc.crv, tc.e)
		if err != nil {
			t.Fatalf("Generate(%s, %d, %s): %v", tc.kty, tc.size, tc.crv, err)
		}
		if key.Kty() != tc.wantKty || key.Size() != tc.wantSize || key.Curve() != tc.wantCurve {
			t.Errorf("Generate(%s, %d, %s) = %s/%d/%s", tc.kty, tc.size, tc.crv, key.Kty(), key.Size(), key.Curve())
		}
		d := digest(hashFor(tc.alg), testMessage)
		sig, err := key.Sign(tc.alg, d)
		if err != nil {
			t.Fatal(err)
		}
		if ok, err := key.Verify(tc.alg, d, sig); !ok || err != nil {
			t.Errorf("%s: %v %v", tc.alg, ok, err)
		}
		if tc.wantKty != "oct" && !stdlibVerify(t, tc.alg, key.PublicJWK(), d, sig) {
			t.Errorf("%s with %d-bit key does not verify from the JWK", tc.alg, tc.wantSize)
		}
	}
}

func TestGenerateRejects(t *testing.T) {
	tests := []struct {
		kty, crv string
		size, e  int
	}{
		{kty: "DSA"}, {kty: ""}, {kty: "rsa"},
		{kty: "RSA", size: 1024}, {kty: "RSA", size: 2047}, {kty: "RSA", e: 3}, {kty: "RSA", crv: "P-256"},
		{kty: "EC", crv: "P-224"}, {kty: "EC", crv: "secp256k1"}, {kty: "EC", crv: "P-256", size: 384}, {kty: "EC", e: 65537},
		{kty: "oct", size: 512}, {kty: "oct", size: 64}, {kty: "oct", crv: "P-256"},
	}
	for _, tc := range tests {
		if _, err := kcrypto.Generate(tc.kty, tc.size, tc.crv, tc.e); !errors.Is(err, kcrypto.ErrInvalidInput) {
			t.Errorf("Generate(%q, %d, %q, %d): err = %v, want ErrInvalidInput", tc.kty, tc.size, tc.crv, tc.e, err)
		}
	}
}

func TestAlgorithmsPerKey(t *testing.T) {
	rsaSign := []string{"PS256", "PS384", "PS512", "RS256", "RS384", "RS512", "RSNULL"}
	rsaEnc := []string{"RSA-OAEP", "RSA-OAEP-256", "RSA1_5"}
	tests := []struct {
		name           string
		key            *kcrypto.Key
		sign, enc, wrp []string
	}{
		{"RSA", rsaKey(t), rsaSign, rsaEnc, rsaEnc},
		{"P-256", ecKey(t, "P-256"), []string{"ES256"}, nil, nil},
		{"P-384", ecKey(t, "P-384"), []string{"ES384"}, nil, nil},
		{"P-521", ecKey(t, "P-521"), []string{"ES512"}, nil, nil},
		{"P-256K", ecKey(t, "P-256K"), []string{"ES256K"}, nil, nil},
		{"oct128", octKey(t, 128), []string{"HS256", "HS384", "HS512"},
			[]string{"A128CBC", "A128CBCPAD", "A128GCM"}, []string{"A128KW", "CKM_AES_KEY_WRAP", "CKM_AES_KEY_WRAP_PAD"}},
		{"oct256", octKey(t, 256), []string{"HS256", "HS384", "HS512"},
			[]string{"A256CBC", "A256CBCPAD", "A256GCM"}, []string{"A256KW", "CKM_AES_KEY_WRAP", "CKM_AES_KEY_WRAP_PAD"}},
	}
	for _, tc := range tests {
		for op, want := range map[string][]string{
			kcrypto.OpSign: tc.sign, kcrypto.OpVerify: tc.sign,
			kcrypto.OpEncrypt: tc.enc, kcrypto.OpDecrypt: tc.enc,
			kcrypto.OpWrapKey: tc.wrp, kcrypto.OpUnwrapKey: tc.wrp,
		} {
			got := tc.key.Algorithms(op)
			if !slices.Equal(got, want) {
				t.Errorf("%s %s: %v, want %v", tc.name, op, got, want)
			}
			for _, alg := range want {
				if err := tc.key.CheckAlgorithm(op, alg); err != nil {
					t.Errorf("%s %s %s: %v", tc.name, op, alg, err)
				}
			}
		}
	}
	if got := rsaKey(t).Algorithms("import"); got != nil {
		t.Errorf("Algorithms(import) = %v", got)
	}
}

func TestDefaultKeyOps(t *testing.T) {
	for kty, want := range map[string][]string{
		"RSA":     {"encrypt", "decrypt", "sign", "verify", "wrapKey", "unwrapKey"},
		"RSA-HSM": {"encrypt", "decrypt", "sign", "verify", "wrapKey", "unwrapKey"},
		"EC":      {"sign", "verify"},
		"oct-HSM": {"encrypt", "decrypt", "wrapKey", "unwrapKey"},
		"DSA":     nil,
	} {
		if got := kcrypto.DefaultKeyOps(kty); !slices.Equal(got, want) {
			t.Errorf("DefaultKeyOps(%s) = %v, want %v", kty, got, want)
		}
	}
	if got := kcrypto.KeyOpsFor("oct"); !slices.Contains(got, "sign") || len(got) != 6 {
		t.Errorf("KeyOpsFor(oct) = %v", got)
	}
}

func TestRandomBytes(t *testing.T) {
	for _, n := range []int{1, 32, 128} {
		b, err := kcrypto.RandomBytes(n)
		if err != nil || len(b) != n {
			t.Errorf("RandomBytes(%d) = %d bytes, %v", n, len(b), err)
		}
	}
	a, _ := kcrypto.RandomBytes(32)
	b, _ := kcrypto.RandomBytes(32)
	if string(a) == string(b) {
		t.Error("two 32-byte draws are equal")
	}
	for _, n := range []int{0, -1, 129} {
		if _, err := kcrypto.RandomBytes(n); !errors.Is(err, kcrypto.ErrInvalidInput) {
			t.Errorf("RandomBytes(%d): err = %v", n, err)
		}
	}
}

// TestErrorShape: detail errors are *Error with a client-safe Msg and a
// sentinel Kind.
func TestErrorShape(t *testing.T) {
	_, err := ecKey(t, "P-256").Sign("ES256", make([]byte, crypto.SHA384.Size()))
	var kerr *kcrypto.Error
	if !errors.As(err, &kerr) || kerr.Kind != kcrypto.ErrInvalidDigest {
		t.Fatalf("err = %#v", err)
	}
	if kerr.Msg != "ES256 needs a 32-byte digest; got 48 bytes" {
		t.Errorf("Msg = %q", kerr.Msg)
	}
	if err.Error() != "kcrypto: invalid digest: ES256 needs a 32-byte digest; got 48 bytes" {
		t.Errorf("Error() = %q", err.Error())
	}
}
