package cli

import (
	"encoding/base64"
	"encoding/hex"
	"time"
	"unicode/utf8"

	"github.com/keyhaven/keyhaven/pkg/client"
)

// The views below shape key results the way `az keyvault key` prints them
// (its transform_key_output and transform_key_list_output): the JWK with
// every field, binary ones in standard base64 and key_ops as "keyOps";
// attributes with ISO-8601 times; null for whatever is absent.

// b64 is standard padded base64, or null for no bytes.
func b64(b []byte) any {
	if len(b) == 0 {
		return nil
	}
	return base64.StdEncoding.EncodeToString(b)
}

// hexOrNil is lower-case hex, or null for no bytes.
func hexOrNil(b []byte) any {
	if len(b) == 0 {
		return nil
	}
	return hex.EncodeToString(b)
}

// unixTime is a wire time (Unix seconds, 0 meaning absent) as a time.
func unixTime(s int64) *time.Time {
	if s == 0 {
		return nil
	}
	t := time.Unix(s, 0)
	return &t
}

func unixPtrTime(p *int64) any {
	if p == nil {
		return nil
	}
	return azTime(unixTime(*p))
}

func jwkView(k *client.JSONWebKey) any {
	if k == nil {
		return nil
	}
	var ops any
	if k.KeyOps != nil {
		ops = k.KeyOps
	}
	return map[string]any{
		"crv": orNil(k.Crv), "d": b64(k.D), "dp": b64(k.DP), "dq": b64(k.DQ), "e": b64(k.E), "k": b64(k.K),
		"keyOps": ops, "kid": orNil(k.Kid), "kty": orNil(k.Kty), "n": b64(k.N), "p": b64(k.P), "q": b64(k.Q),
		"qi": b64(k.QI), "t": b64(k.T), "x": b64(k.X), "y": b64(k.Y),
	}
}

func keyAttributesView(a *client.KeyAttributes) map[string]any {
	if a == nil {
		a = &client.KeyAttributes{}
	}
	return map[string]any{
		"created":         unixPtrTime(a.Created),
		"enabled":         ptrOrNil(a.Enabled),
		"expires":         unixPtrTime(a.Expires),
		"exportable":      ptrOrNil(a.Exportable),
		"hsmPlatform":     orNil(a.HSMPlatform),
		"notBefore":       unixPtrTime(a.NotBefore),
		"recoverableDays": ptrOrNil(a.RecoverableDays),
		"recoveryLevel":   orNil(a.RecoveryLevel),
		"updated":         unixPtrTime(a.Updated),
	}
}

// releasePolicyView shows the policy document as text, as az does.
func releasePolicyView(p *client.KeyReleasePolicy) any {
	if p == nil {
		return nil
	}
	var data any = b64(p.Data)
	if utf8.Valid(p.Data) {
		data = string(p.Data)
	}
	return map[string]any{"contentType": orNil(p.ContentType), "encodedPolicy": data, "immutable": ptrOrNil(p.Immutable)}
}

func managedView(m bool) any {
	if m {
		return true
	}
	return nil
}

func addKeyDeleted(m map[string]any, b client.KeyBundle) map[string]any {
	m["recoveryId"] = orNil(b.RecoveryID)
	m["deletedDate"] = azTime(unixTime(b.DeletedDate))
	m["scheduledPurgeDate"] = azTime(unixTime(b.ScheduledPurgeDate))
	return m
}

// keyView is a key version with its public key (create, import, show,
// set-attributes, recover, restore, rotate; with deleted, delete and
// show-deleted).
func keyView(b client.KeyBundle, deleted bool) map[string]any {
	m := map[string]any{
		"attributes":    keyAttributesView(b.Attributes),
		"key":           jwkView(b.Key),
		"managed":       managedView(b.Managed),
		"releasePolicy": releasePolicyView(b.ReleasePolicy),
		"tags":          tagsView(b.Tags),
	}
	if deleted {
		addKeyDeleted(m, b)
	}
	return m
}

// keyItemView is an element of list, list-versions and list-deleted.
func keyItemView(b client.KeyBundle, deleted bool) map[string]any {
	m := map[string]any{
		"attributes":    keyAttributesView(b.Attributes),
		"kid":           orNil(b.Kid),
		"managed":       managedView(b.Managed),
		"name":          keyNameFromID(b.Kid),
		"releasePolicy": releasePolicyView(b.ReleasePolicy),
		"tags":          tagsView(b.Tags),
	}
	if deleted {
		addKeyDeleted(m, b)
	}
	return m
}

// keyNameFromID is the key name in a kid or recovery id, or nil.
func keyNameFromID(id string) any {
	_, name, _, err := client.ParseKeyID(id)
	if err != nil {
		return nil
	}
	return name
}

// rotationPolicyView is a rotation policy as az prints it (the Python
// SDK's KeyRotationPolicy): actions flattened, times in ISO 8601.
func rotationPolicyView(p client.KeyRotationPolicy) map[string]any {
	actions := []any{}
	for _, a := range p.LifetimeActions {
		actions = append(actions, map[string]any{
			"action":           orNil(a.Action.Type),
			"timeAfterCreate":  orNil(a.Trigger.TimeAfterCreate),
			"timeBeforeExpiry": orNil(a.Trigger.TimeBeforeExpiry),
		})
	}
	return map[string]any{
		"createdOn":       azTime(unixTime(p.Attributes.Created)),
		"expiresIn":       orNil(p.Attributes.ExpiryTime),
		"id":              orNil(p.ID),
		"lifetimeActions": actions,
		"updatedOn":       azTime(unixTime(p.Attributes.Updated)),
	}
}
