package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/keyhaven/keyhaven/pkg/client"
)

// The directory commands manage people, groups and managed identities:
// `keyhaven user` (like az ad user), `keyhaven group` (like az ad group)
// and `keyhaven identity` (like az identity). A password is read only from
// standard input, never from a flag, and never printed; an otpauth URI and
// a managed identity's client secret are printed once, on stdout, with a
// notice on stderr saying so.

// newUserCmd is `keyhaven user`, shaped like `az ad user`.
func newUserCmd(s streams) *cobra.Command {
	serverURL := new(string)
	cmd := newMgmtGroup("user", "Manage users: people who sign in with a password (like az ad user)",
		"Manage the users of a keyhaven server, like az ad user. A user signs in with a password\n"+
			"and, when enrolled, a one-time code from an authenticator app (TOTP). Passwords are read\n"+
			"from standard input with --password-stdin (never from a flag) and have 12 to 256\n"+
			"characters. A user is named by object id or user principal name (--id). A new user holds\n"+
			"no role: grant one with keyhaven role assignment create --assignee OBJECT_ID.\n\n"+mgmtLong, serverURL)
	totp := &cobra.Command{Use: "totp", Short: "Enroll or remove a user's one-time-code second factor", RunE: groupRunE}
	totp.AddCommand(newUserTOTPEnrollCmd(s, serverURL), newUserTOTPRemoveCmd(s, serverURL))
	cmd.AddCommand(newUserCreateCmd(s, serverURL), newUserListCmd(s, serverURL), newUserShowCmd(s, serverURL),
		newUserDeleteCmd(s, serverURL), newUserSetPasswordCmd(s, serverURL), totp, newUserRevokeSessionsCmd(s, serverURL))
	return cmd
}

// totpNotice follows an otpauth URI printed on stdout.
const totpNotice = "The totpUri is shown only this once and holds the user's TOTP secret: add it to the\n" +
	"user's authenticator app (for example as a QR code: qrencode -t ansiutf8 URI), then discard it."

func newUserCreateCmd(s streams, serverURL *string) *cobra.Command {
	var (
		upn, name, password string
		fromStdin, totp     bool
		enrolled            bool
	)
	cmd := newMgmtCmd(s, serverURL, mgmtOp{
		use: "create", short: "Create a user; the initial password is read from standard input",
		flags: func(cmd *cobra.Command) {
			cmd.Flags().StringVar(&upn, "upn", "", "user principal name, name@domain: the name the user signs in with")
			cmd.Flags().StringVar(&upn, "user-principal-name", "", "the same as --upn, as in az")
			_ = cmd.Flags().MarkHidden("user-principal-name")
			cmd.Flags().StringVar(&name, "display-name", "", "display name of the user (default: the user principal name)")
			passwordStdinFlag(cmd, &fromStdin)
			cmd.Flags().BoolVar(&totp, "enroll-totp", false, "enroll a TOTP second factor and print its otpauth URI (shown only once)")
		},
		prepare: func(cmd *cobra.Command) (err error) {
			if err := requireFlag("--upn", upn); err != nil {
				return err
			}
			if totp {
				if err := refuseNoOutput(cmd, "--enroll-totp"); err != nil {
					return err
				}
			}
			password, err = readPasswordStdin(s.in, fromStdin)
			return err
		},
		run: func(ctx context.Context, c *client.IdentityClient) (any, error) {
			u, err := c.CreateUser(ctx, upn, name, password, totp)
			if err != nil {
				return nil, err
			}
			enrolled = u.TOTPURI != ""
			return createdUserView(u), nil
		},
	})
	return withNotice(cmd, s, func() string {
		if enrolled {
			return totpNotice
		}
		return ""
	})
}

func newUserListCmd(s streams, serverURL *string) *cobra.Command {
	var prefix string
	return newMgmtCmd(s, serverURL, mgmtOp{
		use: "list", short: "List users",
		flags: func(cmd *cobra.Command) { displayNameFilterFlag(cmd, &prefix, "users") },
		run: func(ctx context.Context, c *client.IdentityClient) (any, error) {
			users, err := c.ListUsers(ctx)
			if err != nil {
				return nil, err
			}
			out := []any{}
			for _, u := range users {
				if hasPrefixFold(u.DisplayName, prefix) {
					out = append(out, userView(u))
				}
			}
			return out, nil
		},
	})
}

// userIDFlag binds the required --id of a user.
func userIDFlag(cmd *cobra.Command, id *string) {
	cmd.Flags().StringVar(id, "id", "", "the user's object id or user principal name")
}

// userOp is a subcommand that needs only the user's --id.
func userOp(s streams, serverURL *string, use, short string, run func(ctx context.Context, c *client.IdentityClient, id string) (any, error)) *cobra.Command {
	var id string
	return newMgmtCmd(s, serverURL, mgmtOp{
		use: use, short: short,
		flags:   func(cmd *cobra.Command) { userIDFlag(cmd, &id) },
		prepare: func(*cobra.Command) error { return requireFlag("--id", id) },
		run:     func(ctx context.Context, c *client.IdentityClient) (any, error) { return run(ctx, c, id) },
	})
}

func newUserShowCmd(s streams, serverURL *string) *cobra.Command {
	return userOp(s, serverURL, "show", "Show a user (never a password or TOTP secret)",
		func(ctx context.Context, c *client.IdentityClient, id string) (any, error) {
			u, err := c.GetUser(ctx, id)
			if err != nil {
				return nil, err
			}
			return userView(u), nil
		})
}

func newUserDeleteCmd(s streams, serverURL *string) *cobra.Command {
	return userOp(s, serverURL, "delete", "Delete a user, its role assignments and group memberships",
		func(ctx context.Context, c *client.IdentityClient, id string) (any, error) {
			return nil, c.DeleteUser(ctx, id)
		})
}

func newUserRevokeSessionsCmd(s streams, serverURL *string) *cobra.Command {
	return userOp(s, serverURL, "revoke-sessions", "Sign a user out everywhere: every refresh token stops working",
		func(ctx context.Context, c *client.IdentityClient, id string) (any, error) {
			return nil, c.RevokeUserSessions(ctx, id)
		})
}

func newUserTOTPRemoveCmd(s streams, serverURL *string) *cobra.Command {
	return userOp(s, serverURL, "remove", "Remove a user's second factor: the password alone then signs in",
		func(ctx context.Context, c *client.IdentityClient, id string) (any, error) {
			return nil, c.RemoveUserTOTP(ctx, id)
		})
}

func newUserSetPasswordCmd(s streams, serverURL *string) *cobra.Command {
	var (
		id, password string
		fromStdin    bool
	)
	return newMgmtCmd(s, serverURL, mgmtOp{
		use: "set-password", short: "Replace a user's password (read from standard input) and sign the user out everywhere",
		flags: func(cmd *cobra.Command) {
			userIDFlag(cmd, &id)
			passwordStdinFlag(cmd, &fromStdin)
		},
		prepare: func(*cobra.Command) (err error) {
			if err := requireFlag("--id", id); err != nil {
				return err
			}
			password, err = readPasswordStdin(s.in, fromStdin)
			return err
		},
		run: func(ctx context.Context, c *client.IdentityClient) (any, error) {
			return nil, c.SetUserPassword(ctx, id, password)
		},
	})
}

func newUserTOTPEnrollCmd(s streams, serverURL *string) *cobra.Command {
	var id string
	var enrolled bool
	cmd := newMgmtCmd(s, serverURL, mgmtOp{
		use: "enroll", short: "Enroll a new TOTP second factor (replacing any) and print its otpauth URI once",
		flags: func(cmd *cobra.Command) { userIDFlag(cmd, &id) },
		prepare: func(cmd *cobra.Command) error {
			if err := requireFlag("--id", id); err != nil {
				return err
			}
			return refuseNoOutput(cmd, "totp enroll")
		},
		run: func(ctx context.Context, c *client.IdentityClient) (any, error) {
			uri, err := c.EnrollUserTOTP(ctx, id)
			if err != nil {
				return nil, err
			}
			enrolled = true
			return map[string]any{"totpUri": uri}, nil
		},
	})
	return withNotice(cmd, s, func() string {
		if enrolled {
			return totpNotice
		}
		return ""
	})
}

// passwordStdinFlag binds --password-stdin.
func passwordStdinFlag(cmd *cobra.Command, v *bool) {
	cmd.Flags().BoolVar(v, "password-stdin", false, "read the password from standard input (required; a password is never a flag)")
}

// maxPasswordInput bounds what --password-stdin reads; the server takes
// passwords of at most 256 bytes.
const maxPasswordInput = 4 << 10

// readPasswordStdin reads a password from in: all of it, less one
// trailing line break. The password is never echoed, and no error quotes
// it. A terminal is refused, since what is typed there is echoed.
func readPasswordStdin(in io.Reader, fromStdin bool) (string, error) {
	if !fromStdin {
		return "", usageError{errors.New("--password-stdin is required: pipe the password on standard input (it is never taken from a flag)")}
	}
	if f, ok := in.(*os.File); ok {
		if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
			return "", usageError{errors.New("--password-stdin: standard input is a terminal, which would echo the password; pipe it in instead")}
		}
	}
	data, err := io.ReadAll(io.LimitReader(in, maxPasswordInput+1))
	if err != nil {
		return "", fmt.Errorf("--password-stdin: reading standard input: %w", err)
	}
	if len(data) > maxPasswordInput {
		return "", usageError{fmt.Errorf("--password-stdin: standard input holds more than %d bytes, longer than any password", maxPasswordInput)}
	}
	password := strings.TrimSuffix(strings.TrimSuffix(string(data), "\n"), "\r")
	switch {
	case password == "":
		return "", usageError{errors.New("--password-stdin: standard input holds no password")}
	case strings.ContainsAny(password, "\r\n"):
		return "", usageError{errors.New("--password-stdin: the password must be a single line")}
	}
	return password, nil
}

// refuseNoOutput refuses -o none for a command whose result is shown only
// once and would be lost.
func refuseNoOutput(cmd *cobra.Command, what string) error {
	if f, _ := cmd.Flags().GetString("output"); strings.EqualFold(f, "none") {
		return usageError{fmt.Errorf("%s prints an otpauth URI that is shown only once: -o none would lose it", what)}
	}
	return nil
}

// withNotice makes cmd print notice() on stderr after its output when
// that is not empty.
func withNotice(cmd *cobra.Command, s streams, notice func() string) *cobra.Command {
	run := cmd.RunE
	cmd.RunE = func(c *cobra.Command, args []string) error {
		if err := run(c, args); err != nil {
			return err
		}
		if n := notice(); n != "" {
			fmt.Fprintln(s.err, n)
		}
		return nil
	}
	return cmd
}

// displayNameFilterFlag binds a list's --display-name prefix filter.
func displayNameFilterFlag(cmd *cobra.Command, prefix *string, what string) {
	cmd.Flags().StringVar(prefix, "display-name", "", "only "+what+" whose display name starts with this (case-insensitive)")
}

func hasPrefixFold(s, prefix string) bool {
	return strings.HasPrefix(strings.ToLower(s), strings.ToLower(prefix))
}

// newGroupCmd is `keyhaven group`, shaped like `az ad group` and `az ad
// group member`.
func newGroupCmd(s streams) *cobra.Command {
	serverURL := new(string)
	cmd := newMgmtGroup("group", "Manage groups of users, applications and managed identities (like az ad group)",
		"Manage the groups of a keyhaven server, like az ad group. A group holds users, applications\n"+
			"and managed identities, named by object id (a managed identity's principalId); groups do\n"+
			"not nest. A role assigned to a group (keyhaven role assignment create --assignee GROUP_ID)\n"+
			"holds for its members, from their next token on.\n\n"+mgmtLong, serverURL)
	member := &cobra.Command{Use: "member", Short: "Manage a group's members (like az ad group member)", RunE: groupRunE}
	member.AddCommand(newGroupMemberAddCmd(s, serverURL), newGroupMemberRemoveCmd(s, serverURL), newGroupMemberListCmd(s, serverURL))
	cmd.AddCommand(newGroupCreateCmd(s, serverURL), newGroupListCmd(s, serverURL), newGroupShowCmd(s, serverURL),
		newGroupDeleteCmd(s, serverURL), member)
	return cmd
}

func newGroupCreateCmd(s streams, serverURL *string) *cobra.Command {
	var name string
	return newMgmtCmd(s, serverURL, mgmtOp{
		use: "create", short: "Create an empty group",
		flags: func(cmd *cobra.Command) {
			cmd.Flags().StringVar(&name, "display-name", "", "display name of the group")
		},
		prepare: func(*cobra.Command) error { return requireFlag("--display-name", name) },
		run: func(ctx context.Context, c *client.IdentityClient) (any, error) {
			g, err := c.CreateGroup(ctx, name)
			if err != nil {
				return nil, err
			}
			return groupView(g), nil
		},
	})
}

func newGroupListCmd(s streams, serverURL *string) *cobra.Command {
	var prefix string
	return newMgmtCmd(s, serverURL, mgmtOp{
		use: "list", short: "List groups",
		flags: func(cmd *cobra.Command) { displayNameFilterFlag(cmd, &prefix, "groups") },
		run: func(ctx context.Context, c *client.IdentityClient) (any, error) {
			groups, err := c.ListGroups(ctx)
			if err != nil {
				return nil, err
			}
			out := []any{}
			for _, g := range groups {
				if hasPrefixFold(g.DisplayName, prefix) {
					out = append(out, groupView(g))
				}
			}
			return out, nil
		},
	})
}

// groupFlag binds the required --group (-g) of a group, as in az.
func groupFlag(cmd *cobra.Command, id *string) {
	cmd.Flags().StringVarP(id, "group", "g", "", "the group's object id")
}

// groupOp is a subcommand that names a group and, with member, a member.
func groupOp(s streams, serverURL *string, use, short string, member bool,
	run func(ctx context.Context, c *client.IdentityClient, group, member string) (any, error)) *cobra.Command {
	var group, memberID string
	return newMgmtCmd(s, serverURL, mgmtOp{
		use: use, short: short,
		flags: func(cmd *cobra.Command) {
			groupFlag(cmd, &group)
			if member {
				cmd.Flags().StringVar(&memberID, "member-id", "", "the member's object id (a user's objectId, an application's objectId, a managed identity's principalId)")
				cmd.Flags().StringVar(&memberID, "member", "", "the same as --member-id")
			}
		},
		prepare: func(*cobra.Command) error {
			if err := requireFlag("--group", group); err != nil || !member {
				return err
			}
			return requireFlag("--member-id", memberID)
		},
		run: func(ctx context.Context, c *client.IdentityClient) (any, error) { return run(ctx, c, group, memberID) },
	})
}

func newGroupShowCmd(s streams, serverURL *string) *cobra.Command {
	return groupOp(s, serverURL, "show", "Show a group and its members' object ids", false,
		func(ctx context.Context, c *client.IdentityClient, group, _ string) (any, error) {
			g, err := c.GetGroup(ctx, group)
			if err != nil {
				return nil, err
			}
			return groupView(g), nil
		})
}

func newGroupDeleteCmd(s streams, serverURL *string) *cobra.Command {
	return groupOp(s, serverURL, "delete", "Delete a group and its role assignments (its members stay)", false,
		func(ctx context.Context, c *client.IdentityClient, group, _ string) (any, error) {
			return nil, c.DeleteGroup(ctx, group)
		})
}

func newGroupMemberAddCmd(s streams, serverURL *string) *cobra.Command {
	return groupOp(s, serverURL, "add", "Add a user, application or managed identity to a group", true,
		func(ctx context.Context, c *client.IdentityClient, group, member string) (any, error) {
			g, err := c.AddGroupMember(ctx, group, member)
			if err != nil {
				return nil, err
			}
			return groupView(g), nil
		})
}

func newGroupMemberRemoveCmd(s streams, serverURL *string) *cobra.Command {
	return groupOp(s, serverURL, "remove", "Remove a member from a group", true,
		func(ctx context.Context, c *client.IdentityClient, group, member string) (any, error) {
			g, err := c.RemoveGroupMember(ctx, group, member)
			if err != nil {
				return nil, err
			}
			return groupView(g), nil
		})
}

func newGroupMemberListCmd(s streams, serverURL *string) *cobra.Command {
	return groupOp(s, serverURL, "list", "List a group's members with their names and kinds", false,
		func(ctx context.Context, c *client.IdentityClient, group, _ string) (any, error) {
			g, err := c.GetGroup(ctx, group)
			if err != nil {
				return nil, err
			}
			return groupMembersView(ctx, c, g)
		})
}

// groupMembersView describes each member of g as a user, an application or
// a managed identity; a member found in none of them (deleted meanwhile)
// keeps only its object id.
func groupMembersView(ctx context.Context, c *client.IdentityClient, g client.Group) ([]any, error) {
	known := map[string]map[string]any{}
	users, err := c.ListUsers(ctx)
	if err != nil {
		return nil, err
	}
	for _, u := range users {
		known[strings.ToLower(u.ObjectID)] = memberView(u.ObjectID, u.DisplayName, "User", u.UserPrincipalName, "")
	}
	for _, list := range []func(context.Context) ([]client.AppInfo, error){c.ListApplications, c.ListManagedIdentities} {
		apps, err := list(ctx)
		if err != nil {
			return nil, err
		}
		for _, a := range apps {
			known[strings.ToLower(a.ObjectID)] = memberView(a.ObjectID, a.DisplayName, a.Kind, "", a.AppID)
		}
	}
	out := make([]any, 0, len(g.Members))
	for _, id := range g.Members {
		v, ok := known[strings.ToLower(id)]
		if !ok {
			v = memberView(id, "", "", "", "")
		}
		out = append(out, v)
	}
	return out, nil
}

// newIdentityCmd is `keyhaven identity`, shaped like `az identity`.
func newIdentityCmd(s streams) *cobra.Command {
	serverURL := new(string)
	cmd := newMgmtGroup("identity", "Manage managed identities for workload hosts (like az identity)",
		"Manage the managed identities of a keyhaven server, like az identity. A managed identity\n"+
			"is a service principal for a workload host: keyhaven agent holds its client secret there\n"+
			"and answers the workload's ManagedIdentityCredential, so the workload holds no secret.\n"+
			"create prints what the agent needs, the client secret only this once; manage its\n"+
			"credentials with keyhaven app credential --id CLIENT_ID. A new identity holds no role:\n"+
			"grant one with keyhaven role assignment create --assignee PRINCIPAL_ID.\n\n"+mgmtLong, serverURL)
	cmd.AddCommand(newIdentityCreateCmd(s, serverURL), newIdentityListCmd(s, serverURL), newIdentityShowCmd(s, serverURL),
		newIdentityDeleteCmd(s, serverURL))
	return cmd
}

func newIdentityCreateCmd(s streams, serverURL *string) *cobra.Command {
	var name string
	var created *client.CreatedApplication
	var authority string
	cmd := newMgmtCmd(s, serverURL, mgmtOp{
		use: "create", short: "Create a managed identity and print the agent's configuration (the client secret once)",
		flags: func(cmd *cobra.Command) {
			cmd.Flags().StringVarP(&name, "name", "n", "", "name (display name) of the identity")
			cmd.Flags().StringVar(&name, "display-name", "", "the same as --name")
			_ = cmd.Flags().MarkHidden("display-name")
		},
		prepare: func(*cobra.Command) error { return requireFlag("--name", name) },
		run: func(ctx context.Context, c *client.IdentityClient) (any, error) {
			mi, err := c.CreateManagedIdentity(ctx, name)
			if err != nil {
				return nil, err
			}
			created, authority = &mi, c.ServerURL()
			return createdIdentityView(mi, authority), nil
		},
	})
	return withNotice(cmd, s, func() string {
		if created == nil {
			return ""
		}
		return agentHint(*created, authority)
	})
}

// agentHint says how to run keyhaven agent for a new identity; it never
// holds the secret.
func agentHint(mi client.CreatedApplication, authority string) string {
	return "The clientSecret is shown only this once. On the workload's host, store it in a file\n" +
		"only the agent can read and run:\n\n" +
		"  AZURE_AUTHORITY_HOST=" + authority + " AZURE_TENANT_ID=" + mi.TenantID + " AZURE_CLIENT_ID=" + mi.AppID + " \\\n" +
		"    keyhaven agent --client-secret-file FILE\n\n" +
		"then start the workload with the IDENTITY_ENDPOINT and IDENTITY_HEADER the agent prints. The identity\n" +
		"holds no role yet: keyhaven role assignment create --assignee " + mi.ObjectID + " --role ROLE --scope SCOPE"
}

func newIdentityListCmd(s streams, serverURL *string) *cobra.Command {
	var prefix string
	return newMgmtCmd(s, serverURL, mgmtOp{
		use: "list", short: "List managed identities",
		flags: func(cmd *cobra.Command) { displayNameFilterFlag(cmd, &prefix, "identities") },
		run: func(ctx context.Context, c *client.IdentityClient) (any, error) {
			mis, err := c.ListManagedIdentities(ctx)
			if err != nil {
				return nil, err
			}
			out := []any{}
			for _, mi := range mis {
				if hasPrefixFold(mi.DisplayName, prefix) {
					out = append(out, identityView(mi))
				}
			}
			return out, nil
		},
	})
}

// identityOp is a subcommand that needs only the identity's --id.
func identityOp(s streams, serverURL *string, use, short string, run func(ctx context.Context, c *client.IdentityClient, id string) (any, error)) *cobra.Command {
	var id string
	return newMgmtCmd(s, serverURL, mgmtOp{
		use: use, short: short,
		flags:   func(cmd *cobra.Command) { cmd.Flags().StringVar(&id, "id", "", "the identity's client id") },
		prepare: func(*cobra.Command) error { return requireFlag("--id", id) },
		run:     func(ctx context.Context, c *client.IdentityClient) (any, error) { return run(ctx, c, id) },
	})
}

func newIdentityShowCmd(s streams, serverURL *string) *cobra.Command {
	return identityOp(s, serverURL, "show", "Show a managed identity and its credentials (never a secret)",
		func(ctx context.Context, c *client.IdentityClient, id string) (any, error) {
			mi, err := c.GetManagedIdentity(ctx, id)
			if err != nil {
				return nil, err
			}
			return identityView(mi), nil
		})
}

func newIdentityDeleteCmd(s streams, serverURL *string) *cobra.Command {
	return identityOp(s, serverURL, "delete", "Delete a managed identity: it can no longer get tokens",
		func(ctx context.Context, c *client.IdentityClient, id string) (any, error) {
			return nil, c.DeleteManagedIdentity(ctx, id)
		})
}

// The views below shape directory results as az prints its counterparts:
// `az ad user show` (userPrincipalName, displayName), `az ad group show`
// and `az identity show` (clientId, principalId, name, tenantId); object
// ids are "objectId", as in the app views.

func userView(u client.User) map[string]any {
	return map[string]any{
		"objectId":          u.ObjectID,
		"userPrincipalName": u.UserPrincipalName,
		"displayName":       u.DisplayName,
		"mfaEnrolled":       u.MFAEnrolled,
		"createdDateTime":   azTime(&u.Created),
	}
}

// createdUserView is the answer of `user create`: with a second factor,
// the only place but `user totp enroll` where an otpauth URI is printed.
func createdUserView(u client.CreatedUser) map[string]any {
	v := userView(u.User)
	if u.TOTPURI != "" {
		v["totpUri"] = u.TOTPURI
	}
	return v
}

func groupView(g client.Group) map[string]any {
	members := make([]any, 0, len(g.Members))
	for _, m := range g.Members {
		members = append(members, m)
	}
	return map[string]any{"objectId": g.ObjectID, "displayName": g.DisplayName, "members": members}
}

// memberView is one member of `group member list`; principalType is
// "User", "Application" or "ManagedIdentity" (null when unknown).
func memberView(objectID, displayName, principalType, upn, appID string) map[string]any {
	return map[string]any{
		"objectId":          objectID,
		"displayName":       orNil(displayName),
		"principalType":     orNil(principalType),
		"userPrincipalName": orNil(upn),
		"appId":             orNil(appID),
	}
}

func identityView(a client.AppInfo) map[string]any {
	return map[string]any{
		"clientId":    a.AppID,
		"principalId": a.ObjectID,
		"name":        a.DisplayName,
		"credentials": credentialsView(a.Credentials),
	}
}

// createdIdentityView is the answer of `identity create`: what keyhaven
// agent needs on the workload's host, the only place where the identity's
// first secret is printed.
func createdIdentityView(a client.CreatedApplication, authority string) map[string]any {
	return map[string]any{
		"clientId":      a.AppID,
		"principalId":   a.ObjectID,
		"name":          a.DisplayName,
		"tenantId":      a.TenantID,
		"authorityHost": authority,
		"clientSecret":  a.Secret,
	}
}
