package httpapi

import (
	"net/http"

	"github.com/keyhaven/keyhaven/internal/kverr"
)

// statusOf is the one table from error kinds to HTTP status codes.
var statusOf = map[kverr.Kind]int{
	kverr.Internal:         http.StatusInternalServerError,
	kverr.BadParameter:     http.StatusBadRequest,
	kverr.Unauthorized:     http.StatusUnauthorized,
	kverr.Forbidden:        http.StatusForbidden,
	kverr.NotFound:         http.StatusNotFound,
	kverr.Conflict:         http.StatusConflict,
	kverr.TooLarge:         http.StatusRequestEntityTooLarge,
	kverr.MethodNotAllowed: http.StatusMethodNotAllowed,
	kverr.Throttled:        http.StatusTooManyRequests,
	kverr.Unavailable:      http.StatusServiceUnavailable,
}

type errorBody struct {
	Error errorDetail `json:"error"`
}

type errorDetail struct {
	Code       string      `json:"code"`
	Message    string      `json:"message"`
	InnerError *innerError `json:"innererror,omitempty"`
}

type innerError struct {
	Code string `json:"code"`
}

// renderError writes err in Azure's error envelope. Errors that are not
// *kverr.Error are internal: the client gets a generic message and the
// request id, the log gets the cause.
func (s *Server) renderError(c *call, err error) {
	ke := kverr.As(err)
	if ke == nil || ke.Kind == kverr.Internal {
		if s.Seal.Sealed() {
			ke = errSealed
		} else {
			s.Logger.Error("request failed", "requestId", c.requestID, "method", c.r.Method, "path", c.r.URL.Path, "err", err)
			ke = kverr.Internalf(err)
			ke.Message = "The server encountered an internal error. Request id: " + c.requestID
		}
	}
	ke = s.armShaped(c, ke)
	c.errCode = ke.Code
	body := errorBody{Error: errorDetail{Code: ke.Code, Message: ke.Message}}
	if ke.Inner != "" {
		body.Error.InnerError = &innerError{Code: ke.Inner}
	}
	status := statusOf[ke.Kind]
	if status == 0 {
		status = http.StatusInternalServerError
	}
	_ = c.reply(status, body)
}
