package httpapi

import (
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/keyhaven/keyhaven/internal/identity"
	"github.com/keyhaven/keyhaven/internal/kverr"
	"github.com/keyhaven/keyhaven/internal/vaults"
)

// call is the state of one request as it moves down the request path.
type call struct {
	w         http.ResponseWriter
	r         *http.Request
	requestID string
	query     url.Values // parsed on first use that needs it (values)
	idHdr     [1]string  // the X-Ms-Request-Id header's value slice
	route     *route
	params    []string // path parameters in pattern order
	vault     *vaults.Vault
	principal *identity.Principal
	body      []byte
	errCode   string     // Azure error code of a failed request, for the audit record
	client    netip.Addr // the client address, once resolved (firewall.go)
}

// Fixed response headers, shared by every response (net/http only reads
// them).
var (
	hdrNoCache    = []string{"no-cache"}
	hdrExpires    = []string{"-1"}
	hdrNoSniff    = []string{"nosniff"}
	hdrHSTS       = []string{"max-age=31536000;includeSubDomains"}
	hdrJSON       = []string{"application/json; charset=utf-8"}
	requestPrefix = newRequestPrefix()
	requestSeq    atomic.Uint64
)

func newCall(w http.ResponseWriter, r *http.Request) *call {
	c := &call{w: w, r: r}
	c.requestID = newRequestID()
	c.idHdr[0] = c.requestID
	h := w.Header()
	h["Cache-Control"] = hdrNoCache
	h["Pragma"] = hdrNoCache
	h["Expires"] = hdrExpires
	h["X-Content-Type-Options"] = hdrNoSniff
	h["Strict-Transport-Security"] = hdrHSTS
	h["X-Ms-Request-Id"] = c.idHdr[:]
	if id := r.Header.Get("x-ms-client-request-id"); id != "" && len(id) <= 128 {
		h["X-Ms-Client-Request-Id"] = []string{id}
	}
	return c
}

// newRequestPrefix is the random first half of this process's request ids.
func newRequestPrefix() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	h := hex.EncodeToString(b[:])
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-"
}

// newRequestID returns a GUID-shaped id unique in this process (and, by
// its random prefix, across processes): it names a request in responses,
// logs and audit records, and needs no secrecy.
func newRequestID() string {
	var seq [8]byte
	binary.BigEndian.PutUint64(seq[:], requestSeq.Add(1))
	var b [36]byte
	n := copy(b[:], requestPrefix)
	hex.Encode(b[n:n+4], seq[:2])
	b[n+4] = '-'
	hex.Encode(b[n+5:], seq[2:])
	return string(b[:])
}

// param returns the i-th path parameter.
func (c *call) param(i int) string {
	if i < len(c.params) {
		return c.params[i]
	}
	return ""
}

// queryValue returns a query parameter, matching its name case-insensitively
// (query keys may also arrive percent-encoded; ParseQuery decodes them).
// The first exact match wins, then the first match in another case.
func (c *call) queryValue(name string) (string, bool) {
	if c.query == nil {
		// Nothing to unescape, and far fewer pairs than url.ParseQuery's
		// limit (beyond which it parses nothing): read it in place.
		if raw := c.r.URL.RawQuery; !strings.ContainsAny(raw, "%+;") && strings.Count(raw, "&") < 64 {
			return rawQueryValue(raw, name)
		}
	}
	q := c.values()
	if v, ok := q[name]; ok && len(v) > 0 {
		return v[0], true
	}
	for rest := c.r.URL.RawQuery; rest != ""; { // in query order
		var pair string
		pair, rest, _ = strings.Cut(rest, "&")
		k, _, _ := strings.Cut(pair, "=")
		if k, err := url.QueryUnescape(k); err == nil && strings.EqualFold(k, name) {
			if v := q[k]; len(v) > 0 {
				return v[0], true
			}
		}
	}
	return "", false
}

// values is the parsed query (pairs that do not parse are left out).
func (c *call) values() url.Values {
	if c.query == nil {
		c.query, _ = url.ParseQuery(c.r.URL.RawQuery)
	}
	return c.query
}

// rawQueryValue finds name in a query that needs no unescaping, as
// queryValue would in its parsed form: the first value of an exact match,
// else of a match in another case.
func rawQueryValue(raw, name string) (string, bool) {
	for _, fold := range [2]bool{false, true} {
		for rest := raw; rest != ""; {
			var pair string
			pair, rest, _ = strings.Cut(rest, "&")
			k, v, _ := strings.Cut(pair, "=")
			if pair != "" && (k == name || fold && strings.EqualFold(k, name)) {
				return v, true
			}
		}
	}
	return "", false
}

// requireAPIVersion checks that the request names an API version. Every
// version is served the same way; clients send 7.x and dated versions.
func (c *call) requireAPIVersion() error {
	if v, ok := c.queryValue("api-version"); !ok || v == "" {
		return kverr.BadParameterf("The 'api-version' query parameter is required.")
	}
	return nil
}

// apiVersion returns the request's api-version, for nextLink.
func (c *call) apiVersion() string {
	v, _ := c.queryValue("api-version")
	return v
}

// readBody reads the body within the route's limit. Routes without a body
// limit ignore any body.
func (c *call) readBody() error {
	limit := c.route.body
	if limit == 0 || c.r.Body == nil {
		return nil
	}
	if c.r.ContentLength > limit {
		return errTooLarge(limit)
	}
	b, err := io.ReadAll(io.LimitReader(c.r.Body, limit+1))
	if err != nil {
		return kverr.BadParameterf("The request body could not be read.")
	}
	if int64(len(b)) > limit {
		return errTooLarge(limit)
	}
	c.body = b
	return nil
}

func errTooLarge(limit int64) error {
	return kverr.New(kverr.TooLarge, "RequestEntityTooLarge", fmt.Sprintf("The request body exceeds the limit of %d bytes for this operation.", limit))
}

// decode parses the JSON body into dst. An empty body decodes as {}. Error
// messages name the offending field and the expected type, never the value.
func (c *call) decode(dst any) error {
	if len(strings.TrimSpace(string(c.body))) == 0 {
		return nil
	}
	err := json.Unmarshal(c.body, dst)
	if err == nil {
		return nil
	}
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		if te.Field == "" {
			return kverr.BadParameterf("The request body must be a JSON object.")
		}
		return kverr.BadParameterf("Invalid request body: the field '%s' must be of type %s.", te.Field, jsonType(te.Type.Kind().String()))
	}
	var fe *fieldError
	if errors.As(err, &fe) && fe.field == "" {
		return kverr.BadParameterf("Invalid request body: %s.", fe.msg)
	}
	if errors.As(err, &fe) {
		return kverr.BadParameterf("Invalid request body: the field '%s' %s.", fe.field, fe.msg)
	}
	return kverr.BadParameterf("The request body is not valid JSON.")
}

func jsonType(kind string) string {
	switch {
	case kind == "bool":
		return "boolean"
	case strings.HasPrefix(kind, "int"), strings.HasPrefix(kind, "float"):
		return "number"
	case kind == "map", kind == "struct":
		return "object"
	case kind == "slice":
		return "array"
	}
	return kind
}

// fieldError is returned by custom JSON decoders for a field's value.
type fieldError struct{ field, msg string }

func (e *fieldError) Error() string { return e.field + " " + e.msg }

// reply writes v as JSON with status.
func (c *call) reply(status int, v any) error {
	if a, ok := v.(jsonAppender); ok {
		bp := replyBufs.Get().(*[]byte)
		buf := (*bp)[:0]
		if n := a.maxJSONLen(); n > cap(buf) {
			// Sized once: a buffer outgrown while encoding would leave
			// part of a secret behind, uncleared.
			buf = make([]byte, 0, n)
		}
		b := a.appendJSON(buf)
		c.send(status, b)
		clear(b) // it may hold a secret value
		if cap(b) <= maxPooledReply {
			*bp = b[:0]
			replyBufs.Put(bp)
		}
		return nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return kverr.Internalf(err)
	}
	c.send(status, b)
	return nil
}

// jsonAppender is a response body with a hand-written encoder, for the hot
// paths; it must write what json.Marshal would.
type jsonAppender interface {
	appendJSON(dst []byte) []byte
	// maxJSONLen bounds what appendJSON appends.
	maxJSONLen() int
}

// replyBufs recycle the buffers of hand-encoded responses; net/http copies
// the body into its own buffer during Write. 4 KiB holds the maxJSONLen of
// a typical secret bundle.
var replyBufs = sync.Pool{New: func() any { b := make([]byte, 0, 4096); return &b }}

const maxPooledReply = 64 << 10

// maxEscaped bounds the JSON string of s: an escape is at most six bytes
// for one (a control byte, '<', an invalid byte as \ufffd).
func maxEscaped(s string) int { return 2 + 6*len(s) }

// autoLengthMax bounds the bodies net/http gives a Content-Length of its
// own: those that fit its response buffer (2,048 bytes) when the handler
// returns.
const autoLengthMax = 2048

// send writes a JSON body.
func (c *call) send(status int, b []byte) {
	h := c.w.Header()
	h["Content-Type"] = hdrJSON
	if len(b) >= autoLengthMax {
		h["Content-Length"] = []string{strconv.Itoa(len(b))}
	} else {
		// net/http sets it: the whole body is written before it sends
		// anything. One set earlier (a held response replaced by an
		// error) must not outlive its body.
		delete(h, "Content-Length")
	}
	c.w.WriteHeader(status)
	_, _ = c.w.Write(b)
}

// noContent writes an empty 204.
func (c *call) noContent() error {
	c.w.WriteHeader(http.StatusNoContent)
	return nil
}

// base is the scheme, host and port the client used, for returned ids.
func (c *call) base() string { return "https://" + c.r.Host }
