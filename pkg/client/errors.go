package client

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// ResponseError is a non-2xx answer from the vault, parsed from Azure's
// envelope {"error":{"code","message","innererror":{"code"}}}.
type ResponseError struct {
	StatusCode int    // HTTP status
	Code       string // error.code, e.g. "SecretNotFound"; "" if the body had none
	InnerCode  string // error.innererror.code, e.g. "ObjectIsDeletedButRecoverable"
	Message    string // error.message, or the HTTP status text
}

// Error reads like "SecretNotFound (404): A secret with (name/id) x was not
// found in this key vault".
func (e *ResponseError) Error() string {
	status := fmt.Sprint(e.StatusCode)
	if e.InnerCode != "" {
		status += ", " + e.InnerCode
	}
	code := e.Code
	if code == "" {
		code = "HTTP"
	}
	return fmt.Sprintf("%s (%s): %s", code, status, e.Message)
}

// errorEnvelope is Azure's KeyVaultError.
type errorEnvelope struct {
	Error *struct {
		Code       string `json:"code"`
		Message    string `json:"message"`
		InnerError *struct {
			Code string `json:"code"`
		} `json:"innererror"`
	} `json:"error"`
}

// maxErrorBody bounds how much of an error body is read.
const maxErrorBody = 1 << 20

// newResponseError builds a *ResponseError from a non-2xx response and
// closes its body. A body that is not Azure's envelope is not quoted: it
// could echo request data.
func newResponseError(resp *http.Response) *ResponseError {
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	return parseResponseError(resp.StatusCode, body)
}

func parseResponseError(status int, body []byte) *ResponseError {
	e := &ResponseError{StatusCode: status}
	var env errorEnvelope
	if json.Unmarshal(body, &env) == nil && env.Error != nil {
		e.Code, e.Message = env.Error.Code, strings.TrimSpace(env.Error.Message)
		if env.Error.InnerError != nil {
			e.InnerCode = env.Error.InnerError.Code
		}
	}
	if e.Message == "" {
		e.Message = http.StatusText(status)
	}
	return e
}

// AuthenticationError is a failed token request: the token endpoint's
// OAuth error ({"error","error_description"}) or an unusable answer.
type AuthenticationError struct {
	Endpoint    string // token endpoint URL
	StatusCode  int    // HTTP status of the token endpoint's answer
	ErrorCode   string // OAuth "error", e.g. "invalid_client"
	Description string // OAuth "error_description"; never contains the client secret
}

func (e *AuthenticationError) Error() string {
	msg := "token request to " + e.Endpoint + " failed"
	if e.StatusCode != 0 {
		msg += fmt.Sprintf(" (HTTP %d)", e.StatusCode)
	}
	if e.ErrorCode != "" {
		msg += ": " + e.ErrorCode
	}
	if e.Description != "" {
		msg += ": " + e.Description
	}
	return msg
}
