package httpapi

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/keyhaven/keyhaven/internal/audit"
	"github.com/keyhaven/keyhaven/internal/kverr"
)

// auditReadRoutes serve the audit log to those allowed to read it. Every
// read is itself a request, so it gets its own record (QueryAuditLog, with
// the filter in its request URI): who looked at the log, when, for what.
func auditReadRoutes() []route {
	return []route{
		{method: "GET", pattern: "/audit/records", op: "QueryAuditLog", action: "Keyhaven/audit/read", handle: (*Server).queryAuditLog},
	}
}

const (
	defaultAuditTop = 1000
	maxAuditTop     = 10_000
)

// queryAuditLog takes since, until (RFC 3339), operation, principal,
// object, result and top (1-10,000, default 1,000) and answers
// {"value": [records as written], "truncated": bool}, oldest first.
func (s *Server) queryAuditLog(c *call) error {
	if s.AuditLog == "" {
		return kverr.New(kverr.NotFound, "NotFound", "This server writes no audit file (audit.file is off): read the log where audit.stdout or audit.webhookUrl sends it.")
	}
	var f audit.Filter
	for name, dst := range map[string]*time.Time{"since": &f.Since, "until": &f.Until} {
		if v, ok := c.queryValue(name); ok && v != "" {
			t, err := time.Parse(time.RFC3339, v)
			if err != nil {
				return kverr.BadParameterf("%s must be an RFC 3339 time.", name)
			}
			*dst = t
		}
	}
	f.Operation, _ = c.queryValue("operation")
	f.Principal, _ = c.queryValue("principal")
	f.Object, _ = c.queryValue("object")
	f.Result, _ = c.queryValue("result")
	top := defaultAuditTop
	if v, ok := c.queryValue("top"); ok {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxAuditTop {
			return kverr.BadParameterf("top must be between 1 and %d.", maxAuditTop)
		}
		top = n
	}
	files, err := audit.LogFiles(s.AuditLog)
	if err != nil {
		return err
	}
	out := []json.RawMessage{}
	truncated := false
	err = audit.Query(files, f, func(line []byte, _ *audit.Record) bool {
		if len(out) == top {
			truncated = true
			return false
		}
		out = append(out, json.RawMessage(strings.Clone(string(line))))
		return true
	})
	if err != nil {
		return err
	}
	return c.reply(http.StatusOK, map[string]any{"value": out, "truncated": truncated})
}
