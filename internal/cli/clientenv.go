package cli

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"regexp"
	"strings"

	"github.com/keyhaven/keyhaven/pkg/client"
)

// Environment variables of the secret commands. Credentials come from the
// variables the Azure SDKs read (see client.CredentialFromEnv).
const (
	envDNSSuffix     = "KEYHAVEN_DNS_SUFFIX" // vault DNS suffix, may carry a port: vault.localhost:8443
	envVaultURL      = "KEYHAVEN_VAULT_URL"  // vault used when neither --vault-name nor --vault-url is given
	defaultDNSSuffix = "vault.localhost"
)

// newSecretsClient builds the client for a vault URL; tests replace it.
var newSecretsClient = func(vaultURL string) (*client.SecretsClient, error) {
	cred, err := cliCredential()
	if err != nil {
		return nil, err
	}
	return client.NewSecretsClient(vaultURL, cred, nil)
}

// newKeysClient builds the keys client for a vault URL; tests replace it.
var newKeysClient = func(vaultURL string) (*client.KeysClient, error) {
	cred, err := cliCredential()
	if err != nil {
		return nil, err
	}
	return client.NewKeysClient(vaultURL, cred, nil)
}

// newCertificatesClient builds the certificates client for a vault URL;
// tests replace it.
var newCertificatesClient = func(vaultURL string) (*client.CertificatesClient, error) {
	cred, err := cliCredential()
	if err != nil {
		return nil, err
	}
	return client.NewCertificatesClient(vaultURL, cred, nil)
}

// vaultNamePattern is Azure's rule for vault names.
var vaultNamePattern = regexp.MustCompile(`^[A-Za-z0-9-]{3,24}$`)

// resolveVaultURL picks the vault from --vault-name, --vault-url or
// KEYHAVEN_VAULT_URL, in that order of precedence; the flags exclude
// each other.
func resolveVaultURL(name, rawURL string, getenv func(string) string) (string, error) {
	switch {
	case name != "" && rawURL != "":
		return "", usageError{errors.New("--vault-name and --vault-url are mutually exclusive")}
	case name != "":
		return vaultURLFromName(name, dnsSuffix(getenv))
	case rawURL != "":
		u, err := checkVaultURL(rawURL)
		if err != nil {
			return "", usageError{fmt.Errorf("--vault-url: %w", err)}
		}
		return u, nil
	case getenv(envVaultURL) != "":
		u, err := checkVaultURL(getenv(envVaultURL))
		if err != nil {
			return "", fmt.Errorf("%s: %w", envVaultURL, err)
		}
		return u, nil
	}
	return "", usageError{fmt.Errorf("one of --vault-name or --vault-url is required (or set %s)", envVaultURL)}
}

// dnsSuffix is KEYHAVEN_DNS_SUFFIX, or else the suffix (host without its
// first label, with the port) of KEYHAVEN_VAULT_URL, so that a dev server's
// exports make --vault-name work on its port.
func dnsSuffix(getenv func(string) string) string {
	if s := getenv(envDNSSuffix); s != "" {
		return s
	}
	if u, err := url.Parse(getenv(envVaultURL)); err == nil && u.Host != "" {
		if _, rest, ok := strings.Cut(u.Host, "."); ok {
			return rest
		}
	}
	return ""
}

// vaultURLFromName returns https://{name}.{suffix}; suffix defaults to
// vault.localhost and may include a port.
func vaultURLFromName(name, suffix string) (string, error) {
	if !vaultNamePattern.MatchString(name) {
		return "", usageError{fmt.Errorf("invalid --vault-name %q: use 3-24 letters, digits and dashes", name)}
	}
	if suffix == "" {
		suffix = defaultDNSSuffix
	}
	suffix = strings.TrimSuffix(strings.TrimPrefix(suffix, "https://"), "/")
	u, err := checkVaultURL("https://" + name + "." + suffix)
	if err != nil {
		return "", fmt.Errorf("%s %q: %w", envDNSSuffix, suffix, err)
	}
	return u, nil
}

// checkVaultURL accepts https://host[:port] with an optional trailing slash.
func checkVaultURL(raw string) (string, error) {
	u, err := url.Parse(strings.TrimSuffix(raw, "/"))
	if err != nil || u.Scheme != "https" || u.Host == "" || u.Path != "" || u.RawQuery != "" || u.User != nil {
		return "", fmt.Errorf("invalid vault URL %q: want https://{host}[:port]", raw)
	}
	return u.String(), nil
}

// lookupEnv is os.Getenv; tests use t.Setenv.
var lookupEnv = os.Getenv
