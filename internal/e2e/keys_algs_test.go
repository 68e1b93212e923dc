package e2e

import (
	"context"
	"crypto"
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"math/big"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azkeys"

	"github.com/keyhaven/keyhaven/internal/testenv"
)

// Every signing and encryption algorithm through the official azkeys
// client, on keys imported from the standard library, so results are
// checked against the key the test holds.
func TestAzureSDKEveryAlgorithm(t *testing.T) {
	srv := testenv.StartDev(t)
	c := keysClient(t, srv)
	ctx := context.Background()

	rsaKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	rsaJWK := &azkeys.JSONWebKey{Kty: to.Ptr(azkeys.KeyTypeRSA), N: rsaKey.N.Bytes(), E: big.NewInt(int64(rsaKey.E)).Bytes(),
		D: rsaKey.D.Bytes(), P: rsaKey.Primes[0].Bytes(), Q: rsaKey.Primes[1].Bytes()}
	imported, err := c.ImportKey(ctx, "imp-rsa", azkeys.ImportKeyParameters{Key: rsaJWK}, nil)
	if err != nil {
		t.Fatalf("ImportKey RSA: %v", err)
	}
	if new(big.Int).SetBytes(imported.Key.N).Cmp(rsaKey.N) != 0 || imported.Key.D != nil {
		t.Fatal("imported RSA key: public part differs or private part returned")
	}
	for _, alg := range []azkeys.SignatureAlgorithm{"RS256", "RS384", "RS512", "PS256", "PS384", "PS512"} {
		digest := digestFor(string(alg))
		sig, err := c.Sign(ctx, "imp-rsa", "", azkeys.SignParameters{Algorithm: to.Ptr(alg), Value: digest}, nil)
		if err != nil {
			t.Fatalf("Sign %s: %v", alg, err)
		}
		if !verifyRSA(&rsaKey.PublicKey, string(alg), digest, sig.Result) {
			t.Fatalf("%s signature does not verify with crypto/rsa", alg)
		}
	}
	for _, alg := range []azkeys.EncryptionAlgorithm{"RSA1_5", "RSA-OAEP", "RSA-OAEP-256"} {
		enc, err := c.Encrypt(ctx, "imp-rsa", "", azkeys.KeyOperationParameters{Algorithm: to.Ptr(alg), Value: []byte("rsa payload")}, nil)
		if err != nil {
			t.Fatalf("Encrypt %s: %v", alg, err)
		}
		if got := decryptRSA(t, rsaKey, string(alg), enc.Result); string(got) != "rsa payload" {
			t.Fatalf("%s: crypto/rsa decrypts %q", alg, got)
		}
	}

	for _, curve := range []struct {
		crv azkeys.CurveName
		c   elliptic.Curve
		alg azkeys.SignatureAlgorithm
	}{{"P-256", elliptic.P256(), "ES256"}, {"P-384", elliptic.P384(), "ES384"}, {"P-521", elliptic.P521(), "ES512"}} {
		k, _ := ecdsa.GenerateKey(curve.c, rand.Reader)
		size := (curve.c.Params().BitSize + 7) / 8
		jwk := &azkeys.JSONWebKey{Kty: to.Ptr(azkeys.KeyTypeEC), Crv: to.Ptr(curve.crv), X: k.X.FillBytes(make([]byte, size)),
			Y: k.Y.FillBytes(make([]byte, size)), D: k.D.FillBytes(make([]byte, size))}
		name := "imp-ec-" + string(curve.alg)
		if _, err := c.ImportKey(ctx, name, azkeys.ImportKeyParameters{Key: jwk}, nil); err != nil {
			t.Fatalf("ImportKey %s: %v", curve.crv, err)
		}
		digest := digestFor(string(curve.alg))
		sig, err := c.Sign(ctx, name, "", azkeys.SignParameters{Algorithm: to.Ptr(curve.alg), Value: digest}, nil)
		if err != nil || len(sig.Result) != 2*size {
			t.Fatalf("Sign %s: %v", curve.alg, err)
		}
		r, s := new(big.Int).SetBytes(sig.Result[:size]), new(big.Int).SetBytes(sig.Result[size:])
		if !ecdsa.Verify(&k.PublicKey, digest, r, s) {
			t.Fatalf("%s signature does not verify with crypto/ecdsa", curve.alg)
		}
	}

	// AES: an imported oct key; GCM and CBC results equal crypto/aes's.
	aesKey := make([]byte, 32)
	_, _ = rand.Read(aesKey)
	if _, err := c.ImportKey(ctx, "imp-aes", azkeys.ImportKeyParameters{Key: &azkeys.JSONWebKey{Kty: to.Ptr(azkeys.KeyTypeOct), K: aesKey}}, nil); err != nil {
		t.Fatalf("ImportKey oct: %v", err)
	}
	block, _ := aes.NewCipher(aesKey)
	gcm, _ := cipher.NewGCM(block)
	enc, err := c.Encrypt(ctx, "imp-aes", "", azkeys.KeyOperationParameters{Algorithm: to.Ptr(azkeys.EncryptionAlgorithmA256GCM),
		Value: []byte("gcm data"), AdditionalAuthenticatedData: []byte("aad")}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if pt, err := gcm.Open(nil, enc.IV, append(enc.Result, enc.AuthenticationTag...), []byte("aad")); err != nil || string(pt) != "gcm data" {
		t.Fatalf("A256GCM output does not open with crypto/cipher: %v", err)
	}
	iv := make([]byte, 16)
	plain := []byte("0123456789abcdef")
	cbc, err := c.Encrypt(ctx, "imp-aes", "", azkeys.KeyOperationParameters{Algorithm: to.Ptr(azkeys.EncryptionAlgorithmA256CBC), Value: plain, IV: iv}, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := make([]byte, 16)
	cipher.NewCBCEncrypter(block, iv).CryptBlocks(want, plain)
	if string(cbc.Result) != string(want) {
		t.Fatal("A256CBC differs from crypto/cipher")
	}
	for _, alg := range []azkeys.EncryptionAlgorithm{"A256KW", "A256CBCPAD"} {
		params := azkeys.KeyOperationParameters{Algorithm: to.Ptr(alg), Value: []byte("0123456789abcdef0123456789abcdef")}
		if alg == "A256CBCPAD" {
			params.IV = iv
		}
		var out []byte
		if alg == "A256KW" {
			w, err := c.WrapKey(ctx, "imp-aes", "", params, nil)
			if err != nil {
				t.Fatal(err)
			}
			u, err := c.UnwrapKey(ctx, "imp-aes", "", azkeys.KeyOperationParameters{Algorithm: to.Ptr(alg), Value: w.Result}, nil)
			if err != nil {
				t.Fatal(err)
			}
			out = u.Result
		} else {
			e, err := c.Encrypt(ctx, "imp-aes", "", params, nil)
			if err != nil {
				t.Fatal(err)
			}
			d, err := c.Decrypt(ctx, "imp-aes", "", azkeys.KeyOperationParameters{Algorithm: to.Ptr(alg), Value: e.Result, IV: e.IV}, nil)
			if err != nil {
				t.Fatal(err)
			}
			out = d.Result
		}
		if string(out) != string(params.Value) {
			t.Fatalf("%s round trip", alg)
		}
	}
	n := 0
	for p := c.NewListKeyPropertiesPager(nil); p.More(); {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		n += len(page.Value)
	}
	if n != 5 {
		t.Fatalf("listed %d keys", n)
	}
}

func digestFor(alg string) []byte {
	switch alg[len(alg)-3:] {
	case "384":
		return make([]byte, 48)
	case "512":
		return make([]byte, 64)
	}
	s := sha256.Sum256([]byte(alg))
	return s[:]
}

func hashFor(alg string) crypto.Hash {
	switch alg[len(alg)-3:] {
	case "384":
		return crypto.SHA384
	case "512":
		return crypto.SHA512
	}
	return crypto.SHA256
}

func verifyRSA(pub *rsa.PublicKey, alg string, digest, sig []byte) bool {
	h := hashFor(alg)
	if alg[:2] == "PS" {
		return rsa.VerifyPSS(pub, h, digest, sig, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash}) == nil
	}
	return rsa.VerifyPKCS1v15(pub, h, digest, sig) == nil
}

func decryptRSA(t *testing.T, k *rsa.PrivateKey, alg string, ct []byte) []byte {
	t.Helper()
	var pt []byte
	var err error
	switch alg {
	case "RSA1_5":
		pt, err = rsa.DecryptPKCS1v15(nil, k, ct)
	case "RSA-OAEP":
		pt, err = rsa.DecryptOAEP(sha1.New(), nil, k, ct, nil)
	default:
		pt, err = rsa.DecryptOAEP(sha256.New(), nil, k, ct, nil)
	}
	if err != nil {
		t.Fatalf("%s: %v", alg, err)
	}
	return pt
}
