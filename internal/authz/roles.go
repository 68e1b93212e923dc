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
)

const kv = "Microsoft.KeyVault/vaults/"

// BuiltinRoles are Azure's Key Vault data-plane roles with their exact data
// actions.
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
	}
	m := make(map[string]Role, len(roles))
	for _, r := range roles {
		m[r.ID] = r
	}
	return m
}
