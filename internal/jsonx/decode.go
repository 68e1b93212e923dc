package jsonx

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"strconv"
	"unicode/utf8"
)

// ErrSyntax reports input that is not the JSON a decoder expects.
var ErrSyntax = errors.New("jsonx: invalid JSON")

// maxDepth bounds the nesting of values skipped inside an object.
const maxDepth = 64

// Object calls fn with the key and raw value of each member of the JSON
// object that is all of data (surrounding whitespace allowed), in order.
// Values are checked for syntax; their meaning is fn's business.
func Object(data []byte, fn func(key, val []byte) error) error {
	end, err := object(data, skipWS(data, 0), 0, fn)
	if err != nil {
		return err
	}
	if skipWS(data, end) != len(data) {
		return ErrSyntax
	}
	return nil
}

// ObjectAt is Object for an object at the start of data (after optional
// whitespace) followed by anything: it returns the index just past the
// object.
func ObjectAt(data []byte, fn func(key, val []byte) error) (int, error) {
	return object(data, skipWS(data, 0), 0, fn)
}

// ObjectTaking is Object where take may read a member's value where it
// lies, instead of having it skipped and then decoded from fn: one pass
// over a nested document instead of two. take gets each member's key and
// the data from its value's first byte on; it returns the value's length
// when it read it, or 0 to leave the member to fn. A value take reads is
// checked by take's own reader, whose nesting limit starts there.
func ObjectTaking(data []byte, take func(key, rest []byte) (int, error), fn func(key, val []byte) error) error {
	end, err := members(data, skipWS(data, 0), 0, take, fn)
	if err != nil {
		return err
	}
	if !OnlySpace(data[end:]) {
		return ErrSyntax
	}
	return nil
}

// OnlySpace reports whether b is empty or JSON whitespace.
func OnlySpace(b []byte) bool { return skipWS(b, 0) == len(b) }

// ValueLen returns the length of the JSON value at the start of data,
// checking its syntax.
func ValueLen(data []byte) (int, error) { return skipValue(data, 0, 0) }

// object walks the object starting at data[i] and returns the index just
// past it.
func object(data []byte, i, depth int, fn func(key, val []byte) error) (int, error) {
	return members(data, i, depth, nil, fn)
}

func members(data []byte, i, depth int, take func(key, rest []byte) (int, error), fn func(key, val []byte) error) (int, error) {
	if depth > maxDepth || i >= len(data) || data[i] != '{' {
		return 0, ErrSyntax
	}
	i = skipWS(data, i+1)
	if i < len(data) && data[i] == '}' {
		return i + 1, nil
	}
	for {
		kend, err := skipString(data, i)
		if err != nil {
			return 0, err
		}
		rawKey := data[i:kend]
		i = skipWS(data, kend)
		if i >= len(data) || data[i] != ':' {
			return 0, ErrSyntax
		}
		i = skipWS(data, i+1)
		var key []byte
		if fn != nil || take != nil {
			key = rawKey[1 : len(rawKey)-1]
			if needsUnquote(key) {
				s, err := unquoteSlow(rawKey)
				if err != nil {
					return 0, err
				}
				key = []byte(s)
			}
		}
		n := 0
		if take != nil {
			if n, err = take(key, data[i:]); err != nil {
				return 0, err
			}
			if n < 0 || n > len(data)-i {
				return 0, ErrSyntax
			}
		}
		vend := i + n
		if n == 0 {
			if vend, err = skipValue(data, i, depth+1); err != nil {
				return 0, err
			}
			if fn != nil {
				if err := fn(key, data[i:vend]); err != nil {
					return 0, err
				}
			}
		}
		i = skipWS(data, vend)
		if i >= len(data) {
			return 0, ErrSyntax
		}
		switch data[i] {
		case ',':
			i = skipWS(data, i+1)
		case '}':
			return i + 1, nil
		default:
			return 0, ErrSyntax
		}
	}
}

func skipWS(data []byte, i int) int {
	for i < len(data) {
		switch data[i] {
		case ' ', '\t', '\n', '\r':
			i++
		default:
			return i
		}
	}
	return i
}

// skipString returns the index just past the string starting at data[i].
func skipString(data []byte, i int) (int, error) {
	if i >= len(data) || data[i] != '"' {
		return 0, ErrSyntax
	}
	for j := i + 1; j < len(data); j++ {
		j += plainWords(data[j:])
		if j >= len(data) {
			break
		}
		switch c := data[j]; {
		case c == '"':
			return j + 1, nil
		case c == '\\':
			j++
			if j >= len(data) {
				return 0, ErrSyntax
			}
			switch data[j] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			case 'u':
				if j+4 >= len(data) {
					return 0, ErrSyntax
				}
				for _, h := range data[j+1 : j+5] {
					if !isHex(h) {
						return 0, ErrSyntax
					}
				}
				j += 4
			default:
				return 0, ErrSyntax
			}
		case c < 0x20:
			return 0, ErrSyntax
		}
	}
	return 0, ErrSyntax
}

// plainWords returns the length of the longest prefix of b made of whole
// 8-byte words with no '"', '\\' or control character: string content
// that needs no look, skipped a word at a time (a key's base64 material
// runs to kilobytes).
func plainWords(b []byte) int { return words(b, 0) }

// asciiWords is plainWords that also stops at a byte outside ASCII: the
// prefix it passes over is string content that decodes as itself.
func asciiWords(b []byte) int { return words(b, ^uint64(0)) }

// words is plainWords, stopping also at bytes with their top bit set where
// high has it.
func words(b []byte, high uint64) int {
	const lsb, msb = 0x0101010101010101, 0x8080808080808080
	n := 0
	for ; len(b)-n >= 8; n += 8 {
		w := binary.LittleEndian.Uint64(b[n:])
		q, bs := w^(lsb*'"'), w^(lsb*'\\')
		// A byte is flagged by (x-lsb)&^x&msb when it is zero, by
		// (w-0x20·lsb)&^w&msb when it is below 0x20, and by w&high&msb
		// when it is outside ASCII and high asks for that; a word without
		// a flagged byte has none of them.
		if ((q-lsb)&^q|(bs-lsb)&^bs|(w-lsb*0x20)&^w|w&high)&msb != 0 {
			break
		}
	}
	return n
}

func isHex(c byte) bool { return '0' <= c && c <= '9' || 'a' <= c|0x20 && c|0x20 <= 'f' }

// skipValue returns the index just past the value starting at data[i].
func skipValue(data []byte, i, depth int) (int, error) {
	if i >= len(data) {
		return 0, ErrSyntax
	}
	switch c := data[i]; {
	case c == '"':
		return skipString(data, i)
	case c == '{':
		return object(data, i, depth, nil)
	case c == '[':
		return array(data, i, depth)
	case c == 't':
		return literal(data, i, "true")
	case c == 'f':
		return literal(data, i, "false")
	case c == 'n':
		return literal(data, i, "null")
	case c == '-' || '0' <= c && c <= '9':
		return number(data, i)
	}
	return 0, ErrSyntax
}

func array(data []byte, i, depth int) (int, error) {
	if depth > maxDepth {
		return 0, ErrSyntax
	}
	i = skipWS(data, i+1)
	if i < len(data) && data[i] == ']' {
		return i + 1, nil
	}
	for {
		end, err := skipValue(data, i, depth+1)
		if err != nil {
			return 0, err
		}
		i = skipWS(data, end)
		if i >= len(data) {
			return 0, ErrSyntax
		}
		switch data[i] {
		case ',':
			i = skipWS(data, i+1)
		case ']':
			return i + 1, nil
		default:
			return 0, ErrSyntax
		}
	}
}

func literal(data []byte, i int, lit string) (int, error) {
	if len(data)-i < len(lit) || string(data[i:i+len(lit)]) != lit {
		return 0, ErrSyntax
	}
	return i + len(lit), nil
}

// number checks JSON's number grammar: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?
func number(data []byte, i int) (int, error) {
	if i < len(data) && data[i] == '-' {
		i++
	}
	digits := func() bool {
		start := i
		for i < len(data) && '0' <= data[i] && data[i] <= '9' {
			i++
		}
		return i > start
	}
	switch {
	case i < len(data) && data[i] == '0':
		i++
	case !digits():
		return 0, ErrSyntax
	}
	if i < len(data) && data[i] == '.' {
		i++
		if !digits() {
			return 0, ErrSyntax
		}
	}
	if i < len(data) && data[i]|0x20 == 'e' {
		i++
		if i < len(data) && (data[i] == '+' || data[i] == '-') {
			i++
		}
		if !digits() {
			return 0, ErrSyntax
		}
	}
	return i, nil
}

// IsNull reports whether the raw value val is null (which leaves a Go
// value unchanged, as encoding/json does).
func IsNull(val []byte) bool { return string(val) == "null" }

// ParseString decodes the raw JSON string val (no surrounding whitespace)
// as encoding/json would.
func ParseString(val []byte) (string, error) {
	if s, ok := plainString(val); ok {
		return s, nil
	}
	if end, err := skipString(val, 0); err != nil || end != len(val) {
		return "", ErrSyntax
	}
	if s := val[1 : len(val)-1]; !needsUnquote(s) {
		return string(s), nil
	}
	return unquoteSlow(val)
}

// plainString decodes, in one pass, the usual stored string: printable
// ASCII without escapes between its quotes. Anything else is left to the
// full path.
func plainString(val []byte) (string, bool) {
	body, ok := plainBody(val)
	if !ok {
		return "", false
	}
	return string(body), true
}

// plainBody returns what is between the quotes of val when plainString
// would take it.
func plainBody(val []byte) ([]byte, bool) {
	n := len(val)
	if n < 2 || val[0] != '"' || val[n-1] != '"' {
		return nil, false
	}
	body := val[1 : n-1]
	for j := asciiWords(body); j < len(body); j++ {
		if c := body[j]; c == '"' || c == '\\' || c < 0x20 || c >= utf8.RuneSelf {
			return nil, false
		}
	}
	return body, true
}

// needsUnquote reports whether the string body s has escapes or bytes
// that are not valid UTF-8 (which encoding/json replaces).
func needsUnquote(s []byte) bool {
	for i := asciiWords(s); i < len(s); i++ {
		if c := s[i]; c == '\\' || c >= utf8.RuneSelf {
			return bytes.IndexByte(s[i:], '\\') >= 0 || !utf8.Valid(s[i:])
		}
	}
	return false
}

func unquoteSlow(val []byte) (string, error) {
	var s string
	if err := json.Unmarshal(val, &s); err != nil {
		return "", ErrSyntax
	}
	return s, nil
}

// ParseInt decodes the raw JSON number val as an int64, refusing what
// encoding/json refuses for one (fractions, exponents, overflow).
func ParseInt(val []byte) (int64, error) {
	if n, ok := smallInt(val); ok {
		return n, nil
	}
	if len(val) == 0 {
		return 0, ErrSyntax
	}
	if end, err := number(val, 0); err != nil || end != len(val) {
		return 0, ErrSyntax
	}
	n, err := strconv.ParseInt(string(val), 10, 64)
	if err != nil {
		return 0, ErrSyntax
	}
	return n, nil
}

// smallInt decodes, without allocating, an integer of up to 18 digits
// written as JSON writes it (no leading zeros, fraction or exponent):
// every stored time and size. Anything else is left to the full path.
func smallInt(val []byte) (int64, bool) {
	d := val
	if len(d) > 0 && d[0] == '-' {
		d = d[1:]
	}
	if len(d) == 0 || len(d) > 18 || d[0] == '0' && len(d) > 1 {
		return 0, false
	}
	var n int64
	for _, c := range d {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	if len(d) < len(val) {
		n = -n
	}
	return n, true
}

// ParseIntPtr is ParseInt for an optional (*int64) member.
func ParseIntPtr(val []byte) (*int64, error) {
	n, err := ParseInt(val)
	if err != nil {
		return nil, err
	}
	return &n, nil
}

// ParseBool decodes the raw JSON literal val as a bool.
func ParseBool(val []byte) (bool, error) {
	switch string(val) {
	case "true":
		return true, nil
	case "false":
		return false, nil
	}
	return false, ErrSyntax
}

// ParseStringMap decodes the raw JSON object val as a map of strings
// (null gives nil).
func ParseStringMap(val []byte) (map[string]string, error) {
	if IsNull(val) {
		return nil, nil
	}
	// Keys and values without escapes are cut from one copy of the
	// object's text: a map of n members costs one string allocation
	// instead of 2n.
	var text string
	cut := func(b []byte) string {
		off := cap(val) - cap(b)
		if len(b) == 0 || off < 0 || off+len(b) > len(val) || &val[off] != &b[0] {
			return string(b) // not a piece of val (an unescaped key), or empty
		}
		if text == "" {
			text = string(val)
		}
		return text[off : off+len(b)]
	}
	m := map[string]string{}
	err := Object(val, func(k, v []byte) error {
		var s string
		if body, ok := plainBody(v); ok {
			s = cut(body)
		} else {
			var err error
			if s, err = ParseString(v); err != nil {
				return err
			}
		}
		m[cut(k)] = s
		return nil
	})
	if err != nil {
		return nil, err
	}
	return m, nil
}

// ParseStringSlice decodes the raw JSON array val as a slice of strings
// (null gives nil).
func ParseStringSlice(val []byte) ([]string, error) {
	if IsNull(val) {
		return nil, nil
	}
	i := skipWS(val, 0)
	if i >= len(val) || val[i] != '[' {
		return nil, ErrSyntax
	}
	out := []string{}
	i = skipWS(val, i+1)
	if i < len(val) && val[i] == ']' {
		i++
	} else {
		for {
			end, err := skipString(val, i)
			if err != nil {
				return nil, err
			}
			s, err := ParseString(val[i:end])
			if err != nil {
				return nil, err
			}
			out = append(out, s)
			i = skipWS(val, end)
			if i >= len(val) {
				return nil, ErrSyntax
			}
			if val[i] == ']' {
				i++
				break
			}
			if val[i] != ',' {
				return nil, ErrSyntax
			}
			i = skipWS(val, i+1)
		}
	}
	if skipWS(val, i) != len(val) {
		return nil, ErrSyntax
	}
	return out, nil
}

// ParseBytes decodes the raw JSON string val holding standard base64, as
// encoding/json decodes a []byte (null gives nil).
func ParseBytes(val []byte) ([]byte, error) {
	if IsNull(val) {
		return nil, nil
	}
	if end, err := skipString(val, 0); err != nil || end != len(val) {
		return nil, ErrSyntax
	}
	s := val[1 : len(val)-1]
	if needsUnquote(s) {
		u, err := unquoteSlow(val)
		if err != nil {
			return nil, err
		}
		s = []byte(u)
	}
	out := make([]byte, base64.StdEncoding.DecodedLen(len(s)))
	n, err := base64.StdEncoding.Decode(out, s)
	if err != nil {
		return nil, ErrSyntax
	}
	return out[:n], nil
}
