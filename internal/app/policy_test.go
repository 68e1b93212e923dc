package app

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/keyhaven/keyhaven/internal/authz"
	"github.com/keyhaven/keyhaven/internal/barrier"
	"github.com/keyhaven/keyhaven/internal/storage/memory"
)

// Activations lose their eligibility's removal, and group activations
// stored before they recorded their group get it.
func TestReconcileActivations(t *testing.T) {
	list := []authz.Assignment{
		{ID: "E-group", PrincipalID: "g", Eligible: true},
		{ID: "e-own", PrincipalID: "u", Eligible: true},
		{ID: "a1", PrincipalID: "u", ActivatedFrom: "e-group"}, // made before Via existed
		{ID: "a2", PrincipalID: "u", ActivatedFrom: "e-own"},
		{ID: "a3", PrincipalID: "u", ActivatedFrom: "gone"},
		{ID: "a4", PrincipalID: "u", ActivatedFrom: "E-group", Via: "g"},
		{ID: "plain", PrincipalID: "u"},
		{ID: "E-ext", PrincipalID: "x", Eligible: true, Issuer: "https://idp"},
		{ID: "a5", PrincipalID: "x", ActivatedFrom: "E-ext"}, // a local grant from an external eligibility
		{ID: "a6", PrincipalID: "x", ActivatedFrom: "E-ext", Issuer: "https://IDP"},
	}
	got, changed := reconcileActivations(list)
	if !changed || len(got) != 8 {
		t.Fatalf("changed %v, %d left: %+v", changed, len(got), got)
	}
	for _, a := range got {
		want := map[string]string{"a1": "g", "a4": "g"}[a.ID]
		if a.ID == "a3" || a.ID == "a5" || a.Via != want {
			t.Errorf("%s: via %q, want %q", a.ID, a.Via, want)
		}
	}
	if _, changed := reconcileActivations(got); changed {
		t.Fatal("a reconciled list changes again")
	}
}

// An eligibility is activated only by a caller of its own identity source,
// and the activation keeps that source.
func TestActivateKeepsTheIssuer(t *testing.T) {
	ctx := context.Background()
	b := barrier.New(memory.New())
	if err := b.Initialize(ctx, barrier.NewDevSeal()); err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	p := newPolicyStore(b, func() time.Time { return now })
	ext := authz.Assignment{ID: "e-ext", PrincipalID: "oid-1", RoleID: authz.KeyVaultSecretsUser, Scope: "/", Eligible: true, Issuer: "https://idp.example"}
	if err := p.modify(ctx, func(l []authz.Assignment) ([]authz.Assignment, error) { return append(l, ext), nil }); err != nil {
		t.Fatal(err)
	}
	// A local caller with the same object id is not the external principal.
	if _, err := p.Activate(ctx, "e-ext", []string{"oid-1"}, "", time.Minute, "why"); !errors.Is(err, authz.ErrAssignmentNotFound) {
		t.Fatalf("local caller activated an external eligibility: %v", err)
	}
	a, err := p.Activate(ctx, "e-ext", []string{"oid-1"}, "https://IDP.example", time.Minute, "why")
	if err != nil || a.Issuer != ext.Issuer {
		t.Fatalf("external activation: %+v, %v", a, err)
	}
	req := authz.Request{PrincipalIDs: []string{"oid-1"}, Action: "Microsoft.KeyVault/vaults/secrets/getSecret/action", Scope: "/vaults/v", Now: now}
	if p.Policy().Decide(req).Allowed {
		t.Fatal("the external activation grants a local caller")
	}
	req.Issuer = "https://idp.example"
	if !p.Policy().Decide(req).Allowed {
		t.Fatal("the external activation does not grant its caller")
	}
}
