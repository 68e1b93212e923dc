package client

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// SecretAttributes are a secret version's management attributes. Times are
// sent and received as integer Unix seconds ("format": "unixtime").
type SecretAttributes struct {
	Enabled   *bool      // "enabled"
	NotBefore *time.Time // "nbf"
	Expires   *time.Time // "exp"
	Created   *time.Time // "created", read-only
	Updated   *time.Time // "updated", read-only
	// RecoverableDays is the soft-delete retention in days; read-only.
	RecoverableDays *int32 // "recoverableDays"
	// RecoveryLevel is a DeletionRecoveryLevel such as
	// "Recoverable+Purgeable"; read-only.
	RecoveryLevel string // "recoveryLevel"
}

// wireAttributes is the JSON form of SecretAttributes.
type wireAttributes struct {
	Enabled         *bool        `json:"enabled,omitempty"`
	NotBefore       *unixSeconds `json:"nbf,omitempty"`
	Expires         *unixSeconds `json:"exp,omitempty"`
	Created         *unixSeconds `json:"created,omitempty"`
	Updated         *unixSeconds `json:"updated,omitempty"`
	RecoverableDays *int32       `json:"recoverableDays,omitempty"`
	RecoveryLevel   string       `json:"recoveryLevel,omitempty"`
}

// MarshalJSON writes the wire form, times as integer Unix seconds.
func (a SecretAttributes) MarshalJSON() ([]byte, error) {
	return json.Marshal(wireAttributes{
		Enabled: a.Enabled, NotBefore: toUnix(a.NotBefore), Expires: toUnix(a.Expires),
		Created: toUnix(a.Created), Updated: toUnix(a.Updated),
		RecoverableDays: a.RecoverableDays, RecoveryLevel: a.RecoveryLevel,
	})
}

// UnmarshalJSON reads the wire form.
func (a *SecretAttributes) UnmarshalJSON(b []byte) error {
	var w wireAttributes
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	*a = SecretAttributes{
		Enabled: w.Enabled, NotBefore: w.NotBefore.time(), Expires: w.Expires.time(),
		Created: w.Created.time(), Updated: w.Updated.time(),
		RecoverableDays: w.RecoverableDays, RecoveryLevel: w.RecoveryLevel,
	}
	return nil
}

// SecretBundle is a secret version with its value (SecretBundle in the spec).
type SecretBundle struct {
	Value       string            `json:"value,omitempty"`
	ID          string            `json:"id,omitempty"`
	ContentType string            `json:"contentType,omitempty"`
	Attributes  *SecretAttributes `json:"attributes,omitempty"`
	Tags        map[string]string `json:"tags,omitempty"`
	// Kid is the key backing a certificate, for certificate-managed secrets.
	Kid string `json:"kid,omitempty"`
	// Managed is true for secrets whose lifetime Key Vault manages.
	Managed *bool `json:"managed,omitempty"`
}

// DeletedSecretBundle is a soft-deleted secret (DeletedSecretBundle).
type DeletedSecretBundle struct {
	SecretBundle
	RecoveryID         string     `json:"recoveryId,omitempty"`
	DeletedDate        *time.Time `json:"deletedDate,omitempty"`
	ScheduledPurgeDate *time.Time `json:"scheduledPurgeDate,omitempty"`
}

// The wire forms of the deleted types embed the plain type and add the date
// fields as Unix seconds; being shallower, these win over the embedded
// *time.Time fields of the same JSON name.
type (
	plainDeletedBundle DeletedSecretBundle
	plainDeletedItem   DeletedSecretItem
	wireDeletedBundle  struct {
		plainDeletedBundle
		DeletedDate        *unixSeconds `json:"deletedDate,omitempty"`
		ScheduledPurgeDate *unixSeconds `json:"scheduledPurgeDate,omitempty"`
	}
	wireDeletedItem struct {
		plainDeletedItem
		DeletedDate        *unixSeconds `json:"deletedDate,omitempty"`
		ScheduledPurgeDate *unixSeconds `json:"scheduledPurgeDate,omitempty"`
	}
)

// MarshalJSON writes the wire form, dates as integer Unix seconds.
func (d DeletedSecretBundle) MarshalJSON() ([]byte, error) {
	return json.Marshal(wireDeletedBundle{plainDeletedBundle(d), toUnix(d.DeletedDate), toUnix(d.ScheduledPurgeDate)})
}

// UnmarshalJSON reads the wire form.
func (d *DeletedSecretBundle) UnmarshalJSON(b []byte) error {
	var w wireDeletedBundle
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	*d = DeletedSecretBundle(w.plainDeletedBundle)
	d.DeletedDate, d.ScheduledPurgeDate = w.DeletedDate.time(), w.ScheduledPurgeDate.time()
	return nil
}

// SecretItem is a secret in a list: metadata, never the value (SecretItem).
// In ListSecrets the ID has no version; in ListSecretVersions it has one.
type SecretItem struct {
	ID          string            `json:"id,omitempty"`
	Attributes  *SecretAttributes `json:"attributes,omitempty"`
	Tags        map[string]string `json:"tags,omitempty"`
	ContentType string            `json:"contentType,omitempty"`
	Managed     *bool             `json:"managed,omitempty"`
}

// DeletedSecretItem is a soft-deleted secret in a list (DeletedSecretItem).
type DeletedSecretItem struct {
	SecretItem
	RecoveryID         string     `json:"recoveryId,omitempty"`
	DeletedDate        *time.Time `json:"deletedDate,omitempty"`
	ScheduledPurgeDate *time.Time `json:"scheduledPurgeDate,omitempty"`
}

// MarshalJSON writes the wire form, dates as integer Unix seconds.
func (d DeletedSecretItem) MarshalJSON() ([]byte, error) {
	return json.Marshal(wireDeletedItem{plainDeletedItem(d), toUnix(d.DeletedDate), toUnix(d.ScheduledPurgeDate)})
}

// UnmarshalJSON reads the wire form.
func (d *DeletedSecretItem) UnmarshalJSON(b []byte) error {
	var w wireDeletedItem
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	*d = DeletedSecretItem(w.plainDeletedItem)
	d.DeletedDate, d.ScheduledPurgeDate = w.DeletedDate.time(), w.ScheduledPurgeDate.time()
	return nil
}

// SecretSetParameters is the body of SetSecret. Value is required (it may be
// empty); a non-nil empty Tags is sent as {}.
type SecretSetParameters struct {
	Value       string            `json:"value"`
	Tags        map[string]string `json:"tags,omitzero"`
	ContentType string            `json:"contentType,omitempty"`
	Attributes  *SecretAttributes `json:"attributes,omitempty"`
}

// SecretUpdateParameters is the body of UpdateSecretProperties. Nil fields
// are left unchanged by the service; a non-nil ContentType pointing at ""
// clears the content type and a non-nil empty Tags removes all tags.
type SecretUpdateParameters struct {
	ContentType *string           `json:"contentType,omitempty"`
	Attributes  *SecretAttributes `json:"attributes,omitempty"`
	Tags        map[string]string `json:"tags,omitzero"`
}

// BackupSecretResult holds an opaque backup blob. On the wire Value is
// base64url without padding.
type BackupSecretResult struct {
	Value []byte
}

// MarshalJSON writes {"value": "<base64url>"}.
func (r BackupSecretResult) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Value string `json:"value"`
	}{base64.RawURLEncoding.EncodeToString(r.Value)})
}

// UnmarshalJSON reads {"value": "<base64url>"}, padded or not.
func (r *BackupSecretResult) UnmarshalJSON(b []byte) error {
	var w struct {
		Value string `json:"value"`
	}
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	v, err := decodeBase64URL(w.Value)
	if err != nil {
		return fmt.Errorf("backup blob: %w", err)
	}
	r.Value = v
	return nil
}

// SecretRestoreParameters is the body of RestoreSecret: the blob returned by
// BackupSecret.
type SecretRestoreParameters struct {
	SecretBundleBackup []byte
}

// MarshalJSON writes {"value": "<base64url>"}.
func (p SecretRestoreParameters) MarshalJSON() ([]byte, error) {
	return BackupSecretResult{Value: p.SecretBundleBackup}.MarshalJSON()
}

// UnmarshalJSON reads {"value": "<base64url>"}.
func (p *SecretRestoreParameters) UnmarshalJSON(b []byte) error {
	var r BackupSecretResult
	if err := r.UnmarshalJSON(b); err != nil {
		return err
	}
	p.SecretBundleBackup = r.Value
	return nil
}

func decodeBase64URL(s string) ([]byte, error) {
	return base64.RawURLEncoding.DecodeString(strings.TrimRight(s, "="))
}

// unixSeconds is a wire time: integer Unix seconds. Reading also accepts a
// fraction (seen in one spec example) and a quoted number.
type unixSeconds int64

func (u *unixSeconds) UnmarshalJSON(b []byte) error {
	s := strings.Trim(string(b), `"`)
	if s == "null" || s == "" {
		return nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
		return fmt.Errorf("invalid Unix time %s", b)
	}
	*u = unixSeconds(math.Floor(f))
	return nil
}

func (u *unixSeconds) time() *time.Time {
	if u == nil {
		return nil
	}
	t := time.Unix(int64(*u), 0).UTC()
	return &t
}

func toUnix(t *time.Time) *unixSeconds {
	if t == nil {
		return nil
	}
	u := unixSeconds(t.Unix())
	return &u
}
