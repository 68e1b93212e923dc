package httpapi

import (
	"encoding/json"
	"net/http/httptest"
	"testing"

	"github.com/keyhaven/keyhaven/internal/secrets"
	"github.com/keyhaven/keyhaven/internal/vaults"
)

// BenchmarkRouteLookup matches a GetSecret path against the data-plane table.
func BenchmarkRouteLookup(b *testing.B) {
	tbl := newTable(dataRoutes())
	b.ReportAllocs()
	for b.Loop() {
		if r, _, _ := tbl.match("GET", splitPath("/secrets/db-password/0123456789abcdef0123456789abcdef")); r == nil {
			b.Fatal("no route")
		}
	}
}

// BenchmarkSecretBundleEncode encodes a GetSecret response.
func BenchmarkSecretBundleEncode(b *testing.B) {
	exp := int64(1900000000)
	c := &call{r: httptest.NewRequest("GET", "https://dev.vault.localhost:8443/secrets/x", nil),
		vault: &vaults.Vault{Name: "dev", SoftDeleteRetentionDays: 90}}
	s := &secrets.Secret{Name: "db-password", Version: "0123456789abcdef0123456789abcdef", Value: "a-typical-secret-value",
		ContentType: "text/plain", Tags: map[string]string{"env": "prod"},
		Attributes: secrets.Attributes{Enabled: true, Expires: &exp, Created: 1700000000, Updated: 1700000000}}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := json.Marshal(c.secretJSON(s, true, true)); err != nil {
			b.Fatal(err)
		}
	}
}
