package client

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

const (
	testSub    = "8d8a5e6b-15cd-8485-8085-957a42aedeae"
	testTenant = "e2612c10-5ac3-4948-a02f-eb5bcd9c1123"
	testVault  = `{"id":"/subscriptions/` + testSub + `/resourceGroups/rg1/providers/Microsoft.KeyVault/vaults/kv1","name":"kv1",
	  "type":"Microsoft.KeyVault/vaults","location":"keyhaven","tags":{"a":"b"},"systemData":{"createdAt":"2026-01-02T03:04:05Z"},
	  "properties":{"tenantId":"` + testTenant + `","sku":{"family":"A","name":"standard"},"accessPolicies":[],
	  "vaultUri":"https://kv1.vault.localhost:8443/","enableSoftDelete":true,"softDeleteRetentionInDays":7,"enableRbacAuthorization":true,
	  "networkAcls":{"bypass":"AzureServices","defaultAction":"Allow","ipRules":[],"virtualNetworkRules":[]},"provisioningState":"Succeeded","publicNetworkAccess":"Enabled"}}`
	testDeleted = `{"id":"/subscriptions/` + testSub + `/providers/Microsoft.KeyVault/locations/keyhaven/deletedVaults/kv1","name":"kv1",
	  "type":"Microsoft.KeyVault/deletedVaults","properties":{"vaultId":"/subscriptions/` + testSub + `/resourceGroups/rg1/providers/Microsoft.KeyVault/vaults/kv1",
	  "location":"keyhaven","deletionDate":"2026-01-02T03:04:05Z","scheduledPurgeDate":"2026-01-09T03:04:05Z","tags":{},"purgeProtectionEnabled":true}}`
)

func newTestVaultsClient(t *testing.T, v *fakeVault, sub string) *VaultsClient {
	t.Helper()
	c, err := NewVaultsClient("https://127.0.0.1:"+v.srv.port, "vault.localhost:"+v.srv.port, &fakeCredential{},
		&VaultsClientOptions{ClientOptions: ClientOptions{RootCAs: v.srv.roots}, SubscriptionID: sub})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// The client learns the subscription and tenant once, fills the required
// create properties, and sends ARM's paths, api-version and bodies.
func TestVaultsClientRequests(t *testing.T) {
	v := newFakeVault(t)
	base := "/subscriptions/" + testSub
	vaultPath := base + "/resourceGroups/rg1/providers/Microsoft.KeyVault/vaults/kv1"
	v.routes["GET /subscriptions"] = answer(200, `{"value":[{"subscriptionId":"`+strings.ToUpper(testSub)+`","tenantId":"`+testTenant+`"}]}`)
	v.routes["PUT "+vaultPath] = answer(201, testVault)
	v.routes["PATCH "+vaultPath] = answer(200, testVault)
	v.routes["GET "+vaultPath] = answer(200, testVault)
	v.routes["DELETE "+vaultPath] = answer(200, "")
	v.routes["PUT "+vaultPath+"/accessPolicies/add"] = answer(200, `{"name":"add","properties":{"accessPolicies":[{"tenantId":"`+testTenant+`","objectId":"o1","permissions":{"secrets":["get"]}}]}}`)
	v.routes["GET "+base+"/providers/Microsoft.KeyVault/locations/keyhaven/deletedVaults/kv1"] = answer(200, testDeleted)
	v.routes["POST "+base+"/providers/Microsoft.KeyVault/locations/keyhaven/deletedVaults/kv1/purge"] = answer(200, "")
	v.routes["POST "+base+"/providers/Microsoft.KeyVault/checkNameAvailability"] = answer(200, `{"nameAvailable":false,"reason":"AlreadyExists","message":"taken"}`)
	c := newTestVaultsClient(t, v, "")
	ctx := context.Background()

	created, err := c.CreateOrUpdate(ctx, "rg1", "kv1", VaultCreateOrUpdateParameters{Tags: map[string]string{"a": "b"},
		Properties: VaultProperties{EnableRbacAuthorization: ptr(true)}})
	if err != nil || created.ResourceGroup() != "rg1" || created.Properties.VaultURI != "https://kv1.vault.localhost:8443/" ||
		*created.Properties.SoftDeleteRetentionInDays != 7 || created.SystemData.CreatedAt.Year() != 2026 {
		t.Fatalf("create = %+v, %v", created, err)
	}
	if _, err := c.Update(ctx, "rg1", "kv1", VaultPatchParameters{Tags: map[string]string{}, Properties: &VaultProperties{SoftDeleteRetentionInDays: ptr(30)}}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Get(ctx, "rg1", "kv1"); err != nil {
		t.Fatal(err)
	}
	applied, err := c.UpdateAccessPolicy(ctx, "rg1", "kv1", "add", []AccessPolicyEntry{{ObjectID: "o1", Permissions: Permissions{Secrets: []string{"get"}}}})
	if err != nil || len(applied) != 1 || applied[0].TenantID != testTenant {
		t.Fatalf("access policy = %+v, %v", applied, err)
	}
	if err := c.Delete(ctx, "rg1", "kv1"); err != nil {
		t.Fatal(err)
	}
	d, err := c.GetDeleted(ctx, "", "kv1")
	if err != nil || d.ResourceGroup() != "rg1" || !d.Properties.PurgeProtectionEnabled || d.Properties.ScheduledPurgeDate.Sub(d.Properties.DeletionDate).Hours() != 7*24 {
		t.Fatalf("deleted = %+v, %v", d, err)
	}
	if err := c.PurgeDeleted(ctx, "keyhaven", "kv1"); err != nil {
		t.Fatal(err)
	}
	avail, err := c.CheckNameAvailability(ctx, "kv1")
	if err != nil || avail.NameAvailable || avail.Reason != "AlreadyExists" {
		t.Fatalf("name = %+v, %v", avail, err)
	}
	q := "api-version=" + ARMAPIVersion
	auth := "Bearer tok-1"
	assertRequests(t, v.requests(), []recorded{
		{"GET", "/subscriptions", "api-version=2022-12-01", auth, ""},
		{"PUT", vaultPath, q, auth, `{"location":"keyhaven","tags":{"a":"b"},"properties":{"tenantId":"` + testTenant +
			`","sku":{"family":"A","name":"standard"},"enableRbacAuthorization":true}}`},
		{"PATCH", vaultPath, q, auth, `{"tags":{},"properties":{"softDeleteRetentionInDays":30}}`},
		{"GET", vaultPath, q, auth, ""},
		{"PUT", vaultPath + "/accessPolicies/add", q, auth, `{"properties":{"accessPolicies":[{"tenantId":"` + testTenant +
			`","objectId":"o1","permissions":{"secrets":["get"]}}]}}`},
		{"DELETE", vaultPath, q, auth, ""},
		{"GET", base + "/providers/Microsoft.KeyVault/locations/keyhaven/deletedVaults/kv1", q, auth, ""},
		{"POST", base + "/providers/Microsoft.KeyVault/locations/keyhaven/deletedVaults/kv1/purge", q, auth, ""},
		{"POST", base + "/providers/Microsoft.KeyVault/checkNameAvailability", q, auth, `{"name":"kv1","type":"Microsoft.KeyVault/vaults"}`},
	})
}

// Lists follow nextLink page by page; Find looks the vault up by name;
// Recover puts the deleted vault back into its own resource group.
func TestVaultsClientListsFindAndRecover(t *testing.T) {
	v := newFakeVault(t)
	base := "/subscriptions/" + testSub
	list := base + "/providers/Microsoft.KeyVault/vaults"
	next := "https://127.0.0.1:" + v.srv.port + list + "?%24skiptoken=a&%24top=1&api-version=" + ARMAPIVersion
	v.routes["GET "+list] = func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("$skiptoken") == "" {
			writeJSON(w, 200, `{"value":[{"id":"`+base+`/resourceGroups/g0/providers/Microsoft.KeyVault/vaults/a","name":"a","properties":{}}],"nextLink":"`+next+`"}`)
			return
		}
		writeJSON(w, 200, `{"value":[`+testVault+`]}`)
	}
	v.routes["GET "+base+"/providers/Microsoft.KeyVault/locations/keyhaven/deletedVaults/kv1"] = answer(200, testDeleted)
	v.routes["PUT "+base+"/resourceGroups/rg1/providers/Microsoft.KeyVault/vaults/kv1"] = answer(200, testVault)
	v.routes["GET /subscriptions"] = answer(200, `{"value":[{"subscriptionId":"`+testSub+`","tenantId":"`+testTenant+`"}]}`)
	c := newTestVaultsClient(t, v, testSub)
	ctx := context.Background()
	var names []string
	for vault, err := range c.ListBySubscription(ctx, 1) {
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, vault.Name+"@"+vault.ResourceGroup())
	}
	if strings.Join(names, ",") != "a@g0,kv1@rg1" {
		t.Fatalf("list = %v", names)
	}
	found, err := c.Find(ctx, "KV1")
	if err != nil || found.ResourceGroup() != "rg1" {
		t.Fatalf("find = %+v, %v", found, err)
	}
	_, err = c.Find(ctx, "nothere")
	var re *ResponseError
	if !errors.As(err, &re) || re.StatusCode != 404 {
		t.Fatalf("find a missing vault: %v", err)
	}
	if _, err := c.Recover(ctx, "kv1"); err != nil {
		t.Fatal(err)
	}
	reqs := v.requests()
	last := reqs[len(reqs)-1]
	if last.Method != "PUT" || !strings.Contains(last.Path, "/resourceGroups/rg1/") || !strings.Contains(last.Body, `"createMode":"recover"`) ||
		!strings.Contains(last.Body, `"tenantId":"`+testTenant+`"`) {
		t.Fatalf("recover request = %+v", last)
	}
	if q, _ := url.ParseQuery(reqs[0].Query); q.Get("$top") != "1" || q.Get("api-version") != ARMAPIVersion {
		t.Fatalf("first page query = %q", reqs[0].Query)
	}
}

// Names that could change the request path are refused before anything is
// sent; an ARM error becomes a *ResponseError with ARM's code.
func TestVaultsClientRefusesPathChangingNames(t *testing.T) {
	v := newFakeVault(t)
	c := newTestVaultsClient(t, v, testSub)
	ctx := context.Background()
	for _, tc := range []struct{ rg, name string }{{"../x", "kv1"}, {"rg1", "kv1/accessPolicies"}, {"rg1", "kv1?x=y"}, {"", "kv1"}, {"rg1", ""}, {"rg/1", "kv1"}} {
		if _, err := c.Get(ctx, tc.rg, tc.name); err == nil {
			t.Errorf("Get(%q, %q) sent a request", tc.rg, tc.name)
		}
	}
	if _, err := c.GetDeleted(ctx, "west/europe", "kv1"); err == nil {
		t.Error("a location with a slash was sent")
	}
	if _, err := c.UpdateAccessPolicy(ctx, "rg1", "kv1", "merge", nil); err == nil {
		t.Error("an unknown access policy operation was sent")
	}
	if n := len(v.requests()); n != 0 {
		t.Fatalf("%d requests sent", n)
	}
	if _, err := NewVaultsClient("https://127.0.0.1", "vault.localhost", &fakeCredential{}, &VaultsClientOptions{SubscriptionID: "../.."}); err == nil {
		t.Fatal("a malformed subscription id was accepted")
	}
	v.routes["GET /subscriptions/"+testSub+"/resourceGroups/rg1/providers/Microsoft.KeyVault/vaults/kv1"] =
		answer(404, `{"error":{"code":"ResourceNotFound","message":"The Resource 'Microsoft.KeyVault/vaults/kv1' under resource group 'rg1' was not found."}}`)
	_, err := c.Get(ctx, "rg1", "kv1")
	var re *ResponseError
	if !errors.As(err, &re) || re.StatusCode != 404 || re.Code != "ResourceNotFound" {
		t.Fatalf("error = %v", err)
	}
}
