package httpapi

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/keyhaven/keyhaven/internal/jsonx"
	"github.com/keyhaven/keyhaven/internal/kcrypto"
	"github.com/keyhaven/keyhaven/internal/keys"
	"github.com/keyhaven/keyhaven/internal/kverr"
	"github.com/keyhaven/keyhaven/internal/vaults"
)

const kv = "Microsoft.KeyVault/vaults/keys/"

// Body limits: a JWK of an RSA-4096 key with every CRT part is about 4 KiB;
// crypto operations carry at most a few KiB (an RSA block, a wrapped key,
// an AES payload), bounded generously.
const (
	keyBody    = 64 << 10
	cryptoBody = 256 << 10
)

func keyRoutes() []route {
	rs := []route{
		{method: "POST", pattern: "/keys/{name}/create", op: "CreateKey", action: kv + "create/action", scope: scopeObject, body: keyBody, handle: (*Server).createKey},
		{method: "PUT", pattern: "/keys/{name}", op: "ImportKey", action: kv + "import/action", scope: scopeObject, body: keyBody, handle: (*Server).importKey},
		{method: "GET", pattern: "/keys/{name}", op: "GetKey", action: kv + "read", scope: scopeObject, handle: (*Server).getKey},
		{method: "GET", pattern: "/keys/{name}/{version}", op: "GetKey", action: kv + "read", scope: scopeObject, handle: (*Server).getKey},
		{method: "PATCH", pattern: "/keys/{name}", op: "UpdateKey", action: kv + "update/action", scope: scopeObject, body: keyBody, handle: (*Server).updateKey},
		{method: "PATCH", pattern: "/keys/{name}/{version}", op: "UpdateKey", action: kv + "update/action", scope: scopeObject, body: keyBody, handle: (*Server).updateKey},
		{method: "DELETE", pattern: "/keys/{name}", op: "DeleteKey", action: kv + "delete", scope: scopeObject, handle: (*Server).deleteKey},
		{method: "GET", pattern: "/keys", op: "GetKeys", action: kv + "read", scope: scopeVault, handle: listRoute(func(s *Server, c *call, cur string, max int) (keys.Page[keys.Key], error) {
			return s.Keys.List(c.r.Context(), c.vault, cur, max)
		}, func(c *call, k *keys.Key) keyBundle { return c.keyJSON(k, true, false) })},
		{method: "GET", pattern: "/keys/{name}/versions", op: "GetKeyVersions", action: kv + "read", scope: scopeObject, handle: listRoute(func(s *Server, c *call, cur string, max int) (keys.Page[keys.Key], error) {
			return s.Keys.ListVersions(c.r.Context(), c.vault, c.param(0), cur, max)
		}, func(c *call, k *keys.Key) keyBundle { return c.keyJSON(k, true, true) })},
		{method: "POST", pattern: "/keys/{name}/backup", op: "BackupKey", action: kv + "backup/action", scope: scopeObject, handle: backupRoute(func(s *Server) func(context.Context, *vaults.Vault, string) ([]byte, error) { return s.Keys.Backup })},
		{method: "POST", pattern: "/keys/restore", op: "RestoreKey", action: kv + "restore/action", scope: scopeVault, body: restoreBody, handle: (*Server).restoreKey},
		{method: "POST", pattern: "/keys/{name}/rotate", op: "RotateKey", action: kv + "rotate/action", scope: scopeObject, handle: (*Server).rotateKey},
		{method: "GET", pattern: "/keys/{name}/rotationpolicy", op: "GetKeyRotationPolicy", action: "Microsoft.KeyVault/vaults/keyrotationpolicies/read", scope: scopeObject, handle: (*Server).getRotationPolicy},
		{method: "PUT", pattern: "/keys/{name}/rotationpolicy", op: "UpdateKeyRotationPolicy", action: "Microsoft.KeyVault/vaults/keyrotationpolicies/write", scope: scopeObject, body: keyBody, handle: (*Server).updateRotationPolicy},
		{method: "GET", pattern: "/deletedkeys", op: "GetDeletedKeys", action: kv + "read", scope: scopeVault, handle: listRoute(func(s *Server, c *call, cur string, max int) (keys.Page[keys.DeletedKey], error) {
			return s.Keys.ListDeleted(c.r.Context(), c.vault, cur, max)
		}, func(c *call, d *keys.DeletedKey) keyBundle { return c.deletedKeyJSON(d, true) })},
		{method: "GET", pattern: "/deletedkeys/{name}", op: "GetDeletedKey", action: kv + "read", scope: scopeObject, handle: (*Server).getDeletedKey},
		{method: "DELETE", pattern: "/deletedkeys/{name}", op: "PurgeDeletedKey", action: kv + "purge/action", scope: scopeObject, handle: purgeRoute(func(s *Server) func(context.Context, *vaults.Vault, string) error { return s.Keys.Purge })},
		{method: "POST", pattern: "/deletedkeys/{name}/recover", op: "RecoverDeletedKey", action: kv + "recover/action", scope: scopeObject, handle: (*Server).recoverDeletedKey},
		// Attestation needs an HSM and release needs secure key release: both
		// are declared so callers get a clear answer instead of a 404.
		{method: "GET", pattern: "/keys/{name}/{version}/attestation", op: "GetKeyAttestation", action: kv + "read", scope: scopeObject, handle: unsupported("Key attestation is available only for HSM-protected keys; this server has no HSM backend configured.")},
		{method: "POST", pattern: "/keys/{name}/{version}/release", op: "release", action: kv + "release/action", scope: scopeObject, body: keyBody, handle: unsupported("Secure key release is not supported by this server.")},
		{method: "POST", pattern: "/keys/{name}/release", op: "release", action: kv + "release/action", scope: scopeObject, body: keyBody, handle: unsupported("Secure key release is not supported by this server.")},
		// Azure serves /rng on Managed HSM only; keyhaven serves it on vaults
		// under a keys action, so Crypto Officer and Administrator have it.
		{method: "POST", pattern: "/rng", op: "GetRandomBytes", action: kv + "rng/action", scope: scopeVault, body: 1 << 10, handle: (*Server).randomBytes},
	}
	for _, op := range []struct{ path, name, op, action string }{
		{"encrypt", "encrypt", kcrypto.OpEncrypt, "encrypt/action"},
		{"decrypt", "decrypt", kcrypto.OpDecrypt, "decrypt/action"},
		{"sign", "sign", kcrypto.OpSign, "sign/action"},
		{"verify", "verify", kcrypto.OpVerify, "verify/action"},
		{"wrapkey", "wrapKey", kcrypto.OpWrapKey, "wrap/action"},
		{"unwrapkey", "unwrapKey", kcrypto.OpUnwrapKey, "unwrap/action"},
	} {
		h := cryptoHandler(op.op)
		rs = append(rs,
			route{method: "POST", pattern: "/keys/{name}/" + op.path, op: op.name, action: kv + op.action, scope: scopeObject, body: cryptoBody, handle: h},
			route{method: "POST", pattern: "/keys/{name}/{version}/" + op.path, op: op.name, action: kv + op.action, scope: scopeObject, body: cryptoBody, handle: h})
	}
	return rs
}

// Wire shapes of keys.json.

type keyAttributesIn struct {
	secretAttributesIn
	Exportable *bool `json:"exportable"`
}

type keyCreateRequest struct {
	Kty            string            `json:"kty"`
	KeySize        *int              `json:"key_size"`
	PublicExponent *int              `json:"public_exponent"`
	KeyOps         []string          `json:"key_ops"`
	Attributes     *keyAttributesIn  `json:"attributes"`
	Tags           map[string]string `json:"tags"`
	Crv            string            `json:"crv"`
	ReleasePolicy  json.RawMessage   `json:"release_policy"`
}

type keyImportRequest struct {
	Key           json.RawMessage   `json:"key"`
	HSM           *bool             `json:"Hsm"`
	Attributes    *keyAttributesIn  `json:"attributes"`
	Tags          map[string]string `json:"tags"`
	ReleasePolicy json.RawMessage   `json:"release_policy"`
}

type keyUpdateRequest struct {
	KeyOps        []string          `json:"key_ops"`
	Attributes    *keyAttributesIn  `json:"attributes"`
	Tags          map[string]string `json:"tags"`
	ReleasePolicy json.RawMessage   `json:"release_policy"`
}

// refuseRelease rejects what needs secure key release: a release policy or
// an exportable key. Silently dropping either would mislead the caller.
func refuseRelease(policy json.RawMessage, a *keyAttributesIn) error {
	if len(policy) > 0 && string(policy) != "null" {
		return kverr.BadParameterf("Secure key release (release_policy) is not supported by this server.")
	}
	if a != nil && a.Exportable != nil && *a.Exportable {
		return kverr.BadParameterf("AKV.SKR.1004: Exportable keys must have release policy; secure key release is not supported by this server.")
	}
	return nil
}

func (a *keyAttributesIn) update() keys.AttributesUpdate {
	if a == nil {
		return keys.AttributesUpdate{}
	}
	return a.secretAttributesIn.update()
}

type keyAttributesOut struct {
	Enabled         bool   `json:"enabled"`
	NotBefore       *int64 `json:"nbf,omitempty"`
	Expires         *int64 `json:"exp,omitempty"`
	Created         int64  `json:"created"`
	Updated         int64  `json:"updated"`
	RecoverableDays int    `json:"recoverableDays"`
	RecoveryLevel   string `json:"recoveryLevel"`
	Exportable      bool   `json:"exportable"`
}

type keyBundle struct {
	Key        *kcrypto.JWK      `json:"key,omitempty"`
	Kid        string            `json:"kid,omitempty"` // list items
	Attributes keyAttributesOut  `json:"attributes"`
	Tags       map[string]string `json:"tags,omitempty"`
	Managed    bool              `json:"managed,omitempty"`
	// Deleted keys only.
	RecoveryID         string `json:"recoveryId,omitempty"`
	DeletedDate        int64  `json:"deletedDate,omitempty"`
	ScheduledPurgeDate int64  `json:"scheduledPurgeDate,omitempty"`
}

// keyJSON encodes a key: a bundle with the public JWK, or a list item with
// only its kid (versioned or not).
func (c *call) keyJSON(k *keys.Key, item, withVersion bool) keyBundle {
	kid := c.base() + "/keys/" + k.Name
	if withVersion {
		kid += "/" + k.Version
	}
	a := k.Attributes
	b := keyBundle{Tags: k.Tags, Managed: k.Managed, Attributes: keyAttributesOut{Enabled: a.Enabled, NotBefore: a.NotBefore,
		Expires: a.Expires, Created: a.Created, Updated: a.Updated, Exportable: a.Exportable,
		RecoverableDays: c.vault.SoftDeleteRetentionDays, RecoveryLevel: c.vault.RecoveryLevel()}}
	if item {
		b.Kid = kid
		return b
	}
	j := k.JWK
	j.Kid = kid
	b.Key = &j
	return b
}

func (c *call) deletedKeyJSON(d *keys.DeletedKey, item bool) keyBundle {
	b := c.keyJSON(&d.Key, item, !item)
	b.RecoveryID = c.base() + "/deletedkeys/" + d.Name
	b.DeletedDate, b.ScheduledPurgeDate = d.DeletedDate, d.ScheduledPurgeDate
	return b
}

// Handlers.

func (s *Server) createKey(c *call) error {
	var req keyCreateRequest
	if err := c.decode(&req); err != nil {
		return err
	}
	if len(req.ReleasePolicy) > 0 && string(req.ReleasePolicy) != "null" {
		return kverr.BadParameterf("Secure key release (release_policy) is not supported by this server.")
	}
	p := keys.CreateParams{Kty: req.Kty, KeySize: req.KeySize, PublicExponent: req.PublicExponent, Curve: req.Crv,
		KeyOps: req.KeyOps, Tags: req.Tags, Attributes: req.Attributes.update()}
	if req.Attributes != nil {
		p.Exportable = req.Attributes.Exportable
	}
	k, err := s.Keys.Create(c.r.Context(), c.vault, c.param(0), p)
	return c.keyReply(k, err)
}

func (s *Server) importKey(c *call) error {
	var req keyImportRequest
	if err := c.decode(&req); err != nil {
		return err
	}
	if err := refuseRelease(req.ReleasePolicy, req.Attributes); err != nil {
		return err
	}
	k, err := s.Keys.Import(c.r.Context(), c.vault, c.param(0), keys.ImportParams{JWK: req.Key, HSM: req.HSM,
		Tags: req.Tags, Attributes: req.Attributes.update()})
	return c.keyReply(k, err)
}

func (s *Server) getKey(c *call) error {
	k, err := s.Keys.Get(c.r.Context(), c.vault, c.param(0), c.param(1))
	return c.keyReply(k, err)
}

func (s *Server) updateKey(c *call) error {
	var req keyUpdateRequest
	if err := c.decode(&req); err != nil {
		return err
	}
	if err := refuseRelease(req.ReleasePolicy, req.Attributes); err != nil {
		return err
	}
	k, err := s.Keys.Update(c.r.Context(), c.vault, c.param(0), c.param(1), keys.UpdateParams{KeyOps: req.KeyOps,
		Tags: req.Tags, Attributes: req.Attributes.update()})
	return c.keyReply(k, err)
}

func (s *Server) rotateKey(c *call) error {
	k, err := s.Keys.Rotate(c.r.Context(), c.vault, c.param(0))
	return c.keyReply(k, err)
}

func (s *Server) recoverDeletedKey(c *call) error {
	k, err := s.Keys.Recover(c.r.Context(), c.vault, c.param(0))
	return c.keyReply(k, err)
}

func (s *Server) restoreKey(c *call) error {
	blob, err := c.backupValue()
	if err != nil {
		return err
	}
	k, err := s.Keys.Restore(c.r.Context(), c.vault, blob)
	return c.keyReply(k, err)
}

func (c *call) keyReply(k *keys.Key, err error) error {
	if err != nil {
		return err
	}
	return c.reply(http.StatusOK, c.keyJSON(k, false, true))
}

func (s *Server) deleteKey(c *call) error {
	d, err := s.Keys.Delete(c.r.Context(), c.vault, c.param(0))
	if err != nil {
		return err
	}
	return c.reply(http.StatusOK, c.deletedKeyJSON(d, false))
}

func (s *Server) getDeletedKey(c *call) error {
	d, err := s.Keys.GetDeleted(c.r.Context(), c.vault, c.param(0))
	if err != nil {
		return err
	}
	return c.reply(http.StatusOK, c.deletedKeyJSON(d, false))
}

type rotationPolicyJSON struct {
	ID string `json:"id"`
	keys.Policy
}

func (s *Server) getRotationPolicy(c *call) error {
	p, err := s.Keys.GetRotationPolicy(c.r.Context(), c.vault, c.param(0))
	if err != nil {
		return err
	}
	return c.reply(http.StatusOK, rotationPolicyJSON{ID: c.base() + "/keys/" + p.KeyName + "/rotationpolicy", Policy: *p})
}

func (s *Server) updateRotationPolicy(c *call) error {
	var req keys.Policy
	if err := c.decode(&req); err != nil {
		return err
	}
	p, err := s.Keys.UpdateRotationPolicy(c.r.Context(), c.vault, c.param(0), req)
	if err != nil {
		return err
	}
	return c.reply(http.StatusOK, rotationPolicyJSON{ID: c.base() + "/keys/" + p.KeyName + "/rotationpolicy", Policy: *p})
}

// keyOperationRequest is KeyOperationsParameters, KeySignParameters and
// KeyVerifyParameters in one shape.
type keyOperationRequest struct {
	Alg    string     `json:"alg"`
	Value  *base64URL `json:"value"`
	IV     base64URL  `json:"iv"`
	AAD    base64URL  `json:"aad"`
	Tag    base64URL  `json:"tag"`
	Digest base64URL  `json:"digest"`
}

type keyOperationResult struct {
	Kid   string    `json:"kid"`
	Value base64URL `json:"value"`
	IV    base64URL `json:"iv,omitempty"`
	Tag   base64URL `json:"tag,omitempty"`
	AAD   base64URL `json:"aad,omitempty"`
}

// appendJSON appends r as json.Marshal would write it, without reflection
// (FuzzKeyOperationResultAppendJSON).
func (r keyOperationResult) appendJSON(dst []byte) []byte {
	dst = append(dst, `{"kid":`...)
	dst = jsonx.String(dst, r.Kid)
	dst = appendBase64URL(append(dst, `,"value":`...), r.Value)
	for _, f := range [...]struct {
		name string
		b    base64URL
	}{{`,"iv":`, r.IV}, {`,"tag":`, r.Tag}, {`,"aad":`, r.AAD}} {
		if len(f.b) > 0 {
			dst = appendBase64URL(append(dst, f.name...), f.b)
		}
	}
	return append(dst, '}')
}

func (r keyOperationResult) maxJSONLen() int {
	n := 64 + maxEscaped(r.Kid)
	for _, b := range [...]base64URL{r.Value, r.IV, r.Tag, r.AAD} {
		n += base64.RawURLEncoding.EncodedLen(len(b)) + 2
	}
	return n
}

func appendBase64URL(dst []byte, b []byte) []byte {
	dst = append(dst, '"')
	dst = base64.RawURLEncoding.AppendEncode(dst, b)
	return append(dst, '"')
}

// verifyResult is KeyVerifyResult.
type verifyResult bool

func (v verifyResult) maxJSONLen() int { return len(`{"value":false}`) }

func (v verifyResult) appendJSON(dst []byte) []byte {
	return append(strconv.AppendBool(append(dst, `{"value":`...), bool(v)), '}')
}

// keyOpFields are the members of keyOperationRequest.
var keyOpFields = [...]string{"alg", "value", "iv", "aad", "tag", "digest"}

// decodeKeyOperation decodes the body into req as c.decode would. The
// usual shape (lower-case member names, string values) is read directly;
// anything else, errors included, goes to c.decode (FuzzDecodeKeyOperation
// checks the two agree).
func (c *call) decodeKeyOperation(req *keyOperationRequest) error {
	if fastKeyOperation(c.body, req) {
		return nil
	}
	*req = keyOperationRequest{}
	return c.decode(req)
}

var errSlowPath = errors.New("decode the slow way")

func fastKeyOperation(body []byte, req *keyOperationRequest) bool {
	err := jsonx.Object(body, func(k, v []byte) error {
		switch string(k) {
		case "alg":
			if jsonx.IsNull(v) {
				return nil // as encoding/json: a null leaves a string alone
			}
			s, err := jsonx.ParseString(v)
			req.Alg = s
			return err
		case "value":
			if jsonx.IsNull(v) {
				req.Value = nil
				return nil
			}
			if req.Value == nil {
				req.Value = new(base64URL)
			}
			return req.Value.UnmarshalJSON(v)
		case "iv":
			return req.IV.UnmarshalJSON(v)
		case "aad":
			return req.AAD.UnmarshalJSON(v)
		case "tag":
			return req.Tag.UnmarshalJSON(v)
		case "digest":
			return req.Digest.UnmarshalJSON(v)
		}
		for _, f := range keyOpFields {
			if strings.EqualFold(string(k), f) {
				return errSlowPath // encoding/json matches names in any case
			}
		}
		return nil // unknown members are ignored
	})
	return err == nil
}

func cryptoHandler(op string) func(*Server, *call) error {
	return func(s *Server, c *call) error {
		var req keyOperationRequest
		if err := c.decodeKeyOperation(&req); err != nil {
			return err
		}
		if req.Value == nil {
			return kverr.BadParameterf("The parameter 'value' is required.")
		}
		if op == kcrypto.OpVerify && req.Digest == nil {
			return kverr.BadParameterf("The parameter 'digest' is required.")
		}
		res, err := s.Keys.Do(c.r.Context(), c.vault, c.param(0), c.param(1), op, keys.OpParams{Alg: req.Alg,
			Value: *req.Value, IV: req.IV, AAD: req.AAD, Tag: req.Tag, Digest: req.Digest})
		if err != nil {
			return err
		}
		if op == kcrypto.OpVerify {
			return c.reply(http.StatusOK, verifyResult(res.Valid))
		}
		kid := "https://" + c.r.Host + "/keys/" + res.Name + "/" + res.Version
		return c.reply(http.StatusOK, keyOperationResult{Kid: kid, Value: res.Value, IV: res.IV, Tag: res.Tag, AAD: res.AAD})
	}
}

func (s *Server) randomBytes(c *call) error {
	var req struct {
		Count *int `json:"count"`
	}
	if err := c.decode(&req); err != nil {
		return err
	}
	if req.Count == nil {
		return kverr.BadParameterf("The parameter 'count' is required.")
	}
	b, err := s.Keys.Random(*req.Count)
	if err != nil {
		return err
	}
	return c.reply(http.StatusOK, map[string]base64URL{"value": b})
}

// unsupported answers an operation keyhaven declares but does not offer.
func unsupported(msg string) func(*Server, *call) error {
	return func(*Server, *call) error { return kverr.BadParameterf("%s", msg) }
}
