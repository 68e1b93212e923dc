// Package secrets implements Azure Key Vault's secrets: versioned values with
// attributes and tags, soft delete with recovery and purge, and opaque
// backup/restore. It owns the semantics and limits (names, sizes, tags,
// enabled, soft-delete states); the httpapi package owns the wire encoding.
//
// Storage and the soft-delete lifecycle (versions, delete, recover, purge,
// backup) are the objects package's; every change is one storage
// transaction, durable before the call returns.
package secrets

import (
	"unicode/utf8"

	"github.com/keyhaven/keyhaven/internal/kverr"
	"github.com/keyhaven/keyhaven/internal/objects"
)

// Azure's limits for secrets.
const (
	MaxValueBytes       = 25 * 1024
	MaxContentTypeChars = 255
	MaxTags             = objects.MaxTags
	MaxTagChars         = objects.MaxTagChars
	MaxPageSize         = objects.MaxPageSize
	MaxBackupVersions   = objects.MaxBackupVersions
	MaxBackupBytes      = objects.MaxBackupBytes
)

// Attributes of one secret version. Times are Unix seconds.
type Attributes struct {
	Enabled   bool
	NotBefore *int64
	Expires   *int64
	Created   int64
	Updated   int64
}

// Secret is one version of a secret. Value is empty in list results.
type Secret struct {
	Name        string // the name as created
	Version     string
	Value       string
	ContentType string
	Tags        map[string]string
	Attributes  Attributes
	Managed     bool
	KeyID       string // certificate-backed secrets: the key's id path
}

// DeletedSecret is a soft-deleted secret's latest version plus its
// deletion dates (Unix seconds).
type DeletedSecret struct {
	Secret
	DeletedDate        int64
	ScheduledPurgeDate int64
}

// AttributesUpdate holds the attributes a request sets; nil means unchanged.
type AttributesUpdate = objects.AttributesUpdate

// SetParams is a SetSecret request.
type SetParams struct {
	Value       *string
	ContentType *string
	Tags        map[string]string
	Attributes  AttributesUpdate
}

// UpdateParams is an UpdateSecret request; nil fields stay unchanged, Tags
// replaces the whole map when non-nil.
type UpdateParams struct {
	ContentType *string
	Tags        map[string]string
	Attributes  AttributesUpdate
}

// ValidateName checks an object name against Azure's rules.
func ValidateName(name string) error {
	if !objects.ValidName(name) {
		return kverr.BadParameterf("The secret name is invalid: it must be 1-127 characters of letters, digits and hyphens.")
	}
	return nil
}

// Validate checks a SetSecret request against Azure's limits.
func (p *SetParams) Validate() error {
	if p.Value == nil {
		return kverr.BadParameterf("The parameter 'value' is required.")
	}
	if len(*p.Value) > MaxValueBytes {
		return kverr.BadParameterf("The secret value exceeds the maximum size of %d bytes.", MaxValueBytes)
	}
	return validateCommon(p.ContentType, p.Tags, p.Attributes)
}

// Validate checks an UpdateSecret request.
func (p *UpdateParams) Validate() error {
	return validateCommon(p.ContentType, p.Tags, p.Attributes)
}

func validateCommon(ct *string, tags map[string]string, a AttributesUpdate) error {
	if ct != nil && utf8.RuneCountInString(*ct) > MaxContentTypeChars {
		return kverr.BadParameterf("The content type exceeds the maximum length of %d characters.", MaxContentTypeChars)
	}
	if err := ValidateTags(tags); err != nil {
		return err
	}
	if a.NotBefore != nil && a.Expires != nil && *a.Expires < *a.NotBefore {
		return errExpiryBeforeNotBefore
	}
	return nil
}

// ValidateTags checks Azure's tag limits.
func ValidateTags(tags map[string]string) error { return objects.ValidateTags(tags) }

func notFound(name string) error {
	return kverr.New(kverr.NotFound, "SecretNotFound",
		"A secret with (name/id) "+name+" was not found in this key vault. If you recently deleted this secret you may be able to recover it using the correct recovery command. For help resolving this issue, please see https://go.microsoft.com/fwlink/?linkid=2125182")
}

func deletedNotFound(name string) error {
	return kverr.New(kverr.NotFound, "SecretNotFound", "Deleted Secret not found: "+name)
}

func deletedButRecoverable(name string) error {
	return kverr.New(kverr.Conflict, "Conflict",
		"Secret "+name+" is currently in a deleted but recoverable state, and its name cannot be reused; in this state, the secret can only be recovered or purged.").
		WithInner("ObjectIsDeletedButRecoverable")
}

func disabled() error {
	return kverr.New(kverr.Forbidden, "Forbidden", "Operation get is not allowed on a disabled secret.").WithInner("SecretDisabled")
}

var errExpiryBeforeNotBefore = kverr.BadParameterf("The expiry time (exp) must not be before the activation time (nbf).")

func restoreConflict(name string) error {
	return kverr.New(kverr.Conflict, "Conflict",
		"There was a conflict restoring the secret '"+name+"'. This can happen if either: a secret with the same name already exists, or the secret was deleted but not yet purged.")
}

func purgeProtected() error {
	return kverr.Forbiddenf("Operation \"purge\" is not allowed because purge protection is enabled for this vault. Key Vault service will automatically purge it after the retention period has passed.").
		WithInner("PurgeProtectionEnabled")
}
