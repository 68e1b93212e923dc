package e2e

import (
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/keyhaven/keyhaven/internal/identity"
)

// keyhaven user, group and identity, run as an administrator would against
// a real dev server: a person with a second factor and a managed identity
// join a group that holds a vault role; the person signs in (device-code
// flow, over HTTPS like keyhaven login) and the identity reads a secret
// through the group; bad input is refused and changes nothing; principals
// without the Owner role may not manage the directory; finally everything
// is removed and stops working.
func TestCLIDirectory(t *testing.T) {
	cliForEachTenant(t, func(t *testing.T, c *cliEnv) {
		d := &dirEnv{cliEnv: c}
		first, second := c.newValue("first-password"), c.newValue("second-password")
		value := c.newValue("directory")
		c.ok(t, "secret", "set", "-n", "cli-directory", "--value", value, "-o", "none")

		// A person with a second factor: the otpauth URI is printed once.
		res := d.owner(t, first+"\n", "user", "create", "--upn", "ada@example.test", "--display-name", "Ada Lovelace", "--password-stdin", "--enroll-totp")
		user := cliObject(t, res)
		userID, _ := user["objectId"].(string)
		uri, err := url.Parse(user["totpUri"].(string))
		if userID == "" || err != nil || uri.Scheme != "otpauth" || uri.Query().Get("secret") == "" || user["mfaEnrolled"] != true ||
			user["userPrincipalName"] != "ada@example.test" || user["displayName"] != "Ada Lovelace" {
			t.Fatalf("user create: %v", user)
		}
		totpSecret := uri.Query().Get("secret")
		c.values = append(c.values, totpSecret)
		if !strings.Contains(res.stderr, "shown only this once") {
			t.Errorf("user create does not say the URI is shown once:\n%s", res)
		}
		shown := cliObject(t, d.owner(t, "", "user", "show", "--id", "ADA@example.test"))
		if shown["objectId"] != userID || shown["mfaEnrolled"] != true || shown["totpUri"] != nil {
			t.Fatalf("user show: %v", shown)
		}
		if got := dirField(cliArray(t, d.owner(t, "", "user", "list")), "userPrincipalName"); !slices.Equal(got, []string{"ada@example.test"}) {
			t.Fatalf("user list: %v", got)
		}
		table := d.owner(t, "", "user", "list", "-o", "table").stdout
		if !strings.Contains(table, "UserPrincipalName") || !strings.Contains(table, userID) {
			t.Fatalf("user list -o table:\n%s", table)
		}

		// The password alone does not sign the person in; with the code it does.
		if status, _ := d.signIn(t, "ada@example.test", first, ""); status != http.StatusUnauthorized {
			t.Fatalf("signed in without the one-time code: %d", status)
		}
		status, userTok := d.signIn(t, "ada@example.test", first, dirTOTP(t, totpSecret))
		if status != http.StatusOK || userTok.refresh == "" {
			t.Fatalf("sign-in with password and code: %d", status)
		}

		// A managed identity: create prints what keyhaven agent needs.
		res = d.owner(t, "", "identity", "create", "-n", "cli-web-host")
		mi := cliObject(t, res)
		miClient, miPrincipal, miSecret := dirString(mi, "clientId"), dirString(mi, "principalId"), dirString(mi, "clientSecret")
		c.values = append(c.values, miSecret)
		if miClient == "" || miPrincipal == "" || miSecret == "" || mi["tenantId"] != c.srv.Info.TenantID ||
			mi["authorityHost"] != c.srv.Info.AuthorityHost || mi["name"] != "cli-web-host" {
			t.Fatalf("identity create: %v", mi)
		}
		for _, want := range []string{"AZURE_CLIENT_ID=" + miClient, "AZURE_TENANT_ID=" + c.srv.Info.TenantID, "keyhaven agent --client-secret-file"} {
			if !strings.Contains(res.stderr, want) {
				t.Errorf("identity create's hint lacks %q:\n%s", want, res)
			}
		}
		if code := tokenStatus(t, c.srv, miClient, miSecret); code != http.StatusOK {
			t.Fatalf("the printed configuration gets no token: %d", code)
		}
		if got := dirField(cliArray(t, d.owner(t, "", "identity", "list")), "clientId"); !slices.Equal(got, []string{miClient}) {
			t.Fatalf("identity list: %v", got)
		}
		if shown := cliObject(t, d.owner(t, "", "identity", "show", "--id", miClient)); shown["principalId"] != miPrincipal || strings.Contains(toJSON(shown), miSecret) {
			t.Fatalf("identity show: %v", shown)
		}
		asMI := func(args ...string) cliResult {
			return c.call(t, cliCall{args: args, env: map[string]string{"AZURE_CLIENT_ID": miClient, "AZURE_CLIENT_SECRET": miSecret}})
		}

		// Principals without the Owner role may not manage the directory, and
		// their attempts change nothing.
		cliWantFailure(t, asMI("user", "list"), 1, "AuthorizationFailed (403)")
		cliWantFailure(t, c.call(t, cliCall{args: []string{"user", "create", "--upn", "mallory@example.test", "--display-name", "M", "--password-stdin"},
			stdin: second, env: map[string]string{"AZURE_CLIENT_ID": miClient, "AZURE_CLIENT_SECRET": miSecret}}), 1, "AuthorizationFailed (403)")
		cliWantFailure(t, asMI("group", "create", "--display-name", "mallory"), 1, "AuthorizationFailed (403)")
		cliWantFailure(t, asMI("identity", "delete", "--id", miClient), 1, "AuthorizationFailed (403)")
		for _, p := range []string{"/identity/users", "/identity/groups", "/identity/managedIdentities"} {
			if code, _ := mgmt(t, c.srv, userTok.access, "GET", p, ""); code != http.StatusForbidden {
				t.Errorf("a person without a role: GET %s = %d, want 403", p, code)
			}
		}
		d.wantUsers(t, "ada@example.test")
		if n := len(cliArray(t, d.owner(t, "", "group", "list"))); n != 0 {
			t.Fatalf("%d groups after refused creates", n)
		}

		// A group with both members, holding a vault role.
		group := cliObject(t, d.owner(t, "", "group", "create", "--display-name", "cli-payments"))
		groupID := dirString(group, "objectId")
		if groupID == "" || group["displayName"] != "cli-payments" || len(group["members"].([]any)) != 0 {
			t.Fatalf("group create: %v", group)
		}
		cliWantFailure(t, asMI("secret", "show", "-n", "cli-directory"), 1, "Forbidden")
		d.owner(t, "", "role", "assignment", "create", "--assignee", groupID, "--role", "Key Vault Secrets User", "--scope", "/vaults/dev")
		d.owner(t, "", "group", "member", "add", "-g", groupID, "--member-id", userID)
		d.wantMembers(t, cliObject(t, d.owner(t, "", "group", "member", "add", "-g", groupID, "--member-id", miPrincipal)), userID, miPrincipal)
		d.wantMembers(t, cliObject(t, d.owner(t, "", "group", "member", "add", "-g", groupID, "--member-id", userID)), userID, miPrincipal) // twice: no change
		d.wantMembers(t, cliObject(t, d.owner(t, "", "group", "show", "-g", groupID)), userID, miPrincipal)
		members := cliArray(t, d.owner(t, "", "group", "member", "list", "-g", groupID))
		if got := dirField(members, "principalType"); !slices.Equal(got, []string{"User", "ManagedIdentity"}) ||
			members[0]["userPrincipalName"] != "ada@example.test" || members[1]["appId"] != miClient {
			t.Fatalf("group member list: %v", members)
		}
		if got := strings.TrimSpace(asMI("secret", "show", "-n", "cli-directory", "--query", "value", "-o", "tsv").stdout); got != value {
			t.Fatalf("the identity read %q through its group, want the secret", got)
		}
		if groups := dirClaim(t, c, miClient, miSecret, "groups"); !slices.Equal(groups, []string{groupID}) {
			t.Fatalf("the identity's token has groups %v", groups)
		}

		// Bad input: clear errors, nothing changed.
		d.fails(t, "short\n", 1, []string{"BadParameter (400)", "12 to 256 characters"}, "user", "create", "--upn", "bob@example.test", "--display-name", "Bob", "--password-stdin")
		d.fails(t, second, 1, []string{"BadParameter (400)", "name@domain"}, "user", "create", "--upn", "not-an-upn", "--display-name", "X", "--password-stdin")
		d.fails(t, second, 1, []string{"Conflict (409)"}, "user", "create", "--upn", "Ada@Example.test", "--display-name", "Ada 2", "--password-stdin")
		d.fails(t, second, 2, []string{"--password-stdin is required"}, "user", "create", "--upn", "eve@example.test", "--display-name", "Eve")
		d.fails(t, "", 2, []string{"--password-stdin: standard input holds no password"}, "user", "set-password", "--id", userID, "--password-stdin")
		d.fails(t, "short", 1, []string{"BadParameter (400)", "12 to 256 characters"}, "user", "set-password", "--id", userID, "--password-stdin")
		d.fails(t, second, 1, []string{"NotFound (404)"}, "user", "set-password", "--id", "00000000-0000-4000-8000-000000000000", "--password-stdin")
		d.fails(t, "", 1, []string{"NotFound (404)", "nobody@example.test"}, "user", "show", "--id", "nobody@example.test")
		d.fails(t, "", 1, []string{"NotFound (404)"}, "user", "totp", "enroll", "--id", "nobody@example.test")
		d.fails(t, "", 1, []string{"invalid user id"}, "user", "delete", "--id", "../identity/groups")
		d.fails(t, "", 1, []string{"NotFound (404)"}, "group", "show", "-g", "00000000-0000-4000-8000-000000000000")
		d.fails(t, "", 1, []string{"BadParameter (400)", "not a principal of this directory"}, "group", "member", "add", "-g", groupID, "--member-id", "00000000-0000-4000-8000-000000000000")
		d.fails(t, "", 1, []string{"BadParameter (400)", "Groups do not nest"}, "group", "member", "add", "-g", groupID, "--member-id", groupID)
		d.fails(t, "", 1, []string{"NotFound (404)"}, "group", "member", "remove", "-g", groupID, "--member-id", "00000000-0000-4000-8000-000000000000")
		d.fails(t, "", 1, []string{"NotFound (404)"}, "identity", "show", "--id", c.srv.Info.ClientID) // an application is not an identity
		d.fails(t, "", 1, []string{"NotFound (404)"}, "identity", "delete", "--id", "00000000-0000-4000-8000-000000000000")
		d.wantUsers(t, "ada@example.test")
		d.wantMembers(t, cliObject(t, d.owner(t, "", "group", "show", "-g", groupID)), userID, miPrincipal)
		if shown := cliObject(t, d.owner(t, "", "user", "show", "--id", userID)); shown["mfaEnrolled"] != true {
			t.Fatalf("after bad input: %v", shown)
		}

		// Second factor removed: the password alone signs in, and the weak
		// password above did not replace it.
		d.owner(t, "", "user", "totp", "remove", "--id", userID)
		if shown := cliObject(t, d.owner(t, "", "user", "show", "--id", userID)); shown["mfaEnrolled"] != false {
			t.Fatalf("after totp remove: %v", shown)
		}
		status, tok := d.signIn(t, "ada@example.test", first, "")
		if status != http.StatusOK {
			t.Fatalf("sign-in with the password alone: %d", status)
		}
		if status, tok = d.refresh(t, tok.refresh); status != http.StatusOK {
			t.Fatalf("refresh before revoking: %d", status)
		}

		// Sessions revoked: the refresh token stops working, signing in works.
		d.owner(t, "", "user", "revoke-sessions", "--id", "ada@example.test")
		if status, _ := d.refresh(t, tok.refresh); status != http.StatusBadRequest {
			t.Fatalf("refresh after revoke-sessions: %d", status)
		}
		if status, tok = d.signIn(t, "ada@example.test", first, ""); status != http.StatusOK {
			t.Fatalf("sign-in after revoke-sessions: %d", status)
		}
		if status, tok = d.refresh(t, tok.refresh); status != http.StatusOK {
			t.Fatalf("refresh of the new session: %d", status)
		}

		// A new password: the old one and the old session stop working.
		d.owner(t, second+"\n", "user", "set-password", "--id", userID, "--password-stdin")
		if status, _ := d.refresh(t, tok.refresh); status != http.StatusBadRequest {
			t.Fatalf("refresh after set-password: %d", status)
		}
		if status, _ := d.signIn(t, "ada@example.test", first, ""); status != http.StatusUnauthorized {
			t.Fatalf("the old password still signs in: %d", status)
		}
		if status, _ := d.signIn(t, "ada@example.test", second, ""); status != http.StatusOK {
			t.Fatalf("the new password does not sign in: %d", status)
		}

		// A second factor enrolled again: a new URI, a code is needed again.
		again := cliObject(t, d.owner(t, "", "user", "totp", "enroll", "--id", userID))
		againURI, _ := url.Parse(dirString(again, "totpUri"))
		if againURI == nil || againURI.Query().Get("secret") == "" || againURI.Query().Get("secret") == totpSecret {
			t.Fatalf("totp enroll: %v", again)
		}
		c.values = append(c.values, againURI.Query().Get("secret"))
		if status, _ := d.signIn(t, "ada@example.test", second, ""); status != http.StatusUnauthorized {
			t.Fatalf("signed in without the new code: %d", status)
		}

		// Members removed: the identity loses the group's role.
		d.wantMembers(t, cliObject(t, d.owner(t, "", "group", "member", "remove", "-g", groupID, "--member-id", miPrincipal)), userID)
		d.wantMembers(t, cliObject(t, d.owner(t, "", "group", "member", "remove", "-g", groupID, "--member-id", strings.ToUpper(userID))))
		cliWantFailure(t, asMI("secret", "show", "-n", "cli-directory"), 1, "Forbidden")
		if groups := dirClaim(t, c, miClient, miSecret, "groups"); len(groups) != 0 {
			t.Fatalf("the identity's token still has groups %v", groups)
		}

		// Deletions: a deleted user leaves its groups and cannot sign in; a
		// deleted identity gets no token; a deleted group is gone.
		d.owner(t, "", "group", "member", "add", "-g", groupID, "--member-id", userID)
		d.owner(t, "", "user", "delete", "--id", "ada@example.test")
		d.fails(t, "", 1, []string{"NotFound (404)"}, "user", "show", "--id", userID)
		d.wantUsers(t)
		d.wantMembers(t, cliObject(t, d.owner(t, "", "group", "show", "-g", groupID)))
		if status, _ := d.signIn(t, "ada@example.test", second, ""); status != http.StatusUnauthorized {
			t.Fatalf("a deleted user signs in: %d", status)
		}
		d.owner(t, "", "identity", "delete", "--id", miClient)
		d.fails(t, "", 1, []string{"NotFound (404)"}, "identity", "show", "--id", miClient)
		if code := tokenStatus(t, c.srv, miClient, miSecret); code != http.StatusUnauthorized {
			t.Fatalf("a deleted identity still gets a token: %d", code)
		}
		d.owner(t, "", "group", "delete", "-g", groupID)
		d.fails(t, "", 1, []string{"NotFound (404)"}, "group", "show", "-g", groupID)
		if n := len(cliArray(t, d.owner(t, "", "group", "list"))); n != 0 {
			t.Fatalf("group list after delete: %d groups", n)
		}
		if n := len(cliArray(t, d.owner(t, "", "role", "assignment", "list", "--assignee", groupID))); n != 0 {
			t.Fatalf("the deleted group keeps %d role assignments", n)
		}
	})
}

// dirEnv runs the directory commands as the dev server's administrator and
// checks that no run prints a password.
type dirEnv struct {
	*cliEnv
}

// owner runs keyhaven with stdin as the administrator and requires exit 0.
func (d *dirEnv) owner(t *testing.T, stdin string, args ...string) cliResult {
	t.Helper()
	res := d.call(t, cliCall{args: args, stdin: stdin})
	if res.code != 0 {
		t.Fatalf("want exit 0:\n%s", res)
	}
	d.noPasswords(t, res)
	return res
}

// fails runs keyhaven with stdin and requires exit code code and stderr
// holding every string of want.
func (d *dirEnv) fails(t *testing.T, stdin string, code int, want []string, args ...string) {
	t.Helper()
	res := cliWantFailure(t, d.call(t, cliCall{args: args, stdin: stdin}), code, want...)
	d.noPasswords(t, res)
	if stdin != "" && strings.Contains(res.stderr, strings.TrimSpace(stdin)) {
		t.Errorf("stderr shows the password read from stdin:\n%s", res)
	}
}

// noPasswords fails when stdout shows a password (stderr is checked by
// cliEnv for every stored value).
func (d *dirEnv) noPasswords(t *testing.T, res cliResult) {
	t.Helper()
	for _, v := range d.values {
		if strings.Contains(v, "-password-") && strings.Contains(res.stdout, v) {
			t.Errorf("stdout shows a password:\n%s", res)
		}
	}
}

func (d *dirEnv) wantUsers(t *testing.T, upns ...string) {
	t.Helper()
	if got := dirField(cliArray(t, d.owner(t, "", "user", "list")), "userPrincipalName"); !slices.Equal(got, upns) {
		t.Fatalf("users %v, want %v", got, upns)
	}
}

// wantMembers checks a printed group's members, in order.
func (d *dirEnv) wantMembers(t *testing.T, group map[string]any, ids ...string) {
	t.Helper()
	var got []string
	members, _ := group["members"].([]any)
	for _, m := range members {
		got = append(got, m.(string))
	}
	if !slices.Equal(got, ids) {
		t.Fatalf("members %v, want %v", got, ids)
	}
}

// dirTokens are what a person's sign-in yields.
type dirTokens struct{ access, refresh string }

// signIn signs a person in with the device-code flow of keyhaven's public
// client, as keyhaven login does: it returns the sign-in page's status and,
// when that is 200, the tokens.
func (d *dirEnv) signIn(t *testing.T, upn, password, otp string) (int, dirTokens) {
	t.Helper()
	var dc struct {
		DeviceCode string `json:"device_code"`
		UserCode   string `json:"user_code"`
	}
	if status := d.post(t, "/"+d.srv.Info.TenantID+"/oauth2/v2.0/devicecode", url.Values{"client_id": {identity.PublicClientID},
		"scope": {"https://vault.localhost/.default"}}, &dc); status != http.StatusOK || dc.DeviceCode == "" {
		t.Fatalf("device code: %d", status)
	}
	status := d.post(t, "/devicelogin", url.Values{"user_code": {dc.UserCode}, "username": {upn}, "password": {password}, "otp": {otp}}, nil)
	if status != http.StatusOK {
		return status, dirTokens{}
	}
	tok, code := d.token(t, url.Values{"grant_type": {"urn:ietf:params:oauth:grant-type:device_code"}, "device_code": {dc.DeviceCode}})
	if code != http.StatusOK {
		t.Fatalf("device code grant after signing in: %d", code)
	}
	return status, tok
}

// refresh redeems a refresh token; it returns the status and new tokens.
func (d *dirEnv) refresh(t *testing.T, refresh string) (int, dirTokens) {
	t.Helper()
	tok, status := d.token(t, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {refresh}})
	return status, tok
}

func (d *dirEnv) token(t *testing.T, form url.Values) (dirTokens, int) {
	t.Helper()
	form.Set("client_id", identity.PublicClientID)
	var out struct {
		AccessToken  string `json:"access_token"`
		RefreshToken string `json:"refresh_token"`
	}
	status := d.post(t, "/"+d.srv.Info.TenantID+"/oauth2/v2.0/token", form, &out)
	return dirTokens{access: out.AccessToken, refresh: out.RefreshToken}, status
}

// post sends a form to the authority and decodes a 200 answer into out.
func (d *dirEnv) post(t *testing.T, path string, form url.Values, out any) int {
	t.Helper()
	resp, err := d.srv.Client.PostForm(d.srv.Info.AuthorityHost+path, form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode == http.StatusOK && out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			t.Fatalf("POST %s: %v", path, err)
		}
	}
	return resp.StatusCode
}

// dirTOTP returns the current one-time code of a base32 TOTP secret.
func dirTOTP(t *testing.T, secret string) string {
	t.Helper()
	code, err := identity.TOTPCode(secret, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return code
}

// dirClaim returns a list claim of a fresh client-credentials token.
func dirClaim(t *testing.T, c *cliEnv, clientID, secret, claim string) []string {
	t.Helper()
	tok := (&raw{t: t, srv: c.srv}).fetchToken(clientID, secret, "https://vault.localhost/.default")
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		t.Fatalf("the token is not a JWT")
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var claims map[string]any
	if err := json.Unmarshal(payload, &claims); err != nil {
		t.Fatal(err)
	}
	var out []string
	list, _ := claims[claim].([]any)
	for _, v := range list {
		out = append(out, v.(string))
	}
	return out
}

// dirField returns field of every item, in order.
func dirField(items []map[string]any, field string) []string {
	out := []string{}
	for _, it := range items {
		s, _ := it[field].(string)
		out = append(out, s)
	}
	return out
}

func dirString(m map[string]any, key string) string {
	s, _ := m[key].(string)
	return s
}
