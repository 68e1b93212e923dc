package client

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"
)

func newTestIdentityClient(t *testing.T, v *fakeVault, cred TokenCredential) *IdentityClient {
	t.Helper()
	c, err := NewIdentityClient("https://127.0.0.1:"+v.srv.port, "vault.localhost:"+v.srv.port, cred, &ClientOptions{RootCAs: v.srv.roots})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

const (
	testAppJSON = `{"appId":"11111111-1111-4111-8111-111111111111","objectId":"22222222-2222-4222-8222-222222222222",
	  "displayName":"billing","credentials":[{"id":"c1","type":"secret","hint":"abc","expires":"2030-01-02T03:04:05Z"},
	  {"id":"c2","type":"certificate","thumbprint":"ABCDEF","expires":"2031-01-02T03:04:05Z"}]}`
	testAppID  = "11111111-1111-4111-8111-111111111111"
	testRoleID = "4633458b-17de-408a-b874-0445c86b69e6"
)

// The client sends a token for the fixed scope with the first request: the
// authority host has no challenge to learn from.
func TestIdentityClientScopeAndRequests(t *testing.T) {
	v := newFakeVault(t)
	v.routes["POST /identity/applications"] = answer(201, strings.Replace(testAppJSON, `"displayName"`, `"secret":"s3cr3t","tenantId":"t1","displayName"`, 1))
	v.routes["GET /identity/applications"] = answer(200, `{"value":[`+testAppJSON+`]}`)
	v.routes["GET /identity/applications/"+testAppID] = answer(200, testAppJSON)
	v.routes["DELETE /identity/applications/"+testAppID] = answer(204, "")
	v.routes["POST /identity/applications/"+testAppID+"/secrets"] = answer(201, `{"id":"c3","type":"secret","hint":"xyz","expires":"2030-01-02T03:04:05Z","secret":"xyz-new"}`)
	v.routes["POST /identity/applications/"+testAppID+"/certificates"] = answer(201, `{"id":"c4","type":"certificate","thumbprint":"00FF","expires":"2030-01-02T03:04:05Z"}`)
	v.routes["DELETE /identity/applications/"+testAppID+"/credentials/c1"] = answer(204, "")
	cred := &fakeCredential{}
	c := newTestIdentityClient(t, v, cred)
	ctx := context.Background()

	created, err := c.CreateApplication(ctx, "billing")
	if err != nil {
		t.Fatal(err)
	}
	if created.AppID != testAppID || created.Secret != "s3cr3t" || created.TenantID != "t1" || len(created.Credentials) != 2 {
		t.Errorf("created = %+v", created)
	}
	apps, err := c.ListApplications(ctx)
	if err != nil || len(apps) != 1 || apps[0].Credentials[1].Thumbprint != "ABCDEF" {
		t.Fatalf("list = %+v, %v", apps, err)
	}
	app, err := c.GetApplication(ctx, testAppID)
	wantExp := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	if err != nil || app.ObjectID != "22222222-2222-4222-8222-222222222222" || !app.Credentials[0].Expires.Equal(wantExp) {
		t.Fatalf("get = %+v, %v", app, err)
	}
	sec, err := c.AddApplicationSecret(ctx, testAppID, 30)
	if err != nil || sec.Secret != "xyz-new" || sec.ID != "c3" {
		t.Fatalf("add secret = %+v, %v", sec, err)
	}
	if _, err := c.AddApplicationSecret(ctx, testAppID, 0); err != nil {
		t.Fatal(err)
	}
	cert, err := c.AddApplicationCertificate(ctx, testAppID, "-----BEGIN CERTIFICATE-----\nAA==\n-----END CERTIFICATE-----\n")
	if err != nil || cert.Thumbprint != "00FF" {
		t.Fatalf("add certificate = %+v, %v", cert, err)
	}
	if err := c.RemoveApplicationCredential(ctx, testAppID, "c1"); err != nil {
		t.Fatal(err)
	}
	if err := c.DeleteApplication(ctx, testAppID); err != nil {
		t.Fatal(err)
	}

	const auth = "Bearer tok-1"
	appPath := "/identity/applications/" + testAppID
	assertRequests(t, v.requests(), []recorded{
		{Method: "POST", Path: "/identity/applications", Auth: auth, Body: `{"displayName":"billing"}`},
		{Method: "GET", Path: "/identity/applications", Auth: auth},
		{Method: "GET", Path: appPath, Auth: auth},
		{Method: "POST", Path: appPath + "/secrets", Auth: auth, Body: `{"expiresInDays":30}`},
		{Method: "POST", Path: appPath + "/secrets", Auth: auth, Body: `{}`},
		{Method: "POST", Path: appPath + "/certificates", Auth: auth, Body: `{"certificate":"-----BEGIN CERTIFICATE-----\nAA==\n-----END CERTIFICATE-----\n"}`},
		{Method: "DELETE", Path: appPath + "/credentials/c1", Auth: auth},
		{Method: "DELETE", Path: appPath, Auth: auth},
	})
	wantTok := TokenRequest{Scope: "https://vault.localhost:" + v.srv.port + "/.default"}
	for _, r := range cred.reqs {
		if r != wantTok {
			t.Fatalf("token request %+v, want %+v", r, wantTok)
		}
	}
}

func TestIdentityClientRoles(t *testing.T) {
	v := newFakeVault(t)
	v.routes["GET /authorization/roleDefinitions"] = answer(200, `{"value":[{"id":"`+testRoleID+`","roleName":"Key Vault Secrets User",
	  "actions":[],"notActions":[],"dataActions":["Microsoft.KeyVault/vaults/secrets/getSecret/action"],"notDataActions":[]}]}`)
	v.routes["GET /authorization/roleAssignments"] = answer(200, `{"value":[{"id":"a1","principalId":"p1","roleDefinitionId":"`+testRoleID+`","roleName":"Key Vault Secrets User","scope":"/vaults/dev"}]}`)
	v.routes["POST /authorization/roleAssignments"] = answer(201, `{"id":"a2","principalId":"p1","roleDefinitionId":"`+testRoleID+`","roleName":"Key Vault Secrets User","scope":"/vaults/dev"}`)
	v.routes["DELETE /authorization/roleAssignments/a2"] = answer(204, "")
	c := newTestIdentityClient(t, v, &fakeCredential{})
	ctx := context.Background()

	defs, err := c.ListRoleDefinitions(ctx)
	if err != nil || len(defs) != 1 || defs[0].RoleName != "Key Vault Secrets User" || len(defs[0].DataActions) != 1 {
		t.Fatalf("definitions = %+v, %v", defs, err)
	}
	if as, err := c.ListRoleAssignments(ctx, ""); err != nil || len(as) != 1 || as[0].Scope != "/vaults/dev" {
		t.Fatalf("assignments = %+v, %v", as, err)
	}
	if _, err := c.ListRoleAssignments(ctx, "p 1&x"); err != nil {
		t.Fatal(err)
	}
	a, err := c.CreateRoleAssignment(ctx, "p1", "Key Vault Secrets User", "/vaults/dev")
	if err != nil || a.ID != "a2" || a.RoleDefinitionID != testRoleID {
		t.Fatalf("create = %+v, %v", a, err)
	}
	if _, err := c.CreateRoleAssignment(ctx, "p1", testRoleID, "/"); err != nil {
		t.Fatal(err)
	}
	if err := c.DeleteRoleAssignment(ctx, "a2"); err != nil {
		t.Fatal(err)
	}
	const auth = "Bearer tok-1"
	assertRequests(t, v.requests(), []recorded{
		{Method: "GET", Path: "/authorization/roleDefinitions", Auth: auth},
		{Method: "GET", Path: "/authorization/roleAssignments", Auth: auth},
		{Method: "GET", Path: "/authorization/roleAssignments", Query: "principalId=p+1%26x", Auth: auth},
		{Method: "POST", Path: "/authorization/roleAssignments", Auth: auth, Body: `{"principalId":"p1","roleName":"Key Vault Secrets User","scope":"/vaults/dev"}`},
		{Method: "POST", Path: "/authorization/roleAssignments", Auth: auth, Body: `{"principalId":"p1","roleDefinitionId":"` + testRoleID + `","scope":"/"}`},
		{Method: "DELETE", Path: "/authorization/roleAssignments/a2", Auth: auth},
	})
}

// A rejected token is dropped and the request retried once with a new one.
func TestIdentityClientRetriesARejectedToken(t *testing.T) {
	v := newFakeVault(t)
	v.routes["GET /identity/applications"] = answer(200, `{"value":[]}`)
	v.reject["tok-1"] = true
	cred := &fakeCredential{}
	c := newTestIdentityClient(t, v, cred)
	if _, err := c.ListApplications(context.Background()); err != nil {
		t.Fatal(err)
	}
	got := v.requests()
	if len(got) != 2 || got[0].Auth != "Bearer tok-1" || got[1].Auth != "Bearer tok-2" || cred.forgets != 1 {
		t.Fatalf("requests = %+v, forgets = %d", got, cred.forgets)
	}
	v.reject["tok-2"], v.reject["tok-3"] = true, true // a retry fails too
	_, err := c.ListApplications(context.Background())
	var re *ResponseError
	if !errors.As(err, &re) || re.StatusCode != http.StatusUnauthorized {
		t.Fatalf("err = %v, want a 401 ResponseError", err)
	}
}

func TestIdentityClientErrors(t *testing.T) {
	v := newFakeVault(t)
	v.routes["POST /authorization/roleAssignments"] = answer(400, `{"error":{"code":"BadParameter","message":"scope must be /, /vaults/{vault} or ..."}}`)
	v.routes["GET /identity/applications/"+testAppID] = answer(404, `{"error":{"code":"NotFound","message":"Application or credential not found."}}`)
	c := newTestIdentityClient(t, v, &fakeCredential{})
	ctx := context.Background()

	_, err := c.CreateRoleAssignment(ctx, "p1", "Owner", "/x")
	var re *ResponseError
	if !errors.As(err, &re) || re.StatusCode != 400 || re.Code != "BadParameter" {
		t.Fatalf("err = %v", err)
	}
	if _, err := c.GetApplication(ctx, testAppID); !errors.As(err, &re) || re.StatusCode != 404 {
		t.Fatalf("err = %v", err)
	}
	n := len(v.requests())
	local := []struct {
		name string
		call func() error
		want string
	}{
		{name: "empty app id", call: func() error { _, err := c.GetApplication(ctx, ""); return err }, want: "application id is required"},
		{name: "app id with a slash", call: func() error { return c.DeleteApplication(ctx, "../x") }, want: "invalid application id"},
		{name: "empty credential id", call: func() error { return c.RemoveApplicationCredential(ctx, testAppID, "") }, want: "credential id is required"},
		{name: "assignment id with a dot", call: func() error { return c.DeleteRoleAssignment(ctx, "..") }, want: "invalid role assignment id"},
		{name: "secret lifetime", call: func() error { _, err := c.AddApplicationSecret(ctx, testAppID, 731); return err }, want: "between 1 and 730"},
		{name: "no display name", call: func() error { _, err := c.CreateApplication(ctx, ""); return err }, want: "display name is required"},
		{name: "no certificate", call: func() error { _, err := c.AddApplicationCertificate(ctx, testAppID, ""); return err }, want: "certificate is required"},
	}
	for _, tc := range local {
		if err := tc.call(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want %q", tc.name, err, tc.want)
		}
	}
	if len(v.requests()) != n {
		t.Error("an invalid argument reached the server")
	}
}

func TestNewIdentityClient(t *testing.T) {
	cred := &fakeCredential{}
	tests := []struct {
		name, server, suffix, want string
	}{
		{name: "ok", server: "https://localhost:8443/", suffix: "https://vault.localhost:8443/"},
		{name: "http", server: "http://localhost:8443", suffix: "vault.localhost", want: "invalid server URL"},
		{name: "path", server: "https://localhost:8443/x", suffix: "vault.localhost", want: "invalid server URL"},
		{name: "no suffix", server: "https://localhost:8443", suffix: "", want: "invalid DNS suffix"},
		{name: "suffix with a path", server: "https://localhost:8443", suffix: "vault.localhost/x", want: "invalid DNS suffix"},
	}
	for _, tc := range tests {
		c, err := NewIdentityClient(tc.server, tc.suffix, cred, nil)
		switch {
		case tc.want == "" && (err != nil || c.ServerURL() != "https://localhost:8443" || c.api.p.scope != "https://vault.localhost:8443/.default"):
			t.Errorf("%s: %v", tc.name, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%s: err = %v, want %q", tc.name, err, tc.want)
		}
	}
	if _, err := NewIdentityClient("https://localhost:8443", "vault.localhost", nil, nil); err == nil {
		t.Error("nil credential accepted")
	}
}

const (
	testUserID   = "33333333-3333-4333-8333-333333333333"
	testGroupID  = "44444444-4444-4444-8444-444444444444"
	testMIID     = "55555555-5555-4555-8555-555555555555"
	testUserJSON = `{"objectId":"` + testUserID + `","userPrincipalName":"ada@example.com","displayName":"Ada",
	  "mfaEnrolled":true,"createdDateTime":"2030-01-02T03:04:05Z"}`
	testGroupJSON = `{"objectId":"` + testGroupID + `","displayName":"payments","members":["` + testUserID + `"]}`
	testMIJSON    = `{"appId":"` + testMIID + `","objectId":"66666666-6666-4666-8666-666666666666","displayName":"web-host",
	  "kind":"ManagedIdentity","credentials":[{"id":"c1","type":"secret","hint":"abc","expires":"2030-01-02T03:04:05Z"}]}`
)

// Users: every route, the password only in the body, a user addressed by
// object id or by user principal name.
func TestIdentityClientUsers(t *testing.T) {
	v := newFakeVault(t)
	const uri = "otpauth://totp/keyhaven:ada%40example.com?secret=ABC"
	v.routes["POST /identity/users"] = answer(201, strings.Replace(testUserJSON, `"displayName"`, `"totpUri":"`+uri+`","displayName"`, 1))
	v.routes["GET /identity/users"] = answer(200, `{"value":[`+testUserJSON+`]}`)
	v.routes["GET /identity/users/ada@example.com"] = answer(200, testUserJSON)
	v.routes["GET /identity/users/a?b#c%d@example.com"] = answer(200, testUserJSON)
	v.routes["DELETE /identity/users/"+testUserID] = answer(204, "")
	v.routes["POST /identity/users/"+testUserID+"/password"] = answer(204, "")
	v.routes["POST /identity/users/ada@example.com/totp"] = answer(200, `{"totpUri":"`+uri+`"}`)
	v.routes["DELETE /identity/users/"+testUserID+"/totp"] = answer(204, "")
	v.routes["POST /identity/users/"+testUserID+"/revokeSessions"] = answer(204, "")
	c := newTestIdentityClient(t, v, &fakeCredential{})
	ctx := context.Background()

	created, err := c.CreateUser(ctx, "ada@example.com", "Ada", "correct horse battery", true)
	if err != nil || created.ObjectID != testUserID || created.TOTPURI != uri || !created.MFAEnrolled {
		t.Fatalf("create = %+v, %v", created, err)
	}
	if _, err := c.CreateUser(ctx, "ada@example.com", "", "correct horse battery", false); err != nil {
		t.Fatal(err)
	}
	users, err := c.ListUsers(ctx)
	if err != nil || len(users) != 1 || users[0].UserPrincipalName != "ada@example.com" {
		t.Fatalf("list = %+v, %v", users, err)
	}
	u, err := c.GetUser(ctx, "ada@example.com")
	if wantCreated := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC); err != nil || u.DisplayName != "Ada" || !u.Created.Equal(wantCreated) {
		t.Fatalf("get = %+v, %v", u, err)
	}
	if err := c.SetUserPassword(ctx, testUserID, "a new long passphrase"); err != nil {
		t.Fatal(err)
	}
	if got, err := c.EnrollUserTOTP(ctx, "ada@example.com"); err != nil || got != uri {
		t.Fatalf("enroll = %q, %v", got, err)
	}
	for _, call := range []func(context.Context, string) error{c.RemoveUserTOTP, c.RevokeUserSessions, c.DeleteUser} {
		if err := call(ctx, testUserID); err != nil {
			t.Fatal(err)
		}
	}
	// URL delimiters in a user principal name are escaped, not obeyed.
	if _, err := c.GetUser(ctx, "a?b#c%d@example.com"); err != nil {
		t.Fatal(err)
	}
	const auth = "Bearer tok-1"
	userPath := "/identity/users/" + testUserID
	assertRequests(t, v.requests(), []recorded{
		{Method: "POST", Path: "/identity/users", Auth: auth, Body: `{"displayName":"Ada","enrollTotp":true,"password":"correct horse battery","userPrincipalName":"ada@example.com"}`},
		{Method: "POST", Path: "/identity/users", Auth: auth, Body: `{"password":"correct horse battery","userPrincipalName":"ada@example.com"}`},
		{Method: "GET", Path: "/identity/users", Auth: auth},
		{Method: "GET", Path: "/identity/users/ada@example.com", Auth: auth},
		{Method: "POST", Path: userPath + "/password", Auth: auth, Body: `{"password":"a new long passphrase"}`},
		{Method: "POST", Path: "/identity/users/ada@example.com/totp", Auth: auth},
		{Method: "DELETE", Path: userPath + "/totp", Auth: auth},
		{Method: "POST", Path: userPath + "/revokeSessions", Auth: auth},
		{Method: "DELETE", Path: userPath, Auth: auth},
		{Method: "GET", Path: "/identity/users/a?b#c%d@example.com", Auth: auth},
	})
}

func TestIdentityClientGroups(t *testing.T) {
	v := newFakeVault(t)
	groupPath := "/identity/groups/" + testGroupID
	v.routes["POST /identity/groups"] = answer(201, `{"objectId":"`+testGroupID+`","displayName":"payments","members":[]}`)
	v.routes["GET /identity/groups"] = answer(200, `{"value":[`+testGroupJSON+`]}`)
	v.routes["GET "+groupPath] = answer(200, testGroupJSON)
	v.routes["POST "+groupPath+"/members"] = answer(200, testGroupJSON)
	v.routes["DELETE "+groupPath+"/members/"+testUserID] = answer(200, `{"objectId":"`+testGroupID+`","displayName":"payments","members":[]}`)
	v.routes["DELETE "+groupPath] = answer(204, "")
	c := newTestIdentityClient(t, v, &fakeCredential{})
	ctx := context.Background()

	g, err := c.CreateGroup(ctx, "payments")
	if err != nil || g.ObjectID != testGroupID || g.Members == nil || len(g.Members) != 0 {
		t.Fatalf("create = %+v, %v", g, err)
	}
	if gs, err := c.ListGroups(ctx); err != nil || len(gs) != 1 || gs[0].Members[0] != testUserID {
		t.Fatalf("list = %+v, %v", gs, err)
	}
	if g, err := c.GetGroup(ctx, testGroupID); err != nil || g.DisplayName != "payments" {
		t.Fatalf("get = %+v, %v", g, err)
	}
	if g, err := c.AddGroupMember(ctx, testGroupID, testUserID); err != nil || len(g.Members) != 1 {
		t.Fatalf("add = %+v, %v", g, err)
	}
	if g, err := c.RemoveGroupMember(ctx, testGroupID, testUserID); err != nil || len(g.Members) != 0 {
		t.Fatalf("remove = %+v, %v", g, err)
	}
	if err := c.DeleteGroup(ctx, testGroupID); err != nil {
		t.Fatal(err)
	}
	const auth = "Bearer tok-1"
	assertRequests(t, v.requests(), []recorded{
		{Method: "POST", Path: "/identity/groups", Auth: auth, Body: `{"displayName":"payments"}`},
		{Method: "GET", Path: "/identity/groups", Auth: auth},
		{Method: "GET", Path: groupPath, Auth: auth},
		{Method: "POST", Path: groupPath + "/members", Auth: auth, Body: `{"objectId":"` + testUserID + `"}`},
		{Method: "DELETE", Path: groupPath + "/members/" + testUserID, Auth: auth},
		{Method: "DELETE", Path: groupPath, Auth: auth},
	})
}

func TestIdentityClientManagedIdentities(t *testing.T) {
	v := newFakeVault(t)
	miPath := "/identity/managedIdentities/" + testMIID
	v.routes["POST /identity/managedIdentities"] = answer(201, strings.Replace(testMIJSON, `"displayName"`, `"secret":"s3cr3t","tenantId":"t1","displayName"`, 1))
	v.routes["GET /identity/managedIdentities"] = answer(200, `{"value":[`+testMIJSON+`]}`)
	v.routes["GET "+miPath] = answer(200, testMIJSON)
	v.routes["DELETE "+miPath] = answer(204, "")
	c := newTestIdentityClient(t, v, &fakeCredential{})
	ctx := context.Background()

	mi, err := c.CreateManagedIdentity(ctx, "web-host")
	if err != nil || mi.AppID != testMIID || mi.Secret != "s3cr3t" || mi.TenantID != "t1" || mi.Kind != "ManagedIdentity" {
		t.Fatalf("create = %+v, %v", mi, err)
	}
	if mis, err := c.ListManagedIdentities(ctx); err != nil || len(mis) != 1 || mis[0].Credentials[0].Hint != "abc" {
		t.Fatalf("list = %+v, %v", mis, err)
	}
	if got, err := c.GetManagedIdentity(ctx, testMIID); err != nil || got.ObjectID != "66666666-6666-4666-8666-666666666666" {
		t.Fatalf("get = %+v, %v", got, err)
	}
	if err := c.DeleteManagedIdentity(ctx, testMIID); err != nil {
		t.Fatal(err)
	}
	const auth = "Bearer tok-1"
	assertRequests(t, v.requests(), []recorded{
		{Method: "POST", Path: "/identity/managedIdentities", Auth: auth, Body: `{"displayName":"web-host"}`},
		{Method: "GET", Path: "/identity/managedIdentities", Auth: auth},
		{Method: "GET", Path: miPath, Auth: auth},
		{Method: "DELETE", Path: miPath, Auth: auth},
	})
}

// Arguments that cannot be right, or would change the request path, fail
// before anything is sent; no error quotes a password.
func TestIdentityClientDirectoryErrors(t *testing.T) {
	v := newFakeVault(t)
	v.routes["POST /identity/users"] = answer(400, `{"error":{"code":"BadParameter","message":"The password must have 12 to 256 characters."}}`)
	v.routes["POST /identity/groups/"+testGroupID+"/members"] = answer(400, `{"error":{"code":"BadParameter","message":"The member is not a principal of this directory."}}`)
	c := newTestIdentityClient(t, v, &fakeCredential{})
	ctx := context.Background()

	_, err := c.CreateUser(ctx, "ada@example.com", "", "short-pw", false)
	var re *ResponseError
	if !errors.As(err, &re) || re.StatusCode != 400 || !strings.Contains(err.Error(), "12 to 256") || strings.Contains(err.Error(), "short-pw") {
		t.Fatalf("err = %v", err)
	}
	if _, err := c.AddGroupMember(ctx, testGroupID, testUserID); !errors.As(err, &re) || re.Code != "BadParameter" {
		t.Fatalf("err = %v", err)
	}
	n := len(v.requests())
	const pw = "a long enough password"
	local := []struct {
		name string
		call func() error
		want string
	}{
		{name: "no upn", call: func() error { _, err := c.CreateUser(ctx, "", "Ada", pw, false); return err }, want: "user principal name is required"},
		{name: "no password", call: func() error { _, err := c.CreateUser(ctx, "ada@example.com", "Ada", "", false); return err }, want: "password is required"},
		{name: "empty user id", call: func() error { _, err := c.GetUser(ctx, ""); return err }, want: "user id is required"},
		{name: "user id with a slash", call: func() error { return c.DeleteUser(ctx, "ada@example.com/../x") }, want: "invalid user id"},
		{name: "user id with a backslash", call: func() error { return c.RevokeUserSessions(ctx, `ada@example.com\..`) }, want: "invalid user id"},
		{name: "user id with a control character", call: func() error { return c.RevokeUserSessions(ctx, "ada\x00@example.com") }, want: "invalid user id"},
		{name: "user id with a dot segment", call: func() error { return c.RemoveUserTOTP(ctx, "..") }, want: "invalid user id"},
		{name: "user id with a space", call: func() error { _, err := c.EnrollUserTOTP(ctx, "ada lovelace@example.com"); return err }, want: "invalid user id"},
		{name: "set password without one", call: func() error { return c.SetUserPassword(ctx, testUserID, "") }, want: "password is required"},
		{name: "set password of a bad id", call: func() error { return c.SetUserPassword(ctx, "a/b", pw) }, want: "invalid user id"},
		{name: "no group name", call: func() error { _, err := c.CreateGroup(ctx, ""); return err }, want: "display name is required"},
		{name: "group id with a slash", call: func() error { _, err := c.GetGroup(ctx, "../x"); return err }, want: "invalid group id"},
		{name: "empty group id", call: func() error { return c.DeleteGroup(ctx, "") }, want: "group id is required"},
		{name: "empty member id", call: func() error { _, err := c.AddGroupMember(ctx, testGroupID, ""); return err }, want: "member id is required"},
		{name: "member id with a slash", call: func() error { _, err := c.RemoveGroupMember(ctx, testGroupID, "a/b"); return err }, want: "invalid member id"},
		{name: "member removed from a bad group", call: func() error { _, err := c.RemoveGroupMember(ctx, "a?b", testUserID); return err }, want: "invalid group id"},
		{name: "no identity name", call: func() error { _, err := c.CreateManagedIdentity(ctx, ""); return err }, want: "display name is required"},
		{name: "identity id with a dot", call: func() error { _, err := c.GetManagedIdentity(ctx, "a.b"); return err }, want: "invalid managed identity id"},
		{name: "empty identity id", call: func() error { return c.DeleteManagedIdentity(ctx, "") }, want: "managed identity id is required"},
	}
	for _, tc := range local {
		err := tc.call()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want %q", tc.name, err, tc.want)
		}
		if err != nil && strings.Contains(err.Error(), pw) {
			t.Errorf("%s: the error quotes the password", tc.name)
		}
	}
	if len(v.requests()) != n {
		t.Error("an invalid argument reached the server")
	}
}
