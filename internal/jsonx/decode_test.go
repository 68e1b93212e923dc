package jsonx

import (
	"bytes"
	"encoding/json"
	"maps"
	"slices"
	"strings"
	"testing"
)

// Object accepts exactly the objects encoding/json accepts, and gives the
// members it would decode into a map of raw values.
func FuzzObject(f *testing.F) {
	for _, s := range []string{`{}`, ` {"a":1 ,"b" : [1,{"c":null}] } `, `{"a":"\u00e9\n"}`, `{"a":1e5,"b":-0.5E-3}`,
		`{"a":}`, `{"a":01}`, `{"a":"x\y"}`, `{"a":1,}`, `[1]`, `{"a":tru}`, "{\"a\":\"\x01\"}", `{"\u0061":2}`, `{"a":1}x`,
		// Long strings, skipped a word at a time: specials at every offset of a word.
		`{"abcdefghijklmnopq":"0123456789abcdef\"0123456789abcdef\\01234567\u00e9é漢字0123456789abcdefgh","b":"01234567"}`,
		"{\"a\":\"0123456789abcdef\x1f012345\"}", "{\"a\":\"01234567\x7f\x80\xff\xfe01234567\"}", `{"a":"0123456"}`, `{"a":"01234567`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var want map[string]json.RawMessage
		werr := json.Unmarshal(data, &want)
		got := map[string]string{}
		gerr := Object(data, func(k, v []byte) error { got[string(k)] = string(v); return nil })
		if (werr == nil) != (gerr == nil) {
			if werr == nil && want == nil {
				return // null decodes into a nil map without error; not an object
			}
			t.Fatalf("Object(%q) err %v, encoding/json err %v", data, gerr, werr)
		}
		if werr != nil {
			return
		}
		if len(got) != len(want) {
			t.Fatalf("Object(%q) = %v, want %v", data, got, want)
		}
		for k, v := range want {
			if got[k] != string(v) {
				t.Fatalf("Object(%q)[%q] = %s, want %s", data, k, got[k], v)
			}
		}
	})
}

// ObjectTaking sees what Object sees, whether a member's value is read in
// place by take or handed to fn; ObjectAt finds the end of the same
// object followed by anything.
func FuzzObjectTaking(f *testing.F) {
	for _, s := range []string{`{}`, ` {"a":1 ,"bb" : [1,{"c":null}] } `, `{"rec":{"x":"y"},"name":"n"}`, `{"a":}`, `{"ab":1,}`, `{"ab":tru}`, `[1]`, `{"a":1}x`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if bytes.Count(data, []byte("["))+bytes.Count(data, []byte("{")) >= maxDepth {
			return // a value take reads has its own nesting limit
		}
		var want []string
		werr := Object(data, func(k, v []byte) error { want = append(want, string(k)+"="+string(v)); return nil })
		var got []string
		take := func(k, rest []byte) (int, error) {
			if len(k)%2 == 1 {
				return 0, nil
			}
			n, err := ValueLen(rest)
			if err == nil {
				got = append(got, string(k)+"="+string(rest[:n]))
			}
			return n, err
		}
		gerr := ObjectTaking(data, take, func(k, v []byte) error { got = append(got, string(k)+"="+string(v)); return nil })
		if (werr == nil) != (gerr == nil) || werr == nil && !slices.Equal(got, want) {
			t.Fatalf("ObjectTaking(%q) = %q, %v; Object %q, %v", data, got, gerr, want, werr)
		}
		if werr != nil {
			return
		}
		end, err := ObjectAt(append(slices.Clone(data), "]x"...), nil)
		if err != nil || !OnlySpace(data[end:]) || OnlySpace(data[:end]) {
			t.Fatalf("ObjectAt(%q+\"]x\") = %d, %v", data, end, err)
		}
	})
}

// A take that misreports a value's length is an error, not a misread.
func TestMemberLengthChecked(t *testing.T) {
	for _, n := range []int{-100, -1, 100} {
		err := ObjectTaking([]byte(`{"a":1}`), func(_, _ []byte) (int, error) { return n, nil }, nil)
		if err == nil {
			t.Fatalf("length %d accepted", n)
		}
	}
}

func FuzzParseScalars(f *testing.F) {
	for _, s := range []string{`"a"`, `"\u003c\ud83d\ude00"`, "\"\xff\"", `12`, `-0`, `01`, `1.5`, `1e3`, `9223372036854775808`, `true`, `null`, `""00000"`, "\"\u0099\\b\"", `-123456789012345678`, `123456789012345678`, `1234567890123456789`, `-`, `-01`, `00`,
		`{"env":"prod","team":"payments"}`, `{ "a" : "b" , "c\u0064":"e","":"","x":"\u00e9","a":"dup","y":"\"q\""}`, `{"k":1}`, `{}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(bytes.TrimLeft(data, " \t\r\n")) != len(data) || len(bytes.TrimRight(data, " \t\r\n")) != len(data) {
			return // values come from Object, without surrounding whitespace
		}
		var ws string
		werr := json.Unmarshal(data, &ws)
		if gs, gerr := ParseString(data); !IsNull(data) && ((werr == nil) != (gerr == nil) || gs != ws) {
			t.Fatalf("ParseString(%q) = %q, %v; encoding/json %q, %v", data, gs, gerr, ws, werr)
		}
		var wn int64
		werr = json.Unmarshal(data, &wn)
		if gn, gerr := ParseInt(data); !IsNull(data) && ((werr == nil) != (gerr == nil) || gn != wn) {
			t.Fatalf("ParseInt(%q) = %d, %v; encoding/json %d, %v", data, gn, gerr, wn, werr)
		}
		var wb bool
		werr = json.Unmarshal(data, &wb)
		if gb, gerr := ParseBool(data); !IsNull(data) && ((werr == nil) != (gerr == nil) || gb != wb) {
			t.Fatalf("ParseBool(%q) = %v, %v; encoding/json %v, %v", data, gb, gerr, wb, werr)
		}
		var wm map[string]string
		werr = json.Unmarshal(data, &wm)
		if gm, gerr := ParseStringMap(data); (werr == nil) != (gerr == nil) || werr == nil && !maps.Equal(gm, wm) {
			t.Fatalf("ParseStringMap(%q) = %v, %v; encoding/json %v, %v", data, gm, gerr, wm, werr)
		}
	})
}

// ParseStringMap's strings are copies: the object's text may be a
// barrier's plaintext, cleared after it is read.
func TestParseStringMapCopies(t *testing.T) {
	// The object inside a larger record, as callers pass it.
	record := []byte(`{"tags":{"env":"prod","t\u0065am":"pay\nments","empty":""},"x":"after"}`)
	data := record[len(`{"tags":`) : len(record)-len(`,"x":"after"}`)]
	m, err := ParseStringMap(data)
	clear(record)
	if want := map[string]string{"env": "prod", "team": "pay\nments", "empty": ""}; err != nil || !maps.Equal(m, want) {
		t.Fatalf("ParseStringMap = %q, %v; want %q", m, err, want)
	}
}

func FuzzParseSlices(f *testing.F) {
	for _, s := range []string{`["a","b"]`, `[]`, `[ "x" , "\u00e9" ]`, `null`, `["a",]`, `[1]`, `"AQID"`, `"AQ=="`, `"A"`, `"AQ\nID"`, `"\u0041QID"`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(bytes.TrimLeft(data, " \t\r\n")) != len(data) || len(bytes.TrimRight(data, " \t\r\n")) != len(data) {
			return
		}
		var ws []string
		werr := json.Unmarshal(data, &ws)
		if gs, gerr := ParseStringSlice(data); (werr == nil) != (gerr == nil) || (werr == nil && !slices.Equal(gs, ws)) {
			t.Fatalf("ParseStringSlice(%q) = %q, %v; encoding/json %q, %v", data, gs, gerr, ws, werr)
		}
		var wb []byte
		werr = json.Unmarshal(data, &wb)
		// encoding/json also takes an array of numbers for a []byte; ParseBytes
		// only the base64 string json.Marshal writes.
		gb, gerr := ParseBytes(data)
		if gerr == nil && (werr != nil || !bytes.Equal(gb, wb)) || gerr != nil && werr == nil && data[0] != '[' {
			t.Fatalf("ParseBytes(%q) = %x, %v; encoding/json %x, %v", data, gb, gerr, wb, werr)
		}
	})
}

// Strings are skipped a word at a time: a special byte at any offset of a
// long string is seen as encoding/json sees it.
func TestStringSpecialsAtEveryOffset(t *testing.T) {
	for _, special := range []string{`"`, `\"`, `\\`, `\u00e9`, `\x`, "\x00", "\x01", "\x1f", "\x7f", "\xff", "é", "\n"} {
		for off := range 24 {
			for _, tail := range []int{0, 1, 7, 8, 9, 17} {
				body := strings.Repeat("a", off) + special + strings.Repeat("b", tail)
				data := []byte(`{"k":"` + body + `"}`)
				var want map[string]json.RawMessage
				werr := json.Unmarshal(data, &want)
				var got string
				gerr := Object(data, func(_, v []byte) error { got = string(v); return nil })
				if (werr == nil) != (gerr == nil) || werr == nil && got != string(want["k"]) {
					t.Fatalf("Object(%q): %q, %v; encoding/json: %q, %v", data, got, gerr, want["k"], werr)
				}
				// The same body decoded as a value and as a member name.
				val := []byte(`"` + body + `"`)
				var ws string
				werr = json.Unmarshal(val, &ws)
				if gs, gerr := ParseString(val); (werr == nil) != (gerr == nil) || gs != ws {
					t.Fatalf("ParseString(%q) = %q, %v; encoding/json: %q, %v", val, gs, gerr, ws, werr)
				}
				var wm map[string]int
				werr = json.Unmarshal([]byte(`{`+string(val)+`:1}`), &wm)
				var key string
				gerr = Object([]byte(`{`+string(val)+`:1}`), func(k, _ []byte) error { key = string(k); return nil })
				if (werr == nil) != (gerr == nil) || werr == nil && wm[key] != 1 {
					t.Fatalf("Object(%s) key %q, %v; encoding/json: %v, %v", `{`+string(val)+`:1}`, key, gerr, wm, werr)
				}
			}
		}
	}
}

// A stored RSA key record: its material is ~1.6 KB of base64.
func BenchmarkObjectLongString(b *testing.B) {
	data := []byte(`{"kty":"RSA","material":"` + strings.Repeat("MIIEowIBAAKCAQEAx3p+/", 80) + `","ops":["sign","verify"]}`)
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if err := Object(data, func(_, _ []byte) error { return nil }); err != nil {
			b.Fatal(err)
		}
	}
}
