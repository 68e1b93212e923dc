package httpapi

import (
	"context"
	"io"
	"log/slog"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/keyhaven/keyhaven/internal/barrier"
	"github.com/keyhaven/keyhaven/internal/identity"
	"github.com/keyhaven/keyhaven/internal/kverr"
	"github.com/keyhaven/keyhaven/internal/storage/memory"
	"github.com/keyhaven/keyhaven/internal/vaults"
)

// Every ARM route names an ARM operation and a Microsoft.KeyVault action,
// shares no shape with another route of the authority table, and matches
// ARM's paths in any case.
func TestARMVaultRoutes(t *testing.T) {
	all := slices.Concat(authorityRoutes(), principalRoutes(), assignmentRoutes(), toolingRoutes(), armVaultRoutes())
	seen := map[string]string{}
	for _, r := range all {
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
	for _, r := range armVaultRoutes() {
		if !strings.HasPrefix(r.op, "Vaults_") || !strings.HasPrefix(r.action, "Microsoft.KeyVault/") || r.handle == nil {
			t.Errorf("%s %s: op %q action %q", r.method, r.pattern, r.op, r.action)
		}
		if (r.method == "PUT" || r.method == "PATCH" || r.method == "POST") && r.body == 0 && r.op != "Vaults_PurgeDeleted" {
			t.Errorf("%s %s reads no body", r.method, r.pattern)
		}
	}
	tbl := newTable(all)
	const sub = "/subscriptions/0b1c"
	for _, tc := range []struct {
		method, path, op string
		params           []string
	}{
		{"PUT", sub + "/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/kv", opVaultPut, []string{"0b1c", "rg", "kv"}},
		{"GET", sub + "/resourcegroups/RG/providers/microsoft.keyvault/VAULTS/kv/", opVaultGet, []string{"0b1c", "RG", "kv"}},
		{"PUT", sub + "/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/kv/accessPolicies/add", opVaultAccessPolicy, []string{"0b1c", "rg", "kv", "add"}},
		{"GET", sub + "/resourceGroups/rg/providers/Microsoft.KeyVault/vaults", opVaultListRG, []string{"0b1c", "rg"}},
		{"GET", sub + "/providers/Microsoft.KeyVault/vaults", opVaultListSub, []string{"0b1c"}},
		{"GET", sub + "/providers/Microsoft.KeyVault/deletedVaults", "Vaults_ListDeleted", []string{"0b1c"}},
		{"GET", sub + "/providers/Microsoft.KeyVault/locations/keyhaven/deletedVaults/kv", "Vaults_GetDeleted", []string{"0b1c", "keyhaven", "kv"}},
		{"POST", sub + "/providers/Microsoft.KeyVault/locations/keyhaven/deletedVaults/kv/purge", "Vaults_PurgeDeleted", []string{"0b1c", "keyhaven", "kv"}},
		{"POST", sub + "/providers/Microsoft.KeyVault/checkNameAvailability", "Vaults_CheckNameAvailability", []string{"0b1c"}},
		{"GET", sub, "GetSubscription", []string{"0b1c"}},
	} {
		r, params, _ := tbl.match(tc.method, splitPath(tc.path))
		if r == nil || r.op != tc.op || !slices.Equal(params, tc.params) {
			t.Errorf("%s %s: got %v %v, want %s %v", tc.method, tc.path, r, params, tc.op, tc.params)
		}
	}
}

// testARMServer is a Server over real services in memory, with one vault
// "alpha" in resource group "rg".
func testARMServer(t *testing.T) *Server {
	t.Helper()
	ctx := context.Background()
	b := barrier.New(memory.New())
	if err := b.Initialize(ctx, barrier.NewDevSeal()); err != nil {
		t.Fatal(err)
	}
	vs := vaults.New(b, time.Now)
	if _, err := vs.Create(ctx, vaults.Spec{Name: "alpha", Settings: vaults.Settings{ResourceGroup: "rg"}}); err != nil {
		t.Fatal(err)
	}
	id := identity.New(b, time.Now, time.Hour)
	if err := id.Load(ctx, ""); err != nil {
		t.Fatal(err)
	}
	return New(Deps{Vaults: vs, Identity: id, Seal: openSeal{}, DNSSuffix: "vault.localhost", Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
}

func routeByOp(t *testing.T, op, method string) *route {
	t.Helper()
	for _, r := range armVaultRoutes() {
		if r.op == op && r.method == method {
			return &r
		}
	}
	t.Fatalf("no route %s %s", method, op)
	return nil
}

// Routes of an existing vault are authorized at the vault; creating a
// vault, deleted vaults and name checks at the server.
func TestARMManagementScope(t *testing.T) {
	s := testARMServer(t)
	for _, tc := range []struct {
		op, method, vault, want string
	}{
		{opVaultGet, "GET", "Alpha", "/vaults/alpha"},
		{opVaultPatch, "PATCH", "alpha", "/vaults/alpha"},
		{opVaultDelete, "DELETE", "alpha", "/vaults/alpha"},
		{opVaultAccessPolicy, "PUT", "alpha", "/vaults/alpha"},
		{opVaultGet, "GET", "missing", "/vaults/missing"},
		{opVaultPut, "PUT", "alpha", "/vaults/alpha"},
		{opVaultPut, "PUT", "beta", "/"},
		{"Vaults_PurgeDeleted", "POST", "alpha", "/"},
		{"Vaults_GetDeleted", "GET", "alpha", "/"},
		{"Vaults_CheckNameAvailability", "POST", "", "/"},
	} {
		c := &call{route: routeByOp(t, tc.op, tc.method), params: []string{"sub", "rg", tc.vault}}
		if got := s.managementScope(c); got != tc.want {
			t.Errorf("%s %s: scope %q, want %q", tc.op, tc.vault, got, tc.want)
		}
	}
	if !listsReadableVaults(opVaultListSub) || !listsReadableVaults(opVaultListRG) || listsReadableVaults(opVaultGet) {
		t.Error("listsReadableVaults")
	}
}

// Errors of ARM routes use ARM's codes and challenge and carry no
// innererror; other routes keep Key Vault's envelope.
func TestARMShapedErrors(t *testing.T) {
	s := testARMServer(t)
	newCall := func(op, method, auth string) *call {
		r := httptest.NewRequest(method, "https://localhost:8443/subscriptions/x", nil)
		if auth != "" {
			r.Header.Set("Authorization", auth)
		}
		c := &call{w: httptest.NewRecorder(), r: r}
		if op != "" {
			c.route = routeByOp(t, op, method)
		}
		return c
	}
	bad := kverr.BadParameterf("x").WithInner("Inner")
	if got := s.armShaped(newCall(opVaultGet, "GET", ""), bad); got.Code != "BadRequest" || got.Inner != "" || got.Kind != kverr.BadParameter {
		t.Errorf("bad parameter: %+v", got)
	}
	if got := s.armShaped(newCall("", "GET", ""), bad); got != bad {
		t.Errorf("a route that is not ARM's changed: %+v", got)
	}
	named := kverr.New(kverr.BadParameter, "VaultNameNotValid", "x")
	if got := s.armShaped(newCall(opVaultPut, "PUT", ""), named); got.Code != "VaultNameNotValid" {
		t.Errorf("a specific code changed: %+v", got)
	}
	unauth := kverr.New(kverr.Unauthorized, "Unauthorized", "The access token is invalid.")
	c := newCall(opVaultGet, "GET", "")
	if got := s.armShaped(c, unauth); got.Code != "AuthenticationFailed" ||
		!strings.HasPrefix(c.w.Header().Get("WWW-Authenticate"), `Bearer authorization_uri="https://localhost:8443/`+s.Identity.TenantID()+`"`) {
		t.Errorf("no token: %+v %q", got, c.w.Header().Get("WWW-Authenticate"))
	}
	if got := s.armShaped(newCall(opVaultGet, "GET", "Bearer x"), unauth); got.Code != "InvalidAuthenticationToken" || got.Message != unauth.Message {
		t.Errorf("bad token: %+v", got)
	}
}

// The view is ARM's resource; purge protection shows only when on, the
// vault URI carries the client's port (none on 443).
func TestARMVaultView(t *testing.T) {
	s := testARMServer(t)
	v, _ := s.Vaults.Lookup("alpha")
	for host, uri := range map[string]string{"localhost:8443": "https://alpha.vault.localhost:8443/", "kh.example:443": "https://alpha.vault.localhost/",
		"kh.example": "https://alpha.vault.localhost/"} {
		c := &call{r: httptest.NewRequest("GET", "https://"+host+"/", nil)}
		got := s.armVaultView(c, v)
		if got.Properties.VaultURI != uri {
			t.Errorf("%s: vaultUri %s", host, got.Properties.VaultURI)
		}
		if got.ID != "/subscriptions/"+s.subscriptionID()+"/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/alpha" || got.Location != "keyhaven" ||
			got.Properties.EnablePurgeProtection != nil || !got.Properties.EnableSoftDelete || got.Properties.SKU != (armSKU{Family: "A", Name: "standard"}) ||
			got.Properties.TenantID != s.Identity.TenantID() || got.Tags == nil || got.SystemData == nil {
			t.Errorf("view: %+v", got)
		}
	}
	dev := &vaults.Vault{Name: "dev", PurgeProtection: true}
	got := s.armVaultView(&call{r: httptest.NewRequest("GET", "https://h/", nil)}, dev)
	if !strings.Contains(got.ID, "/resourceGroups/keyhaven/") || got.Properties.EnablePurgeProtection == nil || got.SystemData != nil {
		t.Errorf("vault without resource group: %+v", got)
	}
}

// checkProperties refuses what the registry cannot check; applyProperties
// spells enumerations as ARM does, whatever case they came in.
func TestARMProperties(t *testing.T) {
	s := testARMServer(t)
	tenant := s.Identity.TenantID()
	str := func(s string) *string { return &s }
	off := false
	ok := &armVaultPropsInput{TenantID: str(strings.ToUpper(tenant)), SKU: &armSKU{Family: "a", Name: "Premium"}}
	if err := s.checkProperties(ok, true); err != nil {
		t.Fatalf("valid properties: %v", err)
	}
	for name, p := range map[string]*armVaultPropsInput{
		"no tenant":       {SKU: &armSKU{Name: "standard"}},
		"no sku":          {TenantID: str(tenant)},
		"foreign tenant":  {TenantID: str("0b1c2d3e-3a4b-4c5d-9e6f-708192a3b4c5"), SKU: &armSKU{Name: "standard"}},
		"sku family":      {TenantID: str(tenant), SKU: &armSKU{Family: "B", Name: "standard"}},
		"sku name":        {TenantID: str(tenant), SKU: &armSKU{Name: "gold"}},
		"soft delete off": {TenantID: str(tenant), SKU: &armSKU{Name: "standard"}, EnableSoftDelete: &off},
		"create mode":     {TenantID: str(tenant), SKU: &armSKU{Name: "standard"}, CreateMode: str("restore")},
		"vnet":            {TenantID: str(tenant), SKU: &armSKU{Name: "standard"}, NetworkACLs: &armNetworkACL{VirtualNetworkRules: []armVNetRule{{ID: "/x"}}}},
	} {
		if err := s.checkProperties(p, true); kverr.As(err) == nil || kverr.As(err).Code != "BadRequest" {
			t.Errorf("%s: %v", name, err)
		}
	}
	if err := s.checkProperties(&armVaultPropsInput{}, false); err != nil {
		t.Errorf("an empty patch: %v", err)
	}
	var v vaults.Vault
	applyProperties(&v, &armVaultPropsInput{SKU: &armSKU{Name: "Premium"}, PublicNetworkAccess: str("disabled"),
		NetworkACLs: &armNetworkACL{Bypass: "none", DefaultAction: "deny", IPRules: []armIPRule{{Value: "10.0.0.1"}}}}, nil)
	if v.SKU != "premium" || v.PublicNetworkAccess != "Disabled" || v.NetworkACLs.Bypass != "None" || v.NetworkACLs.DefaultAction != "Deny" ||
		!slices.Equal(v.NetworkACLs.IPRules, []string{"10.0.0.1"}) {
		t.Errorf("applied: %+v", v)
	}
	for version, want := range map[string]bool{"2025-05-01": false, "2024-11-01": false, "2026-02-01": true, "2026-04-01-preview": true} {
		if rbacDefault(version) != want {
			t.Errorf("rbacDefault(%s) = %v", version, !want)
		}
	}
}
