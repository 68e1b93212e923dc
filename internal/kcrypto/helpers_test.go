package kcrypto_test

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/keyhaven/keyhaven/internal/kcrypto"
)

// keyCache generates each key shape once per test binary: RSA generation
// dominates the run time otherwise.
var keyCache sync.Map // spec string -> *cachedKey

type cachedKey struct {
	once sync.Once
	key  *kcrypto.Key
	err  error
}

// testKey returns a shared generated key. Tests must not depend on it being
// fresh.
func testKey(t testing.TB, kty string, size int, crv string) *kcrypto.Key {
	t.Helper()
	spec := fmt.Sprintf("%s/%d/%s", kty, size, crv)
	v, _ := keyCache.LoadOrStore(spec, &cachedKey{})
	c := v.(*cachedKey)
	c.once.Do(func() { c.key, c.err = kcrypto.Generate(kty, size, crv, 0) })
	if c.err != nil {
		t.Fatalf("Generate(%s): %v", spec, c.err)
	}
	return c.key
}

func rsaKey(t testing.TB) *kcrypto.Key { return testKey(t, "RSA", 2048, "") }

func ecKey(t testing.TB, crv string) *kcrypto.Key { return testKey(t, "EC", 0, crv) }

func octKey(t testing.TB, bits int) *kcrypto.Key { return testKey(t, "oct", bits, "") }

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.Join(strings.Fields(s), ""))
	if err != nil {
		t.Fatalf("bad hex in test data: %v", err)
	}
	return b
}

func hashFor(alg string) crypto.Hash {
	switch {
	case strings.HasSuffix(alg, "384"):
		return crypto.SHA384
	case strings.HasSuffix(alg, "512"):
		return crypto.SHA512
	}
	return crypto.SHA256
}

func digest(h crypto.Hash, msg []byte) []byte {
	switch h {
	case crypto.SHA384:
		d := sha512.Sum384(msg)
		return d[:]
	case crypto.SHA512:
		d := sha512.Sum512(msg)
		return d[:]
	}
	d := sha256.Sum256(msg)
	return d[:]
}

var curveByName = map[string]elliptic.Curve{
	"P-256": elliptic.P256(), "P-384": elliptic.P384(), "P-521": elliptic.P521(),
}

// publicFromJWK rebuilds a standard-library public key from a public JWK
// only. P-256K has no standard-library type and returns nil.
func publicFromJWK(t testing.TB, j kcrypto.JWK) crypto.PublicKey {
	t.Helper()
	switch j.Kty {
	case "RSA":
		return &rsa.PublicKey{N: new(big.Int).SetBytes(j.N), E: int(new(big.Int).SetBytes(j.E).Int64())}
	case "EC":
		curve := curveByName[j.Crv]
		if curve == nil {
			return nil
		}
		pub, err := ecdsa.ParseUncompressedPublicKey(curve, append(append([]byte{4}, j.X...), j.Y...))
		if err != nil {
			t.Fatalf("JWK point does not parse: %v", err)
		}
		return pub
	}
	t.Fatalf("no public key for kty %q", j.Kty)
	return nil
}

var (
	oidECPublicKey = asn1.ObjectIdentifier{1, 2, 840, 10045, 2, 1}
	oidSecp256k1   = asn1.ObjectIdentifier{1, 3, 132, 0, 10}
)

// publicPEM encodes the public key of a public JWK as a PKIX PEM block.
// crypto/x509 cannot marshal secp256k1, so that SubjectPublicKeyInfo is
// built by hand.
func publicPEM(t testing.TB, j kcrypto.JWK) []byte {
	t.Helper()
	var der []byte
	var err error
	if j.Crv == "P-256K" {
		der, err = asn1.Marshal(struct {
			Algo      pkix.AlgorithmIdentifier
			PublicKey asn1.BitString
		}{
			Algo:      pkix.AlgorithmIdentifier{Algorithm: oidECPublicKey, Parameters: asn1.RawValue{FullBytes: mustASN1(t, oidSecp256k1)}},
			PublicKey: asn1.BitString{Bytes: append(append([]byte{4}, j.X...), j.Y...), BitLength: 8 * (1 + len(j.X) + len(j.Y))},
		})
	} else {
		der, err = x509.MarshalPKIXPublicKey(publicFromJWK(t, j))
	}
	if err != nil {
		t.Fatalf("marshal public key: %v", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
}

func mustASN1(t testing.TB, v any) []byte {
	t.Helper()
	b, err := asn1.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// rawToDER converts a JWS r||s signature to an ASN.1 ECDSA-Sig-Value.
func rawToDER(t testing.TB, sig []byte) []byte {
	t.Helper()
	half := len(sig) / 2
	return mustASN1(t, struct{ R, S *big.Int }{
		new(big.Int).SetBytes(sig[:half]), new(big.Int).SetBytes(sig[half:]),
	})
}

// derToRaw converts an ASN.1 ECDSA signature to r||s of size bytes each.
func derToRaw(t testing.TB, der []byte, size int) []byte {
	t.Helper()
	var v struct{ R, S *big.Int }
	if _, err := asn1.Unmarshal(der, &v); err != nil {
		t.Fatalf("DER signature: %v", err)
	}
	out := make([]byte, 2*size)
	v.R.FillBytes(out[:size])
	v.S.FillBytes(out[size:])
	return out
}

// rsaJWK converts a standard-library RSA key to a private JWK.
func rsaJWK(priv *rsa.PrivateKey) kcrypto.JWK {
	priv.Precompute()
	return kcrypto.JWK{
		Kty: "RSA", N: priv.N.Bytes(), E: big.NewInt(int64(priv.E)).Bytes(), D: priv.D.Bytes(),
		P: priv.Primes[0].Bytes(), Q: priv.Primes[1].Bytes(),
		DP: priv.Precomputed.Dp.Bytes(), DQ: priv.Precomputed.Dq.Bytes(), QI: priv.Precomputed.Qinv.Bytes(),
	}
}

// ecJWK converts a standard-library ECDSA key to a private JWK.
func ecJWK(t testing.TB, crv string, priv *ecdsa.PrivateKey) kcrypto.JWK {
	t.Helper()
	d, err := priv.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	pt, err := priv.PublicKey.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	size := (len(pt) - 1) / 2
	return kcrypto.JWK{Kty: "EC", Crv: crv, D: d, X: pt[1 : 1+size], Y: pt[1+size:]}
}

// openssl runs the openssl binary in dir and returns its combined output
// and whether it exited 0. The test is skipped when openssl is missing.
func openssl(t testing.TB, dir string, args ...string) (string, bool) {
	t.Helper()
	path, err := exec.LookPath("openssl")
	if err != nil {
		t.Skip("openssl binary not found")
	}
	cmd := exec.Command(path, args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	return string(out), err == nil
}

// mustOpenSSL is openssl that fails the test on a non-zero exit.
func mustOpenSSL(t testing.TB, dir string, args ...string) string {
	t.Helper()
	out, ok := openssl(t, dir, args...)
	if !ok {
		t.Fatalf("openssl %s: %s", strings.Join(args, " "), out)
	}
	return out
}

func writeFile(t testing.TB, dir, name string, data []byte) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
		t.Fatal(err)
	}
}

func readFile(t testing.TB, dir, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}
