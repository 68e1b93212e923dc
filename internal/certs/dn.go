package certs

import (
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"strings"
	"unicode/utf8"

	"github.com/keyhaven/keyhaven/internal/kverr"
)

// dnAttrs maps the attribute names accepted in a subject string to their
// object identifiers.
var dnAttrs = map[string]asn1.ObjectIdentifier{
	"CN": {2, 5, 4, 3}, "SN": {2, 5, 4, 4}, "SERIALNUMBER": {2, 5, 4, 5}, "C": {2, 5, 4, 6},
	"L": {2, 5, 4, 7}, "S": {2, 5, 4, 8}, "ST": {2, 5, 4, 8}, "STREET": {2, 5, 4, 9},
	"O": {2, 5, 4, 10}, "OU": {2, 5, 4, 11}, "T": {2, 5, 4, 12}, "TITLE": {2, 5, 4, 12},
	"G": {2, 5, 4, 42}, "GIVENNAME": {2, 5, 4, 42}, "POSTALCODE": {2, 5, 4, 17},
	"DC": {0, 9, 2342, 19200300, 100, 1, 25}, "UID": {0, 9, 2342, 19200300, 100, 1, 1},
	"E": {1, 2, 840, 113549, 1, 9, 1}, "EMAIL": {1, 2, 840, 113549, 1, 9, 1}, "EMAILADDRESS": {1, 2, 840, 113549, 1, 9, 1},
}

const maxDNLength = 4096

// parseDN parses a subject such as "CN=www.contoso.com, O=Contoso, C=US"
// into its DER RDNSequence. As in LDAP strings the first attribute is the
// most specific, so the DER order is reversed. Values may be quoted or use
// backslash escapes; "" is the empty name.
func parseDN(s string) ([]byte, error) {
	if len(s) > maxDNLength || !utf8.ValidString(s) {
		return nil, kverr.BadParameterf("The subject is not a valid distinguished name.")
	}
	var seq pkix.RDNSequence
	for _, part := range splitUnescaped(s, ",;") {
		part = strings.TrimSpace(part)
		if part == "" {
			if strings.TrimSpace(s) == "" {
				break
			}
			return nil, kverr.BadParameterf("The subject %q has an empty component.", s)
		}
		var rdn pkix.RelativeDistinguishedNameSET
		for _, atv := range splitUnescaped(part, "+") {
			a, err := parseATV(strings.TrimSpace(atv), s)
			if err != nil {
				return nil, err
			}
			rdn = append(rdn, a)
		}
		seq = append(pkix.RDNSequence{rdn}, seq...)
	}
	return asn1.Marshal(seq)
}

func parseATV(atv, whole string) (pkix.AttributeTypeAndValue, error) {
	i := strings.IndexByte(atv, '=')
	if i <= 0 {
		return pkix.AttributeTypeAndValue{}, kverr.BadParameterf("The subject %q is not a distinguished name: use NAME=value pairs such as CN=example.com.", whole)
	}
	name := strings.ToUpper(strings.TrimSpace(atv[:i]))
	oid, ok := dnAttrs[name]
	if !ok {
		var err error
		if oid, err = parseOID(name); err != nil || !oidRE.MatchString(name) {
			return pkix.AttributeTypeAndValue{}, kverr.BadParameterf("Unknown attribute %q in the subject.", name)
		}
	}
	value, err := unescapeValue(strings.TrimSpace(atv[i+1:]))
	if err != nil || value == "" {
		return pkix.AttributeTypeAndValue{}, kverr.BadParameterf("The subject %q has an empty or malformed value for %s.", whole, name)
	}
	if name == "C" && len(value) != 2 {
		return pkix.AttributeTypeAndValue{}, kverr.BadParameterf("The country (C) in the subject must be a two-letter code.")
	}
	return pkix.AttributeTypeAndValue{Type: oid, Value: value}, nil
}

// splitUnescaped splits s at any of seps outside quotes and escapes.
func splitUnescaped(s, seps string) []string {
	var parts []string
	start, quoted := 0, false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\\':
			i++
		case c == '"':
			quoted = !quoted
		case !quoted && strings.IndexByte(seps, c) >= 0:
			parts = append(parts, s[start:i])
			start = i + 1
		}
	}
	return append(parts, s[start:])
}

func unescapeValue(v string) (string, error) {
	if len(v) >= 2 && v[0] == '"' && v[len(v)-1] == '"' {
		v = v[1 : len(v)-1]
	}
	var b strings.Builder
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c == '"' {
			return "", errBadDN
		}
		if c == '\\' {
			if i+1 == len(v) {
				return "", errBadDN
			}
			i++
			c = v[i]
		}
		b.WriteByte(c)
	}
	return b.String(), nil
}

var errBadDN = kverr.BadParameterf("The subject is not a valid distinguished name.")

// formatDN writes a certificate's subject the way parseDN reads it:
// most specific attribute first, ", " between them.
func formatDN(c *x509.Certificate) string {
	var seq pkix.RDNSequence
	if _, err := asn1.Unmarshal(c.RawSubject, &seq); err != nil {
		return c.Subject.String()
	}
	names := map[string]string{}
	for _, n := range []string{"CN", "SERIALNUMBER", "C", "L", "ST", "STREET", "O", "OU", "T", "G", "POSTALCODE", "DC", "UID", "E", "SN"} {
		names[dnAttrs[n].String()] = n
	}
	parts := make([]string, 0, len(seq))
	for i := len(seq) - 1; i >= 0; i-- {
		var atvs []string
		for _, a := range seq[i] {
			name, ok := names[a.Type.String()]
			if !ok {
				name = a.Type.String()
			}
			atvs = append(atvs, name+"="+escapeValue(a.Value))
		}
		parts = append(parts, strings.Join(atvs, "+"))
	}
	return strings.Join(parts, ", ")
}

func escapeValue(v any) string {
	s, ok := v.(string)
	if !ok {
		return ""
	}
	if strings.ContainsAny(s, ",;+\"\\") || strings.TrimSpace(s) != s {
		return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
	}
	return s
}
