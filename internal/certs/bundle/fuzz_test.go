package bundle

import (
	"crypto/x509"
	"encoding/base64"
	"errors"
	"testing"

	"github.com/keyhaven/keyhaven/internal/kverr"
)

// FuzzParse feeds Parse valid PFX and PEM values, their mutations and
// garbage. Parse must not panic, must fail only with a BadParameter
// *kverr.Error and must return a leaf when it succeeds. With raw set the
// value is base64-encoded first, so that the fuzzer mutates PFX bytes
// rather than their base64 text.
func FuzzParse(f *testing.F) {
	contentTypes := []string{"", ContentTypePFX, ContentTypePEM, "text/plain"}
	for _, c := range chains() {
		full := c.bundle()
		certsOnly := &Bundle{Leaf: c.leaf, Chain: []*x509.Certificate{c.inter, c.root}}
		for _, b := range []*Bundle{full, certsOnly} {
			der, err := EncodePFX(b)
			if err != nil {
				f.Fatal(err)
			}
			pemValue, err := EncodePEM(b)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(base64.StdEncoding.EncodeToString(der), "", uint8(0), true, false, false)
			f.Add(string(der), "", uint8(1), false, false, true)
			f.Add(pemValue, "", uint8(0), true, false, false)
			f.Add(pemValue, "", uint8(2), false, true, false)
		}
	}
	f.Add("", "", uint8(0), true, false, false)
	f.Add("not base64 !!", "pw", uint8(0), true, false, false)
	f.Add("AAAA", "", uint8(1), false, false, false)
	f.Add("MIIBAgIBAzA=", "", uint8(0), false, false, false)
	f.Add("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n", "", uint8(0), true, false, false)
	f.Add("-----BEGIN PRIVATE KEY-----\n-----END PRIVATE KEY-----\n", "", uint8(2), true, true, false)
	f.Add("-----BEGIN X-----\nProc-Type: 4,ENCRYPTED\n\nAAAA\n-----END X-----\n", "", uint8(3), false, false, false)

	f.Fuzz(func(t *testing.T, value, password string, ct uint8, requireKey, preserveOrder, raw bool) {
		if raw {
			value = base64.StdEncoding.EncodeToString([]byte(value))
		}
		b, got, err := Parse(value, password, contentTypes[int(ct)%len(contentTypes)], requireKey, preserveOrder)
		if err != nil {
			var e *kverr.Error
			if !errors.As(err, &e) || e.Kind != kverr.BadParameter {
				t.Fatalf("error is not a BadParameter *kverr.Error: %#v", err)
			}
			return
		}
		if b == nil || b.Leaf == nil {
			t.Fatal("success without a leaf")
		}
		if got != ContentTypePFX && got != ContentTypePEM {
			t.Fatalf("content type %q", got)
		}
		if requireKey && b.Key == nil {
			t.Fatal("requireKey without a key")
		}
		if b.Key != nil && !keyMatches(b.Leaf, b.Key) {
			t.Fatal("key does not match the leaf")
		}
	})
}
