package cli

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"strings"

	"github.com/keyhaven/keyhaven/pkg/client"
)

// OIDs of EC keys: the ecPublicKey algorithm and secp256k1 (P-256K), a
// curve crypto/x509 does not know.
var (
	oidECPublicKey = asn1.ObjectIdentifier{1, 2, 840, 10045, 2, 1}
	oidSecp256k1   = asn1.ObjectIdentifier{1, 3, 132, 0, 10}
)

// jwkFromPEM converts the first private key in PEM data to a JWK with its
// private parts: RSA (PKCS#1 or PKCS#8) or EC on P-256, P-384, P-521 or
// P-256K (SEC 1 or PKCS#8). Other blocks, such as the EC PARAMETERS block
// openssl ecparam writes first, are skipped; encrypted keys are refused.
func jwkFromPEM(data []byte) (client.JSONWebKey, error) {
	for {
		var block *pem.Block
		block, data = pem.Decode(data)
		if block == nil {
			return client.JSONWebKey{}, errors.New("no PEM private key found (want a PRIVATE KEY, RSA PRIVATE KEY or EC PRIVATE KEY block)")
		}
		if block.Type == "ENCRYPTED PRIVATE KEY" || strings.Contains(block.Headers["Proc-Type"], "ENCRYPTED") {
			return client.JSONWebKey{}, errors.New("the PEM private key is encrypted; decrypt it first, e.g. openssl pkey -in key.pem -out plain.pem")
		}
		var key any
		var err error
		switch block.Type {
		case "PRIVATE KEY":
			if key, err = x509.ParsePKCS8PrivateKey(block.Bytes); err != nil {
				key, err = parsePKCS8Secp256k1(block.Bytes, err)
			}
		case "RSA PRIVATE KEY":
			key, err = x509.ParsePKCS1PrivateKey(block.Bytes)
		case "EC PRIVATE KEY":
			if key, err = x509.ParseECPrivateKey(block.Bytes); err != nil {
				key, err = parseSEC1Secp256k1(block.Bytes, nil, err)
			}
		default:
			continue
		}
		if err != nil {
			return client.JSONWebKey{}, fmt.Errorf("reading the %s block: %w", block.Type, err)
		}
		return privateJWK(key)
	}
}

func privateJWK(key any) (client.JSONWebKey, error) {
	switch k := key.(type) {
	case *rsa.PrivateKey:
		if len(k.Primes) != 2 {
			return client.JSONWebKey{}, fmt.Errorf("RSA keys with %d primes cannot be imported", len(k.Primes))
		}
		k.Precompute()
		return client.JSONWebKey{Kty: "RSA", N: k.N.Bytes(), E: big.NewInt(int64(k.E)).Bytes(), D: k.D.Bytes(),
			P: k.Primes[0].Bytes(), Q: k.Primes[1].Bytes(), DP: k.Precomputed.Dp.Bytes(), DQ: k.Precomputed.Dq.Bytes(),
			QI: k.Precomputed.Qinv.Bytes()}, nil
	case *ecdsa.PrivateKey:
		crv := k.Curve.Params().Name
		if crv != "P-256" && crv != "P-384" && crv != "P-521" {
			return client.JSONWebKey{}, fmt.Errorf("EC curve %s is not supported", crv)
		}
		pub, err := k.PublicKey.Bytes()
		if err != nil {
			return client.JSONWebKey{}, err
		}
		d, err := k.Bytes()
		if err != nil {
			return client.JSONWebKey{}, err
		}
		n := len(d)
		return client.JSONWebKey{Kty: "EC", Crv: crv, X: pub[1 : 1+n], Y: pub[1+n:], D: d}, nil
	case client.JSONWebKey:
		return k, nil
	}
	return client.JSONWebKey{}, fmt.Errorf("unsupported key type %T: only RSA and EC keys can be imported", key)
}

// ecPrivateKey is SEC 1's ECPrivateKey.
type ecPrivateKey struct {
	Version    int
	PrivateKey []byte
	Curve      asn1.ObjectIdentifier `asn1:"optional,explicit,tag:0"`
	PublicKey  asn1.BitString        `asn1:"optional,explicit,tag:1"`
}

// parseSEC1Secp256k1 reads a SEC 1 secp256k1 key (curve from the key, or
// from PKCS#8 when curve is set). It needs the public point, which
// openssl always writes: computing it would need secp256k1 arithmetic.
// Any other failure returns orig, the standard library's error.
func parseSEC1Secp256k1(der []byte, curve asn1.ObjectIdentifier, orig error) (any, error) {
	var k ecPrivateKey
	if rest, err := asn1.Unmarshal(der, &k); err != nil || len(rest) != 0 {
		return nil, orig
	}
	if len(k.Curve) > 0 {
		curve = k.Curve
	}
	if !curve.Equal(oidSecp256k1) {
		return nil, orig
	}
	const size = 32
	pub := k.PublicKey.RightAlign()
	if len(pub) != 1+2*size || pub[0] != 4 {
		return nil, errors.New("the P-256K key lacks its uncompressed public point (openssl ec -in key.pem -out full.pem writes it)")
	}
	if len(k.PrivateKey) > size {
		return nil, errors.New("invalid P-256K private key")
	}
	d := make([]byte, size)
	copy(d[size-len(k.PrivateKey):], k.PrivateKey)
	return client.JSONWebKey{Kty: "EC", Crv: "P-256K", X: pub[1 : 1+size], Y: pub[1+size:], D: d}, nil
}

// parsePKCS8Secp256k1 reads a PKCS#8 secp256k1 key; other failures return
// orig.
func parsePKCS8Secp256k1(der []byte, orig error) (any, error) {
	var p struct {
		Version    int
		Algo       pkix.AlgorithmIdentifier
		PrivateKey []byte
	}
	if rest, err := asn1.Unmarshal(der, &p); err != nil || len(rest) != 0 || !p.Algo.Algorithm.Equal(oidECPublicKey) {
		return nil, orig
	}
	var curve asn1.ObjectIdentifier
	if _, err := asn1.Unmarshal(p.Algo.Parameters.FullBytes, &curve); err != nil {
		return nil, orig
	}
	return parseSEC1Secp256k1(p.PrivateKey, curve, orig)
}

// encodePublicKey encodes a JWK's public key as SubjectPublicKeyInfo, DER
// or PEM, as az keyvault key download writes it.
func encodePublicKey(k *client.JSONWebKey, encoding string) ([]byte, error) {
	der, err := publicKeyDER(k)
	if err != nil || encoding == "DER" {
		return der, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), nil
}

func publicKeyDER(k *client.JSONWebKey) ([]byte, error) {
	if k == nil {
		return nil, errors.New("the answer holds no key")
	}
	switch strings.TrimSuffix(k.Kty, "-HSM") {
	case "RSA":
		e := new(big.Int).SetBytes(k.E)
		if len(k.N) == 0 || !e.IsInt64() || e.Int64() < 3 || e.Int64() > 1<<31-1 {
			return nil, errors.New("the key's RSA modulus or exponent is missing or invalid")
		}
		return x509.MarshalPKIXPublicKey(&rsa.PublicKey{N: new(big.Int).SetBytes(k.N), E: int(e.Int64())})
	case "EC":
		return ecPublicDER(k)
	}
	return nil, fmt.Errorf("%s keys have no public key to download (RSA and EC keys do)", k.Kty)
}

// ecPublicDER encodes an EC JWK as SubjectPublicKeyInfo; secp256k1 is not
// in crypto/x509, so its structure is written directly.
func ecPublicDER(k *client.JSONWebKey) ([]byte, error) {
	curves := map[string]elliptic.Curve{"P-256": elliptic.P256(), "P-384": elliptic.P384(), "P-521": elliptic.P521()}
	size := 32
	if c, ok := curves[k.Crv]; ok {
		size = (c.Params().BitSize + 7) / 8
	} else if k.Crv != "P-256K" {
		return nil, fmt.Errorf("unsupported curve %q", k.Crv)
	}
	if len(k.X) > size || len(k.Y) > size {
		return nil, errors.New("the key's EC point is invalid")
	}
	point := make([]byte, 1+2*size)
	point[0] = 4
	copy(point[1+size-len(k.X):1+size], k.X)
	copy(point[1+2*size-len(k.Y):], k.Y)
	if c, ok := curves[k.Crv]; ok {
		pub, err := ecdsa.ParseUncompressedPublicKey(c, point)
		if err != nil {
			return nil, fmt.Errorf("the key's EC point is invalid: %w", err)
		}
		return x509.MarshalPKIXPublicKey(pub)
	}
	return asn1.Marshal(struct {
		Algo pkix.AlgorithmIdentifier
		Key  asn1.BitString
	}{pkix.AlgorithmIdentifier{Algorithm: oidECPublicKey, Parameters: asn1.RawValue{FullBytes: mustMarshal(oidSecp256k1)}},
		asn1.BitString{Bytes: point, BitLength: 8 * len(point)}})
}

func mustMarshal(v any) []byte {
	b, err := asn1.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}
