package client

import (
	"fmt"
	"net/url"
	"strings"
)

// ParseSecretID splits a secret identifier into the vault URL, the secret
// name and the version ("" when the id has none). It accepts
// https://{vault}/secrets/{name}[/{version}] and the recovery id of a
// deleted secret, https://{vault}/deletedsecrets/{name}.
func ParseSecretID(id string) (vaultURL, name, version string, err error) {
	u, err := url.Parse(id)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return "", "", "", fmt.Errorf("invalid secret id %q: not an absolute URL", id)
	}
	segs := strings.Split(strings.Trim(u.Path, "/"), "/")
	collection := strings.ToLower(segs[0])
	ok := (collection == "secrets" && (len(segs) == 2 || len(segs) == 3)) ||
		(collection == "deletedsecrets" && len(segs) == 2)
	if !ok || segs[1] == "" {
		return "", "", "", fmt.Errorf("invalid secret id %q: want https://{vault}/secrets/{name}[/{version}]", id)
	}
	if len(segs) == 3 {
		version = segs[2]
	}
	return u.Scheme + "://" + u.Host, segs[1], version, nil
}
