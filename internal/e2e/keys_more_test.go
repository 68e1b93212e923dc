package e2e

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/x509"
	"encoding/asn1"
	"encoding/base64"
	"encoding/pem"
	"math/big"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azkeys"

	"github.com/keyhaven/keyhaven/internal/testenv"
)

// Signatures made through the API verify with the openssl command line,
// from the public key the API returned.
func TestKeySignaturesVerifyWithOpenSSL(t *testing.T) {
	openssl, err := exec.LookPath("openssl")
	if err != nil {
		t.Skip("openssl not installed")
	}
	srv := testenv.StartDev(t)
	c := keysClient(t, srv)
	ctx := context.Background()
	msg := []byte("signed through keyhaven")
	cases := []struct {
		name   string
		params azkeys.CreateKeyParameters
		alg    azkeys.SignatureAlgorithm
		digest []byte
		md     string
		ec     int // coordinate length for r||s → DER; 0 for RSA
		pss    bool
	}{
		{name: "RS256", params: azkeys.CreateKeyParameters{Kty: to.Ptr(azkeys.KeyTypeRSA), KeySize: to.Ptr(int32(2048))}, alg: azkeys.SignatureAlgorithmRS256, digest: sum256(msg), md: "sha256"},
		{name: "PS384", params: azkeys.CreateKeyParameters{Kty: to.Ptr(azkeys.KeyTypeRSA), KeySize: to.Ptr(int32(3072))}, alg: azkeys.SignatureAlgorithmPS384, digest: sum384(msg), md: "sha384", pss: true},
		{name: "ES256", params: azkeys.CreateKeyParameters{Kty: to.Ptr(azkeys.KeyTypeEC), Curve: to.Ptr(azkeys.CurveNameP256)}, alg: azkeys.SignatureAlgorithmES256, digest: sum256(msg), md: "sha256", ec: 32},
		{name: "ES384", params: azkeys.CreateKeyParameters{Kty: to.Ptr(azkeys.KeyTypeEC), Curve: to.Ptr(azkeys.CurveNameP384)}, alg: azkeys.SignatureAlgorithmES384, digest: sum384(msg), md: "sha384", ec: 48},
		{name: "ES256K", params: azkeys.CreateKeyParameters{Kty: to.Ptr(azkeys.KeyTypeEC), Curve: to.Ptr(azkeys.CurveNameP256K)}, alg: azkeys.SignatureAlgorithmES256K, digest: sum256(msg), md: "sha256", ec: 32},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			name := "ossl-" + strings.ToLower(tc.name)
			created, err := c.CreateKey(ctx, name, tc.params, nil)
			if err != nil {
				t.Fatal(err)
			}
			sig, err := c.Sign(ctx, name, "", azkeys.SignParameters{Algorithm: to.Ptr(tc.alg), Value: tc.digest}, nil)
			if err != nil {
				t.Fatal(err)
			}
			dir := t.TempDir()
			pub := filepath.Join(dir, "pub.pem")
			writeFile(t, pub, publicPEM(t, created.Key))
			raw := sig.Result
			if tc.ec > 0 {
				if len(raw) != 2*tc.ec {
					t.Fatalf("ECDSA signature is %d bytes, want raw r||s of %d", len(raw), 2*tc.ec)
				}
				raw = derSignature(t, raw[:tc.ec], raw[tc.ec:])
			}
			sigFile, msgFile := filepath.Join(dir, "sig"), filepath.Join(dir, "msg")
			writeFile(t, sigFile, raw)
			writeFile(t, msgFile, msg)
			args := []string{"dgst", "-" + tc.md, "-verify", pub, "-signature", sigFile}
			if tc.pss {
				args = append(args, "-sigopt", "rsa_padding_mode:pss", "-sigopt", "rsa_pss_saltlen:digest")
			}
			out, err := exec.Command(openssl, append(args, msgFile)...).CombinedOutput()
			if err != nil || !strings.Contains(string(out), "Verified OK") {
				t.Fatalf("openssl: %v %s", err, out)
			}
		})
	}
}

func sum256(b []byte) []byte { s := sha256.Sum256(b); return s[:] }
func sum384(b []byte) []byte { s := sha512.Sum384(b); return s[:] }

func writeFile(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
}

// publicPEM builds a SubjectPublicKeyInfo PEM from a returned JWK. secp256k1
// is not in crypto/x509, so its SPKI is assembled by hand.
func publicPEM(t *testing.T, k *azkeys.JSONWebKey) []byte {
	t.Helper()
	var der []byte
	var err error
	switch {
	case *k.Kty == azkeys.KeyTypeRSA:
		der, err = x509.MarshalPKIXPublicKey(rsaPublic(t, k))
	case *k.Crv == azkeys.CurveNameP256K:
		der, err = asn1.Marshal(struct {
			Alg struct{ Algorithm, Curve asn1.ObjectIdentifier }
			Key asn1.BitString
		}{
			Alg: struct{ Algorithm, Curve asn1.ObjectIdentifier }{asn1.ObjectIdentifier{1, 2, 840, 10045, 2, 1}, asn1.ObjectIdentifier{1, 3, 132, 0, 10}},
			Key: asn1.BitString{Bytes: append(append([]byte{4}, k.X...), k.Y...), BitLength: 8 * (1 + len(k.X) + len(k.Y))},
		})
	default:
		der, err = x509.MarshalPKIXPublicKey(ecPublic(t, k))
	}
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
}

func ecPublic(t *testing.T, k *azkeys.JSONWebKey) *ecdsa.PublicKey {
	t.Helper()
	raw := append(append([]byte{4}, k.X...), k.Y...)
	var pub *ecdsa.PublicKey
	var err error
	switch *k.Crv {
	case azkeys.CurveNameP256:
		pub, err = ecdsaParse("P-256", raw)
	case azkeys.CurveNameP384:
		pub, err = ecdsaParse("P-384", raw)
	default:
		pub, err = ecdsaParse("P-521", raw)
	}
	if err != nil {
		t.Fatal(err)
	}
	return pub
}

func derSignature(t *testing.T, r, s []byte) []byte {
	t.Helper()
	der, err := asn1.Marshal(struct{ R, S *big.Int }{new(big.Int).SetBytes(r), new(big.Int).SetBytes(s)})
	if err != nil {
		t.Fatal(err)
	}
	return der
}

// Bad key requests get Azure's error codes and change nothing.
func TestKeyBadInputChangesNothing(t *testing.T) {
	srv := testenv.StartDev(t)
	r := newRaw(t, srv)
	if rep := r.do("POST", "/keys/k/create?api-version=7.6", `{"kty":"RSA","key_size":2048}`, true); rep.status != 200 {
		t.Fatal(rep.text)
	}
	if rep := r.do("POST", "/keys/ec/create?api-version=7.6", `{"kty":"EC","crv":"P-256"}`, true); rep.status != 200 {
		t.Fatal(rep.text)
	}
	d32 := base64.RawURLEncoding.EncodeToString(make([]byte, 32))
	cases := []struct {
		name, method, path, body string
		status                   int
		code                     string
	}{
		{name: "no kty", method: "POST", path: "/keys/k/create", body: `{}`, status: 400, code: "BadParameter"},
		{name: "unknown kty", method: "POST", path: "/keys/k/create", body: `{"kty":"DSA"}`, status: 400, code: "BadParameter"},
		{name: "bad size", method: "POST", path: "/keys/k/create", body: `{"kty":"RSA","key_size":1024}`, status: 400, code: "BadParameter"},
		{name: "bad curve", method: "POST", path: "/keys/k/create", body: `{"kty":"EC","crv":"P-192"}`, status: 400, code: "BadParameter"},
		{name: "HSM type", method: "POST", path: "/keys/k/create", body: `{"kty":"RSA-HSM"}`, status: 400, code: "BadParameter"},
		{name: "bad key_ops", method: "POST", path: "/keys/k/create", body: `{"kty":"RSA","key_ops":["fly"]}`, status: 400, code: "BadParameter"},
		{name: "key_size wrong type", method: "POST", path: "/keys/k/create", body: `{"kty":"RSA","key_size":"big"}`, status: 400, code: "BadParameter"},
		{name: "import without private part", method: "PUT", path: "/keys/k", body: `{"key":{"kty":"RSA","n":"AQAB","e":"AQAB"}}`, status: 400, code: "BadParameter"},
		{name: "import garbage", method: "PUT", path: "/keys/k", body: `{"key":{"kty":"EC","crv":"P-256","x":"!!","y":"AA","d":"AA"}}`, status: 400, code: "BadParameter"},
		{name: "sign: wrong digest length", method: "POST", path: "/keys/k/sign", body: `{"alg":"RS256","value":"AAAA"}`, status: 400, code: "BadParameter"},
		{name: "sign: EC alg on RSA key", method: "POST", path: "/keys/k/sign", body: `{"alg":"ES256","value":"` + d32 + `"}`, status: 400, code: "BadParameter"},
		{name: "sign: unknown alg", method: "POST", path: "/keys/k/sign", body: `{"alg":"XX256","value":"` + d32 + `"}`, status: 400, code: "BadParameter"},
		{name: "sign: no alg", method: "POST", path: "/keys/k/sign", body: `{"value":"` + d32 + `"}`, status: 400, code: "BadParameter"},
		{name: "sign: no value", method: "POST", path: "/keys/k/sign", body: `{"alg":"RS256"}`, status: 400, code: "BadParameter"},
		{name: "sign: value not base64url", method: "POST", path: "/keys/k/sign", body: `{"alg":"RS256","value":"%%%"}`, status: 400, code: "BadParameter"},
		{name: "encrypt with an EC key", method: "POST", path: "/keys/ec/encrypt", body: `{"alg":"RSA-OAEP","value":"AAAA"}`, status: 403, code: "Forbidden"},
		{name: "encrypt: plaintext too long", method: "POST", path: "/keys/k/encrypt", body: `{"alg":"RSA-OAEP-256","value":"` + base64.RawURLEncoding.EncodeToString(make([]byte, 300)) + `"}`, status: 400, code: "BadParameter"},
		{name: "decrypt garbage", method: "POST", path: "/keys/k/decrypt", body: `{"alg":"RSA-OAEP","value":"AAAA"}`, status: 400, code: "BadParameter"},
		{name: "verify without digest", method: "POST", path: "/keys/k/verify", body: `{"alg":"RS256","value":"AAAA"}`, status: 400, code: "BadParameter"},
		{name: "oversized body", method: "POST", path: "/keys/k/encrypt", body: `{"alg":"RSA-OAEP","value":"` + strings.Repeat("A", 300<<10) + `"}`, status: 413, code: "RequestEntityTooLarge"},
		{name: "bad name", method: "POST", path: "/keys/bad_name/create", body: `{"kty":"RSA"}`, status: 400, code: "BadParameter"},
		{name: "unknown key", method: "POST", path: "/keys/nope/sign", body: `{"alg":"RS256","value":"` + d32 + `"}`, status: 404, code: "KeyNotFound"},
		{name: "bad policy", method: "PUT", path: "/keys/k/rotationpolicy", body: `{"lifetimeActions":[{"trigger":{"timeAfterCreate":"P1D"},"action":{"type":"Rotate"}}]}`, status: 400, code: "BadParameter"},
		{name: "rng too many", method: "POST", path: "/rng", body: `{"count":129}`, status: 400, code: "BadParameter"},
		{name: "rng zero", method: "POST", path: "/rng", body: `{"count":0}`, status: 400, code: "BadParameter"},
	}
	before := r.do("GET", "/keys/k/versions?api-version=7.6", "", true).text
	for _, c := range cases {
		rep := r.do(c.method, c.path+"?api-version=7.6", c.body, true)
		if rep.status != c.status || rep.code() != c.code {
			t.Errorf("%s: %d %s, want %d %s: %.300s", c.name, rep.status, rep.code(), c.status, c.code, rep.text)
		}
	}
	if after := r.do("GET", "/keys/k/versions?api-version=7.6", "", true).text; after != before {
		t.Fatalf("bad requests changed the key's versions:\n%s\n%s", before, after)
	}
	if rep := r.do("GET", "/keys?api-version=7.6", "", true); len(rep.body["value"].([]any)) != 2 {
		t.Fatalf("bad requests created keys: %s", rep.text)
	}
	pol := r.do("GET", "/keys/k/rotationpolicy?api-version=7.6", "", true)
	if !strings.Contains(pol.text, `"timeBeforeExpiry":"P30D"`) || strings.Contains(pol.text, "Rotate") {
		t.Fatalf("policy changed by a bad request: %s", pol.text)
	}
}

// A rotation policy rotates on schedule, on the server's clock; old
// versions keep verifying and decrypting.
func TestScheduledRotation(t *testing.T) {
	srv, clock := testenv.StartDevWithClock(t)
	ctx := context.Background()
	c := keysClient(t, srv)
	created, err := c.CreateKey(ctx, "rot", azkeys.CreateKeyParameters{Kty: to.Ptr(azkeys.KeyTypeEC), Curve: to.Ptr(azkeys.CurveNameP256)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.UpdateKeyRotationPolicy(ctx, "rot", azkeys.KeyRotationPolicy{
		LifetimeActions: []*azkeys.LifetimeAction{{Action: &azkeys.LifetimeActionType{Type: to.Ptr(azkeys.KeyRotationPolicyActionRotate)},
			Trigger: &azkeys.LifetimeActionTrigger{TimeAfterCreate: to.Ptr("P30D")}}},
		Attributes: &azkeys.KeyRotationPolicyAttributes{ExpiryTime: to.Ptr("P90D")}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	digest := sum256([]byte("before rotation"))
	sig, err := c.Sign(ctx, "rot", "", azkeys.SignParameters{Algorithm: to.Ptr(azkeys.SignatureAlgorithmES256), Value: digest}, nil)
	if err != nil {
		t.Fatal(err)
	}
	versions := func(c *azkeys.Client) int {
		n := 0
		for p := c.NewListKeyPropertiesVersionsPager("rot", nil); p.More(); {
			page, err := p.NextPage(ctx)
			if err != nil {
				t.Fatal(err)
			}
			n += len(page.Value)
		}
		return n
	}
	clock.Advance(29 * 24 * time.Hour)
	if err := srv.App.RunScheduledJobs(ctx); err != nil {
		t.Fatal(err)
	}
	c = keysClient(t, srv) // tokens follow the server's clock
	if n := versions(c); n != 1 {
		t.Fatalf("rotated before the trigger: %d versions", n)
	}
	clock.Advance(2 * 24 * time.Hour)
	if err := srv.App.RunScheduledJobs(ctx); err != nil {
		t.Fatal(err)
	}
	c = keysClient(t, srv)
	if n := versions(c); n != 2 {
		t.Fatalf("not rotated after the trigger: %d versions", n)
	}
	cur, err := c.GetKey(ctx, "rot", "", nil)
	if err != nil || cur.Key.KID.Version() == created.Key.KID.Version() {
		t.Fatalf("current version after rotation: %v", err)
	}
	if want := cur.Attributes.Created.Add(90 * 24 * time.Hour); cur.Attributes.Expires == nil || !cur.Attributes.Expires.Equal(want) {
		t.Fatalf("rotated version expires %v, want created + P90D = %v", cur.Attributes.Expires, want)
	}
	v, err := c.Verify(ctx, "rot", created.Key.KID.Version(), azkeys.VerifyParameters{Algorithm: to.Ptr(azkeys.SignatureAlgorithmES256), Digest: digest, Signature: sig.Result}, nil)
	if err != nil || !*v.Value {
		t.Fatalf("the old version no longer verifies: %v", err)
	}
	if err := srv.App.RunScheduledJobs(ctx); err != nil {
		t.Fatal(err)
	}
	if n := versions(c); n != 2 {
		t.Fatalf("rotated twice for one trigger: %d versions", n)
	}
	_, err = c.Sign(ctx, "nope", "", azkeys.SignParameters{Algorithm: to.Ptr(azkeys.SignatureAlgorithmES256), Value: digest}, nil)
	respErr(t, err, http.StatusNotFound, "KeyNotFound")
}

func ecdsaParse(curve string, raw []byte) (*ecdsa.PublicKey, error) {
	curves := map[string]elliptic.Curve{"P-256": elliptic.P256(), "P-384": elliptic.P384(), "P-521": elliptic.P521()}
	return ecdsa.ParseUncompressedPublicKey(curves[curve], raw)
}
