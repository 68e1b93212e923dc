// Package keys implements Azure Key Vault's keys: RSA, EC and oct keys
// created or imported into a vault, versioned, with attributes, tags and
// allowed operations (key_ops); cryptographic operations that never release
// private material; rotation (on demand and by policy); and the same
// soft-delete, recovery, purge and backup lifecycle as secrets (the objects
// package). Key material is stored inside the barrier, so it is encrypted
// under the vault's key like every other record.
//
// HSM key types (RSA-HSM, EC-HSM, oct-HSM) are refused until a PKCS#11
// backend is configured: a key asked to live in an HSM is never silently
// kept in software.
package keys

import (
	"strings"

	"github.com/keyhaven/keyhaven/internal/kverr"
	"github.com/keyhaven/keyhaven/internal/objects"
)

// Key operations as named in key_ops.
const (
	OpEncrypt   = "encrypt"
	OpDecrypt   = "decrypt"
	OpSign      = "sign"
	OpVerify    = "verify"
	OpWrapKey   = "wrapKey"
	OpUnwrapKey = "unwrapKey"
	OpImport    = "import"
	OpExport    = "export"
)

var allOps = []string{OpEncrypt, OpDecrypt, OpSign, OpVerify, OpWrapKey, OpUnwrapKey, OpImport, OpExport}

// Attributes of one key version. Times are Unix seconds.
type Attributes struct {
	Enabled    bool
	NotBefore  *int64
	Expires    *int64
	Created    int64
	Updated    int64
	Exportable bool
}

// AttributesUpdate holds the attributes a request sets; nil is unchanged.
type AttributesUpdate = objects.AttributesUpdate

// CreateParams is a CreateKey request.
type CreateParams struct {
	Kty            string
	KeySize        *int
	PublicExponent *int
	Curve          string
	KeyOps         []string // nil: every operation the key type supports
	Attributes     AttributesUpdate
	Tags           map[string]string
	Exportable     *bool
}

// ImportParams is an ImportKey request; the JWK arrives raw, so the service
// parses it (and zeroes nothing the caller still needs).
type ImportParams struct {
	JWK        []byte
	HSM        *bool
	Attributes AttributesUpdate
	Tags       map[string]string
}

// UpdateParams is an UpdateKey request.
type UpdateParams struct {
	KeyOps     []string // nil: unchanged
	Attributes AttributesUpdate
	Tags       map[string]string
}

// ValidateName checks an object name against Azure's rules.
func ValidateName(name string) error {
	if !objects.ValidName(name) {
		return kverr.BadParameterf("The key name is invalid: it must be 1-127 characters of letters, digits and hyphens.")
	}
	return nil
}

// normalizeOps checks key_ops values and returns them in Azure's spelling.
func normalizeOps(ops []string) ([]string, error) {
	out := make([]string, 0, len(ops))
	for _, op := range ops {
		canon := ""
		for _, known := range allOps {
			if strings.EqualFold(op, known) {
				canon = known
			}
		}
		if canon == "" {
			return nil, kverr.BadParameterf("Invalid key operation %q: key_ops may contain encrypt, decrypt, sign, verify, wrapKey, unwrapKey, import and export.", op)
		}
		if !contains(out, canon) {
			out = append(out, canon)
		}
	}
	return out, nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func notFound(id string) error {
	return kverr.New(kverr.NotFound, "KeyNotFound",
		"A key with (name/id) "+id+" was not found in this key vault. If you recently deleted this key you may be able to recover it using the correct recovery command. For help resolving this issue, please see https://go.microsoft.com/fwlink/?linkid=2125182")
}

var lifecycleErrors = objects.Errors{
	NotFound: notFound,
	DeletedNotFound: func(name string) error {
		return kverr.New(kverr.NotFound, "KeyNotFound", "Deleted Key not found: "+name)
	},
	DeletedButRecoverable: func(name string) error {
		return kverr.New(kverr.Conflict, "Conflict",
			"Key "+name+" is currently in a deleted but recoverable state, and its name cannot be reused; in this state, the key can only be recovered or purged.").
			WithInner("ObjectIsDeletedButRecoverable")
	},
	RestoreConflict: func(name string) error {
		return kverr.New(kverr.Conflict, "Conflict",
			"There was a conflict restoring the key '"+name+"'. This can happen if either: a key with the same name already exists, or the key was deleted but not yet purged.")
	},
	PurgeProtected: func() error {
		return kverr.Forbiddenf("Operation \"purge\" is not allowed because purge protection is enabled for this vault. Key Vault service will automatically purge it after the retention period has passed.").
			WithInner("PurgeProtectionEnabled")
	},
	InvalidBackup: func() error {
		return kverr.BadParameterf("The backup blob is invalid: it is corrupt, was altered, or was not made by this server for a key.")
	},
	TooManyVersions: func(max int) error {
		return kverr.BadParameterf("The key has more than %d versions and cannot be backed up.", max)
	},
	BackupTooLarge: func(max int) error {
		return kverr.BadParameterf("The backup of this key would exceed %d bytes.", max)
	},
	Managed: managedKey,
}

// managedKey refuses op on a certificate's backing key.
func managedKey(op string) error {
	return kverr.Forbiddenf("Operation %q is not allowed as this object's lifetime is managed by Key Vault: it is the key of a certificate; use the certificate's operations.", op).
		WithInner("KeyManagedByKeyVault")
}
