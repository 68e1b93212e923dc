package cli

import (
	"net/http"
	"strings"
	"testing"

	"github.com/keyhaven/keyhaven/pkg/client"
)

const (
	cliSub    = "8d8a5e6b-15cd-8485-8085-957a42aedeae"
	cliTenant = "e2612c10-5ac3-4948-a02f-eb5bcd9c1123"
	cliOID    = "8f0c1d2e-3a4b-4c5d-9e6f-708192a3b4c5"
	cliKVPath = "/subscriptions/" + cliSub + "/resourceGroups/rg1/providers/Microsoft.KeyVault/vaults/kv1"
	cliKVJSON = `{"id":"` + cliKVPath + `","name":"kv1","type":"Microsoft.KeyVault/vaults","location":"keyhaven","tags":{"a":"b"},
	  "properties":{"tenantId":"` + cliTenant + `","sku":{"family":"A","name":"standard"},
	  "accessPolicies":[{"tenantId":"` + cliTenant + `","objectId":"` + cliOID + `","permissions":{"keys":["get"],"secrets":["get","list"]}}],
	  "softDeleteRetentionInDays":7,"enableRbacAuthorization":false,
	  "networkAcls":{"bypass":"AzureServices","defaultAction":"Deny","ipRules":[{"value":"10.0.0.1"}]}}}`
)

// useFakeVaults points newVaultsClient at a fake management plane that
// knows one subscription and answers the routes the test sets.
func useFakeVaults(t *testing.T) *fakeVault {
	t.Helper()
	v := useFakeVault(t)
	orig := newVaultsClient
	newVaultsClient = func(_, subscription string) (*client.VaultsClient, error) {
		return client.NewVaultsClient(v.srv.URL, "vault.localhost", staticCredential{},
			&client.VaultsClientOptions{ClientOptions: client.ClientOptions{HTTPClient: v.srv.Client()}, SubscriptionID: subscription})
	}
	t.Cleanup(func() { newVaultsClient = orig })
	v.route("GET /subscriptions", 200, `{"value":[{"subscriptionId":"`+cliSub+`","tenantId":"`+cliTenant+`"}]}`)
	v.route("GET /subscriptions/"+cliSub+"/providers/Microsoft.KeyVault/vaults", 200, `{"value":[`+cliKVJSON+`]}`)
	v.route("GET "+cliKVPath, 200, cliKVJSON)
	return v
}

// The requests each subcommand sends: az's flags become ARM bodies;
// set-policy keeps the lists it is not given; network rules compare
// prefixes; without -g the vault is found by name.
func TestVaultCommandRequests(t *testing.T) {
	q := "api-version=" + client.ARMAPIVersion
	tests := []struct {
		name   string
		args   []string
		routes map[string]string // method+path → reply (200)
		want   []vaultRequest    // the requests after GET /subscriptions (and the lookup by name)
	}{
		{name: "create", args: []string{"create", "-n", "kv1", "-g", "rg1", "--retention-days", "7", "--enable-purge-protection", "true",
			"--tags", "a=b", "c=d", "--network-acls-ips", "10.0.0.1", "10.1.0.0/16", "--default-action", "deny", "--sku", "Premium"},
			routes: map[string]string{"POST /subscriptions/" + cliSub + "/providers/Microsoft.KeyVault/checkNameAvailability": `{"nameAvailable":true}`,
				"PUT " + cliKVPath: cliKVJSON},
			want: []vaultRequest{
				{Method: "POST", Path: "/subscriptions/" + cliSub + "/providers/Microsoft.KeyVault/checkNameAvailability", Query: q, Body: `{"name":"kv1","type":"Microsoft.KeyVault/vaults"}`},
				{Method: "PUT", Path: cliKVPath, Query: q, Body: `{"location":"keyhaven","tags":{"a":"b","c":"d"},"properties":{"tenantId":"` + cliTenant +
					`","sku":{"family":"A","name":"premium"},"accessPolicies":[],"softDeleteRetentionInDays":7,"enableRbacAuthorization":true,` +
					`"enablePurgeProtection":true,"networkAcls":{"defaultAction":"Deny","ipRules":[{"value":"10.0.0.1"},{"value":"10.1.0.0/16"}]}}}`}}},
		{name: "update", args: []string{"update", "-n", "kv1", "--enable-rbac-authorization", "true", "--tags", "", "--public-network-access", "disabled"},
			routes: map[string]string{"PATCH " + cliKVPath: cliKVJSON},
			want: []vaultRequest{{Method: "PATCH", Path: cliKVPath, Query: q,
				Body: `{"tags":{},"properties":{"enableRbacAuthorization":true,"publicNetworkAccess":"Disabled"}}`}}},
		{name: "set-policy replaces only the lists given", args: []string{"set-policy", "-n", "kv1", "-g", "rg1", "--object-id", strings.ToUpper(cliOID),
			"--secret-permissions", "get", "set", "--certificate-permissions", "list"},
			routes: map[string]string{"PUT " + cliKVPath + "/accessPolicies/replace": `{"properties":{"accessPolicies":[]}}`},
			want: []vaultRequest{{Method: "GET", Path: cliKVPath, Query: q},
				{Method: "PUT", Path: cliKVPath + "/accessPolicies/replace", Query: q, Body: `{"properties":{"accessPolicies":[{"tenantId":"` + cliTenant +
					`","objectId":"` + cliOID + `","permissions":{"keys":["get"],"secrets":["get","set"],"certificates":["list"]}}]}}`},
				{Method: "GET", Path: cliKVPath, Query: q}}},
		{name: "delete-policy", args: []string{"delete-policy", "-n", "kv1", "-g", "rg1", "--object-id", cliOID},
			routes: map[string]string{"PUT " + cliKVPath + "/accessPolicies/remove": `{"properties":{"accessPolicies":[]}}`},
			want: []vaultRequest{{Method: "GET", Path: cliKVPath, Query: q},
				{Method: "PUT", Path: cliKVPath + "/accessPolicies/remove", Query: q, Body: `{"properties":{"accessPolicies":[{"tenantId":"` + cliTenant +
					`","objectId":"` + cliOID + `","permissions":{}}]}}`},
				{Method: "GET", Path: cliKVPath, Query: q}}},
		{name: "network-rule add skips a rule already there", args: []string{"network-rule", "add", "-n", "kv1", "-g", "rg1", "--ip-address", "10.0.0.1/32", "192.0.2.0/24"},
			routes: map[string]string{"PATCH " + cliKVPath: cliKVJSON},
			want: []vaultRequest{{Method: "GET", Path: cliKVPath, Query: q},
				{Method: "PATCH", Path: cliKVPath, Query: q, Body: `{"properties":{"networkAcls":{"bypass":"AzureServices","defaultAction":"Deny",` +
					`"ipRules":[{"value":"10.0.0.1"},{"value":"192.0.2.0/24"}]}}}`}}},
		{name: "network-rule remove", args: []string{"network-rule", "remove", "-n", "kv1", "-g", "rg1", "--ip-address", "10.0.0.1/32"},
			routes: map[string]string{"PATCH " + cliKVPath: cliKVJSON},
			want: []vaultRequest{{Method: "GET", Path: cliKVPath, Query: q},
				{Method: "PATCH", Path: cliKVPath, Query: q, Body: `{"properties":{"networkAcls":{"bypass":"AzureServices","defaultAction":"Deny","ipRules":[]}}}`}}},
		{name: "delete", args: []string{"delete", "-n", "kv1"}, routes: map[string]string{"DELETE " + cliKVPath: ""},
			want: []vaultRequest{{Method: "DELETE", Path: cliKVPath, Query: q}}},
		{name: "purge", args: []string{"purge", "-n", "kv1"},
			routes: map[string]string{"POST /subscriptions/" + cliSub + "/providers/Microsoft.KeyVault/locations/keyhaven/deletedVaults/kv1/purge": ""},
			want:   []vaultRequest{{Method: "POST", Path: "/subscriptions/" + cliSub + "/providers/Microsoft.KeyVault/locations/keyhaven/deletedVaults/kv1/purge", Query: q}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := useFakeVaults(t)
			for k, body := range tt.routes {
				status := 200
				if body == "" {
					status = 204
				}
				v.route(k, status, body)
			}
			code, _, errOut := runCLI(t, "", append([]string{"vault", "--url", v.srv.URL}, tt.args...)...)
			if code != exitOK {
				t.Fatalf("exit %d: %s", code, errOut)
			}
			var got []vaultRequest
			for _, r := range v.requests() {
				if r.Path == "/subscriptions" || (r.Method == "GET" && strings.HasSuffix(r.Path, "/providers/Microsoft.KeyVault/vaults")) {
					continue
				}
				got = append(got, r)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("requests:\n%+v\nwant:\n%+v", got, tt.want)
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Errorf("request %d:\n%+v\nwant:\n%+v", i, got[i], tt.want[i])
				}
			}
		})
	}
}

// show prints the resource with its resource group; list prints az's
// short form; network-rule list the rules.
func TestVaultCommandOutput(t *testing.T) {
	v := useFakeVaults(t)
	code, out, errOut := runCLI(t, "", "vault", "--url", v.srv.URL, "show", "-n", "kv1", "--query", "[resourceGroup, properties.softDeleteRetentionInDays]", "-o", "tsv")
	if code != exitOK || strings.Join(strings.Fields(out), " ") != "rg1 7" {
		t.Fatalf("show: %d %q %s", code, out, errOut)
	}
	code, out, _ = runCLI(t, "", "vault", "--url", v.srv.URL, "list")
	if code != exitOK {
		t.Fatal(out)
	}
	wantJSON(t, out, `[{"id":"`+cliKVPath+`","name":"kv1","type":"Microsoft.KeyVault/vaults","location":"keyhaven","resourceGroup":"rg1","tags":{"a":"b"}}]`)
	code, out, _ = runCLI(t, "", "vault", "--url", v.srv.URL, "network-rule", "list", "-n", "kv1")
	if code != exitOK {
		t.Fatal(out)
	}
	wantJSON(t, out, `{"ipRules":[{"value":"10.0.0.1"}],"virtualNetworkRules":[]}`)
}

// Command-line mistakes exit 2 before any request; a server refusal exits 1.
func TestVaultCommandErrors(t *testing.T) {
	v := useFakeVaults(t)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"create"}, "--name is required"},
		{[]string{"create", "-n", "a_b"}, "invalid --name"},
		{[]string{"create", "-n", "kv2", "--retention-days", "6"}, "between 7 and 90"},
		{[]string{"create", "-n", "kv2", "--sku", "gold"}, "invalid --sku"},
		{[]string{"create", "-n", "kv2", "--default-action", "maybe"}, "invalid --default-action"},
		{[]string{"create", "-n", "kv2", "--network-acls-ips", "10.0.0.300"}, "invalid IP"},
		{[]string{"create", "-n", "kv2", "--enable-purge-protection", "maybe"}, "must be true or false"},
		{[]string{"update", "-n", "kv1"}, "nothing to update"},
		{[]string{"set-policy", "-n", "kv1", "--secret-permissions", "get"}, "exactly one of"},
		{[]string{"set-policy", "-n", "kv1", "--object-id", "bob", "--secret-permissions", "get"}, "want a GUID"},
		{[]string{"set-policy", "-n", "kv1", "--object-id", cliOID}, "at least one"},
		{[]string{"network-rule", "add", "-n", "kv1"}, "--ip-address is required"},
		{[]string{"show", "-n", "kv1", "stray"}, "unexpected argument"},
		{[]string{"show", "-n", "kv1", "--subscription", "x"}, "invalid --subscription"},
	} {
		code, out, errOut := runCLI(t, "", append([]string{"vault", "--url", v.srv.URL}, tc.args...)...)
		if code != exitUsage || out != "" || !strings.Contains(errOut, tc.want) {
			t.Errorf("%v: exit %d, stderr %q, want %q", tc.args, code, errOut, tc.want)
		}
	}
	if n := len(v.requests()); n != 0 {
		t.Fatalf("usage errors sent %d requests", n)
	}
	v.routes["PUT "+cliKVPath+"/accessPolicies/replace"] = func(*http.Request) (int, string) {
		return 400, `{"error":{"code":"BadRequest","message":"'fly' is not a secrets permission."}}`
	}
	code, out, errOut := runCLI(t, "", "vault", "--url", v.srv.URL, "set-policy", "-n", "kv1", "--object-id", cliOID, "--secret-permissions", "fly")
	if code != exitError || out != "" || !strings.Contains(errOut, "BadRequest (400)") {
		t.Fatalf("server refusal: %d %q %s", code, out, errOut)
	}
	code, _, errOut = runCLI(t, "", "vault", "--url", v.srv.URL, "show", "-n", "nothere")
	if code != exitError || !strings.Contains(errOut, "ResourceNotFound") {
		t.Fatalf("a vault that is not there: %d %s", code, errOut)
	}
}
