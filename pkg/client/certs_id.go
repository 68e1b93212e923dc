package client

import (
	"fmt"
	"net/url"
	"strings"
)

// ParseCertificateID splits a certificate identifier into the vault URL,
// the certificate name and the version ("" when the id has none). It
// accepts https://{vault}/certificates/{name}[/{version}] and the recovery
// id of a deleted certificate, https://{vault}/deletedcertificates/{name}.
func ParseCertificateID(id string) (vaultURL, name, version string, err error) {
	return parseObjectID(id, "certificate", "certificates")
}

// parseObjectID parses https://{vault}/{collection}/{name}[/{version}] and
// https://{vault}/deleted{collection}/{name}; kind names the object in
// errors.
func parseObjectID(id, kind, collection string) (vaultURL, name, version string, err error) {
	u, err := url.Parse(id)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") || u.RawQuery != "" || u.Fragment != "" {
		return "", "", "", fmt.Errorf("invalid %s id %q: not an absolute URL", kind, id)
	}
	segs := strings.Split(strings.Trim(u.Path, "/"), "/")
	first := strings.ToLower(segs[0])
	ok := (first == collection && (len(segs) == 2 || len(segs) == 3)) ||
		(first == "deleted"+collection && len(segs) == 2)
	if !ok || segs[1] == "" || (len(segs) == 3 && segs[2] == "") {
		return "", "", "", fmt.Errorf("invalid %s id %q: want https://{vault}/%s/{name}[/{version}]", kind, id, collection)
	}
	if len(segs) == 3 {
		version = segs[2]
	}
	return u.Scheme + "://" + u.Host, segs[1], version, nil
}
