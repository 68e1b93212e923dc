// Package kverr is the error vocabulary shared by keyhaven's domain services
// and its wire protocol. A domain service returns an *Error that names a Kind
// (what went wrong, independent of HTTP) and Azure Key Vault's error code; the
// httpapi package maps the Kind to a status code in one table and renders
// Azure's envelope {"error":{"code","message","innererror":{"code"}}}.
//
// Messages are public: they must never contain a secret value, key material,
// a token or a password. Names of objects may appear, as in Azure's messages.
// Internal causes go in Cause, which is logged but never sent to clients.
package kverr

import (
	"errors"
	"fmt"
)

// Kind classifies an error independently of the transport.
type Kind int

// Kinds of errors. The zero Kind is Internal.
const (
	Internal Kind = iota
	BadParameter
	Unauthorized
	Forbidden
	NotFound
	Conflict
	TooLarge
	MethodNotAllowed
	Throttled
	Unavailable
)

// Error is a domain error with a public message.
type Error struct {
	Kind    Kind
	Code    string // Azure's error.code, e.g. "SecretNotFound"
	Inner   string // Azure's error.innererror.code, e.g. "ObjectIsDeletedButRecoverable"; may be empty
	Message string // public message
	Cause   error  // internal cause, never shown to clients
}

func (e *Error) Error() string {
	if e.Cause != nil {
		return fmt.Sprintf("%s: %s: %v", e.Code, e.Message, e.Cause)
	}
	return e.Code + ": " + e.Message
}

func (e *Error) Unwrap() error { return e.Cause }

// New returns an error of kind with Azure code and message.
func New(kind Kind, code, message string) *Error {
	return &Error{Kind: kind, Code: code, Message: message}
}

// WithInner returns a copy of e with the inner error code set.
func (e *Error) WithInner(inner string) *Error {
	c := *e
	c.Inner = inner
	return &c
}

// BadParameterf returns a 400-class error with code BadParameter. Callers
// format only names and limits into it, never request values.
func BadParameterf(format string, args ...any) *Error {
	return New(BadParameter, "BadParameter", fmt.Sprintf(format, args...))
}

// Forbiddenf returns a Forbidden error.
func Forbiddenf(format string, args ...any) *Error {
	return New(Forbidden, "Forbidden", fmt.Sprintf(format, args...))
}

// Internalf wraps an unexpected failure. Its public message is generic.
func Internalf(cause error) *Error {
	return &Error{Kind: Internal, Code: "InternalServerError", Message: "The server encountered an internal error.", Cause: cause}
}

// As returns the *Error in err's chain, or nil.
func As(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return nil
}
