package secrets

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/keyhaven/keyhaven/internal/objects"
)

// The hand-written record decoder gives what json.Unmarshal gives.
func FuzzRecordDecodeStored(f *testing.F) {
	f.Add("v<&>\u2028\xff", "text/plain", "k", "v", int64(5), true, uint8(3))
	f.Add("", "", "", "", int64(-1), false, uint8(0))
	f.Fuzz(func(t *testing.T, val, ct, tk, tv string, n int64, b bool, opt uint8) {
		rec := record{Value: val, ContentType: ct, Enabled: b, Created: n, Updated: n / 3, Managed: !b, KeyID: tv}
		if opt&1 != 0 {
			rec.Tags = map[string]string{tk: tv, tv + "x": tk}
		}
		if opt&2 != 0 {
			rec.NotBefore = &n
		}
		if opt&4 != 0 {
			m := -n
			rec.Expires = &m
		}
		raw, err := objects.Marshal(&rec)
		if err != nil {
			t.Fatal(err)
		}
		checkDecode(t, raw)
	})
}

// Arbitrary input never panics and, when json.Unmarshal takes it with
// lower-case member names, decodes to the same record.
func FuzzRecordDecodeArbitrary(f *testing.F) {
	f.Add([]byte(`{"value":"a","tags":null,"nbf":null,"exp":5,"x":[1,{"y":2}]}`))
	f.Add([]byte(`{"value":1}`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		var got record
		gerr := objects.DecodeRecord(raw, &got, false)
		var want record
		werr := json.Unmarshal(raw, &want)
		if gerr == nil && werr != nil {
			t.Fatalf("DecodeRecord(%q) accepted what json.Unmarshal refuses: %v", raw, werr)
		}
		if gerr == nil && !reflect.DeepEqual(got, want) && onlyLowerKeys(raw) {
			t.Fatalf("DecodeRecord(%q) = %+v, json.Unmarshal %+v", raw, got, want)
		}
	})
}

func onlyLowerKeys(raw []byte) bool {
	var m map[string]json.RawMessage
	if json.Unmarshal(raw, &m) != nil {
		return false
	}
	for k := range m {
		switch k {
		case "value", "contentType", "tags", "enabled", "nbf", "exp", "created", "updated", "managed", "kid":
		default:
			for _, f := range []string{"value", "contentType", "tags", "enabled", "nbf", "exp", "created", "updated", "managed", "kid"} {
				if len(k) == len(f) && equalFold(k, f) {
					return false
				}
			}
		}
	}
	return true
}

func equalFold(a, b string) bool {
	for i := 0; i < len(a); i++ {
		if a[i]|0x20 != b[i]|0x20 {
			return false
		}
	}
	return true
}

func checkDecode(t *testing.T, raw []byte) {
	t.Helper()
	var want, got record
	if err := json.Unmarshal(raw, &want); err != nil {
		t.Fatal(err)
	}
	if err := objects.DecodeRecord(raw, &got, false); err != nil {
		t.Fatalf("DecodeRecord(%s): %v", raw, err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("DecodeRecord(%s) = %+v, want %+v", raw, got, want)
	}
	// A list page's decode is the same without the value.
	var listed record
	if err := objects.DecodeRecord(raw, &listed, true); err != nil {
		t.Fatalf("DecodeRecord(%s, listing): %v", raw, err)
	}
	want.Value = ""
	if !reflect.DeepEqual(listed, want) {
		t.Fatalf("DecodeRecord(%s, listing) = %+v, want %+v", raw, listed, want)
	}
}
