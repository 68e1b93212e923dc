package cli

import (
	"strings"
	"testing"
)

const (
	cliRoleID      = "4633458b-17de-408a-b874-0445c86b69e6"
	cliRoleDefs    = `{"value":[{"id":"` + cliRoleID + `","roleName":"Key Vault Secrets User","actions":[],"notActions":[],"dataActions":["Microsoft.KeyVault/vaults/secrets/getSecret/action"],"notDataActions":[]},{"id":"8e3af657-a8ff-443c-a75c-2fe8c4bcb635","roleName":"Owner","actions":["*"],"notActions":[],"dataActions":[],"notDataActions":[]}]}`
	cliAssignments = `{"value":[{"id":"a1","principalId":"` + cliObjectID + `","roleDefinitionId":"` + cliRoleID + `","roleName":"Key Vault Secrets User","scope":"/vaults/dev"},
	  {"id":"a2","principalId":"` + cliObjectID + `","roleDefinitionId":"8e3af657-a8ff-443c-a75c-2fe8c4bcb635","roleName":"Owner","scope":"/"}]}`
	cliA1Out = `{"id":"a1","name":"a1","principalId":"` + cliObjectID + `","roleDefinitionId":"` + cliRoleID + `","roleDefinitionName":"Key Vault Secrets User","scope":"/vaults/dev"}`
)

func TestRoleCommands(t *testing.T) {
	tests := []struct {
		name     string
		args     []string
		routes   map[string]string // "METHOD /path" → answer (status 200, 201 for POST, 204 when empty)
		wantReqs []vaultRequest
		wantOut  string
	}{
		{name: "definition list by name",
			args:     []string{"definition", "list", "--name", "key vault secrets user"},
			routes:   map[string]string{"GET /authorization/roleDefinitions": cliRoleDefs},
			wantReqs: []vaultRequest{{Method: "GET", Path: "/authorization/roleDefinitions"}},
			wantOut: `[{"id":"` + cliRoleID + `","name":"` + cliRoleID + `","roleName":"Key Vault Secrets User","permissions":[{"actions":[],"notActions":[],
			  "dataActions":["Microsoft.KeyVault/vaults/secrets/getSecret/action"],"notDataActions":[]}]}]`},
		{name: "assignment list for an assignee and a role",
			args:     []string{"assignment", "list", "--assignee", cliObjectID, "--role", "Key Vault Secrets User"},
			routes:   map[string]string{"GET /authorization/roleAssignments": cliAssignments},
			wantReqs: []vaultRequest{{Method: "GET", Path: "/authorization/roleAssignments", Query: "principalId=" + cliObjectID}},
			wantOut:  `[` + cliA1Out + `]`},
		{name: "assignment list at a scope",
			args:     []string{"assignment", "list", "--scope", "/subscriptions/s/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/dev"},
			routes:   map[string]string{"GET /authorization/roleAssignments": cliAssignments},
			wantReqs: []vaultRequest{{Method: "GET", Path: "/authorization/roleAssignments"}},
			wantOut:  `[` + cliA1Out + `]`},
		{name: "assignment create resolves an app id to its object id",
			args: []string{"assignment", "create", "--assignee", cliAppID, "--role", "Key Vault Secrets User", "--scope", "/vaults/dev"},
			routes: map[string]string{
				"GET /identity/applications":          `{"value":[` + cliAppJSON + `]}`,
				"POST /authorization/roleAssignments": `{"id":"a1","principalId":"` + cliObjectID + `","roleDefinitionId":"` + cliRoleID + `","roleName":"Key Vault Secrets User","scope":"/vaults/dev"}`,
			},
			wantReqs: []vaultRequest{
				{Method: "GET", Path: "/identity/applications"},
				{Method: "POST", Path: "/authorization/roleAssignments", Body: `{"principalId":"` + cliObjectID + `","roleName":"Key Vault Secrets User","scope":"/vaults/dev"}`},
			},
			wantOut: cliA1Out},
		{name: "assignment create with az-style role id and scope",
			args: []string{"assignment", "create", "--assignee", cliObjectID,
				"--role", "/subscriptions/s/providers/Microsoft.Authorization/roleDefinitions/" + cliRoleID,
				"--scope", "/subscriptions/s/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/dev/secrets/db"},
			routes: map[string]string{
				"GET /identity/applications":          `{"value":[]}`,
				"POST /authorization/roleAssignments": `{"id":"a3","principalId":"p","roleDefinitionId":"r","scope":"/vaults/dev/secrets/db"}`,
			},
			wantReqs: []vaultRequest{
				{Method: "GET", Path: "/identity/applications"},
				{Method: "POST", Path: "/authorization/roleAssignments", Body: `{"principalId":"` + cliObjectID + `","roleDefinitionId":"` + cliRoleID + `","scope":"/vaults/dev/secrets/db"}`},
			},
			wantOut: `{"id":"a3","name":"a3","principalId":"p","roleDefinitionId":"r","roleDefinitionName":null,"scope":"/vaults/dev/secrets/db"}`},
		{name: "assignment delete of several ids",
			args:   []string{"assignment", "delete", "--ids", "a1,a2"},
			routes: map[string]string{"DELETE /authorization/roleAssignments/a1": "", "DELETE /authorization/roleAssignments/a2": ""},
			wantReqs: []vaultRequest{
				{Method: "DELETE", Path: "/authorization/roleAssignments/a1"},
				{Method: "DELETE", Path: "/authorization/roleAssignments/a2"},
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, _ := useFakeIdentity(t)
			for route, body := range tt.routes {
				status := 200
				switch {
				case body == "":
					status = 204
				case strings.HasPrefix(route, "POST "):
					status = 201
				}
				v.route(route, status, body)
			}
			code, out, errOut := runCLI(t, "", append([]string{"role", "--url", v.srv.URL}, tt.args...)...)
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

func TestRoleAssignmentTable(t *testing.T) {
	v, _ := useFakeIdentity(t)
	v.route("GET /authorization/roleAssignments", 200, cliAssignments)
	code, out, errOut := runCLI(t, "", "role", "assignment", "list", "--url", v.srv.URL, "-o", "tsv", "--query", "[].[name, roleDefinitionName, scope]")
	if want := "a1\tKey Vault Secrets User\t/vaults/dev\na2\tOwner\t/\n"; code != exitOK || out != want {
		t.Errorf("exit %d %s\nstdout %q, want %q", code, errOut, out, want)
	}
}

func TestRoleUsageErrors(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		wantErr string
	}{
		{name: "create without --assignee", args: []string{"role", "assignment", "create", "--role", "Owner", "--scope", "/"}, wantErr: "--assignee is required"},
		{name: "create without --role", args: []string{"role", "assignment", "create", "--assignee", cliObjectID, "--scope", "/"}, wantErr: "--role is required"},
		{name: "create without --scope", args: []string{"role", "assignment", "create", "--assignee", cliObjectID, "--role", "Owner"}, wantErr: "--scope is required"},
		{name: "delete without --ids", args: []string{"role", "assignment", "delete"}, wantErr: "--ids is required"},
		{name: "unknown subcommand", args: []string{"role", "assignment", "frobnicate"}, wantErr: "unknown command"},
		{name: "bad query", args: []string{"role", "definition", "list", "--query", "[?"}, wantErr: "invalid --query"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, _ := useFakeIdentity(t)
			code, out, errOut := runCLI(t, "", tt.args...)
			if code != exitUsage || !strings.Contains(errOut, tt.wantErr) {
				t.Errorf("exit %d, stderr %q; want %d and %q", code, errOut, exitUsage, tt.wantErr)
			}
			if out != "" || len(v.requests()) != 0 {
				t.Errorf("stdout %q, %d requests; want none", out, len(v.requests()))
			}
		})
	}
}

// The server judges roles and scopes; its 400 exits 1 with its message.
func TestRoleServerRejectsExitsOne(t *testing.T) {
	v, _ := useFakeIdentity(t)
	v.route("GET /identity/applications", 200, `{"value":[]}`)
	v.route("POST /authorization/roleAssignments", 400, `{"error":{"code":"BadParameter","message":"scope must be /, /vaults/{vault} or /vaults/{vault}/{secrets|keys|certificates}/{name}."}}`)
	v.route("DELETE /authorization/roleAssignments/a2", 409, `{"error":{"code":"Conflict","message":"The last server-wide Owner assignment cannot be removed: assign another Owner first."}}`)
	code, out, errOut := runCLI(t, "", "role", "assignment", "create", "--url", v.srv.URL, "--assignee", cliObjectID, "--role", "Owner", "--scope", "/x")
	if code != exitError || out != "" || !strings.Contains(errOut, "BadParameter (400): scope must be") {
		t.Errorf("exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	code, out, errOut = runCLI(t, "", "role", "assignment", "delete", "--url", v.srv.URL, "--ids", "a2")
	if code != exitError || out != "" || !strings.Contains(errOut, "last server-wide Owner") {
		t.Errorf("exit %d, stdout %q, stderr %q", code, out, errOut)
	}
}
