package e2e

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/keyhaven/keyhaven/internal/testenv"
	"github.com/keyhaven/keyhaven/internal/vaults"
)

// A purged vault's role assignments go with it: a new vault of the same
// name does not inherit the grants of the old one.
func TestPurgedVaultTakesItsRoleAssignments(t *testing.T) {
	srv := testenv.StartDev(t)
	ctx := context.Background()
	admin := newRaw(t, srv).token
	vs := srv.App.Vaults()
	if _, err := vs.Create(ctx, vaults.Spec{Name: "reuse", SoftDeleteRetentionDays: 7}); err != nil {
		t.Fatal(err)
	}
	reader := newAppCaller(t, srv, admin, "old-reader")
	for _, scope := range []string{"/vaults/reuse", "/vaults/reuse/secrets/db"} {
		if code, a := mgmt(t, srv, admin, "POST", "/authorization/roleAssignments",
			`{"principalId":"`+reader.objectID+`","roleName":"Key Vault Secrets User","scope":"`+scope+`"}`); code != http.StatusCreated {
			t.Fatalf("assign: %d %v", code, a)
		}
	}
	if err := vs.Delete(ctx, "reuse"); err != nil {
		t.Fatal(err)
	}
	if err := vs.Purge(ctx, "reuse"); err != nil {
		t.Fatal(err)
	}
	_, list := mgmt(t, srv, admin, "GET", "/authorization/roleAssignments?principalId="+reader.objectID, "")
	if n := len(list["value"].([]any)); n != 0 {
		t.Fatalf("the purged vault's assignments are still there: %v", list)
	}
	if _, err := vs.Create(ctx, vaults.Spec{Name: "reuse"}); err != nil {
		t.Fatal(err)
	}
	if st := rawAt(t, reader, strings.Replace(srv.Info.VaultURL, "://dev.", "://reuse.", 1)+"/secrets?api-version=7.6"); st != http.StatusForbidden {
		t.Fatalf("the new vault granted the old vault's reader access: %d", st)
	}
}

// rawAt sends an authenticated GET to an absolute URL and returns the status.
func rawAt(t *testing.T, a *appCaller, url string) int {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	req.Header.Set("Authorization", "Bearer "+a.r.token)
	resp, err := a.r.srv.Client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}
