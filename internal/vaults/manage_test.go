package vaults

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/keyhaven/keyhaven/internal/barrier"
	"github.com/keyhaven/keyhaven/internal/kverr"
)

func kind(err error) kverr.Kind {
	var ke *kverr.Error
	if errors.As(err, &ke) {
		return ke.Kind
	}
	return -1
}

func TestVaultLifecycle(t *testing.T) {
	ctx := context.Background()
	b := newBarrier(t)
	now := time.Unix(1_800_000_000, 0)
	s := New(b, func() time.Time { return now })
	v, err := s.Create(ctx, Spec{Name: "payments", SoftDeleteRetentionDays: 7, PurgeProtection: true,
		Settings: Settings{Tags: map[string]string{"team": "billing"}, NetworkACLs: NetworkACLs{DefaultAction: "Deny", IPRules: []string{"10.0.0.0/8", "2001:db8::1"}}}})
	if err != nil || v.SKU != "standard" || v.PublicNetworkAccess != "Enabled" || v.NetworkACLs.Bypass != "AzureServices" {
		t.Fatalf("create: %+v %v", v, err)
	}
	if err := b.Update(ctx, func(tx *barrier.Tx) error { return tx.Put("v/"+v.ID+"/secrets/x", []byte("data")) }); err != nil {
		t.Fatal(err)
	}
	// Purge protection and soft delete only go one way.
	if _, err := s.Update(ctx, "payments", func(v *Vault) error { v.PurgeProtection = false; return nil }); kind(err) != kverr.BadParameter {
		t.Fatalf("turning purge protection off: %v", err)
	}
	if _, err := s.Update(ctx, "payments", func(v *Vault) error { v.SoftDeleteRetentionDays = 30; return nil }); kind(err) != kverr.BadParameter {
		t.Fatalf("changing the retention under purge protection: %v", err)
	}
	for name, bad := range map[string]func(*Vault){
		"sku":           func(v *Vault) { v.SKU = "gold" },
		"ip rule":       func(v *Vault) { v.NetworkACLs.IPRules = []string{"10.0.0.300"} },
		"action":        func(v *Vault) { v.NetworkACLs.DefaultAction = "Maybe" },
		"public access": func(v *Vault) { v.PublicNetworkAccess = "Sometimes" },
		"permission": func(v *Vault) {
			v.AccessPolicies = []AccessPolicy{{ObjectID: NewTestGUID(), Permissions: Permissions{Secrets: []string{"fly"}}}}
		},
		"object id": func(v *Vault) { v.AccessPolicies = []AccessPolicy{{ObjectID: "bob"}} },
	} {
		if _, err := s.Update(ctx, "payments", func(v *Vault) error { bad(v); return nil }); kind(err) != kverr.BadParameter {
			t.Errorf("%s: %v", name, err)
		}
	}
	got, _ := s.Get("payments")
	if got.SKU != "standard" || len(got.AccessPolicies) != 0 || got.NetworkACLs.DefaultAction != "Deny" {
		t.Fatalf("a refused update changed the vault: %+v", got)
	}

	// Delete keeps the name; recover brings everything back.
	if err := s.Delete(ctx, "Payments"); err != nil {
		t.Fatal(err)
	}
	if _, ok := s.Lookup("payments"); ok {
		t.Fatal("a deleted vault is still served")
	}
	if _, err := s.Create(ctx, Spec{Name: "payments"}); kind(err) != kverr.Conflict {
		t.Fatalf("a new vault took a soft-deleted name: %v", err)
	}
	d, err := s.GetDeleted(ctx, "payments")
	if err != nil || !d.ScheduledPurgeDate.Equal(now.UTC().AddDate(0, 0, 7)) || d.Vault.Tags["team"] != "billing" {
		t.Fatalf("deleted vault: %+v %v", d, err)
	}
	if _, err := s.Recover(ctx, "payments"); err != nil {
		t.Fatal(err)
	}
	var data []byte
	if err := b.View(ctx, func(tx *barrier.Tx) error { data, err = tx.Get("v/" + v.ID + "/secrets/x"); return err }); err != nil || string(data) != "data" {
		t.Fatalf("recovered data: %q %v", data, err)
	}

	// Purge protection holds until the scheduled purge date.
	_ = s.Delete(ctx, "payments")
	if err := s.Purge(ctx, "payments"); kind(err) != kverr.Conflict {
		t.Fatalf("early purge under purge protection: %v", err)
	}
	if n, err := s.PurgeExpired(ctx, now); n != 0 || err != nil {
		t.Fatalf("purge before retention: %d %v", n, err)
	}
	now = now.AddDate(0, 0, 8)
	if n, err := s.PurgeExpired(ctx, now); n != 1 || err != nil {
		t.Fatalf("purge after retention: %d %v", n, err)
	}
	var keys []string
	_ = b.View(ctx, func(tx *barrier.Tx) error {
		return tx.ScanKeys("v/"+v.ID+"/", "", func(k string) (bool, error) { keys = append(keys, k); return true, nil })
	})
	if len(keys) != 0 {
		t.Fatalf("a purged vault left %v", keys)
	}
	if _, err := s.Create(ctx, Spec{Name: "payments"}); err != nil {
		t.Fatalf("the name after purge: %v", err)
	}
}

func TestRetentionOnlyGrows(t *testing.T) {
	ctx := context.Background()
	s := New(newBarrier(t), time.Now)
	if _, err := s.Create(ctx, Spec{Name: "grow", SoftDeleteRetentionDays: 30}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Update(ctx, "grow", func(v *Vault) error { v.SoftDeleteRetentionDays = 7; return nil }); kind(err) != kverr.BadParameter {
		t.Fatalf("shortening the retention: %v", err)
	}
	if v, err := s.Update(ctx, "grow", func(v *Vault) error { v.SoftDeleteRetentionDays = 60; return nil }); err != nil || v.SoftDeleteRetentionDays != 60 {
		t.Fatalf("raising the retention: %v %v", v, err)
	}
}

func NewTestGUID() string { return "8f0c1d2e-3a4b-4c5d-9e6f-708192a3b4c5" }

func TestAccessPolicyChanges(t *testing.T) {
	ctx := context.Background()
	s := New(newBarrier(t), time.Now)
	if _, err := s.Create(ctx, Spec{Name: "legacy", AccessPolicyModel: true}); err != nil {
		t.Fatal(err)
	}
	oid, app := NewTestGUID(), "11111111-2222-4333-8444-555555555555"
	v, err := s.ChangeAccessPolicies(ctx, "legacy", "add", []AccessPolicy{{ObjectID: oid, Permissions: Permissions{Secrets: []string{"Get", "list"}}}})
	if err != nil || v.RBACAuthorization || len(v.AccessPolicies) != 1 {
		t.Fatalf("add: %+v %v", v, err)
	}
	v, _ = s.ChangeAccessPolicies(ctx, "legacy", "add", []AccessPolicy{{ObjectID: oid, Permissions: Permissions{Secrets: []string{"set", "get"}, Keys: []string{"sign"}}}})
	p := v.AccessPolicies[0]
	if len(p.Permissions.Secrets) != 3 || !p.Allows("secrets/set", []string{oid}, "", false) || !p.Allows("keys/sign", []string{oid}, "", false) {
		t.Fatalf("merged: %+v", p)
	}
	v, _ = s.ChangeAccessPolicies(ctx, "legacy", "remove", []AccessPolicy{{ObjectID: oid, Permissions: Permissions{Secrets: []string{"set"}}}})
	if v.AccessPolicies[0].Allows("secrets/set", []string{oid}, "", false) || !v.AccessPolicies[0].Allows("secrets/get", []string{oid}, "", false) {
		t.Fatalf("remove one: %+v", v.AccessPolicies)
	}
	// Compound identity: the user through that application only.
	v, _ = s.ChangeAccessPolicies(ctx, "legacy", "replace", []AccessPolicy{{ObjectID: oid, ApplicationID: app, Permissions: Permissions{Secrets: []string{"all"}}}})
	c := v.AccessPolicies[1]
	if !c.Allows("secrets/purge", []string{oid}, app, true) || c.Allows("secrets/get", []string{oid}, app, false) || c.Allows("secrets/get", []string{oid}, "other", true) {
		t.Fatalf("compound: %+v", c)
	}
	v, _ = s.ChangeAccessPolicies(ctx, "legacy", "remove", []AccessPolicy{{ObjectID: oid}, {ObjectID: oid, ApplicationID: app}})
	if len(v.AccessPolicies) != 0 {
		t.Fatalf("remove all: %+v", v.AccessPolicies)
	}
	if _, err := s.ChangeAccessPolicies(ctx, "legacy", "merge", nil); kind(err) != kverr.BadParameter {
		t.Fatalf("bad kind: %v", err)
	}
}
