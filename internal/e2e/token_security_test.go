package e2e

import (
	"crypto"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"net/http"
	"strings"
	"testing"

	"github.com/keyhaven/keyhaven/internal/testenv"
)

// Forged access tokens are refused on the data plane with 401, Azure's
// error body and the bearer challenge: alg none, HS256 keyed with the
// server's own public key (key confusion), another RSA key under the
// server's kid, an unknown kid, a tampered payload and a token cut short.
func TestForgedTokensAreRefused(t *testing.T) {
	srv := testenv.StartDev(t)
	r := newRaw(t, srv)
	good := r.token
	parts := strings.Split(good, ".")
	var header struct {
		Kid string `json:"kid"`
	}
	raw, _ := base64.RawURLEncoding.DecodeString(parts[0])
	_ = json.Unmarshal(raw, &header)

	resp, err := srv.Client.Get(srv.Info.AuthorityHost + "/" + srv.Info.TenantID + "/discovery/v2.0/keys")
	if err != nil {
		t.Fatal(err)
	}
	var jwks struct {
		Keys []struct{ Kid, N, E string } `json:"keys"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&jwks)
	resp.Body.Close()
	if len(jwks.Keys) == 0 {
		t.Fatal("no published key")
	}
	n, _ := base64.RawURLEncoding.DecodeString(jwks.Keys[0].N)
	pub := &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: 65537}
	der, _ := x509.MarshalPKIXPublicKey(pub)
	pubPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})

	seg := func(v any) string { b, _ := json.Marshal(v); return base64.RawURLEncoding.EncodeToString(b) }
	hs := func(secret []byte) string {
		signed := seg(map[string]string{"alg": "HS256", "typ": "JWT", "kid": header.Kid}) + "." + parts[1]
		m := hmac.New(sha256.New, secret)
		m.Write([]byte(signed))
		return signed + "." + base64.RawURLEncoding.EncodeToString(m.Sum(nil))
	}
	other, _ := rsa.GenerateKey(rand.Reader, 2048)
	rsSigned := func(key *rsa.PrivateKey, kid string) string {
		signed := seg(map[string]string{"alg": "RS256", "typ": "JWT", "kid": kid}) + "." + parts[1]
		sum := sha256.Sum256([]byte(signed))
		sig, _ := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, sum[:])
		return signed + "." + base64.RawURLEncoding.EncodeToString(sig)
	}
	raw, _ = base64.RawURLEncoding.DecodeString(parts[1])
	var claims map[string]any
	_ = json.Unmarshal(raw, &claims)
	claims["oid"] = "00000000-0000-4000-8000-000000000001"

	for name, tok := range map[string]string{
		"alg none":                    seg(map[string]string{"alg": "none", "typ": "JWT"}) + "." + parts[1] + ".",
		"HS256 with the public key":   hs(pubPEM),
		"HS256 with the modulus":      hs(n),
		"another key, server's kid":   rsSigned(other, header.Kid),
		"another key, unknown kid":    rsSigned(other, "unknown"),
		"tampered payload":            parts[0] + "." + seg(claims) + "." + parts[2],
		"signature cut":               parts[0] + "." + parts[1] + ".",
		"not a JWT":                   "definitely-not-a-token",
		"good signature, extra parts": good + ".x",
	} {
		r.token = tok
		rep := r.do("GET", "/secrets?api-version=7.6", "", true)
		if rep.status != http.StatusUnauthorized || rep.code() != "Unauthorized" || !strings.HasPrefix(rep.header.Get("WWW-Authenticate"), "Bearer authorization=") {
			t.Errorf("%s: %d %s %v", name, rep.status, rep.text, rep.header.Get("WWW-Authenticate"))
		}
	}
	r.token = good
	if rep := r.do("GET", "/secrets?api-version=7.6", "", true); rep.status != http.StatusOK {
		t.Fatalf("the genuine token: %d %s", rep.status, rep.text)
	}
}
