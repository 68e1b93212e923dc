package keys_test

import (
	"bytes"
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/keyhaven/keyhaven/internal/barrier"
	"github.com/keyhaven/keyhaven/internal/events"
	"github.com/keyhaven/keyhaven/internal/keys"
	"github.com/keyhaven/keyhaven/internal/objects"
	"github.com/keyhaven/keyhaven/internal/storage/memory"
	"github.com/keyhaven/keyhaven/internal/vaults"
)

// Key versions written by create, import, update and rotate keep the
// expiry index in step, with KeyNewVersionCreated for each new version;
// the job announces near expiry (unless the rotation policy's Notify
// action does) and expiry of the current version, once each.
func TestKeyExpiryIndexAndEvents(t *testing.T) {
	ctx := context.Background()
	b := barrier.New(memory.New())
	if err := b.Initialize(ctx, barrier.NewDevSeal()); err != nil {
		t.Fatal(err)
	}
	now := time.Unix(1_700_000_000, 0)
	clock := func() time.Time { return now }
	v, err := vaults.New(b, clock).Create(ctx, vaults.Spec{Name: "keyexpiry"})
	if err != nil {
		t.Fatal(err)
	}
	svc := keys.New(b, clock)
	exp := func(d time.Duration) *int64 { e := now.Add(d).Unix(); return &e }

	plain, err := svc.Create(ctx, v, "plain", keys.CreateParams{Kty: "EC", Curve: "P-256", Attributes: keys.AttributesUpdate{Expires: exp(60 * 24 * time.Hour)}})
	if err != nil {
		t.Fatal(err)
	}
	jwk := `{"kty":"oct","k":"AAECAwQFBgcICQoLDA0ODw"}`
	imported, err := svc.Import(ctx, v, "imported", keys.ImportParams{JWK: []byte(jwk), Attributes: keys.AttributesUpdate{Expires: exp(time.Hour)}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Update(ctx, v, "imported", "", keys.UpdateParams{Attributes: keys.AttributesUpdate{Expires: exp(80 * 24 * time.Hour)}}); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Create(ctx, v, "rotating", keys.CreateParams{Kty: "EC", Curve: "P-256"}); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.UpdateRotationPolicy(ctx, v, "rotating", keys.Policy{Attributes: keys.PolicyAttributes{ExpiryTime: "P40D"},
		LifetimeActions: []keys.LifetimeAction{{Trigger: keys.Trigger{TimeBeforeExpiry: "P30D"}, Action: keys.Action{Type: "Notify"}}}}); err != nil {
		t.Fatal(err)
	}
	rotated, err := svc.Rotate(ctx, v, "rotating")
	if err != nil {
		t.Fatal(err)
	}
	wantEvents(t, b, "KeyNewVersionCreated plain "+plain.Version, "KeyNewVersionCreated imported "+imported.Version,
		"KeyNewVersionCreated rotating "+firstVersion(t, svc, v, "rotating", rotated.Version), "KeyNewVersionCreated rotating "+rotated.Version)
	if got := indexed(t, b); !slices.Equal(got, []string{"imported/" + imported.Version, "plain/" + plain.Version, "rotating/" + rotated.Version}) {
		t.Fatalf("index: %q", got)
	}

	run := func() {
		t.Helper()
		for i := range 2 {
			if n, err := svc.NotifyExpiring(ctx, now, 30*24*time.Hour, []*vaults.Vault{v}); err != nil || (i == 1 && n != 0) {
				t.Fatalf("NotifyExpiring: %d %v", n, err)
			}
		}
	}
	now = now.Add(31 * 24 * time.Hour)
	run()
	wantNew := func(evs []string) []string {
		return slices.DeleteFunc(evs, func(e string) bool { return strings.HasPrefix(e, "KeyNewVersionCreated") })
	}
	if got := wantNew(outbox(t, b)); !slices.Equal(got, []string{"KeyNearExpiry plain " + plain.Version}) {
		t.Fatalf("after 31 days (the rotated key's policy notifies by itself): %q", got)
	}
	now = now.Add(30 * 24 * time.Hour)
	run()
	got := wantNew(outbox(t, b))
	want := []string{"KeyExpired plain " + plain.Version, "KeyExpired rotating " + rotated.Version, "KeyNearExpiry imported " + imported.Version,
		"KeyNearExpiry plain " + plain.Version}
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("after 61 days: %q, want %q", got, want)
	}
}

func firstVersion(t *testing.T, svc *keys.Service, v *vaults.Vault, name, not string) string {
	t.Helper()
	p, err := svc.ListVersions(context.Background(), v, name, "", 25)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range p.Items {
		if k.Version != not {
			return k.Version
		}
	}
	t.Fatal("no first version")
	return ""
}

// indexed lists the expiry index as "name/version".
func indexed(t *testing.T, b *barrier.Barrier) []string {
	t.Helper()
	var out []string
	err := b.View(context.Background(), func(tx *barrier.Tx) error {
		return tx.ScanKeys("sys/expiry/keys/", "", func(k string) (bool, error) {
			p := strings.Split(k, "/")
			out = append(out, p[len(p)-2]+"/"+p[len(p)-1])
			return true, nil
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(out)
	return out
}

// outbox lists the recorded events as "type name version".
func outbox(t *testing.T, b *barrier.Barrier) []string {
	t.Helper()
	var out []string
	err := b.View(context.Background(), func(tx *barrier.Tx) error {
		return tx.Scan(events.Prefix, "", func(_ string, val []byte) (bool, error) {
			var e events.Event
			if err := json.Unmarshal(val, &e); err != nil {
				return false, err
			}
			out = append(out, strings.TrimPrefix(e.Type, "Microsoft.KeyVault.")+" "+e.Data.ObjectName+" "+e.Data.Version)
			return true, nil
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(out)
	return out
}

func wantEvents(t *testing.T, b *barrier.Barrier, want ...string) {
	t.Helper()
	slices.Sort(want)
	if got := outbox(t, b); !slices.Equal(got, want) {
		t.Fatalf("events %q, want %q", got, want)
	}
}

// A key's private material is stored only in its version's record, under
// that version's own data key: the heads (index records, active and
// deleted) list the key with its material left out.
func TestHeadsHoldNoMaterial(t *testing.T) {
	ctx := context.Background()
	b := barrier.New(memory.New())
	if err := b.Initialize(ctx, barrier.NewDevSeal()); err != nil {
		t.Fatal(err)
	}
	clock := func() time.Time { return time.Unix(1_700_000_000, 0) }
	v, err := vaults.New(b, clock).Create(ctx, vaults.Spec{Name: "keyheads"})
	if err != nil {
		t.Fatal(err)
	}
	svc := keys.New(b, clock)
	for _, name := range []string{"ec", "gone"} {
		if _, err := svc.Create(ctx, v, name, keys.CreateParams{Kty: "EC", Curve: "P-256"}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := svc.Import(ctx, v, "oct", keys.ImportParams{JWK: []byte(`{"kty":"oct","k":"AAECAwQFBgcICQoLDA0ODw"}`)}); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Delete(ctx, v, "gone"); err != nil {
		t.Fatal(err)
	}
	prefix := "v/" + v.ID + "/"
	heads := map[string][]byte{}
	material := map[string]string{} // by name: the material as its record stores it
	err = b.View(ctx, func(tx *barrier.Tx) error {
		return tx.Scan(prefix, "", func(key string, val []byte) (bool, error) {
			rest := strings.TrimPrefix(key, prefix)
			coll, path, _ := strings.Cut(rest, "/")
			switch coll {
			case "keys", "deletedkeys":
				heads[path] = bytes.Clone(val)
			case "keys-versions":
				var rec struct {
					Material string `json:"material"`
				}
				if err := json.Unmarshal(val, &rec); err != nil || len(rec.Material) < 16 {
					t.Errorf("version %s: material %q, %v", path, rec.Material, err)
				}
				name, _, _ := strings.Cut(path, "/")
				material[name] = rec.Material
			}
			return true, nil
		})
	})
	if err != nil || len(heads) != 3 || len(material) != 3 {
		t.Fatalf("%d heads, %d versions with material, %v", len(heads), len(material), err)
	}
	for name, raw := range heads {
		var h objects.Head
		if err := h.DecodeStored(raw); err != nil || h.Sealed == nil || h.Listed == nil {
			t.Fatalf("head %s: %+v, %v", name, h, err)
		}
		var listed struct {
			Material *string `json:"material"`
			Kty      string  `json:"kty"`
		}
		if err := json.Unmarshal(h.Listed, &listed); err != nil || listed.Material != nil || listed.Kty == "" {
			t.Errorf("head %s lists %s", name, h.Listed)
		}
		if bytes.Contains(raw, []byte(material[name])) || bytes.Contains(raw, []byte(material[name][:16])) {
			t.Errorf("head %s holds its key's material", name)
		}
	}
}
