package authz

import "testing"

// The management roles decide the vault management actions as Azure's do:
// Reader reads, Contributor does everything but access, Key Vault
// Contributor manages vaults and their access policies but never purges,
// and neither wildcard role reaches keyhaven's directory.
func TestManagementRoles(t *testing.T) {
	const (
		vaultsRead   = "Microsoft.KeyVault/vaults/read"
		vaultsWrite  = "Microsoft.KeyVault/vaults/write"
		vaultsDelete = "Microsoft.KeyVault/vaults/delete"
		policies     = "Microsoft.KeyVault/vaults/accessPolicies/write"
		deletedRead  = "Microsoft.KeyVault/deletedVaults/read"
		locDeleted   = "Microsoft.KeyVault/locations/deletedVaults/read"
		purge        = "Microsoft.KeyVault/locations/deletedVaults/purge/action"
		nameCheck    = "Microsoft.KeyVault/checkNameAvailability/read"
		assign       = "Microsoft.Authorization/roleAssignments/write"
		assignRead   = "Microsoft.Authorization/roleAssignments/read"
		appSecret    = "Keyhaven/identity/applications/credentials/write"
		usersRead    = "Keyhaven/identity/users/read"
	)
	roles := BuiltinRoles()
	cases := []struct {
		role    string
		allowed []string
		denied  []string
	}{
		{role: Owner, allowed: []string{vaultsRead, vaultsWrite, vaultsDelete, policies, deletedRead, locDeleted, purge, nameCheck, assign, appSecret}},
		{role: Contributor, allowed: []string{vaultsRead, vaultsWrite, vaultsDelete, policies, deletedRead, locDeleted, purge, nameCheck, assignRead},
			denied: []string{assign, "Microsoft.Authorization/roleAssignments/delete", appSecret, usersRead}},
		{role: Reader, allowed: []string{vaultsRead, deletedRead, locDeleted, nameCheck, assignRead},
			denied: []string{vaultsWrite, vaultsDelete, policies, purge, assign, usersRead, appSecret}},
		{role: KeyVaultContributor, allowed: []string{vaultsRead, vaultsWrite, vaultsDelete, policies, deletedRead, locDeleted, nameCheck, assignRead},
			denied: []string{purge, assign, "Microsoft.KeyVault/managedHsms/write", appSecret}},
		// The data-plane roles grant no management action.
		{role: KeyVaultAdministrator, denied: []string{vaultsRead, vaultsWrite, policies, purge}},
	}
	for _, c := range cases {
		r, ok := roles[c.role]
		if !ok {
			t.Fatalf("role %s missing", c.role)
		}
		for _, a := range c.allowed {
			if !r.PermitsManagement(a) {
				t.Errorf("%s: %s denied", r.Name, a)
			}
		}
		for _, a := range c.denied {
			if r.PermitsManagement(a) {
				t.Errorf("%s: %s allowed", r.Name, a)
			}
		}
		if len(r.DataActions) > 0 && c.role != KeyVaultAdministrator {
			t.Errorf("%s grants data actions %v", r.Name, r.DataActions)
		}
	}
	for id, name := range map[string]string{Contributor: "Contributor", Reader: "Reader", KeyVaultContributor: "Key Vault Contributor"} {
		if roles[id].Name != name || roles[id].ID != id {
			t.Errorf("%s: %+v", id, roles[id])
		}
	}
}

// A Key Vault Contributor assigned at one vault manages that vault only.
func TestManagementScope(t *testing.T) {
	p := &Policy{Roles: BuiltinRoles(), Assignments: []Assignment{
		{ID: "kvc", PrincipalID: "KVC", RoleID: KeyVaultContributor, Scope: "/vaults/payments"},
	}}
	ask := func(scope string) bool {
		return p.Decide(Request{PrincipalIDs: []string{"kvc"}, Action: "Microsoft.KeyVault/vaults/write", Scope: scope, Management: true}).Allowed
	}
	if !ask("/vaults/payments") || ask("/vaults/other") || ask("/") {
		t.Fatal("a vault-scoped Key Vault Contributor reaches beyond its vault")
	}
	if p.Decide(Request{PrincipalIDs: []string{"kvc"}, Action: "Microsoft.KeyVault/vaults/write", Scope: "/vaults/payments"}).Allowed {
		t.Fatal("a management role granted a data-plane request")
	}
}
