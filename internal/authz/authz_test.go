package authz

import (
	"testing"
	"time"
)

func TestMatch(t *testing.T) {
	cases := []struct {
		pattern, action string
		want            bool
	}{
		{pattern: "Microsoft.KeyVault/vaults/*", action: "Microsoft.KeyVault/vaults/secrets/getSecret/action", want: true},
		{pattern: "Microsoft.KeyVault/vaults/*/read", action: "Microsoft.KeyVault/vaults/keys/read", want: true},
		{pattern: "Microsoft.KeyVault/vaults/*/read", action: "Microsoft.KeyVault/vaults/secrets/getSecret/action", want: false},
		{pattern: "Microsoft.KeyVault/vaults/secrets/*", action: "microsoft.keyvault/vaults/SECRETS/delete", want: true},
		{pattern: "Microsoft.KeyVault/vaults/secrets/*", action: "Microsoft.KeyVault/vaults/keys/read", want: false},
		{pattern: "Microsoft.KeyVault/vaults/keys/read", action: "Microsoft.KeyVault/vaults/keys/read", want: true},
		{pattern: "Microsoft.KeyVault/vaults/keys/read", action: "Microsoft.KeyVault/vaults/keys/readx", want: false},
		{pattern: "*", action: "anything", want: true},
		{pattern: "a*b*c", action: "aXXbYYc", want: true},
		{pattern: "a*b*c", action: "aXXbYY", want: false},
	}
	for _, c := range cases {
		if got := Match(c.pattern, c.action); got != c.want {
			t.Errorf("Match(%q, %q) = %v", c.pattern, c.action, got)
		}
	}
}

const (
	getSecret = "Microsoft.KeyVault/vaults/secrets/getSecret/action"
	setSecret = "Microsoft.KeyVault/vaults/secrets/setSecret/action"
	listMeta  = "Microsoft.KeyVault/vaults/secrets/readMetadata/action"
	keysRead  = "Microsoft.KeyVault/vaults/keys/read"
)

func TestDecide(t *testing.T) {
	p := &Policy{Roles: BuiltinRoles(), Assignments: []Assignment{
		{ID: "admin", PrincipalID: "ADMIN", RoleID: KeyVaultAdministrator, Scope: "/"},
		{ID: "user-v1", PrincipalID: "user", RoleID: KeyVaultSecretsUser, Scope: "/vaults/v1"},
		{ID: "one", PrincipalID: "narrow", RoleID: KeyVaultSecretsUser, Scope: "/vaults/v1/secrets/db"},
		{ID: "reader", PrincipalID: "reader", RoleID: KeyVaultReader, Scope: "/vaults/v1"},
		{ID: "grp", PrincipalID: "group-1", RoleID: KeyVaultSecretsOfficer, Scope: "/vaults/v2"},
		{ID: "dangling", PrincipalID: "ghost", RoleID: "no-such-role", Scope: "/"},
		{ID: "daa", PrincipalID: "daa", RoleID: KeyVaultDataAccessAdministrator, Scope: "/"},
	}}
	cases := []struct {
		name       string
		principals []string
		action     string
		scope      string
		want       bool
	}{
		{name: "admin anywhere", principals: []string{"admin"}, action: setSecret, scope: "/vaults/any/secrets/x", want: true},
		{name: "secrets user reads a value", principals: []string{"user"}, action: getSecret, scope: "/vaults/v1/secrets/x", want: true},
		{name: "secrets user cannot set", principals: []string{"user"}, action: setSecret, scope: "/vaults/v1/secrets/x"},
		{name: "secrets user, other vault", principals: []string{"user"}, action: getSecret, scope: "/vaults/v2/secrets/x"},
		{name: "scope prefix is per segment", principals: []string{"user"}, action: getSecret, scope: "/vaults/v10/secrets/x"},
		{name: "object scope covers the object", principals: []string{"narrow"}, action: getSecret, scope: "/vaults/v1/secrets/db", want: true},
		{name: "object scope, other object", principals: []string{"narrow"}, action: getSecret, scope: "/vaults/v1/secrets/db2"},
		{name: "object scope does not allow listing", principals: []string{"narrow"}, action: listMeta, scope: "/vaults/v1"},
		{name: "reader lists but cannot read values", principals: []string{"reader"}, action: getSecret, scope: "/vaults/v1/secrets/x"},
		{name: "reader reads metadata", principals: []string{"reader"}, action: listMeta, scope: "/vaults/v1", want: true},
		{name: "reader reads keys", principals: []string{"reader"}, action: keysRead, scope: "/vaults/v1/keys/k", want: true},
		{name: "group membership", principals: []string{"someone", "group-1"}, action: setSecret, scope: "/vaults/v2/secrets/x", want: true},
		{name: "unknown role grants nothing", principals: []string{"ghost"}, action: getSecret, scope: "/vaults/v1"},
		{name: "data access administrator has no data actions", principals: []string{"daa"}, action: getSecret, scope: "/vaults/v1/secrets/x"},
		{name: "nobody", principals: nil, action: getSecret, scope: "/vaults/v1"},
		{name: "empty action", principals: []string{"user"}, action: "", scope: "/vaults/v1"},
	}
	for _, c := range cases {
		d := p.Decide(Request{PrincipalIDs: c.principals, Action: c.action, Scope: c.scope})
		if d.Allowed != c.want {
			t.Errorf("%s: allowed=%v", c.name, d.Allowed)
		}
	}
}

func TestNotDataActions(t *testing.T) {
	r := Role{DataActions: []string{"Microsoft.KeyVault/vaults/secrets/*"}, NotDataActions: []string{"Microsoft.KeyVault/vaults/secrets/purge/action"}}
	if !r.Permits(getSecret) || r.Permits("Microsoft.KeyVault/vaults/secrets/purge/action") {
		t.Fatal("NotDataActions must subtract")
	}
}

func TestTimeBoundAndEligibleAssignments(t *testing.T) {
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	p := &Policy{Roles: BuiltinRoles(), Assignments: []Assignment{
		{ID: "window", PrincipalID: "a", RoleID: KeyVaultSecretsUser, Scope: "/", StartsOn: now.Add(-time.Hour), ExpiresOn: now.Add(time.Hour)},
		{ID: "eligible", PrincipalID: "b", RoleID: KeyVaultSecretsUser, Scope: "/", Eligible: true},
	}}
	req := func(who string, at time.Time) bool {
		return p.Decide(Request{PrincipalIDs: []string{who}, Action: "Microsoft.KeyVault/vaults/secrets/getSecret/action", Scope: "/vaults/v", Now: at}).Allowed
	}
	for _, c := range []struct {
		who  string
		at   time.Time
		want bool
	}{
		{"a", now, true},
		{"a", now.Add(-2 * time.Hour), false},
		{"a", now.Add(time.Hour), false}, // the end is exclusive
		{"a", time.Time{}, false},        // no clock: time-bound grants fail closed
		{"b", now, false},                // an eligibility grants nothing
	} {
		if got := req(c.who, c.at); got != c.want {
			t.Errorf("%s at %v: %v, want %v", c.who, c.at, got, c.want)
		}
	}
	a := p.Assignments[0]
	for at, want := range map[time.Time]string{now: "Active", now.Add(-2 * time.Hour): "Scheduled", now.Add(2 * time.Hour): "Expired"} {
		if got := a.Status(at); got != want {
			t.Errorf("status at %v: %s, want %s", at, got, want)
		}
	}
}

func TestAssignmentsRequiringMFA(t *testing.T) {
	p := &Policy{Roles: BuiltinRoles(), Assignments: []Assignment{
		{ID: "m", PrincipalID: "a", RoleID: KeyVaultSecretsUser, Scope: "/", RequireMFA: true},
	}}
	for _, c := range []struct {
		user, mfa, want bool
	}{{user: true, mfa: true, want: true}, {user: true, mfa: false, want: false}, {user: false, want: true}} {
		got := p.Decide(Request{PrincipalIDs: []string{"a"}, Action: "Microsoft.KeyVault/vaults/secrets/getSecret/action", Scope: "/vaults/v",
			User: c.user, MFA: c.mfa}).Allowed
		if got != c.want {
			t.Errorf("user %v, mfa %v: %v, want %v", c.user, c.mfa, got, c.want)
		}
	}
}

// An assignment bound to an identity source applies to that source's
// callers only: an external issuer cannot claim a local principal's
// grants or another issuer's.
func TestAssignmentsBoundToTheirIssuer(t *testing.T) {
	p := &Policy{Roles: BuiltinRoles(), Assignments: []Assignment{
		{ID: "local", PrincipalID: "x", RoleID: KeyVaultSecretsUser, Scope: "/"},
		{ID: "ext", PrincipalID: "y", RoleID: KeyVaultSecretsUser, Scope: "/", Issuer: "https://idp-a.example"},
	}}
	for _, c := range []struct {
		id, issuer string
		want       bool
	}{
		{"x", "", true}, {"x", "https://idp-a.example", false},
		{"y", "https://IDP-A.example", true}, {"y", "https://idp-b.example", false}, {"y", "", false},
	} {
		got := p.Decide(Request{PrincipalIDs: []string{c.id}, Action: "Microsoft.KeyVault/vaults/secrets/getSecret/action", Scope: "/vaults/v", Issuer: c.issuer}).Allowed
		if got != c.want {
			t.Errorf("%s from %q: %v, want %v", c.id, c.issuer, got, c.want)
		}
	}
}

// An activation of a group's eligibility counts only while the caller is a
// member of the group.
func TestGroupActivationNeedsTheGroup(t *testing.T) {
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	p := &Policy{Roles: BuiltinRoles(), Assignments: []Assignment{
		{ID: "eligible", PrincipalID: "g", RoleID: KeyVaultSecretsUser, Scope: "/", Eligible: true},
		{ID: "act", PrincipalID: "u", RoleID: KeyVaultSecretsUser, Scope: "/", StartsOn: now.Add(-time.Minute), ExpiresOn: now.Add(time.Hour),
			ActivatedFrom: "eligible", Via: "g"},
	}}
	allowed := func(ids ...string) bool {
		return p.Decide(Request{PrincipalIDs: ids, Action: "Microsoft.KeyVault/vaults/secrets/getSecret/action", Scope: "/vaults/v", Now: now}).Allowed
	}
	if !allowed("u", "g") {
		t.Fatal("a member's activation does not grant")
	}
	if allowed("u") || allowed("u", "other") {
		t.Fatal("the activation outlived the membership")
	}
}
