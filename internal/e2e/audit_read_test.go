package e2e

import (
	"encoding/json"
	"strings"
	"testing"
)

// The audit log is readable over HTTPS by a management role, with the
// CLI's filters, and every read leaves a record of its own.
func TestAuditLogReadsAreAudited(t *testing.T) {
	c := startCLI(t, cliGUIDTenant)
	c.ok(t, "secret", "set", "-n", "watched", "--value", c.newValue("watched"), "-o", "none")
	c.ok(t, "secret", "show", "-n", "watched", "-o", "none")
	c.run(t, "secret", "show", "-n", "absent")

	lines := strings.Split(strings.TrimSpace(c.ok(t, "audit", "query", "--operation", "GetSecret", "--object", "/secrets/watched", "--result", "Success").stdout), "\n")
	if len(lines) != 1 {
		t.Fatalf("GetSecret records of watched: %v", lines)
	}
	var rec map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &rec); err != nil || rec["operationName"] != "GetSecret" || rec["resultType"] != "Success" {
		t.Fatalf("record: %v %v", rec, err)
	}
	failures := c.ok(t, "audit", "query", "--result", "404", "-o", "table").stdout
	if !strings.Contains(failures, "GetSecret") || !strings.Contains(failures, "/secrets/absent") {
		t.Fatalf("404 records: %s", failures)
	}
	// The reads themselves are in the log.
	reads := strings.TrimSpace(c.ok(t, "audit", "query", "--operation", "QueryAuditLog").stdout)
	if n := len(strings.Split(reads, "\n")); n < 2 || !strings.Contains(reads, "operation=GetSecret") {
		t.Fatalf("the audit reads are not audited: %s", reads)
	}
	c.fails(t, 2, []string{"--top must be between"}, "audit", "query", "--top", "0")
	// Reading the log needs a management role.
	app := cliObject(t, c.ok(t, "app", "create", "--display-name", "curious"))
	res := c.call(t, cliCall{args: []string{"audit", "query"}, env: map[string]string{"AZURE_CLIENT_ID": app["appId"].(string), "AZURE_CLIENT_SECRET": app["password"].(string)}})
	cliWantFailure(t, res, 1, "AuthorizationFailed")
	denied := c.ok(t, "audit", "query", "--operation", "QueryAuditLog", "--result", "403").stdout
	if !strings.Contains(denied, app["objectId"].(string)) {
		t.Fatalf("the refused read is not audited: %s", denied)
	}
}
