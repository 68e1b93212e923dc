package e2e

import (
	"encoding/json"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/keyhaven/keyhaven/internal/identity"
	"github.com/keyhaven/keyhaven/internal/testenv"
)

// deviceFlow drives the device-code flow over HTTPS as keyhaven login
// --use-device-code and a person at the sign-in page would.
type deviceFlow struct {
	t                    *testing.T
	srv                  *testenv.Server
	deviceCode, userCode string
}

// post sends a form and decodes the JSON answer into out (when not nil).
func (f *deviceFlow) post(u string, form url.Values, out any) int {
	f.t.Helper()
	resp, err := f.srv.Client.PostForm(u, form)
	if err != nil {
		f.t.Fatal(err)
	}
	defer resp.Body.Close()
	if out != nil {
		_ = json.NewDecoder(resp.Body).Decode(out)
	}
	return resp.StatusCode
}

func (f *deviceFlow) endpoint(name string) string {
	return f.srv.Info.AuthorityHost + "/" + f.srv.Info.TenantID + "/oauth2/v2.0/" + name
}

// startDevice starts a device sign-in.
func startDevice(t *testing.T, srv *testenv.Server) *deviceFlow {
	t.Helper()
	f := &deviceFlow{t: t, srv: srv}
	var dc struct {
		DeviceCode string `json:"device_code"`
		UserCode   string `json:"user_code"`
	}
	if st := f.post(f.endpoint("devicecode"), url.Values{"client_id": {identity.PublicClientID}, "scope": {"https://vault.localhost/.default"}}, &dc); st != 200 {
		t.Fatalf("devicecode: %d", st)
	}
	f.deviceCode, f.userCode = dc.DeviceCode, dc.UserCode
	return f
}

// approve signs in on the sign-in page with the flow's user code.
func (f *deviceFlow) approve(upn, password, otp string) {
	f.t.Helper()
	if st := f.post(f.srv.Info.AuthorityHost+"/devicelogin", url.Values{"user_code": {f.userCode}, "username": {upn}, "password": {password}, "otp": {otp}}, nil); st != 200 {
		f.t.Fatalf("sign-in page: %d", st)
	}
}

// redeem is the client's poll: the status, the OAuth error and the token.
func (f *deviceFlow) redeem() (status int, oauthErr, token string) {
	f.t.Helper()
	var out struct {
		Error       string `json:"error"`
		AccessToken string `json:"access_token"`
	}
	status = f.post(f.endpoint("token"), url.Values{"grant_type": {"urn:ietf:params:oauth:grant-type:device_code"},
		"client_id": {identity.PublicClientID}, "device_code": {f.deviceCode}}, &out)
	return status, out.Error, out.AccessToken
}

// signInDevice signs a person in and returns the access token.
func signInDevice(t *testing.T, srv *testenv.Server, upn, password, otp string) string {
	t.Helper()
	f := startDevice(t, srv)
	f.approve(upn, password, otp)
	st, e, tok := f.redeem()
	if st != 200 {
		t.Fatalf("token: %d %s", st, e)
	}
	return tok
}

// A role assignment with requireMfa counts for a person only when the
// sign-in had a second factor; one without it counts either way.
func TestAssignmentsThatRequireMFA(t *testing.T) {
	srv := testenv.StartDev(t)
	adminRaw := newRaw(t, srv)
	admin := adminRaw.token
	if rep := adminRaw.do("PUT", "/secrets/payroll?api-version=7.6", `{"value":"p"}`, true); rep.status != 200 {
		t.Fatal(rep.text)
	}
	users := map[string]string{}
	secrets := map[string]string{}
	for _, who := range []string{"pwd-only", "with-totp"} {
		body := `{"userPrincipalName":"` + who + `@example.com","password":"a long enough password","enrollTotp":` + map[bool]string{true: "true", false: "false"}[who == "with-totp"] + `}`
		code, u := mgmt(t, srv, admin, "POST", "/identity/users", body)
		if code != 201 {
			t.Fatalf("user: %d %v", code, u)
		}
		users[who] = u["objectId"].(string)
		if uri, ok := u["totpUri"].(string); ok {
			p, _ := url.Parse(uri)
			secrets[who] = p.Query().Get("secret")
		}
		if code, a := mgmt(t, srv, admin, "POST", "/authorization/roleAssignments",
			`{"principalId":"`+users[who]+`","roleName":"Key Vault Secrets User","scope":"/vaults/dev","requireMfa":true}`); code != 201 || a["requireMfa"] != true {
			t.Fatalf("assignment: %d %v", code, a)
		}
	}
	otp, _ := identity.TOTPCode(secrets["with-totp"], time.Now())
	read := func(token string) int {
		r := &raw{t: t, srv: srv, token: token}
		return r.do("GET", "/secrets/payroll?api-version=7.6", "", true).status
	}
	if st := read(signInDevice(t, srv, "with-totp@example.com", "a long enough password", otp)); st != http.StatusOK {
		t.Fatalf("signed in with a second factor: %d", st)
	}
	pwdToken := signInDevice(t, srv, "pwd-only@example.com", "a long enough password", "")
	if st := read(pwdToken); st != http.StatusForbidden {
		t.Fatalf("signed in with a password only, on an MFA-only assignment: %d", st)
	}
	// The same role without the requirement: the password suffices.
	if code, _ := mgmt(t, srv, admin, "POST", "/authorization/roleAssignments",
		`{"principalId":"`+users["pwd-only"]+`","roleName":"Key Vault Secrets User","scope":"/vaults/dev/secrets/payroll"}`); code != 201 {
		t.Fatal("assignment without MFA")
	}
	if st := read(pwdToken); st != http.StatusOK {
		t.Fatalf("assignment without the requirement: %d", st)
	}
}

// A device sign-in approved before revoke-sessions is void when it is
// redeemed afterwards (a phished password cannot pre-approve codes that
// outlive the incident response).
func TestPendingSignInDiesWithRevokedSessions(t *testing.T) {
	srv := testenv.StartDev(t)
	admin := newRaw(t, srv).token
	if code, u := mgmt(t, srv, admin, "POST", "/identity/users", `{"userPrincipalName":"eve@example.com","password":"a long enough password"}`); code != 201 {
		t.Fatalf("user: %d %v", code, u)
	}
	f := startDevice(t, srv)
	f.approve("eve@example.com", "a long enough password", "")
	if code, _ := mgmt(t, srv, admin, "POST", "/identity/users/eve@example.com/revokeSessions", ""); code != http.StatusNoContent {
		t.Fatalf("revoke: %d", code)
	}
	if st, e, _ := f.redeem(); st != http.StatusBadRequest || e != "invalid_grant" {
		t.Fatalf("redeeming a sign-in approved before revoke-sessions: %d %s", st, e)
	}
}
