package httpapi

import (
	"context"
	"encoding/base64"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/keyhaven/keyhaven/internal/jsonx"
	"github.com/keyhaven/keyhaven/internal/kverr"
	"github.com/keyhaven/keyhaven/internal/secrets"
	"github.com/keyhaven/keyhaven/internal/vaults"
)

const sv = "Microsoft.KeyVault/vaults/secrets/"

// secretBody is the largest secret request: a 25 KiB value grows six times
// when every character is JSON-escaped (\u0001), and 15 tags of 512
// characters grow twelve times when written as surrogate pairs (\ud83d\ude00,
// as Python's json.dumps does by default), plus attributes.
const secretBody = 25*1024*6 + 15*2*512*12 + 64<<10

// restoreBody fits the largest backup blob in base64 inside {"value":"..."}.
const restoreBody = secrets.MaxBackupBytes/3*4 + 4<<10

func secretRoutes() []route {
	return []route{
		{method: "PUT", pattern: "/secrets/{name}", op: "SetSecret", action: sv + "setSecret/action", scope: scopeObject, body: secretBody, handle: (*Server).setSecret},
		{method: "GET", pattern: "/secrets/{name}", op: "GetSecret", action: sv + "getSecret/action", scope: scopeObject, handle: (*Server).getSecret},
		{method: "GET", pattern: "/secrets/{name}/{version}", op: "GetSecret", action: sv + "getSecret/action", scope: scopeObject, handle: (*Server).getSecret},
		{method: "PATCH", pattern: "/secrets/{name}", op: "UpdateSecret", action: sv + "update/action", scope: scopeObject, body: secretBody, handle: (*Server).updateSecret},
		{method: "PATCH", pattern: "/secrets/{name}/{version}", op: "UpdateSecret", action: sv + "update/action", scope: scopeObject, body: secretBody, handle: (*Server).updateSecret},
		{method: "DELETE", pattern: "/secrets/{name}", op: "DeleteSecret", action: sv + "delete", scope: scopeObject, handle: (*Server).deleteSecret},
		{method: "GET", pattern: "/secrets", op: "GetSecrets", action: sv + "readMetadata/action", scope: scopeVault, handle: listRoute(func(s *Server, c *call, cur string, max int) (secrets.Page[secrets.Secret], error) {
			return s.Secrets.List(c.r.Context(), c.vault, cur, max)
		}, func(c *call, x *secrets.Secret) secretBundle { return c.secretJSON(x, false, false) })},
		{method: "GET", pattern: "/secrets/{name}/versions", op: "GetSecretVersions", action: sv + "readMetadata/action", scope: scopeObject, handle: listRoute(func(s *Server, c *call, cur string, max int) (secrets.Page[secrets.Secret], error) {
			return s.Secrets.ListVersions(c.r.Context(), c.vault, c.param(0), cur, max)
		}, func(c *call, x *secrets.Secret) secretBundle { return c.secretJSON(x, false, true) })},
		{method: "POST", pattern: "/secrets/{name}/backup", op: "BackupSecret", action: sv + "backup/action", scope: scopeObject, handle: backupRoute(func(s *Server) func(context.Context, *vaults.Vault, string) ([]byte, error) { return s.Secrets.Backup })},
		{method: "POST", pattern: "/secrets/restore", op: "RestoreSecret", action: sv + "restore/action", scope: scopeVault, body: restoreBody, handle: (*Server).restoreSecret},
		{method: "GET", pattern: "/deletedsecrets", op: "GetDeletedSecrets", action: sv + "readMetadata/action", scope: scopeVault, handle: listRoute(func(s *Server, c *call, cur string, max int) (secrets.Page[secrets.DeletedSecret], error) {
			return s.Secrets.ListDeleted(c.r.Context(), c.vault, cur, max)
		}, func(c *call, x *secrets.DeletedSecret) secretBundle { return c.deletedSecretJSON(x, false) })},
		{method: "GET", pattern: "/deletedsecrets/{name}", op: "GetDeletedSecret", action: sv + "getSecret/action", scope: scopeObject, handle: (*Server).getDeletedSecret},
		{method: "DELETE", pattern: "/deletedsecrets/{name}", op: "PurgeDeletedSecret", action: sv + "purge/action", scope: scopeObject, handle: purgeRoute(func(s *Server) func(context.Context, *vaults.Vault, string) error { return s.Secrets.Purge })},
		{method: "POST", pattern: "/deletedsecrets/{name}/recover", op: "RecoverDeletedSecret", action: sv + "recover/action", scope: scopeObject, handle: (*Server).recoverDeletedSecret},
	}
}

// Wire shapes of secrets.json.

type secretAttributesIn struct {
	Enabled   *bool     `json:"enabled"`
	NotBefore *unixTime `json:"nbf"`
	Expires   *unixTime `json:"exp"`
}

func (a *secretAttributesIn) update() secrets.AttributesUpdate {
	if a == nil {
		return secrets.AttributesUpdate{}
	}
	return secrets.AttributesUpdate{Enabled: a.Enabled, NotBefore: a.NotBefore.ptr(), Expires: a.Expires.ptr()}
}

type secretSetRequest struct {
	Value       *string             `json:"value"`
	ContentType *string             `json:"contentType"`
	Attributes  *secretAttributesIn `json:"attributes"`
	Tags        map[string]string   `json:"tags"`
}

type secretUpdateRequest struct {
	ContentType *string             `json:"contentType"`
	Attributes  *secretAttributesIn `json:"attributes"`
	Tags        map[string]string   `json:"tags"`
}

type secretAttributesOut struct {
	Enabled         bool   `json:"enabled"`
	NotBefore       *int64 `json:"nbf,omitempty"`
	Expires         *int64 `json:"exp,omitempty"`
	Created         int64  `json:"created"`
	Updated         int64  `json:"updated"`
	RecoverableDays int    `json:"recoverableDays"`
	RecoveryLevel   string `json:"recoveryLevel"`
}

type secretBundle struct {
	Value       *string             `json:"value,omitempty"`
	ID          string              `json:"id"`
	ContentType string              `json:"contentType,omitempty"`
	Attributes  secretAttributesOut `json:"attributes"`
	Tags        map[string]string   `json:"tags,omitempty"`
	Kid         string              `json:"kid,omitempty"`
	Managed     bool                `json:"managed,omitempty"`
	// Deleted secrets only.
	RecoveryID         string `json:"recoveryId,omitempty"`
	DeletedDate        int64  `json:"deletedDate,omitempty"`
	ScheduledPurgeDate int64  `json:"scheduledPurgeDate,omitempty"`
}

// appendJSON appends b as json.Marshal would write it, without reflection
// (GetSecret is the hottest path of the server).
func (b *secretBundle) appendJSON(dst []byte) []byte {
	dst = append(dst, '{')
	if b.Value != nil {
		dst = jsonx.Field(dst, "value")
		dst = jsonx.String(dst, *b.Value)
	}
	dst = jsonx.Field(dst, "id")
	dst = jsonx.String(dst, b.ID)
	if b.ContentType != "" {
		dst = jsonx.Field(dst, "contentType")
		dst = jsonx.String(dst, b.ContentType)
	}
	a := &b.Attributes
	dst = append(dst, `,"attributes":{"enabled":`...)
	dst = jsonx.Bool(dst, a.Enabled)
	if a.NotBefore != nil {
		dst = jsonx.Field(dst, "nbf")
		dst = jsonx.Int(dst, *a.NotBefore)
	}
	if a.Expires != nil {
		dst = jsonx.Field(dst, "exp")
		dst = jsonx.Int(dst, *a.Expires)
	}
	dst = jsonx.Field(dst, "created")
	dst = jsonx.Int(dst, a.Created)
	dst = jsonx.Field(dst, "updated")
	dst = jsonx.Int(dst, a.Updated)
	dst = jsonx.Field(dst, "recoverableDays")
	dst = jsonx.Int(dst, int64(a.RecoverableDays))
	dst = jsonx.Field(dst, "recoveryLevel")
	dst = jsonx.String(dst, a.RecoveryLevel)
	dst = append(dst, '}')
	if len(b.Tags) > 0 {
		dst = jsonx.Field(dst, "tags")
		dst = jsonx.StringMap(dst, b.Tags)
	}
	if b.Kid != "" {
		dst = jsonx.Field(dst, "kid")
		dst = jsonx.String(dst, b.Kid)
	}
	if b.Managed {
		dst = append(dst, `,"managed":true`...)
	}
	if b.RecoveryID != "" {
		dst = jsonx.Field(dst, "recoveryId")
		dst = jsonx.String(dst, b.RecoveryID)
	}
	if b.DeletedDate != 0 {
		dst = jsonx.Field(dst, "deletedDate")
		dst = jsonx.Int(dst, b.DeletedDate)
	}
	if b.ScheduledPurgeDate != 0 {
		dst = jsonx.Field(dst, "scheduledPurgeDate")
		dst = jsonx.Int(dst, b.ScheduledPurgeDate)
	}
	return append(dst, '}')
}

func (b *secretBundle) maxJSONLen() int {
	n := 512 // member names, punctuation, numbers and booleans
	for _, s := range [...]string{b.ID, b.ContentType, b.Attributes.RecoveryLevel, b.Kid, b.RecoveryID} {
		n += maxEscaped(s)
	}
	if b.Value != nil {
		n += maxEscaped(*b.Value)
	}
	for k, v := range b.Tags {
		n += maxEscaped(k) + maxEscaped(v) + 2
	}
	return n
}

// secretJSON encodes a secret. withVersion selects a versioned id (bundles,
// version lists) or a versionless one (list items).
func (c *call) secretJSON(s *secrets.Secret, withValue, withVersion bool) secretBundle {
	v := c.vault
	var id string // in one allocation (c.base() would add one)
	if withVersion {
		id = "https://" + c.r.Host + "/secrets/" + s.Name + "/" + s.Version
	} else {
		id = "https://" + c.r.Host + "/secrets/" + s.Name
	}
	b := secretBundle{ID: id, ContentType: s.ContentType, Tags: s.Tags, Managed: s.Managed,
		Attributes: secretAttributesOut{Enabled: s.Attributes.Enabled, NotBefore: s.Attributes.NotBefore,
			Expires: s.Attributes.Expires, Created: s.Attributes.Created, Updated: s.Attributes.Updated,
			RecoverableDays: v.SoftDeleteRetentionDays, RecoveryLevel: v.RecoveryLevel()}}
	if s.KeyID != "" {
		b.Kid = c.base() + s.KeyID
	}
	if withValue {
		b.Value = &s.Value // read only
	}
	return b
}

func (c *call) deletedSecretJSON(d *secrets.DeletedSecret, withVersion bool) secretBundle {
	b := c.secretJSON(&d.Secret, false, withVersion)
	b.RecoveryID = c.base() + "/deletedsecrets/" + d.Name
	b.DeletedDate, b.ScheduledPurgeDate = d.DeletedDate, d.ScheduledPurgeDate
	return b
}

// Handlers.

func (s *Server) setSecret(c *call) error {
	var req secretSetRequest
	if err := c.decode(&req); err != nil {
		return err
	}
	sec, err := s.Secrets.Set(c.r.Context(), c.vault, c.param(0), secrets.SetParams{
		Value: req.Value, ContentType: req.ContentType, Tags: req.Tags, Attributes: req.Attributes.update()})
	if err != nil {
		return err
	}
	return c.reply(http.StatusOK, c.secretJSON(sec, true, true))
}

func (s *Server) getSecret(c *call) error {
	sec, err := s.Secrets.Get(c.r.Context(), c.vault, c.param(0), c.param(1))
	if err != nil {
		return err
	}
	b := c.secretJSON(sec, true, true)
	return c.reply(http.StatusOK, &b)
}

func (s *Server) updateSecret(c *call) error {
	var req secretUpdateRequest
	if err := c.decode(&req); err != nil {
		return err
	}
	sec, err := s.Secrets.Update(c.r.Context(), c.vault, c.param(0), c.param(1), secrets.UpdateParams{
		ContentType: req.ContentType, Tags: req.Tags, Attributes: req.Attributes.update()})
	if err != nil {
		return err
	}
	return c.reply(http.StatusOK, c.secretJSON(sec, false, true))
}

func (s *Server) deleteSecret(c *call) error {
	d, err := s.Secrets.Delete(c.r.Context(), c.vault, c.param(0))
	if err != nil {
		return err
	}
	return c.reply(http.StatusOK, c.deletedSecretJSON(d, true))
}

func (s *Server) getDeletedSecret(c *call) error {
	d, err := s.Secrets.GetDeleted(c.r.Context(), c.vault, c.param(0))
	if err != nil {
		return err
	}
	return c.reply(http.StatusOK, c.deletedSecretJSON(d, true))
}

func (s *Server) recoverDeletedSecret(c *call) error {
	sec, err := s.Secrets.Recover(c.r.Context(), c.vault, c.param(0))
	if err != nil {
		return err
	}
	return c.reply(http.StatusOK, c.secretJSON(sec, false, true))
}

type backupResult struct {
	Value base64URL `json:"value"`
}

func (s *Server) restoreSecret(c *call) error {
	blob, err := c.backupValue()
	if err != nil {
		return err
	}
	sec, err := s.Secrets.Restore(c.r.Context(), c.vault, blob)
	if err != nil {
		return err
	}
	return c.reply(http.StatusOK, c.secretJSON(sec, false, true))
}

// listRoute is the handler of a list operation: paging parameters in, one
// page out with its nextLink, each item encoded by enc.
func listRoute[T, W any](list func(s *Server, c *call, cursor string, max int) (secrets.Page[T], error), enc func(*call, *T) W) func(*Server, *call) error {
	return func(s *Server, c *call) error {
		cursor, max, err := c.paging()
		if err != nil {
			return err
		}
		page, err := list(s, c, cursor, max)
		if err != nil {
			return err
		}
		return replyPage(c, page.Items, page.Next, func(x *T) W { return enc(c, x) })
	}
}

// paging reads maxresults (1–25) and the $skiptoken cursor.
func (c *call) paging() (cursor string, max int, err error) {
	if v, ok := c.queryValue("maxresults"); ok && v != "" {
		max, err = strconv.Atoi(v)
		if err != nil || max < 1 || max > secrets.MaxPageSize {
			return "", 0, kverr.BadParameterf("The 'maxresults' query parameter must be an integer between 1 and %d.", secrets.MaxPageSize)
		}
	}
	if tok, ok := c.queryValue("$skiptoken"); ok && tok != "" {
		raw, derr := base64.RawURLEncoding.DecodeString(tok)
		if derr != nil {
			return "", 0, kverr.BadParameterf("The '$skiptoken' query parameter is invalid.")
		}
		cursor = string(raw)
	}
	return cursor, max, nil
}

// replyPage writes one page with an absolute nextLink that carries the
// api-version (and maxresults when the client gave one).
func replyPage[T, W any](c *call, items []T, next string, enc func(*T) W) error {
	out := listResult[W]{Value: make([]W, 0, len(items))}
	for i := range items {
		out.Value = append(out.Value, enc(&items[i]))
	}
	if next != "" {
		q := url.Values{}
		q.Set("api-version", c.apiVersion())
		q.Set("$skiptoken", base64.RawURLEncoding.EncodeToString([]byte(next)))
		if m, ok := c.queryValue("maxresults"); ok && m != "" {
			q.Set("maxresults", m)
		}
		link := c.base() + "/" + strings.Join(splitPath(c.r.URL.Path), "/") + "?" + q.Encode()
		out.NextLink = &link
	}
	if _, ok := any(new(W)).(jsonAppender); ok {
		return c.reply(http.StatusOK, pageJSON[W](out))
	}
	return c.reply(http.StatusOK, out)
}

// pageJSON is a list page whose items have hand-written encoders (secret
// bundles): encoded as json.Marshal would encode the listResult.
type pageJSON[W any] listResult[W]

func (p pageJSON[W]) appendJSON(dst []byte) []byte {
	dst = append(dst, `{"value":[`...)
	for i := range p.Value {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = any(&p.Value[i]).(jsonAppender).appendJSON(dst)
	}
	dst = append(dst, `],"nextLink":`...)
	if p.NextLink == nil {
		return append(dst, "null}"...)
	}
	return append(jsonx.String(dst, *p.NextLink), '}')
}

func (p pageJSON[W]) maxJSONLen() int {
	n := 64
	for i := range p.Value {
		n += any(&p.Value[i]).(jsonAppender).maxJSONLen() + 1
	}
	if p.NextLink != nil {
		n += maxEscaped(*p.NextLink)
	}
	return n
}
