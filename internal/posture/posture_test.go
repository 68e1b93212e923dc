package posture

import (
	"testing"
	"time"

	"github.com/keyhaven/keyhaven/internal/authz"
	"github.com/keyhaven/keyhaven/internal/vaults"
)

func checks(fs []Finding) map[string]Finding {
	m := map[string]Finding{}
	for _, f := range fs {
		m[f.Check+"/"+f.Vault+"/"+f.Object] = f
	}
	return m
}

func TestBadlyConfiguredVault(t *testing.T) {
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	bad := &vaults.Vault{Name: "legacy", SoftDeleteRetentionDays: 90}
	bad.Settings.NetworkACLs.DefaultAction, bad.PublicNetworkAccess = "Allow", "Enabled"
	good := &vaults.Vault{Name: "tight", RBACAuthorization: true, PurgeProtection: true}
	good.Settings.NetworkACLs.DefaultAction, good.PublicNetworkAccess = "Deny", "Enabled"
	roles := authz.BuiltinRoles()
	roles["contrib"] = authz.Role{ID: "contrib", Name: "Key Vault Contributor", Actions: []string{"Microsoft.KeyVault/*"}}
	in := Input{Now: now, NearExpiry: 30 * 24 * time.Hour, AuditSinks: 0, Roles: roles,
		Vaults: []Vault{
			{Vault: bad, Objects: []Object{
				{Kind: "secret", Name: "old", Enabled: true, Expires: now.Add(-time.Hour).Unix()},
				{Kind: "secret", Name: "soon", Enabled: true, Expires: now.Add(10 * 24 * time.Hour).Unix()},
				{Kind: "secret", Name: "fine", Enabled: true, Expires: now.Add(100 * 24 * time.Hour).Unix()},
				{Kind: "secret", Name: "cert-backed", Enabled: true, Managed: true, Expires: now.Add(-time.Hour).Unix()},
				{Kind: "key", Name: "manual", Enabled: true},
				{Kind: "key", Name: "rotating", Enabled: true, AutoRotates: true},
				{Kind: "certificate", Name: "tls", Enabled: true, Expires: now.Add(24 * time.Hour).Unix()},
			}},
			{Vault: good},
		},
		Assignments: []authz.Assignment{
			{ID: "a1", PrincipalID: "app-1", RoleID: authz.KeyVaultAdministrator, Scope: "/vaults/tight"},
			{ID: "a2", PrincipalID: "user-1", RoleID: authz.KeyVaultAdministrator, Scope: "/"},
			{ID: "a3", PrincipalID: "dev-1", RoleID: "contrib", Scope: "/"},
			{ID: "a4", PrincipalID: "app-2", RoleID: authz.KeyVaultSecretsUser, Scope: "/vaults/tight/secrets/db"},
			{ID: "a5", PrincipalID: "mi-1", RoleID: authz.KeyVaultAdministrator, Scope: "/", Eligible: true},
		},
		Kinds: map[string]string{"app-1": "Application", "user-1": "User", "dev-1": "User", "app-2": "Application", "mi-1": "ManagedIdentity"},
	}
	got := checks(Check(in))
	want := map[string]string{
		"no-audit-sink//":                           High,
		"access-policy-model/legacy/":               Medium,
		"purge-protection-off/legacy/":              Medium,
		"open-network/legacy/":                      Medium,
		"secret-expired/legacy/old":                 High,
		"secret-near-expiry/legacy/soon":            Medium,
		"certificate-near-expiry/legacy/tls":        Medium,
		"key-without-rotation/legacy/manual":        Low,
		"broad-role-for-application/tight/":         High,
		"contributor-can-grant-data-access/legacy/": High,
	}
	for k, sev := range want {
		f, ok := got[k]
		if !ok {
			t.Errorf("missing finding %s", k)
			continue
		}
		if f.Severity != sev || f.Fix == "" || f.Message == "" {
			t.Errorf("%s: %+v", k, f)
		}
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			t.Errorf("unexpected finding %s: %+v", k, got[k])
		}
	}
	all := Check(in)
	for i := 1; i < len(all); i++ {
		if severityRank[all[i-1].Severity] > severityRank[all[i].Severity] {
			t.Fatalf("not ordered by severity: %v then %v", all[i-1], all[i])
		}
	}

	// A well-run server: nothing to say.
	in.AuditSinks, in.Vaults, in.Assignments = 1, []Vault{{Vault: good}}, in.Assignments[3:4]
	if fs := Check(in); len(fs) != 0 {
		t.Fatalf("findings on a tight server: %+v", fs)
	}
}
