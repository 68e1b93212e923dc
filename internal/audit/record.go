// Package audit writes keyhaven's audit log: one JSON line per request
// (denied and failed ones included) with Azure Key Vault's AuditEvent
// fields, never a secret value, key material, token or password.
//
// The log is tamper-evident. Every line carries "seq" (its number in the
// sink's chain) and "prevHash" (hex SHA-256 of the previous line's bytes),
// so an edited, removed or reordered line breaks the chain; and the writer
// regularly appends a checkpoint line signed with the server's Ed25519 audit
// key, which covers every line before it, so the chain cannot be rewritten
// without that key. Verify checks both.
package audit

import (
	"time"

	"github.com/keyhaven/keyhaven/internal/jsonx"
)

// Record is one audit event in Azure's AuditEvent shape.
type Record struct {
	Time              time.Time  `json:"time"`
	ResourceID        string     `json:"resourceId"`
	OperationName     string     `json:"operationName"`
	OperationVersion  string     `json:"operationVersion,omitempty"`
	Category          string     `json:"category"`
	ResultType        string     `json:"resultType"`
	ResultSignature   string     `json:"resultSignature"`
	ResultDescription string     `json:"resultDescription,omitempty"`
	DurationMs        int64      `json:"durationMs"`
	CallerIPAddress   string     `json:"callerIpAddress"`
	CorrelationID     string     `json:"correlationId,omitempty"`
	Identity          *Identity  `json:"identity,omitempty"`
	Properties        Properties `json:"properties"`
}

// Identity is the caller, as Azure writes it: the token's claims.
type Identity struct {
	Claim Claims `json:"claim"`
}

// Claims are the caller's identity claims.
type Claims struct {
	ObjectID string `json:"http://schemas.microsoft.com/identity/claims/objectidentifier,omitempty"`
	AppID    string `json:"appid,omitempty"`
	TenantID string `json:"http://schemas.microsoft.com/identity/claims/tenantid,omitempty"`
	Name     string `json:"name,omitempty"`
}

// Properties are the request's details.
type Properties struct {
	ID             string `json:"id,omitempty"` // the object's URL, without query
	RequestURI     string `json:"requestUri"`
	HTTPStatusCode int    `json:"httpStatusCode"`
	ClientInfo     string `json:"clientInfo,omitempty"` // User-Agent
	RequestID      string `json:"requestId,omitempty"`
	ErrorCode      string `json:"errorCode,omitempty"`
}

// CategoryAuditEvent is the category of request records.
const CategoryAuditEvent = "AuditEvent"

// categoryCheckpoint marks the signed checkpoint lines.
const categoryCheckpoint = "AuditCheckpoint"

// ResultType is Azure's resultType for an HTTP status.
func ResultType(status int) string {
	if status < 400 {
		return "Success"
	}
	return "Failure"
}

// AppendJSON appends r as json.Marshal would write it, without reflection:
// every request writes one.
func (r *Record) AppendJSON(dst []byte) []byte {
	dst = append(dst, '{')
	dst = jsonx.Field(dst, "time")
	dst = jsonx.Time(dst, r.Time)
	dst = jsonx.Field(dst, "resourceId")
	dst = jsonx.String(dst, r.ResourceID)
	dst = jsonx.Field(dst, "operationName")
	dst = jsonx.String(dst, r.OperationName)
	dst = optString(dst, "operationVersion", r.OperationVersion)
	dst = jsonx.Field(dst, "category")
	dst = jsonx.String(dst, r.Category)
	dst = jsonx.Field(dst, "resultType")
	dst = jsonx.String(dst, r.ResultType)
	dst = jsonx.Field(dst, "resultSignature")
	dst = jsonx.String(dst, r.ResultSignature)
	dst = optString(dst, "resultDescription", r.ResultDescription)
	dst = jsonx.Field(dst, "durationMs")
	dst = jsonx.Int(dst, r.DurationMs)
	dst = jsonx.Field(dst, "callerIpAddress")
	dst = jsonx.String(dst, r.CallerIPAddress)
	dst = optString(dst, "correlationId", r.CorrelationID)
	if id := r.Identity; id != nil {
		dst = jsonx.Field(dst, "identity")
		dst = append(dst, `{"claim":{`...)
		dst = optString(dst, "http://schemas.microsoft.com/identity/claims/objectidentifier", id.Claim.ObjectID)
		dst = optString(dst, "appid", id.Claim.AppID)
		dst = optString(dst, "http://schemas.microsoft.com/identity/claims/tenantid", id.Claim.TenantID)
		dst = optString(dst, "name", id.Claim.Name)
		dst = append(dst, '}', '}')
	}
	p := &r.Properties
	dst = jsonx.Field(dst, "properties")
	dst = append(dst, '{')
	dst = optString(dst, "id", p.ID)
	dst = jsonx.Field(dst, "requestUri")
	dst = jsonx.String(dst, p.RequestURI)
	dst = jsonx.Field(dst, "httpStatusCode")
	dst = jsonx.Int(dst, int64(p.HTTPStatusCode))
	dst = optString(dst, "clientInfo", p.ClientInfo)
	dst = optString(dst, "requestId", p.RequestID)
	dst = optString(dst, "errorCode", p.ErrorCode)
	return append(dst, '}', '}')
}

func optString(dst []byte, name, v string) []byte {
	if v == "" {
		return dst
	}
	dst = jsonx.Field(dst, name)
	return jsonx.String(dst, v)
}
