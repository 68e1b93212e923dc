package client

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"iter"
	"net/http"
	"strings"
)

// KeysClient calls the keys operations of one vault. It is safe for
// concurrent use.
type KeysClient struct{ vaultClient }

// NewKeysClient returns a client for the keys of the vault at vaultURL.
func NewKeysClient(vaultURL string, cred TokenCredential, opts *ClientOptions) (*KeysClient, error) {
	vc, err := newVaultClient(vaultURL, cred, opts)
	if err != nil {
		return nil, err
	}
	return &KeysClient{vc}, nil
}

// Base64URL is binary data, base64url without padding on the wire (padded
// input is accepted).
type Base64URL []byte

// MarshalJSON implements json.Marshaler.
func (b Base64URL) MarshalJSON() ([]byte, error) {
	return json.Marshal(base64.RawURLEncoding.EncodeToString(b))
}

// UnmarshalJSON implements json.Unmarshaler.
func (b *Base64URL) UnmarshalJSON(data []byte) error {
	var s string
	if err := json.Unmarshal(data, &s); err != nil {
		return err
	}
	d, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(s, "="))
	*b = d
	return err
}

// JSONWebKey is a key's public JWK as the service returns it.
type JSONWebKey struct {
	Kid    string    `json:"kid,omitempty"`
	Kty    string    `json:"kty,omitempty"`
	KeyOps []string  `json:"key_ops,omitempty"`
	N      Base64URL `json:"n,omitempty"`
	E      Base64URL `json:"e,omitempty"`
	D      Base64URL `json:"d,omitempty"`
	DP     Base64URL `json:"dp,omitempty"`
	DQ     Base64URL `json:"dq,omitempty"`
	QI     Base64URL `json:"qi,omitempty"`
	P      Base64URL `json:"p,omitempty"`
	Q      Base64URL `json:"q,omitempty"`
	K      Base64URL `json:"k,omitempty"`
	Crv    string    `json:"crv,omitempty"`
	X      Base64URL `json:"x,omitempty"`
	Y      Base64URL `json:"y,omitempty"`
	// T is the protected key of a BYOK import ("key_hsm" on the wire).
	T Base64URL `json:"key_hsm,omitempty"`
}

// KeyAttributes are a key version's attributes; times are Unix seconds.
type KeyAttributes struct {
	Enabled         *bool  `json:"enabled,omitempty"`
	NotBefore       *int64 `json:"nbf,omitempty"`
	Expires         *int64 `json:"exp,omitempty"`
	Created         *int64 `json:"created,omitempty"`
	Updated         *int64 `json:"updated,omitempty"`
	RecoverableDays *int32 `json:"recoverableDays,omitempty"`
	RecoveryLevel   string `json:"recoveryLevel,omitempty"`
	Exportable      *bool  `json:"exportable,omitempty"`
	// HSMPlatform and Attestation are read-only and set for HSM keys only.
	HSMPlatform string          `json:"hsmPlatform,omitempty"`
	Attestation *KeyAttestation `json:"attestation,omitempty"`
}

// KeyAttestation is the attestation of an HSM key (read-only).
type KeyAttestation struct {
	CertificatePEMFile    Base64URL `json:"certificatePemFile,omitempty"`
	PrivateKeyAttestation Base64URL `json:"privateKeyAttestation,omitempty"`
	PublicKeyAttestation  Base64URL `json:"publicKeyAttestation,omitempty"`
	Version               string    `json:"version,omitempty"`
}

// KeyReleasePolicy is a key's secure key release policy; Data is the
// policy document.
type KeyReleasePolicy struct {
	ContentType string    `json:"contentType,omitempty"`
	Immutable   *bool     `json:"immutable,omitempty"`
	Data        Base64URL `json:"data,omitempty"`
}

// KeyBundle is a key version (KeyBundle, and with Kid set, KeyItem).
type KeyBundle struct {
	Key        *JSONWebKey       `json:"key,omitempty"`
	Kid        string            `json:"kid,omitempty"` // list items
	Attributes *KeyAttributes    `json:"attributes,omitempty"`
	Tags       map[string]string `json:"tags,omitempty"`
	Managed    bool              `json:"managed,omitempty"`
	// ReleasePolicy is absent unless the key has one.
	ReleasePolicy *KeyReleasePolicy `json:"release_policy,omitempty"`
	// Deleted keys only.
	RecoveryID         string `json:"recoveryId,omitempty"`
	DeletedDate        int64  `json:"deletedDate,omitempty"`
	ScheduledPurgeDate int64  `json:"scheduledPurgeDate,omitempty"`
}

// KeyCreateParameters is a CreateKey request.
type KeyCreateParameters struct {
	Kty            string            `json:"kty"`
	KeySize        *int32            `json:"key_size,omitempty"`
	PublicExponent *int32            `json:"public_exponent,omitempty"`
	Curve          string            `json:"crv,omitempty"`
	KeyOps         []string          `json:"key_ops,omitempty"`
	Attributes     *KeyAttributes    `json:"attributes,omitempty"`
	Tags           map[string]string `json:"tags,omitempty"`
	ReleasePolicy  *KeyReleasePolicy `json:"release_policy,omitempty"`
}

// KeyImportParameters is an ImportKey request.
type KeyImportParameters struct {
	Key           JSONWebKey        `json:"key"`
	HSM           *bool             `json:"Hsm,omitempty"`
	Attributes    *KeyAttributes    `json:"attributes,omitempty"`
	Tags          map[string]string `json:"tags,omitempty"`
	ReleasePolicy *KeyReleasePolicy `json:"release_policy,omitempty"`
}

// KeyUpdateParameters is an UpdateKey request; nil fields stay unchanged
// and a non-nil empty Tags removes every tag.
type KeyUpdateParameters struct {
	KeyOps     []string          `json:"key_ops,omitempty"`
	Attributes *KeyAttributes    `json:"attributes,omitempty"`
	Tags       map[string]string `json:"tags,omitzero"`
}

// KeyOperationParameters is the input of encrypt, decrypt, wrap, unwrap and
// sign (Value is the digest for sign).
type KeyOperationParameters struct {
	Algorithm string    `json:"alg"`
	Value     Base64URL `json:"value"`
	IV        Base64URL `json:"iv,omitempty"`
	AAD       Base64URL `json:"aad,omitempty"`
	Tag       Base64URL `json:"tag,omitempty"`
}

// KeyOperationResult is the output of encrypt, decrypt, wrap, unwrap and
// sign; Kid names the version used.
type KeyOperationResult struct {
	Kid   string    `json:"kid"`
	Value Base64URL `json:"value"`
	IV    Base64URL `json:"iv,omitempty"`
	Tag   Base64URL `json:"tag,omitempty"`
	AAD   Base64URL `json:"aad,omitempty"`
}

// KeyVerifyParameters is a verify request.
type KeyVerifyParameters struct {
	Algorithm string    `json:"alg"`
	Digest    Base64URL `json:"digest"`
	Signature Base64URL `json:"value"`
}

// KeyRotationPolicy is a key's rotation policy (GET and PUT
// /keys/{name}/rotationpolicy). ID, Created and Updated are read-only.
type KeyRotationPolicy struct {
	ID              string                      `json:"id,omitempty"`
	LifetimeActions []KeyRotationLifetimeAction `json:"lifetimeActions"`
	Attributes      KeyRotationPolicyAttributes `json:"attributes"`
}

// KeyRotationLifetimeAction is one action of a rotation policy and when it
// runs.
type KeyRotationLifetimeAction struct {
	Trigger KeyRotationTrigger `json:"trigger"`
	Action  KeyRotationAction  `json:"action"`
}

// KeyRotationTrigger holds ISO 8601 durations such as "P90D"; one of them
// is set.
type KeyRotationTrigger struct {
	TimeAfterCreate  string `json:"timeAfterCreate,omitempty"`
	TimeBeforeExpiry string `json:"timeBeforeExpiry,omitempty"`
}

// KeyRotationAction names what a lifetime action does: "Rotate" or
// "Notify".
type KeyRotationAction struct {
	Type string `json:"type"`
}

// KeyRotationPolicyAttributes are a rotation policy's attributes:
// ExpiryTime is the ISO 8601 duration new versions expire after; Created
// and Updated are Unix seconds.
type KeyRotationPolicyAttributes struct {
	ExpiryTime string `json:"expiryTime,omitempty"`
	Created    int64  `json:"created,omitempty"`
	Updated    int64  `json:"updated,omitempty"`
}

func (c *KeysClient) bundle(ctx context.Context, method string, segs []string, in any) (KeyBundle, error) {
	var out KeyBundle
	err := c.call(ctx, method, segs, in, &out)
	return out, err
}

// CreateKey creates a key or a new version of it (POST /keys/{name}/create).
func (c *KeysClient) CreateKey(ctx context.Context, name string, p KeyCreateParameters) (KeyBundle, error) {
	return c.bundle(ctx, http.MethodPost, []string{"keys", name, "create"}, p)
}

// ImportKey imports a JWK with private parts (PUT /keys/{name}).
func (c *KeysClient) ImportKey(ctx context.Context, name string, p KeyImportParameters) (KeyBundle, error) {
	return c.bundle(ctx, http.MethodPut, []string{"keys", name}, p)
}

// GetKey returns a version's public key; version "" is the latest.
func (c *KeysClient) GetKey(ctx context.Context, name, version string) (KeyBundle, error) {
	return c.bundle(ctx, http.MethodGet, []string{"keys", name, version}, nil)
}

// UpdateKeyProperties changes key_ops, attributes or tags of a version.
func (c *KeysClient) UpdateKeyProperties(ctx context.Context, name, version string, p KeyUpdateParameters) (KeyBundle, error) {
	return c.bundle(ctx, http.MethodPatch, []string{"keys", name, version}, p)
}

// DeleteKey soft-deletes every version (DELETE /keys/{name}).
func (c *KeysClient) DeleteKey(ctx context.Context, name string) (KeyBundle, error) {
	return c.bundle(ctx, http.MethodDelete, []string{"keys", name}, nil)
}

// GetDeletedKey returns a soft-deleted key.
func (c *KeysClient) GetDeletedKey(ctx context.Context, name string) (KeyBundle, error) {
	return c.bundle(ctx, http.MethodGet, []string{"deletedkeys", name}, nil)
}

// RecoverDeletedKey recovers a soft-deleted key.
func (c *KeysClient) RecoverDeletedKey(ctx context.Context, name string) (KeyBundle, error) {
	return c.bundle(ctx, http.MethodPost, []string{"deletedkeys", name, "recover"}, nil)
}

// PurgeDeletedKey permanently removes a soft-deleted key.
func (c *KeysClient) PurgeDeletedKey(ctx context.Context, name string) error {
	return c.call(ctx, http.MethodDelete, []string{"deletedkeys", name}, nil, nil)
}

// RotateKey creates a new version with the same parameters.
func (c *KeysClient) RotateKey(ctx context.Context, name string) (KeyBundle, error) {
	return c.bundle(ctx, http.MethodPost, []string{"keys", name, "rotate"}, nil)
}

// BackupKey returns an opaque blob of every version.
func (c *KeysClient) BackupKey(ctx context.Context, name string) ([]byte, error) {
	var out struct{ Value Base64URL }
	err := c.call(ctx, http.MethodPost, []string{"keys", name, "backup"}, nil, &out)
	return out.Value, err
}

// RestoreKey restores a key from a BackupKey blob.
func (c *KeysClient) RestoreKey(ctx context.Context, blob []byte) (KeyBundle, error) {
	var out KeyBundle
	err := c.send(ctx, http.MethodPost, c.url([]string{"keys", "restore"}, nil), map[string]Base64URL{"value": blob}, &out)
	return out, err
}

// GetKeyRotationPolicy returns a key's rotation policy.
func (c *KeysClient) GetKeyRotationPolicy(ctx context.Context, name string) (KeyRotationPolicy, error) {
	var out KeyRotationPolicy
	err := c.call(ctx, http.MethodGet, []string{"keys", name, "rotationpolicy"}, nil, &out)
	return out, err
}

// UpdateKeyRotationPolicy replaces a key's rotation policy.
func (c *KeysClient) UpdateKeyRotationPolicy(ctx context.Context, name string, p KeyRotationPolicy) (KeyRotationPolicy, error) {
	var out KeyRotationPolicy
	err := c.call(ctx, http.MethodPut, []string{"keys", name, "rotationpolicy"}, p, &out)
	return out, err
}

// Do runs a crypto operation: op is encrypt, decrypt, wrapkey, unwrapkey
// or sign; version "" is the latest.
func (c *KeysClient) Do(ctx context.Context, name, version, op string, p KeyOperationParameters) (KeyOperationResult, error) {
	var out KeyOperationResult
	segs := []string{"keys", name, op}
	if version != "" {
		segs = []string{"keys", name, version, op}
	}
	err := c.call(ctx, http.MethodPost, segs, p, &out)
	return out, err
}

// Verify checks a signature over a digest.
func (c *KeysClient) Verify(ctx context.Context, name, version string, p KeyVerifyParameters) (bool, error) {
	var out struct{ Value bool }
	segs := []string{"keys", name, "verify"}
	if version != "" {
		segs = []string{"keys", name, version, "verify"}
	}
	err := c.call(ctx, http.MethodPost, segs, p, &out)
	return out.Value, err
}

// GetRandomBytes returns count (1-128) random bytes (POST /rng).
func (c *KeysClient) GetRandomBytes(ctx context.Context, count int) ([]byte, error) {
	var out struct{ Value Base64URL }
	err := c.send(ctx, http.MethodPost, c.url([]string{"rng"}, nil), map[string]int{"count": count}, &out)
	return out.Value, err
}

// ListKeys yields the vault's keys (versionless kids).
func (c *KeysClient) ListKeys(ctx context.Context, opts *ListOptions) iter.Seq2[KeyBundle, error] {
	return listAll[KeyBundle](ctx, &c.vaultClient, []string{"keys"}, opts)
}

// ListKeyVersions yields a key's versions.
func (c *KeysClient) ListKeyVersions(ctx context.Context, name string, opts *ListOptions) iter.Seq2[KeyBundle, error] {
	return listAll[KeyBundle](ctx, &c.vaultClient, []string{"keys", name, "versions"}, opts)
}

// ListDeletedKeys yields the soft-deleted keys.
func (c *KeysClient) ListDeletedKeys(ctx context.Context, opts *ListOptions) iter.Seq2[KeyBundle, error] {
	return listAll[KeyBundle](ctx, &c.vaultClient, []string{"deletedkeys"}, opts)
}
