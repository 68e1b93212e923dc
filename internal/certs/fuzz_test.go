package certs

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"testing"
	"time"

	"github.com/keyhaven/keyhaven/internal/kverr"
)

func wantBadParameter(t *testing.T, err error) {
	t.Helper()
	if err == nil {
		return
	}
	if e := kverr.As(err); e == nil || e.Kind != kverr.BadParameter {
		t.Fatalf("error is not a BadParameter: %v", err)
	}
}

// FuzzParseDN: any subject string either parses into a name that formats
// and parses back to the same DER, or is refused with BadParameter.
func FuzzParseDN(f *testing.F) {
	for _, s := range []string{"CN=a", "CN=www.contoso.com, O=Contoso, C=US", `CN="a,b"`, `OU=R\+D+CN=x`, "1.2.3=x", ",", `"`, "CN=\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		der, err := parseDN(s)
		wantBadParameter(t, err)
		if err != nil || len(der) < 3 {
			return
		}
		c := certWithSubject(t, der)
		again, err := parseDN(formatDN(c))
		if err != nil || string(again) != string(der) {
			t.Fatalf("%q → %q does not round-trip: %v", s, formatDN(c), err)
		}
	})
}

// FuzzPolicy: any JSON policy is either refused with BadParameter or
// issues a certificate and a CSR.
func FuzzPolicy(f *testing.F) {
	for _, s := range []string{
		`{"issuer":{"name":"Self"},"x509_props":{"subject":"CN=a"}}`,
		`{"issuer":{"name":"Unknown"},"key_props":{"kty":"EC","crv":"P-384"},"x509_props":{"sans":{"dns_names":["a.b"],"upns":["u@d"],"ipAddresses":["::1"],"uris":["https://x"]},"key_usage":["keyCertSign"]}}`,
		`{"issuer":{"name":"Self"},"x509_props":{"subject":"CN=a","ekus":["1.2.3"],"validity_months":1},"lifetime_actions":[{"trigger":{"days_before_expiry":3},"action":{"action_type":"EmailContacts"}}]}`,
	} {
		f.Add([]byte(s))
	}
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	f.Fuzz(func(t *testing.T, data []byte) {
		var p Policy
		if json.Unmarshal(data, &p) != nil {
			return
		}
		err := p.normalize(true)
		wantBadParameter(t, err)
		if err != nil {
			return
		}
		if _, err := selfSign(&p, key, time.Now()); err != nil {
			t.Fatalf("normalized policy does not issue: %v", err)
		}
		if _, err := makeCSR(&p, key); err != nil {
			t.Fatalf("normalized policy has no CSR: %v", err)
		}
	})
}

// FuzzMergeChain: any x5c is parsed or refused with BadParameter.
func FuzzMergeChain(f *testing.F) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	p := ecPolicy(IssuerSelf)
	if err := p.normalize(true); err != nil {
		f.Fatal(err)
	}
	c, err := selfSign(p, key, time.Now())
	if err != nil {
		f.Fatal(err)
	}
	f.Add(c.Raw, []byte{})
	f.Add(c.Raw[:40], c.Raw)
	f.Fuzz(func(t *testing.T, a, b []byte) {
		chain, err := parseX5C([][]byte{a, b})
		wantBadParameter(t, err)
		if err == nil && len(chain) != 2 {
			t.Fatal("chain length")
		}
	})
}
