package certs

import (
	"bytes"
	"encoding/json"

	"github.com/keyhaven/keyhaven/internal/jsonx"
	"github.com/keyhaven/keyhaven/internal/kverr"
	"github.com/keyhaven/keyhaven/internal/objects"
)

// record is the stored form of one certificate version. The private key
// lives in the backing key; the record holds public material only.
type record struct {
	DER           []byte            `json:"der"`
	Chain         [][]byte          `json:"chain,omitempty"` // issuers' DER certificates after the leaf
	ContentType   string            `json:"contentType"`
	Tags          map[string]string `json:"tags,omitempty"`
	Enabled       bool              `json:"enabled"`
	NotBefore     int64             `json:"nbf"`
	Expires       int64             `json:"exp"`
	Created       int64             `json:"created"`
	Updated       int64             `json:"updated"`
	PreserveOrder bool              `json:"preserveCertOrder,omitempty"`
}

// DecodeRecord decodes the record at the start of data as json.Unmarshal
// would (objects.RecordDecoder). A record holds no secret; for a list,
// which shows the certificate's thumbprint and attributes, the issuers'
// chain is left out, which keeps the list's copy in the head small.
func (r *record) DecodeRecord(data []byte, listing bool) (int, error) {
	ws := len(data) - len(bytes.TrimLeft(data, " \t\r\n"))
	n, err := jsonx.ValueLen(data[ws:])
	if err != nil {
		return 0, err
	}
	if err := json.Unmarshal(data[ws:ws+n], r); err != nil {
		return 0, err
	}
	if listing {
		r.Chain = nil
	}
	return ws + n, nil
}

type item = objects.Item[record]

// meta is the per-name data kept in the head: the policy, and the version
// for which an EmailContacts action already recorded its event.
type meta struct {
	Policy   *Policy `json:"policy,omitempty"`
	Notified string  `json:"notified,omitempty"`
}

// Certificate is one certificate version as the API shows it.
type Certificate struct {
	Name          string
	Version       string
	DER           []byte
	Thumbprint    []byte // SHA-1 of DER (x5t)
	ContentType   string
	Tags          map[string]string
	Attributes    Attributes
	Policy        *Policy // with bundles, nil in lists
	PreserveOrder bool
	// Pending marks a certificate whose first version is still being
	// issued: it has ids and a policy but no DER certificate yet.
	Pending bool
}

// Attributes are a certificate version's attributes; nbf and exp are the
// certificate's validity.
type Attributes struct {
	Enabled   bool
	NotBefore int64
	Expires   int64
	Created   int64
	Updated   int64
}

// DeletedCertificate is a soft-deleted certificate and its deletion dates.
type DeletedCertificate struct {
	Certificate
	DeletedDate        int64
	ScheduledPurgeDate int64
}

// Page is one page of a list.
type Page[T any] = objects.Page[T]

// AttributesUpdate holds the attributes a request sets; nil means
// unchanged. Only enabled can change: nbf and exp come from the
// certificate.
type AttributesUpdate struct {
	Enabled *bool
}

func notFound(id string) error {
	return kverr.New(kverr.NotFound, "CertificateNotFound",
		"A certificate with (name/id) "+id+" was not found in this key vault. If you recently deleted this certificate you may be able to recover it using the correct recovery command. For help resolving this issue, please see https://go.microsoft.com/fwlink/?linkid=2125182")
}

var lifecycleErrors = objects.Errors{
	NotFound: notFound,
	DeletedNotFound: func(name string) error {
		return kverr.New(kverr.NotFound, "CertificateNotFound", "Deleted Certificate not found: "+name)
	},
	DeletedButRecoverable: func(name string) error {
		return kverr.New(kverr.Conflict, "Conflict",
			"Certificate "+name+" is currently in a deleted but recoverable state, and its name cannot be reused; in this state, the certificate can only be recovered or purged.").
			WithInner("ObjectIsDeletedButRecoverable")
	},
	RestoreConflict: func(name string) error {
		return kverr.New(kverr.Conflict, "Conflict",
			"There was a conflict restoring the certificate '"+name+"'. This can happen if either: a certificate, key or secret with the same name already exists, or it was deleted but not yet purged.")
	},
	PurgeProtected: func() error {
		return kverr.Forbiddenf("Operation \"purge\" is not allowed because purge protection is enabled for this vault. Key Vault service will automatically purge it after the retention period has passed.").
			WithInner("PurgeProtectionEnabled")
	},
	InvalidBackup: func() error {
		return kverr.BadParameterf("The backup blob is invalid: it is corrupt, was altered, or was not made by this server for a certificate.")
	},
	TooManyVersions: func(max int) error {
		return kverr.BadParameterf("The certificate has more than %d versions and cannot be backed up.", max)
	},
	BackupTooLarge: func(max int) error {
		return kverr.BadParameterf("The backup of this certificate would exceed %d bytes.", max)
	},
	Managed: func(op string) error { return kverr.Forbiddenf("Operation %q is not allowed on this certificate.", op) },
}

func invalidName(name string) error {
	return kverr.BadParameterf("The certificate name %q is invalid: use 1-127 letters, digits and dashes.", name)
}

func pendingNotFound(name string) error {
	return kverr.New(kverr.NotFound, "PendingCertificateNotFound", "Pending certificate not found: "+name)
}

func pendingInProgress() error {
	return kverr.New(kverr.Conflict, "Forbidden",
		"A new key vault certificate can not be created or imported while a pending key vault certificate's status is inProgress.")
}

func nameTaken(kind, name string) error {
	return kverr.New(kverr.Conflict, "Conflict",
		"A "+kind+" named "+name+" already exists and does not belong to a certificate; a certificate needs its name free among keys and secrets.")
}
