package bundle

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/keyhaven/keyhaven/internal/kverr"
	"software.sslmate.com/src/go-pkcs12"
)

// assertBundle checks b against the expected leaf, chain order and key.
func assertBundle(t *testing.T, b *Bundle, leaf *x509.Certificate, chain []*x509.Certificate, key crypto.Signer) {
	t.Helper()
	if b == nil || b.Leaf == nil {
		t.Fatal("no bundle or no leaf")
	}
	if !b.Leaf.Equal(leaf) {
		t.Errorf("leaf = %q, want %q", b.Leaf.Subject, leaf.Subject)
	}
	if got, want := subjects(b.Chain), subjects(chain); got != want {
		t.Errorf("chain = %s, want %s", got, want)
	}
	for i := range min(len(b.Chain), len(chain)) {
		if !b.Chain[i].Equal(chain[i]) {
			t.Errorf("chain[%d] is not the expected certificate", i)
		}
	}
	switch {
	case key == nil && b.Key != nil:
		t.Errorf("key = %T, want none", b.Key)
	case key != nil && b.Key == nil:
		t.Error("key missing")
	case key != nil && !b.Key.(interface{ Equal(crypto.PrivateKey) bool }).Equal(key):
		t.Error("key differs from the original")
	}
}

func subjects(certs []*x509.Certificate) string {
	names := make([]string, len(certs))
	for i, c := range certs {
		names[i] = c.Subject.CommonName
	}
	return "[" + strings.Join(names, ", ") + "]"
}

// assertBadParameter checks that err is a *kverr.Error of kind BadParameter
// whose message contains want and none of secrets.
func assertBadParameter(t *testing.T, err error, want string, secrets ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want %q", want)
	}
	var e *kverr.Error
	if !errors.As(err, &e) {
		t.Fatalf("error %T is not a *kverr.Error: %v", err, err)
	}
	if e.Kind != kverr.BadParameter || e.Code != "BadParameter" {
		t.Errorf("kind %v code %q, want BadParameter", e.Kind, e.Code)
	}
	if !strings.Contains(e.Message, want) {
		t.Errorf("message %q does not contain %q", e.Message, want)
	}
	for _, s := range secrets {
		s = strings.TrimSpace(s)
		if len(s) >= 4 && (strings.Contains(e.Message, s) || strings.Contains(err.Error(), s)) {
			t.Errorf("error %q leaks input %q", err.Error(), s)
		}
	}
}

func mustPFX(t *testing.T, b *Bundle) string {
	t.Helper()
	data, err := EncodePFX(b)
	if err != nil {
		t.Fatalf("EncodePFX: %v", err)
	}
	return base64.StdEncoding.EncodeToString(data)
}

func TestRoundTripPFX(t *testing.T) {
	for _, c := range chains() {
		t.Run(c.name, func(t *testing.T) {
			value := mustPFX(t, c.bundle())
			for _, ct := range []string{"", ContentTypePFX} {
				b, got, err := Parse(value, "", ct, true, false)
				if err != nil {
					t.Fatalf("Parse(%q): %v", ct, err)
				}
				if got != ContentTypePFX {
					t.Errorf("content type = %q", got)
				}
				assertBundle(t, b, c.leaf, []*x509.Certificate{c.inter, c.root}, c.leafKey)
			}
		})
	}
}

func TestRoundTripPEM(t *testing.T) {
	for _, c := range chains() {
		t.Run(c.name, func(t *testing.T) {
			value, err := EncodePEM(c.bundle())
			if err != nil {
				t.Fatal(err)
			}
			if got := pemTypes(value); got != "PRIVATE KEY,CERTIFICATE,CERTIFICATE,CERTIFICATE" {
				t.Errorf("blocks = %s", got)
			}
			if !strings.HasSuffix(value, "-----\n") {
				t.Error("PEM is not newline-terminated")
			}
			for _, ct := range []string{"", ContentTypePEM} {
				b, got, err := Parse(value, "", ct, true, false)
				if err != nil {
					t.Fatalf("Parse(%q): %v", ct, err)
				}
				if got != ContentTypePEM {
					t.Errorf("content type = %q", got)
				}
				assertBundle(t, b, c.leaf, []*x509.Certificate{c.inter, c.root}, c.leafKey)
			}
		})
	}
}

func pemTypes(s string) string {
	var types []string
	for rest := []byte(s); ; {
		var b *pem.Block
		if b, rest = pem.Decode(rest); b == nil {
			return strings.Join(types, ",")
		}
		types = append(types, b.Type)
	}
}

func TestEncode(t *testing.T) {
	c := ecChain()
	for _, ct := range []string{ContentTypePFX, ContentTypePEM, ""} {
		value, err := Encode(c.bundle(), ct)
		if err != nil {
			t.Fatalf("Encode(%q): %v", ct, err)
		}
		want := ct
		if ct == "" {
			want = ContentTypePFX
		}
		if want == ContentTypePFX {
			if _, err := base64.StdEncoding.Strict().DecodeString(value); err != nil {
				t.Errorf("Encode(%q) is not padded standard base64: %v", ct, err)
			}
		}
		b, got, err := Parse(value, "", want, true, false)
		if err != nil {
			t.Fatalf("Parse(Encode(%q)): %v", ct, err)
		}
		if got != want {
			t.Errorf("content type = %q, want %q", got, want)
		}
		assertBundle(t, b, c.leaf, []*x509.Certificate{c.inter, c.root}, c.leafKey)
	}
}

func TestBase64Variants(t *testing.T) {
	c := ecChain()
	data, err := EncodePFX(c.bundle())
	if err != nil {
		t.Fatal(err)
	}
	std := base64.StdEncoding.EncodeToString(data)
	variants := map[string]string{
		"padded":   std,
		"unpadded": base64.RawStdEncoding.EncodeToString(data),
		"wrapped":  wrap(std, 64, "\r\n") + "\n",
		"spaces":   "  " + wrap(std, 76, " \t") + "  ",
		"url":      base64.URLEncoding.EncodeToString(data),
		"rawurl":   base64.RawURLEncoding.EncodeToString(data),
	}
	for name, value := range variants {
		b, _, err := Parse(value, "", "", true, false)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		assertBundle(t, b, c.leaf, []*x509.Certificate{c.inter, c.root}, c.leafKey)
	}
}

func wrap(s string, n int, sep string) string {
	var sb strings.Builder
	for len(s) > n {
		sb.WriteString(s[:n] + sep)
		s = s[n:]
	}
	sb.WriteString(s)
	return sb.String()
}

func TestCertificatesOnly(t *testing.T) {
	for _, c := range chains() {
		t.Run(c.name, func(t *testing.T) {
			b := &Bundle{Leaf: c.leaf, Chain: []*x509.Certificate{c.inter, c.root}}
			pfx := mustPFX(t, b)
			pemValue, err := EncodePEM(b)
			if err != nil {
				t.Fatal(err)
			}
			if got := pemTypes(pemValue); got != "CERTIFICATE,CERTIFICATE,CERTIFICATE" {
				t.Errorf("blocks = %s", got)
			}
			for _, value := range []string{pfx, pemValue} {
				got, _, err := Parse(value, "", "", false, false)
				if err != nil {
					t.Fatal(err)
				}
				assertBundle(t, got, c.leaf, []*x509.Certificate{c.inter, c.root}, nil)
				_, _, err = Parse(value, "", "", true, false)
				assertBadParameter(t, err, "no private key")
			}
		})
	}
}

// TestCertificatesOnlyLeafSelection: without a key, the leaf is the
// certificate that issued no other one, wherever it stands.
func TestCertificatesOnlyLeafSelection(t *testing.T) {
	c := rsaChain()
	value := certPEM(c.root) + certPEM(c.inter) + certPEM(c.leaf)
	b, _, err := Parse(value, "", "", false, false)
	if err != nil {
		t.Fatal(err)
	}
	assertBundle(t, b, c.leaf, []*x509.Certificate{c.inter, c.root}, nil)

	b, _, err = Parse(value, "", "", false, true)
	if err != nil {
		t.Fatal(err)
	}
	assertBundle(t, b, c.root, []*x509.Certificate{c.inter, c.leaf}, nil)
}

func TestPEMEveryOrder(t *testing.T) {
	for _, c := range chains() {
		t.Run(c.name, func(t *testing.T) {
			blocks := []string{keyPEM(t, c.leafKey), certPEM(c.leaf), certPEM(c.inter), certPEM(c.root)}
			for _, p := range permutations(len(blocks)) {
				var sb strings.Builder
				for _, i := range p {
					sb.WriteString(blocks[i])
				}
				b, _, err := Parse(sb.String(), "", "", true, false)
				if err != nil {
					t.Fatalf("order %v: %v", p, err)
				}
				assertBundle(t, b, c.leaf, []*x509.Certificate{c.inter, c.root}, c.leafKey)
			}
		})
	}
}

func permutations(n int) [][]int {
	if n == 1 {
		return [][]int{{0}}
	}
	var out [][]int
	for _, p := range permutations(n - 1) {
		for i := 0; i <= len(p); i++ {
			q := append(append(append([]int{}, p[:i]...), n-1), p[i:]...)
			out = append(out, q)
		}
	}
	return out
}

// TestPEMDecorations: text outside blocks, EC PARAMETERS, CRLF line ends
// and the PKCS#1 and SEC 1 key formats are accepted.
func TestPEMDecorations(t *testing.T) {
	for _, c := range chains() {
		t.Run(c.name, func(t *testing.T) {
			value := "Bag Attributes\n    localKeyID: 01 02 03\nsubject=CN = x\n" +
				certPEM(c.inter) + "some comment\n" +
				"-----BEGIN EC PARAMETERS-----\nBggqhkjOPQMBBw==\n-----END EC PARAMETERS-----\n" +
				legacyKeyPEM(t, c.leafKey) + "\n\n" + certPEM(c.root) + certPEM(c.leaf) + "trailing text"
			for name, v := range map[string]string{"lf": value, "crlf": strings.ReplaceAll(value, "\n", "\r\n")} {
				b, ct, err := Parse(v, "", "", true, false)
				if err != nil {
					t.Fatalf("%s: %v", name, err)
				}
				if ct != ContentTypePEM {
					t.Errorf("content type = %q", ct)
				}
				assertBundle(t, b, c.leaf, []*x509.Certificate{c.inter, c.root}, c.leafKey)
			}
		})
	}
}

func TestPreserveOrder(t *testing.T) {
	c := ecChain()
	key := keyPEM(t, c.leafKey)
	given := certPEM(c.leaf) + certPEM(c.root) + certPEM(c.inter) + key

	b, _, err := Parse(given, "", "", true, true)
	if err != nil {
		t.Fatal(err)
	}
	assertBundle(t, b, c.leaf, []*x509.Certificate{c.root, c.inter}, c.leafKey)

	b, _, err = Parse(given, "", "", true, false)
	if err != nil {
		t.Fatal(err)
	}
	assertBundle(t, b, c.leaf, []*x509.Certificate{c.inter, c.root}, c.leafKey)

	_, _, err = Parse(certPEM(c.inter)+certPEM(c.leaf)+key, "", "", true, true)
	assertBadParameter(t, err, "The private key does not match the certificate.")

	pfx := mustPFX(t, &Bundle{Leaf: c.leaf, Chain: []*x509.Certificate{c.root, c.inter}, Key: c.leafKey})
	b, _, err = Parse(pfx, "", "", true, true)
	if err != nil {
		t.Fatal(err)
	}
	assertBundle(t, b, c.leaf, []*x509.Certificate{c.root, c.inter}, c.leafKey)
	b, _, err = Parse(pfx, "", "", true, false)
	if err != nil {
		t.Fatal(err)
	}
	assertBundle(t, b, c.leaf, []*x509.Certificate{c.inter, c.root}, c.leafKey)
}

// TestChainLinkage: certificates off the leaf's path go last in input
// order, and a CA with the right name but the wrong key is not taken for
// the issuer.
func TestChainLinkage(t *testing.T) {
	c := ecChain()
	otherKey := ecKey(elliptic.P256())()
	x := selfSigned("unrelated-x", otherKey)
	y := selfSigned("unrelated-y", otherKey)
	impostor := makeCert(caTemplate(c.inter.Subject.CommonName), c.root, otherKey, c.rootKey)
	value := certPEM(x) + certPEM(impostor) + certPEM(c.root) + keyPEM(t, c.leafKey) +
		certPEM(c.leaf) + certPEM(y) + certPEM(c.inter)
	b, _, err := Parse(value, "", "", true, false)
	if err != nil {
		t.Fatal(err)
	}
	assertBundle(t, b, c.leaf, []*x509.Certificate{c.inter, c.root, x, impostor, y}, c.leafKey)
}

func TestKeyTypes(t *testing.T) {
	cases := map[string]crypto.Signer{
		"P-384":    ecKey(elliptic.P384())(),
		"P-521":    ecKey(elliptic.P521())(),
		"RSA-3072": rsaKey(3072)(),
	}
	for name, key := range cases {
		cert := selfSigned("key-"+name, key)
		value := certPEM(cert) + keyPEM(t, key)
		b, _, err := Parse(value, "", "", true, false)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		assertBundle(t, b, cert, nil, key)
		pfx := mustPFX(t, b)
		if b, _, err = Parse(pfx, "", "", true, false); err != nil {
			t.Errorf("%s PFX: %v", name, err)
			continue
		}
		assertBundle(t, b, cert, nil, key)
	}
}

func TestParseErrors(t *testing.T) {
	c := ecChain()
	pfx := mustPFX(t, c.bundle())
	leafPEM := certPEM(c.leaf)
	goodKey := keyPEM(t, c.leafKey)
	strangerKey := keyPEM(t, ecKey(elliptic.P256())())
	weak := rsaKey(1024)()
	p224 := ecKey(elliptic.P224())()
	_, edKey, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	many := strings.Repeat(certPEM(c.root), maxCerts+1)
	corrupt := strings.Replace(leafPEM, "M", "*", 3)
	big := base64.StdEncoding.EncodeToString(make([]byte, maxDecoded+1))
	bigPEM := string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: make([]byte, maxDecoded+1)}))
	encryptedLegacy := string(pem.EncodeToMemory(&pem.Block{
		Type:    "RSA PRIVATE KEY",
		Headers: map[string]string{"Proc-Type": "4,ENCRYPTED", "DEK-Info": "AES-256-CBC,00112233445566778899AABBCCDDEEFF"},
		Bytes:   []byte("ciphertext ciphertext ciphertext"),
	}))
	encryptedPKCS8 := string(pem.EncodeToMemory(&pem.Block{Type: "ENCRYPTED PRIVATE KEY", Bytes: []byte("ciphertext ciphertext")}))
	costly, err := pkcs12.Modern2023.WithIterations(maxIter+1).Encode(c.leafKey, c.leaf, nil, "")
	if err != nil {
		t.Fatal(err)
	}

	cases := []struct {
		name, value, password, ct string
		requireKey                bool
		want                      string
	}{
		{"garbage base64", "This is *not* base64 at all, sorry!", "", "", true, "neither PEM text nor valid base64"},
		{"base64 not PFX", base64.StdEncoding.EncodeToString([]byte("hello, this is not a PKCS#12 file at all")), "", "", true, "not a valid PFX"},
		{"wrong password", pfx, "hunter2-password", "", true, "The PFX could not be decoded: wrong password or corrupt data."},
		{"password not UCS-2", pfx, "pass\U0001F600word", "", true, "password holds characters"},
		{"truncated PFX", pfx[:len(pfx)/2], "", "", true, "not a valid PFX"},
		{"empty", "", "", "", true, "empty"},
		{"blank", " \n\t ", "", "", true, "empty"},
		{"mismatched key", leafPEM + certPEM(c.inter) + strangerKey, "", "", true, "The private key does not match the certificate."},
		{"mismatched key preserved", leafPEM + strangerKey, "", "", true, "The private key does not match the certificate."},
		{"two keys", goodKey + leafPEM + legacyKeyPEM(t, c.leafKey), "", "", true, "The PEM value holds 2 private keys; a certificate bundle has one."},
		{"no certificate", goodKey, "", "", true, "The PEM value has no certificate."},
		{"no key", leafPEM, "", "", true, "no private key"},
		{"RSA 1024", certPEM(selfSigned("weak", weak)) + keyPEM(t, weak), "", "", true, "Only RSA (2048 bits or more"},
		{"RSA 1024 no key", certPEM(selfSigned("weak", weak)), "", "", false, "Only RSA (2048 bits or more"},
		{"P-224", certPEM(selfSigned("p224", p224)) + keyPEM(t, p224), "", "", true, "EC (P-256, P-384, P-521)"},
		{"Ed25519", certPEM(selfSigned("ed", edKey)) + keyPEM(t, edKey), "", "", true, "Only RSA"},
		{"encrypted PKCS#8", leafPEM + encryptedPKCS8, "", "", true, "Encrypted PEM private keys are not supported"},
		{"encrypted legacy", leafPEM + encryptedLegacy, "", "", true, "Encrypted PEM private keys are not supported"},
		{"PEM as PFX", leafPEM + goodKey, "", ContentTypePFX, true, "does not match the content type application/x-pkcs12"},
		{"PFX as PEM", pfx, "", ContentTypePEM, true, "does not match the content type application/x-pem-file"},
		{"unknown content type", pfx, "", "text/plain", true, "content type is not supported"},
		{"oversize PFX", big, "", "", true, "too large"},
		{"oversize PEM", bigPEM, "", "", true, "too large"},
		{"oversize text", strings.Repeat("A", maxValue+1), "", "", true, "too large"},
		{"unknown block", leafPEM + "-----BEGIN FOO BAR-----\nAAAA\n-----END FOO BAR-----\n", "", "", true, `unsupported type "FOO BAR"`},
		{"corrupt block", corrupt + goodKey, "", "", true, "could not be decoded"},
		{"bad certificate", "-----BEGIN CERTIFICATE-----\nAAECAwQF\n-----END CERTIFICATE-----\n" + goodKey, "", "", true, "Certificate 1 of the PEM value could not be parsed"},
		{"bad key", leafPEM + "-----BEGIN EC PRIVATE KEY-----\nAAECAwQF\n-----END EC PRIVATE KEY-----\n", "", "", true, "EC PRIVATE KEY block could not be parsed"},
		{"too many certificates", many, "", "", false, "the limit is 50"},
		{"no marker", "-----BEGIN", "", "", true, "has no certificate"},
		{"costly PFX", base64.StdEncoding.EncodeToString(costly), "", "", true, "key derivation iterations"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b, ct, err := Parse(tc.value, tc.password, tc.ct, tc.requireKey, false)
			if b != nil || ct != "" {
				t.Errorf("got a bundle (%q) with the error", ct)
			}
			assertBadParameter(t, err, tc.want, tc.value, tc.password)
		})
	}
}

func TestEncodeErrors(t *testing.T) {
	c := rsaChain()
	weak := rsaKey(1024)()
	cases := map[string]*Bundle{
		"nil":          nil,
		"no leaf":      {Chain: []*x509.Certificate{c.root}},
		"nil in chain": {Leaf: c.leaf, Chain: []*x509.Certificate{nil}},
		"wrong key":    {Leaf: c.leaf, Key: c.interKey},
		"weak key":     {Leaf: selfSigned("weak", weak), Key: weak},
		"typed nil":    {Leaf: c.leaf, Key: (*ecdsa.PrivateKey)(nil)},
	}
	for name, b := range cases {
		for _, ct := range []string{ContentTypePFX, ContentTypePEM} {
			_, err := Encode(b, ct)
			if e := kverr.As(err); e == nil || e.Kind != kverr.BadParameter {
				t.Errorf("%s %s: err = %v, want BadParameter", name, ct, err)
			}
		}
	}
	_, err := Encode(c.bundle(), "text/plain")
	assertBadParameter(t, err, "content type is not supported")
}

func ExampleParse() {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	cert := selfSigned("example.keyhaven.test", key)
	value, _ := Encode(&Bundle{Leaf: cert, Key: key}, ContentTypePEM)
	b, ct, err := Parse(value, "", "", true, false)
	fmt.Println(b.Leaf.Subject.CommonName, ct, err)
	// Output: example.keyhaven.test application/x-pem-file <nil>
}

// openssl runs the openssl command line tool, skipping the test when it is
// not installed.
func openssl(t *testing.T, args ...string) string {
	t.Helper()
	path, err := exec.LookPath("openssl")
	if err != nil {
		t.Skip("openssl is not on PATH")
	}
	out, err := exec.Command(path, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("openssl %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// legacyFlag returns the flag that makes openssl pkcs12 -export use the
// legacy 3DES/RC2 encryption: "-legacy" on OpenSSL 3, nothing before (the
// legacy encryption is the default there).
func legacyFlag(t *testing.T) []string {
	if strings.HasPrefix(openssl(t, "version"), "OpenSSL 3") {
		return []string{"-legacy"}
	}
	return nil
}

// TestOpenSSLPFX imports PFX files made by openssl with a password.
func TestOpenSSLPFX(t *testing.T) {
	variants := map[string][]string{
		"aes default":   nil,
		"legacy":        legacyFlag(t),
		"3des certs":    {"-descert"},
		"no encryption": {"-keypbe", "NONE", "-certpbe", "NONE"},
	}
	for _, c := range chains() {
		key := writeFile(t, "key.pem", keyPEM(t, c.leafKey))
		leaf := writeFile(t, "leaf.pem", certPEM(c.leaf))
		cas := writeFile(t, "cas.pem", certPEM(c.root)+certPEM(c.inter))
		for name, flags := range variants {
			t.Run(c.name+" "+name, func(t *testing.T) {
				out := filepath.Join(t.TempDir(), "bundle.p12")
				args := append([]string{"pkcs12", "-export", "-inkey", key, "-in", leaf, "-certfile", cas,
					"-passout", "pass:secret", "-out", out}, flags...)
				openssl(t, args...)
				value := base64File(t, out)

				b, ct, err := Parse(value, "secret", "", true, false)
				if err != nil {
					t.Fatalf("right password: %v", err)
				}
				if ct != ContentTypePFX {
					t.Errorf("content type = %q", ct)
				}
				assertBundle(t, b, c.leaf, []*x509.Certificate{c.inter, c.root}, c.leafKey)

				_, _, err = Parse(value, "wrong-password", "", true, false)
				assertBadParameter(t, err, "wrong password", value, "wrong-password")
				_, _, err = Parse(value, "", "", true, false)
				assertBadParameter(t, err, "wrong password", value)
			})
		}
	}
}

func base64File(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(data)
}

// TestOpenSSLPFXNoPassword imports an openssl PFX exported with an empty
// password.
func TestOpenSSLPFXNoPassword(t *testing.T) {
	c := rsaChain()
	out := filepath.Join(t.TempDir(), "bundle.p12")
	openssl(t, "pkcs12", "-export", "-inkey", writeFile(t, "key.pem", legacyKeyPEM(t, c.leafKey)),
		"-in", writeFile(t, "certs.pem", certPEM(c.root)+certPEM(c.leaf)+certPEM(c.inter)), "-passout", "pass:", "-out", out)
	b, _, err := Parse(base64File(t, out), "", "", true, false)
	if err != nil {
		t.Fatal(err)
	}
	assertBundle(t, b, c.leaf, []*x509.Certificate{c.inter, c.root}, c.leafKey)
}

// TestOpenSSLCertificatesOnlyPFX documents a go-pkcs12 limitation: a PFX
// made with "openssl pkcs12 -export -nokeys" has no key bag and no Java
// trust-store attribute, so neither DecodeChain nor DecodeTrustStore reads
// it. Parse refuses it with a clear message.
func TestOpenSSLCertificatesOnlyPFX(t *testing.T) {
	c := ecChain()
	out := filepath.Join(t.TempDir(), "certs.p12")
	openssl(t, "pkcs12", "-export", "-nokeys", "-in", writeFile(t, "certs.pem", certPEM(c.leaf)+certPEM(c.inter)),
		"-passout", "pass:", "-out", out)
	value := base64File(t, out)
	_, _, err := Parse(value, "", "", false, false)
	assertBadParameter(t, err, "without a private key in a layout that is not supported", value)
	_, _, err = Parse(value, "", "", true, false)
	assertBadParameter(t, err, "The PFX holds no private key", value)
}

// TestOpenSSLReadsEncoded checks the encoder's output with openssl.
func TestOpenSSLReadsEncoded(t *testing.T) {
	for _, c := range chains() {
		t.Run(c.name, func(t *testing.T) {
			data, err := EncodePFX(c.bundle())
			if err != nil {
				t.Fatal(err)
			}
			out := openssl(t, "pkcs12", "-in", writeFile(t, "b.p12", string(data)), "-nodes", "-passin", "pass:")
			if !strings.Contains(out, c.leaf.Subject.CommonName) || !strings.Contains(out, "-----BEGIN PRIVATE KEY-----") {
				t.Errorf("openssl pkcs12 output lacks the leaf or the key:\n%s", out)
			}
			if n := strings.Count(out, "-----BEGIN CERTIFICATE-----"); n != 3 {
				t.Errorf("openssl pkcs12 found %d certificates, want 3", n)
			}

			certsOnly, err := EncodePFX(&Bundle{Leaf: c.leaf, Chain: []*x509.Certificate{c.inter, c.root}})
			if err != nil {
				t.Fatal(err)
			}
			out = openssl(t, "pkcs12", "-in", writeFile(t, "c.p12", string(certsOnly)), "-nokeys", "-passin", "pass:")
			if n := strings.Count(out, "-----BEGIN CERTIFICATE-----"); n != 3 {
				t.Errorf("openssl pkcs12 found %d certificates in the certificates-only PFX, want 3", n)
			}

			pemValue, err := EncodePEM(c.bundle())
			if err != nil {
				t.Fatal(err)
			}
			f := writeFile(t, "b.pem", pemValue)
			if out := openssl(t, "x509", "-noout", "-subject", "-in", f); !strings.Contains(out, c.leaf.Subject.CommonName) {
				t.Errorf("openssl x509 subject = %q, want the leaf's", out)
			}
			pub, err := x509.MarshalPKIXPublicKey(c.leaf.PublicKey)
			if err != nil {
				t.Fatal(err)
			}
			want := string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pub}))
			if out := openssl(t, "pkey", "-in", f, "-pubout"); out != want {
				t.Errorf("openssl pkey public key = %q, want the leaf's %q", out, want)
			}
		})
	}
}

// TestOpenSSLCostlyPFX: a PFX asking for more key derivation iterations
// than allowed is refused before go-pkcs12 runs them, whether the count is
// on the MAC, the encrypted certificates or a shrouded key bag.
func TestOpenSSLCostlyPFX(t *testing.T) {
	c := ecChain()
	key := writeFile(t, "key.pem", keyPEM(t, c.leafKey))
	leaf := writeFile(t, "leaf.pem", certPEM(c.leaf))
	iter := fmt.Sprint(maxIter + 1)
	variants := map[string][]string{
		"all":        {"-iter", iter},
		"no mac":     {"-iter", iter, "-nomaciter"},
		"key only":   {"-iter", iter, "-nomaciter", "-certpbe", "NONE"},
		"certs only": {"-iter", iter, "-nomaciter", "-keypbe", "NONE"},
		"mac only":   {"-iter", iter, "-certpbe", "NONE", "-keypbe", "NONE"},
	}
	for name, flags := range variants {
		t.Run(name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "costly.p12")
			openssl(t, append([]string{"pkcs12", "-export", "-inkey", key, "-in", leaf, "-passout", "pass:pw", "-out", out}, flags...)...)
			start := time.Now()
			_, _, err := Parse(base64File(t, out), "pw", "", true, false)
			assertBadParameter(t, err, "key derivation iterations", "pw")
			if d := time.Since(start); d > 100*time.Millisecond {
				t.Errorf("refusing took %v: the iterations ran", d)
			}
		})
	}
}
