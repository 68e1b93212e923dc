package httpapi

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
)

type openSeal struct{}

func (openSeal) Sealed() bool                         { return false }
func (openSeal) Unseal(context.Context, []byte) error { return nil }
func (openSeal) SealType() string                     { return "dev" }

// Every tooling route has an operation name and a handler and none shares a
// shape with another route of the authority table.
func TestToolingRoutesInTheAuthorityTable(t *testing.T) {
	seen := map[string]string{}
	for _, r := range slices.Concat(authorityRoutes(), principalRoutes(), assignmentRoutes(), toolingRoutes()) {
		if r.op == "" || r.handle == nil {
			t.Errorf("%s %s: no operation name or handler", r.method, r.pattern)
		}
		var shape []string
		for _, s := range splitPath(r.pattern) {
			if isParam(s) {
				s = "{}"
			}
			shape = append(shape, strings.ToLower(s))
		}
		key := r.method + " /" + strings.Join(shape, "/")
		if other, dup := seen[key]; dup {
			t.Errorf("%s and %s have the same shape", other, r.pattern)
		}
		seen[key] = r.pattern
	}
	tbl := newTable(slices.Concat(authorityRoutes(), principalRoutes(), assignmentRoutes(), toolingRoutes()))
	for path, op := range map[string]string{
		"//metadata/endpoints": "GetCloudMetadata",
		"/subscriptions":       "ListSubscriptions",
		"/Subscriptions/0b1c/": "GetSubscription",
		"/tenants":             "ListTenants",
		"/adfs/adfs/.well-known/openid-configuration":   "OpenIDConfiguration",
		"/adfs/.well-known/openid-configuration":        "OpenIDConfiguration",
		"/adfs/v2.0/.well-known/openid-configuration":   "OpenIDConfiguration",
		"/0b1c/v2.0/.well-known/openid-configuration":   "OpenIDConfiguration",
		"/identity/applications/0b1c/credentials/c1234": "RemoveApplicationCredential",
	} {
		method := "GET"
		if op == "RemoveApplicationCredential" {
			method = "DELETE"
		}
		if r, _, _ := tbl.match(method, splitPath(path)); r == nil || r.op != op {
			t.Errorf("%s %s: got %+v, want %s", method, path, r, op)
		}
	}
}

// metadata fetches /metadata/endpoints with api-version v ("" for none) on
// host localhost:8443.
func metadata(t *testing.T, v string) string {
	t.Helper()
	s := New(Deps{Seal: openSeal{}, DNSSuffix: "Vault.Localhost.", Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	path := "/metadata/endpoints"
	if v != "" {
		path += "?api-version=" + v
	}
	w := httptest.NewRecorder()
	s.ServeHTTP(w, httptest.NewRequest("GET", "https://localhost:8443"+path, nil))
	if w.Code != 200 || !strings.HasPrefix(w.Header().Get("Content-Type"), "application/json") {
		t.Fatalf("GET %s: %d %s", path, w.Code, w.Body)
	}
	return w.Body.String()
}

// The legacy shape (what msrestazure reads for `az cloud register
// --endpoint-resource-manager`): login endpoint, audiences, graph endpoint.
func TestToolingMetadataLegacyShape(t *testing.T) {
	for _, v := range []string{"1.0", "2015-01-01"} {
		var doc struct {
			GraphEndpoint  string `json:"graphEndpoint"`
			Authentication struct {
				LoginEndpoint string   `json:"loginEndpoint"`
				Audiences     []string `json:"audiences"`
			} `json:"authentication"`
		}
		body := metadata(t, v)
		if err := json.Unmarshal([]byte(body), &doc); err != nil {
			t.Fatalf("%s: %v: %s", v, err, body)
		}
		if doc.Authentication.LoginEndpoint != "https://localhost:8443/adfs" || !slices.Equal(doc.Authentication.Audiences, []string{"https://vault.localhost"}) ||
			doc.GraphEndpoint != "https://localhost:8443/" {
			t.Errorf("%s: %s", v, body)
		}
	}
}

type cloudDoc struct {
	Name            string `json:"name"`
	ResourceManager string `json:"resourceManager"`
	Authentication  struct {
		LoginEndpoint    string   `json:"loginEndpoint"`
		Audiences        []string `json:"audiences"`
		Tenant           string   `json:"tenant"`
		IdentityProvider string   `json:"identityProvider"`
	} `json:"authentication"`
	GraphAudience string `json:"graphAudience"`
	Suffixes      struct {
		KeyVaultDNS string `json:"keyVaultDns"`
	} `json:"suffixes"`
}

func (d cloudDoc) ok() bool {
	return d.Name == "keyhaven" && d.ResourceManager == "https://localhost:8443/" &&
		d.Authentication.LoginEndpoint == "https://localhost:8443/adfs" && d.Authentication.Tenant == "adfs" &&
		d.Authentication.IdentityProvider == "ADFS" && slices.Equal(d.Authentication.Audiences, []string{"https://vault.localhost"}) &&
		d.GraphAudience != "" && d.Suffixes.KeyVaultDNS == "vault.localhost:8443"
}

// 2019-05-01 up to 2022-09-01: an array of clouds (ARM_CLOUD_METADATA_URL);
// from 2022-09-01 on, and without a version: the cloud itself.
func TestToolingMetadataCloudShapes(t *testing.T) {
	for _, v := range []string{"2019-05-01", "2019-10-01"} {
		var docs []cloudDoc
		body := metadata(t, v)
		if err := json.Unmarshal([]byte(body), &docs); err != nil || len(docs) != 1 || !docs[0].ok() {
			t.Errorf("%s: %v: %s", v, err, body)
		}
	}
	for _, v := range []string{"2022-09-01", "2023-11-01", ""} {
		var doc cloudDoc
		body := metadata(t, v)
		if err := json.Unmarshal([]byte(body), &doc); err != nil || !doc.ok() {
			t.Errorf("%q: %v: %s", v, err, body)
		}
	}
}

// On the default HTTPS port the Key Vault suffix carries no port.
func TestToolingMetadataDefaultPort(t *testing.T) {
	s := New(Deps{Seal: openSeal{}, DNSSuffix: "kv.example.com", Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	w := httptest.NewRecorder()
	s.ServeHTTP(w, httptest.NewRequest("GET", "https://keyhaven.example.com/metadata/endpoints?api-version=2022-09-01", nil))
	var doc cloudDoc
	if err := json.Unmarshal(w.Body.Bytes(), &doc); err != nil || doc.Suffixes.KeyVaultDNS != "kv.example.com" ||
		doc.ResourceManager != "https://keyhaven.example.com/" || doc.Authentication.Audiences[0] != "https://kv.example.com" {
		t.Fatalf("%d %s", w.Code, w.Body)
	}
}
