package e2e

import (
	"strings"
	"testing"
)

// keyhaven vault, run as a user would with the dev server's exports: the
// lifecycle of a vault, its access policies deciding the data plane for
// another application run through the CLI, firewall rules, and purge
// protection. After each change the tests look at the server themselves.
func TestCLIVault(t *testing.T) {
	cliForEachTenant(t, func(t *testing.T, c *cliEnv) {
		a := newARM(t, c.srv)
		serverVault := func(name string) reply {
			return a.do(a.admin, "GET", a.vaultPath("keyhaven", name)+armVersion, "")
		}

		v := cliObject(t, c.ok(t, "vault", "create", "-n", "clivault", "--retention-days", "7", "--tags", "team=payments", "env=dev",
			"--network-acls-ips", "10.0.0.1", "10.1.0.0/16", "--default-action", "allow"))
		p := props(v)
		if v["resourceGroup"] != "keyhaven" || v["name"] != "clivault" || p["softDeleteRetentionInDays"] != 7.0 || p["enableRbacAuthorization"] != true ||
			toJSON(v["tags"]) != `{"env":"dev","team":"payments"}` || p["networkAcls"].(map[string]any)["defaultAction"] != "Allow" {
			t.Fatalf("create: %v", v)
		}
		if rep := serverVault("clivault"); rep.status != 200 || toJSON(props(rep.body)["networkAcls"].(map[string]any)["ipRules"]) != `[{"value":"10.0.0.1"},{"value":"10.1.0.0/16"}]` {
			t.Fatalf("server after create: %s", rep.text)
		}
		c.fails(t, 1, []string{"not available", "AlreadyExists"}, "vault", "create", "-n", "clivault")
		c.fails(t, 2, []string{"--retention-days"}, "vault", "create", "-n", "other", "--retention-days", "91")
		c.fails(t, 2, []string{"invalid --name"}, "vault", "create", "-n", "a_b")
		if got := strings.Fields(c.ok(t, "vault", "list", "--query", "[].name", "-o", "tsv").stdout); strings.Join(got, ",") != "clivault,dev" {
			t.Fatalf("list: %v", got)
		}
		if got := strings.TrimSpace(c.ok(t, "vault", "show", "-n", "clivault", "--query", "properties.softDeleteRetentionInDays", "-o", "tsv").stdout); got != "7" {
			t.Fatalf("show: %q", got)
		}

		// Access policies: the vault moves to the access-policy model, then an
		// application gets, loses and regains rights through set-policy.
		u := cliObject(t, c.ok(t, "vault", "update", "-n", "clivault", "--enable-rbac-authorization", "false", "--tags", "env=prod"))
		if props(u)["enableRbacAuthorization"] != false || toJSON(u["tags"]) != `{"env":"prod"}` {
			t.Fatalf("update: %v", u)
		}
		c.fails(t, 2, []string{"nothing to update"}, "vault", "update", "-n", "clivault")
		app := cliObject(t, c.ok(t, "app", "create", "--display-name", "cli-vault-worker"))
		appID, objectID, secret := app["appId"].(string), app["objectId"].(string), app["password"].(string)
		asWorker := func(args ...string) cliResult {
			return c.call(t, cliCall{args: args, env: map[string]string{"AZURE_CLIENT_ID": appID, "AZURE_CLIENT_SECRET": secret}})
		}
		value := c.newValue("cli-vault")
		cliWantFailure(t, asWorker("secret", "set", "--vault-name", "clivault", "-n", "s", "--value", value), 1, "Forbidden")
		sp := cliObject(t, c.ok(t, "vault", "set-policy", "-n", "clivault", "--spn", appID, "--secret-permissions", "get", "set", "--key-permissions", "wrapKey"))
		pol := props(sp)["accessPolicies"].([]any)
		if len(pol) != 1 || pol[0].(map[string]any)["objectId"] != objectID {
			t.Fatalf("set-policy: %v", pol)
		}
		if res := asWorker("secret", "set", "--vault-name", "clivault", "-n", "s", "--value", value, "-o", "none"); res.code != 0 {
			t.Fatalf("the policy does not grant set:\n%s", res)
		}
		cliWantFailure(t, asWorker("secret", "list", "--vault-name", "clivault"), 1, "Forbidden")
		// set-policy replaces only the lists it is given.
		sp = cliObject(t, c.ok(t, "vault", "set-policy", "-n", "clivault", "--object-id", objectID, "--secret-permissions", "get"))
		perms := props(sp)["accessPolicies"].([]any)[0].(map[string]any)["permissions"].(map[string]any)
		if toJSON(perms["secrets"]) != `["get"]` || toJSON(perms["keys"]) != `["wrapkey"]` {
			t.Fatalf("set-policy again: %v", perms)
		}
		cliWantFailure(t, asWorker("secret", "set", "--vault-name", "clivault", "-n", "s", "--value", value), 1, "Forbidden")
		if got := strings.TrimSpace(asWorker("secret", "show", "--vault-name", "clivault", "-n", "s", "--query", "value", "-o", "tsv").stdout); got != value {
			t.Fatalf("get through the policy: %q", got)
		}
		c.fails(t, 1, []string{"BadRequest", "fly"}, "vault", "set-policy", "-n", "clivault", "--object-id", objectID, "--secret-permissions", "fly")
		c.fails(t, 2, []string{"at least one"}, "vault", "set-policy", "-n", "clivault", "--object-id", objectID)
		c.fails(t, 2, []string{"exactly one"}, "vault", "set-policy", "-n", "clivault", "--secret-permissions", "get")
		dp := cliObject(t, c.ok(t, "vault", "delete-policy", "-n", "clivault", "--object-id", objectID))
		if len(props(dp)["accessPolicies"].([]any)) != 0 || len(props(serverVault("clivault").body)["accessPolicies"].([]any)) != 0 {
			t.Fatalf("delete-policy: %v", dp)
		}
		cliWantFailure(t, asWorker("secret", "show", "--vault-name", "clivault", "-n", "s"), 1, "Forbidden")

		// Firewall rules.
		c.ok(t, "vault", "network-rule", "add", "-n", "clivault", "--ip-address", "192.0.2.7", "10.0.0.1/32", "-o", "none")
		rules := cliObject(t, c.ok(t, "vault", "network-rule", "list", "-n", "clivault"))
		if toJSON(rules["ipRules"]) != `[{"value":"10.0.0.1"},{"value":"10.1.0.0/16"},{"value":"192.0.2.7"}]` {
			t.Fatalf("network-rule add: %v", rules)
		}
		c.ok(t, "vault", "network-rule", "remove", "-n", "clivault", "--ip-address", "10.0.0.1", "10.1.0.0/16", "-o", "none")
		acl := props(serverVault("clivault").body)["networkAcls"].(map[string]any)
		if toJSON(acl["ipRules"]) != `[{"value":"192.0.2.7"}]` || acl["defaultAction"] != "Allow" {
			t.Fatalf("network-rule remove: %v", acl)
		}
		c.fails(t, 2, []string{"invalid IP"}, "vault", "network-rule", "add", "-n", "clivault", "--ip-address", "10.0.0.300")
		// The rules decide the data plane: denied by default, then allowed by rule.
		c.ok(t, "vault", "update", "-n", "clivault", "--default-action", "Deny", "--enable-rbac-authorization", "true", "-o", "none")
		if rep := a.data(a.admin, "clivault", "GET", "/secrets?api-version=7.6", ""); rep.status != 403 {
			t.Fatalf("default action Deny: %d %s", rep.status, rep.text)
		}
		c.ok(t, "vault", "network-rule", "add", "-n", "clivault", "--ip-address", "127.0.0.1", "-o", "none")
		if rep := a.data(a.admin, "clivault", "GET", "/secrets?api-version=7.6", ""); rep.status != 200 {
			t.Fatalf("allowed by rule: %d %s", rep.status, rep.text)
		}
		c.ok(t, "vault", "update", "-n", "clivault", "--enable-rbac-authorization", "false", "-o", "none")

		// Delete, recover (the data comes back), delete, purge.
		c.ok(t, "vault", "delete", "-n", "clivault")
		c.fails(t, 1, []string{"ResourceNotFound"}, "vault", "delete", "-n", "clivault", "-g", "keyhaven")
		c.fails(t, 1, []string{"ResourceNotFound"}, "vault", "delete", "-n", "clivault")
		deleted := cliArray(t, c.ok(t, "vault", "list-deleted"))
		if len(deleted) != 1 || deleted[0]["name"] != "clivault" {
			t.Fatalf("list-deleted: %v", deleted)
		}
		c.fails(t, 1, []string{"ResourceNotFound"}, "vault", "show", "-n", "clivault")
		if r := cliObject(t, c.ok(t, "vault", "recover", "-n", "clivault")); r["name"] != "clivault" || props(r)["enableRbacAuthorization"] != false {
			t.Fatalf("recover: %v", r)
		}
		if rep := a.data(a.admin, "clivault", "GET", "/deletedsecrets?api-version=7.6", ""); rep.status != 403 {
			t.Fatalf("the recovered vault lost its access-policy model: %d", rep.status)
		}
		c.ok(t, "vault", "delete", "-n", "clivault")
		c.ok(t, "vault", "purge", "-n", "clivault")
		if len(cliArray(t, c.ok(t, "vault", "list-deleted"))) != 0 {
			t.Fatal("purge left the vault")
		}

		// Purge protection: refused for the Owner too.
		c.ok(t, "vault", "create", "-n", "cliguarded", "--enable-purge-protection", "true", "-o", "none")
		c.fails(t, 1, []string{"BadRequest", "Purge protection"}, "vault", "update", "-n", "cliguarded", "--enable-purge-protection", "false")
		c.ok(t, "vault", "delete", "-n", "cliguarded")
		c.fails(t, 1, []string{"VaultPurgeProtected"}, "vault", "purge", "-n", "cliguarded")
		if rep := a.do(a.admin, "GET", a.providerPath("locations/keyhaven/deletedVaults/cliguarded")+armVersion, ""); rep.status != 200 {
			t.Fatalf("a refused purge removed the vault: %s", rep.text)
		}
	})
}
