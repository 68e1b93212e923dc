package cli

import (
	"encoding/hex"
	"strings"

	"github.com/keyhaven/keyhaven/pkg/client"
)

// The views below shape certificate results the way `az keyvault
// certificate` prints them (the SDK models in camelCase): cer and csr in
// standard base64, the thumbprint as x509Thumbprint (base64) and
// x509ThumbprintHex (upper-case hex), a "name" taken from the id, times in
// ISO 8601 and null for whatever is absent.

func certAttributesView(a *client.CertificateAttributes) map[string]any {
	if a == nil {
		a = &client.CertificateAttributes{}
	}
	return map[string]any{
		"created":         unixPtrTime(a.Created),
		"enabled":         ptrOrNil(a.Enabled),
		"expires":         unixPtrTime(a.Expires),
		"notBefore":       unixPtrTime(a.NotBefore),
		"recoverableDays": ptrOrNil(a.RecoverableDays),
		"recoveryLevel":   orNil(a.RecoveryLevel),
		"updated":         unixPtrTime(a.Updated),
	}
}

// upperHexOrNil is upper-case hex, as az prints thumbprints, or null.
func upperHexOrNil(b []byte) any {
	if len(b) == 0 {
		return nil
	}
	return strings.ToUpper(hex.EncodeToString(b))
}

// certNameFromID is the certificate name in an id or recovery id, or nil.
func certNameFromID(id string) any {
	_, name, _, err := client.ParseCertificateID(id)
	if err != nil {
		return nil
	}
	return name
}

func addCertDeleted(m map[string]any, b client.CertificateBundle) map[string]any {
	return addDeleted(m, b.RecoveryID, unixTime(b.DeletedDate), unixTime(b.ScheduledPurgeDate))
}

// certItemView is an element of list, list-versions and list-deleted.
func certItemView(b client.CertificateBundle, deleted bool) map[string]any {
	m := map[string]any{
		"attributes":        certAttributesView(b.Attributes),
		"id":                orNil(b.ID),
		"name":              certNameFromID(b.ID),
		"tags":              tagsView(b.Tags),
		"x509Thumbprint":    b64(b.X5t),
		"x509ThumbprintHex": upperHexOrNil(b.X5t),
	}
	if deleted {
		addCertDeleted(m, b)
	}
	return m
}

// certView is a certificate version with its policy (show, import, merge,
// set-attributes, recover, restore; with deleted, delete and show-deleted).
func certView(b client.CertificateBundle, deleted bool) map[string]any {
	m := certItemView(b, deleted)
	m["cer"] = b64(b.Cer)
	m["contentType"] = orNil(b.ContentType)
	m["kid"] = orNil(b.Kid)
	m["sid"] = orNil(b.Sid)
	m["policy"] = certPolicyView(b.Policy)
	m["preserveCertOrder"] = ptrOrNil(b.PreserveCertOrder)
	return m
}

func certResult(b client.CertificateBundle, err error) (any, error) {
	if err != nil {
		return nil, err
	}
	return certView(b, false), nil
}

// operationView is a certificate operation (create, pending show, delete
// and cancel).
func operationView(op client.CertificateOperation) map[string]any {
	var opErr any
	if e := op.Error; e != nil {
		opErr = map[string]any{"code": orNil(e.Code), "message": orNil(e.Message)}
	}
	return map[string]any{
		"cancellationRequested": op.CancellationRequested,
		"csr":                   b64(op.CSR),
		"error":                 opErr,
		"id":                    orNil(op.ID),
		"issuerParameters":      issuerParametersView(op.Issuer),
		"preserveCertOrder":     ptrOrNil(op.PreserveCertOrder),
		"requestId":             orNil(op.RequestID),
		"status":                orNil(op.Status),
		"statusDetails":         orNil(op.StatusDetails),
		"target":                orNil(op.Target),
	}
}

func operationResult(op client.CertificateOperation, err error) (any, error) {
	if err != nil {
		return nil, err
	}
	return operationView(op), nil
}

// issuerNameFromID is the last segment of an issuer id, or nil.
func issuerNameFromID(id string) any {
	i := strings.LastIndex(id, "/certificates/issuers/")
	if i < 0 {
		return nil
	}
	return orNil(id[i+len("/certificates/issuers/"):])
}

// issuerView is an issuer. The password is never shown: the service does
// not return it, and a view of it would be printed.
func issuerView(i client.IssuerBundle) map[string]any {
	var creds, org, attrs any
	if c := i.Credentials; c != nil {
		creds = map[string]any{"accountId": orNil(c.AccountID), "password": nil}
	}
	if o := i.OrgDetails; o != nil {
		var admins any
		if o.AdminDetails != nil {
			list := []any{}
			for _, a := range o.AdminDetails {
				list = append(list, map[string]any{"emailAddress": orNil(a.Email), "firstName": orNil(a.FirstName), "lastName": orNil(a.LastName), "phone": orNil(a.Phone)})
			}
			admins = list
		}
		org = map[string]any{"adminDetails": admins, "id": orNil(o.ID)}
	}
	if a := i.Attributes; a != nil {
		attrs = map[string]any{"created": unixPtrTime(a.Created), "enabled": ptrOrNil(a.Enabled), "updated": unixPtrTime(a.Updated)}
	}
	return map[string]any{"attributes": attrs, "credentials": creds, "id": orNil(i.ID), "name": issuerNameFromID(i.ID),
		"organizationDetails": org, "provider": orNil(i.Provider)}
}

func issuerResult(i client.IssuerBundle, err error) (any, error) {
	if err != nil {
		return nil, err
	}
	return issuerView(i), nil
}

// issuerItemView is an element of issuer list.
func issuerItemView(i client.IssuerBundle) map[string]any {
	return map[string]any{"id": orNil(i.ID), "name": issuerNameFromID(i.ID), "provider": orNil(i.Provider)}
}

// contactsView is the vault's contacts, as az prints them.
func contactsView(c client.Contacts) map[string]any {
	list := []any{}
	for _, x := range c.Contacts {
		list = append(list, map[string]any{"emailAddress": orNil(x.Email), "name": orNil(x.Name), "phone": orNil(x.Phone)})
	}
	return map[string]any{"contactList": list, "id": orNil(c.ID)}
}

func contactsResult(c client.Contacts, err error) (any, error) {
	if err != nil {
		return nil, err
	}
	return contactsView(c), nil
}
