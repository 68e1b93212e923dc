package authz

// Built-in role ids, as in Azure.
const (
	KeyVaultAdministrator           = "00482a5a-887f-4fb3-b363-3b7fe8e74483"
	KeyVaultReader                  = "21090545-7ca7-4776-b22c-e363652d74d2"
	KeyVaultCertificatesOfficer     = "a4417e6f-fecd-4de8-b567-7b0420556985"
	KeyVaultCertificateUser         = "db79e9a7-68ee-4b58-9aeb-b90e7c24fcba"
	KeyVaultCryptoOfficer           = "14b46e9e-c2b7-41b4-b07b-48a6ebf60603"
	KeyVaultCryptoUser              = "12338af0-0e69-4776-bea7-57ae8d297424"
	KeyVaultCryptoServiceEncryption = "e147488a-f6f5-4113-8e2d-b22465e65bf6"
	KeyVaultCryptoServiceRelease    = "08bbd89e-9f13-488c-ac41-acfcb10c90ab"
	KeyVaultSecretsOfficer          = "b86a8fe4-44ce-4948-aee5-eccb2c155cd7"
	KeyVaultSecretsUser             = "4633458b-17de-408a-b874-0445c86b69e6"
	KeyVaultDataAccessAdministrator = "8b54135c-b56d-4d72-a534-26097cfdc8d8"
	// Owner manages everything on the management plane (principals,
	// vaults, role assignments); it grants no data access by itself.
	Owner = "8e3af657-a8ff-443c-a75c-2fe8c4bcb635"
	// Contributor manages everything but access (role assignments).
	Contributor = "b24988ac-6180-42a0-ab88-20f7382dd24c"
	// Reader reads every management resource.
	Reader = "acdd72a7-3385-48ef-bd42-f606fba81ae7"
	// KeyVaultContributor manages vaults (and their access policies) but
	// cannot purge deleted vaults nor assign roles.
	KeyVaultContributor = "f25e0fa2-a7c8-4377-a976-54943a77a395"
)

// directoryActions are keyhaven's own management actions on its directory
// (applications, users, groups, managed identities, trusted issuers),
// which stand where Azure has Entra ID. Azure's ARM roles never reach
// Entra ID, so Contributor and Reader, whose wildcards would otherwise
// cover these actions, exclude them: a Contributor could else add a
// secret to an Owner's application and act as the Owner.
const directoryActions = "Keyhaven/*"

const kv = "Microsoft.KeyVault/vaults/"

// BuiltinRoles are Azure's Key Vault data-plane roles with their exact data
// actions, and the management roles Owner, Contributor, Reader and Key
// Vault Contributor.
func BuiltinRoles() map[string]Role {
	roles := []Role{
		{ID: KeyVaultAdministrator, Name: "Key Vault Administrator", DataActions: []string{kv + "*"}},
		{ID: KeyVaultReader, Name: "Key Vault Reader", DataActions: []string{kv + "*/read", kv + "secrets/readMetadata/action"}},
		{ID: KeyVaultCertificatesOfficer, Name: "Key Vault Certificates Officer", DataActions: []string{
			kv + "certificatecas/*", kv + "certificates/*", kv + "certificatecontacts/write"}},
		{ID: KeyVaultCertificateUser, Name: "Key Vault Certificate User", DataActions: []string{
			kv + "certificates/read", kv + "secrets/getSecret/action", kv + "secrets/readMetadata/action", kv + "keys/read"}},
		{ID: KeyVaultCryptoOfficer, Name: "Key Vault Crypto Officer", DataActions: []string{kv + "keys/*", kv + "keyrotationpolicies/*"}},
		{ID: KeyVaultCryptoUser, Name: "Key Vault Crypto User", DataActions: []string{
			kv + "keys/read", kv + "keys/update/action", kv + "keys/backup/action", kv + "keys/encrypt/action",
			kv + "keys/decrypt/action", kv + "keys/wrap/action", kv + "keys/unwrap/action", kv + "keys/sign/action",
			kv + "keys/verify/action"}},
		{ID: KeyVaultCryptoServiceEncryption, Name: "Key Vault Crypto Service Encryption User", DataActions: []string{
			kv + "keys/read", kv + "keys/wrap/action", kv + "keys/unwrap/action"}},
		{ID: KeyVaultCryptoServiceRelease, Name: "Key Vault Crypto Service Release User", DataActions: []string{kv + "keys/release/action"}},
		{ID: KeyVaultSecretsOfficer, Name: "Key Vault Secrets Officer", DataActions: []string{kv + "secrets/*"}},
		{ID: KeyVaultSecretsUser, Name: "Key Vault Secrets User", DataActions: []string{
			kv + "secrets/getSecret/action", kv + "secrets/readMetadata/action"}},
		{ID: KeyVaultDataAccessAdministrator, Name: "Key Vault Data Access Administrator"},
		{ID: Owner, Name: "Owner", Actions: []string{"*"}},
		// Azure's built-in management roles, with Azure's actions; each
		// wildcard role also excludes keyhaven's directory (see
		// directoryActions).
		{ID: Contributor, Name: "Contributor", Actions: []string{"*"}, NotActions: []string{
			"Microsoft.Authorization/*/Delete", "Microsoft.Authorization/*/Write", "Microsoft.Authorization/elevateAccess/Action",
			"Microsoft.Blueprint/blueprintAssignments/write", "Microsoft.Blueprint/blueprintAssignments/delete",
			"Microsoft.Compute/galleries/share/action", "Microsoft.Purview/consents/write", "Microsoft.Purview/consents/delete",
			"Microsoft.Resources/deploymentStacks/manageDenySetting/action", "Microsoft.Subscription/cancel/action",
			"Microsoft.Subscription/enable/action", directoryActions}},
		{ID: Reader, Name: "Reader", Actions: []string{"*/read"}, NotActions: []string{directoryActions}},
		{ID: KeyVaultContributor, Name: "Key Vault Contributor", Actions: []string{
			"Microsoft.Authorization/*/read", "Microsoft.Insights/alertRules/*", "Microsoft.KeyVault/*",
			"Microsoft.Resources/deployments/*", "Microsoft.Resources/subscriptions/resourceGroups/read", "Microsoft.Support/*"},
			NotActions: []string{"Microsoft.KeyVault/locations/deletedVaults/purge/action", "Microsoft.KeyVault/hsmPools/*",
				"Microsoft.KeyVault/managedHsms/*"}},
	}
	m := make(map[string]Role, len(roles))
	for _, r := range roles {
		m[r.ID] = r
	}
	return m
}
