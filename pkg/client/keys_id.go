package client

import (
	"fmt"
	"net/url"
	"strings"
)

// ParseKeyID splits a key identifier (a kid) into the vault URL, the key
// name and the version ("" when the id has none). It accepts
// https://{vault}/keys/{name}[/{version}] and the recovery id of a deleted
// key, https://{vault}/deletedkeys/{name}.
func ParseKeyID(id string) (vaultURL, name, version string, err error) {
	u, err := url.Parse(id)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") || u.RawQuery != "" || u.Fragment != "" {
		return "", "", "", fmt.Errorf("invalid key id %q: not an absolute URL", id)
	}
	segs := strings.Split(strings.Trim(u.Path, "/"), "/")
	collection := strings.ToLower(segs[0])
	ok := (collection == "keys" && (len(segs) == 2 || len(segs) == 3)) ||
		(collection == "deletedkeys" && len(segs) == 2)
	if !ok || segs[1] == "" || (len(segs) == 3 && segs[2] == "") {
		return "", "", "", fmt.Errorf("invalid key id %q: want https://{vault}/keys/{name}[/{version}]", id)
	}
	if len(segs) == 3 {
		version = segs[2]
	}
	return u.Scheme + "://" + u.Host, segs[1], version, nil
}
