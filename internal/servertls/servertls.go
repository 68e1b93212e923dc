// Package servertls provides the certificates of keyhaven's HTTPS listener:
// a private CA and the server certificates it issues, kept on disk in
// production, made afresh in dev mode, or loaded from files the user gives.
//
// Guarantees:
//   - The keys it generates are ECDSA P-256; serial numbers are random
//     128-bit values.
//   - A CA is self-signed for 10 years, may sign leaf certificates only
//     (path length 0), and is never replaced silently: LoadOrCreate creates
//     one only when its ca.pem does not exist.
//   - A leaf is for TLS servers only (ServerAuth), names exactly the SANs it
//     was issued for (DNS names, wildcards, IP addresses), never outlives its
//     CA, and is returned with its chain (leaf, CA) and Leaf set.
//   - Private key files are 0600 in a 0700 directory, and every file is
//     written atomically (temporary file, then rename).
//   - ServerConfig accepts TLS 1.2 and 1.3 with AEAD cipher suites only.
package servertls

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"math/big"
	"net"
	"slices"
	"strings"
	"time"
)

const (
	caValidity = 10 * 365 * 24 * time.Hour
	// leafValidity is how long the leaves of LoadOrCreate and Ephemeral last.
	leafValidity = 365 * 24 * time.Hour
	// backdate tolerates clients whose clocks run a little late.
	backdate = time.Hour
)

// A CA is a certificate authority that issues server certificates.
type CA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
}

// GenerateCA makes a self-signed CA named commonName.
func GenerateCA(commonName string) (*CA, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		Subject:               pkix.Name{CommonName: commonName, Organization: []string{"keyhaven"}},
		NotBefore:             now.Add(-backdate),
		NotAfter:              now.Add(caValidity),
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLen:            0,
		MaxPathLenZero:        true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
	}
	cert, err := sign(tmpl, nil, &key.PublicKey, key)
	if err != nil {
		return nil, fmt.Errorf("servertls: CA certificate: %w", err)
	}
	return &CA{cert: cert, key: key}, nil
}

// Issue makes a server certificate for sans, each an IP address or a DNS
// name (wildcards such as *.vault.localhost included), valid for validity
// but never past the CA's own expiry.
func (ca *CA) Issue(sans []string, validity time.Duration) (tls.Certificate, error) {
	if len(sans) == 0 {
		return tls.Certificate{}, errors.New("servertls: a certificate needs at least one name")
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		Subject:     pkix.Name{CommonName: sans[0]},
		NotBefore:   now.Add(-backdate),
		NotAfter:    minTime(now.Add(validity), ca.cert.NotAfter),
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	for _, san := range sans {
		if ip := net.ParseIP(san); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, san)
		}
	}
	leaf, err := sign(tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("servertls: server certificate: %w", err)
	}
	return ca.chain(leaf, key), nil
}

// chain assembles the tls.Certificate of leaf: chain (leaf, CA), Leaf set.
func (ca *CA) chain(leaf *x509.Certificate, key crypto.PrivateKey) tls.Certificate {
	return tls.Certificate{
		Certificate: [][]byte{leaf.Raw, ca.cert.Raw},
		PrivateKey:  key,
		Leaf:        leaf,
	}
}

// sign fills tmpl's serial number and subject key id, signs it with
// signerKey as parent (itself when parent is nil), and parses the result.
func sign(tmpl, parent *x509.Certificate, pub *ecdsa.PublicKey, signerKey *ecdsa.PrivateKey) (*x509.Certificate, error) {
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 128))
	if err != nil {
		return nil, err
	}
	tmpl.SerialNumber = serial.Add(serial, big.NewInt(1)) // never zero
	if tmpl.SubjectKeyId, err = subjectKeyID(pub); err != nil {
		return nil, err
	}
	if parent == nil {
		parent = tmpl
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, pub, signerKey)
	if err != nil {
		return nil, err
	}
	return x509.ParseCertificate(der)
}

// subjectKeyID is RFC 7093's method 1: the leftmost 160 bits of the SHA-256
// hash of the public key's bits.
func subjectKeyID(pub *ecdsa.PublicKey) ([]byte, error) {
	k, err := pub.ECDH()
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(k.Bytes())
	return sum[:20], nil
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

// sanSet returns the names a certificate for sans carries, normalised
// (lower-case DNS names, canonical IPs), sorted and without repeats, so that
// two lists can be compared.
func sanSet(sans []string) []string {
	out := make([]string, 0, len(sans))
	for _, s := range sans {
		if ip := net.ParseIP(s); ip != nil {
			out = append(out, ip.String())
		} else {
			out = append(out, strings.ToLower(s))
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// leafSANs returns the SANs of cert in sanSet's form.
func leafSANs(cert *x509.Certificate) []string {
	sans := slices.Clone(cert.DNSNames)
	for _, ip := range cert.IPAddresses {
		sans = append(sans, ip.String())
	}
	return sanSet(sans)
}

// ServerConfig returns the listener's TLS configuration for b: TLS 1.2 or
// newer, ECDHE with AES-GCM or ChaCha20-Poly1305 under TLS 1.2 (TLS 1.3's
// suites are all AEAD), and h2 before http/1.1 in ALPN.
func ServerConfig(b *Bundle) *tls.Config {
	return &tls.Config{
		MinVersion:   tls.VersionTLS12,
		Certificates: []tls.Certificate{b.Certificate},
		CipherSuites: []uint16{
			tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
			tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
			tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
			tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
			tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
			tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
		},
		NextProtos: []string{"h2", "http/1.1"},
	}
}
