package cli

import (
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/keyhaven/keyhaven/pkg/client"
)

// The views below shape management results the way az prints its
// counterparts: `az ad sp create-for-rbac` (appId, displayName, password,
// tenant), `az ad app credential list` (keyId, endDateTime, hint) and
// `az role assignment list` (principalId, roleDefinitionName, scope).

// createdAppView is the answer of `app create`: the only place, with
// `app credential add`, where a secret is printed.
func createdAppView(a client.CreatedApplication) map[string]any {
	return map[string]any{
		"appId":       a.AppID,
		"displayName": a.DisplayName,
		"objectId":    a.ObjectID,
		"password":    a.Secret,
		"tenant":      a.TenantID,
	}
}

func appView(a client.AppInfo) map[string]any {
	return map[string]any{
		"appId":       a.AppID,
		"displayName": a.DisplayName,
		"objectId":    a.ObjectID,
		"credentials": credentialsView(a.Credentials),
	}
}

func credentialsView(creds []client.AppCredential) []any {
	out := make([]any, 0, len(creds))
	for _, c := range creds {
		out = append(out, credentialView(c))
	}
	return out
}

func credentialView(c client.AppCredential) map[string]any {
	v := map[string]any{
		"keyId":       c.ID,
		"type":        c.Type,
		"hint":        orNil(c.Hint),
		"thumbprint":  orNil(c.Thumbprint),
		"endDateTime": azTime(&c.Expires),
	}
	if c.Type == "federated" {
		v["issuer"], v["subject"], v["audiences"], v["endDateTime"] = c.Issuer, c.Subject, c.Audiences, nil
	}
	return v
}

func withAppID(v map[string]any, appID string) map[string]any {
	v["appId"] = appID
	return v
}

// readCertificateFile reads --cert (a leading "@" is accepted, as in az):
// the first PEM CERTIFICATE block, or a DER certificate. Only the
// certificate is returned, re-encoded as PEM, so a private key kept in the
// same file never leaves the machine. Errors never quote the file.
func readCertificateFile(name string) (string, error) {
	name = strings.TrimPrefix(name, "@")
	data, err := os.ReadFile(name)
	if err != nil {
		return "", usageError{fmt.Errorf("--cert: %w", err)}
	}
	for rest := data; ; {
		var b *pem.Block
		if b, rest = pem.Decode(rest); b == nil {
			break
		}
		if b.Type == "CERTIFICATE" {
			return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: b.Bytes})), nil
		}
	}
	if _, err := x509.ParseCertificate(data); err == nil {
		return base64.StdEncoding.EncodeToString(data), nil
	}
	return "", usageError{errors.New("--cert: the file holds no PEM CERTIFICATE block and is not a DER certificate")}
}
