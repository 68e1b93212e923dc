package cli

import (
	"bytes"
	"os"
	"strings"
	"testing"
)

const (
	dirUserID   = "33333333-3333-4333-8333-333333333333"
	dirGroupID  = "44444444-4444-4444-8444-444444444444"
	dirMIID     = "55555555-5555-4555-8555-555555555555"
	dirMIObject = "66666666-6666-4666-8666-666666666666"
	dirPassword = "correct horse battery staple"
	dirTOTPURI  = "otpauth://totp/keyhaven:ada@example.com?secret=JBSWY3DPEHPK3PXP"
	dirMISecret = "mi-very-secret-value"
	dirUserJSON = `{"objectId":"` + dirUserID + `","userPrincipalName":"ada@example.com","displayName":"Ada",
	  "mfaEnrolled":false,"createdDateTime":"2030-01-02T03:04:05Z"}`
	dirUserOut   = `{"objectId":"` + dirUserID + `","userPrincipalName":"ada@example.com","displayName":"Ada","mfaEnrolled":false,"createdDateTime":"2030-01-02T03:04:05+00:00"}`
	dirGroupJSON = `{"objectId":"` + dirGroupID + `","displayName":"payments","members":["` + dirUserID + `","` + dirMIObject + `"]}`
	dirGroupOut  = dirGroupJSON
	dirMIJSON    = `{"appId":"` + dirMIID + `","objectId":"` + dirMIObject + `","displayName":"web-host","kind":"ManagedIdentity",
	  "credentials":[{"id":"c1","type":"secret","hint":"mi-","expires":"2030-01-02T03:04:05Z"}]}`
	dirMIOut = `{"clientId":"` + dirMIID + `","principalId":"` + dirMIObject + `","name":"web-host",
	  "credentials":[{"keyId":"c1","type":"secret","hint":"mi-","thumbprint":null,"endDateTime":"2030-01-02T03:04:05+00:00"}]}`
)

// dirRoute is one answer of the fake server.
type dirRoute struct {
	key    string // "METHOD /path"
	status int
	body   string
}

func TestDirectoryCommands(t *testing.T) {
	userPath := "/identity/users/" + dirUserID
	groupPath := "/identity/groups/" + dirGroupID
	miPath := "/identity/managedIdentities/" + dirMIID
	tests := []struct {
		name      string
		args      []string
		stdin     string
		routes    []dirRoute
		wantReqs  []vaultRequest
		wantOut   string // JSON; "" means nothing printed
		wantNotes string // on stderr
	}{
		{name: "user create: the password from stdin, only in the body",
			args: []string{"user", "create", "--upn", "ada@example.com", "--display-name", "Ada", "--password-stdin"}, stdin: dirPassword + "\n",
			routes:   []dirRoute{{"POST /identity/users", 201, dirUserJSON}},
			wantReqs: []vaultRequest{{Method: "POST", Path: "/identity/users", Body: `{"displayName":"Ada","password":"` + dirPassword + `","userPrincipalName":"ada@example.com"}`}},
			wantOut:  dirUserOut},
		{name: "user create without a display name leaves it to the server",
			args: []string{"user", "create", "--upn", "ada@example.com", "--password-stdin"}, stdin: dirPassword,
			routes:   []dirRoute{{"POST /identity/users", 201, strings.Replace(dirUserJSON, `"Ada"`, `"ada@example.com"`, 1)}},
			wantReqs: []vaultRequest{{Method: "POST", Path: "/identity/users", Body: `{"password":"` + dirPassword + `","userPrincipalName":"ada@example.com"}`}},
			wantOut:  strings.Replace(dirUserOut, `"Ada"`, `"ada@example.com"`, 1)},
		{name: "user create with --enroll-totp prints the URI once and says so",
			args: []string{"user", "create", "--user-principal-name", "ada@example.com", "--display-name", "Ada", "--password-stdin", "--enroll-totp"}, stdin: dirPassword + "\r\n",
			routes: []dirRoute{{"POST /identity/users", 201, strings.Replace(strings.Replace(dirUserJSON, `"mfaEnrolled":false`, `"mfaEnrolled":true`, 1),
				`"displayName"`, `"totpUri":"`+dirTOTPURI+`","displayName"`, 1)}},
			wantReqs:  []vaultRequest{{Method: "POST", Path: "/identity/users", Body: `{"displayName":"Ada","enrollTotp":true,"password":"` + dirPassword + `","userPrincipalName":"ada@example.com"}`}},
			wantOut:   strings.Replace(strings.Replace(dirUserOut, `"mfaEnrolled":false`, `"mfaEnrolled":true`, 1), `"displayName"`, `"totpUri":"`+dirTOTPURI+`","displayName"`, 1),
			wantNotes: "shown only this once"},
		{name: "user list with a display name prefix",
			args:     []string{"user", "list", "--display-name", "ad"},
			routes:   []dirRoute{{"GET /identity/users", 200, `{"value":[` + dirUserJSON + `,` + strings.Replace(dirUserJSON, `"Ada"`, `"Bob"`, 1) + `]}`}},
			wantReqs: []vaultRequest{{Method: "GET", Path: "/identity/users"}},
			wantOut:  `[` + dirUserOut + `]`},
		{name: "user show by user principal name",
			args:     []string{"user", "show", "--id", "ada@example.com"},
			routes:   []dirRoute{{"GET /identity/users/ada@example.com", 200, dirUserJSON}},
			wantReqs: []vaultRequest{{Method: "GET", Path: "/identity/users/ada@example.com"}},
			wantOut:  dirUserOut},
		{name: "user set-password",
			args: []string{"user", "set-password", "--id", dirUserID, "--password-stdin"}, stdin: dirPassword,
			routes:   []dirRoute{{"POST " + userPath + "/password", 204, ""}},
			wantReqs: []vaultRequest{{Method: "POST", Path: userPath + "/password", Body: `{"password":"` + dirPassword + `"}`}}},
		{name: "user totp enroll",
			args:     []string{"user", "totp", "enroll", "--id", dirUserID},
			routes:   []dirRoute{{"POST " + userPath + "/totp", 200, `{"totpUri":"` + dirTOTPURI + `"}`}},
			wantReqs: []vaultRequest{{Method: "POST", Path: userPath + "/totp"}},
			wantOut:  `{"totpUri":"` + dirTOTPURI + `"}`, wantNotes: "shown only this once"},
		{name: "user totp remove",
			args:     []string{"user", "totp", "remove", "--id", dirUserID},
			routes:   []dirRoute{{"DELETE " + userPath + "/totp", 204, ""}},
			wantReqs: []vaultRequest{{Method: "DELETE", Path: userPath + "/totp"}}},
		{name: "user revoke-sessions",
			args:     []string{"user", "revoke-sessions", "--id", dirUserID},
			routes:   []dirRoute{{"POST " + userPath + "/revokeSessions", 204, ""}},
			wantReqs: []vaultRequest{{Method: "POST", Path: userPath + "/revokeSessions"}}},
		{name: "user delete",
			args:     []string{"user", "delete", "--id", dirUserID},
			routes:   []dirRoute{{"DELETE " + userPath, 204, ""}},
			wantReqs: []vaultRequest{{Method: "DELETE", Path: userPath}}},
		{name: "group create",
			args:     []string{"group", "create", "--display-name", "payments"},
			routes:   []dirRoute{{"POST /identity/groups", 201, `{"objectId":"` + dirGroupID + `","displayName":"payments","members":[]}`}},
			wantReqs: []vaultRequest{{Method: "POST", Path: "/identity/groups", Body: `{"displayName":"payments"}`}},
			wantOut:  `{"objectId":"` + dirGroupID + `","displayName":"payments","members":[]}`},
		{name: "group list",
			args:     []string{"group", "list"},
			routes:   []dirRoute{{"GET /identity/groups", 200, `{"value":[` + dirGroupJSON + `]}`}},
			wantReqs: []vaultRequest{{Method: "GET", Path: "/identity/groups"}},
			wantOut:  `[` + dirGroupOut + `]`},
		{name: "group show",
			args:     []string{"group", "show", "-g", dirGroupID},
			routes:   []dirRoute{{"GET " + groupPath, 200, dirGroupJSON}},
			wantReqs: []vaultRequest{{Method: "GET", Path: groupPath}},
			wantOut:  dirGroupOut},
		{name: "group delete",
			args:     []string{"group", "delete", "--group", dirGroupID},
			routes:   []dirRoute{{"DELETE " + groupPath, 204, ""}},
			wantReqs: []vaultRequest{{Method: "DELETE", Path: groupPath}}},
		{name: "group member add",
			args:     []string{"group", "member", "add", "-g", dirGroupID, "--member-id", dirMIObject},
			routes:   []dirRoute{{"POST " + groupPath + "/members", 200, dirGroupJSON}},
			wantReqs: []vaultRequest{{Method: "POST", Path: groupPath + "/members", Body: `{"objectId":"` + dirMIObject + `"}`}},
			wantOut:  dirGroupOut},
		{name: "group member remove (--member, as --member-id)",
			args:     []string{"group", "member", "remove", "--group", dirGroupID, "--member", dirUserID},
			routes:   []dirRoute{{"DELETE " + groupPath + "/members/" + dirUserID, 200, `{"objectId":"` + dirGroupID + `","displayName":"payments","members":["` + dirMIObject + `"]}`}},
			wantReqs: []vaultRequest{{Method: "DELETE", Path: groupPath + "/members/" + dirUserID}},
			wantOut:  `{"objectId":"` + dirGroupID + `","displayName":"payments","members":["` + dirMIObject + `"]}`},
		{name: "group member list names each member and its kind",
			args: []string{"group", "member", "list", "-g", dirGroupID},
			routes: []dirRoute{
				{"GET " + groupPath, 200, strings.Replace(dirGroupJSON, `"]}`, `","77777777-7777-4777-8777-777777777777"]}`, 1)},
				{"GET /identity/users", 200, `{"value":[` + dirUserJSON + `]}`},
				{"GET /identity/applications", 200, `{"value":[]}`},
				{"GET /identity/managedIdentities", 200, `{"value":[` + dirMIJSON + `]}`}},
			wantReqs: []vaultRequest{{Method: "GET", Path: groupPath}, {Method: "GET", Path: "/identity/users"},
				{Method: "GET", Path: "/identity/applications"}, {Method: "GET", Path: "/identity/managedIdentities"}},
			wantOut: `[{"objectId":"` + dirUserID + `","displayName":"Ada","principalType":"User","userPrincipalName":"ada@example.com","appId":null},
			  {"objectId":"` + dirMIObject + `","displayName":"web-host","principalType":"ManagedIdentity","userPrincipalName":null,"appId":"` + dirMIID + `"},
			  {"objectId":"77777777-7777-4777-8777-777777777777","displayName":null,"principalType":null,"userPrincipalName":null,"appId":null}]`},
		{name: "identity list",
			args:     []string{"identity", "list"},
			routes:   []dirRoute{{"GET /identity/managedIdentities", 200, `{"value":[` + dirMIJSON + `]}`}},
			wantReqs: []vaultRequest{{Method: "GET", Path: "/identity/managedIdentities"}},
			wantOut:  `[` + dirMIOut + `]`},
		{name: "identity show",
			args:     []string{"identity", "show", "--id", dirMIID},
			routes:   []dirRoute{{"GET " + miPath, 200, dirMIJSON}},
			wantReqs: []vaultRequest{{Method: "GET", Path: miPath}},
			wantOut:  dirMIOut},
		{name: "identity delete",
			args:     []string{"identity", "delete", "--id", dirMIID},
			routes:   []dirRoute{{"DELETE " + miPath, 204, ""}},
			wantReqs: []vaultRequest{{Method: "DELETE", Path: miPath}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, _ := useFakeIdentity(t)
			for _, r := range tt.routes {
				v.route(r.key, r.status, r.body)
			}
			args := append([]string{tt.args[0], "--url", v.srv.URL}, tt.args[1:]...)
			code, out, errOut := runCLI(t, tt.stdin, args...)
			if code != exitOK {
				t.Fatalf("exit %d: %s", code, errOut)
			}
			reqs := v.requests()
			if len(reqs) != len(tt.wantReqs) {
				t.Fatalf("requests %+v, want %+v", reqs, tt.wantReqs)
			}
			for i := range reqs {
				if reqs[i] != tt.wantReqs[i] {
					t.Errorf("request %d = %+v, want %+v", i, reqs[i], tt.wantReqs[i])
				}
			}
			if tt.wantNotes == "" && errOut != "" || !strings.Contains(errOut, tt.wantNotes) {
				t.Errorf("stderr %q, want %q", errOut, tt.wantNotes)
			}
			if strings.Contains(out+errOut, dirPassword) {
				t.Errorf("the password was printed:\n%s\n%s", out, errOut)
			}
			if tt.wantOut == "" {
				if out != "" {
					t.Errorf("stdout %q, want nothing", out)
				}
				return
			}
			wantJSON(t, out, tt.wantOut)
		})
	}
}

// identity create prints what keyhaven agent needs on stdout, the secret
// there only, and on stderr how to run the agent.
func TestIdentityCreatePrintsAgentConfiguration(t *testing.T) {
	v, _ := useFakeIdentity(t)
	v.route("POST /identity/managedIdentities", 201, strings.Replace(dirMIJSON, `"displayName"`, `"secret":"`+dirMISecret+`","tenantId":"t1","displayName"`, 1))
	code, out, errOut := runCLI(t, "", "identity", "create", "--url", v.srv.URL, "-n", "web-host")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	wantJSON(t, out, `{"clientId":"`+dirMIID+`","principalId":"`+dirMIObject+`","name":"web-host","tenantId":"t1",
	  "authorityHost":"`+v.srv.URL+`","clientSecret":"`+dirMISecret+`"}`)
	if reqs := v.requests(); len(reqs) != 1 || reqs[0].Body != `{"displayName":"web-host"}` {
		t.Errorf("requests %+v", reqs)
	}
	for _, want := range []string{"shown only this once", "AZURE_AUTHORITY_HOST=" + v.srv.URL, "AZURE_TENANT_ID=t1",
		"AZURE_CLIENT_ID=" + dirMIID, "keyhaven agent --client-secret-file", "--assignee " + dirMIObject} {
		if !strings.Contains(errOut, want) {
			t.Errorf("stderr lacks %q:\n%s", want, errOut)
		}
	}
	if strings.Contains(errOut, dirMISecret) {
		t.Errorf("stderr shows the secret:\n%s", errOut)
	}
	// A failed create prints no hint.
	v.route("POST /identity/managedIdentities", 400, `{"error":{"code":"BadParameter","message":"displayName must be 1-120 characters without line breaks."}}`)
	code, out, errOut = runCLI(t, "", "identity", "create", "--url", v.srv.URL, "--display-name", "x")
	if code != exitError || out != "" || strings.Contains(errOut, "keyhaven agent") || !strings.Contains(errOut, "BadParameter (400)") {
		t.Errorf("exit %d, stdout %q, stderr %q", code, out, errOut)
	}
}

func TestUserTableAndTSV(t *testing.T) {
	v, _ := useFakeIdentity(t)
	v.route("GET /identity/users", 200, `{"value":[`+dirUserJSON+`]}`)
	code, out, errOut := runCLI(t, "", "user", "list", "--url", v.srv.URL, "-o", "table")
	want := "CreatedDateTime            DisplayName    MfaEnrolled    ObjectId                              UserPrincipalName\n" +
		"-------------------------  -------------  -------------  ------------------------------------  -------------------\n" +
		"2030-01-02T03:04:05+00:00  Ada            False          " + dirUserID + "  ada@example.com\n"
	if code != exitOK || out != want {
		t.Errorf("exit %d %s\nstdout:\n%s\nwant:\n%s", code, errOut, out, want)
	}
	code, out, errOut = runCLI(t, "", "user", "list", "--url", v.srv.URL, "--query", "[].userPrincipalName", "-o", "tsv")
	if code != exitOK || out != "ada@example.com\n" {
		t.Errorf("exit %d %s, stdout %q", code, errOut, out)
	}
}

func TestDirectoryUsageErrors(t *testing.T) {
	create := []string{"user", "create", "--upn", "ada@example.com", "--display-name", "Ada"}
	tests := []struct {
		name    string
		args    []string
		stdin   string
		wantErr string
	}{
		{name: "user create without --password-stdin", args: create, stdin: dirPassword, wantErr: "--password-stdin is required"},
		{name: "a password flag does not exist", args: append(create, "--password", dirPassword), wantErr: "unknown flag: --password"},
		{name: "user create without --upn", args: []string{"user", "create", "--display-name", "Ada", "--password-stdin"}, stdin: dirPassword, wantErr: "--upn is required"},
		{name: "empty standard input", args: append(create, "--password-stdin"), stdin: "", wantErr: "standard input holds no password"},
		{name: "only a line break", args: append(create, "--password-stdin"), stdin: "\n", wantErr: "standard input holds no password"},
		{name: "two lines", args: append(create, "--password-stdin"), stdin: dirPassword + "\n" + dirPassword + "\n", wantErr: "a single line"},
		{name: "too much input", args: append(create, "--password-stdin"), stdin: strings.Repeat(dirPassword, 200), wantErr: "longer than any password"},
		{name: "--enroll-totp with -o none", args: append(create, "--password-stdin", "--enroll-totp", "-o", "none"), stdin: dirPassword, wantErr: "-o none would lose it"},
		{name: "set-password without --password-stdin", args: []string{"user", "set-password", "--id", dirUserID}, stdin: dirPassword, wantErr: "--password-stdin is required"},
		{name: "set-password without --id", args: []string{"user", "set-password", "--password-stdin"}, stdin: dirPassword, wantErr: "--id is required"},
		{name: "user show without --id", args: []string{"user", "show"}, wantErr: "--id is required"},
		{name: "user delete without --id", args: []string{"user", "delete"}, wantErr: "--id is required"},
		{name: "totp enroll with -o none", args: []string{"user", "totp", "enroll", "--id", dirUserID, "-o", "none"}, wantErr: "-o none would lose it"},
		{name: "totp remove without --id", args: []string{"user", "totp", "remove"}, wantErr: "--id is required"},
		{name: "revoke-sessions without --id", args: []string{"user", "revoke-sessions"}, wantErr: "--id is required"},
		{name: "group create without --display-name", args: []string{"group", "create"}, wantErr: "--display-name is required"},
		{name: "group show without --group", args: []string{"group", "show"}, wantErr: "--group is required"},
		{name: "member add without --member-id", args: []string{"group", "member", "add", "-g", dirGroupID}, wantErr: "--member-id is required"},
		{name: "member remove without --group", args: []string{"group", "member", "remove", "--member-id", dirUserID}, wantErr: "--group is required"},
		{name: "identity create without --name", args: []string{"identity", "create"}, wantErr: "--name is required"},
		{name: "identity show without --id", args: []string{"identity", "show"}, wantErr: "--id is required"},
		{name: "positional argument", args: []string{"user", "show", dirUserID}, wantErr: "unknown command"},
		{name: "unknown totp subcommand", args: []string{"user", "totp", "reset"}, wantErr: "unknown command"},
		{name: "unknown member subcommand", args: []string{"group", "member", "purge"}, wantErr: "unknown command"},
		{name: "bad output", args: []string{"identity", "list", "-o", "xml"}, wantErr: "invalid --output"},
		{name: "http server address", args: []string{"group", "list", "--url", "http://localhost:8443"}, wantErr: "want https://host[:port]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, _ := useFakeIdentity(t)
			code, out, errOut := runCLI(t, tt.stdin, tt.args...)
			if code != exitUsage || !strings.Contains(errOut, tt.wantErr) || !strings.HasPrefix(errOut, "error: ") {
				t.Errorf("exit %d, stderr %q; want %d and %q", code, errOut, exitUsage, tt.wantErr)
			}
			if strings.Contains(errOut, "horse") {
				t.Errorf("stderr %q shows the password", errOut)
			}
			if out != "" || len(v.requests()) != 0 {
				t.Errorf("stdout %q, %d requests; want none", out, len(v.requests()))
			}
		})
	}
}

// A terminal (any character device) on standard input is refused: what is
// typed there would be echoed.
func TestPasswordStdinRefusesATerminal(t *testing.T) {
	devNull, err := os.Open(os.DevNull)
	if err != nil {
		t.Fatal(err)
	}
	defer devNull.Close()
	v, _ := useFakeIdentity(t)
	var out, errOut bytes.Buffer
	code := run([]string{"user", "set-password", "--url", v.srv.URL, "--id", dirUserID, "--password-stdin"}, streams{in: devNull, out: &out, err: &errOut})
	if code != exitUsage || !strings.Contains(errOut.String(), "standard input is a terminal") || len(v.requests()) != 0 {
		t.Errorf("exit %d, stderr %q, %d requests", code, errOut.String(), len(v.requests()))
	}
}

func TestDirectoryServerErrorsExitOne(t *testing.T) {
	v, _ := useFakeIdentity(t)
	v.route("POST /identity/users", 400, `{"error":{"code":"BadParameter","message":"The password must have 12 to 256 characters."}}`)
	v.route("GET /identity/users/nobody@example.com", 404, `{"error":{"code":"NotFound","message":"User 'nobody@example.com' not found."}}`)
	v.route("POST /identity/groups/"+dirGroupID+"/members", 400, `{"error":{"code":"BadParameter","message":"The member is not a principal of this directory."}}`)
	v.route("GET /identity/managedIdentities", 403, `{"error":{"code":"AuthorizationFailed","message":"The client 'x' does not have authorization to perform action 'Keyhaven/identity/managedIdentities/read' over scope '/'."}}`)
	tests := []struct {
		args  []string
		stdin string
		want  string
	}{
		{args: []string{"user", "create", "--upn", "ada@example.com", "--display-name", "Ada", "--password-stdin", "--enroll-totp"}, stdin: "horse-short", want: "BadParameter (400): The password must have 12 to 256"},
		{args: []string{"user", "show", "--id", "nobody@example.com"}, want: "NotFound (404)"},
		{args: []string{"group", "member", "add", "-g", dirGroupID, "--member-id", dirUserID}, want: "not a principal of this directory"},
		{args: []string{"identity", "list"}, want: "AuthorizationFailed (403)"},
	}
	for _, tt := range tests {
		args := append([]string{tt.args[0], "--url", v.srv.URL}, tt.args[1:]...)
		code, out, errOut := runCLI(t, tt.stdin, args...)
		if code != exitError || out != "" || !strings.Contains(errOut, tt.want) {
			t.Errorf("%v: exit %d, stdout %q, stderr %q", tt.args, code, out, errOut)
		}
		if strings.Contains(errOut, "horse-short") || strings.Contains(errOut, "shown only this once") {
			t.Errorf("%v: stderr %q", tt.args, errOut)
		}
	}
}
