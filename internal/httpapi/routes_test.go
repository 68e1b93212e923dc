package httpapi

import (
	"strings"
	"testing"
)

// Every data-plane route declares a data action under the vault namespace,
// an operation name and a handler; no two routes have the same method and
// shape (which would make matching depend on table order).
func TestRouteTable(t *testing.T) {
	for _, plane := range []struct {
		name   string
		routes []route
		data   bool
	}{{"data", dataRoutes(), true}, {"authority", authorityRoutes(), false}} {
		seen := map[string]string{}
		for _, r := range plane.routes {
			if r.op == "" || r.handle == nil {
				t.Errorf("%s %s: no operation name or handler", r.method, r.pattern)
			}
			if plane.data && !strings.HasPrefix(r.action, "Microsoft.KeyVault/vaults/") {
				t.Errorf("%s %s: data-plane route without a declared data action", r.method, r.pattern)
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
				t.Errorf("%s: %s and %s have the same shape", plane.name, other, r.pattern)
			}
			seen[key] = r.pattern
		}
	}
}

func TestRouteMatching(t *testing.T) {
	tbl := newTable(dataRoutes())
	cases := []struct {
		method, path string
		op           string
		params       []string
	}{
		{method: "GET", path: "/secrets/a/versions", op: "GetSecretVersions", params: []string{"a"}},
		{method: "GET", path: "/secrets/a/0123", op: "GetSecret", params: []string{"a", "0123"}},
		{method: "GET", path: "/secrets/a/", op: "GetSecret", params: []string{"a"}},
		{method: "GET", path: "//Secrets//a", op: "GetSecret", params: []string{"a"}},
		{method: "POST", path: "/secrets/restore", op: "RestoreSecret"},
		{method: "POST", path: "/SECRETS/a/BACKUP", op: "BackupSecret", params: []string{"a"}},
		{method: "PUT", path: "/secrets/Mixed-Case", op: "SetSecret", params: []string{"Mixed-Case"}},
		{method: "POST", path: "/deletedsecrets/a/recover", op: "RecoverDeletedSecret", params: []string{"a"}},
		{method: "GET", path: "/secrets", op: "GetSecrets"},
		{method: "GET", path: "/certificates/issuers/pending", op: "GetCertificateIssuer", params: []string{"pending"}},
		{method: "DELETE", path: "/certificates/issuers/policy", op: "DeleteCertificateIssuer", params: []string{"policy"}},
		{method: "GET", path: "/certificates/issuers/versions", op: "GetCertificateIssuer", params: []string{"versions"}},
		{method: "GET", path: "/certificates/c/pending", op: "GetCertificateOperation", params: []string{"c"}},
		{method: "GET", path: "/certificates/contacts", op: "GetCertificateContacts"},
		{method: "POST", path: "/certificates/c/pending/merge", op: "MergeCertificate", params: []string{"c"}},
	}
	for _, c := range cases {
		r, params, _ := tbl.match(c.method, splitPath(c.path))
		if r == nil || r.op != c.op || strings.Join(params, ",") != strings.Join(c.params, ",") {
			t.Errorf("%s %s: got %v %v", c.method, c.path, r, params)
		}
	}
	if r, _, known := tbl.match("POST", splitPath("/secrets")); r != nil || !known {
		t.Error("POST /secrets must be a known path with the wrong method")
	}
	if r, _, known := tbl.match("GET", splitPath("/nothing")); r != nil || known {
		t.Error("unknown path matched")
	}
}

// Every data-plane operation has an access-policy permission, so vaults on
// the access-policy model decide every route (an unmapped one is denied).
func TestEveryDataRouteHasAnAccessPolicyPermission(t *testing.T) {
	for _, r := range dataRoutes() {
		perm, ok := apPermissions[r.op]
		if !ok {
			t.Errorf("%s %s (%s) has no access-policy permission", r.method, r.pattern, r.op)
			continue
		}
		kind, _, _ := strings.Cut(perm, "/")
		if c := collectionOf(r.pattern); c != "rng" && c != kind {
			t.Errorf("%s %s: permission %s is not of %s", r.method, r.pattern, perm, c)
		}
	}
}
