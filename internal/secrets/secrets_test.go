package secrets_test

import (
	"context"
	"fmt"
	"maps"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/keyhaven/keyhaven/internal/barrier"
	"github.com/keyhaven/keyhaven/internal/kverr"
	"github.com/keyhaven/keyhaven/internal/objects"
	"github.com/keyhaven/keyhaven/internal/secrets"
	"github.com/keyhaven/keyhaven/internal/storage/memory"
	"github.com/keyhaven/keyhaven/internal/vaults"
)

// clock is a settable clock for tests.
type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

type fixture struct {
	b      *barrier.Barrier
	svc    *secrets.Service
	clock  *clock
	vault  *vaults.Vault
	vaults *vaults.Service
}

func newFixture(t *testing.T, spec vaults.Spec) *fixture {
	t.Helper()
	ctx := context.Background()
	b := barrier.New(memory.New())
	if err := b.Initialize(ctx, barrier.NewDevSeal()); err != nil {
		t.Fatal(err)
	}
	clk := &clock{t: time.Unix(1_700_000_000, 0)}
	vs := vaults.New(b, clk.now)
	v, err := vs.Create(ctx, spec)
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{b: b, svc: secrets.New(b, clk.now), clock: clk, vault: v, vaults: vs}
}

func str(s string) *string { return &s }

func kind(err error) kverr.Kind {
	if e := kverr.As(err); e != nil {
		return e.Kind
	}
	return -1
}

func TestPurgeProtectionAndScheduledPurge(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, vaults.Spec{Name: "protected", SoftDeleteRetentionDays: 7, PurgeProtection: true})
	if got := f.vault.RecoveryLevel(); got != "CustomizedRecoverable" {
		t.Fatalf("recovery level %s", got)
	}
	if _, err := f.svc.Set(ctx, f.vault, "s", secrets.SetParams{Value: str("v")}); err != nil {
		t.Fatal(err)
	}
	d, err := f.svc.Delete(ctx, f.vault, "s")
	if err != nil {
		t.Fatal(err)
	}
	if d.ScheduledPurgeDate-d.DeletedDate != 7*86400 {
		t.Fatalf("purge date %d after delete", d.ScheduledPurgeDate-d.DeletedDate)
	}
	if err := f.svc.Purge(ctx, f.vault, "s"); kind(err) != kverr.Forbidden {
		t.Fatalf("purge under purge protection: %v", err)
	}
	// Nothing is due before the retention ends.
	f.clock.t = f.clock.t.Add(7*24*time.Hour - time.Second)
	if n, err := f.svc.PurgeDue(ctx, f.clock.t); err != nil || n != 0 {
		t.Fatalf("early purge: %d %v", n, err)
	}
	f.clock.t = f.clock.t.Add(time.Second)
	if n, err := f.svc.PurgeDue(ctx, f.clock.t); err != nil || n != 1 {
		t.Fatalf("due purge: %d %v", n, err)
	}
	if _, err := f.svc.GetDeleted(ctx, f.vault, "s"); kind(err) != kverr.NotFound {
		t.Fatalf("still deleted-recoverable after purge: %v", err)
	}
	// The name is free again.
	if _, err := f.svc.Set(ctx, f.vault, "s", secrets.SetParams{Value: str("new")}); err != nil {
		t.Fatal(err)
	}
}

func TestRecoveredSecretIsNotPurgedLater(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, vaults.Spec{Name: "recover", SoftDeleteRetentionDays: 7})
	if _, err := f.svc.Set(ctx, f.vault, "s", secrets.SetParams{Value: str("v")}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Delete(ctx, f.vault, "s"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Recover(ctx, f.vault, "s"); err != nil {
		t.Fatal(err)
	}
	f.clock.t = f.clock.t.Add(30 * 24 * time.Hour)
	if n, err := f.svc.PurgeDue(ctx, f.clock.t); err != nil || n != 0 {
		t.Fatalf("purged a recovered secret: %d %v", n, err)
	}
	got, err := f.svc.Get(ctx, f.vault, "S", "")
	if err != nil || got.Value != "v" || got.Name != "s" {
		t.Fatalf("get after recover: %+v %v", got, err)
	}
}

func TestGetIgnoresValidityWindowButNotEnabled(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, vaults.Spec{Name: "window"})
	past, future := int64(1000), int64(4_000_000_000)
	_, err := f.svc.Set(ctx, f.vault, "expired", secrets.SetParams{Value: str("v"),
		Attributes: secrets.AttributesUpdate{Expires: &past}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Get(ctx, f.vault, "expired", ""); err != nil {
		t.Fatalf("an expired secret must still be readable: %v", err)
	}
	_, err = f.svc.Set(ctx, f.vault, "later", secrets.SetParams{Value: str("v"),
		Attributes: secrets.AttributesUpdate{NotBefore: &future}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Get(ctx, f.vault, "later", ""); err != nil {
		t.Fatalf("a not-yet-valid secret must still be readable: %v", err)
	}
	off := false
	if _, err := f.svc.Update(ctx, f.vault, "later", "", secrets.UpdateParams{Attributes: secrets.AttributesUpdate{Enabled: &off}}); err != nil {
		t.Fatal(err)
	}
	_, err = f.svc.Get(ctx, f.vault, "later", "")
	if e := kverr.As(err); e == nil || e.Kind != kverr.Forbidden || e.Inner != "SecretDisabled" {
		t.Fatalf("disabled get: %v", err)
	}
}

func TestUpdateKeepsUnspecifiedFields(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, vaults.Spec{Name: "update"})
	exp := int64(4_000_000_000)
	s, err := f.svc.Set(ctx, f.vault, "s", secrets.SetParams{Value: str("v"), ContentType: str("text/plain"),
		Tags: map[string]string{"a": "1"}, Attributes: secrets.AttributesUpdate{Expires: &exp}})
	if err != nil {
		t.Fatal(err)
	}
	f.clock.t = f.clock.t.Add(time.Minute)
	u, err := f.svc.Update(ctx, f.vault, "s", s.Version, secrets.UpdateParams{Tags: map[string]string{"b": "2"}})
	if err != nil {
		t.Fatal(err)
	}
	if u.ContentType != "text/plain" || *u.Attributes.Expires != exp || u.Tags["b"] != "2" || u.Tags["a"] != "" ||
		u.Attributes.Updated != s.Attributes.Created+60 || u.Attributes.Created != s.Attributes.Created {
		t.Fatalf("update: %+v", u)
	}
	if u.Value != "" {
		t.Fatal("update returned the value")
	}
	if got, err := f.svc.Get(ctx, f.vault, "s", s.Version); err != nil || got.Value != "v" {
		t.Fatalf("update changed the value: %v", err)
	}
}

func TestBackupIsBoundToPurposeAndServer(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, vaults.Spec{Name: "backup"})
	if _, err := f.svc.Set(ctx, f.vault, "s", secrets.SetParams{Value: str("v")}); err != nil {
		t.Fatal(err)
	}
	blob, err := f.svc.Backup(ctx, f.vault, "s")
	if err != nil {
		t.Fatal(err)
	}
	other := newFixture(t, vaults.Spec{Name: "other"})
	if _, err := other.svc.Restore(ctx, other.vault, blob); kind(err) != kverr.BadParameter {
		t.Fatalf("restore on another server (other root key): %v", err)
	}
	if _, err := f.svc.Restore(ctx, f.vault, blob); kind(err) != kverr.Conflict {
		t.Fatalf("restore over an existing secret: %v", err)
	}
	// Restoring into another vault of the same server works.
	v2, err := f.vaults.Create(ctx, vaults.Spec{Name: "backup2"})
	if err != nil {
		t.Fatal(err)
	}
	got, err := f.svc.Restore(ctx, v2, blob)
	if err != nil || got.Name != "s" {
		t.Fatalf("restore into a second vault: %v", err)
	}
	if s, err := f.svc.Get(ctx, v2, "s", ""); err != nil || s.Value != "v" {
		t.Fatalf("get restored: %v", err)
	}
}

// The largest backup (500 versions of 25 KiB, with characters JSON escapes)
// restores: Backup never hands out a blob that Restore refuses.
func TestLargestBackupRestores(t *testing.T) {
	if testing.Short() {
		t.Skip("500 versions of 25 KiB")
	}
	ctx := context.Background()
	f := newFixture(t, vaults.Spec{Name: "big"})
	// Random printable bytes and characters JSON escapes barely compress.
	rng := rand.New(rand.NewPCG(1, 2))
	alphabet := []byte("<>&\x01\"\\abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!#$%()*+,-./:;=?@[]^_{|}~")
	value := make([]byte, secrets.MaxValueBytes)
	for i := 0; i < secrets.MaxBackupVersions; i++ {
		for j := range value {
			value[j] = alphabet[rng.IntN(len(alphabet))]
		}
		if _, err := f.svc.Set(ctx, f.vault, "big", secrets.SetParams{Value: str(string(value))}); err != nil {
			t.Fatal(err)
		}
	}
	blob, err := f.svc.Backup(ctx, f.vault, "big")
	if err != nil {
		t.Fatal(err)
	}
	if len(blob) > secrets.MaxBackupBytes {
		t.Fatalf("blob of %d bytes", len(blob))
	}
	t.Logf("backup of %d versions of %d random bytes: %d bytes", secrets.MaxBackupVersions, secrets.MaxValueBytes, len(blob))
	if _, err := f.svc.Delete(ctx, f.vault, "big"); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.Purge(ctx, f.vault, "big"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Restore(ctx, f.vault, blob); err != nil {
		t.Fatalf("restore: %v", err)
	}
	p, err := f.svc.ListVersions(ctx, f.vault, "big", "", 25)
	if err != nil || len(p.Items) != 25 || p.Next == "" {
		t.Fatalf("versions after restore: %d %v", len(p.Items), err)
	}
	if _, err := f.svc.Set(ctx, f.vault, "big", secrets.SetParams{Value: str("one too many")}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Backup(ctx, f.vault, "big"); kind(err) != kverr.BadParameter {
		t.Fatalf("backup of 501 versions: %v", err)
	}
}

// A list page's records are decrypted into one buffer that is cleared after
// each (barrier.Tx.ScanBorrowed): every item of every page must still carry
// its own name, tags, content type and dates, and a value no bigger or
// smaller than another's may shift them. Items come back without values.
func TestListPagesKeepEachItem(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, vaults.Spec{Name: "list"})
	const n = 60
	want := map[string]secrets.Secret{}
	for i := range n {
		name := fmt.Sprintf("item-%02d", i)
		value := strings.Repeat("v", 1+i*97) // up to ~5.7 KiB: beyond the pooled buffer too
		tags := map[string]string{"index": fmt.Sprint(i), "team": "t" + strings.Repeat("x", i%7)}
		if i%5 == 0 {
			tags["note"] = "caf\u00e9 \"quoted\"" // escapes and non-ASCII
		}
		s, err := f.svc.Set(ctx, f.vault, name, secrets.SetParams{Value: &value, ContentType: str("type/" + name), Tags: tags})
		if err != nil {
			t.Fatal(err)
		}
		want[name] = *s
		f.clock.t = f.clock.t.Add(time.Second)
	}
	seen := 0
	for cursor := ""; ; {
		p, err := f.svc.List(ctx, f.vault, cursor, 7)
		if err != nil {
			t.Fatal(err)
		}
		for _, got := range p.Items {
			w, ok := want[got.Name]
			if !ok || got.Value != "" || got.ContentType != w.ContentType || !maps.Equal(got.Tags, w.Tags) ||
				got.Attributes.Created != w.Attributes.Created || got.Attributes.Updated != w.Attributes.Updated || !got.Attributes.Enabled {
				t.Fatalf("listed %+v, want %+v without its value", got, w)
			}
			delete(want, got.Name)
			seen++
		}
		if p.Next == "" {
			break
		}
		cursor = p.Next
	}
	if seen != n || len(want) != 0 {
		t.Fatalf("listed %d of %d; missing %v", seen, n, want)
	}

	// Soft-deleted heads carry no copy of their record: their pages read
	// each version's record, which is cleared once decoded.
	deleted := map[string]*secrets.DeletedSecret{}
	for i := 0; i < n; i += 3 {
		d, err := f.svc.Delete(ctx, f.vault, fmt.Sprintf("item-%02d", i))
		if err != nil {
			t.Fatal(err)
		}
		deleted[d.Name] = d
	}
	for cursor := ""; ; {
		p, err := f.svc.ListDeleted(ctx, f.vault, cursor, 4)
		if err != nil {
			t.Fatal(err)
		}
		for _, got := range p.Items {
			w, ok := deleted[got.Name]
			if !ok || got.Value != "" || got.ContentType != w.ContentType || !maps.Equal(got.Tags, w.Tags) ||
				got.Attributes.Created != w.Attributes.Created || got.DeletedDate != w.DeletedDate || got.DeletedDate == 0 {
				t.Fatalf("listed deleted %+v, want %+v without its value", got, w)
			}
			delete(deleted, got.Name)
		}
		if p.Next == "" {
			break
		}
		cursor = p.Next
	}
	if len(deleted) != 0 {
		t.Fatalf("deleted secrets missing from the list: %v", deleted)
	}
}

// A secret's value is stored only in its version's record, under that
// version's own data key: the heads (index records, active and deleted)
// hold neither the value nor anything readable of it.
func TestHeadsHoldNoValue(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, vaults.Spec{Name: "heads"})
	values := map[string]string{"kept": "MARKER-kept-6c1d0f", "gone": "MARKER-gone-93ab2e"}
	for name, value := range values {
		if _, err := f.svc.Set(ctx, f.vault, name, secrets.SetParams{Value: &value, Tags: map[string]string{"t": "v"}}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := f.svc.Delete(ctx, f.vault, "gone"); err != nil {
		t.Fatal(err)
	}
	heads, versions := 0, 0
	err := f.b.View(ctx, func(tx *barrier.Tx) error {
		return tx.Scan("v/"+f.vault.ID+"/", "", func(key string, val []byte) (bool, error) {
			rest := strings.TrimPrefix(key, "v/"+f.vault.ID+"/")
			has := strings.Contains(string(val), "MARKER-")
			switch {
			case strings.HasPrefix(rest, "secrets/"), strings.HasPrefix(rest, "deletedsecrets/"):
				heads++
				var h objects.Head
				if err := h.DecodeStored(val); err != nil || has || h.Sealed == nil || h.Listed == nil {
					t.Errorf("head %s: %+v, %v (value inside: %v)", rest, h, err, has)
				}
			case strings.HasPrefix(rest, "secrets-versions/"):
				versions++
				if !has {
					t.Errorf("version %s does not hold its value: the test reads nothing", rest)
				}
			}
			return true, nil
		})
	})
	if err != nil || heads != 2 || versions != 2 {
		t.Fatalf("%d heads, %d versions, %v", heads, versions, err)
	}
}
