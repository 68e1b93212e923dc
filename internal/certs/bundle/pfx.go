package bundle

import (
	"crypto/x509"
	"encoding/base64"
	"errors"
	"strings"
	"unicode"

	"github.com/keyhaven/keyhaven/internal/kverr"
	"software.sslmate.com/src/go-pkcs12"
)

// parsePFX reads the certificates and the private key (nil when absent) of
// a base64 PFX value. A certificates-only PFX is read when the key is not
// required.
func parsePFX(value, password string, requireKey bool) ([]*x509.Certificate, any, error) {
	data, err := decodeBase64(value)
	if err != nil {
		return nil, nil, err
	}
	if err := checkPFXCost(data); err != nil {
		return nil, nil, err
	}
	key, leaf, cas, err := pkcs12.DecodeChain(data, password)
	if err == nil {
		return append([]*x509.Certificate{leaf}, cas...), key, nil
	}
	if !requireKey && !isPasswordError(err) {
		if certs, terr := pkcs12.DecodeTrustStore(data, password); terr == nil {
			return certs, nil, nil
		}
	}
	return nil, nil, pfxError(err, requireKey)
}

// decodeBase64 decodes standard or URL base64, padded or not, with
// whitespace anywhere.
func decodeBase64(value string) ([]byte, error) {
	s := strings.Map(func(r rune) rune {
		if unicode.IsSpace(r) {
			return -1
		}
		return r
	}, value)
	s = strings.TrimRight(s, "=")
	if s == "" {
		return nil, kverr.BadParameterf("The certificate value is empty.")
	}
	enc := base64.RawStdEncoding
	if strings.ContainsAny(s, "-_") {
		enc = base64.RawURLEncoding
	}
	if enc.DecodedLen(len(s)) > maxDecoded {
		return nil, errTooLarge()
	}
	data, err := enc.DecodeString(s)
	if err != nil {
		return nil, kverr.BadParameterf("The value is neither PEM text nor valid base64: a PFX must be base64-encoded.")
	}
	return data, nil
}

func isPasswordError(err error) bool {
	return errors.Is(err, pkcs12.ErrIncorrectPassword) || errors.Is(err, pkcs12.ErrDecryption) ||
		strings.Contains(err.Error(), "error decrypting")
}

// pfxError maps a go-pkcs12 error to a public message; the library's error
// is kept as the internal cause.
func pfxError(err error, requireKey bool) *kverr.Error {
	e := kverr.BadParameterf("%s", pfxMessage(err, requireKey))
	e.Cause = err
	return e
}

func pfxMessage(err error, requireKey bool) string {
	msg := err.Error()
	var notImpl pkcs12.NotImplementedError
	switch {
	case isPasswordError(err):
		return "The PFX could not be decoded: wrong password or corrupt data."
	case strings.Contains(msg, "UCS-2"):
		return "The PFX password holds characters that a PKCS#12 password cannot hold."
	case strings.Contains(msg, "private key missing") && requireKey:
		return "The PFX holds no private key: a certificate import must include the certificate's private key."
	case strings.Contains(msg, "private key missing"):
		return "The PFX holds certificates without a private key in a layout that is not supported: import them as PEM instead."
	case strings.Contains(msg, "certificate missing"):
		return "The PFX holds no certificate."
	case strings.Contains(msg, "exactly one key bag"):
		return "The PFX holds more than one private key; a certificate bundle has one."
	case errors.As(err, &notImpl):
		return "The PFX uses a structure or algorithm that is not supported: export it again with AES-256 or 3DES encryption."
	case strings.Contains(msg, "x509:"):
		return "The PFX holds a certificate or private key that could not be parsed. Only RSA (2048 bits or more) and EC (P-256, P-384, P-521) keys are supported."
	}
	return "The value is not a valid PFX (PKCS#12) file."
}
