package cli

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/asn1"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"math/big"
	"strings"
	"testing"

	"github.com/keyhaven/keyhaven/pkg/client"
)

// A secp256k1 test key written by openssl (ecparam -genkey, then pkcs8
// -topk8 -nocrypt), with its private scalar and the SubjectPublicKeyInfo
// openssl pkey -pubout -outform DER writes for it.
const (
	k1SEC1 = `-----BEGIN EC PRIVATE KEY-----
MHQCAQEEIFwZkbQKDeZa7DYgCU1/VLL97qr/RurruUJA4uR78nZLoAcGBSuBBAAK
oUQDQgAErmWrNW3mHBHC8/cz7OXJMg5yF5KxO9ers0bwNkRoupB3pDhdIbJ3R4nS
+U5rrTxBDhJ81vKmlItg6l+7wPsKiA==
-----END EC PRIVATE KEY-----
`
	k1PKCS8 = `-----BEGIN PRIVATE KEY-----
MIGEAgEAMBAGByqGSM49AgEGBSuBBAAKBG0wawIBAQQgXBmRtAoN5lrsNiAJTX9U
sv3uqv9G6uu5QkDi5HvydkuhRANCAASuZas1beYcEcLz9zPs5ckyDnIXkrE716uz
RvA2RGi6kHekOF0hsndHidL5TmutPEEOEnzW8qaUi2DqX7vA+wqI
-----END PRIVATE KEY-----
`
	k1D    = "5c1991b40a0de65aec3620094d7f54b2fdeeaaff46eaebb94240e2e47bf2764b"
	k1SPKI = "MFYwEAYHKoZIzj0CAQYFK4EEAAoDQgAErmWrNW3mHBHC8/cz7OXJMg5yF5KxO9ers0bwNkRoupB3pDhdIbJ3R4nS+U5rrTxBDhJ81vKmlItg6l+7wPsKiA=="
)

func pemOf(typ string, der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der})
}

func TestJWKFromPEMRSA(t *testing.T) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	pkcs8, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	for name, data := range map[string][]byte{
		"PKCS#1": pemOf("RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(key)),
		"PKCS#8": pemOf("PRIVATE KEY", pkcs8),
		// A certificate or other block before the key is skipped.
		"after another block": append(pemOf("CERTIFICATE", []byte{1}), pemOf("PRIVATE KEY", pkcs8)...),
	} {
		j, err := jwkFromPEM(data)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		n := func(b []byte) *big.Int { return new(big.Int).SetBytes(b) }
		back := &rsa.PrivateKey{PublicKey: rsa.PublicKey{N: n(j.N), E: int(n(j.E).Int64())}, D: n(j.D), Primes: []*big.Int{n(j.P), n(j.Q)}}
		back.Precompute()
		if j.Kty != "RSA" || !back.Equal(key) || back.Precomputed.Dp.Cmp(n(j.DP)) != 0 || back.Precomputed.Dq.Cmp(n(j.DQ)) != 0 ||
			back.Precomputed.Qinv.Cmp(n(j.QI)) != 0 || len(j.KeyOps) != 0 {
			t.Errorf("%s: the JWK is not the key", name)
		}
	}
}

func TestJWKFromPEMEC(t *testing.T) {
	for _, c := range []elliptic.Curve{elliptic.P256(), elliptic.P384(), elliptic.P521()} {
		key, err := ecdsa.GenerateKey(c, rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		sec1, err := x509.MarshalECPrivateKey(key)
		if err != nil {
			t.Fatal(err)
		}
		pkcs8, err := x509.MarshalPKCS8PrivateKey(key)
		if err != nil {
			t.Fatal(err)
		}
		size := (c.Params().BitSize + 7) / 8
		// openssl ecparam -genkey writes an EC PARAMETERS block first.
		withParams := append(pemOf("EC PARAMETERS", []byte{6, 8, 42, 134, 72, 206, 61, 3, 1, 7}), pemOf("EC PRIVATE KEY", sec1)...)
		for name, data := range map[string][]byte{"SEC 1": withParams, "PKCS#8": pemOf("PRIVATE KEY", pkcs8)} {
			j, err := jwkFromPEM(data)
			if err != nil {
				t.Fatalf("%s %s: %v", c.Params().Name, name, err)
			}
			d, _ := key.Bytes()
			if j.Kty != "EC" || j.Crv != c.Params().Name || len(j.X) != size || len(j.Y) != size || !bytes.Equal(j.D, d) ||
				new(big.Int).SetBytes(j.X).Cmp(key.X) != 0 || new(big.Int).SetBytes(j.Y).Cmp(key.Y) != 0 {
				t.Errorf("%s %s: the JWK is not the key: %+v", c.Params().Name, name, j)
			}
			// The public key download of that JWK is the standard library's.
			want, _ := x509.MarshalPKIXPublicKey(&key.PublicKey)
			if got, err := publicKeyDER(&j); err != nil || !bytes.Equal(got, want) {
				t.Errorf("%s: SubjectPublicKeyInfo differs: %v", c.Params().Name, err)
			}
		}
	}
}

func TestJWKFromPEMSecp256k1(t *testing.T) {
	d, _ := hex.DecodeString(k1D)
	spki, _ := base64.StdEncoding.DecodeString(k1SPKI)
	for name, data := range map[string]string{"SEC 1": k1SEC1, "PKCS#8": k1PKCS8} {
		j, err := jwkFromPEM([]byte(data))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		point := append(append([]byte{4}, j.X...), j.Y...)
		if j.Kty != "EC" || j.Crv != "P-256K" || !bytes.Equal(j.D, d) || !bytes.Equal(point, spki[len(spki)-65:]) {
			t.Errorf("%s: %+v", name, j)
		}
		if got, err := publicKeyDER(&j); err != nil || !bytes.Equal(got, spki) {
			t.Errorf("%s: SubjectPublicKeyInfo %x, want openssl's %x (%v)", name, got, spki, err)
		}
	}
}

func TestJWKFromPEMRefuses(t *testing.T) {
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 1024)
	encBlock := &pem.Block{Type: "RSA PRIVATE KEY", Headers: map[string]string{"Proc-Type": "4,ENCRYPTED", "DEK-Info": "AES-128-CBC,00"},
		Bytes: x509.MarshalPKCS1PrivateKey(rsaKey)}
	_, edKey, _ := ed25519.GenerateKey(rand.Reader)
	edDER, _ := x509.MarshalPKCS8PrivateKey(edKey)
	multi, _ := rsa.GenerateMultiPrimeKey(rand.Reader, 3, 1024)
	tests := map[string]struct {
		data []byte
		want string
	}{
		"no PEM":            {[]byte("hello"), "no PEM private key"},
		"public key only":   {pemOf("PUBLIC KEY", []byte{1}), "no PEM private key"},
		"encrypted PKCS#8":  {pemOf("ENCRYPTED PRIVATE KEY", []byte{1}), "encrypted"},
		"encrypted PKCS#1":  {pem.EncodeToMemory(encBlock), "encrypted"},
		"Ed25519":           {pemOf("PRIVATE KEY", edDER), "only RSA and EC"},
		"garbage in block":  {pemOf("EC PRIVATE KEY", []byte{0x30, 0}), "EC PRIVATE KEY block"},
		"three-prime RSA":   {pemOf("RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(multi)), "3 primes"},
		"k1 without public": {pemOf("EC PRIVATE KEY", k1WithoutPublic(t)), "public point"},
	}
	for name, tt := range tests {
		if _, err := jwkFromPEM(tt.data); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: err = %v, want %q", name, err, tt.want)
		}
	}
}

// k1WithoutPublic is the secp256k1 test key without its public point.
func k1WithoutPublic(t *testing.T) []byte {
	d, _ := hex.DecodeString(k1D)
	der, err := asn1.Marshal(ecPrivateKey{Version: 1, PrivateKey: d, Curve: oidSecp256k1})
	if err != nil {
		t.Fatal(err)
	}
	return der
}

func TestPublicKeyDERRefuses(t *testing.T) {
	for name, k := range map[string]*client.JSONWebKey{
		"no key":        nil,
		"oct":           {Kty: "oct", K: []byte{1}},
		"RSA without n": {Kty: "RSA", E: []byte{1, 0, 1}},
		"unknown curve": {Kty: "EC", Crv: "P-224", X: []byte{1}, Y: []byte{2}},
		"off the curve": {Kty: "EC", Crv: "P-256", X: []byte{1}, Y: []byte{2}},
		"long x":        {Kty: "EC-HSM", Crv: "P-256K", X: make([]byte, 33), Y: []byte{2}},
	} {
		if _, err := publicKeyDER(k); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}
