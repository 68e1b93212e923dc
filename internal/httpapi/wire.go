package httpapi

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"math"
	"strconv"

	"github.com/keyhaven/keyhaven/internal/jsonx"
)

// unixTime is a Unix-seconds timestamp on the wire. Clients send integers;
// fractional seconds are accepted and truncated.
type unixTime int64

func (t *unixTime) UnmarshalJSON(b []byte) error {
	if bytes.Equal(b, []byte("null")) {
		return nil
	}
	f, err := strconv.ParseFloat(string(b), 64)
	if err != nil || math.IsInf(f, 0) || math.IsNaN(f) || f < 0 || f > 253402300799 {
		return &fieldError{field: "nbf/exp", msg: "must be a Unix time in seconds"}
	}
	*t = unixTime(int64(f))
	return nil
}

func (t *unixTime) ptr() *int64 {
	if t == nil {
		return nil
	}
	v := int64(*t)
	return &v
}

// base64URL is binary data as base64url without padding (padding and the
// standard alphabet are accepted on input).
type base64URL []byte

func (b base64URL) MarshalJSON() ([]byte, error) {
	return json.Marshal(base64.RawURLEncoding.EncodeToString(b))
}

func (b *base64URL) UnmarshalJSON(data []byte) error {
	var s string
	var err error
	if len(data) > 0 && data[0] == '"' {
		s, err = jsonx.ParseString(data) // json.Unmarshal's result, without reflection
	} else {
		err = json.Unmarshal(data, &s)
	}
	if err != nil {
		return errNotBase64URL
	}
	for _, enc := range []*base64.Encoding{base64.RawURLEncoding, base64.URLEncoding, base64.StdEncoding, base64.RawStdEncoding} {
		if d, err := enc.DecodeString(s); err == nil {
			*b = d
			return nil
		}
	}
	return errNotBase64URL
}

// listResult is Azure's page shape.
type listResult[T any] struct {
	Value    []T     `json:"value"`
	NextLink *string `json:"nextLink"`
}

var errNotBase64URL = &fieldError{msg: "a binary field (value, iv, tag, aad, digest) is not a base64url string"}
