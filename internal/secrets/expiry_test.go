package secrets_test

import (
	"context"
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/keyhaven/keyhaven/internal/barrier"
	"github.com/keyhaven/keyhaven/internal/events"
	"github.com/keyhaven/keyhaven/internal/secrets"
	"github.com/keyhaven/keyhaven/internal/storage/memory"
	"github.com/keyhaven/keyhaven/internal/vaults"
)

type expiryFixture struct {
	b     *barrier.Barrier
	svc   *secrets.Service
	clock *clock
	vault *vaults.Vault
}

func newExpiryFixture(t *testing.T) *expiryFixture {
	t.Helper()
	ctx := context.Background()
	b := barrier.New(memory.New())
	if err := b.Initialize(ctx, barrier.NewDevSeal()); err != nil {
		t.Fatal(err)
	}
	clk := &clock{t: time.Unix(1_700_000_000, 0)}
	v, err := vaults.New(b, clk.now).Create(ctx, vaults.Spec{Name: "expiry", SoftDeleteRetentionDays: 7})
	if err != nil {
		t.Fatal(err)
	}
	return &expiryFixture{b: b, svc: secrets.New(b, clk.now), clock: clk, vault: v}
}

// index lists the expiry index as "stage/exp/name/version".
func (f *expiryFixture) index(t *testing.T) []string {
	t.Helper()
	var out []string
	err := f.b.View(context.Background(), func(tx *barrier.Tx) error {
		return tx.ScanKeys("sys/expiry/secrets/", "", func(k string) (bool, error) {
			p := strings.Split(strings.TrimPrefix(k, "sys/expiry/secrets/"), "/")
			out = append(out, strings.Join([]string{p[0], strings.TrimLeft(p[1], "0"), p[3], p[4]}, "/"))
			return true, nil
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// events lists the outbox as "type name version".
func (f *expiryFixture) events(t *testing.T) []string {
	t.Helper()
	var out []string
	err := f.b.View(context.Background(), func(tx *barrier.Tx) error {
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

// notify runs the expiry job twice at the clock's time (the second run
// must record nothing).
func (f *expiryFixture) notify(t *testing.T) {
	t.Helper()
	for i := range 2 {
		n, err := f.svc.NotifyExpiring(context.Background(), f.clock.t, 30*24*time.Hour, []*vaults.Vault{f.vault})
		if err != nil || (i == 1 && n != 0) {
			t.Fatalf("NotifyExpiring run %d: %d %v", i, n, err)
		}
	}
}

func want(t *testing.T, what string, got []string, w ...string) {
	t.Helper()
	slices.Sort(w)
	if !slices.Equal(got, w) {
		t.Fatalf("%s = %q, want %q", what, got, w)
	}
}

func i64(v int64) *int64 { return &v }

// Setting a secret records SecretNewVersionCreated and indexes its expiry
// in the same commit; changing exp moves the entry; the job records
// SecretNearExpiry 30 days before and SecretExpired at exp, once each.
func TestExpiryIndexFollowsExpAndNotifiesOnce(t *testing.T) {
	f := newExpiryFixture(t)
	ctx := context.Background()
	day := int64(86400)
	now := f.clock.t.Unix()
	s, err := f.svc.Set(ctx, f.vault, "db", secrets.SetParams{Value: str("v"), Attributes: secrets.AttributesUpdate{Expires: i64(now + 40*day)}})
	if err != nil {
		t.Fatal(err)
	}
	ver := s.Version
	want(t, "events", f.events(t), "SecretNewVersionCreated db "+ver)
	want(t, "index", f.index(t), "near/"+itoa(now+40*day)+"/db/"+ver)

	if _, err := f.svc.Update(ctx, f.vault, "db", "", secrets.UpdateParams{Attributes: secrets.AttributesUpdate{Expires: i64(now + 50*day)}}); err != nil {
		t.Fatal(err)
	}
	want(t, "index after exp changed", f.index(t), "near/"+itoa(now+50*day)+"/db/"+ver)
	if _, err := f.svc.Update(ctx, f.vault, "db", "", secrets.UpdateParams{Tags: map[string]string{"a": "b"}}); err != nil {
		t.Fatal(err)
	}
	want(t, "index after a tag change", f.index(t), "near/"+itoa(now+50*day)+"/db/"+ver)

	f.notify(t)
	want(t, "events 50 days before expiry", f.events(t), "SecretNewVersionCreated db "+ver)
	f.clock.t = f.clock.t.Add(21 * 24 * time.Hour)
	f.notify(t)
	want(t, "events 29 days before expiry", f.events(t), "SecretNewVersionCreated db "+ver, "SecretNearExpiry db "+ver)
	want(t, "index", f.index(t), "expired/"+itoa(now+50*day)+"/db/"+ver)
	f.clock.t = f.clock.t.Add(29*24*time.Hour + time.Second)
	f.notify(t)
	want(t, "events after expiry", f.events(t), "SecretNewVersionCreated db "+ver, "SecretNearExpiry db "+ver, "SecretExpired db "+ver)
	want(t, "index", f.index(t))

	// A new expiry re-arms the version.
	if _, err := f.svc.Update(ctx, f.vault, "db", "", secrets.UpdateParams{Attributes: secrets.AttributesUpdate{Expires: i64(f.clock.t.Unix() + day)}}); err != nil {
		t.Fatal(err)
	}
	f.notify(t)
	if got := f.events(t); len(got) != 4 || !slices.Contains(got, "SecretNearExpiry db "+ver) {
		t.Fatalf("events after a new expiry: %q", got)
	}
}

// Only the current version announces its expiry; a soft-deleted secret
// keeps its entry until it is recovered; a restored secret is indexed
// again.
func TestExpiryCurrentVersionDeleteRecoverRestore(t *testing.T) {
	f := newExpiryFixture(t)
	ctx := context.Background()
	now := f.clock.t.Unix()
	old, err := f.svc.Set(ctx, f.vault, "rolled", secrets.SetParams{Value: str("1"), Attributes: secrets.AttributesUpdate{Expires: i64(now + 3600)}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Set(ctx, f.vault, "rolled", secrets.SetParams{Value: str("2")}); err != nil {
		t.Fatal(err)
	}
	kept, err := f.svc.Set(ctx, f.vault, "kept", secrets.SetParams{Value: str("k"), Attributes: secrets.AttributesUpdate{Expires: i64(now + 7200)}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Delete(ctx, f.vault, "kept"); err != nil {
		t.Fatal(err)
	}
	f.clock.t = f.clock.t.Add(3 * time.Hour)
	f.notify(t)
	for _, e := range f.events(t) {
		if !strings.HasPrefix(e, "SecretNewVersionCreated") {
			t.Fatalf("event for a version that is not current or is deleted: %s (old version %s)", e, old.Version)
		}
	}
	want(t, "index", f.index(t), "near/"+itoa(now+7200)+"/kept/"+kept.Version)

	if _, err := f.svc.Recover(ctx, f.vault, "kept"); err != nil {
		t.Fatal(err)
	}
	f.notify(t)
	if got := f.events(t); !slices.Contains(got, "SecretExpired kept "+kept.Version) || slices.Contains(got, "SecretNearExpiry kept "+kept.Version) {
		t.Fatalf("after recovery (already expired: only SecretExpired): %q", got)
	}

	gone, err := f.svc.Set(ctx, f.vault, "gone", secrets.SetParams{Value: str("g"), Attributes: secrets.AttributesUpdate{Expires: i64(f.clock.t.Unix() + 60)}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Delete(ctx, f.vault, "gone"); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.Purge(ctx, f.vault, "gone"); err != nil {
		t.Fatal(err)
	}
	f.clock.t = f.clock.t.Add(time.Hour)
	f.notify(t)
	if got := f.events(t); slices.ContainsFunc(got, func(e string) bool {
		return strings.HasSuffix(e, gone.Version) && !strings.HasPrefix(e, "SecretNewVersionCreated")
	}) {
		t.Fatalf("a purged secret's expiry was announced: %q", got)
	}

	blob, err := f.svc.Backup(ctx, f.vault, "kept")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Delete(ctx, f.vault, "kept"); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.Purge(ctx, f.vault, "kept"); err != nil {
		t.Fatal(err)
	}
	want(t, "index after purges", f.index(t))
	if _, err := f.svc.Restore(ctx, f.vault, blob); err != nil {
		t.Fatal(err)
	}
	want(t, "index after restore", f.index(t), "near/"+itoa(now+7200)+"/kept/"+kept.Version)
}

func itoa(v int64) string { return strconv.FormatInt(v, 10) }
