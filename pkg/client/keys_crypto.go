package client

import "context"

// KeySignParameters is the body of a sign request: Value is the digest,
// computed by the caller with the hash the algorithm names (SHA-256 for
// RS256, PS256, ES256 and ES256K).
type KeySignParameters struct {
	Algorithm string    `json:"alg"`
	Value     Base64URL `json:"value"`
}

// Encrypt encrypts p.Value with a key version (version "" is the latest):
// POST /keys/{name}[/{version}]/encrypt. For AES-GCM the result carries the
// IV and the authentication tag the service chose; AES-CBC takes p.IV.
func (c *KeysClient) Encrypt(ctx context.Context, name, version string, p KeyOperationParameters) (KeyOperationResult, error) {
	return c.Do(ctx, name, version, "encrypt", p)
}

// Decrypt decrypts p.Value (POST /keys/{name}[/{version}]/decrypt); AES-GCM
// needs p.IV and p.Tag, and p.AAD if encryption had one.
func (c *KeysClient) Decrypt(ctx context.Context, name, version string, p KeyOperationParameters) (KeyOperationResult, error) {
	return c.Do(ctx, name, version, "decrypt", p)
}

// WrapKey wraps the key in p.Value (POST /keys/{name}[/{version}]/wrapkey).
func (c *KeysClient) WrapKey(ctx context.Context, name, version string, p KeyOperationParameters) (KeyOperationResult, error) {
	return c.Do(ctx, name, version, "wrapkey", p)
}

// UnwrapKey unwraps the key in p.Value
// (POST /keys/{name}[/{version}]/unwrapkey).
func (c *KeysClient) UnwrapKey(ctx context.Context, name, version string, p KeyOperationParameters) (KeyOperationResult, error) {
	return c.Do(ctx, name, version, "unwrapkey", p)
}

// Sign signs the digest in p.Value (POST /keys/{name}[/{version}]/sign);
// the result's Value is the signature and its Kid the version that signed.
func (c *KeysClient) Sign(ctx context.Context, name, version string, p KeySignParameters) (KeyOperationResult, error) {
	return c.Do(ctx, name, version, "sign", KeyOperationParameters{Algorithm: p.Algorithm, Value: p.Value})
}
