package cli

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"

	"github.com/keyhaven/keyhaven/pkg/client"
)

// Extended key usages of TLS certificates.
const (
	ekuServerAuth = "1.3.6.1.5.5.7.3.1"
	ekuClientAuth = "1.3.6.1.5.5.7.3.2"
)

// defaultCertPolicy is az's default policy (get-default-policy): a
// self-signed, exportable RSA 2048 certificate for CN=CLIGetDefaultPolicy,
// PFX, valid 12 months, renewed 90 days before it expires. az leaves the
// EKUs out and lets the service default them; keyhaven spells out the same
// default, serverAuth and clientAuth.
func defaultCertPolicy() *client.CertificatePolicy {
	return &client.CertificatePolicy{
		KeyProps:    &client.CertificateKeyProperties{Exportable: new(true), Kty: "RSA", KeySize: new(int32(2048)), ReuseKey: new(true)},
		SecretProps: &client.CertificateSecretProps{ContentType: contentTypePFX},
		X509Props: &client.X509CertificateProperties{
			Subject:        "CN=CLIGetDefaultPolicy",
			EKUs:           []string{ekuServerAuth, ekuClientAuth},
			KeyUsage:       []string{"cRLSign", "dataEncipherment", "digitalSignature", "keyEncipherment", "keyAgreement", "keyCertSign"},
			ValidityMonths: new(int32(12)),
		},
		LifetimeActions: []client.CertificateLifetimeAction{{
			Trigger: client.CertificateTrigger{DaysBeforeExpiry: new(int32(90))},
			Action:  client.CertificateAction{ActionType: "AutoRenew"},
		}},
		Issuer: &client.IssuerParameters{Name: "Self"},
	}
}

// The content types of a certificate's secret.
const (
	contentTypePFX = "application/x-pkcs12"
	contentTypePEM = "application/x-pem-file"
)

// policyMember describes one member of a policy object: its wire name
// ("" for a read-only member, which is dropped) and the schema of its
// value ("" for a plain value, "[]x" for a list of x).
type policyMember struct{ wire, holds string }

// policySchemas map each policy object's member names, folded by policyKey,
// to the wire. Each member is known by its REST name (key_props), the
// Python SDK's name that az prints and reads (keyProperties or
// key_properties) and, for read-only members, the name show prints.
var policySchemas = map[string]map[string]policyMember{
	"policy": {
		"id": {}, "attributes": {"attributes", "attributes"},
		"keyprops": {"key_props", "key"}, "keyproperties": {"key_props", "key"},
		"secretprops": {"secret_props", "secret"}, "secretproperties": {"secret_props", "secret"},
		"x509props": {"x509_props", "x509"}, "x509certificateproperties": {"x509_props", "x509"},
		"lifetimeactions": {"lifetime_actions", "[]lifetime"},
		"issuer":          {"issuer", "issuer"}, "issuerparameters": {"issuer", "issuer"},
	},
	"key": {
		"exportable": {"exportable", ""}, "kty": {"kty", ""}, "keytype": {"kty", ""}, "keysize": {"key_size", ""},
		"reusekey": {"reuse_key", ""}, "crv": {"crv", ""}, "curve": {"crv", ""},
	},
	"secret": {"contenttype": {"contentType", ""}},
	"x509": {
		"subject": {"subject", ""}, "ekus": {"ekus", ""}, "keyusage": {"key_usage", ""},
		"sans": {"sans", "sans"}, "subjectalternativenames": {"sans", "sans"},
		"validitymonths": {"validity_months", ""}, "validityinmonths": {"validity_months", ""},
		"basicconstraints": {"basic_constraints", "basic"},
	},
	"basic": {"ca": {"ca", ""}},
	"sans": {
		"emails": {"emails", ""}, "dnsnames": {"dns_names", ""}, "upns": {"upns", ""},
		"ipaddresses": {"ipAddresses", ""}, "uris": {"uris", ""},
	},
	"lifetime": {"trigger": {"trigger", "trigger"}, "action": {"action", "action"}},
	"trigger":  {"lifetimepercentage": {"lifetime_percentage", ""}, "daysbeforeexpiry": {"days_before_expiry", ""}},
	"action":   {"actiontype": {"action_type", ""}},
	"issuer": {
		"name": {"name", ""}, "cty": {"cty", ""}, "certificatetype": {"cty", ""},
		"certtransparency": {"cert_transparency", ""}, "certificatetransparency": {"cert_transparency", ""},
	},
	"attributes": {
		"enabled": {"enabled", ""}, "created": {}, "updated": {}, "nbf": {}, "notbefore": {}, "exp": {},
		"expires": {}, "recoverabledays": {}, "recoverylevel": {},
	},
}

// parseCertPolicy reads a certificate policy given to --policy: the REST
// form (key_props, x509_props, ...), the form az prints and reads
// (keyProperties or key_properties, x509CertificateProperties, ...), or the
// policy that certificate show prints. Null and read-only members are
// ignored; any other unknown member is an error rather than silently
// dropped.
func parseCertPolicy(raw []byte) (*client.CertificatePolicy, error) {
	bad := func(err error) (*client.CertificatePolicy, error) {
		return nil, usageError{fmt.Errorf("--policy: %w", err)}
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	var top any
	if err := dec.Decode(&top); err != nil {
		return bad(fmt.Errorf("not valid JSON: %w", err))
	}
	if _, ok := top.(map[string]any); !ok {
		return bad(errors.New("not a JSON object"))
	}
	if dec.More() {
		return bad(errors.New("text after the JSON object"))
	}
	wire, err := normalizePolicy("policy", top, "")
	if err != nil {
		return bad(err)
	}
	b, err := json.Marshal(wire)
	if err != nil {
		return bad(err)
	}
	strict := json.NewDecoder(bytes.NewReader(b))
	strict.DisallowUnknownFields()
	var p client.CertificatePolicy
	if err := strict.Decode(&p); err != nil {
		return bad(policyTypeError(err))
	}
	return &p, nil
}

// normalizePolicy renames the members of v, an object of the given schema,
// to their wire names, recursively; path names v in errors.
func normalizePolicy(schema string, v any, path string) (any, error) {
	if elem, isList := strings.CutPrefix(schema, "[]"); isList {
		list, ok := v.([]any)
		if !ok {
			return nil, fmt.Errorf("%s must be a list", path)
		}
		out := make([]any, len(list))
		for i, e := range list {
			var err error
			if out[i], err = normalizePolicy(elem, e, fmt.Sprintf("%s[%d]", path, i)); err != nil {
				return nil, err
			}
		}
		return out, nil
	}
	members, isObject := policySchemas[schema]
	if !isObject {
		return v, nil
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("%s must be an object", path)
	}
	out := map[string]any{}
	for _, k := range sortedKeys(m) {
		mem, known := members[policyKey(k)]
		switch {
		case !known && path == "":
			return nil, fmt.Errorf("unknown member %q", k)
		case !known:
			return nil, fmt.Errorf("unknown member %q in %s", k, path)
		case mem.wire == "" || m[k] == nil:
			continue
		case out[mem.wire] != nil:
			return nil, fmt.Errorf("%s is given twice", policyPath(path, mem.wire))
		}
		var err error
		if out[mem.wire], err = normalizePolicy(mem.holds, m[k], policyPath(path, mem.wire)); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func policyPath(path, member string) string {
	if path == "" {
		return member
	}
	return path + "." + member
}

// policyTypeError says which member has the wrong JSON type.
func policyTypeError(err error) error {
	var te *json.UnmarshalTypeError
	if !errors.As(err, &te) {
		return err
	}
	want := "an object"
	switch te.Type.Kind() {
	case reflect.Bool:
		want = "true or false"
	case reflect.Int32, reflect.Int64:
		want = "a whole number"
	case reflect.String:
		want = "a string"
	case reflect.Slice:
		want = "a list"
	}
	return fmt.Errorf("%s must be %s, not a JSON %s", te.Field, want, te.Value)
}

// The views below print a policy the way az does (the Python SDK's
// CertificatePolicy): camelCase members, null for what is absent.

func certPolicyView(p *client.CertificatePolicy) any {
	if p == nil {
		return nil
	}
	var attrs any
	if p.Attributes != nil {
		attrs = certAttributesView(p.Attributes)
	}
	return map[string]any{
		"attributes":                attrs,
		"id":                        orNil(p.ID),
		"issuerParameters":          issuerParametersView(p.Issuer),
		"keyProperties":             keyPropertiesView(p.KeyProps),
		"lifetimeActions":           lifetimeActionsView(p.LifetimeActions),
		"secretProperties":          secretPropertiesView(p.SecretProps),
		"x509CertificateProperties": x509PropertiesView(p.X509Props),
	}
}

func issuerParametersView(i *client.IssuerParameters) any {
	if i == nil {
		return nil
	}
	return map[string]any{"certificateTransparency": ptrOrNil(i.CertificateTransparency), "certificateType": orNil(i.CertificateType), "name": orNil(i.Name)}
}

func keyPropertiesView(k *client.CertificateKeyProperties) any {
	if k == nil {
		return nil
	}
	return map[string]any{"curve": orNil(k.Curve), "exportable": ptrOrNil(k.Exportable), "keySize": ptrOrNil(k.KeySize),
		"keyType": orNil(k.Kty), "reuseKey": ptrOrNil(k.ReuseKey)}
}

func secretPropertiesView(s *client.CertificateSecretProps) any {
	if s == nil {
		return nil
	}
	return map[string]any{"contentType": orNil(s.ContentType)}
}

func lifetimeActionsView(actions []client.CertificateLifetimeAction) any {
	if actions == nil {
		return nil
	}
	out := []any{}
	for _, a := range actions {
		out = append(out, map[string]any{
			"action":  map[string]any{"actionType": orNil(a.Action.ActionType)},
			"trigger": map[string]any{"daysBeforeExpiry": ptrOrNil(a.Trigger.DaysBeforeExpiry), "lifetimePercentage": ptrOrNil(a.Trigger.LifetimePercentage)},
		})
	}
	return out
}

func x509PropertiesView(x *client.X509CertificateProperties) any {
	if x == nil {
		return nil
	}
	var sans, basic any
	if s := x.SANs; s != nil {
		sans = map[string]any{"dnsNames": listOrNil(s.DNSNames), "emails": listOrNil(s.Emails), "ipAddresses": listOrNil(s.IPAddresses),
			"upns": listOrNil(s.UPNs), "uris": listOrNil(s.URIs)}
	}
	if x.BasicConstraints != nil {
		basic = map[string]any{"ca": x.BasicConstraints.CA}
	}
	return map[string]any{"basicConstraints": basic, "ekus": listOrNil(x.EKUs), "keyUsage": listOrNil(x.KeyUsage), "subject": orNil(x.Subject),
		"subjectAlternativeNames": sans, "validityInMonths": ptrOrNil(x.ValidityMonths)}
}

func listOrNil(l []string) any {
	if l == nil {
		return nil
	}
	return l
}

// withoutNulls drops the null members of v's objects, recursively.
func withoutNulls(v any) any {
	switch x := v.(type) {
	case map[string]any:
		out := map[string]any{}
		for k, e := range x {
			if e != nil {
				out[k] = withoutNulls(e)
			}
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = withoutNulls(e)
		}
		return out
	}
	return v
}
