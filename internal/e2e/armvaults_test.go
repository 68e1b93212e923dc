package e2e

// End-to-end tests of the vault management plane (ARM's
// Microsoft.KeyVault/vaults on the server's authority host): a real dev
// server over TLS, raw HTTPS requests with real tokens, and the data plane
// checked with its own requests after every change.

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	azarm "github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/keyvault/armkeyvault"

	"github.com/keyhaven/keyhaven/internal/testenv"
)

const armVersion = "?api-version=2025-05-01"

// armEnv drives the management plane of one dev server.
type armEnv struct {
	t     *testing.T
	srv   *testenv.Server
	sub   string
	admin string // the dev application: Owner and Key Vault Administrator at "/"
}

func newARM(t *testing.T, srv *testenv.Server) *armEnv {
	t.Helper()
	a := &armEnv{t: t, srv: srv, admin: newRaw(t, srv).token}
	rep := a.do(a.admin, "GET", "/subscriptions", "")
	subs, _ := rep.body["value"].([]any)
	if rep.status != 200 || len(subs) != 1 {
		t.Fatalf("subscriptions: %s", rep.text)
	}
	a.sub = subs[0].(map[string]any)["subscriptionId"].(string)
	return a
}

// do sends a request to the authority host; token "" sends none.
func (a *armEnv) do(token, method, path, body string) reply {
	a.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(context.Background(), method, a.srv.Info.AuthorityHost+path, rd)
	if err != nil {
		a.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := a.srv.Client.Do(req)
	if err != nil {
		a.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	out := reply{status: resp.StatusCode, header: resp.Header, text: string(b)}
	_ = json.Unmarshal(b, &out.body)
	return out
}

// want requires a status (and an error code, when code is not "").
func (a *armEnv) want(rep reply, status int, code string) reply {
	a.t.Helper()
	if rep.status != status || (code != "" && rep.code() != code) {
		a.t.Fatalf("want %d %s, got %d: %s", status, code, rep.status, rep.text)
	}
	return rep
}

func (a *armEnv) vaultPath(rg, name string) string {
	return "/subscriptions/" + a.sub + "/resourceGroups/" + rg + "/providers/Microsoft.KeyVault/vaults/" + name
}

func (a *armEnv) providerPath(rest string) string {
	return "/subscriptions/" + a.sub + "/providers/Microsoft.KeyVault/" + rest
}

// vaultBody is a VaultCreateOrUpdateParameters with the required fields
// and props merged in.
func (a *armEnv) vaultBody(props map[string]any, tags map[string]string) string {
	p := map[string]any{"tenantId": a.srv.Info.TenantID, "sku": map[string]string{"family": "A", "name": "standard"}, "accessPolicies": []any{}}
	maps.Copy(p, props)
	body := map[string]any{"location": "keyhaven", "properties": p}
	if tags != nil {
		body["tags"] = tags
	}
	return toJSON(body)
}

// create creates vault name in rg and returns the answer.
func (a *armEnv) create(token, rg, name string, props map[string]any) reply {
	a.t.Helper()
	return a.want(a.do(token, "PUT", a.vaultPath(rg, name)+armVersion, a.vaultBody(props, nil)), 201, "")
}

// principal creates an application holding role at scope (no role when
// role is "") and returns its token and object id.
func (a *armEnv) principal(name, role, scope string) (token, objectID string) {
	a.t.Helper()
	code, app := mgmt(a.t, a.srv, a.admin, "POST", "/identity/applications", `{"displayName":"`+name+`"}`)
	if code != 201 {
		a.t.Fatalf("create application: %d %v", code, app)
	}
	objectID = app["objectId"].(string)
	if role != "" {
		body := toJSON(map[string]string{"principalId": objectID, "roleName": role, "scope": scope})
		if code, m := mgmt(a.t, a.srv, a.admin, "POST", "/authorization/roleAssignments", body); code != 201 {
			a.t.Fatalf("assign %s: %d %v", role, code, m)
		}
	}
	r := &raw{t: a.t, srv: a.srv}
	return r.fetchToken(app["appId"].(string), app["secret"].(string), "https://vault.localhost/.default"), objectID
}

// data sends a data-plane request to vault with token and returns the
// status.
func (a *armEnv) data(token, vault, method, path, body string) reply {
	a.t.Helper()
	r := &raw{t: a.t, srv: a.srv, token: token}
	u := a.srv.VaultURL(vault)
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, _ := http.NewRequest(method, u+path, rd)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+r.token)
	resp, err := a.srv.Client.Do(req)
	if err != nil {
		a.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	out := reply{status: resp.StatusCode, header: resp.Header, text: string(b)}
	_ = json.Unmarshal(b, &out.body)
	return out
}

func props(m map[string]any) map[string]any {
	p, _ := m["properties"].(map[string]any)
	return p
}

// The whole lifecycle: create (201, ARM's shape), get, update by PUT and
// PATCH, list with paging, soft delete (the data plane stops, the name
// stays taken), recover (the data is back), purge (the name is free).
func TestARMVaultLifecycle(t *testing.T) {
	srv := testenv.StartDev(t)
	a := newARM(t, srv)
	created := a.create(a.admin, "payments-rg", "payments", map[string]any{"softDeleteRetentionInDays": 30,
		"enableRbacAuthorization": true, "networkAcls": map[string]any{"defaultAction": "allow", "ipRules": []any{map[string]string{"value": "10.0.0.0/8"}}}})
	v, p := created.body, props(created.body)
	port := srv.App.Port()
	wantID := "/subscriptions/" + a.sub + "/resourceGroups/payments-rg/providers/Microsoft.KeyVault/vaults/payments"
	checks := map[string]bool{
		"id": v["id"] == wantID, "name": v["name"] == "payments", "type": v["type"] == "Microsoft.KeyVault/vaults",
		"location": v["location"] == "keyhaven", "tags": v["tags"] != nil,
		"tenantId": p["tenantId"] == srv.Info.TenantID, "sku": toJSON(p["sku"]) == `{"family":"A","name":"standard"}`,
		"vaultUri":         p["vaultUri"] == "https://payments.vault.localhost:"+port+"/",
		"enableSoftDelete": p["enableSoftDelete"] == true, "softDeleteRetentionInDays": p["softDeleteRetentionInDays"] == 30.0,
		"enableRbacAuthorization": p["enableRbacAuthorization"] == true, "enablePurgeProtection absent": p["enablePurgeProtection"] == nil,
		"provisioningState": p["provisioningState"] == "Succeeded", "publicNetworkAccess": p["publicNetworkAccess"] == "Enabled",
		"networkAcls":    toJSON(p["networkAcls"]) == `{"bypass":"AzureServices","defaultAction":"Allow","ipRules":[{"value":"10.0.0.0/8"}],"virtualNetworkRules":[]}`,
		"accessPolicies": toJSON(p["accessPolicies"]) == `[]`,
	}
	if sd, _ := v["systemData"].(map[string]any); sd == nil {
		checks["systemData"] = false
	} else if _, err := time.Parse(time.RFC3339, sd["createdAt"].(string)); err != nil {
		checks["systemData.createdAt"] = false
	}
	for name, ok := range checks {
		if !ok {
			t.Errorf("created vault: %s wrong: %s", name, created.text)
		}
	}
	if got := a.want(a.do(a.admin, "GET", a.vaultPath("payments-rg", "payments")+armVersion, ""), 200, ""); toJSON(got.body) != toJSON(created.body) {
		t.Fatalf("GET differs from the PUT answer:\n%s\n%s", got.text, created.text)
	}
	// The vault serves its data plane at once (the admin holds Key Vault
	// Administrator at "/").
	a.want(a.data(a.admin, "payments", "PUT", "/secrets/db?api-version=7.6", `{"value":"s3cret"}`), 200, "")

	// PUT again updates (200) and replaces the tags; PATCH changes only what
	// it names.
	upd := a.want(a.do(a.admin, "PUT", a.vaultPath("payments-rg", "payments")+armVersion, a.vaultBody(map[string]any{"sku": map[string]string{"family": "A", "name": "premium"}}, map[string]string{"team": "billing"})), 200, "")
	if props(upd.body)["sku"].(map[string]any)["name"] != "premium" || toJSON(upd.body["tags"]) != `{"team":"billing"}` || props(upd.body)["softDeleteRetentionInDays"] != 30.0 {
		t.Fatalf("PUT update: %s", upd.text)
	}
	pat := a.want(a.do(a.admin, "PATCH", a.vaultPath("payments-rg", "payments")+armVersion, `{"properties":{"softDeleteRetentionInDays":60,"publicNetworkAccess":"disabled"}}`), 200, "")
	if pp := props(pat.body); pp["softDeleteRetentionInDays"] != 60.0 || pp["publicNetworkAccess"] != "Disabled" || toJSON(pat.body["tags"]) != `{"team":"billing"}` || pp["sku"].(map[string]any)["name"] != "premium" {
		t.Fatalf("PATCH: %s", pat.text)
	}
	a.want(a.do(a.admin, "PATCH", a.vaultPath("payments-rg", "payments")+armVersion, `{"properties":{"publicNetworkAccess":"Enabled"}}`), 200, "")
	// The vault is not in another resource group.
	a.want(a.do(a.admin, "GET", a.vaultPath("other-rg", "payments")+armVersion, ""), 404, "ResourceNotFound")
	a.want(a.do(a.admin, "PUT", a.vaultPath("other-rg", "payments")+armVersion, a.vaultBody(nil, nil)), 409, "VaultAlreadyExists")

	// The default permission model follows the api-version, as in Azure.
	old := a.want(a.do(a.admin, "PUT", a.vaultPath("payments-rg", "legacy-default")+"?api-version=2024-11-01", `{"location":"keyhaven","properties":{"tenantId":"`+srv.Info.TenantID+`","sku":{"family":"A","name":"standard"}}}`), 201, "")
	recent := a.want(a.do(a.admin, "PUT", a.vaultPath("payments-rg", "rbac-default")+"?api-version=2026-02-01", `{"location":"keyhaven","properties":{"tenantId":"`+srv.Info.TenantID+`","sku":{"family":"A","name":"standard"}}}`), 201, "")
	if props(old.body)["enableRbacAuthorization"] != false || props(recent.body)["enableRbacAuthorization"] != true {
		t.Fatalf("default permission model: %v / %v", props(old.body)["enableRbacAuthorization"], props(recent.body)["enableRbacAuthorization"])
	}

	// Lists: by resource group and by subscription, paged by $top.
	names := func(path string) []string {
		var out []string
		next := a.srv.Info.AuthorityHost + path
		for pages := 0; next != ""; pages++ {
			if pages > 10 {
				t.Fatal("paging does not end")
			}
			rep := a.want(a.do(a.admin, "GET", strings.TrimPrefix(next, a.srv.Info.AuthorityHost), ""), 200, "")
			for _, it := range rep.body["value"].([]any) {
				out = append(out, it.(map[string]any)["name"].(string))
			}
			next, _ = rep.body["nextLink"].(string)
		}
		return out
	}
	if got := names(a.providerPath("vaults") + armVersion + "&$top=2"); strings.Join(got, ",") != "dev,legacy-default,payments,rbac-default" {
		t.Fatalf("list by subscription: %v", got)
	}
	if got := names("/subscriptions/" + a.sub + "/resourceGroups/PAYMENTS-RG/providers/Microsoft.KeyVault/vaults" + armVersion + "&$top=1"); strings.Join(got, ",") != "legacy-default,payments,rbac-default" {
		t.Fatalf("list by resource group: %v", got)
	}
	if got := names("/subscriptions/" + a.sub + "/resourceGroups/keyhaven/providers/Microsoft.KeyVault/vaults" + armVersion); strings.Join(got, ",") != "dev" {
		t.Fatalf("the default resource group: %v", got)
	}

	// Delete: soft. The data plane stops; the name stays taken.
	del := a.do(a.admin, "DELETE", a.vaultPath("payments-rg", "payments")+armVersion, "")
	a.want(del, 200, "")
	a.want(a.do(a.admin, "GET", a.vaultPath("payments-rg", "payments")+armVersion, ""), 404, "ResourceNotFound")
	a.want(a.do(a.admin, "DELETE", a.vaultPath("payments-rg", "payments")+armVersion, ""), 204, "")
	a.want(a.data(a.admin, "payments", "GET", "/secrets/db?api-version=7.6", ""), 404, "VaultNotFound")
	listed := a.want(a.do(a.admin, "GET", a.providerPath("deletedVaults")+armVersion, ""), 200, "")
	if vals := listed.body["value"].([]any); len(vals) != 1 {
		t.Fatalf("deleted vaults: %s", listed.text)
	}
	dv := a.want(a.do(a.admin, "GET", a.providerPath("locations/keyhaven/deletedVaults/payments")+armVersion, ""), 200, "")
	dp := props(dv.body)
	deleted, err1 := time.Parse(time.RFC3339, dp["deletionDate"].(string))
	purgeAt, err2 := time.Parse(time.RFC3339, dp["scheduledPurgeDate"].(string))
	if err1 != nil || err2 != nil || !purgeAt.Equal(deleted.AddDate(0, 0, 60)) || dp["vaultId"] != wantID || dp["location"] != "keyhaven" ||
		dp["purgeProtectionEnabled"] != false || toJSON(dp["tags"]) != `{"team":"billing"}` || dv.body["type"] != "Microsoft.KeyVault/deletedVaults" ||
		dv.body["id"] != "/subscriptions/"+a.sub+"/providers/Microsoft.KeyVault/locations/keyhaven/deletedVaults/payments" {
		t.Fatalf("deleted vault: %s", dv.text)
	}
	a.want(a.do(a.admin, "GET", a.providerPath("locations/westeurope/deletedVaults/payments")+armVersion, ""), 404, "")
	check := func(name string) map[string]any {
		return a.want(a.do(a.admin, "POST", a.providerPath("checkNameAvailability")+armVersion, `{"name":"`+name+`","type":"Microsoft.KeyVault/vaults"}`), 200, "").body
	}
	if c := check("payments"); c["nameAvailable"] != false || c["reason"] != "AlreadyExists" {
		t.Fatalf("name of a deleted vault: %v", c)
	}
	if c := check("1nvalid"); c["nameAvailable"] != false || c["reason"] != "AccountNameInvalid" {
		t.Fatalf("invalid name: %v", c)
	}
	a.want(a.do(a.admin, "PUT", a.vaultPath("payments-rg", "payments")+armVersion, a.vaultBody(nil, nil)), 409, "VaultAlreadyExists")

	// Recover (PUT with createMode recover): settings and data come back.
	rec := a.want(a.do(a.admin, "PUT", a.vaultPath("payments-rg", "payments")+armVersion, a.vaultBody(map[string]any{"createMode": "recover"}, nil)), 200, "")
	if props(rec.body)["softDeleteRetentionInDays"] != 60.0 || toJSON(rec.body["tags"]) != `{"team":"billing"}` {
		t.Fatalf("recovered: %s", rec.text)
	}
	if got := a.want(a.data(a.admin, "payments", "GET", "/secrets/db?api-version=7.6", ""), 200, ""); got.body["value"] != "s3cret" {
		t.Fatalf("recovered secret: %s", got.text)
	}

	// Purge: the name is free and a new vault under it is empty.
	a.want(a.do(a.admin, "DELETE", a.vaultPath("payments-rg", "payments")+armVersion, ""), 200, "")
	a.want(a.do(a.admin, "POST", a.providerPath("locations/keyhaven/deletedVaults/payments/purge")+armVersion, ""), 200, "")
	a.want(a.do(a.admin, "GET", a.providerPath("locations/keyhaven/deletedVaults/payments")+armVersion, ""), 404, "")
	if c := check("payments"); c["nameAvailable"] != true {
		t.Fatalf("name after purge: %v", c)
	}
	a.create(a.admin, "payments-rg", "payments", map[string]any{"enableRbacAuthorization": true})
	a.want(a.data(a.admin, "payments", "GET", "/secrets/db?api-version=7.6", ""), 404, "SecretNotFound")
}

// Purge protection holds against every role, Owner included, until the
// retention ends; then an Owner may purge, and the scheduler purges what
// nobody did.
func TestARMVaultPurgeProtection(t *testing.T) {
	srv, clock := testenv.StartDevWithClock(t)
	a := newARM(t, srv)
	a.create(a.admin, "rg", "guarded", map[string]any{"enablePurgeProtection": true, "softDeleteRetentionInDays": 7})
	a.create(a.admin, "rg", "forgotten", map[string]any{"enablePurgeProtection": true, "softDeleteRetentionInDays": 7})
	owner, _ := a.principal("owner", "Owner", "/")
	contributor, _ := a.principal("contributor", "Contributor", "/")

	// Purge protection and its retention never go back.
	a.want(a.do(a.admin, "PATCH", a.vaultPath("rg", "guarded")+armVersion, `{"properties":{"enablePurgeProtection":false}}`), 400, "BadRequest")
	a.want(a.do(a.admin, "PATCH", a.vaultPath("rg", "guarded")+armVersion, `{"properties":{"softDeleteRetentionInDays":90}}`), 400, "BadRequest")
	for _, name := range []string{"guarded", "forgotten"} {
		a.want(a.do(a.admin, "DELETE", a.vaultPath("rg", name)+armVersion, ""), 200, "")
	}
	purge := a.providerPath("locations/keyhaven/deletedVaults/guarded/purge") + armVersion
	for who, token := range map[string]string{"dev admin (Owner + Key Vault Administrator)": a.admin, "Owner": owner, "Contributor": contributor} {
		if rep := a.do(token, "POST", purge, ""); rep.status != 409 || !strings.Contains(rep.text, "purge protection") {
			t.Fatalf("%s purged a protected vault: %d %s", who, rep.status, rep.text)
		}
	}
	clock.Advance(7*24*time.Hour - time.Minute)
	a.admin = newRaw(t, srv).token // tokens follow the clock
	owner, _ = a.principal("owner-2", "Owner", "/")
	a.want(a.do(owner, "POST", purge, ""), 409, "")
	if err := srv.App.RunScheduledJobs(context.Background()); err != nil {
		t.Fatal(err)
	}
	a.want(a.do(owner, "GET", a.providerPath("locations/keyhaven/deletedVaults/forgotten")+armVersion, ""), 200, "")

	clock.Advance(2 * time.Minute)
	a.admin = newRaw(t, srv).token
	owner, _ = a.principal("owner-3", "Owner", "/")
	a.want(a.do(owner, "POST", purge, ""), 200, "")
	a.want(a.do(owner, "GET", a.providerPath("locations/keyhaven/deletedVaults/guarded")+armVersion, ""), 404, "")
	if err := srv.App.RunScheduledJobs(context.Background()); err != nil {
		t.Fatal(err)
	}
	a.want(a.do(owner, "GET", a.providerPath("locations/keyhaven/deletedVaults/forgotten")+armVersion, ""), 404, "")
	if rep := a.want(a.do(owner, "GET", a.providerPath("deletedVaults")+armVersion, ""), 200, ""); len(rep.body["value"].([]any)) != 0 {
		t.Fatalf("deleted vaults left: %s", rep.text)
	}
}

// Access-policy changes decide the data plane at once in a vault on the
// access-policy model, and never in one on RBAC; switching the model
// switches which of the two counts.
func TestARMVaultAccessPoliciesDecideTheDataPlane(t *testing.T) {
	srv := testenv.StartDev(t)
	a := newARM(t, srv)
	a.create(a.admin, "rg", "legacy", map[string]any{"enableRbacAuthorization": false})
	worker, workerID := a.principal("worker", "", "")
	policy := func(kind string, secrets ...string) reply {
		entry := map[string]any{"tenantId": srv.Info.TenantID, "objectId": workerID, "permissions": map[string]any{"secrets": secrets}}
		return a.do(a.admin, "PUT", a.vaultPath("rg", "legacy")+"/accessPolicies/"+kind+armVersion,
			toJSON(map[string]any{"properties": map[string]any{"accessPolicies": []any{entry}}}))
	}
	set := func(token string) int {
		return a.data(token, "legacy", "PUT", "/secrets/s?api-version=7.6", `{"value":"v"}`).status
	}
	get := func(token string) int { return a.data(token, "legacy", "GET", "/secrets/s?api-version=7.6", "").status }
	list := func(token string) int { return a.data(token, "legacy", "GET", "/secrets?api-version=7.6", "").status }

	// The admin's RBAC role counts for nothing here.
	if got := set(a.admin); got != 403 {
		t.Fatalf("RBAC admin on an access-policy vault: %d", got)
	}
	if got := set(worker); got != 403 {
		t.Fatalf("worker before any policy: %d", got)
	}
	added := a.want(policy("add", "get", "set"), 200, "")
	if added.body["name"] != "add" || added.body["type"] != "Microsoft.KeyVault/vaults/accessPolicies" ||
		!strings.HasSuffix(added.body["id"].(string), "/vaults/legacy/accessPolicies/add") {
		t.Fatalf("access policy answer: %s", added.text)
	}
	if set(worker) != 200 || get(worker) != 200 || list(worker) != 403 {
		t.Fatalf("after add get,set: set %d get %d list %d", set(worker), get(worker), list(worker))
	}
	a.want(policy("replace", "get"), 200, "")
	if set(worker) != 403 || get(worker) != 200 {
		t.Fatalf("after replace get: set %d get %d", set(worker), get(worker))
	}
	a.want(policy("remove", "get"), 200, "")
	if get(worker) != 403 {
		t.Fatalf("after remove: get %d", get(worker))
	}
	v := a.want(a.do(a.admin, "GET", a.vaultPath("rg", "legacy")+armVersion, ""), 200, "")
	if pol := props(v.body)["accessPolicies"].([]any); len(pol) != 0 {
		t.Fatalf("policies left: %s", v.text)
	}

	// RBAC on: a policy granting everything counts for nothing, roles do.
	a.want(policy("add", "all"), 200, "")
	if get(worker) != 200 {
		t.Fatal("policy all does not grant get")
	}
	a.want(a.do(a.admin, "PATCH", a.vaultPath("rg", "legacy")+armVersion, `{"properties":{"enableRbacAuthorization":true}}`), 200, "")
	if get(worker) != 403 || get(a.admin) != 200 {
		t.Fatalf("RBAC on: worker %d admin %d", get(worker), get(a.admin))
	}
	if code, m := mgmt(t, srv, a.admin, "POST", "/authorization/roleAssignments",
		`{"principalId":"`+workerID+`","roleName":"Key Vault Secrets Officer","scope":"/vaults/legacy"}`); code != 201 {
		t.Fatalf("assign: %d %v", code, m)
	}
	if get(worker) != 200 {
		t.Fatal("the role does not grant get")
	}
	// Back to access policies: the role is inert, the policy counts again.
	a.want(a.do(a.admin, "PATCH", a.vaultPath("rg", "legacy")+armVersion, `{"properties":{"enableRbacAuthorization":false}}`), 200, "")
	a.want(policy("remove"), 200, "")
	if get(worker) != 403 || get(a.admin) != 403 {
		t.Fatalf("access policies again, no entry: worker %d admin %d", get(worker), get(a.admin))
	}
}

// Reader reads and writes nothing; a Key Vault Contributor changes vaults
// and their access policies (at the scope it holds) but never purges nor
// switches the permission model; a Contributor purges.
func TestARMVaultRoles(t *testing.T) {
	srv := testenv.StartDev(t)
	a := newARM(t, srv)
	a.create(a.admin, "rg", "alpha", map[string]any{"enableRbacAuthorization": false})
	a.create(a.admin, "rg", "beta", map[string]any{"enableRbacAuthorization": true})
	reader, _ := a.principal("reader", "Reader", "/")
	kvcAlpha, kvcID := a.principal("kvc-alpha", "Key Vault Contributor", "/vaults/alpha")
	kvcServer, _ := a.principal("kvc-server", "Key Vault Contributor", "/")
	contributor, _ := a.principal("contributor", "Contributor", "/")
	nobody, _ := a.principal("nobody", "", "")
	alpha := a.vaultPath("rg", "alpha") + armVersion
	before := a.want(a.do(a.admin, "GET", alpha, ""), 200, "").text

	// Reader: every read, no write.
	a.want(a.do(reader, "GET", alpha, ""), 200, "")
	a.want(a.do(reader, "GET", a.providerPath("deletedVaults")+armVersion, ""), 200, "")
	for _, w := range []struct{ method, path, body string }{
		{"PUT", alpha, a.vaultBody(nil, nil)},
		{"PATCH", alpha, `{"tags":{"x":"y"}}`},
		{"DELETE", alpha, ""},
		{"PUT", a.vaultPath("rg", "alpha") + "/accessPolicies/add" + armVersion, `{"properties":{"accessPolicies":[]}}`},
		{"PUT", a.vaultPath("rg", "readers-vault") + armVersion, a.vaultBody(nil, nil)},
	} {
		a.want(a.do(reader, w.method, w.path, w.body), 403, "AuthorizationFailed")
	}
	// Nobody: refused, and lists show nothing.
	a.want(a.do(nobody, "GET", alpha, ""), 403, "AuthorizationFailed")
	if rep := a.want(a.do(nobody, "GET", a.providerPath("vaults")+armVersion, ""), 200, ""); len(rep.body["value"].([]any)) != 0 {
		t.Fatalf("a principal without roles lists vaults: %s", rep.text)
	}
	if rep := a.do(a.admin, "GET", alpha, ""); rep.text != before {
		t.Fatalf("refused writes changed the vault:\n%s\n%s", before, rep.text)
	}

	// Key Vault Contributor on alpha: alpha only.
	a.want(a.do(kvcAlpha, "GET", alpha, ""), 200, "")
	a.want(a.do(kvcAlpha, "GET", a.vaultPath("rg", "beta")+armVersion, ""), 403, "AuthorizationFailed")
	if rep := a.want(a.do(kvcAlpha, "GET", a.providerPath("vaults")+armVersion, ""), 200, ""); len(rep.body["value"].([]any)) != 1 {
		t.Fatalf("vault-scoped list: %s", rep.text)
	}
	a.want(a.do(kvcAlpha, "PUT", a.vaultPath("rg", "gamma")+armVersion, a.vaultBody(nil, nil)), 403, "AuthorizationFailed")
	// It may grant itself data access by access policy, as in Azure...
	entry := toJSON(map[string]any{"properties": map[string]any{"accessPolicies": []any{map[string]any{"tenantId": srv.Info.TenantID,
		"objectId": kvcID, "permissions": map[string]any{"secrets": []string{"get", "set"}}}}}})
	a.want(a.do(kvcAlpha, "PUT", a.vaultPath("rg", "alpha")+"/accessPolicies/add"+armVersion, entry), 200, "")
	a.want(a.data(kvcAlpha, "alpha", "PUT", "/secrets/s?api-version=7.6", `{"value":"v"}`), 200, "")
	a.want(a.do(kvcAlpha, "PATCH", alpha, `{"tags":{"owner":"kvc"}}`), 200, "")
	// ...but not switch the permission model (that needs the right to
	// assign roles), nor purge.
	a.want(a.do(kvcAlpha, "PATCH", alpha, `{"properties":{"enableRbacAuthorization":true}}`), 403, "AuthorizationFailed")
	if rep := a.want(a.do(a.admin, "GET", alpha, ""), 200, ""); props(rep.body)["enableRbacAuthorization"] != false {
		t.Fatal("a refused model switch changed the vault")
	}
	a.want(a.do(kvcAlpha, "DELETE", alpha, ""), 200, "")
	for _, kvc := range []string{kvcAlpha, kvcServer} {
		a.want(a.do(kvc, "POST", a.providerPath("locations/keyhaven/deletedVaults/alpha/purge")+armVersion, ""), 403, "AuthorizationFailed")
	}
	a.want(a.do(kvcServer, "GET", a.providerPath("locations/keyhaven/deletedVaults/alpha")+armVersion, ""), 200, "")
	// Contributor: purges (no purge protection here), cannot switch models either.
	a.want(a.do(contributor, "PATCH", a.vaultPath("rg", "beta")+armVersion, `{"properties":{"enableRbacAuthorization":false}}`), 403, "AuthorizationFailed")
	a.want(a.do(contributor, "POST", a.providerPath("locations/keyhaven/deletedVaults/alpha/purge")+armVersion, ""), 200, "")
	// Owner switches models.
	a.want(a.do(a.admin, "PATCH", a.vaultPath("rg", "beta")+armVersion, `{"properties":{"enableRbacAuthorization":false}}`), 200, "")
}

// Every kind of bad input gets ARM's error and changes nothing: neither
// the existing vault nor any new name.
func TestARMVaultBadInputChangesNothing(t *testing.T) {
	srv := testenv.StartDev(t)
	a := newARM(t, srv)
	a.create(a.admin, "rg", "steady", map[string]any{"enablePurgeProtection": true, "softDeleteRetentionInDays": 30, "enableRbacAuthorization": false,
		"accessPolicies": []any{map[string]any{"tenantId": srv.Info.TenantID, "objectId": "8f0c1d2e-3a4b-4c5d-9e6f-708192a3b4c5", "permissions": map[string]any{"secrets": []string{"get"}}}}})
	steady := a.vaultPath("rg", "steady") + armVersion
	before := a.want(a.do(a.admin, "GET", steady, ""), 200, "").text
	policy := func(perms map[string]any, tenant string) map[string]any {
		return map[string]any{"tenantId": tenant, "objectId": "0b1c2d3e-3a4b-4c5d-9e6f-708192a3b4c5", "permissions": perms}
	}
	tooMany := make([]any, 1025)
	for i := range tooMany {
		tooMany[i] = map[string]any{"tenantId": srv.Info.TenantID, "objectId": fmt.Sprintf("%08x-3a4b-4c5d-9e6f-708192a3b4c5", i), "permissions": map[string]any{"secrets": []string{"get"}}}
	}
	newVault := func(props map[string]any) string { return a.vaultBody(props, nil) }
	bad := []struct {
		name, method, path, body string
		status                   int
		code                     string
	}{
		{"name starts with a digit", "PUT", a.vaultPath("rg", "1vault") + armVersion, newVault(nil), 400, "VaultNameNotValid"},
		{"name too short", "PUT", a.vaultPath("rg", "ab") + armVersion, newVault(nil), 400, "VaultNameNotValid"},
		{"name too long", "PUT", a.vaultPath("rg", strings.Repeat("a", 25)) + armVersion, newVault(nil), 400, "VaultNameNotValid"},
		{"consecutive hyphens", "PUT", a.vaultPath("rg", "a--b") + armVersion, newVault(nil), 400, "VaultNameNotValid"},
		{"retention 6", "PUT", a.vaultPath("rg", "fresh") + armVersion, newVault(map[string]any{"softDeleteRetentionInDays": 6}), 400, "BadRequest"},
		{"retention 91", "PUT", a.vaultPath("rg", "fresh") + armVersion, newVault(map[string]any{"softDeleteRetentionInDays": 91}), 400, "BadRequest"},
		{"sku", "PUT", a.vaultPath("rg", "fresh") + armVersion, newVault(map[string]any{"sku": map[string]string{"family": "A", "name": "gold"}}), 400, "BadRequest"},
		{"sku family", "PUT", a.vaultPath("rg", "fresh") + armVersion, newVault(map[string]any{"sku": map[string]string{"family": "B", "name": "standard"}}), 400, "BadRequest"},
		{"no sku", "PUT", a.vaultPath("rg", "fresh") + armVersion, `{"location":"keyhaven","properties":{"tenantId":"` + srv.Info.TenantID + `"}}`, 400, "BadRequest"},
		{"soft delete off", "PUT", a.vaultPath("rg", "fresh") + armVersion, newVault(map[string]any{"enableSoftDelete": false}), 400, "BadRequest"},
		{"unknown permission", "PUT", a.vaultPath("rg", "fresh") + armVersion, newVault(map[string]any{"accessPolicies": []any{policy(map[string]any{"secrets": []string{"fly"}}, srv.Info.TenantID)}}), 400, "BadRequest"},
		{"1025 access policies", "PUT", a.vaultPath("rg", "fresh") + armVersion, newVault(map[string]any{"accessPolicies": tooMany}), 400, "BadRequest"},
		{"foreign tenant", "PUT", a.vaultPath("rg", "fresh") + armVersion, newVault(map[string]any{"tenantId": "0b1c2d3e-3a4b-4c5d-9e6f-708192a3b4c5"}), 400, "BadRequest"},
		{"policy of a foreign tenant", "PUT", a.vaultPath("rg", "fresh") + armVersion, newVault(map[string]any{"accessPolicies": []any{policy(map[string]any{"secrets": []string{"get"}}, "0b1c2d3e-3a4b-4c5d-9e6f-708192a3b4c5")}}), 400, "BadRequest"},
		{"location", "PUT", a.vaultPath("rg", "fresh") + armVersion, strings.Replace(newVault(nil), `"keyhaven"`, `"westeurope"`, 1), 400, "LocationNotAvailableForResourceType"},
		{"no location", "PUT", a.vaultPath("rg", "fresh") + armVersion, strings.Replace(newVault(nil), `"location":"keyhaven",`, ``, 1), 400, "LocationRequired"},
		{"create mode", "PUT", a.vaultPath("rg", "fresh") + armVersion, newVault(map[string]any{"createMode": "copy"}), 400, "BadRequest"},
		{"recover nothing", "PUT", a.vaultPath("rg", "fresh") + armVersion, newVault(map[string]any{"createMode": "recover"}), 404, ""},
		{"ip rule", "PUT", a.vaultPath("rg", "fresh") + armVersion, newVault(map[string]any{"networkAcls": map[string]any{"ipRules": []any{map[string]string{"value": "10.0.0.300"}}}}), 400, "BadRequest"},
		{"virtual network", "PUT", a.vaultPath("rg", "fresh") + armVersion, newVault(map[string]any{"networkAcls": map[string]any{"virtualNetworkRules": []any{map[string]string{"id": "/x"}}}}), 400, "BadRequest"},
		{"public access", "PUT", a.vaultPath("rg", "fresh") + armVersion, newVault(map[string]any{"publicNetworkAccess": "sometimes"}), 400, "BadRequest"},
		{"not JSON", "PUT", a.vaultPath("rg", "fresh") + armVersion, `{"location":`, 400, "BadRequest"},
		{"wrong type", "PUT", a.vaultPath("rg", "fresh") + armVersion, newVault(map[string]any{"softDeleteRetentionInDays": "seven"}), 400, "BadRequest"},
		{"resource group", "PUT", a.vaultPath("rg.", "fresh") + armVersion, newVault(nil), 400, "BadRequest"},
		{"no api-version", "PUT", a.vaultPath("rg", "fresh"), newVault(nil), 400, "MissingApiVersionParameter"},
		{"foreign subscription", "PUT", strings.Replace(a.vaultPath("rg", "fresh"), a.sub, "0b1c2d3e-3a4b-4c5d-9e6f-708192a3b4c5", 1) + armVersion, newVault(nil), 404, "SubscriptionNotFound"},
		// The existing vault.
		{"PUT retention under purge protection", "PUT", steady, newVault(map[string]any{"softDeleteRetentionInDays": 7}), 400, "BadRequest"},
		{"PUT with a bad policy", "PUT", steady, newVault(map[string]any{"accessPolicies": []any{policy(map[string]any{"keys": []string{"fly"}}, srv.Info.TenantID)}}), 400, "BadRequest"},
		{"PATCH purge protection off", "PATCH", steady, `{"properties":{"enablePurgeProtection":false}}`, 400, "BadRequest"},
		{"PATCH retention 91", "PATCH", steady, `{"properties":{"softDeleteRetentionInDays":91}}`, 400, "BadRequest"},
		{"PATCH sku", "PATCH", steady, `{"tags":{"a":"b"},"properties":{"sku":{"family":"A","name":"gold"}}}`, 400, "BadRequest"},
		{"PATCH soft delete off", "PATCH", steady, `{"properties":{"enableSoftDelete":false}}`, 400, "BadRequest"},
		{"PATCH 1025 policies", "PATCH", steady, toJSON(map[string]any{"properties": map[string]any{"accessPolicies": tooMany}}), 400, "BadRequest"},
		{"PATCH tag name", "PATCH", steady, `{"tags":{"a/b":"c"}}`, 400, "BadRequest"},
		{"policy kind", "PUT", a.vaultPath("rg", "steady") + "/accessPolicies/merge" + armVersion, `{"properties":{"accessPolicies":[]}}`, 400, "BadRequest"},
		{"policy without properties", "PUT", a.vaultPath("rg", "steady") + "/accessPolicies/add" + armVersion, `{}`, 400, "BadRequest"},
		{"policy with unknown permission", "PUT", a.vaultPath("rg", "steady") + "/accessPolicies/add" + armVersion,
			toJSON(map[string]any{"properties": map[string]any{"accessPolicies": []any{policy(map[string]any{"certificates": []string{"get", "fly"}}, srv.Info.TenantID)}}}), 400, "BadRequest"},
		{"remove with unknown permission", "PUT", a.vaultPath("rg", "steady") + "/accessPolicies/remove" + armVersion,
			toJSON(map[string]any{"properties": map[string]any{"accessPolicies": []any{policy(map[string]any{"secrets": []string{"fly"}}, srv.Info.TenantID)}}}), 400, "BadRequest"},
		{"policy object id", "PUT", a.vaultPath("rg", "steady") + "/accessPolicies/add" + armVersion,
			`{"properties":{"accessPolicies":[{"tenantId":"` + srv.Info.TenantID + `","objectId":"bob","permissions":{}}]}}`, 400, "BadRequest"},
		{"1025 policies added", "PUT", a.vaultPath("rg", "steady") + "/accessPolicies/add" + armVersion,
			toJSON(map[string]any{"properties": map[string]any{"accessPolicies": tooMany}}), 400, "BadRequest"},
		{"name check type", "POST", a.providerPath("checkNameAvailability") + armVersion, `{"name":"x","type":"Microsoft.Storage/storageAccounts"}`, 400, "BadRequest"},
		{"purge an active vault", "POST", a.providerPath("locations/keyhaven/deletedVaults/steady/purge") + armVersion, "", 404, ""},
		{"no token", "GET", steady, "", 401, "AuthenticationFailed"},
	}
	for _, b := range bad {
		token := a.admin
		if b.name == "no token" {
			token = ""
		}
		rep := a.do(token, b.method, b.path, b.body)
		if rep.status != b.status || (b.code != "" && rep.code() != b.code) {
			t.Errorf("%s: want %d %s, got %d %s", b.name, b.status, b.code, rep.status, rep.text)
		}
		if e, _ := rep.body["error"].(map[string]any); e == nil || e["message"] == "" || e["innererror"] != nil {
			t.Errorf("%s: not a CloudError: %s", b.name, rep.text)
		}
	}
	if rep := a.do("", "GET", steady, ""); !strings.Contains(rep.header.Get("WWW-Authenticate"), `authorization_uri="`+srv.Info.AuthorityHost+"/"+srv.Info.TenantID+`"`) {
		t.Errorf("ARM challenge: %q", rep.header.Get("WWW-Authenticate"))
	}
	if rep := a.do("not-a-token", "GET", steady, ""); rep.status != 401 || rep.code() != "InvalidAuthenticationToken" {
		t.Errorf("bad token: %d %s", rep.status, rep.text)
	}
	if after := a.want(a.do(a.admin, "GET", steady, ""), 200, "").text; after != before {
		t.Fatalf("bad input changed the vault:\n%s\n%s", before, after)
	}
	rep := a.want(a.do(a.admin, "GET", a.providerPath("vaults")+armVersion, ""), 200, "")
	var got []string
	for _, v := range rep.body["value"].([]any) {
		got = append(got, v.(map[string]any)["name"].(string))
	}
	if slices.Sort(got); strings.Join(got, ",") != "dev,steady" {
		t.Fatalf("bad input created vaults: %v", got)
	}
	if rep := a.want(a.do(a.admin, "GET", a.providerPath("deletedVaults")+armVersion, ""), 200, ""); len(rep.body["value"].([]any)) != 0 {
		t.Fatalf("bad input deleted vaults: %s", rep.text)
	}
}

// The official Go management SDK (armkeyvault.VaultsClient) drives the
// whole lifecycle against keyhaven, with the dev application's client
// secret credential and keyhaven as the resource manager endpoint.
func TestARMVaultGoSDK(t *testing.T) {
	srv := testenv.StartDev(t)
	a := newARM(t, srv)
	ctx := context.Background()
	opts := &azarm.ClientOptions{ClientOptions: azcore.ClientOptions{
		Cloud: cloud.Configuration{ActiveDirectoryAuthorityHost: srv.Info.AuthorityHost, Services: map[cloud.ServiceName]cloud.ServiceConfiguration{
			cloud.ResourceManager: {Endpoint: srv.Info.AuthorityHost, Audience: "https://vault.localhost"}}},
		Transport: srv.Client, Retry: policy.RetryOptions{MaxRetries: -1}}}
	vc, err := armkeyvault.NewVaultsClient(a.sub, secretCredential(t, srv), opts)
	if err != nil {
		t.Fatal(err)
	}
	create := func(name string, purgeProtection bool) armkeyvault.Vault {
		t.Helper()
		props := &armkeyvault.VaultProperties{TenantID: to.Ptr(srv.Info.TenantID),
			SKU:            &armkeyvault.SKU{Family: to.Ptr(armkeyvault.SKUFamilyA), Name: to.Ptr(armkeyvault.SKUNameStandard)},
			AccessPolicies: []*armkeyvault.AccessPolicyEntry{}, EnableRbacAuthorization: to.Ptr(true), SoftDeleteRetentionInDays: to.Ptr[int32](7)}
		if purgeProtection {
			props.EnablePurgeProtection = to.Ptr(true)
		}
		poller, err := vc.BeginCreateOrUpdate(ctx, "sdk-rg", name, armkeyvault.VaultCreateOrUpdateParameters{
			Location: to.Ptr("keyhaven"), Tags: map[string]*string{"env": to.Ptr("test")}, Properties: props}, nil)
		if err != nil {
			t.Fatalf("BeginCreateOrUpdate: %v", err)
		}
		res, err := poller.PollUntilDone(ctx, &runtime.PollUntilDoneOptions{Frequency: time.Second})
		if err != nil {
			t.Fatalf("PollUntilDone: %v", err)
		}
		return res.Vault
	}
	v := create("sdkvault", false)
	if *v.Name != "sdkvault" || *v.Properties.VaultURI != "https://sdkvault.vault.localhost:"+srv.App.Port()+"/" || *v.Properties.ProvisioningState != armkeyvault.VaultProvisioningStateSucceeded ||
		*v.Properties.SoftDeleteRetentionInDays != 7 || !*v.Properties.EnableRbacAuthorization || *v.Tags["env"] != "test" || v.SystemData == nil || v.SystemData.CreatedAt == nil {
		t.Fatalf("created: %s", toJSON(v))
	}
	got, err := vc.Get(ctx, "sdk-rg", "sdkvault", nil)
	if err != nil || *got.ID != *v.ID {
		t.Fatalf("Get: %v", err)
	}
	_, err = vc.Get(ctx, "sdk-rg", "missing", nil)
	respErr(t, err, 404, "ResourceNotFound")

	// Update (PATCH) to the access-policy model, then grant by policy.
	upd, err := vc.Update(ctx, "sdk-rg", "sdkvault", armkeyvault.VaultPatchParameters{Tags: map[string]*string{"env": to.Ptr("prod")},
		Properties: &armkeyvault.VaultPatchProperties{EnableRbacAuthorization: to.Ptr(false)}}, nil)
	if err != nil || *upd.Properties.EnableRbacAuthorization || *upd.Tags["env"] != "prod" {
		t.Fatalf("Update: %v %s", err, toJSON(upd))
	}
	_, workerID := a.principal("sdk-worker", "", "")
	ap, err := vc.UpdateAccessPolicy(ctx, "sdk-rg", "sdkvault", armkeyvault.AccessPolicyUpdateKindAdd, armkeyvault.VaultAccessPolicyParameters{
		Properties: &armkeyvault.VaultAccessPolicyProperties{AccessPolicies: []*armkeyvault.AccessPolicyEntry{{TenantID: to.Ptr(srv.Info.TenantID),
			ObjectID: to.Ptr(workerID), Permissions: &armkeyvault.Permissions{Secrets: []*armkeyvault.SecretPermissions{to.Ptr(armkeyvault.SecretPermissionsGet)}}}}}}, nil)
	if err != nil || len(ap.Properties.AccessPolicies) != 1 {
		t.Fatalf("UpdateAccessPolicy: %v", err)
	}
	if got, _ := vc.Get(ctx, "sdk-rg", "sdkvault", nil); len(got.Properties.AccessPolicies) != 1 || *got.Properties.AccessPolicies[0].ObjectID != workerID {
		t.Fatalf("policies after add: %s", toJSON(got.Properties.AccessPolicies))
	}

	// Lists, paged one vault at a time.
	create("sdkother", true)
	var names []string
	pager := vc.NewListBySubscriptionPager(&armkeyvault.VaultsClientListBySubscriptionOptions{Top: to.Ptr[int32](1)})
	for pages := 0; pager.More(); pages++ {
		page, err := pager.NextPage(ctx)
		if err != nil || pages > 5 {
			t.Fatalf("list: %v", err)
		}
		for _, v := range page.Value {
			names = append(names, *v.Name)
		}
	}
	if strings.Join(names, ",") != "dev,sdkother,sdkvault" {
		t.Fatalf("list by subscription: %v", names)
	}
	names = nil
	rgPager := vc.NewListByResourceGroupPager("sdk-rg", nil)
	for rgPager.More() {
		page, err := rgPager.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range page.Value {
			names = append(names, *v.Name)
		}
	}
	if strings.Join(names, ",") != "sdkother,sdkvault" {
		t.Fatalf("list by resource group: %v", names)
	}

	// Delete, list deleted, get deleted, purge.
	for _, name := range []string{"sdkvault", "sdkother"} {
		if _, err := vc.Delete(ctx, "sdk-rg", name, nil); err != nil {
			t.Fatalf("Delete: %v", err)
		}
	}
	avail, err := vc.CheckNameAvailability(ctx, armkeyvault.VaultCheckNameAvailabilityParameters{Name: to.Ptr("sdkvault"), Type: to.Ptr("Microsoft.KeyVault/vaults")}, nil)
	if err != nil || *avail.NameAvailable || *avail.Reason != armkeyvault.ReasonAlreadyExists {
		t.Fatalf("CheckNameAvailability: %v %s", err, toJSON(avail))
	}
	names = nil
	delPager := vc.NewListDeletedPager(nil)
	for delPager.More() {
		page, err := delPager.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range page.Value {
			names = append(names, *d.Name)
		}
	}
	if slices.Sort(names); strings.Join(names, ",") != "sdkother,sdkvault" {
		t.Fatalf("list deleted: %v", names)
	}
	d, err := vc.GetDeleted(ctx, "sdkvault", "keyhaven", nil)
	if err != nil || !d.Properties.ScheduledPurgeDate.Equal(d.Properties.DeletionDate.AddDate(0, 0, 7)) || *d.Properties.VaultID != *v.ID {
		t.Fatalf("GetDeleted: %v %s", err, toJSON(d))
	}
	purge := func(name string) error {
		poller, err := vc.BeginPurgeDeleted(ctx, name, "keyhaven", nil)
		if err != nil {
			return err
		}
		_, err = poller.PollUntilDone(ctx, &runtime.PollUntilDoneOptions{Frequency: time.Second})
		return err
	}
	respErr(t, purge("sdkother"), 409, "VaultPurgeProtected")
	if err := purge("sdkvault"); err != nil {
		t.Fatalf("purge: %v", err)
	}
	_, err = vc.GetDeleted(ctx, "sdkvault", "keyhaven", nil)
	respErr(t, err, 404, "DeletedVaultNotFound")
	// Recover by createMode, through the SDK as well.
	poller, err := vc.BeginCreateOrUpdate(ctx, "sdk-rg", "sdkother", armkeyvault.VaultCreateOrUpdateParameters{Location: to.Ptr("keyhaven"),
		Properties: &armkeyvault.VaultProperties{TenantID: to.Ptr(srv.Info.TenantID), CreateMode: to.Ptr(armkeyvault.CreateModeRecover),
			SKU: &armkeyvault.SKU{Family: to.Ptr(armkeyvault.SKUFamilyA), Name: to.Ptr(armkeyvault.SKUNameStandard)}}}, nil)
	if err != nil {
		t.Fatalf("recover: %v", err)
	}
	if res, err := poller.PollUntilDone(ctx, nil); err != nil || !*res.Properties.EnablePurgeProtection {
		t.Fatalf("recovered: %v", err)
	}
}
