package app

import (
	"testing"

	"github.com/keyhaven/keyhaven/internal/authz"
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
	}
	got, changed := reconcileActivations(list)
	if !changed || len(got) != 6 {
		t.Fatalf("changed %v, %d left: %+v", changed, len(got), got)
	}
	for _, a := range got {
		want := map[string]string{"a1": "g", "a4": "g"}[a.ID]
		if a.ID == "a3" || a.Via != want {
			t.Errorf("%s: via %q, want %q", a.ID, a.Via, want)
		}
	}
	if _, changed := reconcileActivations(got); changed {
		t.Fatal("a reconciled list changes again")
	}
}
