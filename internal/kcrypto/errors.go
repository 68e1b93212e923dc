package kcrypto

import (
	"errors"
	"fmt"
)

// Sentinel errors. Every error caused by the request or the key is one of
// these or wraps exactly one of them (see [Error]), so callers map them with
// errors.Is. The only other errors are internal failures of key generation,
// which wrap the standard library's error and deserve a 500.
var (
	// ErrUnsupportedAlgorithm: the algorithm name is unknown, or not
	// defined for the requested operation (e.g. "A256KW" passed to Sign).
	ErrUnsupportedAlgorithm = errors.New("kcrypto: unsupported algorithm")
	// ErrAlgorithmKeyMismatch: the algorithm exists for the operation but
	// not for this key's type, curve or size (e.g. ES384 with a P-256 key,
	// A256GCM with a 128-bit key).
	ErrAlgorithmKeyMismatch = errors.New("kcrypto: algorithm does not match the key")
	// ErrInvalidDigest: the digest length does not match the algorithm.
	ErrInvalidDigest = errors.New("kcrypto: invalid digest")
	// ErrInvalidInput: a request value (plaintext length, iv, tag, aad,
	// size, curve, count) is not acceptable.
	ErrInvalidInput = errors.New("kcrypto: invalid input")
	// ErrDecryption: decryption or unwrapping failed. It is deliberately
	// uninformative: a wrong key, a wrong tag, bad padding and a corrupted
	// ciphertext all return this same value, unwrapped.
	ErrDecryption = errors.New("kcrypto: decryption failed")
	// ErrInvalidKey: key material is malformed, inconsistent or of an
	// unsupported kind, or a private operation was asked of a public-only
	// key.
	ErrInvalidKey = errors.New("kcrypto: invalid key")
)

// Error is the typed error used for every failure that carries detail. Msg
// is written for the API client: it names algorithms, fields and lengths and
// never contains key material, plaintext or other request bytes. Kind is one
// of the sentinel errors above.
type Error struct {
	Kind error
	Msg  string
}

func (e *Error) Error() string { return e.Kind.Error() + ": " + e.Msg }

// Unwrap returns Kind, so errors.Is(err, ErrInvalidDigest) works.
func (e *Error) Unwrap() error { return e.Kind }

func errorf(kind error, format string, args ...any) error {
	return &Error{Kind: kind, Msg: fmt.Sprintf(format, args...)}
}

func errNoPrivate(op string) error {
	return errorf(ErrInvalidKey, "the key has no private part, which %s needs", op)
}
