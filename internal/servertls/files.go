package servertls

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"time"
)

// File names in the directories of LoadOrCreate and Ephemeral.
const (
	caCertFile     = "ca.pem"
	caKeyFile      = "ca-key.pem"
	serverCertFile = "server.pem"
	serverKeyFile  = "server-key.pem"
)

// renewBefore is how long before its expiry LoadOrCreate replaces a leaf.
const renewBefore = 30 * 24 * time.Hour

// A Bundle is what the HTTPS listener needs.
type Bundle struct {
	Certificate tls.Certificate // chain and private key
	CAFile      string          // absolute path of the CA's PEM certificate; empty for FromFiles
}

// LoadOrCreate keeps a CA and a server certificate for sans in dir (made
// 0700): ca.pem and ca-key.pem, server.pem (the leaf alone) and
// server-key.pem. It creates the CA when ca.pem does not exist, and issues a
// new leaf from the same CA when the leaf is missing, unreadable, not from
// that CA, names other SANs or expires within 30 days.
func LoadOrCreate(dir string, sans []string) (*Bundle, error) {
	dir, err := privateDir(dir)
	if err != nil {
		return nil, fmt.Errorf("servertls: %w", err)
	}
	ca, err := loadOrCreateCA(dir)
	if err != nil {
		return nil, fmt.Errorf("servertls: %w", err)
	}
	cert, err := loadOrIssueLeaf(dir, ca, sans)
	if err != nil {
		return nil, fmt.Errorf("servertls: %w", err)
	}
	return &Bundle{Certificate: cert, CAFile: filepath.Join(dir, caCertFile)}, nil
}

// Ephemeral makes a new CA and a server certificate for sans, for dev mode,
// and writes only the CA certificate, as dir/ca.pem, so that clients can
// trust it (SSL_CERT_FILE, NODE_EXTRA_CA_CERTS, REQUESTS_CA_BUNDLE). It
// refuses a directory that holds LoadOrCreate's CA key.
func Ephemeral(dir string, sans []string) (*Bundle, error) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("servertls: %w", err)
	}
	if _, err := os.Stat(filepath.Join(dir, caKeyFile)); err == nil {
		return nil, fmt.Errorf("servertls: %s holds a persistent CA (%s); use another directory for dev mode", dir, caKeyFile)
	}
	ca, err := GenerateCA("keyhaven dev CA " + time.Now().UTC().Format(time.RFC3339))
	if err != nil {
		return nil, err
	}
	cert, err := ca.Issue(sans, leafValidity)
	if err != nil {
		return nil, err
	}
	caFile := filepath.Join(dir, caCertFile)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("servertls: %w", err)
	}
	if err := writeFile(caFile, ca.CertPEM(), 0o644); err != nil {
		return nil, fmt.Errorf("servertls: %w", err)
	}
	return &Bundle{Certificate: cert, CAFile: caFile}, nil
}

// FromFiles loads a certificate (chain) and its key that the user provides.
func FromFiles(certFile, keyFile string) (*Bundle, error) {
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, fmt.Errorf("servertls: %w", err)
	}
	if cert.Leaf == nil { // GODEBUG=x509keypairleaf=0
		if cert.Leaf, err = x509.ParseCertificate(cert.Certificate[0]); err != nil {
			return nil, fmt.Errorf("servertls: %s: %w", certFile, err)
		}
	}
	return &Bundle{Certificate: cert}, nil
}

// CertPEM returns the CA's certificate in PEM form.
func (ca *CA) CertPEM() []byte { return certPEM(ca.cert.Raw) }

func certPEM(der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

// WritePEM writes the CA's private key to keyFile (0600, PKCS #8) and then
// its certificate to certFile (0644).
func (ca *CA) WritePEM(certFile, keyFile string) error {
	return writePair(ca.CertPEM(), ca.key, certFile, keyFile)
}

// LoadCA reads a CA that WritePEM wrote.
func LoadCA(certFile, keyFile string) (*CA, error) {
	pair, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, err
	}
	cert, err := x509.ParseCertificate(pair.Certificate[0])
	if err != nil {
		return nil, err
	}
	key, ok := pair.PrivateKey.(*ecdsa.PrivateKey)
	if !ok || !cert.IsCA {
		return nil, fmt.Errorf("%s is not an ECDSA certificate authority", certFile)
	}
	return &CA{cert: cert, key: key}, nil
}

func privateDir(dir string) (string, error) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", err
	}
	return dir, os.Chmod(dir, 0o700)
}

// loadOrCreateCA loads dir's CA, or creates it when ca.pem does not exist.
// A CA that clients may trust is never replaced: a missing or damaged key
// next to an existing ca.pem is an error.
func loadOrCreateCA(dir string) (*CA, error) {
	certFile, keyFile := filepath.Join(dir, caCertFile), filepath.Join(dir, caKeyFile)
	if _, err := os.Stat(certFile); errors.Is(err, os.ErrNotExist) {
		ca, err := GenerateCA("keyhaven CA")
		if err != nil {
			return nil, err
		}
		return ca, ca.WritePEM(certFile, keyFile)
	}
	ca, err := LoadCA(certFile, keyFile)
	if err == nil && time.Now().After(ca.cert.NotAfter) {
		err = fmt.Errorf("the CA in %s expired on %s; move %s and %s away to create a new one",
			dir, ca.cert.NotAfter.Format(time.DateOnly), caCertFile, caKeyFile)
	}
	return ca, err
}

// loadOrIssueLeaf returns dir's leaf if it is still good for sans, or
// issues and writes a new one.
func loadOrIssueLeaf(dir string, ca *CA, sans []string) (tls.Certificate, error) {
	certFile, keyFile := filepath.Join(dir, serverCertFile), filepath.Join(dir, serverKeyFile)
	if cert, err := loadLeaf(certFile, keyFile, ca); err == nil && current(cert.Leaf, sans, time.Now()) {
		return cert, nil
	}
	cert, err := ca.Issue(sans, leafValidity)
	if err != nil {
		return tls.Certificate{}, err
	}
	return cert, writePair(certPEM(cert.Leaf.Raw), cert.PrivateKey, certFile, keyFile)
}

// loadLeaf reads a leaf written by loadOrIssueLeaf and checks that ca
// signed it.
func loadLeaf(certFile, keyFile string, ca *CA) (tls.Certificate, error) {
	pair, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return pair, err
	}
	leaf, err := x509.ParseCertificate(pair.Certificate[0])
	if err != nil {
		return pair, err
	}
	if err := leaf.CheckSignatureFrom(ca.cert); err != nil {
		return pair, err
	}
	return ca.chain(leaf, pair.PrivateKey), nil
}

// current reports whether leaf names exactly sans and stays valid for more
// than renewBefore after now.
func current(leaf *x509.Certificate, sans []string, now time.Time) bool {
	return slices.Equal(leafSANs(leaf), sanSet(sans)) && now.Add(renewBefore).Before(leaf.NotAfter)
}

// writePair writes key (PKCS #8, 0600) and then certPEM (0644), so that a
// certificate file never refers to a key that was not written.
func writePair(certPEM []byte, key crypto.PrivateKey, certFile, keyFile string) error {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return err
	}
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
	if err := writeFile(keyFile, keyPEM, 0o600); err != nil {
		return err
	}
	return writeFile(certFile, certPEM, 0o644)
}

// writeFile replaces path atomically: it writes a temporary file (created
// 0600, then set to perm) in the same directory and renames it.
func writeFile(path string, data []byte, perm os.FileMode) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name()) // fails harmlessly once renamed
	_, err = f.Write(data)
	if err = errors.Join(err, f.Chmod(perm), f.Sync(), f.Close()); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}
