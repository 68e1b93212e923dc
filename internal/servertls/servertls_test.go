package servertls

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/tls"
	"crypto/x509"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

var testSANs = []string{"vault.localhost", "*.vault.localhost", "127.0.0.1", "::1"}

func newCA(t *testing.T) *CA {
	t.Helper()
	ca, err := GenerateCA("test CA")
	if err != nil {
		t.Fatal(err)
	}
	return ca
}

func issue(t *testing.T, ca *CA, sans []string) tls.Certificate {
	t.Helper()
	cert, err := ca.Issue(sans, 24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return cert
}

// poolFromFile trusts only the CA certificate in file.
func poolFromFile(t *testing.T, file string) *x509.CertPool {
	t.Helper()
	pemBytes, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pemBytes) {
		t.Fatalf("%s holds no certificate", file)
	}
	return pool
}

func TestCA(t *testing.T) {
	ca := newCA(t)
	c := ca.cert
	checks := []struct {
		name string
		ok   bool
	}{
		{name: "self-signed", ok: c.CheckSignatureFrom(c) == nil},
		{name: "CA:true", ok: c.BasicConstraintsValid && c.IsCA},
		{name: "path length 0", ok: c.MaxPathLen == 0 && c.MaxPathLenZero},
		{name: "key usage CertSign|CRLSign", ok: c.KeyUsage == x509.KeyUsageCertSign|x509.KeyUsageCRLSign},
		{name: "P-256", ok: c.PublicKey.(*ecdsa.PublicKey).Curve == elliptic.P256()},
		{name: "10 years", ok: c.NotAfter.Sub(c.NotBefore) >= 10*365*24*time.Hour},
		{name: "128-bit serial", ok: c.SerialNumber.Sign() > 0 && c.SerialNumber.BitLen() <= 129},
		{name: "subject key id", ok: len(c.SubjectKeyId) == 20},
		{name: "common name", ok: c.Subject.CommonName == "test CA"},
	}
	for _, ch := range checks {
		if !ch.ok {
			t.Errorf("CA: %s does not hold", ch.name)
		}
	}
	if other := newCA(t); other.cert.SerialNumber.Cmp(c.SerialNumber) == 0 {
		t.Error("two CAs share a serial number")
	}
}

func TestIssue(t *testing.T) {
	ca := newCA(t)
	cert := issue(t, ca, testSANs)
	leaf := cert.Leaf
	checks := []struct {
		name string
		ok   bool
	}{
		{name: "Leaf set", ok: leaf != nil},
		{name: "chain is leaf, CA", ok: len(cert.Certificate) == 2 &&
			bytes.Equal(cert.Certificate[0], leaf.Raw) && bytes.Equal(cert.Certificate[1], ca.cert.Raw)},
		{name: "not a CA", ok: !leaf.IsCA},
		{name: "ServerAuth only", ok: slices.Equal(leaf.ExtKeyUsage, []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth})},
		{name: "DigitalSignature", ok: leaf.KeyUsage == x509.KeyUsageDigitalSignature},
		{name: "P-256 key", ok: cert.PrivateKey.(*ecdsa.PrivateKey).Curve == elliptic.P256()},
		{name: "authority key id", ok: bytes.Equal(leaf.AuthorityKeyId, ca.cert.SubjectKeyId)},
		{name: "DNS SANs", ok: slices.Equal(leaf.DNSNames, []string{"vault.localhost", "*.vault.localhost"})},
		{name: "IP SANs", ok: len(leaf.IPAddresses) == 2},
		{name: "validity", ok: leaf.NotAfter.Sub(time.Now()) > 23*time.Hour && leaf.NotAfter.Sub(time.Now()) <= 24*time.Hour},
	}
	for _, ch := range checks {
		if !ch.ok {
			t.Errorf("leaf: %s does not hold", ch.name)
		}
	}
	if _, err := ca.Issue(nil, time.Hour); err == nil {
		t.Error("Issue without SANs succeeded")
	}
	long, err := ca.Issue([]string{"x.example"}, 100*365*24*time.Hour)
	if err != nil || long.Leaf.NotAfter.After(ca.cert.NotAfter) {
		t.Errorf("a leaf asked for 100 years: %v; it must not outlive its CA", err)
	}
}

func TestLeafVerifiesForEachName(t *testing.T) {
	ca := newCA(t)
	cert := issue(t, ca, testSANs)
	roots := x509.NewCertPool()
	roots.AddCert(ca.cert)
	tests := []struct {
		name string
		ok   bool
	}{
		{name: "vault.localhost", ok: true},
		{name: "myvault.vault.localhost", ok: true}, // through the wildcard
		{name: "127.0.0.1", ok: true},
		{name: "::1", ok: true},
		{name: "a.b.vault.localhost", ok: false}, // a wildcard covers one label
		{name: "other.localhost", ok: false},
		{name: "127.0.0.2", ok: false},
	}
	for _, tt := range tests {
		_, err := cert.Leaf.Verify(x509.VerifyOptions{
			DNSName:   tt.name,
			Roots:     roots,
			KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		})
		if (err == nil) != tt.ok {
			t.Errorf("Verify(%s) = %v, want ok=%v", tt.name, err, tt.ok)
		}
	}
}

// TestHandshake runs real TLS handshakes on 127.0.0.1 with clients that
// trust only ca.pem.
func TestHandshake(t *testing.T) {
	b, err := LoadOrCreate(t.TempDir(), testSANs)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := tls.Listen("tcp", "127.0.0.1:0", ServerConfig(b))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go serveHello(ln)

	roots := poolFromFile(t, b.CAFile)
	tests := []struct {
		name       string
		serverName string
		maxVersion uint16
		wantProto  string
		wantErr    bool
	}{
		{name: "vault host via wildcard", serverName: "myvault.vault.localhost", wantProto: "h2"},
		{name: "IPv4 address", serverName: "127.0.0.1", wantProto: "h2"},
		{name: "TLS 1.2", serverName: "vault.localhost", maxVersion: tls.VersionTLS12, wantProto: "h2"},
		{name: "TLS 1.1 refused", serverName: "vault.localhost", maxVersion: tls.VersionTLS11, wantErr: true},
		{name: "name not in certificate", serverName: "example.com", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			conn, err := tls.Dial("tcp", ln.Addr().String(), &tls.Config{
				RootCAs:    roots,
				ServerName: tt.serverName,
				MaxVersion: tt.maxVersion,
				NextProtos: []string{"h2", "http/1.1"},
			})
			if tt.wantErr {
				if err == nil {
					conn.Close()
					t.Fatal("handshake succeeded")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			if got := conn.ConnectionState().NegotiatedProtocol; got != tt.wantProto {
				t.Errorf("ALPN = %q, want %q", got, tt.wantProto)
			}
			if msg, err := io.ReadAll(conn); err != nil || string(msg) != "hello" {
				t.Errorf("read %q, %v", msg, err)
			}
		})
	}
}

func serveHello(ln net.Listener) {
	for {
		conn, err := ln.Accept()
		if err != nil {
			return
		}
		go func() {
			defer conn.Close()
			if conn.(*tls.Conn).Handshake() == nil {
				conn.Write([]byte("hello"))
			}
		}()
	}
}

func TestLoadOrCreateKeepsCAAndLeaf(t *testing.T) {
	dir := t.TempDir()
	first, err := LoadOrCreate(dir, testSANs)
	if err != nil {
		t.Fatal(err)
	}
	caPEM := read(t, dir, caCertFile)
	again, err := LoadOrCreate(dir, []string{"::1", "127.0.0.1", "*.VAULT.localhost", "vault.localhost"}) // same set
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(again.Certificate.Leaf.Raw, first.Certificate.Leaf.Raw) {
		t.Error("the leaf was re-issued although the SANs did not change")
	}
	if len(again.Certificate.Certificate) != 2 || again.Certificate.Leaf == nil {
		t.Error("a loaded leaf lacks its chain or Leaf")
	}

	changed, err := LoadOrCreate(dir, []string{"vault.localhost", "kh.example.com"})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(read(t, dir, caCertFile), caPEM) {
		t.Error("the CA changed")
	}
	if got := leafSANs(changed.Certificate.Leaf); !slices.Equal(got, []string{"kh.example.com", "vault.localhost"}) {
		t.Errorf("after a SAN change the leaf names %q", got)
	}
	if first.CAFile != filepath.Join(dir, "ca.pem") || !filepath.IsAbs(first.CAFile) {
		t.Errorf("CAFile = %q", first.CAFile)
	}
}

func TestLoadOrCreateRenewsNearExpiry(t *testing.T) {
	dir := t.TempDir()
	if _, err := LoadOrCreate(dir, testSANs); err != nil {
		t.Fatal(err)
	}
	ca, err := LoadCA(filepath.Join(dir, caCertFile), filepath.Join(dir, caKeyFile))
	if err != nil {
		t.Fatal(err)
	}
	short, err := ca.Issue(testSANs, 10*24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if err := writePair(certPEM(short.Leaf.Raw), short.PrivateKey, filepath.Join(dir, serverCertFile), filepath.Join(dir, serverKeyFile)); err != nil {
		t.Fatal(err)
	}
	b, err := LoadOrCreate(dir, testSANs)
	if err != nil {
		t.Fatal(err)
	}
	if time.Until(b.Certificate.Leaf.NotAfter) < renewBefore {
		t.Errorf("the leaf expiring in 10 days was kept (expires %v)", b.Certificate.Leaf.NotAfter)
	}
	if err := b.Certificate.Leaf.CheckSignatureFrom(ca.cert); err != nil {
		t.Errorf("the renewed leaf is not from the same CA: %v", err)
	}
}

func TestLoadOrCreateNeverReplacesCA(t *testing.T) {
	dir := t.TempDir()
	if _, err := LoadOrCreate(dir, testSANs); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(dir, caKeyFile)); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadOrCreate(dir, testSANs); err == nil {
		t.Fatal("LoadOrCreate succeeded without the CA key")
	}
	if _, err := os.Stat(filepath.Join(dir, caKeyFile)); !os.IsNotExist(err) {
		t.Error("a new CA key was written next to the old ca.pem")
	}
}

func TestFileModes(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "tls")
	if err := os.Mkdir(dir, 0o755); err != nil { // too open: LoadOrCreate tightens it
		t.Fatal(err)
	}
	if _, err := LoadOrCreate(dir, testSANs); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		want os.FileMode
	}{
		{name: ".", want: 0o700 | os.ModeDir},
		{name: caCertFile, want: 0o644},
		{name: caKeyFile, want: 0o600},
		{name: serverCertFile, want: 0o644},
		{name: serverKeyFile, want: 0o600},
	}
	for _, tt := range tests {
		fi, err := os.Stat(filepath.Join(dir, tt.name))
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode() != tt.want {
			t.Errorf("%s: mode %v, want %v", tt.name, fi.Mode(), tt.want)
		}
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 4 {
		t.Errorf("dir holds %d entries, want 4 (no temporary files left)", len(entries))
	}
}

func TestOpenSSLVerify(t *testing.T) {
	openssl, err := exec.LookPath("openssl")
	if err != nil {
		t.Skip("openssl not installed")
	}
	dir := t.TempDir()
	if _, err := LoadOrCreate(dir, testSANs); err != nil {
		t.Fatal(err)
	}
	args := [][]string{
		{"verify", "-CAfile", "ca.pem", "server.pem"},
		{"verify", "-CAfile", "ca.pem", "-purpose", "sslserver", "-verify_hostname", "kv1.vault.localhost", "server.pem"},
		{"verify", "-CAfile", "ca.pem", "-verify_ip", "::1", "server.pem"},
		{"pkey", "-in", "server-key.pem", "-noout"},
	}
	for _, a := range args {
		cmd := exec.Command(openssl, a...)
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("openssl %q: %v\n%s", a, err, out)
		}
	}
}

func TestEphemeral(t *testing.T) {
	dir := t.TempDir()
	var prev *Bundle
	for range 3 {
		b, err := Ephemeral(dir, testSANs)
		if err != nil {
			t.Fatal(err)
		}
		if prev != nil && bytes.Equal(prev.Certificate.Certificate[1], b.Certificate.Certificate[1]) {
			t.Error("Ephemeral reused a CA")
		}
		prev = b
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 || entries[0].Name() != "ca.pem" {
		t.Errorf("dir holds %v, want only ca.pem", entries)
	}
	roots := poolFromFile(t, prev.CAFile)
	if _, err := prev.Certificate.Leaf.Verify(x509.VerifyOptions{DNSName: "kv.vault.localhost", Roots: roots}); err != nil {
		t.Errorf("the leaf does not verify against ca.pem: %v", err)
	}
}

func TestEphemeralRefusesPersistentDir(t *testing.T) {
	dir := t.TempDir()
	if _, err := LoadOrCreate(dir, testSANs); err != nil {
		t.Fatal(err)
	}
	caPEM := read(t, dir, caCertFile)
	if _, err := Ephemeral(dir, testSANs); err == nil {
		t.Error("Ephemeral wrote into LoadOrCreate's directory")
	}
	if !bytes.Equal(read(t, dir, caCertFile), caPEM) {
		t.Error("the persistent ca.pem was replaced")
	}
}

func TestFromFiles(t *testing.T) {
	dir := t.TempDir()
	if _, err := LoadOrCreate(dir, testSANs); err != nil {
		t.Fatal(err)
	}
	b, err := FromFiles(filepath.Join(dir, serverCertFile), filepath.Join(dir, serverKeyFile))
	if err != nil {
		t.Fatal(err)
	}
	if b.CAFile != "" || b.Certificate.Leaf == nil || b.Certificate.PrivateKey == nil {
		t.Errorf("FromFiles = %+v", b)
	}
	if _, err := FromFiles(filepath.Join(dir, serverCertFile), filepath.Join(dir, caKeyFile)); err == nil {
		t.Error("FromFiles accepted a key that does not match")
	}
	if _, err := FromFiles(filepath.Join(dir, "absent.pem"), filepath.Join(dir, serverKeyFile)); err == nil {
		t.Error("FromFiles accepted a missing file")
	}
}

func TestServerConfig(t *testing.T) {
	b := &Bundle{Certificate: issue(t, newCA(t), testSANs)}
	c := ServerConfig(b)
	if c.MinVersion != tls.VersionTLS12 {
		t.Errorf("MinVersion = %x", c.MinVersion)
	}
	if !slices.Equal(c.NextProtos, []string{"h2", "http/1.1"}) {
		t.Errorf("NextProtos = %q", c.NextProtos)
	}
	insecure := tls.InsecureCipherSuites()
	for _, id := range c.CipherSuites {
		for _, s := range insecure {
			if s.ID == id {
				t.Errorf("insecure suite %s", s.Name)
			}
		}
		if name := tls.CipherSuiteName(id); !strings.Contains(name, "_GCM_") && !strings.Contains(name, "_CHACHA20_POLY1305") {
			t.Errorf("non-AEAD suite %s", name)
		}
	}
}

func BenchmarkEphemeral(b *testing.B) {
	dir := b.TempDir()
	for b.Loop() {
		if _, err := Ephemeral(dir, testSANs); err != nil {
			b.Fatal(err)
		}
	}
}

func read(t *testing.T, dir, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		t.Fatal(err)
	}
	return data
}
