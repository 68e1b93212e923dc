package bundle

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"strings"
	"sync"
	"testing"
	"time"
)

// chain is a test PKI: a root CA, an intermediate CA and a leaf.
type chain struct {
	name                       string
	root, inter, leaf          *x509.Certificate
	rootKey, interKey, leafKey crypto.Signer
}

// Fixtures are built once per test binary: RSA key generation is slow.
var (
	rsaChain = sync.OnceValue(func() *chain { return newChain("RSA", rsaKey(2048)) })
	ecChain  = sync.OnceValue(func() *chain { return newChain("EC", ecKey(elliptic.P256())) })
)

func chains() []*chain { return []*chain{rsaChain(), ecChain()} }

func rsaKey(bits int) func() crypto.Signer {
	return func() crypto.Signer {
		k, err := rsa.GenerateKey(rand.Reader, bits)
		if err != nil {
			panic(err)
		}
		return k
	}
}

func ecKey(c elliptic.Curve) func() crypto.Signer {
	return func() crypto.Signer {
		k, err := ecdsa.GenerateKey(c, rand.Reader)
		if err != nil {
			panic(err)
		}
		return k
	}
}

func newChain(name string, gen func() crypto.Signer) *chain {
	c := &chain{name: name, rootKey: gen(), interKey: gen(), leafKey: gen()}
	c.root = makeCert(caTemplate("Keyhaven Test Root CA "+name), nil, c.rootKey, c.rootKey)
	c.inter = makeCert(caTemplate("Keyhaven Test Intermediate CA "+name), c.root, c.interKey, c.rootKey)
	c.leaf = makeCert(leafTemplate("leaf-"+strings.ToLower(name)+".keyhaven.test"), c.inter, c.leafKey, c.interKey)
	return c
}

func caTemplate(cn string) *x509.Certificate {
	return &x509.Certificate{
		Subject:               pkix.Name{CommonName: cn, Organization: []string{"Keyhaven Tests"}},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
}

func leafTemplate(cn string) *x509.Certificate {
	return &x509.Certificate{
		Subject:     pkix.Name{CommonName: cn, Organization: []string{"Keyhaven Tests"}},
		DNSNames:    []string{cn},
		NotBefore:   time.Now().Add(-time.Hour),
		NotAfter:    time.Now().Add(24 * time.Hour),
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
}

// makeCert signs tmpl for key's public key with signer; a nil parent makes
// it self-signed.
func makeCert(tmpl, parent *x509.Certificate, key, signer crypto.Signer) *x509.Certificate {
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 64))
	if err != nil {
		panic(err)
	}
	tmpl.SerialNumber = serial
	if parent == nil {
		parent = tmpl
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, key.Public(), signer)
	if err != nil {
		panic(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		panic(err)
	}
	return cert
}

// selfSigned returns a self-signed leaf-like certificate for key.
func selfSigned(cn string, key crypto.Signer) *x509.Certificate {
	return makeCert(leafTemplate(cn), nil, key, key)
}

func certPEM(c *x509.Certificate) string {
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw}))
}

func keyPEM(t testing.TB, k crypto.Signer) string {
	t.Helper()
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
}

// legacyKeyPEM returns k as a PKCS#1 or SEC 1 block.
func legacyKeyPEM(t testing.TB, k crypto.Signer) string {
	t.Helper()
	switch k := k.(type) {
	case *rsa.PrivateKey:
		return string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k)}))
	case *ecdsa.PrivateKey:
		der, err := x509.MarshalECPrivateKey(k)
		if err != nil {
			t.Fatal(err)
		}
		return string(pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der}))
	}
	t.Fatalf("unexpected key type %T", k)
	return ""
}

func (c *chain) bundle() *Bundle {
	return &Bundle{Leaf: c.leaf, Chain: []*x509.Certificate{c.inter, c.root}, Key: c.leafKey}
}
