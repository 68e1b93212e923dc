package vaults

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/keyhaven/keyhaven/internal/barrier"
	"github.com/keyhaven/keyhaven/internal/events"
	"github.com/keyhaven/keyhaven/internal/kverr"
)

func outboxOf(t *testing.T, b *barrier.Barrier) []events.Event {
	t.Helper()
	var out []events.Event
	err := b.View(context.Background(), func(tx *barrier.Tx) error {
		return tx.Scan(events.Prefix, "", func(_ string, val []byte) (bool, error) {
			var e events.Event
			if err := json.Unmarshal(val, &e); err != nil {
				return false, err
			}
			out = append(out, e)
			return true, nil
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// A change of who may use the data plane (access policies, permission
// model) records VaultAccessPolicyChanged with the change; other changes
// and refused changes record nothing.
func TestAccessPolicyChangedEvents(t *testing.T) {
	ctx := context.Background()
	b := newBarrier(t)
	now := time.Unix(1_800_000_000, 0)
	s := New(b, func() time.Time { return now })
	v, err := s.Create(ctx, Spec{Name: "events", AccessPolicyModel: true})
	if err != nil {
		t.Fatal(err)
	}
	oid := NewTestGUID()
	steps := []struct {
		name string
		run  func() error
		want int // events so far
	}{
		{name: "tags only", want: 0, run: func() error {
			_, err := s.Update(ctx, "events", func(v *Vault) error { v.Tags = map[string]string{"a": "b"}; return nil })
			return err
		}},
		{name: "add", want: 1, run: func() error {
			_, err := s.ChangeAccessPolicies(ctx, "events", "add", []AccessPolicy{{ObjectID: oid, Permissions: Permissions{Secrets: []string{"get"}}}})
			return err
		}},
		{name: "the same add again", want: 1, run: func() error {
			_, err := s.ChangeAccessPolicies(ctx, "events", "add", []AccessPolicy{{ObjectID: oid, Permissions: Permissions{Secrets: []string{"GET"}}}})
			return err
		}},
		{name: "RBAC on", want: 2, run: func() error {
			_, err := s.Update(ctx, "events", func(v *Vault) error { v.RBACAuthorization = true; return nil })
			return err
		}},
		{name: "remove", want: 3, run: func() error {
			_, err := s.ChangeAccessPolicies(ctx, "events", "remove", []AccessPolicy{{ObjectID: oid}})
			return err
		}},
	}
	for _, st := range steps {
		if err := st.run(); err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		if got := outboxOf(t, b); len(got) != st.want {
			t.Fatalf("%s: %d events, want %d: %+v", st.name, len(got), st.want, got)
		}
	}
	e := outboxOf(t, b)[0]
	if e.Type != events.VaultAccessPolicyChanged || e.VaultID != v.ID || e.VaultName != "events" || e.Data.ObjectType != "Vault" ||
		e.Data.ObjectName != "events" || !e.Time.Equal(now) || e.ID == "" {
		t.Fatalf("event: %+v", e)
	}
}

// Entries with an unknown permission or a malformed id are refused before
// anything changes, also for remove (where they would otherwise be no-ops).
func TestChangeAccessPoliciesRefusesBadEntries(t *testing.T) {
	ctx := context.Background()
	b := newBarrier(t)
	s := New(b, time.Now)
	if _, err := s.Create(ctx, Spec{Name: "strict", AccessPolicyModel: true}); err != nil {
		t.Fatal(err)
	}
	good := AccessPolicy{ObjectID: NewTestGUID(), Permissions: Permissions{Keys: []string{"WrapKey"}}}
	if _, err := s.ChangeAccessPolicies(ctx, "strict", "add", []AccessPolicy{good}); err != nil {
		t.Fatal(err)
	}
	many := make([]AccessPolicy, MaxAccessPolicies+1)
	for i := range many {
		many[i] = AccessPolicy{ObjectID: fmt.Sprintf("%08x-3a4b-4c5d-9e6f-708192a3b4c5", i)}
	}
	for name, bad := range map[string][]AccessPolicy{
		"unknown permission": {good, {ObjectID: NewTestGUID(), Permissions: Permissions{Secrets: []string{"fly"}}}},
		"object id":          {{ObjectID: "bob"}},
		"tenant id":          {{ObjectID: NewTestGUID(), TenantID: "contoso"}},
		"too many":           many,
	} {
		for _, kind := range []string{"add", "replace", "remove"} {
			if _, err := s.ChangeAccessPolicies(ctx, "strict", kind, bad); err == nil || kverr.As(err).Kind != kverr.BadParameter {
				t.Errorf("%s %s: %v", kind, name, err)
			}
		}
	}
	v, _ := s.Get("strict")
	if len(v.AccessPolicies) != 1 || strings.Join(v.AccessPolicies[0].Permissions.Keys, ",") != "wrapkey" || len(outboxOf(t, b)) != 1 {
		t.Fatalf("a refused change changed the vault: %+v", v.AccessPolicies)
	}
	if good.Permissions.Keys[0] != "WrapKey" {
		t.Fatal("validation changed the caller's entries")
	}
}
