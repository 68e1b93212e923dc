package keys

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/keyhaven/keyhaven/internal/objects"
)

// The hand-written record decoder gives what json.Unmarshal gives.
func FuzzRecordDecodeStored(f *testing.F) {
	f.Add("RSA", []byte{1, 2, 3}, "sign", "k", "v", int64(5), true, uint8(7))
	f.Add("", []byte(nil), "", "", "", int64(0), false, uint8(0))
	f.Fuzz(func(t *testing.T, kty string, material []byte, op, tk, tv string, n int64, b bool, opt uint8) {
		rec := record{Kty: kty, Material: material, Enabled: b, Created: n, Updated: n / 7, Exportable: !b, Managed: b}
		if opt&1 != 0 {
			rec.Tags = map[string]string{tk: tv}
		}
		if opt&2 != 0 {
			rec.NotBefore = &n
		}
		if opt&4 != 0 {
			rec.KeyOps = []string{op, tv}
		} else if opt&8 != 0 {
			rec.KeyOps = []string{}
		}
		if opt&16 != 0 {
			rec.Expires = &n
		}
		raw, err := objects.Marshal(&rec)
		if err != nil {
			t.Fatal(err)
		}
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
		// A list page's decode is the same without the private material.
		var listed record
		if err := objects.DecodeRecord(raw, &listed, true); err != nil {
			t.Fatalf("DecodeRecord(%s, listing): %v", raw, err)
		}
		want.Material = nil
		if !reflect.DeepEqual(listed, want) {
			t.Fatalf("DecodeRecord(%s, listing) = %+v, want %+v", raw, listed, want)
		}
	})
}
