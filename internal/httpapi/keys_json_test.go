package httpapi

import (
	"encoding/json"
	"reflect"
	"testing"
)

// The hand-written key operation result is what json.Marshal writes.
func FuzzKeyOperationResultAppendJSON(f *testing.F) {
	f.Add("https://v.vault.localhost/keys/k/0123", []byte("sig"), []byte{}, []byte{1, 2}, []byte(nil), true)
	f.Add("<&>\u2028\"\\\x01é", []byte{}, []byte{0xff}, []byte(nil), []byte{0}, false)
	f.Fuzz(func(t *testing.T, kid string, v, iv, tag, aad []byte, valid bool) {
		r := keyOperationResult{Kid: kid, Value: v, IV: iv, Tag: tag, AAD: aad}
		if len(v) == 0 && valid {
			r.Value = nil
		}
		want, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		if got := r.appendJSON(nil); string(got) != string(want) || len(got) > r.maxJSONLen() {
			t.Fatalf("appendJSON = %s (bound %d)\njson.Marshal = %s", got, r.maxJSONLen(), want)
		}
		want, _ = json.Marshal(map[string]bool{"value": valid})
		if got := verifyResult(valid).appendJSON(nil); string(got) != string(want) {
			t.Fatalf("verify appendJSON = %s, json.Marshal = %s", got, want)
		}
	})
}

// Whatever the direct decoder of a key operation accepts, encoding/json
// accepts too and decodes to the same request.
func FuzzDecodeKeyOperation(f *testing.F) {
	for _, s := range []string{`{"alg":"RS256","value":"AAEC"}`, `{"alg":"A256GCM","value":"AAEC","iv":"AAEC","aad":"","tag":null}`,
		`{"ALG":"RS256","value":"AAEC"}`, `{"alg":null,"value":null}`, `{"value":"AAEC","value":null}`, `{"alg":5}`,
		`{"value":"AA==","digest":"AA","x":[1,{"y":2}]}`, `{"value":"*"}`, `{"\u0061lg":"ES256","value":"AAEC"}`, `null`, ``,
		`{"value":"AAEC"} `, `{"Value":"AAEC"}`, `{"alg":"RS\u0032\u0035\u0036","value":"AAEC"}`, "{\"alg\":\"\xff\",\"value\":\"AA\"}"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var fast keyOperationRequest
		if !fastKeyOperation(body, &fast) {
			return // c.decode decides
		}
		var want keyOperationRequest
		if err := json.Unmarshal(body, &want); err != nil {
			t.Fatalf("direct decoder accepted %q, encoding/json: %v", body, err)
		}
		if !reflect.DeepEqual(fast, want) {
			t.Fatalf("%q: direct %+v, encoding/json %+v", body, fast, want)
		}
	})
}

// The usual bodies take the direct path.
func TestDecodeKeyOperationDirect(t *testing.T) {
	for _, s := range []string{`{"alg":"RS256","value":"n4bQgYhMfWWaL-qgxVrQFaO_TxsrC4Is0V1sFbDwCgg"}`,
		`{"alg":"A256GCM","value":"AAEC","iv":"AAECAwQFBgcICQoL","aad":"AAEC","tag":"AAECAwQFBgcICQoLDA0ODw"}`} {
		var req keyOperationRequest
		if !fastKeyOperation([]byte(s), &req) || req.Value == nil || req.Alg == "" {
			t.Fatalf("%s: not decoded directly: %+v", s, req)
		}
	}
}
