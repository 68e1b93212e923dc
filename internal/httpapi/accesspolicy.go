package httpapi

import (
	"strings"

	"github.com/keyhaven/keyhaven/internal/kverr"
)

// apPermissions is the access-policy permission each data-plane operation
// needs in a vault that uses the legacy access-policy model, as Azure's
// operation descriptions name them (normalized where the spec text has
// typos). GetRandomBytes, which Azure serves only on Managed HSM, needs
// keys/get here.
var apPermissions = map[string]string{
	"GetSecrets": "secrets/list", "GetSecretVersions": "secrets/list", "GetDeletedSecrets": "secrets/list",
	"GetSecret": "secrets/get", "GetDeletedSecret": "secrets/get",
	"SetSecret": "secrets/set", "UpdateSecret": "secrets/set",
	"DeleteSecret": "secrets/delete", "BackupSecret": "secrets/backup", "RestoreSecret": "secrets/restore",
	"RecoverDeletedSecret": "secrets/recover", "PurgeDeletedSecret": "secrets/purge",

	"GetKeys": "keys/list", "GetKeyVersions": "keys/list", "GetDeletedKeys": "keys/list",
	"GetKey": "keys/get", "GetDeletedKey": "keys/get", "GetKeyAttestation": "keys/get", "GetRandomBytes": "keys/get",
	"CreateKey": "keys/create", "ImportKey": "keys/import", "UpdateKey": "keys/update", "DeleteKey": "keys/delete",
	"BackupKey": "keys/backup", "RestoreKey": "keys/restore", "RecoverDeletedKey": "keys/recover", "PurgeDeletedKey": "keys/purge",
	"RotateKey": "keys/rotate", "GetKeyRotationPolicy": "keys/getrotationpolicy", "UpdateKeyRotationPolicy": "keys/setrotationpolicy",
	"encrypt": "keys/encrypt", "decrypt": "keys/decrypt", "sign": "keys/sign", "verify": "keys/verify",
	"wrapKey": "keys/wrapkey", "unwrapKey": "keys/unwrapkey", "release": "keys/release",

	"GetCertificates": "certificates/list", "GetCertificateVersions": "certificates/list", "GetDeletedCertificates": "certificates/list",
	"GetCertificate": "certificates/get", "GetDeletedCertificate": "certificates/get", "GetCertificatePolicy": "certificates/get",
	"GetCertificateOperation": "certificates/get",
	"CreateCertificate":       "certificates/create", "MergeCertificate": "certificates/create", "ImportCertificate": "certificates/import",
	"UpdateCertificate": "certificates/update", "UpdateCertificatePolicy": "certificates/update",
	"UpdateCertificateOperation": "certificates/update", "DeleteCertificateOperation": "certificates/update",
	"DeleteCertificate": "certificates/delete", "BackupCertificate": "certificates/backup", "RestoreCertificate": "certificates/restore",
	"RecoverDeletedCertificate": "certificates/recover", "PurgeDeletedCertificate": "certificates/purge",
	"GetCertificateContacts": "certificates/managecontacts", "SetCertificateContacts": "certificates/managecontacts",
	"DeleteCertificateContacts": "certificates/managecontacts",
	"GetCertificateIssuers":     "certificates/listissuers", "GetCertificateIssuer": "certificates/getissuers",
	"SetCertificateIssuer": "certificates/setissuers", "UpdateCertificateIssuer": "certificates/setissuers",
	"DeleteCertificateIssuer": "certificates/deleteissuers",
}

// authorizeAccessPolicy decides a request in a vault on the access-policy
// model: an entry for the caller (or one of its groups) must hold the
// operation's permission. An operation without a known permission is
// denied.
func (s *Server) authorizeAccessPolicy(c *call) error {
	perm, ok := apPermissions[c.route.op]
	// Access-policy entries name object ids without an identity source:
	// they apply to this server's own principals only, never to callers
	// with an external issuer's token (use RBAC for those).
	if ok && c.principal.External == "" {
		ids := c.principal.IDs()
		for _, p := range c.vault.AccessPolicies {
			if p.Allows(perm, ids, c.principal.AppID, c.principal.User) {
				return nil
			}
		}
	}
	who := "appid=" + c.principal.AppID + ";oid=" + c.principal.ObjectID
	return kverr.New(kverr.Forbidden, "Forbidden",
		"The user, group or application '"+who+"' does not have "+strings.ReplaceAll(perm, "/", " ")+
			" permission on key vault '"+c.vault.Name+"'. For help resolving this issue, please see https://go.microsoft.com/fwlink/?linkid=2125287").
		WithInner("AccessDenied")
}
