package bundle

import (
	"bytes"
	"crypto/x509"
	"encoding/pem"
	"strings"

	"github.com/keyhaven/keyhaven/internal/kverr"
)

// PEM block types.
const (
	pemCert     = "CERTIFICATE"
	pemPKCS8    = "PRIVATE KEY"
	pemPKCS1    = "RSA PRIVATE KEY"
	pemSEC1     = "EC PRIVATE KEY"
	pemEncPKCS8 = "ENCRYPTED PRIVATE KEY"
	pemECParams = "EC PARAMETERS"
)

// pemParts are the certificate and private key blocks of a PEM value.
type pemParts struct {
	certs [][]byte
	keys  []*pem.Block
}

// parsePEM reads the certificates and the private key (nil when absent) of
// a PEM value.
func parsePEM(value string) ([]*x509.Certificate, any, error) {
	parts, err := splitPEM([]byte(value))
	if err != nil {
		return nil, nil, err
	}
	if len(parts.certs) == 0 {
		return nil, nil, kverr.BadParameterf("The PEM value has no certificate.")
	}
	if len(parts.keys) > 1 {
		return nil, nil, kverr.BadParameterf("The PEM value holds %d private keys; a certificate bundle has one.", len(parts.keys))
	}
	certs, err := parseCerts(parts.certs)
	if err != nil {
		return nil, nil, err
	}
	if len(parts.keys) == 0 {
		return certs, nil, nil
	}
	key, err := parsePEMKey(parts.keys[0])
	if err != nil {
		return nil, nil, err
	}
	return certs, key, nil
}

// splitPEM sorts the blocks of data into certificates and keys, refusing
// unknown, encrypted and malformed blocks.
func splitPEM(data []byte) (*pemParts, error) {
	var p pemParts
	decoded, size := 0, 0
	for rest := data; ; {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		decoded++
		if size += len(block.Bytes); size > maxDecoded {
			return nil, errTooLarge()
		}
		if err := p.add(block); err != nil {
			return nil, err
		}
	}
	if decoded < countBegins(data) {
		return nil, kverr.BadParameterf("The PEM value holds a block that could not be decoded: check its BEGIN and END lines and its base64 content.")
	}
	return &p, nil
}

// add files one block.
func (p *pemParts) add(b *pem.Block) error {
	switch b.Type {
	case pemCert:
		if len(p.certs) == maxCerts {
			return errTooManyCerts(maxCerts + 1)
		}
		p.certs = append(p.certs, b.Bytes)
	case pemPKCS8, pemPKCS1, pemSEC1:
		if isEncrypted(b) {
			return errEncryptedPEM()
		}
		p.keys = append(p.keys, b)
	case pemEncPKCS8:
		return errEncryptedPEM()
	case pemECParams:
	default:
		return kverr.BadParameterf("The PEM value holds a block of unsupported type %q: only CERTIFICATE and PRIVATE KEY, RSA PRIVATE KEY or EC PRIVATE KEY blocks are accepted.", printable(b.Type))
	}
	return nil
}

// countBegins counts the BEGIN lines encoding/pem would look at.
func countBegins(data []byte) int {
	n := bytes.Count(data, []byte("\n-----BEGIN "))
	if bytes.HasPrefix(data, []byte("-----BEGIN ")) {
		n++
	}
	return n
}

// isEncrypted reports whether a key block uses RFC 1421 encryption.
func isEncrypted(b *pem.Block) bool {
	_, dek := b.Headers["DEK-Info"]
	return dek || strings.Contains(strings.ToUpper(b.Headers["Proc-Type"]), "ENCRYPTED")
}

func parseCerts(ders [][]byte) ([]*x509.Certificate, error) {
	certs := make([]*x509.Certificate, 0, len(ders))
	for i, der := range ders {
		c, err := x509.ParseCertificate(der)
		if err != nil {
			e := kverr.BadParameterf("Certificate %d of the PEM value could not be parsed as an X.509 certificate.", i+1)
			e.Cause = err
			return nil, e
		}
		certs = append(certs, c)
	}
	return certs, nil
}

// parsePEMKey parses a private key block by its type.
func parsePEMKey(b *pem.Block) (any, error) {
	if len(b.Bytes) > maxKeyDER {
		return nil, errUnsupportedKey()
	}
	var key any
	var err error
	switch b.Type {
	case pemPKCS1:
		key, err = x509.ParsePKCS1PrivateKey(b.Bytes)
	case pemSEC1:
		key, err = x509.ParseECPrivateKey(b.Bytes)
	default:
		key, err = x509.ParsePKCS8PrivateKey(b.Bytes)
	}
	if err != nil {
		e := kverr.BadParameterf("The %s block could not be parsed. Only RSA (2048 bits or more, up to %d) and EC (P-256, P-384, P-521) keys are supported.", b.Type, maxRSABits)
		e.Cause = err
		return nil, e
	}
	return key, nil
}

// printable returns a short, printable rendering of a block type for an
// error message.
func printable(s string) string {
	const limit = 40
	var sb strings.Builder
	for i := 0; i < len(s) && i < limit; i++ {
		c := s[i]
		if c < 0x20 || c > 0x7e {
			c = '?'
		}
		sb.WriteByte(c)
	}
	if len(s) > limit {
		sb.WriteString("...")
	}
	return sb.String()
}

func errEncryptedPEM() *kverr.Error {
	return kverr.BadParameterf("Encrypted PEM private keys are not supported: import the certificate as a PFX with a password instead, or use an unencrypted PEM key.")
}
