package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// keyhaven role definition create/delete and role assignment create with a
// time window or as an eligibility, then activated by the principal
// itself with a justification.
func TestCLIRolesTimeBoundAndPIM(t *testing.T) {
	c := startCLI(t, cliGUIDTenant)
	value := c.newValue("pim")
	c.ok(t, "secret", "set", "-n", "pim-secret", "--value", value, "-o", "none")
	app := cliObject(t, c.ok(t, "app", "create", "--display-name", "on-call"))
	appID, objectID, secret := app["appId"].(string), app["objectId"].(string), app["password"].(string)
	asApp := func(args ...string) cliResult {
		return c.call(t, cliCall{args: args, env: map[string]string{"AZURE_CLIENT_ID": appID, "AZURE_CLIENT_SECRET": secret}})
	}

	def := filepath.Join(c.dir, "role.json")
	os.WriteFile(def, []byte(`{"Name": "Secret Reader Lite", "Description": "reads one secret",
		"DataActions": ["Microsoft.KeyVault/vaults/secrets/getSecret/action"]}`), 0o600)
	role := cliObject(t, c.ok(t, "role", "definition", "create", "--role-definition", "@"+def))
	if role["roleName"] != "Secret Reader Lite" || role["roleType"] != "CustomRole" {
		t.Fatalf("custom role: %v", role)
	}
	end := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	a := cliObject(t, c.ok(t, "role", "assignment", "create", "--assignee", objectID, "--role", "Secret Reader Lite",
		"--scope", "/vaults/dev/secrets/pim-secret", "--end-time", end))
	if a["status"] != "Active" || a["expiresOn"] == nil {
		t.Fatalf("time-bound assignment: %v", a)
	}
	if got := strings.TrimSpace(asApp("secret", "show", "-n", "pim-secret", "--query", "value", "-o", "tsv").stdout); got != value {
		t.Fatalf("read through the custom role: %q", got)
	}
	c.fails(t, 1, []string{"RoleDefinitionHasAssignments"}, "role", "definition", "delete", "--name", "Secret Reader Lite")
	c.ok(t, "role", "assignment", "delete", "--ids", a["id"].(string))
	c.ok(t, "role", "definition", "delete", "--name", "Secret Reader Lite")
	cliWantFailure(t, asApp("secret", "show", "-n", "pim-secret"), 1, "Forbidden")

	e := cliObject(t, c.ok(t, "role", "assignment", "create", "--assignee", objectID, "--role", "Key Vault Secrets User",
		"--scope", "/vaults/dev", "--eligible", "--max-activation", "30m"))
	if e["status"] != "Eligible" || e["maxActivation"] != "30m0s" {
		t.Fatalf("eligible assignment: %v", e)
	}
	cliWantFailure(t, asApp("secret", "show", "-n", "pim-secret"), 1, "Forbidden")
	cliWantFailure(t, asApp("role", "assignment", "activate", "--id", e["id"].(string), "--justification", "INC-1", "--duration", "2h"), 1, "maxActivationMinutes")
	act := cliObject(t, asApp("role", "assignment", "activate", "--id", e["id"].(string), "--justification", "INC-1 database rotation", "--duration", "15m"))
	if act["status"] != "Active" || act["justification"] != "INC-1 database rotation" || act["activatedFrom"] != e["id"] {
		t.Fatalf("activation: %v", act)
	}
	if got := strings.TrimSpace(asApp("secret", "show", "-n", "pim-secret", "--query", "value", "-o", "tsv").stdout); got != value {
		t.Fatalf("read after activation: %q", got)
	}
	c.fails(t, 2, []string{"--max-activation needs --eligible"}, "role", "assignment", "create", "--assignee", objectID,
		"--role", "Key Vault Secrets User", "--scope", "/", "--max-activation", "1h")
	c.fails(t, 2, []string{"--end-time must be an RFC 3339 time"}, "role", "assignment", "create", "--assignee", objectID,
		"--role", "Key Vault Secrets User", "--scope", "/", "--end-time", "tomorrow")
}
