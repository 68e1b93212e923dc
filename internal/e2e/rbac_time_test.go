package e2e

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/keyhaven/keyhaven/internal/testenv"
)

// appCaller is an application with its own token and raw client.
type appCaller struct {
	clientID, objectID, secret string
	r                          *raw
}

// renew gets a fresh token (after the test moved the clock).
func (a *appCaller) renew() {
	a.r.token = a.r.fetchToken(a.clientID, a.secret, "https://vault.localhost/.default")
}

func newAppCaller(t *testing.T, srv *testenv.Server, admin, name string) *appCaller {
	t.Helper()
	code, app := mgmt(t, srv, admin, "POST", "/identity/applications", `{"displayName":"`+name+`"}`)
	if code != http.StatusCreated {
		t.Fatalf("create app: %d %v", code, app)
	}
	r := &raw{t: t, srv: srv}
	r.token = r.fetchToken(app["appId"].(string), app["secret"].(string), "https://vault.localhost/.default")
	return &appCaller{clientID: app["appId"].(string), objectID: app["objectId"].(string), secret: app["secret"].(string), r: r}
}

func (a *appCaller) status(method, path, body string) int {
	return a.r.do(method, path, body, true).status
}

// Role assignments that start and end on their own, eligible assignments
// activated just in time with a justification (PIM), and custom roles with
// notDataActions, all decided with the server's clock.
func TestTimeBoundEligibleAndCustomRoles(t *testing.T) {
	srv, clock := testenv.StartDevWithClock(t)
	adminRaw := newRaw(t, srv)
	admin := adminRaw.token
	if rep := adminRaw.do("PUT", "/secrets/payroll?api-version=7.6", `{"value":"p"}`, true); rep.status != 200 {
		t.Fatalf("set: %s", rep.text)
	}
	if rep := adminRaw.do("PUT", "/secrets/other?api-version=7.6", `{"value":"o"}`, true); rep.status != 200 {
		t.Fatalf("set: %s", rep.text)
	}
	get := "/secrets/payroll?api-version=7.6"
	assign := func(body string) (int, map[string]any) {
		return mgmt(t, srv, admin, "POST", "/authorization/roleAssignments", body)
	}

	// Time-bound: from now for one hour.
	b := newAppCaller(t, srv, admin, "temp-reader")
	exp := clock.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	code, a := assign(`{"principalId":"` + b.objectID + `","roleName":"Key Vault Secrets User","scope":"/vaults/dev","expiresOn":"` + exp + `"}`)
	if code != 201 || a["status"] != "Active" || a["expiresOn"] == nil {
		t.Fatalf("time-bound assignment: %d %v", code, a)
	}
	if st := b.status("GET", get, ""); st != 200 {
		t.Fatalf("within the window: %d", st)
	}
	// A scheduled one for later does not grant yet.
	start := clock.Now().Add(3 * time.Hour).UTC().Format(time.RFC3339)
	end := clock.Now().Add(5 * time.Hour).UTC().Format(time.RFC3339)
	if code, a := assign(`{"principalId":"` + b.objectID + `","roleName":"Key Vault Secrets Officer","scope":"/vaults/dev","startsOn":"` + start + `","expiresOn":"` + end + `"}`); code != 201 || a["status"] != "Scheduled" {
		t.Fatalf("scheduled assignment: %d %v", code, a)
	}
	if st := b.status("DELETE", "/secrets/other?api-version=7.6", ""); st != 403 {
		t.Fatalf("before the scheduled start: %d", st)
	}
	for name, body := range map[string]string{
		"past expiry":        `{"principalId":"` + b.objectID + `","roleName":"Key Vault Secrets User","scope":"/","expiresOn":"2001-01-01T00:00:00Z"}`,
		"end before start":   `{"principalId":"` + b.objectID + `","roleName":"Key Vault Secrets User","scope":"/","startsOn":"` + end + `","expiresOn":"` + start + `"}`,
		"activation without": `{"principalId":"` + b.objectID + `","roleName":"Key Vault Secrets User","scope":"/","maxActivationMinutes":30}`,
	} {
		if code, _ := assign(body); code != 400 {
			t.Errorf("%s: %d", name, code)
		}
	}
	clock.Advance(2 * time.Hour)
	b.renew() // a fresh token: the old one expired with the clock
	if st := b.status("GET", get, ""); st != 403 {
		t.Fatalf("after expiry: %d", st)
	}
	clock.Advance(2 * time.Hour) // inside the scheduled window now
	b.renew()
	if st := b.status("GET", get, ""); st != 200 {
		t.Fatalf("inside the scheduled window: %d", st)
	}
	if err := srv.App.RunScheduledJobs(context.Background()); err != nil {
		t.Fatal(err)
	}
	admin = adminRaw.fetchToken(srv.Info.ClientID, srv.Info.ClientSecret, "https://vault.localhost/.default")
	code, list := mgmt(t, srv, admin, "GET", "/authorization/roleAssignments?principalId="+b.objectID, "")
	if code != 200 || len(list["value"].([]any)) != 1 {
		t.Fatalf("expired assignments are not removed: %v", list)
	}

	// Eligible: nothing until activated; activation lasts as asked.
	c := newAppCaller(t, srv, admin, "on-call")
	code, e := assign(`{"principalId":"` + c.objectID + `","roleName":"Key Vault Secrets Officer","scope":"/vaults/dev","eligible":true,"maxActivationMinutes":60}`)
	if code != 201 || e["status"] != "Eligible" || e["maxActivationMinutes"] != float64(60) {
		t.Fatalf("eligible assignment: %d %v", code, e)
	}
	if st := c.status("GET", get, ""); st != 403 {
		t.Fatalf("an eligibility granted access: %d", st)
	}
	activate := func(who *appCaller, body string) (int, map[string]any) {
		return mgmt(t, srv, who.r.token, "POST", "/authorization/roleAssignments/"+e["id"].(string)+"/activate", body)
	}
	if code, _ := activate(c, `{"justification":"incident 4711","durationMinutes":120}`); code != 400 {
		t.Fatalf("activation longer than allowed: %d", code)
	}
	if code, _ := activate(c, `{"durationMinutes":30}`); code != 400 {
		t.Fatalf("activation without justification: %d", code)
	}
	if code, _ := activate(b, `{"justification":"not mine","durationMinutes":30}`); code != 404 {
		t.Fatalf("activation by someone else: %d", code)
	}
	code, act := activate(c, `{"justification":"incident 4711","durationMinutes":30}`)
	if code != 201 || act["justification"] != "incident 4711" || act["activatedFrom"] != e["id"] || act["status"] != "Active" {
		t.Fatalf("activation: %d %v", code, act)
	}
	if st := c.status("DELETE", "/secrets/other?api-version=7.6", ""); st != 200 {
		t.Fatalf("activated officer: %d", st)
	}
	// Activating again renews the live activation instead of adding one.
	code, again := activate(c, `{"justification":"incident 4711, still on it","durationMinutes":30}`)
	if code != 201 || again["id"] != act["id"] || again["justification"] != "incident 4711, still on it" {
		t.Fatalf("second activation: %d %v (first %v)", code, again, act["id"])
	}
	clock.Advance(31 * time.Minute)
	if st := c.status("GET", get, ""); st != 403 {
		t.Fatalf("after the activation ended: %d", st)
	}
	// Removing the eligibility ends a live activation of it at once.
	if code, _ := activate(c, `{"justification":"incident 4712","durationMinutes":30}`); code != 201 {
		t.Fatalf("activation after the first ended: %d", code)
	}
	if st := c.status("GET", get, ""); st != 200 {
		t.Fatalf("activated again: %d", st)
	}
	if code, _ := mgmt(t, srv, admin, "DELETE", "/authorization/roleAssignments/"+e["id"].(string), ""); code != 204 {
		t.Fatalf("remove the eligibility: %d", code)
	}
	if st := c.status("GET", get, ""); st != 403 {
		t.Fatalf("an activation outlived its eligibility: %d", st)
	}
	if code, list := mgmt(t, srv, admin, "GET", "/authorization/roleAssignments?principalId="+c.objectID, ""); code != 200 || len(list["value"].([]any)) != 0 {
		t.Fatalf("the activation is still listed: %d %v", code, list)
	}

	// Custom role: everything on secrets but delete, on one secret.
	code, role := mgmt(t, srv, admin, "POST", "/authorization/roleDefinitions",
		`{"roleName":"Payroll Secret Keeper","dataActions":["Microsoft.KeyVault/vaults/secrets/*"],"notDataActions":["Microsoft.KeyVault/vaults/secrets/delete"]}`)
	if code != 201 || role["roleType"] != "CustomRole" {
		t.Fatalf("custom role: %d %v", code, role)
	}
	if code, _ := mgmt(t, srv, admin, "POST", "/authorization/roleDefinitions", `{"roleName":"payroll secret keeper","dataActions":["Microsoft.KeyVault/vaults/secrets/*"]}`); code != 409 {
		t.Fatalf("duplicate role name: %d", code)
	}
	if code, _ := mgmt(t, srv, admin, "POST", "/authorization/roleDefinitions", `{"roleName":"bad","dataActions":["not a permission"]}`); code != 400 {
		t.Fatalf("bad permission: %d", code)
	}
	d := newAppCaller(t, srv, admin, "keeper")
	code, ka := assign(`{"principalId":"` + d.objectID + `","roleDefinitionId":"` + role["id"].(string) + `","scope":"/vaults/dev/secrets/payroll"}`)
	if code != 201 {
		t.Fatalf("assign custom role: %d %v", code, ka)
	}
	for _, tc := range []struct {
		method, path, body string
		want               int
	}{
		{"GET", get, "", 200},
		{"PUT", "/secrets/payroll?api-version=7.6", `{"value":"p2"}`, 200},
		{"DELETE", "/secrets/payroll?api-version=7.6", "", 403},
		{"GET", "/secrets/other2?api-version=7.6", "", 403},
	} {
		if st := d.status(tc.method, tc.path, tc.body); st != tc.want {
			t.Errorf("custom role %s %s: %d, want %d", tc.method, tc.path, st, tc.want)
		}
	}
	if code, _ := mgmt(t, srv, admin, "DELETE", "/authorization/roleDefinitions/"+role["id"].(string), ""); code != 409 {
		t.Fatalf("deleting a role in use: %d", code)
	}
	if code, _ := mgmt(t, srv, admin, "DELETE", "/authorization/roleAssignments/"+ka["id"].(string), ""); code != 204 {
		t.Fatalf("remove assignment: %d", code)
	}
	if code, _ := mgmt(t, srv, admin, "DELETE", "/authorization/roleDefinitions/"+role["id"].(string), ""); code != 204 {
		t.Fatalf("delete role: %d", code)
	}
	if code, _ := mgmt(t, srv, admin, "DELETE", "/authorization/roleDefinitions/4633458b-17de-408a-b874-0445c86b69e6", ""); code != 400 {
		t.Fatalf("deleting a built-in role: %d", code)
	}
}

// Only standing Owner assignments keep the server manageable: with an
// eligible (or time-bound) Owner beside it, the last standing one cannot
// be removed.
func TestLastStandingOwnerStays(t *testing.T) {
	srv := testenv.StartDev(t)
	admin := newRaw(t, srv).token
	other := newAppCaller(t, srv, admin, "would-be-owner")
	exp := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	for _, body := range []string{
		`{"principalId":"` + other.objectID + `","roleName":"Owner","scope":"/","eligible":true}`,
		`{"principalId":"` + other.objectID + `","roleName":"Owner","scope":"/","expiresOn":"` + exp + `"}`,
	} {
		if code, a := mgmt(t, srv, admin, "POST", "/authorization/roleAssignments", body); code != 201 {
			t.Fatalf("assign: %d %v", code, a)
		}
	}
	_, devApp := mgmt(t, srv, admin, "GET", "/identity/applications/"+srv.Info.ClientID, "")
	_, list := mgmt(t, srv, admin, "GET", "/authorization/roleAssignments?principalId="+devApp["objectId"].(string), "")
	for _, v := range list["value"].([]any) {
		a := v.(map[string]any)
		if a["roleName"] != "Owner" {
			continue
		}
		if code, m := mgmt(t, srv, admin, "DELETE", "/authorization/roleAssignments/"+a["id"].(string), ""); code != 409 {
			t.Fatalf("removing the last standing Owner: %d %v", code, m)
		}
		return
	}
	t.Fatal("the dev application holds no Owner assignment")
}

// An eligibility held by a group is activated by a member for itself; the
// activation ends with the membership, not when it would have expired: a
// token issued after the member left the group is refused.
func TestGroupEligibilityEndsWithMembership(t *testing.T) {
	srv := testenv.StartDev(t)
	adminRaw := newRaw(t, srv)
	admin := adminRaw.token
	if rep := adminRaw.do("PUT", "/secrets/payroll?api-version=7.6", `{"value":"p"}`, true); rep.status != 200 {
		t.Fatalf("set: %s", rep.text)
	}
	get := "/secrets/payroll?api-version=7.6"
	code, g := mgmt(t, srv, admin, "POST", "/identity/groups", `{"displayName":"on-call"}`)
	if code != http.StatusCreated {
		t.Fatalf("create group: %d %v", code, g)
	}
	groupID := g["objectId"].(string)
	m := newAppCaller(t, srv, admin, "responder")
	if code, g := mgmt(t, srv, admin, "POST", "/identity/groups/"+groupID+"/members", `{"objectId":"`+m.objectID+`"}`); code != 200 {
		t.Fatalf("add member: %d %v", code, g)
	}
	code, e := mgmt(t, srv, admin, "POST", "/authorization/roleAssignments",
		`{"principalId":"`+groupID+`","roleName":"Key Vault Secrets User","scope":"/vaults/dev","eligible":true,"maxActivationMinutes":60}`)
	if code != 201 {
		t.Fatalf("eligible assignment: %d %v", code, e)
	}
	m.renew() // a token that lists the group
	if st := m.status("GET", get, ""); st != 403 {
		t.Fatalf("before activation: %d", st)
	}
	code, act := mgmt(t, srv, m.r.token, "POST", "/authorization/roleAssignments/"+e["id"].(string)+"/activate",
		`{"justification":"page 17","durationMinutes":30}`)
	if code != 201 || act["principalId"] != m.objectID || act["viaGroup"] != groupID {
		t.Fatalf("activate: %d %v", code, act)
	}
	if st := m.status("GET", get, ""); st != 200 {
		t.Fatalf("activated member: %d", st)
	}
	if code, _ := mgmt(t, srv, admin, "DELETE", "/identity/groups/"+groupID+"/members/"+m.objectID, ""); code != 200 && code != 204 {
		t.Fatalf("remove member: %d", code)
	}
	m.renew() // the new token no longer lists the group
	if st := m.status("GET", get, ""); st != 403 {
		t.Fatalf("the activation outlived the membership: %d", st)
	}
}

// A token stops working on the connection that has been using it when it
// expires, or when the clock goes back before its nbf (the server remembers
// a connection's last token only while its validation holds).
func TestExpiredTokenRefusedOnItsConnection(t *testing.T) {
	srv, clock := testenv.StartDevWithClock(t)
	r := newRaw(t, srv)
	if rep := r.do("PUT", "/secrets/s?api-version=7.6", `{"value":"v"}`, true); rep.status != 200 {
		t.Fatalf("set: %s", rep.text)
	}
	for range 3 {
		if rep := r.do("GET", "/secrets/s?api-version=7.6", "", true); rep.status != 200 {
			t.Fatalf("get: %d", rep.status)
		}
	}
	clock.Advance(-10 * time.Minute) // the clock goes back before the token's nbf
	if rep := r.do("GET", "/secrets/s?api-version=7.6", "", true); rep.status != 401 {
		t.Fatalf("a token not valid yet on its connection: %d", rep.status)
	}
	clock.Advance(10 * time.Minute)
	if rep := r.do("GET", "/secrets/s?api-version=7.6", "", true); rep.status != 200 {
		t.Fatalf("get: %d", rep.status)
	}
	clock.Advance(2 * time.Hour)
	if rep := r.do("GET", "/secrets/s?api-version=7.6", "", true); rep.status != 401 {
		t.Fatalf("expired token on its connection: %d", rep.status)
	}
}
