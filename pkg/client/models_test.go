package client

import (
	"encoding/json"
	"testing"
	"time"
)

func ptr[T any](v T) *T { return &v }

func TestModelsMarshal(t *testing.T) {
	t0 := time.Unix(1_700_000_000, 0).UTC()
	tests := []struct {
		name string
		in   any
		want string
	}{
		{name: "attributes as Unix seconds",
			in:   SecretAttributes{Enabled: ptr(true), NotBefore: &t0, Expires: ptr(t0.Add(time.Hour)), RecoverableDays: ptr(int32(90))},
			want: `{"enabled":true,"nbf":1700000000,"exp":1700003600,"recoverableDays":90}`},
		{name: "empty attributes", in: SecretAttributes{}, want: `{}`},
		{name: "set parameters: value always, empty tags kept",
			in:   SecretSetParameters{Value: "", Tags: map[string]string{}},
			want: `{"value":"","tags":{}}`},
		{name: "update parameters: nil fields omitted", in: SecretUpdateParameters{}, want: `{}`},
		{name: "update parameters: clear content type and tags",
			in:   SecretUpdateParameters{ContentType: ptr(""), Tags: map[string]string{}},
			want: `{"contentType":"","tags":{}}`},
		{name: "backup blob is base64url without padding", in: BackupSecretResult{Value: []byte{0xfb, 0xff}}, want: `{"value":"-_8"}`},
		{name: "restore parameters", in: SecretRestoreParameters{SecretBundleBackup: []byte("ab")}, want: `{"value":"YWI"}`},
		{name: "deleted bundle dates",
			in: DeletedSecretBundle{SecretBundle: SecretBundle{ID: "https://v/secrets/a/1"}, RecoveryID: "https://v/deletedsecrets/a",
				DeletedDate: &t0, ScheduledPurgeDate: ptr(t0.Add(90 * 24 * time.Hour))},
			want: `{"id":"https://v/secrets/a/1","recoveryId":"https://v/deletedsecrets/a","deletedDate":1700000000,"scheduledPurgeDate":1707776000}`},
		{name: "deleted item dates",
			in:   DeletedSecretItem{SecretItem: SecretItem{ID: "https://v/secrets/a"}, DeletedDate: &t0},
			want: `{"id":"https://v/secrets/a","deletedDate":1700000000}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := json.Marshal(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
		})
	}
}

func TestModelsUnmarshal(t *testing.T) {
	body := `{"recoveryId":"https://v.vault.azure.net/deletedsecrets/foo",
	  "deletedDate":1593085991,"scheduledPurgeDate":1600861991.5,
	  "id":"https://v.vault.azure.net/secrets/foo/907e1aae3e2f487d88035e76b1d42591",
	  "tags":{"a":"b"},"managed":true,"kid":"https://v/keys/foo/1","contentType":"text/plain",
	  "attributes":{"enabled":true,"created":1593085991,"updated":1593085992,
	    "recoveryLevel":"Recoverable+Purgeable","recoverableDays":90}}`
	var d DeletedSecretBundle
	if err := json.Unmarshal([]byte(body), &d); err != nil {
		t.Fatal(err)
	}
	a := d.Attributes
	switch {
	case d.RecoveryID != "https://v.vault.azure.net/deletedsecrets/foo",
		d.DeletedDate.Unix() != 1593085991, d.ScheduledPurgeDate.Unix() != 1600861991,
		d.ID != "https://v.vault.azure.net/secrets/foo/907e1aae3e2f487d88035e76b1d42591",
		d.Tags["a"] != "b", !*d.Managed, d.Kid != "https://v/keys/foo/1", d.ContentType != "text/plain",
		!*a.Enabled, a.Created.Unix() != 1593085991, a.Updated.Unix() != 1593085992,
		a.RecoveryLevel != "Recoverable+Purgeable", *a.RecoverableDays != 90, a.Expires != nil, a.NotBefore != nil:
		t.Errorf("decoded %+v attributes %+v", d, a)
	}
	if d.DeletedDate.Location() != time.UTC {
		t.Errorf("times should be UTC, got %v", d.DeletedDate.Location())
	}
	var b BackupSecretResult
	if err := json.Unmarshal([]byte(`{"value":"-_8="}`), &b); err != nil || string(b.Value) != "\xfb\xff" {
		t.Errorf("backup decode: %q, %v", b.Value, err)
	}
	if err := json.Unmarshal([]byte(`{"value":"***"}`), &b); err == nil {
		t.Error("invalid base64url accepted")
	}
}
