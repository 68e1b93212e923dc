package cli

import (
	"time"

	"github.com/keyhaven/keyhaven/pkg/client"
)

// The views below shape client results the way `az keyvault secret` prints
// them: camelCase keys, a "name" taken from the id, attributes with
// "expires"/"notBefore" and ISO-8601 times, and null for absent fields.

// azTime formats t as az does: 2025-01-02T03:04:05+00:00.
func azTime(t *time.Time) any {
	if t == nil {
		return nil
	}
	return t.UTC().Format("2006-01-02T15:04:05-07:00")
}

func orNil[T comparable](v T) any {
	var zero T
	if v == zero {
		return nil
	}
	return v
}

func ptrOrNil[T any](p *T) any {
	if p == nil {
		return nil
	}
	return *p
}

func attributesView(a *client.SecretAttributes) map[string]any {
	if a == nil {
		a = &client.SecretAttributes{}
	}
	return map[string]any{
		"created":         azTime(a.Created),
		"enabled":         ptrOrNil(a.Enabled),
		"expires":         azTime(a.Expires),
		"notBefore":       azTime(a.NotBefore),
		"recoverableDays": ptrOrNil(a.RecoverableDays),
		"recoveryLevel":   orNil(a.RecoveryLevel),
		"updated":         azTime(a.Updated),
	}
}

// nameFromID is the secret name in a secret or recovery id, or nil.
func nameFromID(id string) any {
	_, name, _, err := client.ParseSecretID(id)
	if err != nil {
		return nil
	}
	return name
}

func tagsView(t map[string]string) any {
	if t == nil {
		return nil
	}
	return t
}

// itemView is a list element: a secret's metadata.
func itemView(i client.SecretItem) map[string]any {
	return map[string]any{
		"attributes":  attributesView(i.Attributes),
		"contentType": orNil(i.ContentType),
		"id":          orNil(i.ID),
		"managed":     ptrOrNil(i.Managed),
		"name":        nameFromID(i.ID),
		"tags":        tagsView(i.Tags),
	}
}

// propertiesView is a secret version without its value (set-attributes,
// recover, restore).
func propertiesView(b client.SecretBundle) map[string]any {
	m := itemView(client.SecretItem{ID: b.ID, Attributes: b.Attributes, Tags: b.Tags, ContentType: b.ContentType, Managed: b.Managed})
	m["kid"] = orNil(b.Kid)
	return m
}

// secretView is a secret version with its value (set, show).
func secretView(b client.SecretBundle) map[string]any {
	m := propertiesView(b)
	m["value"] = b.Value
	return m
}

func addDeleted(m map[string]any, recoveryID string, deleted, purge *time.Time) map[string]any {
	m["recoveryId"] = orNil(recoveryID)
	m["deletedDate"] = azTime(deleted)
	m["scheduledPurgeDate"] = azTime(purge)
	return m
}

// deletedView is a deleted secret (delete, show-deleted).
func deletedView(d client.DeletedSecretBundle) map[string]any {
	return addDeleted(propertiesView(d.SecretBundle), d.RecoveryID, d.DeletedDate, d.ScheduledPurgeDate)
}

// deletedItemView is an element of list-deleted.
func deletedItemView(d client.DeletedSecretItem) map[string]any {
	return addDeleted(itemView(d.SecretItem), d.RecoveryID, d.DeletedDate, d.ScheduledPurgeDate)
}
