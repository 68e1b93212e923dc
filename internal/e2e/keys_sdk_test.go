package e2e

// End-to-end tests of the keys API through the official Azure SDK for Go
// (azkeys). Every result is checked independently: signatures with the
// standard library (secp256k1 with decred) and the openssl command line,
// ciphertexts by decrypting or re-computing them locally, public keys
// against the keys the test generated.
//
// Helpers in this file carry the prefix "ks" so they do not collide with
// the other e2e files of the package.

import (
	"bytes"
	"crypto"
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	_ "crypto/sha512" // SHA-384 and SHA-512 through crypto.Hash
	"crypto/x509"
	"encoding/asn1"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azkeys"
	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azsecrets"
	"github.com/decred/dcrd/dcrec/secp256k1/v4"
	k1ecdsa "github.com/decred/dcrd/dcrec/secp256k1/v4/ecdsa"

	"github.com/keyhaven/keyhaven/internal/testenv"
)

// ---------------------------------------------------------------------------
// Key types.

// ksType is a key type, size and curve as CreateKey takes them.
type ksType struct {
	kty  azkeys.KeyType
	size int32            // RSA modulus or AES key length in bits; 0 for EC
	crv  azkeys.CurveName // EC only
}

var (
	ksRSA2048 = ksType{kty: azkeys.KeyTypeRSA, size: 2048}
	ksRSA3072 = ksType{kty: azkeys.KeyTypeRSA, size: 3072}
	ksRSA4096 = ksType{kty: azkeys.KeyTypeRSA, size: 4096}
	ksP256    = ksType{kty: azkeys.KeyTypeEC, crv: azkeys.CurveNameP256}
	ksP384    = ksType{kty: azkeys.KeyTypeEC, crv: azkeys.CurveNameP384}
	ksP521    = ksType{kty: azkeys.KeyTypeEC, crv: azkeys.CurveNameP521}
	ksP256K   = ksType{kty: azkeys.KeyTypeEC, crv: azkeys.CurveNameP256K}
	ksOct128  = ksType{kty: azkeys.KeyTypeOct, size: 128}
	ksOct192  = ksType{kty: azkeys.KeyTypeOct, size: 192}
	ksOct256  = ksType{kty: azkeys.KeyTypeOct, size: 256}
)

func (k ksType) String() string {
	if k.kty == azkeys.KeyTypeEC {
		return "EC " + string(k.crv)
	}
	return fmt.Sprintf("%s %d", k.kty, k.size)
}

func (k ksType) params() azkeys.CreateKeyParameters {
	p := azkeys.CreateKeyParameters{Kty: to.Ptr(k.kty)}
	if k.size != 0 {
		p.KeySize = to.Ptr(k.size)
	}
	if k.crv != "" {
		p.Curve = to.Ptr(k.crv)
	}
	return p
}

// ksCoordLen is the byte length of a coordinate (and of r and s) on crv.
func ksCoordLen(crv azkeys.CurveName) int {
	switch crv {
	case azkeys.CurveNameP384:
		return 48
	case azkeys.CurveNameP521:
		return 66
	}
	return 32
}

var ksAllOps = []azkeys.KeyOperation{azkeys.KeyOperationEncrypt, azkeys.KeyOperationDecrypt, azkeys.KeyOperationSign,
	azkeys.KeyOperationVerify, azkeys.KeyOperationWrapKey, azkeys.KeyOperationUnwrapKey}

// ksDefaultOps are the key_ops a key gets when CreateKey names none (NOTES
// §10.2: the CreateKey example for RSA; EC signs and verifies; oct keys
// encrypt and wrap).
var ksDefaultOps = map[azkeys.KeyType][]string{
	azkeys.KeyTypeRSA: {"decrypt", "encrypt", "sign", "unwrapKey", "verify", "wrapKey"},
	azkeys.KeyTypeEC:  {"sign", "verify"},
	azkeys.KeyTypeOct: {"decrypt", "encrypt", "unwrapKey", "wrapKey"},
}

// ksOps returns a JWK's key_ops, sorted.
func ksOps(k *azkeys.JSONWebKey) []string {
	out := []string{}
	for _, op := range k.KeyOps {
		out = append(out, string(*op))
	}
	slices.Sort(out)
	return out
}

func ksOpPtrs(ops ...azkeys.KeyOperation) []*azkeys.KeyOperation {
	out := []*azkeys.KeyOperation{}
	for _, op := range ops {
		out = append(out, to.Ptr(op))
	}
	return out
}

func ksSorted(ops ...azkeys.KeyOperation) []string {
	out := []string{}
	for _, op := range ops {
		out = append(out, string(op))
	}
	slices.Sort(out)
	return out
}

// ---------------------------------------------------------------------------
// Client and error helpers.

// ksClient returns an azkeys client with a fresh credential. Tokens are
// issued on the server's clock, so a test that moves the clock asks for a
// new client.
func ksClient(t *testing.T, srv *testenv.Server) *azkeys.Client {
	t.Helper()
	c, err := azkeys.NewClient(srv.Info.VaultURL, secretCredential(t, srv), &azkeys.ClientOptions{ClientOptions: clientOptions(srv)})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// ksErr reports an error unless err is Azure's error with status and code.
func ksErr(t *testing.T, what string, err error, status int, code string) {
	t.Helper()
	var re *azcore.ResponseError
	switch {
	case !errors.As(err, &re):
		t.Errorf("%s: want %d %s, got %v", what, status, code, err)
	case re.StatusCode != status || re.ErrorCode != code:
		t.Errorf("%s: want %d %s, got %d %s: %v", what, status, code, re.StatusCode, re.ErrorCode, err)
	}
}

func ksCreate(t *testing.T, c *azkeys.Client, name string, p azkeys.CreateKeyParameters) azkeys.KeyBundle {
	t.Helper()
	res, err := c.CreateKey(t.Context(), name, p, nil)
	if err != nil {
		t.Fatalf("CreateKey %s: %v", name, err)
	}
	return res.KeyBundle
}

func ksImport(t *testing.T, c *azkeys.Client, name string, p azkeys.ImportKeyParameters) azkeys.KeyBundle {
	t.Helper()
	res, err := c.ImportKey(t.Context(), name, p, nil)
	if err != nil {
		t.Fatalf("ImportKey %s: %v", name, err)
	}
	return res.KeyBundle
}

// ksVersions lists a key's versions (through the pager), in listing order.
func ksVersions(t *testing.T, c *azkeys.Client, name string) []string {
	t.Helper()
	var out []string
	for p := c.NewListKeyPropertiesVersionsPager(name, nil); p.More(); {
		page, err := p.NextPage(t.Context())
		if err != nil {
			t.Fatalf("list versions of %s: %v", name, err)
		}
		for _, v := range page.Value {
			out = append(out, v.KID.Version())
		}
	}
	return out
}

// ksState is everything the API shows about a vault's keys: every version
// of every key (attributes, key_ops, tags, public material), each key's
// current version, and the deleted keys. With names, only those keys are
// looked at (other tests may share the server).
func ksState(t *testing.T, c *azkeys.Client, names ...string) map[string]string {
	t.Helper()
	ctx := t.Context()
	out := map[string]string{}
	skip := func(name string) bool { return len(names) > 0 && !slices.Contains(names, name) }
	for p := c.NewListKeyPropertiesPager(nil); p.More(); {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Fatalf("list keys: %v", err)
		}
		for _, item := range page.Value {
			name := item.KID.Name()
			if skip(name) {
				continue
			}
			for _, v := range ksVersions(t, c, name) {
				got, err := c.GetKey(ctx, name, v, nil)
				if err != nil {
					t.Fatalf("get %s/%s: %v", name, v, err)
				}
				b, _ := json.Marshal(got.KeyBundle)
				out[name+"/"+v] = string(b)
			}
			latest, err := c.GetKey(ctx, name, "", nil)
			if err != nil {
				t.Fatalf("get %s: %v", name, err)
			}
			out[name] = string(*latest.Key.KID)
		}
	}
	for p := c.NewListDeletedKeyPropertiesPager(nil); p.More(); {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Fatalf("list deleted keys: %v", err)
		}
		for _, item := range page.Value {
			if skip(item.KID.Name()) {
				continue
			}
			b, _ := json.Marshal(item)
			out["deleted "+item.KID.Name()] = string(b)
		}
	}
	return out
}

// ksStateDiff describes how two ksState results differ ("" if equal).
func ksStateDiff(before, after map[string]string) string {
	short := func(s string) string {
		if len(s) > 300 {
			return s[:300] + "…"
		}
		return s
	}
	var diffs []string
	for k, v := range before {
		if after[k] != v {
			diffs = append(diffs, fmt.Sprintf("%s:\n  before %s\n  after  %s", k, short(v), short(after[k])))
		}
	}
	for k, v := range after {
		if _, ok := before[k]; !ok {
			diffs = append(diffs, fmt.Sprintf("%s: new: %s", k, short(v)))
		}
	}
	slices.Sort(diffs)
	return strings.Join(diffs, "\n")
}

// ---------------------------------------------------------------------------
// Public keys from returned JWKs.

// ksCheckPublicJWK checks that a returned JWK is exactly the public key of
// typ: no private parts; RSA n unsigned big-endian of the key size and e
// AQAB; EC x and y of the curve's fixed length, on the curve; oct without k.
func ksCheckPublicJWK(t *testing.T, what string, k *azkeys.JSONWebKey, typ ksType) {
	t.Helper()
	if k == nil {
		t.Errorf("%s: no key in the bundle", what)
		return
	}
	if k.Kty == nil || *k.Kty != typ.kty {
		t.Errorf("%s: kty %v, want %s", what, k.Kty, typ.kty)
	}
	private := map[string][]byte{"d": k.D, "p": k.P, "q": k.Q, "dp": k.DP, "dq": k.DQ, "qi": k.QI, "k": k.K, "key_hsm": k.T}
	for field, v := range private {
		if v != nil {
			t.Errorf("%s: the returned JWK has the private field %q", what, field)
		}
	}
	switch typ.kty {
	case azkeys.KeyTypeRSA:
		if len(k.N) != int(typ.size)/8 || k.N[0]&0x80 == 0 {
			t.Errorf("%s: n is %d bytes (first %x); want the %d-byte unsigned big-endian modulus", what, len(k.N), k.N[:min(1, len(k.N))], typ.size/8)
		}
		if !bytes.Equal(k.E, []byte{1, 0, 1}) {
			t.Errorf("%s: e = %x, want 010001 (AQAB)", what, k.E)
		}
		if k.X != nil || k.Y != nil || k.Crv != nil {
			t.Errorf("%s: an RSA JWK with EC fields", what)
		}
	case azkeys.KeyTypeEC:
		n := ksCoordLen(typ.crv)
		switch {
		case k.Crv == nil || *k.Crv != typ.crv:
			t.Errorf("%s: crv %v, want %s", what, k.Crv, typ.crv)
		case len(k.X) != n || len(k.Y) != n:
			t.Errorf("%s: x is %d bytes and y %d, want %d each", what, len(k.X), len(k.Y), n)
		default:
			if _, err := ksECPublic(k); err != nil {
				t.Errorf("%s: the point is not on %s: %v", what, typ.crv, err)
			}
		}
		if k.N != nil || k.E != nil {
			t.Errorf("%s: an EC JWK with RSA fields", what)
		}
	case azkeys.KeyTypeOct:
		if k.N != nil || k.E != nil || k.X != nil || k.Y != nil || k.Crv != nil {
			t.Errorf("%s: an oct JWK with public fields: %+v", what, k)
		}
	}
}

func ksRSAPublic(k *azkeys.JSONWebKey) *rsa.PublicKey {
	return &rsa.PublicKey{N: new(big.Int).SetBytes(k.N), E: int(new(big.Int).SetBytes(k.E).Int64())}
}

// ksECPublic returns an *ecdsa.PublicKey, or a *secp256k1.PublicKey for
// P-256K, from a returned JWK.
func ksECPublic(k *azkeys.JSONWebKey) (crypto.PublicKey, error) {
	if k.Crv == nil {
		return nil, errors.New("no crv")
	}
	point := append(append([]byte{4}, k.X...), k.Y...)
	switch *k.Crv {
	case azkeys.CurveNameP256:
		return ecdsa.ParseUncompressedPublicKey(elliptic.P256(), point)
	case azkeys.CurveNameP384:
		return ecdsa.ParseUncompressedPublicKey(elliptic.P384(), point)
	case azkeys.CurveNameP521:
		return ecdsa.ParseUncompressedPublicKey(elliptic.P521(), point)
	case azkeys.CurveNameP256K:
		return secp256k1.ParsePubKey(point)
	}
	return nil, fmt.Errorf("unknown curve %s", *k.Crv)
}

// ksPublicPEM is the SubjectPublicKeyInfo PEM of a returned JWK. crypto/x509
// has no secp256k1, so that SPKI is assembled by hand.
func ksPublicPEM(t *testing.T, k *azkeys.JSONWebKey) []byte {
	t.Helper()
	var der []byte
	var err error
	switch {
	case *k.Kty == azkeys.KeyTypeRSA:
		der, err = x509.MarshalPKIXPublicKey(ksRSAPublic(k))
	case *k.Crv == azkeys.CurveNameP256K:
		type algorithm struct{ Algorithm, Curve asn1.ObjectIdentifier }
		point := append(append([]byte{4}, k.X...), k.Y...)
		der, err = asn1.Marshal(struct {
			Algorithm algorithm
			Key       asn1.BitString
		}{
			Algorithm: algorithm{Algorithm: asn1.ObjectIdentifier{1, 2, 840, 10045, 2, 1}, Curve: asn1.ObjectIdentifier{1, 3, 132, 0, 10}},
			Key:       asn1.BitString{Bytes: point, BitLength: 8 * len(point)},
		})
	default:
		var pub crypto.PublicKey
		if pub, err = ksECPublic(k); err == nil {
			der, err = x509.MarshalPKIXPublicKey(pub)
		}
	}
	if err != nil {
		t.Fatalf("public key PEM: %v", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
}

// ksDER converts a raw r||s ECDSA signature to ASN.1 DER.
func ksDER(t *testing.T, sig []byte) []byte {
	t.Helper()
	n := len(sig) / 2
	der, err := asn1.Marshal(struct{ R, S *big.Int }{new(big.Int).SetBytes(sig[:n]), new(big.Int).SetBytes(sig[n:])})
	if err != nil {
		t.Fatal(err)
	}
	return der
}

// ---------------------------------------------------------------------------
// Signature algorithms.

type ksSignAlg struct {
	alg  azkeys.SignatureAlgorithm
	hash crypto.Hash
	md   string // openssl's name of the hash
	pss  bool
	key  ksType
}

var ksSignAlgs = []ksSignAlg{
	{alg: azkeys.SignatureAlgorithmRS256, hash: crypto.SHA256, md: "sha256", key: ksRSA2048},
	{alg: azkeys.SignatureAlgorithmRS384, hash: crypto.SHA384, md: "sha384", key: ksRSA3072},
	{alg: azkeys.SignatureAlgorithmRS512, hash: crypto.SHA512, md: "sha512", key: ksRSA4096},
	{alg: azkeys.SignatureAlgorithmPS256, hash: crypto.SHA256, md: "sha256", pss: true, key: ksRSA2048},
	{alg: azkeys.SignatureAlgorithmPS384, hash: crypto.SHA384, md: "sha384", pss: true, key: ksRSA3072},
	{alg: azkeys.SignatureAlgorithmPS512, hash: crypto.SHA512, md: "sha512", pss: true, key: ksRSA4096},
	{alg: azkeys.SignatureAlgorithmES256, hash: crypto.SHA256, md: "sha256", key: ksP256},
	{alg: azkeys.SignatureAlgorithmES384, hash: crypto.SHA384, md: "sha384", key: ksP384},
	{alg: azkeys.SignatureAlgorithmES512, hash: crypto.SHA512, md: "sha512", key: ksP521},
	{alg: azkeys.SignatureAlgorithmES256K, hash: crypto.SHA256, md: "sha256", key: ksP256K},
}

func ksDigest(h crypto.Hash, msg []byte) []byte {
	hh := h.New()
	hh.Write(msg)
	return hh.Sum(nil)
}

// ksVerifyLocal verifies a signature with the standard library (decred
// for secp256k1) using only the returned JWK. PSS requires salt length =
// hash length (RFC 7518 §3.5); ECDSA requires raw r||s of the curve size.
func ksVerifyLocal(k *azkeys.JSONWebKey, a ksSignAlg, digest, sig []byte) error {
	if a.key.kty == azkeys.KeyTypeRSA {
		if a.pss {
			return rsa.VerifyPSS(ksRSAPublic(k), a.hash, digest, sig, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash, Hash: a.hash})
		}
		return rsa.VerifyPKCS1v15(ksRSAPublic(k), a.hash, digest, sig)
	}
	n := ksCoordLen(a.key.crv)
	if len(sig) != 2*n {
		return fmt.Errorf("the ECDSA signature is %d bytes, want raw r||s of %d", len(sig), 2*n)
	}
	pub, err := ksECPublic(k)
	if err != nil {
		return err
	}
	switch p := pub.(type) {
	case *ecdsa.PublicKey:
		if !ecdsa.Verify(p, digest, new(big.Int).SetBytes(sig[:n]), new(big.Int).SetBytes(sig[n:])) {
			return errors.New("crypto/ecdsa: invalid signature")
		}
	case *secp256k1.PublicKey:
		var r, s secp256k1.ModNScalar
		if r.SetByteSlice(sig[:n]) || s.SetByteSlice(sig[n:]) {
			return errors.New("secp256k1: r or s is not below the group order")
		}
		if !k1ecdsa.NewSignature(&r, &s).Verify(digest, p) {
			return errors.New("secp256k1: invalid signature")
		}
	}
	return nil
}

// ---------------------------------------------------------------------------
// openssl.

// ksOpenSSL runs the openssl command line with files in a temporary
// directory. ksNewOpenSSL returns nil when openssl is not installed; the
// callers then skip only their openssl checks.
type ksOpenSSL struct {
	path, dir string
}

func ksNewOpenSSL(t *testing.T) *ksOpenSSL {
	t.Helper()
	path, err := exec.LookPath("openssl")
	if err != nil {
		t.Log("openssl is not installed: skipping the openssl checks")
		return nil
	}
	return &ksOpenSSL{path: path, dir: t.TempDir()}
}

// file writes data to a file of the temporary directory.
func (o *ksOpenSSL) file(t *testing.T, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(o.dir, name)
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func (o *ksOpenSSL) run(args ...string) ([]byte, error) {
	return exec.Command(o.path, args...).CombinedOutput()
}

// ---------------------------------------------------------------------------
// Local key material for imports.

func ksRSAJWK(priv *rsa.PrivateKey, primes, crt bool, ops ...azkeys.KeyOperation) *azkeys.JSONWebKey {
	j := &azkeys.JSONWebKey{Kty: to.Ptr(azkeys.KeyTypeRSA), N: priv.N.Bytes(), E: big.NewInt(int64(priv.E)).Bytes(), D: priv.D.Bytes()}
	if primes {
		j.P, j.Q = priv.Primes[0].Bytes(), priv.Primes[1].Bytes()
	}
	if crt {
		j.DP, j.DQ, j.QI = priv.Precomputed.Dp.Bytes(), priv.Precomputed.Dq.Bytes(), priv.Precomputed.Qinv.Bytes()
	}
	if len(ops) > 0 {
		j.KeyOps = ksOpPtrs(ops...)
	}
	return j
}

// ksECKey is an EC key generated in the test: the uncompressed point, the
// private scalar, and a signer of digests giving raw r||s.
type ksECKey struct {
	crv   azkeys.CurveName
	point []byte
	d     []byte
	sign  func(digest []byte) []byte
}

func ksNewECKey(t *testing.T, crv azkeys.CurveName) ksECKey {
	t.Helper()
	if crv == azkeys.CurveNameP256K {
		priv, err := secp256k1.GeneratePrivateKey()
		if err != nil {
			t.Fatal(err)
		}
		return ksECKey{crv: crv, point: priv.PubKey().SerializeUncompressed(), d: priv.Serialize(), sign: func(digest []byte) []byte {
			sig := k1ecdsa.Sign(priv, digest)
			r, s := sig.R(), sig.S()
			rb, sb := r.Bytes(), s.Bytes()
			return append(rb[:], sb[:]...)
		}}
	}
	curves := map[azkeys.CurveName]elliptic.Curve{azkeys.CurveNameP256: elliptic.P256(), azkeys.CurveNameP384: elliptic.P384(), azkeys.CurveNameP521: elliptic.P521()}
	priv, err := ecdsa.GenerateKey(curves[crv], rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	point, err := priv.PublicKey.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	d, err := priv.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	n := ksCoordLen(crv)
	return ksECKey{crv: crv, point: point, d: d, sign: func(digest []byte) []byte {
		r, s, err := ecdsa.Sign(rand.Reader, priv, digest)
		if err != nil {
			t.Fatal(err)
		}
		out := make([]byte, 2*n)
		r.FillBytes(out[:n])
		s.FillBytes(out[n:])
		return out
	}}
}

func (k ksECKey) x() []byte { return k.point[1 : 1+ksCoordLen(k.crv)] }
func (k ksECKey) y() []byte { return k.point[1+ksCoordLen(k.crv):] }

func (k ksECKey) jwk() *azkeys.JSONWebKey {
	return &azkeys.JSONWebKey{Kty: to.Ptr(azkeys.KeyTypeEC), Crv: to.Ptr(k.crv), X: k.x(), Y: k.y(), D: k.d}
}

func ksOctJWK(k []byte, ops ...azkeys.KeyOperation) *azkeys.JSONWebKey {
	j := &azkeys.JSONWebKey{Kty: to.Ptr(azkeys.KeyTypeOct), K: k}
	if len(ops) > 0 {
		j.KeyOps = ksOpPtrs(ops...)
	}
	return j
}

func ksRandom(t *testing.T, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

// ksPattern is n bytes counting up from start: known key material.
func ksPattern(n int, start byte) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = start + byte(i)
	}
	return b
}

func ksUnhex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// ksRSAKit is an RSA key the test generated (and imports), with one valid
// input for every crypto operation on it.
type ksRSAKit struct {
	priv    *rsa.PrivateKey
	plain   []byte
	digest  []byte
	sig     []byte // RS256 signature of digest
	ct      []byte // RSA-OAEP-256 ciphertext of plain
	wrapped []byte // RSA-OAEP (SHA-1) ciphertext of plain
}

var ksCryptoOps = []string{"encrypt", "decrypt", "sign", "verify", "wrapKey", "unwrapKey"}

// ksTimeBound are the operations refused outside the nbf/exp window (NOTES
// §7: decrypt, unwrap and verify keep working).
var ksTimeBound = map[string]bool{"encrypt": true, "wrapKey": true, "sign": true}

func ksNewRSAKit(t *testing.T) *ksRSAKit {
	t.Helper()
	priv, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	k := &ksRSAKit{priv: priv, plain: ksRandom(t, 32)}
	k.digest = ksDigest(crypto.SHA256, []byte("ksRSAKit"))
	if k.sig, err = rsa.SignPKCS1v15(nil, priv, crypto.SHA256, k.digest); err != nil {
		t.Fatal(err)
	}
	if k.ct, err = rsa.EncryptOAEP(sha256.New(), rand.Reader, &priv.PublicKey, k.plain, nil); err != nil {
		t.Fatal(err)
	}
	if k.wrapped, err = rsa.EncryptOAEP(sha1.New(), rand.Reader, &priv.PublicKey, k.plain, nil); err != nil {
		t.Fatal(err)
	}
	return k
}

func (k *ksRSAKit) jwk(ops ...azkeys.KeyOperation) *azkeys.JSONWebKey {
	return ksRSAJWK(k.priv, true, true, ops...)
}

// do runs op on name/version with a valid input and checks a successful
// result locally; it returns the service's error.
func (k *ksRSAKit) do(t *testing.T, c *azkeys.Client, name, version, op string) error {
	t.Helper()
	ctx := t.Context()
	oaep256, oaep := to.Ptr(azkeys.EncryptionAlgorithmRSAOAEP256), to.Ptr(azkeys.EncryptionAlgorithmRSAOAEP)
	switch op {
	case "encrypt":
		res, err := c.Encrypt(ctx, name, version, azkeys.KeyOperationParameters{Algorithm: oaep256, Value: k.plain}, nil)
		if err == nil {
			if pt, derr := rsa.DecryptOAEP(sha256.New(), nil, k.priv, res.Result, nil); derr != nil || !bytes.Equal(pt, k.plain) {
				t.Errorf("encrypt %s/%s: the result does not decrypt locally: %v", name, version, derr)
			}
		}
		return err
	case "decrypt":
		res, err := c.Decrypt(ctx, name, version, azkeys.KeyOperationParameters{Algorithm: oaep256, Value: k.ct}, nil)
		if err == nil && !bytes.Equal(res.Result, k.plain) {
			t.Errorf("decrypt %s/%s: wrong plaintext", name, version)
		}
		return err
	case "sign":
		res, err := c.Sign(ctx, name, version, azkeys.SignParameters{Algorithm: to.Ptr(azkeys.SignatureAlgorithmRS256), Value: k.digest}, nil)
		if err == nil && !bytes.Equal(res.Result, k.sig) { // PKCS#1 v1.5 is deterministic
			t.Errorf("sign %s/%s: the signature differs from crypto/rsa's", name, version)
		}
		return err
	case "verify":
		res, err := c.Verify(ctx, name, version, azkeys.VerifyParameters{Algorithm: to.Ptr(azkeys.SignatureAlgorithmRS256), Digest: k.digest, Signature: k.sig}, nil)
		if err == nil && (res.Value == nil || !*res.Value) {
			t.Errorf("verify %s/%s: a good signature is not valid", name, version)
		}
		return err
	case "wrapKey":
		res, err := c.WrapKey(ctx, name, version, azkeys.KeyOperationParameters{Algorithm: oaep, Value: k.plain}, nil)
		if err == nil {
			if pt, derr := rsa.DecryptOAEP(sha1.New(), nil, k.priv, res.Result, nil); derr != nil || !bytes.Equal(pt, k.plain) {
				t.Errorf("wrapKey %s/%s: the result does not unwrap locally: %v", name, version, derr)
			}
		}
		return err
	case "unwrapKey":
		res, err := c.UnwrapKey(ctx, name, version, azkeys.KeyOperationParameters{Algorithm: oaep, Value: k.wrapped}, nil)
		if err == nil && !bytes.Equal(res.Result, k.plain) {
			t.Errorf("unwrapKey %s/%s: wrong key", name, version)
		}
		return err
	}
	t.Fatalf("unknown operation %s", op)
	return nil
}

// ---------------------------------------------------------------------------
// AES helpers computed independently of the server.

func ksPKCS7(b []byte) []byte {
	n := 16 - len(b)%16
	return append(bytes.Clone(b), bytes.Repeat([]byte{byte(n)}, n)...)
}

func ksCBC(t *testing.T, key, iv, plain []byte) []byte {
	t.Helper()
	block, err := aes.NewCipher(key)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]byte, len(plain))
	cipher.NewCBCEncrypter(block, iv).CryptBlocks(out, plain)
	return out
}

func ksGCM(t *testing.T, key []byte) cipher.AEAD {
	t.Helper()
	block, err := aes.NewCipher(key)
	if err != nil {
		t.Fatal(err)
	}
	g, err := cipher.NewGCM(block)
	if err != nil {
		t.Fatal(err)
	}
	return g
}

// ksKeyWrap is AES key wrap (RFC 3394 §2.2.1) with the default IV
// A6A6A6A6A6A6A6A6, written from the RFC for this test.
func ksKeyWrap(t *testing.T, kek, plain []byte) []byte {
	t.Helper()
	block, err := aes.NewCipher(kek)
	if err != nil {
		t.Fatal(err)
	}
	n := len(plain) / 8
	a := []byte{0xA6, 0xA6, 0xA6, 0xA6, 0xA6, 0xA6, 0xA6, 0xA6}
	r := bytes.Clone(plain)
	b := make([]byte, 16)
	for j := 0; j <= 5; j++ {
		for i := 1; i <= n; i++ {
			copy(b[:8], a)
			copy(b[8:], r[(i-1)*8:i*8])
			block.Encrypt(b, b)
			binary.BigEndian.PutUint64(a, binary.BigEndian.Uint64(b[:8])^uint64(n*j+i))
			copy(r[(i-1)*8:i*8], b[8:])
		}
	}
	return append(a, r...)
}

// ---------------------------------------------------------------------------
// Tests.

// CreateKey for every type, size and curve returns exactly the public JWK,
// default key_ops and default attributes; GetKey returns the same; the key
// works.
func TestKeysSDKCreateEveryType(t *testing.T) {
	t.Parallel()
	srv := testenv.StartDev(t)
	c := ksClient(t, srv)
	cases := []struct {
		name   string
		params azkeys.CreateKeyParameters
		want   ksType
	}{
		{name: "rsa-2048", params: ksRSA2048.params(), want: ksRSA2048},
		{name: "rsa-3072", params: ksRSA3072.params(), want: ksRSA3072},
		{name: "rsa-4096", params: ksRSA4096.params(), want: ksRSA4096},
		{name: "ec-p256", params: ksP256.params(), want: ksP256},
		{name: "ec-p384", params: ksP384.params(), want: ksP384},
		{name: "ec-p521", params: ksP521.params(), want: ksP521},
		{name: "ec-p256k", params: ksP256K.params(), want: ksP256K},
		{name: "oct-128", params: ksOct128.params(), want: ksOct128},
		{name: "oct-192", params: ksOct192.params(), want: ksOct192},
		{name: "oct-256", params: ksOct256.params(), want: ksOct256},
		{name: "ec-by-size", params: azkeys.CreateKeyParameters{Kty: to.Ptr(azkeys.KeyTypeEC), Curve: to.Ptr(azkeys.CurveNameP384), KeySize: to.Ptr(int32(384))}, want: ksP384},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx := t.Context()
			before := time.Now().Add(-time.Second)
			created := ksCreate(t, c, tc.name, tc.params)
			k := created.Key
			ksCheckPublicJWK(t, "CreateKey", k, tc.want)
			kid := string(*k.KID)
			version := k.KID.Version()
			if !strings.HasPrefix(kid, srv.Info.VaultURL+"/keys/"+tc.name+"/") || len(version) != 32 || strings.Trim(version, "0123456789abcdef") != "" {
				t.Errorf("kid %s: want %s/keys/%s/<32 lower-case hex>", kid, srv.Info.VaultURL, tc.name)
			}
			if got := ksOps(k); !slices.Equal(got, ksDefaultOps[tc.want.kty]) {
				t.Errorf("default key_ops %v, want %v", got, ksDefaultOps[tc.want.kty])
			}
			a := created.Attributes
			switch {
			case a == nil || a.Enabled == nil || !*a.Enabled:
				t.Errorf("a new key is not enabled: %+v", a)
			case a.Created == nil || a.Updated == nil || !a.Created.Equal(*a.Updated) || a.Created.Before(before) || a.Created.After(time.Now().Add(time.Second)):
				t.Errorf("created %v updated %v: want both now", a.Created, a.Updated)
			case a.NotBefore != nil || a.Expires != nil:
				t.Errorf("nbf/exp set without being asked: %v %v", a.NotBefore, a.Expires)
			case a.RecoveryLevel == nil || *a.RecoveryLevel != "Recoverable+Purgeable" || a.RecoverableDays == nil || *a.RecoverableDays != 90:
				t.Errorf("recovery attributes %v %v", a.RecoveryLevel, a.RecoverableDays)
			case a.Exportable != nil && *a.Exportable:
				t.Error("a new key is exportable")
			}
			if len(created.Tags) != 0 || (created.Managed != nil && *created.Managed) {
				t.Errorf("tags %v managed %v", created.Tags, created.Managed)
			}
			for _, v := range []string{"", version} {
				got, err := c.GetKey(ctx, tc.name, v, nil)
				if err != nil {
					t.Fatalf("GetKey %q: %v", v, err)
				}
				if !reflect.DeepEqual(got.KeyBundle, created) {
					t.Errorf("GetKey %q differs from CreateKey:\n%+v\n%+v", v, got.Key, created.Key)
				}
			}
			// The key works, checked with the returned public key only.
			switch tc.want.kty {
			case azkeys.KeyTypeRSA:
				plain := []byte("encrypted locally with the returned n and e")
				ct, err := rsa.EncryptOAEP(sha256.New(), rand.Reader, ksRSAPublic(k), plain, nil)
				if err != nil {
					t.Fatal(err)
				}
				res, err := c.Decrypt(ctx, tc.name, version, azkeys.KeyOperationParameters{Algorithm: to.Ptr(azkeys.EncryptionAlgorithmRSAOAEP256), Value: ct}, nil)
				if err != nil || !bytes.Equal(res.Result, plain) {
					t.Errorf("decrypt of a local ciphertext: %v", err)
				}
			case azkeys.KeyTypeEC:
				for _, a := range ksSignAlgs {
					if a.key.crv != tc.want.crv {
						continue
					}
					digest := ksDigest(a.hash, []byte(tc.name))
					res, err := c.Sign(ctx, tc.name, version, azkeys.SignParameters{Algorithm: to.Ptr(a.alg), Value: digest}, nil)
					if err != nil {
						t.Fatal(err)
					}
					if err := ksVerifyLocal(k, a, digest, res.Result); err != nil {
						t.Errorf("%s signature: %v", a.alg, err)
					}
				}
			case azkeys.KeyTypeOct:
				gcm := azkeys.EncryptionAlgorithm(fmt.Sprintf("A%dGCM", tc.want.size))
				enc, err := c.Encrypt(ctx, tc.name, version, azkeys.KeyOperationParameters{Algorithm: to.Ptr(gcm), Value: []byte("aes")}, nil)
				if err != nil {
					t.Fatalf("%s: %v", gcm, err)
				}
				dec, err := c.Decrypt(ctx, tc.name, version, azkeys.KeyOperationParameters{Algorithm: to.Ptr(gcm), Value: enc.Result, IV: enc.IV, AuthenticationTag: enc.AuthenticationTag}, nil)
				if err != nil || string(dec.Result) != "aes" {
					t.Errorf("%s round trip: %v", gcm, err)
				}
				kw := azkeys.EncryptionAlgorithm(fmt.Sprintf("A%dKW", tc.want.size))
				if _, err := c.WrapKey(ctx, tc.name, version, azkeys.KeyOperationParameters{Algorithm: to.Ptr(kw), Value: make([]byte, 32)}, nil); err != nil {
					t.Errorf("%s: %v", kw, err)
				}
			}
		})
	}

	t.Run("options", func(t *testing.T) {
		t.Parallel()
		nbf := time.Now().Add(-time.Hour).Truncate(time.Second)
		exp := nbf.Add(48 * time.Hour)
		p := ksP256.params()
		p.KeyOps = ksOpPtrs(azkeys.KeyOperationVerify)
		p.Tags = map[string]*string{"env": to.Ptr("test"), "owner": to.Ptr("keys")}
		p.KeyAttributes = &azkeys.KeyAttributes{NotBefore: &nbf, Expires: &exp, Enabled: to.Ptr(false)}
		created := ksCreate(t, c, "with-options", p)
		a := created.Attributes
		if got := ksOps(created.Key); !slices.Equal(got, []string{"verify"}) {
			t.Errorf("key_ops %v, want [verify]", got)
		}
		if len(created.Tags) != 2 || *created.Tags["env"] != "test" || *created.Tags["owner"] != "keys" {
			t.Errorf("tags %v", created.Tags)
		}
		if *a.Enabled || a.NotBefore == nil || !a.NotBefore.Equal(nbf) || a.Expires == nil || !a.Expires.Equal(exp) {
			t.Errorf("attributes enabled=%v nbf=%v exp=%v, want false %v %v", *a.Enabled, a.NotBefore, a.Expires, nbf, exp)
		}
	})
}

// ImportKey takes RSA (with and without the primes and CRT values), EC on
// every curve and oct keys generated here; the returned public key equals
// the imported one and the imported private key is the one in use.
func TestKeysSDKImport(t *testing.T) {
	t.Parallel()
	srv := testenv.StartDev(t)
	c := ksClient(t, srv)
	rsa2048, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	rsa3072, err := rsa.GenerateKey(rand.Reader, 3072)
	if err != nil {
		t.Fatal(err)
	}
	ecKeys := map[azkeys.CurveName]ksECKey{}
	for _, crv := range []azkeys.CurveName{azkeys.CurveNameP256, azkeys.CurveNameP384, azkeys.CurveNameP521, azkeys.CurveNameP256K} {
		ecKeys[crv] = ksNewECKey(t, crv)
	}
	octKeys := map[int32][]byte{128: ksRandom(t, 16), 192: ksRandom(t, 24), 256: ksRandom(t, 32)}
	// A P-256 key whose x starts with a zero byte, imported with that byte
	// left out (lenient input); the returned x must be full length.
	shortX := ksNewECKey(t, azkeys.CurveNameP256)
	for shortX.x()[0] != 0 {
		shortX = ksNewECKey(t, azkeys.CurveNameP256)
	}
	shortJWK := shortX.jwk()
	shortJWK.X = shortJWK.X[1:]
	// An RSA modulus with a leading zero byte; the returned n has none.
	zeroN := ksRSAJWK(rsa2048, true, true)
	zeroN.N = append([]byte{0}, zeroN.N...)

	type imported struct {
		rsa *rsa.PrivateKey
		ec  ksECKey
		oct []byte
	}
	cases := []struct {
		name string
		jwk  *azkeys.JSONWebKey
		typ  ksType
		key  imported
		ops  []string // key_ops expected back
	}{
		{name: "rsa-full", jwk: ksRSAJWK(rsa2048, true, true), typ: ksRSA2048, key: imported{rsa: rsa2048}, ops: ksDefaultOps[azkeys.KeyTypeRSA]},
		{name: "rsa-primes-only", jwk: ksRSAJWK(rsa2048, true, false), typ: ksRSA2048, key: imported{rsa: rsa2048}, ops: ksDefaultOps[azkeys.KeyTypeRSA]},
		{name: "rsa-n-e-d", jwk: ksRSAJWK(rsa3072, false, false), typ: ksRSA3072, key: imported{rsa: rsa3072}, ops: ksDefaultOps[azkeys.KeyTypeRSA]},
		{name: "rsa-n-leading-zero", jwk: zeroN, typ: ksRSA2048, key: imported{rsa: rsa2048}, ops: ksDefaultOps[azkeys.KeyTypeRSA]},
		{name: "rsa-key-ops", jwk: ksRSAJWK(rsa2048, true, true, azkeys.KeyOperationSign, azkeys.KeyOperationVerify), typ: ksRSA2048, key: imported{rsa: rsa2048}, ops: []string{"sign", "verify"}},
		{name: "ec-p256", jwk: ecKeys[azkeys.CurveNameP256].jwk(), typ: ksP256, key: imported{ec: ecKeys[azkeys.CurveNameP256]}, ops: ksDefaultOps[azkeys.KeyTypeEC]},
		{name: "ec-p256-short-x", jwk: shortJWK, typ: ksP256, key: imported{ec: shortX}, ops: ksDefaultOps[azkeys.KeyTypeEC]},
		{name: "ec-p384", jwk: ecKeys[azkeys.CurveNameP384].jwk(), typ: ksP384, key: imported{ec: ecKeys[azkeys.CurveNameP384]}, ops: ksDefaultOps[azkeys.KeyTypeEC]},
		{name: "ec-p521", jwk: ecKeys[azkeys.CurveNameP521].jwk(), typ: ksP521, key: imported{ec: ecKeys[azkeys.CurveNameP521]}, ops: ksDefaultOps[azkeys.KeyTypeEC]},
		{name: "ec-p256k", jwk: ecKeys[azkeys.CurveNameP256K].jwk(), typ: ksP256K, key: imported{ec: ecKeys[azkeys.CurveNameP256K]}, ops: ksDefaultOps[azkeys.KeyTypeEC]},
		{name: "oct-128", jwk: ksOctJWK(octKeys[128]), typ: ksOct128, key: imported{oct: octKeys[128]}, ops: ksDefaultOps[azkeys.KeyTypeOct]},
		{name: "oct-192", jwk: ksOctJWK(octKeys[192]), typ: ksOct192, key: imported{oct: octKeys[192]}, ops: ksDefaultOps[azkeys.KeyTypeOct]},
		{name: "oct-256", jwk: ksOctJWK(octKeys[256]), typ: ksOct256, key: imported{oct: octKeys[256]}, ops: ksDefaultOps[azkeys.KeyTypeOct]},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx := t.Context()
			tags := map[string]*string{"source": to.Ptr("test")}
			got := ksImport(t, c, tc.name, azkeys.ImportKeyParameters{Key: tc.jwk, Tags: tags})
			k := got.Key
			ksCheckPublicJWK(t, "ImportKey", k, tc.typ)
			if ops := ksOps(k); !slices.Equal(ops, tc.ops) {
				t.Errorf("key_ops %v, want %v", ops, tc.ops)
			}
			if got.Tags == nil || *got.Tags["source"] != "test" || got.Attributes == nil || !*got.Attributes.Enabled {
				t.Errorf("tags %v attributes %+v", got.Tags, got.Attributes)
			}
			version := k.KID.Version()
			switch {
			case tc.key.rsa != nil:
				priv := tc.key.rsa
				if !bytes.Equal(k.N, priv.N.Bytes()) || new(big.Int).SetBytes(k.E).Int64() != int64(priv.E) {
					t.Fatal("the returned RSA public key is not the imported one")
				}
				if slices.Contains(tc.ops, "sign") {
					// PKCS#1 v1.5 is deterministic: the server must produce
					// exactly crypto/rsa's signature with the imported key.
					digest := ksDigest(crypto.SHA256, []byte(tc.name))
					want, err := rsa.SignPKCS1v15(nil, priv, crypto.SHA256, digest)
					if err != nil {
						t.Fatal(err)
					}
					res, err := c.Sign(ctx, tc.name, version, azkeys.SignParameters{Algorithm: to.Ptr(azkeys.SignatureAlgorithmRS256), Value: digest}, nil)
					if err != nil || !bytes.Equal(res.Result, want) {
						t.Errorf("RS256 with the imported key differs from crypto/rsa: %v", err)
					}
				}
				if slices.Contains(tc.ops, "decrypt") {
					res, err := c.Encrypt(ctx, tc.name, version, azkeys.KeyOperationParameters{Algorithm: to.Ptr(azkeys.EncryptionAlgorithmRSAOAEP256), Value: []byte("for the imported key")}, nil)
					if err != nil {
						t.Fatal(err)
					}
					if pt, err := rsa.DecryptOAEP(sha256.New(), nil, priv, res.Result, nil); err != nil || string(pt) != "for the imported key" {
						t.Errorf("server ciphertext does not decrypt with the imported private key: %v", err)
					}
				}
			case tc.key.ec.point != nil:
				if !bytes.Equal(k.X, tc.key.ec.x()) || !bytes.Equal(k.Y, tc.key.ec.y()) {
					t.Fatal("the returned EC point is not the imported one")
				}
				for _, a := range ksSignAlgs {
					if a.key.crv != tc.typ.crv {
						continue
					}
					digest := ksDigest(a.hash, []byte(tc.name))
					v, err := c.Verify(ctx, tc.name, version, azkeys.VerifyParameters{Algorithm: to.Ptr(a.alg), Digest: digest, Signature: tc.key.ec.sign(digest)}, nil)
					if err != nil || !*v.Value {
						t.Errorf("%s: a signature made locally with the imported key does not verify: %v", a.alg, err)
					}
				}
			default:
				alg := azkeys.EncryptionAlgorithm(fmt.Sprintf("A%dGCM", tc.typ.size))
				res, err := c.Encrypt(ctx, tc.name, version, azkeys.KeyOperationParameters{Algorithm: to.Ptr(alg), Value: []byte("for the imported key")}, nil)
				if err != nil {
					t.Fatal(err)
				}
				pt, err := ksGCM(t, tc.key.oct).Open(nil, res.IV, append(bytes.Clone(res.Result), res.AuthenticationTag...), nil)
				if err != nil || string(pt) != "for the imported key" {
					t.Errorf("%s ciphertext does not open with the imported k: %v", alg, err)
				}
			}
		})
	}

	t.Run("new version", func(t *testing.T) {
		t.Parallel()
		first := ksImport(t, c, "reimport", azkeys.ImportKeyParameters{Key: ecKeys[azkeys.CurveNameP256].jwk()})
		second := ksImport(t, c, "reimport", azkeys.ImportKeyParameters{Key: ecKeys[azkeys.CurveNameP384].jwk()})
		if first.Key.KID.Version() == second.Key.KID.Version() || len(ksVersions(t, c, "reimport")) != 2 {
			t.Fatal("importing over a key does not add a version")
		}
		cur, err := c.GetKey(t.Context(), "reimport", "", nil)
		if err != nil || *cur.Key.Crv != azkeys.CurveNameP384 {
			t.Fatalf("the current version is not the last import: %v", err)
		}
	})

	t.Run("bad imports change nothing", func(t *testing.T) {
		t.Parallel()
		ctx := t.Context()
		other, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			t.Fatal(err)
		}
		small, err := rsa.GenerateKey(rand.Reader, 1024)
		if err != nil {
			t.Fatal(err)
		}
		ksImport(t, c, "bad-target", azkeys.ImportKeyParameters{Key: ksRSAJWK(rsa2048, true, true)})
		mutate := func(j *azkeys.JSONWebKey, f func(*azkeys.JSONWebKey)) *azkeys.JSONWebKey {
			cp := *j
			f(&cp)
			return &cp
		}
		full := ksRSAJWK(rsa2048, true, true)
		p256 := ecKeys[azkeys.CurveNameP256]
		cases := []struct {
			name   string
			params azkeys.ImportKeyParameters
		}{
			{name: "RSA without d", params: azkeys.ImportKeyParameters{Key: mutate(full, func(j *azkeys.JSONWebKey) { j.D, j.P, j.Q, j.DP, j.DQ, j.QI = nil, nil, nil, nil, nil, nil })}},
			{name: "RSA d of another key", params: azkeys.ImportKeyParameters{Key: mutate(ksRSAJWK(rsa2048, false, false), func(j *azkeys.JSONWebKey) { j.D = other.D.Bytes() })}},
			{name: "RSA wrong dp", params: azkeys.ImportKeyParameters{Key: mutate(full, func(j *azkeys.JSONWebKey) { j.DP = new(big.Int).Add(rsa2048.Precomputed.Dp, big.NewInt(2)).Bytes() })}},
			{name: "RSA wrong qi", params: azkeys.ImportKeyParameters{Key: mutate(full, func(j *azkeys.JSONWebKey) { j.QI = new(big.Int).Add(rsa2048.Precomputed.Qinv, big.NewInt(1)).Bytes() })}},
			{name: "RSA p without q", params: azkeys.ImportKeyParameters{Key: mutate(full, func(j *azkeys.JSONWebKey) { j.Q, j.DP, j.DQ, j.QI = nil, nil, nil, nil })}},
			{name: "RSA primes of another key", params: azkeys.ImportKeyParameters{Key: mutate(full, func(j *azkeys.JSONWebKey) { j.P, j.Q = other.Primes[0].Bytes(), other.Primes[1].Bytes() })}},
			{name: "RSA 1024 bits", params: azkeys.ImportKeyParameters{Key: ksRSAJWK(small, true, true)}},
			{name: "RSA even modulus", params: azkeys.ImportKeyParameters{Key: mutate(full, func(j *azkeys.JSONWebKey) { n := bytes.Clone(j.N); n[len(n)-1] &^= 1; j.N = n })}},
			{name: "RSA e = 1", params: azkeys.ImportKeyParameters{Key: mutate(full, func(j *azkeys.JSONWebKey) { j.E = []byte{1} })}},
			{name: "EC point off the curve", params: azkeys.ImportKeyParameters{Key: mutate(p256.jwk(), func(j *azkeys.JSONWebKey) { y := bytes.Clone(j.Y); y[5] ^= 1; j.Y = y })}},
			{name: "EC d of another key", params: azkeys.ImportKeyParameters{Key: mutate(p256.jwk(), func(j *azkeys.JSONWebKey) { j.D = ksNewECKey(t, azkeys.CurveNameP256).d })}},
			{name: "EC without d", params: azkeys.ImportKeyParameters{Key: mutate(p256.jwk(), func(j *azkeys.JSONWebKey) { j.D = nil })}},
			{name: "EC P-384 point labelled P-256", params: azkeys.ImportKeyParameters{Key: mutate(ecKeys[azkeys.CurveNameP384].jwk(), func(j *azkeys.JSONWebKey) { j.Crv = to.Ptr(azkeys.CurveNameP256) })}},
			{name: "EC unknown curve", params: azkeys.ImportKeyParameters{Key: mutate(p256.jwk(), func(j *azkeys.JSONWebKey) { j.Crv = to.Ptr(azkeys.CurveName("P-192")) })}},
			{name: "EC without crv", params: azkeys.ImportKeyParameters{Key: mutate(p256.jwk(), func(j *azkeys.JSONWebKey) { j.Crv = nil })}},
			{name: "oct of 20 bytes", params: azkeys.ImportKeyParameters{Key: ksOctJWK(ksRandom(t, 20))}},
			{name: "oct without k", params: azkeys.ImportKeyParameters{Key: ksOctJWK(nil)}},
			{name: "oct of 64 bytes", params: azkeys.ImportKeyParameters{Key: ksOctJWK(ksRandom(t, 64))}},
			{name: "no kty", params: azkeys.ImportKeyParameters{Key: mutate(full, func(j *azkeys.JSONWebKey) { j.Kty = nil })}},
			{name: "unknown kty", params: azkeys.ImportKeyParameters{Key: mutate(full, func(j *azkeys.JSONWebKey) { j.Kty = to.Ptr(azkeys.KeyType("DSA")) })}},
			{name: "kty EC with RSA fields", params: azkeys.ImportKeyParameters{Key: mutate(full, func(j *azkeys.JSONWebKey) { j.Kty = to.Ptr(azkeys.KeyTypeEC) })}},
			{name: "RSA-HSM without an HSM", params: azkeys.ImportKeyParameters{Key: mutate(full, func(j *azkeys.JSONWebKey) { j.Kty = to.Ptr(azkeys.KeyTypeRSAHSM) })}},
			{name: "Hsm true without an HSM", params: azkeys.ImportKeyParameters{Key: full, HSM: to.Ptr(true)}},
			{name: "unknown key_ops", params: azkeys.ImportKeyParameters{Key: mutate(full, func(j *azkeys.JSONWebKey) { j.KeyOps = ksOpPtrs("fly") })}},
			{name: "no key", params: azkeys.ImportKeyParameters{}},
			{name: "exp before nbf", params: azkeys.ImportKeyParameters{Key: full, KeyAttributes: &azkeys.KeyAttributes{NotBefore: to.Ptr(time.Unix(2000, 0)), Expires: to.Ptr(time.Unix(1000, 0))}}},
			{name: "16 tags", params: azkeys.ImportKeyParameters{Key: full, Tags: ksTags(16)}},
		}
		before := ksState(t, c, "bad-target", "bad-new")
		for _, tc := range cases {
			for _, name := range []string{"bad-target", "bad-new"} {
				_, err := c.ImportKey(ctx, name, tc.params, nil)
				ksErr(t, tc.name+" into "+name, err, http.StatusBadRequest, "BadParameter")
			}
			if d := ksStateDiff(before, ksState(t, c, "bad-target", "bad-new")); d != "" {
				t.Errorf("%s changed the vault:\n%s", tc.name, d)
			}
		}
		_, err = c.GetKey(ctx, "bad-new", "", nil)
		ksErr(t, "a key after failed imports", err, http.StatusNotFound, "KeyNotFound")
	})
}

func ksTags(n int) map[string]*string {
	tags := map[string]*string{}
	for i := range n {
		tags[fmt.Sprintf("tag%02d", i)] = to.Ptr("v")
	}
	return tags
}

// Every signature algorithm: the signature verifies with the standard
// library and with openssl from the returned JWK; Verify says true for it
// and false (200, not an error) for altered signatures or digests; the
// digest length is checked.
func TestKeysSDKSignatures(t *testing.T) {
	t.Parallel()
	srv := testenv.StartDev(t)
	c := ksClient(t, srv)
	msg := []byte("keyhaven signs digests, not messages")
	for _, a := range ksSignAlgs {
		t.Run(string(a.alg), func(t *testing.T) {
			t.Parallel()
			ctx := t.Context()
			name := "sig-" + strings.ToLower(string(a.alg))
			created := ksCreate(t, c, name, a.key.params())
			key := created.Key
			digest := ksDigest(a.hash, msg)
			res, err := c.Sign(ctx, name, "", azkeys.SignParameters{Algorithm: to.Ptr(a.alg), Value: digest}, nil)
			if err != nil {
				t.Fatalf("Sign: %v", err)
			}
			if res.KID == nil || *res.KID != *key.KID {
				t.Errorf("sign result kid %v, want the versioned id %s", res.KID, *key.KID)
			}
			sig := res.Result
			if err := ksVerifyLocal(key, a, digest, sig); err != nil {
				t.Errorf("the standard library rejects the signature: %v", err)
			}
			flipped := bytes.Clone(sig)
			flipped[len(flipped)-5] ^= 0x10
			if ksVerifyLocal(key, a, digest, flipped) == nil {
				t.Fatal("the standard library accepts a flipped signature; the local check is broken")
			}
			other := ksDigest(a.hash, []byte("another message"))

			verifies := []struct {
				name           string
				digest, sig    []byte
				version, valid bool
			}{
				{name: "good signature", digest: digest, sig: sig, valid: true},
				{name: "good signature, versioned", digest: digest, sig: sig, version: true, valid: true},
				{name: "flipped signature", digest: digest, sig: flipped},
				{name: "digest of another message", digest: other, sig: sig},
				{name: "truncated signature", digest: digest, sig: sig[:len(sig)-1]},
				{name: "signature with a byte appended", digest: digest, sig: append(bytes.Clone(sig), 0)},
				{name: "one-byte signature", digest: digest, sig: []byte{1}},
			}
			for _, v := range verifies {
				version := ""
				if v.version {
					version = key.KID.Version()
				}
				got, err := c.Verify(ctx, name, version, azkeys.VerifyParameters{Algorithm: to.Ptr(a.alg), Digest: v.digest, Signature: v.sig}, nil)
				if err != nil || got.Value == nil || *got.Value != v.valid {
					t.Errorf("Verify, %s: %v %v, want 200 with value %v", v.name, err, got.Value, v.valid)
				}
			}
			// Digest lengths are checked on sign and on verify.
			for _, d := range [][]byte{digest[:len(digest)-1], append(bytes.Clone(digest), 0), ksDigest(crypto.SHA1, msg)} {
				_, err := c.Sign(ctx, name, "", azkeys.SignParameters{Algorithm: to.Ptr(a.alg), Value: d}, nil)
				ksErr(t, fmt.Sprintf("sign a %d-byte digest", len(d)), err, http.StatusBadRequest, "BadParameter")
				_, err = c.Verify(ctx, name, "", azkeys.VerifyParameters{Algorithm: to.Ptr(a.alg), Digest: d, Signature: sig}, nil)
				ksErr(t, fmt.Sprintf("verify a %d-byte digest", len(d)), err, http.StatusBadRequest, "BadParameter")
			}

			o := ksNewOpenSSL(t)
			if o == nil {
				return
			}
			pub := o.file(t, "pub.pem", ksPublicPEM(t, key))
			der, derFlipped := sig, flipped
			if a.key.kty == azkeys.KeyTypeEC {
				der, derFlipped = ksDER(t, sig), ksDER(t, flipped)
			}
			sigFile, flippedFile := o.file(t, "sig", der), o.file(t, "flipped", derFlipped)
			digestFile, msgFile := o.file(t, "digest", digest), o.file(t, "msg", msg)
			var pkeyopts, sigopts []string
			if a.pss {
				pkeyopts = []string{"-pkeyopt", "rsa_padding_mode:pss", "-pkeyopt", "rsa_pss_saltlen:digest"}
				sigopts = []string{"-sigopt", "rsa_padding_mode:pss", "-sigopt", "rsa_pss_saltlen:digest"}
			}
			pkeyutl := func(sigFile string) ([]byte, error) {
				return o.run(append([]string{"pkeyutl", "-verify", "-pubin", "-inkey", pub, "-in", digestFile, "-sigfile", sigFile, "-pkeyopt", "digest:" + a.md}, pkeyopts...)...)
			}
			dgst := func(sigFile string) ([]byte, error) {
				return o.run(append(append([]string{"dgst", "-" + a.md, "-verify", pub, "-signature", sigFile}, sigopts...), msgFile)...)
			}
			if out, err := pkeyutl(sigFile); err != nil || !strings.Contains(string(out), "Signature Verified Successfully") {
				t.Errorf("openssl pkeyutl -verify of the digest: %v\n%s", err, out)
			}
			if out, err := dgst(sigFile); err != nil || !strings.Contains(string(out), "Verified OK") {
				t.Errorf("openssl dgst -verify of the message: %v\n%s", err, out)
			}
			if out, err := pkeyutl(flippedFile); err == nil {
				t.Errorf("openssl pkeyutl accepts the flipped signature:\n%s", out)
			}
			if out, err := dgst(flippedFile); err == nil {
				t.Errorf("openssl dgst accepts the flipped signature:\n%s", out)
			}
		})
	}
}

// RSA1_5, RSA-OAEP and RSA-OAEP-256: local encryption with the returned
// public key decrypts on the server and the reverse, through encrypt and
// wrapKey alike; openssl's ciphertexts decrypt on the server; plaintext
// limits follow the padding.
func TestKeysSDKRSAEncryption(t *testing.T) {
	t.Parallel()
	srv := testenv.StartDev(t)
	c := ksClient(t, srv)
	ctx := t.Context()
	priv, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	bundle := ksImport(t, c, "rsa-enc", azkeys.ImportKeyParameters{Key: ksRSAJWK(priv, true, true)})
	kid := *bundle.Key.KID
	pub := ksRSAPublic(bundle.Key) // from the returned JWK only
	o := ksNewOpenSSL(t)
	var pubPEM, privPEM string
	if o != nil {
		pubPEM = o.file(t, "pub.pem", ksPublicPEM(t, bundle.Key))
		der, err := x509.MarshalPKCS8PrivateKey(priv)
		if err != nil {
			t.Fatal(err)
		}
		privPEM = o.file(t, "priv.pem", pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
	}

	cases := []struct {
		alg      azkeys.EncryptionAlgorithm
		overhead int
		encrypt  func(pt []byte) ([]byte, error)
		decrypt  func(ct []byte) ([]byte, error)
		openssl  []string // pkeyutl options
	}{
		{
			alg: azkeys.EncryptionAlgorithmRSA15, overhead: 11,
			encrypt: func(pt []byte) ([]byte, error) { return rsa.EncryptPKCS1v15(rand.Reader, pub, pt) },
			decrypt: func(ct []byte) ([]byte, error) { return rsa.DecryptPKCS1v15(nil, priv, ct) },
			openssl: []string{"-pkeyopt", "rsa_padding_mode:pkcs1"},
		},
		{
			alg: azkeys.EncryptionAlgorithmRSAOAEP, overhead: 42,
			encrypt: func(pt []byte) ([]byte, error) { return rsa.EncryptOAEP(sha1.New(), rand.Reader, pub, pt, nil) },
			decrypt: func(ct []byte) ([]byte, error) { return rsa.DecryptOAEP(sha1.New(), nil, priv, ct, nil) },
			openssl: []string{"-pkeyopt", "rsa_padding_mode:oaep", "-pkeyopt", "rsa_oaep_md:sha1", "-pkeyopt", "rsa_mgf1_md:sha1"},
		},
		{
			alg: azkeys.EncryptionAlgorithmRSAOAEP256, overhead: 66,
			encrypt: func(pt []byte) ([]byte, error) { return rsa.EncryptOAEP(sha256.New(), rand.Reader, pub, pt, nil) },
			decrypt: func(ct []byte) ([]byte, error) { return rsa.DecryptOAEP(sha256.New(), nil, priv, ct, nil) },
			openssl: []string{"-pkeyopt", "rsa_padding_mode:oaep", "-pkeyopt", "rsa_oaep_md:sha256", "-pkeyopt", "rsa_mgf1_md:sha256"},
		},
	}
	for _, tc := range cases {
		t.Run(string(tc.alg), func(t *testing.T) {
			alg := to.Ptr(tc.alg)
			limit := pub.Size() - tc.overhead
			// (The SDK leaves an empty value out of the request, so the
			// smallest plaintext it can send is one byte.)
			for _, n := range []int{1, 32, limit} {
				plain := ksRandom(t, n)
				// local → server, through decrypt and unwrapKey.
				ct, err := tc.encrypt(plain)
				if err != nil {
					t.Fatal(err)
				}
				dec, err := c.Decrypt(ctx, "rsa-enc", "", azkeys.KeyOperationParameters{Algorithm: alg, Value: ct}, nil)
				if err != nil || !bytes.Equal(dec.Result, plain) {
					t.Errorf("decrypt of a local %d-byte ciphertext: %v", n, err)
				} else if *dec.KID != kid {
					t.Errorf("decrypt kid %s, want %s", *dec.KID, kid)
				}
				{
					unw, err := c.UnwrapKey(ctx, "rsa-enc", "", azkeys.KeyOperationParameters{Algorithm: alg, Value: ct}, nil)
					if err != nil || !bytes.Equal(unw.Result, plain) {
						t.Errorf("unwrapKey of a local %d-byte ciphertext: %v", n, err)
					}
				}
				// server → local, through encrypt and wrapKey.
				enc, err := c.Encrypt(ctx, "rsa-enc", bundle.Key.KID.Version(), azkeys.KeyOperationParameters{Algorithm: alg, Value: plain}, nil)
				if err != nil {
					t.Fatalf("encrypt %d bytes: %v", n, err)
				}
				if *enc.KID != kid || len(enc.Result) != pub.Size() || enc.IV != nil || enc.AuthenticationTag != nil {
					t.Errorf("encrypt result: kid %s, %d bytes, iv %x, tag %x", *enc.KID, len(enc.Result), enc.IV, enc.AuthenticationTag)
				}
				if pt, err := tc.decrypt(enc.Result); err != nil || !bytes.Equal(pt, plain) {
					t.Errorf("the server's %d-byte ciphertext does not decrypt locally: %v", n, err)
				}
				{
					wr, err := c.WrapKey(ctx, "rsa-enc", "", azkeys.KeyOperationParameters{Algorithm: alg, Value: plain}, nil)
					if err != nil {
						t.Fatalf("wrapKey: %v", err)
					}
					if pt, err := tc.decrypt(wr.Result); err != nil || !bytes.Equal(pt, plain) || *wr.KID != kid {
						t.Errorf("the server's wrapped key does not unwrap locally: %v", err)
					}
				}
			}
			// Randomized padding: two encryptions differ.
			one, err1 := c.Encrypt(ctx, "rsa-enc", "", azkeys.KeyOperationParameters{Algorithm: alg, Value: []byte("same")}, nil)
			two, err2 := c.Encrypt(ctx, "rsa-enc", "", azkeys.KeyOperationParameters{Algorithm: alg, Value: []byte("same")}, nil)
			if err1 != nil || err2 != nil || bytes.Equal(one.Result, two.Result) {
				t.Errorf("two encryptions are equal (or failed: %v %v)", err1, err2)
			}
			// One byte over the limit is refused.
			_, err = c.Encrypt(ctx, "rsa-enc", "", azkeys.KeyOperationParameters{Algorithm: alg, Value: make([]byte, limit+1)}, nil)
			ksErr(t, "encrypt over the limit", err, http.StatusBadRequest, "BadParameter")
			_, err = c.WrapKey(ctx, "rsa-enc", "", azkeys.KeyOperationParameters{Algorithm: alg, Value: make([]byte, limit+1)}, nil)
			ksErr(t, "wrap over the limit", err, http.StatusBadRequest, "BadParameter")
			// A tampered ciphertext fails without detail.
			bad := bytes.Clone(one.Result)
			bad[10] ^= 1
			_, err = c.Decrypt(ctx, "rsa-enc", "", azkeys.KeyOperationParameters{Algorithm: alg, Value: bad}, nil)
			ksErr(t, "decrypt a tampered ciphertext", err, http.StatusBadRequest, "BadParameter")
			_, err = c.Decrypt(ctx, "rsa-enc", "", azkeys.KeyOperationParameters{Algorithm: alg, Value: one.Result[:100]}, nil)
			ksErr(t, "decrypt a short ciphertext", err, http.StatusBadRequest, "BadParameter")

			if o == nil {
				return
			}
			// openssl encrypts with the public key PEM built from the JWK;
			// the server decrypts. And the reverse with the private key.
			plain := []byte("encrypted by openssl pkeyutl with " + string(tc.alg))
			ptFile := o.file(t, "pt-"+string(tc.alg), plain)
			ctFile := filepath.Join(o.dir, "ct-"+string(tc.alg))
			out, err := o.run(append([]string{"pkeyutl", "-encrypt", "-pubin", "-inkey", pubPEM, "-in", ptFile, "-out", ctFile}, tc.openssl...)...)
			if err != nil {
				t.Fatalf("openssl pkeyutl -encrypt: %v\n%s", err, out)
			}
			ct, err := os.ReadFile(ctFile)
			if err != nil {
				t.Fatal(err)
			}
			dec, err := c.Decrypt(ctx, "rsa-enc", "", azkeys.KeyOperationParameters{Algorithm: alg, Value: ct}, nil)
			if err != nil || !bytes.Equal(dec.Result, plain) {
				t.Errorf("the server does not decrypt openssl's ciphertext: %v", err)
			}
			enc, err := c.Encrypt(ctx, "rsa-enc", "", azkeys.KeyOperationParameters{Algorithm: alg, Value: plain}, nil)
			if err != nil {
				t.Fatal(err)
			}
			serverCT := o.file(t, "server-ct-"+string(tc.alg), enc.Result)
			out, err = o.run(append([]string{"pkeyutl", "-decrypt", "-inkey", privPEM, "-in", serverCT}, tc.openssl...)...)
			if err != nil || !bytes.Equal(out, plain) {
				t.Errorf("openssl does not decrypt the server's ciphertext: %v\n%s", err, out)
			}
		})
	}
}

// AES-GCM, AES-CBC and AES-CBCPAD with oct keys: round trips and known
// answers recomputed with crypto/aes and crypto/cipher.
func TestKeysSDKAESEncryption(t *testing.T) {
	t.Parallel()
	srv := testenv.StartDev(t)
	c := ksClient(t, srv)
	for _, size := range []int{128, 192, 256} {
		t.Run(fmt.Sprintf("AES-%d", size), func(t *testing.T) {
			t.Parallel()
			ctx := t.Context()
			key := ksPattern(size/8, byte(size))
			name := fmt.Sprintf("aes-%d", size)
			bundle := ksImport(t, c, name, azkeys.ImportKeyParameters{Key: ksOctJWK(key)})
			kid := *bundle.Key.KID
			gcmAlg := to.Ptr(azkeys.EncryptionAlgorithm(fmt.Sprintf("A%dGCM", size)))
			cbcAlg := to.Ptr(azkeys.EncryptionAlgorithm(fmt.Sprintf("A%dCBC", size)))
			padAlg := to.Ptr(azkeys.EncryptionAlgorithm(fmt.Sprintf("A%dCBCPAD", size)))
			gcm := ksGCM(t, key)

			t.Run("GCM", func(t *testing.T) {
				for _, tc := range []struct {
					name       string
					plain, aad []byte
				}{
					{name: "with aad", plain: []byte("AES-GCM known answer test, 39 bytes.."), aad: []byte("header")},
					{name: "without aad", plain: []byte("no aad")},
					{name: "one byte", plain: []byte{1}, aad: []byte("only authenticated")},
					{name: "large", plain: ksRandom(t, 100_000)},
				} {
					enc, err := c.Encrypt(ctx, name, "", azkeys.KeyOperationParameters{Algorithm: gcmAlg, Value: tc.plain, AdditionalAuthenticatedData: tc.aad}, nil)
					if err != nil {
						t.Fatalf("%s: encrypt: %v", tc.name, err)
					}
					if len(enc.IV) != 12 || len(enc.AuthenticationTag) != 16 || len(enc.Result) != len(tc.plain) || *enc.KID != kid {
						t.Fatalf("%s: iv %d bytes, tag %d, ciphertext %d, kid %s", tc.name, len(enc.IV), len(enc.AuthenticationTag), len(enc.Result), *enc.KID)
					}
					if !bytes.Equal(enc.AdditionalAuthenticatedData, tc.aad) && len(tc.aad)+len(enc.AdditionalAuthenticatedData) > 0 {
						t.Errorf("%s: aad %q returned, want %q", tc.name, enc.AdditionalAuthenticatedData, tc.aad)
					}
					// Known answer: the same IV through crypto/cipher gives
					// the same ciphertext and tag.
					if want := gcm.Seal(nil, enc.IV, tc.plain, tc.aad); !bytes.Equal(append(bytes.Clone(enc.Result), enc.AuthenticationTag...), want) {
						t.Errorf("%s: ciphertext||tag differs from crypto/cipher's", tc.name)
					}
					dec, err := c.Decrypt(ctx, name, "", azkeys.KeyOperationParameters{Algorithm: gcmAlg, Value: enc.Result, IV: enc.IV, AuthenticationTag: enc.AuthenticationTag, AdditionalAuthenticatedData: tc.aad}, nil)
					if err != nil || !bytes.Equal(dec.Result, tc.plain) {
						t.Errorf("%s: decrypt: %v", tc.name, err)
					}
					// Sealed locally with a fresh IV, opened by the server.
					iv := ksRandom(t, 12)
					sealed := gcm.Seal(nil, iv, tc.plain, tc.aad)
					dec, err = c.Decrypt(ctx, name, "", azkeys.KeyOperationParameters{Algorithm: gcmAlg, Value: sealed[:len(sealed)-16], AuthenticationTag: sealed[len(sealed)-16:], IV: iv, AdditionalAuthenticatedData: tc.aad}, nil)
					if err != nil || !bytes.Equal(dec.Result, tc.plain) {
						t.Errorf("%s: decrypt of a local ciphertext: %v", tc.name, err)
					}
				}
				enc, err := c.Encrypt(ctx, name, "", azkeys.KeyOperationParameters{Algorithm: gcmAlg, Value: []byte("tamper"), AdditionalAuthenticatedData: []byte("aad")}, nil)
				if err != nil {
					t.Fatal(err)
				}
				again, err := c.Encrypt(ctx, name, "", azkeys.KeyOperationParameters{Algorithm: gcmAlg, Value: []byte("tamper"), AdditionalAuthenticatedData: []byte("aad")}, nil)
				if err != nil || bytes.Equal(again.IV, enc.IV) {
					t.Errorf("two encryptions used the same IV (or failed: %v)", err)
				}
				flip := func(b []byte) []byte { b = bytes.Clone(b); b[0] ^= 1; return b }
				bad := []struct {
					name string
					p    azkeys.KeyOperationParameters
				}{
					{name: "wrong tag", p: azkeys.KeyOperationParameters{Value: enc.Result, IV: enc.IV, AuthenticationTag: flip(enc.AuthenticationTag), AdditionalAuthenticatedData: []byte("aad")}},
					{name: "wrong aad", p: azkeys.KeyOperationParameters{Value: enc.Result, IV: enc.IV, AuthenticationTag: enc.AuthenticationTag, AdditionalAuthenticatedData: []byte("AAD")}},
					{name: "missing aad", p: azkeys.KeyOperationParameters{Value: enc.Result, IV: enc.IV, AuthenticationTag: enc.AuthenticationTag}},
					{name: "wrong iv", p: azkeys.KeyOperationParameters{Value: enc.Result, IV: flip(enc.IV), AuthenticationTag: enc.AuthenticationTag, AdditionalAuthenticatedData: []byte("aad")}},
					{name: "tampered ciphertext", p: azkeys.KeyOperationParameters{Value: flip(enc.Result), IV: enc.IV, AuthenticationTag: enc.AuthenticationTag, AdditionalAuthenticatedData: []byte("aad")}},
					{name: "no tag", p: azkeys.KeyOperationParameters{Value: enc.Result, IV: enc.IV, AdditionalAuthenticatedData: []byte("aad")}},
					{name: "short tag", p: azkeys.KeyOperationParameters{Value: enc.Result, IV: enc.IV, AuthenticationTag: enc.AuthenticationTag[:12], AdditionalAuthenticatedData: []byte("aad")}},
					{name: "no iv", p: azkeys.KeyOperationParameters{Value: enc.Result, AuthenticationTag: enc.AuthenticationTag, AdditionalAuthenticatedData: []byte("aad")}},
					{name: "8-byte iv", p: azkeys.KeyOperationParameters{Value: enc.Result, IV: enc.IV[:8], AuthenticationTag: enc.AuthenticationTag, AdditionalAuthenticatedData: []byte("aad")}},
				}
				for _, b := range bad {
					b.p.Algorithm = gcmAlg
					_, err := c.Decrypt(ctx, name, "", b.p, nil)
					ksErr(t, "GCM decrypt, "+b.name, err, http.StatusBadRequest, "BadParameter")
				}
			})

			t.Run("CBC", func(t *testing.T) {
				iv := ksPattern(16, 0xA0)
				plain := ksPattern(48, 'A') // whole blocks
				enc, err := c.Encrypt(ctx, name, "", azkeys.KeyOperationParameters{Algorithm: cbcAlg, Value: plain, IV: iv}, nil)
				if err != nil {
					t.Fatal(err)
				}
				if want := ksCBC(t, key, iv, plain); !bytes.Equal(enc.Result, want) {
					t.Errorf("CBC ciphertext differs from crypto/cipher's:\n%x\n%x", enc.Result, want)
				}
				if enc.IV != nil && !bytes.Equal(enc.IV, iv) {
					t.Errorf("returned iv %x, want the request's %x", enc.IV, iv)
				}
				dec, err := c.Decrypt(ctx, name, "", azkeys.KeyOperationParameters{Algorithm: cbcAlg, Value: enc.Result, IV: iv}, nil)
				if err != nil || !bytes.Equal(dec.Result, plain) {
					t.Errorf("CBC decrypt: %v", err)
				}
				local := ksCBC(t, key, iv, plain[:32])
				dec, err = c.Decrypt(ctx, name, "", azkeys.KeyOperationParameters{Algorithm: cbcAlg, Value: local, IV: iv}, nil)
				if err != nil || !bytes.Equal(dec.Result, plain[:32]) {
					t.Errorf("CBC decrypt of a local ciphertext: %v", err)
				}
				_, err = c.Encrypt(ctx, name, "", azkeys.KeyOperationParameters{Algorithm: cbcAlg, Value: plain[:20], IV: iv}, nil)
				ksErr(t, "CBC encrypt of 20 bytes", err, http.StatusBadRequest, "BadParameter")
				_, err = c.Encrypt(ctx, name, "", azkeys.KeyOperationParameters{Algorithm: cbcAlg, Value: plain, IV: iv[:12]}, nil)
				ksErr(t, "CBC encrypt with a 12-byte iv", err, http.StatusBadRequest, "BadParameter")
				_, err = c.Decrypt(ctx, name, "", azkeys.KeyOperationParameters{Algorithm: cbcAlg, Value: enc.Result[:20], IV: iv}, nil)
				ksErr(t, "CBC decrypt of 20 bytes", err, http.StatusBadRequest, "BadParameter")
				_, err = c.Decrypt(ctx, name, "", azkeys.KeyOperationParameters{Algorithm: cbcAlg, Value: enc.Result}, nil)
				ksErr(t, "CBC decrypt without iv", err, http.StatusBadRequest, "BadParameter")
			})

			t.Run("CBCPAD", func(t *testing.T) {
				iv := ksPattern(16, 0x30)
				for _, n := range []int{1, 15, 16, 37} {
					plain := ksPattern(n, 'a')
					enc, err := c.Encrypt(ctx, name, "", azkeys.KeyOperationParameters{Algorithm: padAlg, Value: plain, IV: iv}, nil)
					if err != nil {
						t.Fatalf("%d bytes: %v", n, err)
					}
					if want := ksCBC(t, key, iv, ksPKCS7(plain)); !bytes.Equal(enc.Result, want) {
						t.Errorf("CBCPAD of %d bytes differs from crypto/cipher with PKCS#7 padding", n)
					}
					dec, err := c.Decrypt(ctx, name, "", azkeys.KeyOperationParameters{Algorithm: padAlg, Value: enc.Result, IV: iv}, nil)
					if err != nil || !bytes.Equal(dec.Result, plain) {
						t.Errorf("CBCPAD decrypt of %d bytes: %v", n, err)
					}
				}
				// Bad padding: a last block ending in 0x00 or 0x11.
				for _, last := range []byte{0x00, 0x11} {
					block := bytes.Repeat([]byte{last}, 16)
					_, err := c.Decrypt(ctx, name, "", azkeys.KeyOperationParameters{Algorithm: padAlg, Value: ksCBC(t, key, iv, block), IV: iv}, nil)
					ksErr(t, fmt.Sprintf("CBCPAD decrypt with padding byte %#x", last), err, http.StatusBadRequest, "BadParameter")
				}
			})

			t.Run("wrong sizes", func(t *testing.T) {
				for _, other := range []int{128, 192, 256} {
					if other == size {
						continue
					}
					for _, mode := range []string{"GCM", "CBC", "CBCPAD"} {
						alg := azkeys.EncryptionAlgorithm(fmt.Sprintf("A%d%s", other, mode))
						_, err := c.Encrypt(ctx, name, "", azkeys.KeyOperationParameters{Algorithm: to.Ptr(alg), Value: make([]byte, 16), IV: make([]byte, 16)}, nil)
						ksErr(t, fmt.Sprintf("%s with a %d-bit key", alg, size), err, http.StatusBadRequest, "BadParameter")
					}
				}
			})
		})
	}
}

// AES key wrap (A128KW, A192KW, A256KW) equals RFC 3394 computed here and
// by openssl, including the RFC's own test vectors; RSA wrap is covered by
// TestKeysSDKRSAEncryption.
func TestKeysSDKKeyWrap(t *testing.T) {
	t.Parallel()
	srv := testenv.StartDev(t)
	c := ksClient(t, srv)
	ctx := t.Context()

	// The local implementation first reproduces RFC 3394 §4.1 and §4.6.
	kek128, kek256 := ksPattern(16, 0), ksPattern(32, 0)
	data128 := ksUnhex(t, "00112233445566778899AABBCCDDEEFF")
	data256 := ksUnhex(t, "00112233445566778899AABBCCDDEEFF000102030405060708090A0B0C0D0E0F")
	vector41 := ksUnhex(t, "1FA68B0A8112B447 AEF34BD8FB5A7B82 9D3E862371D2CFE5")
	vector46 := ksUnhex(t, "28C9F404C4B810F4 CBCCB35CFB87F826 3F5786E2D80ED326 CBC7F0E71A99F43B FB988B9B7A02DD21")
	if !bytes.Equal(ksKeyWrap(t, kek128, data128), vector41) || !bytes.Equal(ksKeyWrap(t, kek256, data256), vector46) {
		t.Fatal("the test's RFC 3394 implementation does not reproduce the RFC's vectors")
	}
	ksImport(t, c, "rfc-kek-128", azkeys.ImportKeyParameters{Key: ksOctJWK(kek128)})
	ksImport(t, c, "rfc-kek-256", azkeys.ImportKeyParameters{Key: ksOctJWK(kek256)})
	for _, v := range []struct {
		name, key, alg string
		data, want     []byte
	}{
		{name: "RFC 3394 4.1", key: "rfc-kek-128", alg: "A128KW", data: data128, want: vector41},
		{name: "RFC 3394 4.6", key: "rfc-kek-256", alg: "A256KW", data: data256, want: vector46},
	} {
		res, err := c.WrapKey(ctx, v.key, "", azkeys.KeyOperationParameters{Algorithm: to.Ptr(azkeys.EncryptionAlgorithm(v.alg)), Value: v.data}, nil)
		if err != nil || !bytes.Equal(res.Result, v.want) {
			t.Errorf("%s: %v\n got %x\nwant %x", v.name, err, res.Result, v.want)
		}
	}

	o := ksNewOpenSSL(t)
	for _, size := range []int{128, 192, 256} {
		t.Run(fmt.Sprintf("A%dKW", size), func(t *testing.T) {
			kek := ksRandom(t, size/8)
			name := fmt.Sprintf("kek-%d", size)
			bundle := ksImport(t, c, name, azkeys.ImportKeyParameters{Key: ksOctJWK(kek)})
			alg := to.Ptr(azkeys.EncryptionAlgorithm(fmt.Sprintf("A%dKW", size)))
			for _, n := range []int{16, 24, 32, 64} {
				data := ksRandom(t, n)
				want := ksKeyWrap(t, kek, data)
				res, err := c.WrapKey(ctx, name, "", azkeys.KeyOperationParameters{Algorithm: alg, Value: data}, nil)
				if err != nil {
					t.Fatalf("wrap %d bytes: %v", n, err)
				}
				if !bytes.Equal(res.Result, want) || *res.KID != *bundle.Key.KID {
					t.Errorf("wrap of %d bytes differs from RFC 3394 computed locally", n)
				}
				if o != nil {
					in := o.file(t, fmt.Sprintf("kd-%d-%d", size, n), data)
					out, err := o.run("enc", fmt.Sprintf("-id-aes%d-wrap", size), "-K", hex.EncodeToString(kek), "-iv", "A6A6A6A6A6A6A6A6", "-in", in)
					if err != nil || !bytes.Equal(out, res.Result) {
						t.Errorf("wrap of %d bytes differs from openssl enc -id-aes%d-wrap: %v\n%x\n%x", n, size, err, out, res.Result)
					}
				}
				unw, err := c.UnwrapKey(ctx, name, "", azkeys.KeyOperationParameters{Algorithm: alg, Value: want}, nil)
				if err != nil || !bytes.Equal(unw.Result, data) {
					t.Errorf("unwrap of a local wrap of %d bytes: %v", n, err)
				}
			}
			good := ksKeyWrap(t, kek, make([]byte, 32))
			tampered := bytes.Clone(good)
			tampered[20] ^= 1
			_, err := c.UnwrapKey(ctx, name, "", azkeys.KeyOperationParameters{Algorithm: alg, Value: tampered}, nil)
			ksErr(t, "unwrap a tampered key", err, http.StatusBadRequest, "BadParameter")
			_, err = c.UnwrapKey(ctx, name, "", azkeys.KeyOperationParameters{Algorithm: alg, Value: good[:20]}, nil)
			ksErr(t, "unwrap 20 bytes", err, http.StatusBadRequest, "BadParameter")
			for _, n := range []int{8, 12, 20} {
				_, err = c.WrapKey(ctx, name, "", azkeys.KeyOperationParameters{Algorithm: alg, Value: make([]byte, n)}, nil)
				ksErr(t, fmt.Sprintf("wrap %d bytes", n), err, http.StatusBadRequest, "BadParameter")
			}
		})
	}
}

// key_ops allow exactly the listed operations; an operation not listed is
// refused with 403 (NOTES §3.3 allows 400 or 403; keyhaven uses 403).
func TestKeysSDKKeyOps(t *testing.T) {
	t.Parallel()
	srv := testenv.StartDev(t)
	c := ksClient(t, srv)
	ctx := t.Context()
	kit := ksNewRSAKit(t)
	got := ksImport(t, c, "ops", azkeys.ImportKeyParameters{Key: kit.jwk(azkeys.KeyOperationEncrypt, azkeys.KeyOperationVerify)})
	if ops := ksOps(got.Key); !slices.Equal(ops, []string{"encrypt", "verify"}) {
		t.Fatalf("imported key_ops %v", ops)
	}
	steps := []struct {
		name    string
		update  []azkeys.KeyOperation // nil: no update
		allowed []azkeys.KeyOperation
	}{
		{name: "imported with encrypt and verify", allowed: []azkeys.KeyOperation{azkeys.KeyOperationEncrypt, azkeys.KeyOperationVerify}},
		{name: "updated to sign and unwrapKey", update: []azkeys.KeyOperation{azkeys.KeyOperationSign, azkeys.KeyOperationUnwrapKey},
			allowed: []azkeys.KeyOperation{azkeys.KeyOperationSign, azkeys.KeyOperationUnwrapKey}},
		{name: "updated to decrypt and wrapKey", update: []azkeys.KeyOperation{azkeys.KeyOperationDecrypt, azkeys.KeyOperationWrapKey},
			allowed: []azkeys.KeyOperation{azkeys.KeyOperationDecrypt, azkeys.KeyOperationWrapKey}},
		{name: "updated to every operation", update: ksAllOps, allowed: ksAllOps},
		{name: "updated to none", update: []azkeys.KeyOperation{}, allowed: nil},
	}
	for _, s := range steps {
		if s.update != nil {
			upd, err := c.UpdateKey(ctx, "ops", "", azkeys.UpdateKeyParameters{KeyOps: ksOpPtrs(s.update...)}, nil)
			if err != nil {
				t.Fatalf("%s: %v", s.name, err)
			}
			if ops := ksOps(upd.Key); !slices.Equal(ops, ksSorted(s.update...)) {
				t.Errorf("%s: key_ops %v returned", s.name, ops)
			}
		}
		for _, op := range ksCryptoOps {
			err := kit.do(t, c, "ops", "", op)
			if slices.Contains(s.allowed, azkeys.KeyOperation(op)) {
				if err != nil {
					t.Errorf("%s: %s refused: %v", s.name, op, err)
				}
			} else {
				ksErr(t, s.name+": "+op, err, http.StatusForbidden, "Forbidden")
			}
		}
	}

	// Defaults per type: EC keys do not encrypt; oct keys do not sign
	// unless key_ops say so, and then HS256 is HMAC-SHA256 of the input.
	ksCreate(t, c, "ec-ops", ksP256.params())
	_, err := c.Encrypt(ctx, "ec-ops", "", azkeys.KeyOperationParameters{Algorithm: to.Ptr(azkeys.EncryptionAlgorithmRSAOAEP256), Value: []byte("x")}, nil)
	ksErr(t, "encrypt with an EC key", err, http.StatusForbidden, "Forbidden")
	hmacKey := ksRandom(t, 32)
	ksImport(t, c, "oct-default", azkeys.ImportKeyParameters{Key: ksOctJWK(hmacKey)})
	_, err = c.Sign(ctx, "oct-default", "", azkeys.SignParameters{Algorithm: to.Ptr(azkeys.SignatureAlgorithmHS256), Value: []byte("data")}, nil)
	ksErr(t, "HS256 with default oct key_ops", err, http.StatusForbidden, "Forbidden")
	ksImport(t, c, "oct-hmac", azkeys.ImportKeyParameters{Key: ksOctJWK(hmacKey, azkeys.KeyOperationSign, azkeys.KeyOperationVerify)})
	mac := hmac.New(sha256.New, hmacKey)
	mac.Write([]byte("data"))
	res, err := c.Sign(ctx, "oct-hmac", "", azkeys.SignParameters{Algorithm: to.Ptr(azkeys.SignatureAlgorithmHS256), Value: []byte("data")}, nil)
	if err != nil || !bytes.Equal(res.Result, mac.Sum(nil)) {
		t.Errorf("HS256 differs from crypto/hmac: %v", err)
	}
	_, err = c.Encrypt(ctx, "oct-hmac", "", azkeys.KeyOperationParameters{Algorithm: to.Ptr(azkeys.EncryptionAlgorithmA256GCM), Value: []byte("x")}, nil)
	ksErr(t, "encrypt with a sign-only oct key", err, http.StatusForbidden, "Forbidden")
}

// A disabled version refuses every crypto operation with 403; other
// versions keep working; enabling it again restores it.
func TestKeysSDKDisabledKey(t *testing.T) {
	t.Parallel()
	srv := testenv.StartDev(t)
	c := ksClient(t, srv)
	ctx := t.Context()
	old, cur := ksNewRSAKit(t), ksNewRSAKit(t)
	v1 := ksImport(t, c, "dis", azkeys.ImportKeyParameters{Key: old.jwk()}).Key.KID.Version()
	v2 := ksImport(t, c, "dis", azkeys.ImportKeyParameters{Key: cur.jwk()}).Key.KID.Version()

	type check struct {
		kit     *ksRSAKit
		version string // "" is the current version
		works   bool
	}
	steps := []struct {
		name    string
		update  string // the version to enable or disable; "" is the current one
		enabled bool
		checks  []check
	}{
		{name: "old version disabled", update: v1, enabled: false,
			checks: []check{{kit: old, version: v1}, {kit: cur, version: "", works: true}, {kit: cur, version: v2, works: true}}},
		{name: "current version disabled", update: "", enabled: false,
			checks: []check{{kit: cur, version: ""}, {kit: cur, version: v2}, {kit: old, version: v1}}},
		{name: "old version enabled again", update: v1, enabled: true,
			checks: []check{{kit: old, version: v1, works: true}, {kit: cur, version: ""}}},
		{name: "current version enabled again", update: v2, enabled: true,
			checks: []check{{kit: cur, version: "", works: true}, {kit: old, version: v1, works: true}}},
	}
	for _, s := range steps {
		upd, err := c.UpdateKey(ctx, "dis", s.update, azkeys.UpdateKeyParameters{KeyAttributes: &azkeys.KeyAttributes{Enabled: to.Ptr(s.enabled)}}, nil)
		if err != nil || *upd.Attributes.Enabled != s.enabled {
			t.Fatalf("%s: update: %v", s.name, err)
		}
		for _, ch := range s.checks {
			for _, op := range ksCryptoOps {
				err := ch.kit.do(t, c, "dis", ch.version, op)
				what := fmt.Sprintf("%s: %s with version %q", s.name, op, ch.version)
				if ch.works && err != nil {
					t.Errorf("%s: %v", what, err)
				} else if !ch.works {
					ksErr(t, what, err, http.StatusForbidden, "Forbidden")
				}
			}
		}
	}
}

// Outside nbf/exp, encrypt, wrapKey and sign are refused with 403 while
// decrypt, unwrapKey and verify keep working (NOTES §7).
func TestKeysSDKValidityWindow(t *testing.T) {
	t.Parallel()
	srv, clock := testenv.StartDevWithClock(t)
	c := ksClient(t, srv)
	ctx := t.Context()
	kit := ksNewRSAKit(t)
	nbf := time.Unix(clock.Now().Unix()+600, 0)
	exp := nbf.Add(10 * time.Minute)
	bundle := ksImport(t, c, "window", azkeys.ImportKeyParameters{Key: kit.jwk(), KeyAttributes: &azkeys.KeyAttributes{NotBefore: &nbf, Expires: &exp}})
	if a := bundle.Attributes; a.NotBefore == nil || !a.NotBefore.Equal(nbf) || a.Expires == nil || !a.Expires.Equal(exp) {
		t.Fatalf("nbf/exp %v %v, want %v %v", a.NotBefore, a.Expires, nbf, exp)
	}
	// An oct key with the same window, for AES.
	aesKey := ksRandom(t, 32)
	ksImport(t, c, "window-aes", azkeys.ImportKeyParameters{Key: ksOctJWK(aesKey), KeyAttributes: &azkeys.KeyAttributes{NotBefore: &nbf, Expires: &exp}})
	iv := ksRandom(t, 12)
	sealed := ksGCM(t, aesKey).Seal(nil, iv, []byte("aes window"), nil)

	steps := []struct {
		name string
		at   time.Time
		open bool
	}{
		{name: "before nbf", at: nbf.Add(-time.Second), open: false},
		{name: "at nbf", at: nbf, open: true},
		{name: "just before exp", at: exp.Add(-time.Second), open: true},
		{name: "after exp", at: exp.Add(time.Second), open: false},
		{name: "a day after exp", at: exp.Add(24 * time.Hour), open: false},
	}
	for _, s := range steps {
		clock.Advance(s.at.Sub(clock.Now()))
		c = ksClient(t, srv)
		for _, op := range ksCryptoOps {
			err := kit.do(t, c, "window", "", op)
			if s.open || !ksTimeBound[op] {
				if err != nil {
					t.Errorf("%s: %s refused: %v", s.name, op, err)
				}
			} else {
				ksErr(t, s.name+": "+op, err, http.StatusForbidden, "Forbidden")
			}
		}
		_, err := c.Encrypt(ctx, "window-aes", "", azkeys.KeyOperationParameters{Algorithm: to.Ptr(azkeys.EncryptionAlgorithmA256GCM), Value: []byte("x")}, nil)
		if s.open && err != nil {
			t.Errorf("%s: A256GCM encrypt refused: %v", s.name, err)
		} else if !s.open {
			ksErr(t, s.name+": A256GCM encrypt", err, http.StatusForbidden, "Forbidden")
		}
		dec, err := c.Decrypt(ctx, "window-aes", "", azkeys.KeyOperationParameters{Algorithm: to.Ptr(azkeys.EncryptionAlgorithmA256GCM),
			Value: sealed[:len(sealed)-16], AuthenticationTag: sealed[len(sealed)-16:], IV: iv}, nil)
		if err != nil || string(dec.Result) != "aes window" {
			t.Errorf("%s: A256GCM decrypt: %v", s.name, err)
		}
	}
}

// Bad requests get 400 (or 404/413 where due) with Azure's error codes and
// leave every key and version exactly as they were.
func TestKeysSDKBadRequestsChangeNothing(t *testing.T) {
	t.Parallel()
	srv := testenv.StartDev(t)
	c := ksClient(t, srv)
	ctx := t.Context()
	rsaKey := ksCreate(t, c, "rsa", ksRSA2048.params())
	ksCreate(t, c, "ec", ksP256.params())
	ksCreate(t, c, "k1", ksP256K.params())
	aesOld := ksCreate(t, c, "aes", ksOct128.params())
	ksCreate(t, c, "aes", ksOct128.params()) // a second version
	later := ksP384.params()
	later.KeyAttributes = &azkeys.KeyAttributes{NotBefore: to.Ptr(time.Unix(2_000_000_000, 0))}
	ksCreate(t, c, "later", later)
	rsaVersion := rsaKey.Key.KID.Version()
	d32, d48, d64 := ksRandom(t, 32), ksRandom(t, 48), ksRandom(t, 64)

	sign := func(name string, alg azkeys.SignatureAlgorithm, digest []byte) func() error {
		return func() error {
			_, err := c.Sign(ctx, name, "", azkeys.SignParameters{Algorithm: to.Ptr(alg), Value: digest}, nil)
			return err
		}
	}
	verify := func(name string, alg azkeys.SignatureAlgorithm, digest []byte) func() error {
		return func() error {
			_, err := c.Verify(ctx, name, "", azkeys.VerifyParameters{Algorithm: to.Ptr(alg), Digest: digest, Signature: make([]byte, 64)}, nil)
			return err
		}
	}
	encrypt := func(name string, p azkeys.KeyOperationParameters) func() error {
		return func() error { _, err := c.Encrypt(ctx, name, "", p, nil); return err }
	}
	decrypt := func(name string, p azkeys.KeyOperationParameters) func() error {
		return func() error { _, err := c.Decrypt(ctx, name, "", p, nil); return err }
	}
	wrap := func(name string, p azkeys.KeyOperationParameters) func() error {
		return func() error { _, err := c.WrapKey(ctx, name, "", p, nil); return err }
	}
	create := func(name string, p azkeys.CreateKeyParameters) func() error {
		return func() error { _, err := c.CreateKey(ctx, name, p, nil); return err }
	}
	update := func(name, version string, p azkeys.UpdateKeyParameters) func() error {
		return func() error { _, err := c.UpdateKey(ctx, name, version, p, nil); return err }
	}
	alg := func(a azkeys.EncryptionAlgorithm) *azkeys.EncryptionAlgorithm { return to.Ptr(a) }
	withKty := func(p azkeys.CreateKeyParameters, f func(*azkeys.CreateKeyParameters)) azkeys.CreateKeyParameters {
		f(&p)
		return p
	}

	cases := []struct {
		name   string
		call   func() error
		status int
		code   string
	}{
		// Algorithms that do not fit the key.
		{name: "ES256 with an RSA key", call: sign("rsa", azkeys.SignatureAlgorithmES256, d32)},
		{name: "RS256 with an EC key", call: sign("ec", azkeys.SignatureAlgorithmRS256, d32)},
		{name: "PS256 with an EC key", call: sign("ec", azkeys.SignatureAlgorithmPS256, d32)},
		{name: "ES384 with a P-256 key", call: sign("ec", azkeys.SignatureAlgorithmES384, d48)},
		{name: "ES512 with a P-256 key", call: sign("ec", azkeys.SignatureAlgorithmES512, d64)},
		{name: "ES256K with a P-256 key", call: sign("ec", azkeys.SignatureAlgorithmES256K, d32)},
		{name: "ES256 with a P-256K key", call: sign("k1", azkeys.SignatureAlgorithmES256, d32)},
		{name: "verify ES256K with a P-256 key", call: verify("ec", azkeys.SignatureAlgorithmES256K, d32)},
		{name: "HS256 with an RSA key", call: sign("rsa", azkeys.SignatureAlgorithmHS256, d32)},
		{name: "unknown signature algorithm", call: sign("rsa", "RS1024", d32)},
		{name: "empty signature algorithm", call: sign("rsa", "", d32)},
		{name: "A128GCM with an RSA key", call: encrypt("rsa", azkeys.KeyOperationParameters{Algorithm: alg(azkeys.EncryptionAlgorithmA128GCM), Value: d32})},
		{name: "RSA-OAEP with an oct key", call: encrypt("aes", azkeys.KeyOperationParameters{Algorithm: alg(azkeys.EncryptionAlgorithmRSAOAEP), Value: d32})},
		{name: "A256GCM with a 128-bit key", call: encrypt("aes", azkeys.KeyOperationParameters{Algorithm: alg(azkeys.EncryptionAlgorithmA256GCM), Value: d32})},
		{name: "A128KW to encrypt", call: encrypt("aes", azkeys.KeyOperationParameters{Algorithm: alg(azkeys.EncryptionAlgorithmA128KW), Value: d32})},
		{name: "A256KW with an RSA key", call: wrap("rsa", azkeys.KeyOperationParameters{Algorithm: alg(azkeys.EncryptionAlgorithmA256KW), Value: d32})},
		{name: "RSA-OAEP-256 wrap with an oct key", call: wrap("aes", azkeys.KeyOperationParameters{Algorithm: alg(azkeys.EncryptionAlgorithmRSAOAEP256), Value: d32})},
		{name: "A256KW with a 128-bit key", call: wrap("aes", azkeys.KeyOperationParameters{Algorithm: alg(azkeys.EncryptionAlgorithmA256KW), Value: d32})},
		{name: "unknown encryption algorithm", call: encrypt("rsa", azkeys.KeyOperationParameters{Algorithm: alg("RSA-OAEP-512"), Value: d32})},
		{name: "no encryption algorithm", call: encrypt("rsa", azkeys.KeyOperationParameters{Value: d32})},
		// Digest lengths.
		{name: "RS256 with a 48-byte digest", call: sign("rsa", azkeys.SignatureAlgorithmRS256, d48)},
		{name: "RS512 with a 32-byte digest", call: sign("rsa", azkeys.SignatureAlgorithmRS512, d32)},
		{name: "PS384 with a 64-byte digest", call: sign("rsa", azkeys.SignatureAlgorithmPS384, d64)},
		{name: "ES256 with a 31-byte digest", call: sign("ec", azkeys.SignatureAlgorithmES256, d32[:31])},
		{name: "ES256K with a 64-byte digest", call: sign("k1", azkeys.SignatureAlgorithmES256K, d64)},
		{name: "RS256 without a digest", call: sign("rsa", azkeys.SignatureAlgorithmRS256, []byte{})},
		{name: "verify PS256 with a 33-byte digest", call: verify("rsa", azkeys.SignatureAlgorithmPS256, append(bytes.Clone(d32), 1))},
		// Input sizes and parameters.
		{name: "RSA-OAEP-256 plaintext of k-65 bytes", call: encrypt("rsa", azkeys.KeyOperationParameters{Algorithm: alg(azkeys.EncryptionAlgorithmRSAOAEP256), Value: make([]byte, 256-65)})},
		{name: "RSA1_5 plaintext of k-10 bytes", call: encrypt("rsa", azkeys.KeyOperationParameters{Algorithm: alg(azkeys.EncryptionAlgorithmRSA15), Value: make([]byte, 256-10)})},
		{name: "RSA-OAEP ciphertext of 10 bytes", call: decrypt("rsa", azkeys.KeyOperationParameters{Algorithm: alg(azkeys.EncryptionAlgorithmRSAOAEP), Value: make([]byte, 10)})},
		{name: "A128CBC plaintext of 20 bytes", call: encrypt("aes", azkeys.KeyOperationParameters{Algorithm: alg(azkeys.EncryptionAlgorithmA128CBC), Value: make([]byte, 20), IV: make([]byte, 16)})},
		{name: "A128CBC with an 8-byte iv", call: encrypt("aes", azkeys.KeyOperationParameters{Algorithm: alg(azkeys.EncryptionAlgorithmA128CBC), Value: make([]byte, 16), IV: make([]byte, 8)})},
		{name: "A128GCM decrypt without tag", call: decrypt("aes", azkeys.KeyOperationParameters{Algorithm: alg(azkeys.EncryptionAlgorithmA128GCM), Value: d32, IV: make([]byte, 12)})},
		{name: "A128KW of 12 bytes", call: wrap("aes", azkeys.KeyOperationParameters{Algorithm: alg(azkeys.EncryptionAlgorithmA128KW), Value: make([]byte, 12)})},
		{name: "encrypt body over the size limit", call: encrypt("aes", azkeys.KeyOperationParameters{Algorithm: alg(azkeys.EncryptionAlgorithmA128GCM), Value: make([]byte, 300<<10)}),
			status: http.StatusRequestEntityTooLarge, code: "RequestEntityTooLarge"},
		// Invalid names.
		{name: "name with an underscore", call: create("bad_name", ksP256.params())},
		{name: "name with a dot", call: create("bad.name", ksP256.params())},
		{name: "name with a space", call: create("bad name", ksP256.params())},
		{name: "name of 128 characters", call: create(strings.Repeat("n", 128), ksP256.params())},
		{name: "non-ASCII name", call: create("clé", ksP256.params())},
		{name: "import with an invalid name", call: func() error {
			_, err := c.ImportKey(ctx, "bad_name", azkeys.ImportKeyParameters{Key: ksOctJWK(make([]byte, 16))}, nil)
			return err
		}},
		// Create parameters over existing names.
		{name: "RSA 1024", call: create("rsa", withKty(ksRSA2048.params(), func(p *azkeys.CreateKeyParameters) { p.KeySize = to.Ptr(int32(1024)) }))},
		{name: "RSA 2049", call: create("rsa", withKty(ksRSA2048.params(), func(p *azkeys.CreateKeyParameters) { p.KeySize = to.Ptr(int32(2049)) }))},
		{name: "RSA public exponent 3", call: create("rsa", withKty(ksRSA2048.params(), func(p *azkeys.CreateKeyParameters) { p.PublicExponent = to.Ptr(int32(3)) }))},
		{name: "RSA with a curve", call: create("rsa", withKty(ksRSA2048.params(), func(p *azkeys.CreateKeyParameters) { p.Curve = to.Ptr(azkeys.CurveNameP256) }))},
		{name: "EC P-192", call: create("ec", withKty(ksP256.params(), func(p *azkeys.CreateKeyParameters) { p.Curve = to.Ptr(azkeys.CurveName("P-192")) }))},
		{name: "EC size not matching the curve", call: create("ec", withKty(ksP256.params(), func(p *azkeys.CreateKeyParameters) { p.KeySize = to.Ptr(int32(384)) }))},
		{name: "oct 512", call: create("aes", withKty(ksOct128.params(), func(p *azkeys.CreateKeyParameters) { p.KeySize = to.Ptr(int32(512)) }))},
		{name: "RSA-HSM without an HSM", call: create("rsa", withKty(ksRSA2048.params(), func(p *azkeys.CreateKeyParameters) { p.Kty = to.Ptr(azkeys.KeyTypeRSAHSM) }))},
		{name: "oct-HSM without an HSM", call: create("aes", withKty(ksOct128.params(), func(p *azkeys.CreateKeyParameters) { p.Kty = to.Ptr(azkeys.KeyTypeOctHSM) }))},
		{name: "no kty", call: create("rsa", azkeys.CreateKeyParameters{KeySize: to.Ptr(int32(2048))})},
		{name: "unknown key_ops", call: create("rsa", withKty(ksRSA2048.params(), func(p *azkeys.CreateKeyParameters) { p.KeyOps = ksOpPtrs("fly") }))},
		{name: "exportable without release policy", call: create("rsa", withKty(ksRSA2048.params(), func(p *azkeys.CreateKeyParameters) {
			p.KeyAttributes = &azkeys.KeyAttributes{Exportable: to.Ptr(true)}
		}))},
		{name: "16 tags", call: create("rsa", withKty(ksRSA2048.params(), func(p *azkeys.CreateKeyParameters) { p.Tags = ksTags(16) }))},
		{name: "create exp before nbf", call: create("rsa", withKty(ksRSA2048.params(), func(p *azkeys.CreateKeyParameters) {
			p.KeyAttributes = &azkeys.KeyAttributes{NotBefore: to.Ptr(time.Unix(2_000_000_000, 0)), Expires: to.Ptr(time.Unix(1_900_000_000, 0))}
		}))},
		// Updates.
		{name: "update with unknown key_ops", call: update("rsa", "", azkeys.UpdateKeyParameters{KeyOps: ksOpPtrs("fly")})},
		{name: "update a version with unknown key_ops", call: update("rsa", rsaVersion, azkeys.UpdateKeyParameters{KeyOps: ksOpPtrs(azkeys.KeyOperationSign, "fly")})},
		{name: "update exp before nbf", call: update("rsa", "", azkeys.UpdateKeyParameters{KeyAttributes: &azkeys.KeyAttributes{
			NotBefore: to.Ptr(time.Unix(2_000_000_000, 0)), Expires: to.Ptr(time.Unix(1_900_000_000, 0))}})},
		{name: "update an old version with 16 tags and enabled false", call: update("aes", aesOld.Key.KID.Version(), azkeys.UpdateKeyParameters{Tags: ksTags(16),
			KeyAttributes: &azkeys.KeyAttributes{Enabled: to.Ptr(false)}})},
		{name: "update exp before the version's nbf", call: update("later", "", azkeys.UpdateKeyParameters{KeyAttributes: &azkeys.KeyAttributes{
			Expires: to.Ptr(time.Unix(1_999_999_999, 0))}})},
		{name: "update with 16 tags", call: update("ec", "", azkeys.UpdateKeyParameters{Tags: ksTags(16), KeyOps: ksOpPtrs(azkeys.KeyOperationVerify)})},
		// Objects that do not exist.
		{name: "sign with an unknown key", call: sign("nope", azkeys.SignatureAlgorithmRS256, d32), status: http.StatusNotFound, code: "KeyNotFound"},
		{name: "sign with an unknown version", call: func() error {
			_, err := c.Sign(ctx, "rsa", "0123456789abcdef0123456789abcdef", azkeys.SignParameters{Algorithm: to.Ptr(azkeys.SignatureAlgorithmRS256), Value: d32}, nil)
			return err
		}, status: http.StatusNotFound, code: "KeyNotFound"},
		{name: "update an unknown key", call: update("nope", "", azkeys.UpdateKeyParameters{Tags: ksTags(1)}), status: http.StatusNotFound, code: "KeyNotFound"},
		{name: "rotate an unknown key", call: func() error { _, err := c.RotateKey(ctx, "nope", nil); return err }, status: http.StatusNotFound, code: "KeyNotFound"},
	}
	before := ksState(t, c)
	for _, tc := range cases {
		status, code := tc.status, tc.code
		if status == 0 {
			status, code = http.StatusBadRequest, "BadParameter"
		}
		ksErr(t, tc.name, tc.call(), status, code)
		if d := ksStateDiff(before, ksState(t, c)); d != "" {
			t.Fatalf("%s changed the vault:\n%s", tc.name, d)
		}
	}
}

// Update, delete, get deleted, list deleted, recover, purge, and the 409 on
// a soft-deleted name.
func TestKeysSDKLifecycle(t *testing.T) {
	t.Parallel()
	srv := testenv.StartDev(t)
	c := ksClient(t, srv)
	ctx := t.Context()
	kit := ksNewRSAKit(t)
	first := ksImport(t, c, "life", azkeys.ImportKeyParameters{Key: kit.jwk(), Tags: map[string]*string{"stage": to.Ptr("one")}})
	v1 := first.Key.KID.Version()
	rotated, err := c.RotateKey(ctx, "life", nil)
	if err != nil {
		t.Fatal(err)
	}
	v2 := rotated.Key.KID.Version()

	t.Run("update", func(t *testing.T) {
		ctx := t.Context()
		latestBefore, err := c.GetKey(ctx, "life", v2, nil)
		if err != nil {
			t.Fatal(err)
		}
		nbf := time.Now().Add(-time.Hour).Truncate(time.Second)
		exp := nbf.Add(365 * 24 * time.Hour)
		upd, err := c.UpdateKey(ctx, "life", v1, azkeys.UpdateKeyParameters{
			KeyOps:        ksOpPtrs(azkeys.KeyOperationDecrypt, azkeys.KeyOperationVerify, azkeys.KeyOperationUnwrapKey),
			Tags:          map[string]*string{"stage": to.Ptr("updated"), "team": to.Ptr("keys")},
			KeyAttributes: &azkeys.KeyAttributes{NotBefore: &nbf, Expires: &exp},
		}, nil)
		if err != nil {
			t.Fatal(err)
		}
		a := upd.Attributes
		switch {
		case *upd.Key.KID != *first.Key.KID:
			t.Errorf("update of v1 returned %s", *upd.Key.KID)
		case !slices.Equal(ksOps(upd.Key), []string{"decrypt", "unwrapKey", "verify"}):
			t.Errorf("key_ops %v", ksOps(upd.Key))
		case len(upd.Tags) != 2 || *upd.Tags["stage"] != "updated" || *upd.Tags["team"] != "keys":
			t.Errorf("tags %v", upd.Tags)
		case !a.NotBefore.Equal(nbf) || !a.Expires.Equal(exp) || !*a.Enabled:
			t.Errorf("attributes nbf %v exp %v enabled %v", a.NotBefore, a.Expires, *a.Enabled)
		case a.Updated.Before(*a.Created) || !a.Created.Equal(*first.Attributes.Created):
			t.Errorf("created %v updated %v (created before %v)", a.Created, a.Updated, first.Attributes.Created)
		case !bytes.Equal(upd.Key.N, first.Key.N):
			t.Error("update changed the key material")
		}
		got, err := c.GetKey(ctx, "life", v1, nil)
		if err != nil || !reflect.DeepEqual(got.KeyBundle, upd.KeyBundle) {
			t.Errorf("GetKey after update differs from the update's result: %v", err)
		}
		after, err := c.GetKey(ctx, "life", v2, nil)
		if err != nil || !reflect.DeepEqual(after.KeyBundle, latestBefore.KeyBundle) {
			t.Errorf("updating v1 changed v2: %v", err)
		}
		// Unset fields are left alone; tags replace the whole map.
		upd2, err := c.UpdateKey(ctx, "life", v1, azkeys.UpdateKeyParameters{Tags: map[string]*string{"only": to.Ptr("this")}}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if len(upd2.Tags) != 1 || *upd2.Tags["only"] != "this" || !slices.Equal(ksOps(upd2.Key), ksOps(upd.Key)) ||
			!upd2.Attributes.Expires.Equal(exp) || !upd2.Attributes.NotBefore.Equal(nbf) {
			t.Errorf("a tags-only update changed other fields: %+v", upd2.KeyBundle)
		}
		// The versionless update changes the current version only.
		upd3, err := c.UpdateKey(ctx, "life", "", azkeys.UpdateKeyParameters{Tags: map[string]*string{}}, nil)
		if err != nil || *upd3.Key.KID != *rotated.Key.KID || len(upd3.Tags) != 0 {
			t.Errorf("versionless update: %v %+v", err, upd3.KeyBundle)
		}
		// The updated key_ops of v1 are in force.
		if err := kit.do(t, c, "life", v1, "decrypt"); err != nil {
			t.Errorf("decrypt with v1: %v", err)
		}
		ksErr(t, "sign with v1 after removing sign", kit.do(t, c, "life", v1, "sign"), http.StatusForbidden, "Forbidden")
	})

	t.Run("delete and recover", func(t *testing.T) {
		ctx := t.Context()
		deleteStart := time.Now().Add(-time.Second)
		del, err := c.DeleteKey(ctx, "life", nil)
		if err != nil {
			t.Fatal(err)
		}
		checkDeleted := func(what string, d azkeys.DeletedKey) {
			t.Helper()
			switch {
			case d.RecoveryID == nil || *d.RecoveryID != srv.Info.VaultURL+"/deletedkeys/life":
				t.Errorf("%s: recoveryId %v", what, d.RecoveryID)
			case d.Key == nil || *d.Key.KID != *rotated.Key.KID:
				t.Errorf("%s: kid %v, want the current version %s", what, d.Key, *rotated.Key.KID)
			case d.DeletedDate == nil || d.DeletedDate.Before(deleteStart) || d.DeletedDate.After(time.Now().Add(time.Second)):
				t.Errorf("%s: deletedDate %v", what, d.DeletedDate)
			case d.ScheduledPurgeDate == nil || d.ScheduledPurgeDate.Sub(*d.DeletedDate) != 90*24*time.Hour:
				t.Errorf("%s: scheduledPurgeDate %v", what, d.ScheduledPurgeDate)
			}
			if d.Key != nil {
				ksCheckPublicJWK(t, what, d.Key, ksRSA2048)
				if !bytes.Equal(d.Key.N, rotated.Key.N) {
					t.Errorf("%s: public key is not the current version's", what)
				}
			}
		}
		checkDeleted("DeleteKey", del.DeletedKey)
		got, err := c.GetDeletedKey(ctx, "life", nil)
		if err != nil {
			t.Fatal(err)
		}
		checkDeleted("GetDeletedKey", got.DeletedKey)
		found := false
		for p := c.NewListDeletedKeyPropertiesPager(nil); p.More(); {
			page, err := p.NextPage(ctx)
			if err != nil {
				t.Fatal(err)
			}
			for _, item := range page.Value {
				if item.KID.Name() == "life" {
					found = true
					if item.KID.Version() != "" || *item.RecoveryID != srv.Info.VaultURL+"/deletedkeys/life" || item.DeletedDate == nil || item.ScheduledPurgeDate == nil {
						t.Errorf("deleted item %+v", item)
					}
				}
			}
		}
		if !found {
			t.Error("the deleted key is not listed")
		}
		gone := []struct {
			name string
			call func() error
		}{
			{name: "get", call: func() error { _, err := c.GetKey(ctx, "life", "", nil); return err }},
			{name: "get v1", call: func() error { _, err := c.GetKey(ctx, "life", v1, nil); return err }},
			{name: "list versions", call: func() error { _, err := c.NewListKeyPropertiesVersionsPager("life", nil).NextPage(ctx); return err }},
			{name: "decrypt", call: func() error { return kit.do(t, c, "life", v1, "decrypt") }},
			{name: "update", call: func() error {
				_, err := c.UpdateKey(ctx, "life", "", azkeys.UpdateKeyParameters{Tags: ksTags(1)}, nil)
				return err
			}},
			{name: "rotate", call: func() error { _, err := c.RotateKey(ctx, "life", nil); return err }},
			{name: "backup", call: func() error { _, err := c.BackupKey(ctx, "life", nil); return err }},
			{name: "rotation policy", call: func() error { _, err := c.GetKeyRotationPolicy(ctx, "life", nil); return err }},
			{name: "delete again", call: func() error { _, err := c.DeleteKey(ctx, "life", nil); return err }},
		}
		for _, g := range gone {
			ksErr(t, g.name+" of a deleted key", g.call(), http.StatusNotFound, "KeyNotFound")
		}
		_, err = c.CreateKey(ctx, "life", ksRSA2048.params(), nil)
		ksErr(t, "create over a deleted name", err, http.StatusConflict, "Conflict")
		_, err = c.CreateKey(ctx, "LIFE", ksP256.params(), nil)
		ksErr(t, "create over a deleted name in another case", err, http.StatusConflict, "Conflict")
		_, err = c.ImportKey(ctx, "life", azkeys.ImportKeyParameters{Key: kit.jwk()}, nil)
		ksErr(t, "import over a deleted name", err, http.StatusConflict, "Conflict")

		rec, err := c.RecoverDeletedKey(ctx, "life", nil)
		if err != nil {
			t.Fatal(err)
		}
		if *rec.Key.KID != *rotated.Key.KID {
			t.Errorf("recover returned %s, want %s", *rec.Key.KID, *rotated.Key.KID)
		}
		if vs := ksVersions(t, c, "life"); len(vs) != 2 || !slices.Contains(vs, v1) || !slices.Contains(vs, v2) {
			t.Errorf("versions after recover: %v", vs)
		}
		if err := kit.do(t, c, "life", v1, "decrypt"); err != nil {
			t.Errorf("v1 no longer decrypts after recover: %v", err)
		}
		_, err = c.GetDeletedKey(ctx, "life", nil)
		ksErr(t, "get deleted after recover", err, http.StatusNotFound, "KeyNotFound")
		_, err = c.RecoverDeletedKey(ctx, "life", nil)
		ksErr(t, "recover an active key", err, http.StatusNotFound, "KeyNotFound")
		_, err = c.PurgeDeletedKey(ctx, "life", nil)
		ksErr(t, "purge an active key", err, http.StatusNotFound, "KeyNotFound")
	})

	t.Run("delete and purge", func(t *testing.T) {
		ctx := t.Context()
		old := ksCreate(t, c, "gone", ksP256.params())
		if _, err := c.DeleteKey(ctx, "gone", nil); err != nil {
			t.Fatal(err)
		}
		if _, err := c.PurgeDeletedKey(ctx, "gone", nil); err != nil {
			t.Fatalf("purge: %v", err)
		}
		_, err := c.GetDeletedKey(ctx, "gone", nil)
		ksErr(t, "get deleted after purge", err, http.StatusNotFound, "KeyNotFound")
		_, err = c.RecoverDeletedKey(ctx, "gone", nil)
		ksErr(t, "recover after purge", err, http.StatusNotFound, "KeyNotFound")
		_, err = c.PurgeDeletedKey(ctx, "gone", nil)
		ksErr(t, "purge twice", err, http.StatusNotFound, "KeyNotFound")
		again := ksCreate(t, c, "gone", ksP256.params())
		if again.Key.KID.Version() == old.Key.KID.Version() || len(ksVersions(t, c, "gone")) != 1 {
			t.Error("the name is not free after purge, or old versions came back")
		}
	})
}

// Lists page by 25 and follow nextLink: keys, versions, deleted keys.
func TestKeysSDKPaging(t *testing.T) {
	t.Parallel()
	srv := testenv.StartDev(t)
	c := ksClient(t, srv)
	ctx := t.Context()
	const nKeys, nVersions, nDeleted = 31, 27, 26
	names := map[string]bool{}
	for i := range nKeys {
		name := fmt.Sprintf("page-%02d", i)
		ksCreate(t, c, name, ksP256.params())
		names[name] = true
	}
	var versions []string
	for range nVersions {
		versions = append(versions, ksCreate(t, c, "many", ksP256.params()).Key.KID.Version())
	}
	names["many"] = true

	seen, pages := map[string]bool{}, 0
	for p := c.NewListKeyPropertiesPager(nil); p.More(); {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		if len(page.Value) > 25 {
			t.Errorf("page of %d keys", len(page.Value))
		}
		for _, item := range page.Value {
			if item.KID.Version() != "" || string(*item.KID) != srv.Info.VaultURL+"/keys/"+item.KID.Name() {
				t.Errorf("list item kid %s: want the versionless id", *item.KID)
			}
			if seen[item.KID.Name()] {
				t.Errorf("%s listed twice", item.KID.Name())
			}
			seen[item.KID.Name()] = true
			if item.Attributes == nil || item.Attributes.Created == nil {
				t.Errorf("list item without attributes: %+v", item)
			}
		}
	}
	if !reflect.DeepEqual(seen, names) || pages != 2 {
		t.Errorf("listed %d keys in %d pages, want %d in 2", len(seen), pages, len(names))
	}

	got, pages := []string{}, 0
	for p := c.NewListKeyPropertiesVersionsPager("many", nil); p.More(); {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		for _, item := range page.Value {
			if string(*item.KID) != srv.Info.VaultURL+"/keys/many/"+item.KID.Version() {
				t.Errorf("version item kid %s", *item.KID)
			}
			got = append(got, item.KID.Version())
		}
	}
	slices.Sort(got)
	slices.Sort(versions)
	if !slices.Equal(got, versions) || pages != 2 {
		t.Errorf("listed %d versions in %d pages, want %d in 2", len(got), pages, len(versions))
	}

	for i := range nDeleted {
		if _, err := c.DeleteKey(ctx, fmt.Sprintf("page-%02d", i), nil); err != nil {
			t.Fatal(err)
		}
	}
	deleted, pages := map[string]bool{}, 0
	for p := c.NewListDeletedKeyPropertiesPager(nil); p.More(); {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		for _, item := range page.Value {
			deleted[item.KID.Name()] = true
			if *item.RecoveryID != srv.Info.VaultURL+"/deletedkeys/"+item.KID.Name() {
				t.Errorf("recoveryId %s", *item.RecoveryID)
			}
		}
	}
	if len(deleted) != nDeleted || pages != 2 {
		t.Errorf("listed %d deleted keys in %d pages, want %d in 2", len(deleted), pages, nDeleted)
	}
	active := 0
	for p := c.NewListKeyPropertiesPager(nil); p.More(); {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		active += len(page.Value)
	}
	if active != nKeys+1-nDeleted {
		t.Errorf("%d active keys listed after deletes, want %d", active, nKeys+1-nDeleted)
	}
}

// Backup, purge and restore keep every version id, the material (old
// ciphertexts still decrypt), attributes, tags, key_ops and the rotation
// policy; restore refuses existing names and altered blobs.
func TestKeysSDKBackupRestore(t *testing.T) {
	t.Parallel()
	srv := testenv.StartDev(t)
	c := ksClient(t, srv)
	ctx := t.Context()
	kit := ksNewRSAKit(t)
	v1 := ksImport(t, c, "bak", azkeys.ImportKeyParameters{Key: kit.jwk(), Tags: map[string]*string{"kept": to.Ptr("yes")}}).Key.KID.Version()
	rot, err := c.RotateKey(ctx, "bak", nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.UpdateKey(ctx, "bak", "", azkeys.UpdateKeyParameters{KeyOps: ksOpPtrs(azkeys.KeyOperationDecrypt, azkeys.KeyOperationVerify, azkeys.KeyOperationSign)}, nil); err != nil {
		t.Fatal(err)
	}
	policy := azkeys.KeyRotationPolicy{LifetimeActions: []*azkeys.LifetimeAction{ksAction(azkeys.KeyRotationPolicyActionRotate, "P90D", "")},
		Attributes: &azkeys.KeyRotationPolicyAttributes{ExpiryTime: to.Ptr("P1Y")}}
	if _, err := c.UpdateKeyRotationPolicy(ctx, "bak", policy, nil); err != nil {
		t.Fatal(err)
	}
	policyBefore, err := c.GetKeyRotationPolicy(ctx, "bak", nil)
	if err != nil {
		t.Fatal(err)
	}
	// Material of the current version, used before the backup.
	plain := []byte("encrypted before the backup")
	ct, err := rsa.EncryptOAEP(sha256.New(), rand.Reader, ksRSAPublic(rot.Key), plain, nil)
	if err != nil {
		t.Fatal(err)
	}
	digest := ksDigest(crypto.SHA256, plain)
	sig, err := c.Sign(ctx, "bak", "", azkeys.SignParameters{Algorithm: to.Ptr(azkeys.SignatureAlgorithmPS256), Value: digest}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ksCreate(t, c, "bystander", ksP256.params())
	before := ksState(t, c)

	backup, err := c.BackupKey(ctx, "bak", nil)
	if err != nil || len(backup.Value) == 0 {
		t.Fatalf("backup: %v", err)
	}
	if bytes.Contains(backup.Value, kit.priv.D.Bytes()) || bytes.Contains(backup.Value, kit.priv.Primes[0].Bytes()) {
		t.Fatal("the backup blob holds the private key in the clear")
	}
	_, err = c.RestoreKey(ctx, azkeys.RestoreKeyParameters{KeyBackup: backup.Value}, nil)
	ksErr(t, "restore over an active key", err, http.StatusConflict, "Conflict")
	if _, err := c.DeleteKey(ctx, "bak", nil); err != nil {
		t.Fatal(err)
	}
	_, err = c.RestoreKey(ctx, azkeys.RestoreKeyParameters{KeyBackup: backup.Value}, nil)
	ksErr(t, "restore over a deleted key", err, http.StatusConflict, "Conflict")
	if _, err := c.PurgeDeletedKey(ctx, "bak", nil); err != nil {
		t.Fatal(err)
	}

	tampered := bytes.Clone(backup.Value)
	tampered[len(tampered)/2] ^= 1
	secretBackup := func() []byte {
		sc, err := azsecrets.NewClient(srv.Info.VaultURL, secretCredential(t, srv), &azsecrets.ClientOptions{ClientOptions: clientOptions(srv)})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := sc.SetSecret(ctx, "not-a-key", azsecrets.SetSecretParameters{Value: to.Ptr("v")}, nil); err != nil {
			t.Fatal(err)
		}
		b, err := sc.BackupSecret(ctx, "not-a-key", nil)
		if err != nil {
			t.Fatal(err)
		}
		return b.Value
	}()
	for _, bad := range []struct {
		name string
		blob []byte
	}{
		{name: "one bit flipped", blob: tampered},
		{name: "truncated", blob: backup.Value[:len(backup.Value)-10]},
		{name: "first half", blob: backup.Value[:len(backup.Value)/2]},
		{name: "random bytes", blob: ksRandom(t, len(backup.Value))},
		{name: "empty", blob: []byte{}},
		{name: "a secret's backup", blob: secretBackup},
	} {
		_, err := c.RestoreKey(ctx, azkeys.RestoreKeyParameters{KeyBackup: bad.blob}, nil)
		ksErr(t, "restore of "+bad.name, err, http.StatusBadRequest, "BadParameter")
		if _, err := c.GetKey(ctx, "bak", "", nil); err == nil {
			t.Fatalf("restore of %s created the key", bad.name)
		}
	}

	restored, err := c.RestoreKey(ctx, azkeys.RestoreKeyParameters{KeyBackup: backup.Value}, nil)
	if err != nil {
		t.Fatalf("restore: %v", err)
	}
	if *restored.Key.KID != *rot.Key.KID {
		t.Errorf("restore returned %s, want the current version %s", *restored.Key.KID, *rot.Key.KID)
	}
	after := ksState(t, c)
	delete(after, "deleted not-a-key")
	if d := ksStateDiff(before, after); d != "" {
		t.Errorf("the restored key differs from the backed-up one:\n%s", d)
	}
	dec, err := c.Decrypt(ctx, "bak", "", azkeys.KeyOperationParameters{Algorithm: to.Ptr(azkeys.EncryptionAlgorithmRSAOAEP256), Value: ct}, nil)
	if err != nil || !bytes.Equal(dec.Result, plain) {
		t.Errorf("the restored key does not decrypt what was encrypted before: %v", err)
	}
	v, err := c.Verify(ctx, "bak", rot.Key.KID.Version(), azkeys.VerifyParameters{Algorithm: to.Ptr(azkeys.SignatureAlgorithmPS256), Digest: digest, Signature: sig.Result}, nil)
	if err != nil || !*v.Value {
		t.Errorf("the restored key does not verify a signature made before: %v", err)
	}
	if err := kit.do(t, c, "bak", v1, "decrypt"); err != nil {
		t.Errorf("the restored v1 does not decrypt: %v", err)
	}
	policyAfter, err := c.GetKeyRotationPolicy(ctx, "bak", nil)
	if err != nil || !reflect.DeepEqual(policyAfter.KeyRotationPolicy, policyBefore.KeyRotationPolicy) {
		t.Errorf("rotation policy after restore: %v\n%s\n%s", err, ksPolicyString(policyAfter.KeyRotationPolicy), ksPolicyString(policyBefore.KeyRotationPolicy))
	}
	_, err = c.BackupKey(ctx, "nope", nil)
	ksErr(t, "backup of an unknown key", err, http.StatusNotFound, "KeyNotFound")
}

func ksAction(typ azkeys.KeyRotationPolicyAction, afterCreate, beforeExpiry string) *azkeys.LifetimeAction {
	trigger := &azkeys.LifetimeActionTrigger{}
	if afterCreate != "" {
		trigger.TimeAfterCreate = to.Ptr(afterCreate)
	}
	if beforeExpiry != "" {
		trigger.TimeBeforeExpiry = to.Ptr(beforeExpiry)
	}
	return &azkeys.LifetimeAction{Action: &azkeys.LifetimeActionType{Type: to.Ptr(typ)}, Trigger: trigger}
}

// ksPolicyString is a policy's id, actions and expiry, for comparisons and
// messages (created and updated left out).
func ksPolicyString(p azkeys.KeyRotationPolicy) string {
	var parts []string
	if p.ID != nil {
		parts = append(parts, "id="+*p.ID)
	}
	for _, a := range p.LifetimeActions {
		s := "?"
		if a.Action != nil && a.Action.Type != nil {
			s = string(*a.Action.Type)
		}
		if a.Trigger != nil && a.Trigger.TimeAfterCreate != nil {
			s += " after " + *a.Trigger.TimeAfterCreate
		}
		if a.Trigger != nil && a.Trigger.TimeBeforeExpiry != nil {
			s += " before " + *a.Trigger.TimeBeforeExpiry
		}
		parts = append(parts, s)
	}
	if p.Attributes != nil && p.Attributes.ExpiryTime != nil {
		parts = append(parts, "expiry "+*p.Attributes.ExpiryTime)
	}
	slices.Sort(parts)
	return strings.Join(parts, "; ")
}

// RotateKey makes a new version of the same type, size or curve with the
// same key_ops; the policy's expiryTime sets the new version's exp.
func TestKeysSDKRotate(t *testing.T) {
	t.Parallel()
	srv := testenv.StartDev(t)
	c := ksClient(t, srv)
	cases := []struct {
		name string
		typ  ksType
		ops  []azkeys.KeyOperation // nil: defaults
	}{
		{name: "rsa-3072", typ: ksRSA3072, ops: []azkeys.KeyOperation{azkeys.KeyOperationSign, azkeys.KeyOperationVerify}},
		{name: "rsa-2048", typ: ksRSA2048},
		{name: "ec-p384", typ: ksP384},
		{name: "ec-p521", typ: ksP521, ops: []azkeys.KeyOperation{azkeys.KeyOperationVerify}},
		{name: "ec-p256k", typ: ksP256K},
		{name: "oct-192", typ: ksOct192, ops: []azkeys.KeyOperation{azkeys.KeyOperationWrapKey, azkeys.KeyOperationUnwrapKey}},
		{name: "oct-256", typ: ksOct256},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx := t.Context()
			p := tc.typ.params()
			if tc.ops != nil {
				p.KeyOps = ksOpPtrs(tc.ops...)
			}
			created := ksCreate(t, c, tc.name, p)
			res, err := c.RotateKey(ctx, tc.name, nil)
			if err != nil {
				t.Fatalf("RotateKey: %v", err)
			}
			k := res.Key
			ksCheckPublicJWK(t, "RotateKey", k, tc.typ)
			if k.KID.Name() != tc.name || k.KID.Version() == created.Key.KID.Version() || len(k.KID.Version()) != 32 {
				t.Errorf("rotated kid %s (created %s)", *k.KID, *created.Key.KID)
			}
			if !slices.Equal(ksOps(k), ksOps(created.Key)) {
				t.Errorf("rotated key_ops %v, want %v", ksOps(k), ksOps(created.Key))
			}
			if tc.typ.kty != azkeys.KeyTypeOct && bytes.Equal(append(k.N, k.X...), append(created.Key.N, created.Key.X...)) {
				t.Error("the rotated version has the same public key")
			}
			if res.Attributes.Expires != nil || !*res.Attributes.Enabled {
				t.Errorf("rotated attributes without a policy: exp %v enabled %v", res.Attributes.Expires, *res.Attributes.Enabled)
			}
			if vs := ksVersions(t, c, tc.name); len(vs) != 2 {
				t.Errorf("%d versions after a rotation", len(vs))
			}
			cur, err := c.GetKey(ctx, tc.name, "", nil)
			if err != nil || *cur.Key.KID != *k.KID {
				t.Errorf("the current version is not the rotated one: %v", err)
			}
			if tc.typ.kty == azkeys.KeyTypeOct {
				// The size survives: only the algorithms of this size work.
				for _, size := range []int32{128, 192, 256} {
					alg := azkeys.EncryptionAlgorithm(fmt.Sprintf("A%dKW", size))
					_, err := c.WrapKey(ctx, tc.name, "", azkeys.KeyOperationParameters{Algorithm: to.Ptr(alg), Value: make([]byte, 16)}, nil)
					if size == tc.typ.size && err != nil {
						t.Errorf("%s with the rotated version: %v", alg, err)
					} else if size != tc.typ.size {
						ksErr(t, string(alg)+" with the rotated version", err, http.StatusBadRequest, "BadParameter")
					}
				}
			}
		})
	}

	t.Run("policy expiryTime", func(t *testing.T) {
		t.Parallel()
		ctx := t.Context()
		ksCreate(t, c, "expiring", ksP256.params())
		_, err := c.UpdateKeyRotationPolicy(ctx, "expiring", azkeys.KeyRotationPolicy{
			LifetimeActions: []*azkeys.LifetimeAction{ksAction(azkeys.KeyRotationPolicyActionRotate, "P30D", "")},
			Attributes:      &azkeys.KeyRotationPolicyAttributes{ExpiryTime: to.Ptr("P60D")}}, nil)
		if err != nil {
			t.Fatal(err)
		}
		for i := range 2 {
			res, err := c.RotateKey(ctx, "expiring", nil)
			if err != nil {
				t.Fatal(err)
			}
			a := res.Attributes
			if a.Expires == nil || !a.Expires.Equal(a.Created.Add(60*24*time.Hour)) {
				t.Errorf("rotation %d: exp %v, want created %v + P60D", i+1, a.Expires, a.Created)
			}
		}
	})
}

// GetKeyRotationPolicy defaults to Notify 30 days before expiry; updates
// are validated (NOTES §11) and a refused update changes nothing.
func TestKeysSDKRotationPolicy(t *testing.T) {
	t.Parallel()
	srv := testenv.StartDev(t)
	c := ksClient(t, srv)
	ctx := t.Context()
	ksCreate(t, c, "pol", ksP256.params())
	wantID := srv.Info.VaultURL + "/keys/pol/rotationpolicy"

	def, err := c.GetKeyRotationPolicy(ctx, "pol", nil)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := ksPolicyString(def.KeyRotationPolicy), "Notify before P30D; id="+wantID; got != want {
		t.Errorf("default policy %q, want %q", got, want)
	}
	_, err = c.GetKeyRotationPolicy(ctx, "nope", nil)
	ksErr(t, "policy of an unknown key", err, http.StatusNotFound, "KeyNotFound")
	_, err = c.UpdateKeyRotationPolicy(ctx, "nope", azkeys.KeyRotationPolicy{}, nil)
	ksErr(t, "set the policy of an unknown key", err, http.StatusNotFound, "KeyNotFound")

	rotate, notify := azkeys.KeyRotationPolicyActionRotate, azkeys.KeyRotationPolicyActionNotify
	expiry := func(d string) *azkeys.KeyRotationPolicyAttributes {
		return &azkeys.KeyRotationPolicyAttributes{ExpiryTime: to.Ptr(d)}
	}
	valid := []struct {
		name   string
		policy azkeys.KeyRotationPolicy
		want   string
	}{
		{name: "rotate only gets the default notify", policy: azkeys.KeyRotationPolicy{LifetimeActions: []*azkeys.LifetimeAction{ksAction(rotate, "P30D", "")}},
			want: "Notify before P30D; Rotate after P30D; id=" + wantID},
		{name: "rotate before expiry and notify", policy: azkeys.KeyRotationPolicy{
			LifetimeActions: []*azkeys.LifetimeAction{ksAction(rotate, "", "P30D"), ksAction(notify, "", "P10D")}, Attributes: expiry("P1Y")},
			want: "Notify before P10D; Rotate before P30D; expiry P1Y; id=" + wantID},
		{name: "expiry only", policy: azkeys.KeyRotationPolicy{Attributes: expiry("P28D")},
			want: "Notify before P30D; expiry P28D; id=" + wantID},
		{name: "lower-case action type", policy: azkeys.KeyRotationPolicy{LifetimeActions: []*azkeys.LifetimeAction{ksAction("rotate", "P2W", "")}, Attributes: expiry("P90D")},
			want: "Notify before P30D; Rotate after P2W; expiry P90D; id=" + wantID},
		{name: "clock durations", policy: azkeys.KeyRotationPolicy{LifetimeActions: []*azkeys.LifetimeAction{ksAction(rotate, "P7DT12H", "")}, Attributes: expiry("P1Y6M")},
			want: "Notify before P30D; Rotate after P7DT12H; expiry P1Y6M; id=" + wantID},
	}
	var created *time.Time
	for _, v := range valid {
		res, err := c.UpdateKeyRotationPolicy(ctx, "pol", v.policy, nil)
		if err != nil {
			t.Errorf("%s: %v", v.name, err)
			continue
		}
		if got := ksPolicyString(res.KeyRotationPolicy); got != v.want {
			t.Errorf("%s: update returned %q, want %q", v.name, got, v.want)
		}
		got, err := c.GetKeyRotationPolicy(ctx, "pol", nil)
		if err != nil || ksPolicyString(got.KeyRotationPolicy) != v.want {
			t.Errorf("%s: get returned %q: %v", v.name, ksPolicyString(got.KeyRotationPolicy), err)
		}
		a := res.Attributes
		if a == nil || a.Created == nil || a.Updated == nil || a.Updated.Before(*a.Created) {
			t.Errorf("%s: policy attributes %+v", v.name, a)
		} else if created == nil {
			created = a.Created
		} else if !a.Created.Equal(*created) {
			t.Errorf("%s: created moved from %v to %v", v.name, created, a.Created)
		}
	}

	before, err := c.GetKeyRotationPolicy(ctx, "pol", nil)
	if err != nil {
		t.Fatal(err)
	}
	invalid := []struct {
		name   string
		policy azkeys.KeyRotationPolicy
		bug    string // non-empty: the server accepts it; see the report
	}{
		{name: "duration in words", policy: azkeys.KeyRotationPolicy{LifetimeActions: []*azkeys.LifetimeAction{ksAction(rotate, "30 days", "")}}},
		{name: "empty duration P", policy: azkeys.KeyRotationPolicy{LifetimeActions: []*azkeys.LifetimeAction{ksAction(rotate, "P", "")}}},
		{name: "duration PT", policy: azkeys.KeyRotationPolicy{LifetimeActions: []*azkeys.LifetimeAction{ksAction(rotate, "PT", "")}}},
		{name: "negative duration", policy: azkeys.KeyRotationPolicy{LifetimeActions: []*azkeys.LifetimeAction{ksAction(rotate, "-P30D", "")}}},
		{name: "duration without P", policy: azkeys.KeyRotationPolicy{LifetimeActions: []*azkeys.LifetimeAction{ksAction(rotate, "30D", "")}}},
		{name: "rotate after 6 days", policy: azkeys.KeyRotationPolicy{LifetimeActions: []*azkeys.LifetimeAction{ksAction(rotate, "P6D", "")}}},
		{name: "rotate after 6 days 23 hours", policy: azkeys.KeyRotationPolicy{LifetimeActions: []*azkeys.LifetimeAction{ksAction(rotate, "P6DT23H", "")}}},
		{name: "rotate after 1 hour", policy: azkeys.KeyRotationPolicy{LifetimeActions: []*azkeys.LifetimeAction{ksAction(rotate, "PT1H", "")}}},
		{name: "two Rotate actions", policy: azkeys.KeyRotationPolicy{LifetimeActions: []*azkeys.LifetimeAction{ksAction(rotate, "P30D", ""), ksAction(rotate, "P60D", "")}}},
		{name: "two Notify actions", policy: azkeys.KeyRotationPolicy{LifetimeActions: []*azkeys.LifetimeAction{ksAction(notify, "", "P30D"), ksAction(notify, "", "P10D")}, Attributes: expiry("P90D")}},
		{name: "Notify with timeAfterCreate", policy: azkeys.KeyRotationPolicy{LifetimeActions: []*azkeys.LifetimeAction{ksAction(notify, "P30D", "")}}},
		{name: "both triggers", policy: azkeys.KeyRotationPolicy{LifetimeActions: []*azkeys.LifetimeAction{ksAction(rotate, "P30D", "P30D")}, Attributes: expiry("P90D")}},
		{name: "no trigger", policy: azkeys.KeyRotationPolicy{LifetimeActions: []*azkeys.LifetimeAction{ksAction(rotate, "", "")}}},
		{name: "unknown action", policy: azkeys.KeyRotationPolicy{LifetimeActions: []*azkeys.LifetimeAction{ksAction("Delete", "P30D", "")}}},
		{name: "rotate before expiry without expiryTime", policy: azkeys.KeyRotationPolicy{LifetimeActions: []*azkeys.LifetimeAction{ksAction(rotate, "", "P30D")}}},
		{name: "expiryTime of 27 days", policy: azkeys.KeyRotationPolicy{Attributes: expiry("P27D")}},
		{name: "expiryTime of 27 days 23 hours", policy: azkeys.KeyRotationPolicy{Attributes: expiry("P27DT23H")}},
		{name: "expiryTime of 3 weeks", policy: azkeys.KeyRotationPolicy{Attributes: expiry("P3W")}},
		{name: "expiryTime in words", policy: azkeys.KeyRotationPolicy{Attributes: expiry("90 days")}},
		{name: "rotation less than 7 days before expiry", policy: azkeys.KeyRotationPolicy{
			LifetimeActions: []*azkeys.LifetimeAction{ksAction(rotate, "P85D", "")}, Attributes: expiry("P90D")},
			bug: "a Rotate timeAfterCreate of P85D with expiryTime P90D is accepted; NOTES §11 [D-ROT]: a rotation trigger must be at least 7 days before expiry"},
		{name: "rotation less than 7 days after creation", policy: azkeys.KeyRotationPolicy{
			LifetimeActions: []*azkeys.LifetimeAction{ksAction(rotate, "", "P85D")}, Attributes: expiry("P90D")},
			bug: "a Rotate timeBeforeExpiry of P85D with expiryTime P90D (rotation 5 days after creation) is accepted; NOTES §11 [D-ROT]: a rotation trigger must be at least 7 days after creation"},
	}
	for _, tc := range invalid {
		t.Run(tc.name, func(t *testing.T) {
			ctx := t.Context()
			_, err := c.UpdateKeyRotationPolicy(ctx, "pol", tc.policy, nil)
			if tc.bug != "" && err == nil {
				// Put the previous policy back for the next cases.
				if _, err := c.UpdateKeyRotationPolicy(ctx, "pol", before.KeyRotationPolicy, nil); err != nil {
					t.Fatal(err)
				}
				t.Skip("BUG: " + tc.bug)
			}
			ksErr(t, tc.name, err, http.StatusBadRequest, "BadParameter")
			after, err := c.GetKeyRotationPolicy(ctx, "pol", nil)
			if err != nil || ksPolicyString(after.KeyRotationPolicy) != ksPolicyString(before.KeyRotationPolicy) ||
				!after.Attributes.Updated.Equal(*before.Attributes.Updated) {
				t.Errorf("a refused update changed the policy: %q → %q", ksPolicyString(before.KeyRotationPolicy), ksPolicyString(after.KeyRotationPolicy))
			}
		})
	}
}

// A Rotate policy with timeAfterCreate P30D rotates on the server's clock:
// not at 29 days, once past 30 days, and again 30 days after that; the new
// versions match the old in type, size and key_ops, get exp = created +
// expiryTime, and the old versions still decrypt and verify.
func TestKeysSDKScheduledRotation(t *testing.T) {
	t.Parallel()
	srv, clock := testenv.StartDevWithClock(t)
	c := ksClient(t, srv)
	ctx := t.Context()
	p := ksRSA3072.params()
	p.KeyOps = ksOpPtrs(azkeys.KeyOperationDecrypt, azkeys.KeyOperationSign, azkeys.KeyOperationVerify)
	created := ksCreate(t, c, "sched", p)
	v1 := created.Key.KID.Version()
	_, err := c.UpdateKeyRotationPolicy(ctx, "sched", azkeys.KeyRotationPolicy{
		LifetimeActions: []*azkeys.LifetimeAction{ksAction(azkeys.KeyRotationPolicyActionRotate, "P30D", "")},
		Attributes:      &azkeys.KeyRotationPolicyAttributes{ExpiryTime: to.Ptr("P90D")}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	plain := []byte("encrypted for version 1")
	ct, err := rsa.EncryptOAEP(sha256.New(), rand.Reader, ksRSAPublic(created.Key), plain, nil)
	if err != nil {
		t.Fatal(err)
	}
	digest := ksDigest(crypto.SHA384, plain)
	sig, err := c.Sign(ctx, "sched", "", azkeys.SignParameters{Algorithm: to.Ptr(azkeys.SignatureAlgorithmRS384), Value: digest}, nil)
	if err != nil {
		t.Fatal(err)
	}

	steps := []struct {
		name     string
		advance  time.Duration
		versions int
	}{
		{name: "29 days", advance: 29 * 24 * time.Hour, versions: 1},
		{name: "30 days and a minute", advance: 24*time.Hour + time.Minute, versions: 2},
		{name: "the same moment again", advance: 0, versions: 2},
		{name: "59 days", advance: 29 * 24 * time.Hour, versions: 2},
		{name: "60 days and two minutes", advance: 24*time.Hour + time.Minute, versions: 3},
	}
	seen := []string{v1}
	for _, s := range steps {
		clock.Advance(s.advance)
		if err := srv.App.RunScheduledJobs(ctx); err != nil {
			t.Fatalf("%s: scheduled jobs: %v", s.name, err)
		}
		c = ksClient(t, srv)
		vs := ksVersions(t, c, "sched")
		if len(vs) != s.versions {
			t.Fatalf("%s: %d versions, want %d", s.name, len(vs), s.versions)
		}
		cur, err := c.GetKey(ctx, "sched", "", nil)
		if err != nil {
			t.Fatal(err)
		}
		version := cur.Key.KID.Version()
		if len(seen) < s.versions {
			if slices.Contains(seen, version) {
				t.Fatalf("%s: the current version %s is not new", s.name, version)
			}
			seen = append(seen, version)
			ksCheckPublicJWK(t, s.name+": rotated version", cur.Key, ksRSA3072)
			if !slices.Equal(ksOps(cur.Key), ksOps(created.Key)) {
				t.Errorf("%s: rotated key_ops %v, want %v", s.name, ksOps(cur.Key), ksOps(created.Key))
			}
			a := cur.Attributes
			if a.Created == nil || a.Created.Unix() != clock.Now().Unix() {
				t.Errorf("%s: created %v, want the server's now %v", s.name, a.Created, clock.Now())
			}
			if a.Expires == nil || !a.Expires.Equal(a.Created.Add(90*24*time.Hour)) {
				t.Errorf("%s: exp %v, want created + P90D", s.name, a.Expires)
			}
			// The new version works.
			res, err := c.Sign(ctx, "sched", "", azkeys.SignParameters{Algorithm: to.Ptr(azkeys.SignatureAlgorithmRS384), Value: digest}, nil)
			if err != nil || rsa.VerifyPKCS1v15(ksRSAPublic(cur.Key), crypto.SHA384, digest, res.Result) != nil {
				t.Errorf("%s: the new version does not sign: %v", s.name, err)
			}
		}
		// Version 1 still decrypts and verifies.
		dec, err := c.Decrypt(ctx, "sched", v1, azkeys.KeyOperationParameters{Algorithm: to.Ptr(azkeys.EncryptionAlgorithmRSAOAEP256), Value: ct}, nil)
		if err != nil || !bytes.Equal(dec.Result, plain) {
			t.Errorf("%s: version 1 no longer decrypts: %v", s.name, err)
		}
		v, err := c.Verify(ctx, "sched", v1, azkeys.VerifyParameters{Algorithm: to.Ptr(azkeys.SignatureAlgorithmRS384), Digest: digest, Signature: sig.Result}, nil)
		if err != nil || !*v.Value {
			t.Errorf("%s: version 1 no longer verifies: %v", s.name, err)
		}
	}
}

// GetRandomBytes returns count bytes for 1..128 and refuses 0 and 129.
func TestKeysSDKRandomBytes(t *testing.T) {
	t.Parallel()
	srv := testenv.StartDev(t)
	c := ksClient(t, srv)
	ctx := t.Context()
	for count := int32(1); count <= 128; count++ {
		res, err := c.GetRandomBytes(ctx, azkeys.GetRandomBytesParameters{Count: to.Ptr(count)}, nil)
		if err != nil || len(res.Value) != int(count) {
			t.Fatalf("count %d: %v, %d bytes", count, err, len(res.Value))
		}
	}
	a, err1 := c.GetRandomBytes(ctx, azkeys.GetRandomBytesParameters{Count: to.Ptr(int32(128))}, nil)
	b, err2 := c.GetRandomBytes(ctx, azkeys.GetRandomBytesParameters{Count: to.Ptr(int32(128))}, nil)
	if err1 != nil || err2 != nil || bytes.Equal(a.Value, b.Value) || bytes.Equal(a.Value, make([]byte, 128)) {
		t.Errorf("two draws of 128 bytes are equal or zero (%v %v)", err1, err2)
	}
	for _, count := range []int32{0, 129, -1, 1 << 20} {
		_, err := c.GetRandomBytes(ctx, azkeys.GetRandomBytesParameters{Count: to.Ptr(count)}, nil)
		ksErr(t, fmt.Sprintf("count %d", count), err, http.StatusBadRequest, "BadParameter")
	}
	_, err := c.GetRandomBytes(ctx, azkeys.GetRandomBytesParameters{}, nil)
	ksErr(t, "no count", err, http.StatusBadRequest, "BadParameter")
}

// Scheduled rotation follows the key through soft delete, recovery, purge
// and restore: a soft-deleted key is not rotated, a recovered one is, and a
// restored key's policy (restore brings it back) is applied again.
func TestKeysSDKScheduledRotationLifecycle(t *testing.T) {
	t.Parallel()
	srv, clock := testenv.StartDevWithClock(t)
	c := ksClient(t, srv)
	ctx := t.Context()
	policy := azkeys.KeyRotationPolicy{LifetimeActions: []*azkeys.LifetimeAction{ksAction(azkeys.KeyRotationPolicyActionRotate, "P30D", "")}}
	for _, name := range []string{"soft", "restored", "plain"} {
		ksCreate(t, c, name, ksP256.params())
		if name == "plain" {
			continue
		}
		if _, err := c.UpdateKeyRotationPolicy(ctx, name, policy, nil); err != nil {
			t.Fatal(err)
		}
	}
	backup, err := c.BackupKey(ctx, "restored", nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"soft", "restored"} {
		if _, err := c.DeleteKey(ctx, name, nil); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.PurgeDeletedKey(ctx, "restored", nil); err != nil {
		t.Fatal(err)
	}
	run := func() {
		t.Helper()
		if err := srv.App.RunScheduledJobs(ctx); err != nil {
			t.Fatalf("scheduled jobs: %v", err)
		}
		c = ksClient(t, srv)
	}
	run() // the scheduler sees the purge
	if _, err := c.RestoreKey(ctx, azkeys.RestoreKeyParameters{KeyBackup: backup.Value}, nil); err != nil {
		t.Fatal(err)
	}
	got, err := c.GetKeyRotationPolicy(ctx, "restored", nil)
	if err != nil || !strings.Contains(ksPolicyString(got.KeyRotationPolicy), "Rotate after P30D") {
		t.Fatalf("the restored key's policy: %v %s", err, ksPolicyString(got.KeyRotationPolicy))
	}

	clock.Advance(31 * 24 * time.Hour)
	run()
	deleted, err := c.GetDeletedKey(ctx, "soft", nil)
	if err != nil {
		t.Fatalf("the soft-deleted key: %v", err)
	}
	if _, err := c.RecoverDeletedKey(ctx, "soft", nil); err != nil {
		t.Fatal(err)
	}
	if vs := ksVersions(t, c, "soft"); len(vs) != 1 || vs[0] != deleted.Key.KID.Version() {
		t.Errorf("a soft-deleted key was rotated: versions %v", vs)
	}
	if vs := ksVersions(t, c, "plain"); len(vs) != 1 {
		t.Errorf("a key without a policy was rotated: %d versions", len(vs))
	}
	run()
	if vs := ksVersions(t, c, "soft"); len(vs) != 2 {
		t.Errorf("a recovered key with a due policy was not rotated: %d versions", len(vs))
	}
	if vs := ksVersions(t, c, "restored"); len(vs) != 2 {
		t.Skipf("BUG: a key restored (with its Rotate P30D policy) after its purge was seen by the scheduler is never rotated: %d version(s) 31 days later; "+
			"Restore brings the policy back in the key's head but does not re-add the sys/rotation index entry that UpdateRotationPolicy writes and the scheduler dropped after the purge", len(vs))
	}
}

// A Rotate action with timeBeforeExpiry P30D and expiryTime P90D rotates a
// version 60 days after its creation (its exp minus 30 days), and a version
// without exp never.
func TestKeysSDKScheduledRotationBeforeExpiry(t *testing.T) {
	t.Parallel()
	srv, clock := testenv.StartDevWithClock(t)
	c := ksClient(t, srv)
	ctx := t.Context()
	ksCreate(t, c, "before", ksP256.params()) // no exp: never due
	_, err := c.UpdateKeyRotationPolicy(ctx, "before", azkeys.KeyRotationPolicy{
		LifetimeActions: []*azkeys.LifetimeAction{ksAction(azkeys.KeyRotationPolicyActionRotate, "", "P30D")},
		Attributes:      &azkeys.KeyRotationPolicyAttributes{ExpiryTime: to.Ptr("P90D")}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	rotated, err := c.RotateKey(ctx, "before", nil)
	if err != nil {
		t.Fatal(err)
	}
	exp := *rotated.Attributes.Expires
	if !exp.Equal(rotated.Attributes.Created.Add(90 * 24 * time.Hour)) {
		t.Fatalf("exp %v, want created + P90D", exp)
	}
	steps := []struct {
		name     string
		at       time.Time
		versions int
	}{
		{name: "31 days before exp", at: exp.Add(-31 * 24 * time.Hour), versions: 2},
		{name: "30 days before exp", at: exp.Add(-30 * 24 * time.Hour), versions: 3},
		{name: "a minute later", at: exp.Add(-30*24*time.Hour + time.Minute), versions: 3},
	}
	for _, s := range steps {
		clock.Advance(s.at.Sub(clock.Now()))
		if err := srv.App.RunScheduledJobs(ctx); err != nil {
			t.Fatal(err)
		}
		c = ksClient(t, srv)
		if vs := ksVersions(t, c, "before"); len(vs) != s.versions {
			t.Fatalf("%s: %d versions, want %d", s.name, len(vs), s.versions)
		}
	}
	cur, err := c.GetKey(ctx, "before", "", nil)
	if err != nil || cur.Attributes.Expires == nil || !cur.Attributes.Expires.Equal(cur.Attributes.Created.Add(90*24*time.Hour)) {
		t.Fatalf("the scheduled version: %v %+v", err, cur.Attributes)
	}
}
