package httpapi

import (
	"encoding/json"
	"testing"
)

func checkBundleJSON(t *testing.T, b *secretBundle) {
	t.Helper()
	want, err := json.Marshal(b)
	if err != nil {
		t.Fatal(err)
	}
	got := b.appendJSON(nil)
	if string(got) != string(want) {
		t.Fatalf("appendJSON:\n got %s\nwant %s", got, want)
	}
	if len(got) > b.maxJSONLen() {
		t.Fatalf("appendJSON wrote %d bytes, more than maxJSONLen %d", len(got), b.maxJSONLen())
	}
}

func TestSecretBundleAppendJSONMatchesMarshal(t *testing.T) {
	val, nbf, exp := "s3cr\"t<&>\n\u2028", int64(1), int64(1900000000)
	checkBundleJSON(t, &secretBundle{})
	checkBundleJSON(t, &secretBundle{Tags: map[string]string{}})
	checkBundleJSON(t, &secretBundle{Value: &val, ID: "https://v/secrets/a/1", ContentType: "application/x-pkcs12",
		Attributes: secretAttributesOut{Enabled: true, NotBefore: &nbf, Expires: &exp, Created: 2, Updated: 3,
			RecoverableDays: 90, RecoveryLevel: "Recoverable+Purgeable"},
		Tags: map[string]string{"z": "1", "a": "<"}, Kid: "https://v/keys/a/1", Managed: true,
		RecoveryID: "https://v/deletedsecrets/a", DeletedDate: 5, ScheduledPurgeDate: 6})
}

func FuzzSecretBundleAppendJSON(f *testing.F) {
	f.Add("value", "https://v/secrets/a/0123", "text/plain", "k", "v", int64(7), true)
	f.Fuzz(func(t *testing.T, val, id, ct, tk, tv string, n int64, flag bool) {
		b := &secretBundle{ID: id, ContentType: ct, Managed: flag, DeletedDate: n,
			Attributes: secretAttributesOut{Enabled: flag, Created: n, Updated: -n, RecoverableDays: int(n % 100), RecoveryLevel: tv}}
		if flag {
			b.Value, b.Attributes.Expires, b.Tags = &val, &n, map[string]string{tk: tv, tv: tk}
		}
		checkBundleJSON(t, b)
		checkPageJSON(t, listResult[secretBundle]{Value: []secretBundle{*b, {ID: tk, Attributes: secretAttributesOut{RecoveryLevel: tv}}}})
		checkPageJSON(t, listResult[secretBundle]{Value: []secretBundle{*b}, NextLink: &id})
	})
}

// A page of secret bundles is encoded as json.Marshal encodes it.
func checkPageJSON(t *testing.T, page listResult[secretBundle]) {
	t.Helper()
	want, err := json.Marshal(page)
	if err != nil {
		t.Fatal(err)
	}
	p := pageJSON[secretBundle](page)
	if got := p.appendJSON(nil); string(got) != string(want) || len(got) > p.maxJSONLen() {
		t.Fatalf("page appendJSON (bound %d):\n got %s\nwant %s", p.maxJSONLen(), got, want)
	}
}

func TestPageJSONMatchesMarshal(t *testing.T) {
	checkPageJSON(t, listResult[secretBundle]{Value: []secretBundle{}})
	next := "https://v.vault.localhost/secrets?api-version=7.6&$skiptoken=YQ&maxresults=2"
	checkPageJSON(t, listResult[secretBundle]{Value: []secretBundle{{ID: "https://v/secrets/a"}, {ID: "https://v/secrets/b", Tags: map[string]string{"k": "v"}}}, NextLink: &next})
}
