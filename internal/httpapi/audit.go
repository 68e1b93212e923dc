package httpapi

import (
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/keyhaven/keyhaven/internal/audit"
	"github.com/keyhaven/keyhaven/internal/kverr"
)

// Auditor receives one record per request.
type Auditor interface {
	Log(r *audit.Record) error
	Err() error
}

// recorder remembers the status written and, in fail-closed mode, holds
// the response back until its audit record is written.
type recorder struct {
	http.ResponseWriter
	req    *http.Request // for batching large bodies (writeBatched)
	status int
	hold   bool
	body   []byte
}

func (r *recorder) WriteHeader(code int) {
	r.status = code
	if !r.hold {
		r.ResponseWriter.WriteHeader(code)
	}
}

func (r *recorder) Write(b []byte) (int, error) {
	if r.hold {
		r.body = append(r.body, b...)
		return len(b), nil
	}
	return writeBatched(r.ResponseWriter, r.req, b)
}

// release sends a held response.
func (r *recorder) release() {
	r.ResponseWriter.WriteHeader(r.status)
	_, _ = writeBatched(r.ResponseWriter, r.req, r.body)
}

var errAuditUnavailable = kverr.New(kverr.Unavailable, "ServiceUnavailable",
	"The audit log cannot be written, and this server refuses requests it cannot audit (audit.failClosed).")

// audited serves c and writes its audit record. In fail-closed mode a
// request is refused while the audit log is failing, and a response is
// sent only once its record is written (else the client gets 503).
func (s *Server) audited(c *call, rec *recorder, start time.Time, serve func() error) {
	var err error
	if s.AuditFailClosed && s.Audit.Err() != nil {
		err = errAuditUnavailable
	} else {
		err = serve()
	}
	if err != nil {
		s.renderError(c, err)
	}
	ar := s.auditRecord(c, rec.status, start)
	logErr := s.Audit.Log(ar)
	s.observe(c, ar)
	if !rec.hold {
		return
	}
	if logErr != nil {
		s.Logger.Error("audit record not written; response refused", "requestId", c.requestID, "err", logErr)
		rec.body, rec.status = nil, 0
		hdr := rec.ResponseWriter.Header()
		for k := range hdr {
			if strings.HasPrefix(k, "Location") || k == "Retry-After" {
				delete(hdr, k)
			}
		}
		s.renderError(c, errAuditUnavailable)
	}
	rec.release()
}

// observe hands the request's record to the alert rules, with the vault it
// concerned: the data-plane request's, or the existing vault a management
// route changes. The SDKs' challenge probe (no Authorization header, 401)
// is left out: it is how every authenticated conversation starts.
func (s *Server) observe(c *call, ar *audit.Record) {
	if s.Alerts == nil || (ar.Properties.HTTPStatusCode == http.StatusUnauthorized && c.r.Header.Get("Authorization") == "") {
		return
	}
	var id, name string
	if c.vault != nil {
		id, name = c.vault.ID, c.vault.Name
	} else if c.route != nil && len(c.params) > 2 {
		switch c.route.op {
		case opVaultPut, opVaultPatch, opVaultDelete, opVaultAccessPolicy:
			if v, ok := s.Vaults.Lookup(c.param(2)); ok {
				id, name = v.ID, v.Name
			}
		}
	}
	s.Alerts.Observe(ar, id, name)
}

// auditRecord describes the request: who, what, from where, with what
// result. It holds no body, header value or token.
func (s *Server) auditRecord(c *call, status int, start time.Time) *audit.Record {
	r := c.r
	// The record and its identity in one allocation.
	a := &struct {
		rec audit.Record
		id  audit.Identity
	}{}
	rec := &a.rec
	*rec = audit.Record{Time: start.UTC(), ResourceID: "/", Category: audit.CategoryAuditEvent,
		ResultType: audit.ResultType(status), ResultSignature: http.StatusText(status), ResultDescription: c.errCode,
		DurationMs: time.Since(start).Milliseconds(), CallerIPAddress: s.callerIP(c),
		CorrelationID: truncate(r.Header.Get("x-ms-client-request-id"), 128),
		Properties: audit.Properties{HTTPStatusCode: status, ClientInfo: truncate(r.UserAgent(), 256),
			RequestID: c.requestID, ErrorCode: c.errCode}}
	rec.Properties.ID, rec.Properties.RequestURI = requestURLs(r)
	rec.OperationName = c.opName()
	if v, ok := c.queryValue("api-version"); ok {
		rec.OperationVersion = truncate(v, 32)
	}
	if c.vault != nil {
		rec.ResourceID = "/vaults/" + c.vault.Name
	}
	if p := c.principal; p != nil {
		a.id = audit.Identity{Claim: audit.Claims{ObjectID: p.ObjectID, AppID: p.AppID, TenantID: p.TenantID, Name: p.Name}}
		rec.Identity = &a.id
	}
	return rec
}

// requestURLs are the audit record's URLs of r, each at most 2,048 bytes:
// the object's (scheme, host and path) and the whole request's (with the
// query). They share one string when the path is plain.
func requestURLs(r *http.Request) (id, uri string) {
	base := "https://" + truncate(r.Host, 256)
	if path := r.URL.EscapedPath(); r.URL.Opaque == "" && path != "" && !r.URL.ForceQuery {
		full := base + path
		if r.URL.RawQuery != "" {
			full = base + path + "?" + r.URL.RawQuery
		}
		return truncate(full[:len(base)+len(path)], 2048), truncate(full, 2048)
	}
	return truncate(base+r.URL.EscapedPath(), 2048), truncate(base+r.URL.RequestURI(), 2048)
}

func remoteIP(addr string) string {
	if host, _, err := net.SplitHostPort(addr); err == nil {
		return host
	}
	return addr
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}
