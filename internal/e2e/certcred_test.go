package e2e

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"

	"github.com/keyhaven/keyhaven/internal/testenv"
)

// certCredential makes an RSA certificate, registers it as a credential
// of the dev application and returns it with its key.
func certCredential(t *testing.T, srv *testenv.Server) (*x509.Certificate, *rsa.PrivateKey) {
	t.Helper()
	key, _ := rsa.GenerateKey(rand.Reader, 2048)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: "keyhaven-dev client"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	if err := srv.App.AddAppCertificate(context.Background(), srv.Info.ClientID, der); err != nil {
		t.Fatal(err)
	}
	return cert, key
}

func TestClientCertificateCredential(t *testing.T) {
	srv := testenv.StartDev(t)
	cert, key := certCredential(t, srv)
	// Entra-shaped tenant (PS256, x5t#S256) and ADFS (RS256, x5t).
	for _, tenant := range []string{srv.Info.TenantID, "adfs"} {
		cred, err := azidentity.NewClientCertificateCredential(tenant, srv.Info.ClientID, []*x509.Certificate{cert}, key,
			&azidentity.ClientCertificateCredentialOptions{ClientOptions: clientOptions(srv), DisableInstanceDiscovery: true})
		if err != nil {
			t.Fatal(err)
		}
		sc := secretsClient(t, srv, cred)
		pager := sc.NewListSecretPropertiesPager(nil)
		if _, err := pager.NextPage(context.Background()); err != nil {
			t.Fatalf("tenant %s: listing secrets with a certificate credential: %v", tenant, err)
		}
	}
}

// assertion builds a client assertion as MSAL does, with overrides.
func assertion(t *testing.T, key *rsa.PrivateKey, cert *x509.Certificate, alg string, claims map[string]any) string {
	t.Helper()
	h := map[string]any{"alg": alg, "typ": "JWT"}
	if alg == "RS256" {
		sum := sha1.Sum(cert.Raw)
		h["x5t"] = base64.StdEncoding.EncodeToString(sum[:])
	} else {
		sum := sha256.Sum256(cert.Raw)
		h["x5t#S256"] = base64.StdEncoding.EncodeToString(sum[:])
	}
	hb, _ := json.Marshal(h)
	cb, _ := json.Marshal(claims)
	signed := base64.RawURLEncoding.EncodeToString(hb) + "." + base64.RawURLEncoding.EncodeToString(cb)
	sum := sha256.Sum256([]byte(signed))
	var sig []byte
	var err error
	switch alg {
	case "RS256":
		sig, err = rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, sum[:])
	case "PS256":
		sig, err = rsa.SignPSS(rand.Reader, key, crypto.SHA256, sum[:], &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash})
	default:
		sig = []byte("not a signature")
	}
	if err != nil {
		t.Fatal(err)
	}
	return signed + "." + base64.RawURLEncoding.EncodeToString(sig)
}

func TestClientAssertionsRefused(t *testing.T) {
	srv := testenv.StartDev(t)
	cert, key := certCredential(t, srv)
	endpoint := srv.Info.AuthorityHost + "/" + srv.Info.TenantID + "/oauth2/v2.0/token"
	id := srv.Info.ClientID
	good := func() map[string]any {
		now := time.Now().Unix()
		return map[string]any{"aud": endpoint, "iss": id, "sub": id, "jti": time.Now().String(), "nbf": now, "exp": now + 600}
	}
	post := func(a string) int {
		form := url.Values{"grant_type": {"client_credentials"}, "client_id": {id}, "scope": {"https://vault.localhost/.default"},
			"client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"}, "client_assertion": {a}}
		resp, err := srv.Client.PostForm(endpoint, form)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	ok := assertion(t, key, cert, "PS256", good())
	if code := post(ok); code != 200 {
		t.Fatalf("a valid assertion: %d", code)
	}
	if code := post(ok); code != 401 {
		t.Fatalf("a replayed assertion: %d", code)
	}
	// An assertion minted for another server is refused even when sent with
	// that server's name as Host.
	port := srv.App.Port()
	foreign := "https://other-keyhaven.example:" + port + "/" + srv.Info.TenantID + "/oauth2/v2.0/token"
	a := assertion(t, key, cert, "PS256", with(good(), "aud", foreign))
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {id}, "scope": {"https://vault.localhost/.default"},
		"client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"}, "client_assertion": {a}}
	req, _ := http.NewRequest("POST", foreign, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	tr := srv.Client.Transport.(*http.Transport).Clone()
	tr.TLSClientConfig.InsecureSkipVerify = true // the attacker's client does not check the name
	resp, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 401 {
		t.Fatalf("assertion for another server's name: %d", resp.StatusCode)
	}
	other, _ := rsa.GenerateKey(rand.Reader, 2048)
	cases := map[string]string{
		"wrong audience": assertion(t, key, cert, "PS256", with(good(), "aud", srv.Info.AuthorityHost+"/adfs/oauth2/token")),
		"expired":        assertion(t, key, cert, "PS256", with(good(), "exp", time.Now().Add(-10*time.Minute).Unix())),
		"not yet valid":  assertion(t, key, cert, "PS256", with(good(), "nbf", time.Now().Add(10*time.Minute).Unix())),
		"too long-lived": assertion(t, key, cert, "PS256", with(good(), "exp", time.Now().Add(48*time.Hour).Unix())),
		"other issuer":   assertion(t, key, cert, "PS256", with(good(), "iss", "someone-else")),
		"no jti":         assertion(t, key, cert, "PS256", with(good(), "jti", "")),
		"wrong key":      assertion(t, other, cert, "PS256", good()),
		"alg none":       assertion(t, key, cert, "none", good()),
		"HS256":          assertion(t, key, cert, "HS256", good()),
		"tampered":       tamper(assertion(t, key, cert, "RS256", good())),
		"garbage":        "a.b.c",
		"unknown cert":   assertion(t, other, selfSigned(t, other), "RS256", good()),
	}
	// Every bad assertion is refused; once this client has failed more than five
	// times from this address (the replay and the foreign name were two), the guard
	// answers 429 without checking.
	refused := 2
	for name, a := range cases {
		code := post(a)
		want := 401
		if refused > 5 {
			want = 429
		}
		if code != want {
			t.Errorf("%s: status %d, want %d", name, code, want)
		}
		refused++
	}
	if code := post(assertion(t, key, cert, "PS256", good())); code != 429 {
		t.Fatalf("a guessing client is not slowed down: %d", code)
	}
}

func with(m map[string]any, k string, v any) map[string]any {
	m[k] = v
	return m
}

// tamper changes the payload of a JWT and keeps its signature.
func tamper(jwt string) string {
	parts := strings.Split(jwt, ".")
	raw, _ := base64.RawURLEncoding.DecodeString(parts[1])
	raw = []byte(strings.Replace(string(raw), `"jti":"`, `"jti":"x`, 1)) // claims stay valid; only the signature breaks
	parts[1] = base64.RawURLEncoding.EncodeToString(raw)
	return strings.Join(parts, ".")
}

func selfSigned(t *testing.T, key *rsa.PrivateKey) *x509.Certificate {
	t.Helper()
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(9), NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := x509.ParseCertificate(der)
	return c
}
