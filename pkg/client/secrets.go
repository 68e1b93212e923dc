package client

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
)

// SecretsClient calls the secrets operations of one vault. It is safe for
// concurrent use.
type SecretsClient struct{ vaultClient }

// vaultClient is what every data-plane client shares: the vault's URL, the
// API version and the authenticated pipeline.
type vaultClient struct {
	vault      *url.URL
	apiVersion string
	p          *authPipeline
}

// newVaultClient checks the vault URL and the credential.
func newVaultClient(vaultURL string, cred TokenCredential, opts *ClientOptions) (vaultClient, error) {
	u, err := url.Parse(strings.TrimSuffix(vaultURL, "/"))
	if err != nil || u.Scheme != "https" || u.Host == "" || u.Path != "" || u.RawQuery != "" || u.User != nil {
		return vaultClient{}, fmt.Errorf("invalid vault URL %q: want https://{vault-host}[:port]", vaultURL)
	}
	if cred == nil {
		return vaultClient{}, fmt.Errorf("a credential is required")
	}
	var o ClientOptions
	if opts != nil {
		o = *opts
	}
	return vaultClient{vault: u, apiVersion: first(o.APIVersion, DefaultAPIVersion), p: newAuthPipeline(cred, o)}, nil
}

// NewSecretsClient returns a client for the vault at vaultURL, an https URL
// such as https://myvault.vault.localhost:8443, authenticating with cred.
// opts may be nil.
func NewSecretsClient(vaultURL string, cred TokenCredential, opts *ClientOptions) (*SecretsClient, error) {
	vc, err := newVaultClient(vaultURL, cred, opts)
	if err != nil {
		return nil, err
	}
	return &SecretsClient{vc}, nil
}

// VaultURL is the vault's base URL, without a trailing slash.
func (c *vaultClient) VaultURL() string { return c.vault.String() }

// SetSecret stores a new version of secret name (PUT /secrets/{name}).
func (c *SecretsClient) SetSecret(ctx context.Context, name string, params SecretSetParameters) (SecretBundle, error) {
	var out SecretBundle
	err := c.call(ctx, http.MethodPut, []string{"secrets", name}, params, &out)
	return out, err
}

// GetSecret returns a version of secret name with its value; version ""
// means the latest (GET /secrets/{name}/{version}).
func (c *SecretsClient) GetSecret(ctx context.Context, name, version string) (SecretBundle, error) {
	var out SecretBundle
	err := c.call(ctx, http.MethodGet, []string{"secrets", name, version}, nil, &out)
	return out, err
}

// UpdateSecretProperties changes the content type, attributes or tags of a
// version; version "" means the latest (PATCH /secrets/{name}/{version}).
// The result carries no value.
func (c *SecretsClient) UpdateSecretProperties(ctx context.Context, name, version string, params SecretUpdateParameters) (SecretBundle, error) {
	var out SecretBundle
	err := c.call(ctx, http.MethodPatch, []string{"secrets", name, version}, params, &out)
	return out, err
}

// DeleteSecret deletes all versions of secret name (DELETE /secrets/{name}).
func (c *SecretsClient) DeleteSecret(ctx context.Context, name string) (DeletedSecretBundle, error) {
	var out DeletedSecretBundle
	err := c.call(ctx, http.MethodDelete, []string{"secrets", name}, nil, &out)
	return out, err
}

// GetDeletedSecret returns a soft-deleted secret (GET /deletedsecrets/{name}).
func (c *SecretsClient) GetDeletedSecret(ctx context.Context, name string) (DeletedSecretBundle, error) {
	var out DeletedSecretBundle
	err := c.call(ctx, http.MethodGet, []string{"deletedsecrets", name}, nil, &out)
	return out, err
}

// PurgeDeletedSecret permanently deletes a soft-deleted secret
// (DELETE /deletedsecrets/{name}).
func (c *SecretsClient) PurgeDeletedSecret(ctx context.Context, name string) error {
	return c.call(ctx, http.MethodDelete, []string{"deletedsecrets", name}, nil, nil)
}

// RecoverDeletedSecret restores a soft-deleted secret with all its versions
// (POST /deletedsecrets/{name}/recover) and returns its latest version.
func (c *SecretsClient) RecoverDeletedSecret(ctx context.Context, name string) (SecretBundle, error) {
	var out SecretBundle
	err := c.call(ctx, http.MethodPost, []string{"deletedsecrets", name, "recover"}, nil, &out)
	return out, err
}

// BackupSecret returns an opaque blob holding all versions of secret name
// (POST /secrets/{name}/backup).
func (c *SecretsClient) BackupSecret(ctx context.Context, name string) (BackupSecretResult, error) {
	var out BackupSecretResult
	err := c.call(ctx, http.MethodPost, []string{"secrets", name, "backup"}, nil, &out)
	return out, err
}

// RestoreSecret restores a secret from a BackupSecret blob
// (POST /secrets/restore).
func (c *SecretsClient) RestoreSecret(ctx context.Context, params SecretRestoreParameters) (SecretBundle, error) {
	var out SecretBundle
	err := c.send(ctx, http.MethodPost, c.url([]string{"secrets", "restore"}, nil), params, &out)
	return out, err
}

// namePattern is the spec's pattern for object names; versions use the same
// alphabet. Checking both keeps a name from changing the request path.
var namePattern = regexp.MustCompile(`^[0-9A-Za-z-]{1,127}$`)

// validateSegments checks segs = collection, name[, version or operation]:
// the name must match the spec's pattern and later segments may be empty
// (an empty version means "latest") or use the same alphabet. This keeps
// caller input from changing the request path.
func validateSegments(segs []string) error {
	if len(segs) > 1 && !namePattern.MatchString(segs[1]) {
		return fmt.Errorf("invalid name %q: use 1-127 letters, digits and dashes", segs[1])
	}
	for _, s := range segs[min(2, len(segs)):] {
		if s != "" && !namePattern.MatchString(s) {
			return fmt.Errorf("invalid version %q", s)
		}
	}
	return nil
}

// url builds {vault}/{segs...}?{query}&api-version=...; an empty last
// segment keeps the trailing slash that means "latest version", as the
// Azure SDKs send it.
func (c *vaultClient) url(segs []string, query url.Values) *url.URL {
	u := *c.vault
	u.Path = "/" + strings.Join(segs, "/")
	if query == nil {
		query = url.Values{}
	}
	query.Set("api-version", c.apiVersion)
	u.RawQuery = query.Encode()
	return &u
}

// call sends one request with an optional JSON body and decodes the
// response into out (nil: discard).
func (c *vaultClient) call(ctx context.Context, method string, segs []string, in, out any) error {
	if err := validateSegments(segs); err != nil {
		return err
	}
	return c.send(ctx, method, c.url(segs, nil), in, out)
}

// callFor is call decoding the answer into a new T.
func callFor[T any](ctx context.Context, c *vaultClient, method string, segs []string, in any) (T, error) {
	var out T
	err := c.call(ctx, method, segs, in, &out)
	return out, err
}

func (c *vaultClient) send(ctx context.Context, method string, u *url.URL, in, out any) error {
	var body []byte
	if in != nil {
		var err error
		if body, err = json.Marshal(in); err != nil {
			return err
		}
	}
	resp, err := c.p.do(ctx, method, u, body)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	return decodeBody(resp, out)
}

// maxResponseBody bounds a decoded answer (a backup of 500 versions fits).
const maxResponseBody = 64 << 20

func decodeBody(resp *http.Response, out any) error {
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBody))
	if err != nil {
		return fmt.Errorf("reading response: %w", err)
	}
	if out == nil {
		return nil
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return fmt.Errorf("HTTP %d response has no body", resp.StatusCode)
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("decoding response: %w", err)
	}
	return nil
}
