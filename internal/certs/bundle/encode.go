package bundle

import (
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"strings"

	"github.com/keyhaven/keyhaven/internal/kverr"
	"software.sslmate.com/src/go-pkcs12"
)

// EncodePFX returns PKCS#12 bytes with no password, encoded with
// pkcs12.Modern2023 (OpenSSL 3.0, as shipped by Debian, cannot read
// Modern2026). With a nil Key it writes a certificates-only PFX (leaf
// first, then chain).
func EncodePFX(b *Bundle) ([]byte, error) {
	if err := checkBundle(b); err != nil {
		return nil, err
	}
	var data []byte
	var err error
	if b.Key == nil {
		data, err = pkcs12.Modern2023.EncodeTrustStore(b.certs(), "")
	} else {
		data, err = pkcs12.Modern2023.Encode(b.Key, b.Leaf, b.Chain, "")
	}
	if err != nil {
		return nil, kverr.Internalf(err)
	}
	return data, nil
}

// EncodePEM returns the private key as a PKCS#8 "PRIVATE KEY" block
// (omitted when Key is nil), then the leaf, then the chain, each as a
// "CERTIFICATE" block, newline-terminated.
func EncodePEM(b *Bundle) (string, error) {
	if err := checkBundle(b); err != nil {
		return "", err
	}
	var sb strings.Builder
	if b.Key != nil {
		der, err := x509.MarshalPKCS8PrivateKey(b.Key)
		if err != nil {
			return "", kverr.Internalf(err)
		}
		sb.Write(pem.EncodeToMemory(&pem.Block{Type: pemPKCS8, Bytes: der}))
	}
	for _, c := range b.certs() {
		sb.Write(pem.EncodeToMemory(&pem.Block{Type: pemCert, Bytes: c.Raw}))
	}
	return sb.String(), nil
}

// Encode returns the secret value for contentType: base64 (standard,
// padded) of EncodePFX, or EncodePEM. An empty content type means PFX,
// Azure's default.
func Encode(b *Bundle, contentType string) (string, error) {
	switch normalizeContentType(contentType) {
	case ContentTypePFX, "":
		data, err := EncodePFX(b)
		if err != nil {
			return "", err
		}
		return base64.StdEncoding.EncodeToString(data), nil
	case ContentTypePEM:
		return EncodePEM(b)
	}
	return "", errContentType()
}

// checkBundle refuses a bundle that cannot be encoded: no leaf, a nil
// chain entry, an unsupported key or a key that is not the leaf's.
func checkBundle(b *Bundle) error {
	if b == nil || b.Leaf == nil {
		return kverr.BadParameterf("The certificate bundle has no leaf certificate.")
	}
	for _, c := range b.Chain {
		if c == nil {
			return kverr.BadParameterf("The certificate bundle has an empty chain entry.")
		}
	}
	if b.Key == nil {
		return nil
	}
	if _, err := checkKey(b.Key); err != nil {
		return err
	}
	if !keyMatches(b.Leaf, b.Key) {
		return errKeyMismatch()
	}
	return nil
}

// certs returns the leaf followed by the chain.
func (b *Bundle) certs() []*x509.Certificate {
	return append([]*x509.Certificate{b.Leaf}, b.Chain...)
}
