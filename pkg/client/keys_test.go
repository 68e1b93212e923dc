package client

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"reflect"
	"strings"
	"testing"
)

func newTestKeysClient(t *testing.T, v *fakeVault) *KeysClient {
	t.Helper()
	c, err := NewKeysClient(v.url(), &fakeCredential{}, &ClientOptions{RootCAs: v.srv.roots})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// lastRequest is the last authenticated request the fake vault saw.
func lastRequest(t *testing.T, v *fakeVault) recorded {
	t.Helper()
	reqs := v.requests()
	for i := len(reqs) - 1; i >= 0; i-- {
		if reqs[i].Auth != "" {
			return reqs[i]
		}
	}
	t.Fatal("no authenticated request")
	return recorded{}
}

const (
	testKid       = "https://myvault.vault.localhost/keys/k/0123456789abcdef0123456789abcdef"
	keyBundleJSON = `{"key":{"kid":"` + testKid + `","kty":"RSA","key_ops":["sign","verify"],"n":"AQID","e":"AQAB"},
	  "attributes":{"enabled":true,"nbf":1600000000,"exp":1900000000,"created":1700000000,"updated":1700000100,
	    "recoverableDays":90,"recoveryLevel":"Recoverable+Purgeable","exportable":false},
	  "tags":{"env":"dev"}}`
)

func TestKeyJSONMirrorsTheWire(t *testing.T) {
	var b KeyBundle
	if err := json.Unmarshal([]byte(keyBundleJSON), &b); err != nil {
		t.Fatal(err)
	}
	if b.Key == nil || b.Key.Kid != testKid || b.Key.Kty != "RSA" || string(b.Key.N) != "\x01\x02\x03" ||
		string(b.Key.E) != "\x01\x00\x01" || !reflect.DeepEqual(b.Key.KeyOps, []string{"sign", "verify"}) {
		t.Fatalf("key %+v", b.Key)
	}
	a := b.Attributes
	if a == nil || !*a.Enabled || *a.NotBefore != 1600000000 || *a.Expires != 1900000000 || *a.Created != 1700000000 ||
		*a.RecoverableDays != 90 || a.RecoveryLevel != "Recoverable+Purgeable" || *a.Exportable {
		t.Fatalf("attributes %+v", a)
	}
	// Binary fields go out as unpadded base64url and come in padded or not.
	out, err := json.Marshal(JSONWebKey{Kty: "oct", K: []byte{0xfb, 0xff}, T: []byte{1}})
	if err != nil || string(out) != `{"kty":"oct","k":"-_8","key_hsm":"AQ"}` {
		t.Errorf("marshal: %s %v", out, err)
	}
	var j JSONWebKey
	if err := json.Unmarshal([]byte(`{"x":"-_8=","y":""}`), &j); err != nil || string(j.X) != "\xfb\xff" || len(j.Y) != 0 {
		t.Errorf("unmarshal: %+v %v", j, err)
	}
	if err := json.Unmarshal([]byte(`{"x":"not base64!"}`), &j); err == nil {
		t.Error("invalid base64url accepted")
	}
	// A deleted key's dates are Unix seconds.
	var d KeyBundle
	if err := json.Unmarshal([]byte(`{"kid":"k","recoveryId":"r","deletedDate":1700000000,"scheduledPurgeDate":1707776000,"managed":true}`), &d); err != nil ||
		d.DeletedDate != 1700000000 || d.ScheduledPurgeDate != 1707776000 || d.RecoveryID != "r" || !d.Managed {
		t.Errorf("deleted: %+v %v", d, err)
	}
}

func TestKeyRequestBodies(t *testing.T) {
	size := int32(2048)
	enabled := false
	exp := int64(1900000000)
	tests := []struct {
		name     string
		call     func(ctx context.Context, c *KeysClient) error
		route    string
		wantBody string
	}{
		{"create", func(ctx context.Context, c *KeysClient) error {
			_, err := c.CreateKey(ctx, "k", KeyCreateParameters{Kty: "RSA", KeySize: &size, KeyOps: []string{"sign"},
				Attributes: &KeyAttributes{Enabled: &enabled, Expires: &exp}, Tags: map[string]string{"a": "1"}})
			return err
		}, "POST /keys/k/create", `{"kty":"RSA","key_size":2048,"key_ops":["sign"],"attributes":{"enabled":false,"exp":1900000000},"tags":{"a":"1"}}`},
		{"create EC", func(ctx context.Context, c *KeysClient) error {
			_, err := c.CreateKey(ctx, "k", KeyCreateParameters{Kty: "EC", Curve: "P-256K"})
			return err
		}, "POST /keys/k/create", `{"kty":"EC","crv":"P-256K"}`},
		{"import", func(ctx context.Context, c *KeysClient) error {
			hsm := false
			_, err := c.ImportKey(ctx, "k", KeyImportParameters{Key: JSONWebKey{Kty: "EC", Crv: "P-256", X: []byte{1}, Y: []byte{2}, D: []byte{3}}, HSM: &hsm})
			return err
		}, "PUT /keys/k", `{"key":{"kty":"EC","d":"Aw","crv":"P-256","x":"AQ","y":"Ag"},"Hsm":false}`},
		{"get latest", func(ctx context.Context, c *KeysClient) error { _, err := c.GetKey(ctx, "k", ""); return err },
			"GET /keys/k/", ""},
		{"get version", func(ctx context.Context, c *KeysClient) error { _, err := c.GetKey(ctx, "k", "abc"); return err },
			"GET /keys/k/abc", ""},
		{"update clears tags", func(ctx context.Context, c *KeysClient) error {
			_, err := c.UpdateKeyProperties(ctx, "k", "", KeyUpdateParameters{Tags: map[string]string{}})
			return err
		}, "PATCH /keys/k/", `{"tags":{}}`},
		{"update leaves tags", func(ctx context.Context, c *KeysClient) error {
			_, err := c.UpdateKeyProperties(ctx, "k", "v1", KeyUpdateParameters{KeyOps: []string{"verify"}})
			return err
		}, "PATCH /keys/k/v1", `{"key_ops":["verify"]}`},
		{"delete", func(ctx context.Context, c *KeysClient) error { _, err := c.DeleteKey(ctx, "k"); return err },
			"DELETE /keys/k", ""},
		{"get deleted", func(ctx context.Context, c *KeysClient) error { _, err := c.GetDeletedKey(ctx, "k"); return err },
			"GET /deletedkeys/k", ""},
		{"recover", func(ctx context.Context, c *KeysClient) error { _, err := c.RecoverDeletedKey(ctx, "k"); return err },
			"POST /deletedkeys/k/recover", ""},
		{"rotate", func(ctx context.Context, c *KeysClient) error { _, err := c.RotateKey(ctx, "k"); return err },
			"POST /keys/k/rotate", ""},
		{"restore", func(ctx context.Context, c *KeysClient) error {
			_, err := c.RestoreKey(ctx, []byte{0xfb, 0xff})
			return err
		},
			"POST /keys/restore", `{"value":"-_8"}`},
		{"encrypt", func(ctx context.Context, c *KeysClient) error {
			_, err := c.Encrypt(ctx, "k", "", KeyOperationParameters{Algorithm: "A256CBC", Value: []byte("x"), IV: []byte{1}})
			return err
		}, "POST /keys/k/encrypt", `{"alg":"A256CBC","value":"eA","iv":"AQ"}`},
		{"decrypt version", func(ctx context.Context, c *KeysClient) error {
			_, err := c.Decrypt(ctx, "k", "v1", KeyOperationParameters{Algorithm: "A256GCM", Value: []byte{}, IV: []byte{1}, AAD: []byte{2}, Tag: []byte{3}})
			return err
		}, "POST /keys/k/v1/decrypt", `{"alg":"A256GCM","value":"","iv":"AQ","aad":"Ag","tag":"Aw"}`},
		{"wrap", func(ctx context.Context, c *KeysClient) error {
			_, err := c.WrapKey(ctx, "k", "", KeyOperationParameters{Algorithm: "A256KW", Value: []byte{1}})
			return err
		}, "POST /keys/k/wrapkey", `{"alg":"A256KW","value":"AQ"}`},
		{"unwrap", func(ctx context.Context, c *KeysClient) error {
			_, err := c.UnwrapKey(ctx, "k", "", KeyOperationParameters{Algorithm: "RSA-OAEP", Value: []byte{1}})
			return err
		}, "POST /keys/k/unwrapkey", `{"alg":"RSA-OAEP","value":"AQ"}`},
		{"sign", func(ctx context.Context, c *KeysClient) error {
			_, err := c.Sign(ctx, "k", "", KeySignParameters{Algorithm: "ES256", Value: []byte{1, 2}})
			return err
		}, "POST /keys/k/sign", `{"alg":"ES256","value":"AQI"}`},
		{"rotation policy", func(ctx context.Context, c *KeysClient) error {
			_, err := c.UpdateKeyRotationPolicy(ctx, "k", KeyRotationPolicy{
				LifetimeActions: []KeyRotationLifetimeAction{{Trigger: KeyRotationTrigger{TimeAfterCreate: "P90D"}, Action: KeyRotationAction{Type: "Rotate"}}},
				Attributes:      KeyRotationPolicyAttributes{ExpiryTime: "P2Y"}})
			return err
		}, "PUT /keys/k/rotationpolicy", `{"lifetimeActions":[{"trigger":{"timeAfterCreate":"P90D"},"action":{"type":"Rotate"}}],"attributes":{"expiryTime":"P2Y"}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := newFakeVault(t)
			v.routes[tt.route] = answer(200, keyBundleJSON)
			if err := tt.call(context.Background(), newTestKeysClient(t, v)); err != nil {
				t.Fatal(err)
			}
			got := lastRequest(t, v)
			if got.Method+" "+got.Path != tt.route || got.Query != "api-version=7.6" || got.Body != tt.wantBody {
				t.Errorf("request %s %s?%s %s\nwant %s %s", got.Method, got.Path, got.Query, got.Body, tt.route, tt.wantBody)
			}
		})
	}
}

func TestKeyResults(t *testing.T) {
	v := newFakeVault(t)
	c := newTestKeysClient(t, v)
	ctx := context.Background()
	v.routes["POST /keys/k/sign"] = answer(200, `{"kid":"`+testKid+`","value":"AQID"}`)
	v.routes["POST /keys/k/encrypt"] = answer(200, `{"kid":"`+testKid+`","value":"AQ","iv":"Ag","tag":"Aw","aad":"BA"}`)
	v.routes["POST /keys/k/v1/verify"] = answer(200, `{"value":true}`)
	v.routes["POST /keys/k/backup"] = answer(200, `{"value":"-_8"}`)
	v.routes["POST /rng"] = answer(200, `{"value":"AQIDBA"}`)
	v.routes["DELETE /deletedkeys/k"] = func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(204) }
	v.routes["GET /keys/k/rotationpolicy"] = answer(200, `{"id":"https://myvault.vault.localhost/keys/k/rotationpolicy",
	  "lifetimeActions":[{"trigger":{"timeBeforeExpiry":"P30D"},"action":{"type":"Notify"}}],"attributes":{"expiryTime":"P1Y","created":1700000000,"updated":1700000001}}`)

	sig, err := c.Sign(ctx, "k", "", KeySignParameters{Algorithm: "RS256", Value: make([]byte, 32)})
	if err != nil || sig.Kid != testKid || string(sig.Value) != "\x01\x02\x03" {
		t.Errorf("Sign: %+v %v", sig, err)
	}
	enc, err := c.Encrypt(ctx, "k", "", KeyOperationParameters{Algorithm: "A128GCM", Value: []byte("x")})
	if err != nil || string(enc.Value) != "\x01" || string(enc.IV) != "\x02" || string(enc.Tag) != "\x03" || string(enc.AAD) != "\x04" {
		t.Errorf("Encrypt: %+v %v", enc, err)
	}
	ok, err := c.Verify(ctx, "k", "v1", KeyVerifyParameters{Algorithm: "RS256", Digest: []byte{1}, Signature: []byte{2}})
	if err != nil || !ok {
		t.Errorf("Verify: %v %v", ok, err)
	}
	if got := lastRequest(t, v); got.Body != `{"alg":"RS256","digest":"AQ","value":"Ag"}` {
		t.Errorf("verify body %s", got.Body)
	}
	blob, err := c.BackupKey(ctx, "k")
	if err != nil || string(blob) != "\xfb\xff" {
		t.Errorf("BackupKey: %x %v", blob, err)
	}
	rnd, err := c.GetRandomBytes(ctx, 4)
	if err != nil || string(rnd) != "\x01\x02\x03\x04" || lastRequest(t, v).Body != `{"count":4}` {
		t.Errorf("GetRandomBytes: %x %v", rnd, err)
	}
	if err := c.PurgeDeletedKey(ctx, "k"); err != nil {
		t.Errorf("PurgeDeletedKey: %v", err)
	}
	p, err := c.GetKeyRotationPolicy(ctx, "k")
	want := KeyRotationPolicy{ID: "https://myvault.vault.localhost/keys/k/rotationpolicy",
		LifetimeActions: []KeyRotationLifetimeAction{{Trigger: KeyRotationTrigger{TimeBeforeExpiry: "P30D"}, Action: KeyRotationAction{Type: "Notify"}}},
		Attributes:      KeyRotationPolicyAttributes{ExpiryTime: "P1Y", Created: 1700000000, Updated: 1700000001}}
	if err != nil || !reflect.DeepEqual(p, want) {
		t.Errorf("GetKeyRotationPolicy: %+v %v", p, err)
	}
}

func TestKeyErrorsAndNames(t *testing.T) {
	v := newFakeVault(t)
	c := newTestKeysClient(t, v)
	ctx := context.Background()
	v.routes["POST /keys/k/sign"] = answer(403, `{"error":{"code":"Forbidden","message":"Operation sign is not allowed on a disabled key.","innererror":{"code":"KeyDisabled"}}}`)
	_, err := c.Sign(ctx, "k", "", KeySignParameters{Algorithm: "RS256", Value: []byte{1}})
	var re *ResponseError
	if !errors.As(err, &re) || re.StatusCode != 403 || re.Code != "Forbidden" || re.InnerCode != "KeyDisabled" {
		t.Errorf("err = %v", err)
	}
	n := len(v.requests())
	for _, call := range []func() error{
		func() error { _, err := c.GetKey(ctx, "a/b", ""); return err },
		func() error { _, err := c.GetKey(ctx, "a", "../x"); return err },
		func() error { _, err := c.Encrypt(ctx, "a?b", "", KeyOperationParameters{}); return err },
		func() error { _, err := c.Do(ctx, "a", "", "sign/../x", KeyOperationParameters{}); return err },
		func() error {
			for _, err := range c.ListKeyVersions(ctx, "", nil) {
				return err
			}
			return nil
		},
	} {
		if err := call(); err == nil || !strings.Contains(err.Error(), "invalid") {
			t.Errorf("err = %v, want an invalid name or version", err)
		}
	}
	if len(v.requests()) != n {
		t.Error("an invalid name reached the server")
	}
}

func TestListKeysPages(t *testing.T) {
	v := newFakeVault(t)
	c := newTestKeysClient(t, v)
	v.routes["GET /keys"] = func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("$skiptoken") == "" {
			writeJSON(w, 200, `{"value":[{"kid":"https://myvault.vault.localhost/keys/a","attributes":{"enabled":true}}],
			  "nextLink":"https://myvault.vault.localhost:`+v.srv.port+`/keys?api-version=7.6&$skiptoken=2&maxresults=1"}`)
			return
		}
		writeJSON(w, 200, `{"value":[{"kid":"https://myvault.vault.localhost/keys/b","managed":true}],"nextLink":null}`)
	}
	v.routes["GET /deletedkeys"] = answer(200, `{"value":[{"kid":"https://myvault.vault.localhost/keys/c","recoveryId":"https://myvault.vault.localhost/deletedkeys/c","deletedDate":1700000000}]}`)
	v.routes["GET /keys/a/versions"] = answer(200, `{"value":[{"kid":"https://myvault.vault.localhost/keys/a/v1"}]}`)
	var kids []string
	for k, err := range c.ListKeys(context.Background(), &ListOptions{MaxResults: 1}) {
		if err != nil {
			t.Fatal(err)
		}
		kids = append(kids, k.Kid)
	}
	if !reflect.DeepEqual(kids, []string{"https://myvault.vault.localhost/keys/a", "https://myvault.vault.localhost/keys/b"}) {
		t.Errorf("kids %v", kids)
	}
	if q := v.requests()[1].Query; q != "api-version=7.6&maxresults=1" {
		t.Errorf("first page query %q", q)
	}
	for k, err := range c.ListDeletedKeys(context.Background(), nil) {
		if err != nil || k.RecoveryID != "https://myvault.vault.localhost/deletedkeys/c" || k.DeletedDate != 1700000000 {
			t.Errorf("deleted %+v %v", k, err)
		}
	}
	for k, err := range c.ListKeyVersions(context.Background(), "a", nil) {
		if err != nil || k.Kid != "https://myvault.vault.localhost/keys/a/v1" {
			t.Errorf("version %+v %v", k, err)
		}
	}
}

func TestParseKeyID(t *testing.T) {
	tests := []struct {
		id, vault, name, version string
		ok                       bool
	}{
		{"https://v.vault.localhost:8443/keys/k", "https://v.vault.localhost:8443", "k", "", true},
		{"https://v.vault.localhost/keys/k/0123", "https://v.vault.localhost", "k", "0123", true},
		{"https://v.vault.localhost/keys/k/", "https://v.vault.localhost", "k", "", true},
		{"https://v.vault.localhost/deletedkeys/k", "https://v.vault.localhost", "k", "", true},
		{"https://v.vault.localhost/Keys/k", "https://v.vault.localhost", "k", "", true},
		{"https://v.vault.localhost/secrets/k", "", "", "", false},
		{"https://v.vault.localhost/deletedkeys/k/v", "", "", "", false},
		{"https://v.vault.localhost/keys/k/v/x", "", "", "", false},
		{"https://v.vault.localhost/keys", "", "", "", false},
		{"https://v.vault.localhost/keys/k?x=1", "", "", "", false},
		{"keys/k", "", "", "", false},
		{"ftp://v/keys/k", "", "", "", false},
	}
	for _, tt := range tests {
		vault, name, version, err := ParseKeyID(tt.id)
		if (err == nil) != tt.ok || vault != tt.vault || name != tt.name || version != tt.version {
			t.Errorf("ParseKeyID(%q) = %q, %q, %q, %v", tt.id, vault, name, version, err)
		}
	}
}
