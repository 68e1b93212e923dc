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
