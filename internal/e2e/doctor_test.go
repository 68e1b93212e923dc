package e2e

import (
	"strings"
	"testing"
	"time"
)

// keyhaven doctor reports a badly configured vault: no purge protection,
// an open network, an expired secret, a key that never rotates and an
// application holding Key Vault Administrator; --fail-on gates CI.
func TestDoctor(t *testing.T) {
	c := startCLI(t, cliGUIDTenant)
	past := time.Now().Add(-time.Hour).UTC().Format("2006-01-02T15:04:05Z")
	soon := time.Now().Add(5 * 24 * time.Hour).UTC().Format("2006-01-02T15:04:05Z")
	c.ok(t, "secret", "set", "-n", "stale", "--value", c.newValue("stale"), "--expires", past, "-o", "none")
	c.ok(t, "secret", "set", "-n", "expiring", "--value", c.newValue("expiring"), "--expires", soon, "-o", "none")
	c.ok(t, "key", "create", "-n", "signer", "--kty", "EC", "-o", "none")

	findings := cliArray(t, c.ok(t, "doctor", "-o", "json"))
	got := map[string]map[string]any{}
	for _, f := range findings {
		key := f["check"].(string) + "/" + strOr(f["vault"]) + "/" + strOr(f["object"])
		got[key] = f
		if f["fix"] == "" || f["message"] == "" {
			t.Errorf("finding without message or fix: %v", f)
		}
	}
	for key, sev := range map[string]string{
		"purge-protection-off/dev/":       "Medium",
		"open-network/dev/":               "Medium",
		"secret-expired/dev/stale":        "High",
		"secret-near-expiry/dev/expiring": "Medium",
		"key-without-rotation/dev/signer": "Low",
		"broad-role-for-application//":    "High", // the dev application holds Key Vault Administrator at /
	} {
		if f, ok := got[key]; !ok || f["severity"] != sev {
			t.Errorf("%s: %v (all: %v)", key, f, findings)
		}
	}
	if _, ok := got["no-audit-sink//"]; ok {
		t.Error("the dev server audits, yet doctor says it does not")
	}
	table := c.ok(t, "doctor", "--vault", "dev")
	if !strings.Contains(table.stdout, "fix: keyhaven") || !strings.Contains(table.stdout, "stale") {
		t.Fatalf("table output: %s", table.stdout)
	}
	res := c.run(t, "doctor", "--fail-on", "high", "-o", "none")
	if res.code != 3 || !strings.Contains(res.stderr, "finding") {
		t.Fatalf("--fail-on high: %s", res)
	}
	c.fails(t, 2, []string{"--fail-on must be"}, "doctor", "--fail-on", "severe")
	// A caller without a management role may not look.
	app := cliObject(t, c.ok(t, "app", "create", "--display-name", "nosy"))
	res = c.call(t, cliCall{args: []string{"doctor"}, env: map[string]string{"AZURE_CLIENT_ID": app["appId"].(string), "AZURE_CLIENT_SECRET": app["password"].(string)}})
	cliWantFailure(t, res, 1, "AuthorizationFailed")
}

func strOr(v any) string {
	s, _ := v.(string)
	return s
}
