// Package bundle parses and encodes certificate bundles: the value of a
// certificate import (a base64 PFX/PKCS#12, with or without a password, or
// PEM text holding a private key and certificates in any order) and the value
// of a certificate's backing secret (base64 PFX or a PEM bundle).
//
// Parse accepts up to 4 MiB of decoded data, 50 certificates, RSA keys of
// 2048 to 16384 bits, EC keys on P-256, P-384 and P-521, and PFX files asking
// for at most 1,000,000 key derivation iterations. Every error it returns is
// a *kverr.Error of kind BadParameter whose public message never contains
// the value, the password or key material.
package bundle

import (
	"crypto"
	"crypto/x509"
	"strings"

	"github.com/keyhaven/keyhaven/internal/kverr"
)

// Content types of a certificate's secret, as Azure Key Vault names them.
const (
	ContentTypePFX = "application/x-pkcs12"
	ContentTypePEM = "application/x-pem-file"
)

// Limits on what Parse accepts.
const (
	maxDecoded = 4 << 20      // bytes of a decoded value
	maxValue   = 8 << 20      // characters of a value before decoding (base64 with line breaks, PEM)
	maxCerts   = 50           // certificates in a bundle
	maxKeyDER  = 64 << 10     // bytes of a PEM private key block
	maxIter    = 1_000_000    // PBKDF iterations in a PFX
	pemMarker  = "-----BEGIN" // what makes a value PEM when no content type is given
)

// Bundle is a certificate, its chain and optionally its private key.
type Bundle struct {
	Leaf  *x509.Certificate
	Chain []*x509.Certificate // the certificates after the leaf (issuers), leaf not included
	Key   crypto.Signer       // *rsa.PrivateKey or *ecdsa.PrivateKey; nil when the bundle has no key
}

// Parse reads an import value. contentType is "" (detect: PEM if the text
// contains "-----BEGIN", else base64 PFX), ContentTypePFX or ContentTypePEM
// (then the value must be of that format). password is used for PFX only
// ("" = none).
//
// With requireKey the bundle must contain the leaf's private key. With
// preserveOrder the certificates keep the order given and the first one is
// the leaf; otherwise the leaf is the certificate whose public key matches
// the private key (without a key, the one that issued no other certificate
// in the set) and the chain is ordered by issuer linkage from the leaf
// upward, certificates not on that path appended in input order.
//
// It returns the bundle and the content type of the value.
func Parse(value, password, contentType string, requireKey, preserveOrder bool) (*Bundle, string, error) {
	if len(value) > maxValue {
		return nil, "", errTooLarge()
	}
	ct, err := resolveContentType(value, contentType)
	if err != nil {
		return nil, "", err
	}
	var certs []*x509.Certificate
	var key any
	if ct == ContentTypePEM {
		certs, key, err = parsePEM(value)
	} else {
		certs, key, err = parsePFX(value, password, requireKey)
	}
	if err != nil {
		return nil, "", err
	}
	b, err := assemble(certs, key, requireKey, preserveOrder)
	if err != nil {
		return nil, "", err
	}
	return b, ct, nil
}

// resolveContentType returns the format of value: the one given, checked
// against the value, or the one detected.
func resolveContentType(value, contentType string) (string, error) {
	isPEM := strings.Contains(value, pemMarker)
	switch normalizeContentType(contentType) {
	case "":
		if isPEM {
			return ContentTypePEM, nil
		}
		return ContentTypePFX, nil
	case ContentTypePEM:
		if !isPEM {
			return "", kverr.BadParameterf("The value does not match the content type %s: it holds no PEM block.", ContentTypePEM)
		}
		return ContentTypePEM, nil
	case ContentTypePFX:
		if isPEM {
			return "", kverr.BadParameterf("The value does not match the content type %s: it is PEM text, not a base64 PFX.", ContentTypePFX)
		}
		return ContentTypePFX, nil
	}
	return "", errContentType()
}

// normalizeContentType returns the canonical spelling of a known content
// type, "" for an empty one, and anything else unchanged.
func normalizeContentType(ct string) string {
	switch c := strings.ToLower(strings.TrimSpace(ct)); c {
	case "", ContentTypePEM, ContentTypePFX:
		return c
	}
	return ct
}

func errContentType() *kverr.Error {
	return kverr.BadParameterf("The content type is not supported: use %s or %s.", ContentTypePFX, ContentTypePEM)
}

func errTooLarge() *kverr.Error {
	return kverr.BadParameterf("The certificate value is too large: the limit is %d MiB.", maxDecoded>>20)
}
