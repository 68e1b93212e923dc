package vaults

import (
	"context"
	"testing"
	"time"

	"github.com/keyhaven/keyhaven/internal/barrier"
	"github.com/keyhaven/keyhaven/internal/kverr"
	"github.com/keyhaven/keyhaven/internal/storage/memory"
)

func newBarrier(t *testing.T) *barrier.Barrier {
	t.Helper()
	b := barrier.New(memory.New())
	if err := b.Initialize(context.Background(), barrier.NewDevSeal()); err != nil {
		t.Fatal(err)
	}
	return b
}

func TestNames(t *testing.T) {
	cases := []struct {
		name string
		ok   bool
	}{
		{name: "dev", ok: true}, {name: "my-vault-01", ok: true}, {name: "A23456789012345678901234", ok: true},
		{name: "ab"}, {name: "A234567890123456789012345"}, {name: "1abc"}, {name: "abc-"}, {name: "a--b"}, {name: "a_b"}, {name: "a.b"},
	}
	for _, c := range cases {
		if err := ValidateName(c.name); (err == nil) != c.ok {
			t.Errorf("%q: %v", c.name, err)
		}
	}
}

func TestCreateLookupReload(t *testing.T) {
	ctx := context.Background()
	b := newBarrier(t)
	s := New(b, time.Now)
	v, err := s.Create(ctx, Spec{Name: "Payments", SoftDeleteRetentionDays: 30})
	if err != nil {
		t.Fatal(err)
	}
	if v.RecoveryLevel() != "CustomizedRecoverable+Purgeable" || len(v.ID) != 32 {
		t.Fatalf("vault %+v", v)
	}
	if got, ok := s.Lookup("payments"); !ok || got.ID != v.ID {
		t.Fatal("lookup is not case-insensitive")
	}
	if _, err := s.Create(ctx, Spec{Name: "PAYMENTS"}); kverr.As(err) == nil || kverr.As(err).Kind != kverr.Conflict {
		t.Fatalf("duplicate name: %v", err)
	}
	for _, days := range []int{6, 91} {
		if _, err := s.Create(ctx, Spec{Name: "other", SoftDeleteRetentionDays: days}); err == nil {
			t.Fatalf("retention %d accepted", days)
		}
	}
	if _, err := s.EnablePurgeProtection(ctx, "payments"); err != nil {
		t.Fatal(err)
	}
	again := New(b, time.Now)
	if err := again.Load(ctx); err != nil {
		t.Fatal(err)
	}
	got, ok := again.Lookup("PAYMENTS")
	if !ok || !got.PurgeProtection || got.SoftDeleteRetentionDays != 30 || got.RecoveryLevel() != "CustomizedRecoverable" {
		t.Fatalf("after reload: %+v", got)
	}
	e, err := again.Ensure(ctx, Spec{Name: "payments", SoftDeleteRetentionDays: 90})
	if err != nil || e.ID != v.ID || e.SoftDeleteRetentionDays != 30 {
		t.Fatalf("ensure of an existing vault changed it: %+v %v", e, err)
	}
}
