package cli

import (
	"context"
	"errors"
	"strings"

	"github.com/spf13/cobra"

	"github.com/keyhaven/keyhaven/pkg/client"
)

// newRoleCmd is `keyhaven role`, shaped like `az role definition` and
// `az role assignment`.
func newRoleCmd(s streams) *cobra.Command {
	serverURL := new(string)
	cmd := newMgmtGroup("role", "Manage role assignments (like az role)",
		"List the roles of a keyhaven server and grant them to principals, like az role.\n\n"+
			"A scope is / (the server), /vaults/VAULT or /vaults/VAULT/{secrets|keys|certificates}/NAME;\n"+
			"an Azure scope ending in /providers/Microsoft.KeyVault/vaults/VAULT[/...] is accepted too.\n"+
			"Roles are named (\"Key Vault Secrets User\") or given by id.\n\n"+mgmtLong, serverURL)
	def := &cobra.Command{Use: "definition", Short: "List role definitions (like az role definition)", RunE: groupRunE}
	def.AddCommand(newRoleDefinitionListCmd(s, serverURL))
	asg := &cobra.Command{Use: "assignment", Short: "Manage role assignments (like az role assignment)", RunE: groupRunE}
	asg.AddCommand(newRoleAssignmentListCmd(s, serverURL), newRoleAssignmentCreateCmd(s, serverURL), newRoleAssignmentDeleteCmd(s, serverURL))
	cmd.AddCommand(def, asg)
	return cmd
}

func newRoleDefinitionListCmd(s streams, serverURL *string) *cobra.Command {
	var name string
	return newMgmtCmd(s, serverURL, mgmtOp{
		use: "list", short: "List the roles the server knows",
		flags: func(cmd *cobra.Command) {
			cmd.Flags().StringVarP(&name, "name", "n", "", "only the role with this name or id")
		},
		run: func(ctx context.Context, c *client.IdentityClient) (any, error) {
			defs, err := c.ListRoleDefinitions(ctx)
			if err != nil {
				return nil, err
			}
			out := []any{}
			for _, d := range defs {
				if name == "" || strings.EqualFold(name, d.RoleName) || strings.EqualFold(lastSegment(name), d.ID) {
					out = append(out, roleDefinitionView(d))
				}
			}
			return out, nil
		},
	})
}

func newRoleAssignmentListCmd(s streams, serverURL *string) *cobra.Command {
	var assignee, role, scope string
	return newMgmtCmd(s, serverURL, mgmtOp{
		use: "list", short: "List role assignments",
		flags: func(cmd *cobra.Command) {
			cmd.Flags().StringVar(&assignee, "assignee", "", "only this principal's (object id)")
			cmd.Flags().StringVar(&role, "role", "", "only this role's (name or id)")
			cmd.Flags().StringVar(&scope, "scope", "", "only assignments at exactly this scope")
		},
		run: func(ctx context.Context, c *client.IdentityClient) (any, error) {
			as, err := c.ListRoleAssignments(ctx, assignee)
			if err != nil {
				return nil, err
			}
			out := []any{}
			for _, a := range as {
				if matchesRole(a, role) && (scope == "" || strings.EqualFold(normalizeScope(scope), a.Scope)) {
					out = append(out, roleAssignmentView(a))
				}
			}
			return out, nil
		},
	})
}

func matchesRole(a client.RoleAssignment, role string) bool {
	return role == "" || strings.EqualFold(role, a.RoleName) || strings.EqualFold(lastSegment(role), a.RoleDefinitionID)
}

func newRoleAssignmentCreateCmd(s streams, serverURL *string) *cobra.Command {
	var assignee, role, scope string
	return newMgmtCmd(s, serverURL, mgmtOp{
		use: "create", short: "Grant a role to a principal at a scope",
		flags: func(cmd *cobra.Command) {
			cmd.Flags().StringVar(&assignee, "assignee", "", "the principal: an application's object id (its app id works too)")
			cmd.Flags().StringVar(&role, "role", "", `role name ("Key Vault Secrets User") or id`)
			cmd.Flags().StringVar(&scope, "scope", "", "/, /vaults/VAULT or /vaults/VAULT/{secrets|keys|certificates}/NAME")
		},
		prepare: func(*cobra.Command) error {
			for _, f := range []struct{ name, v string }{{"--assignee", assignee}, {"--role", role}, {"--scope", scope}} {
				if err := requireFlag(f.name, f.v); err != nil {
					return err
				}
			}
			return nil
		},
		run: func(ctx context.Context, c *client.IdentityClient) (any, error) {
			principal, err := resolveAssignee(ctx, c, assignee)
			if err != nil {
				return nil, err
			}
			a, err := c.CreateRoleAssignment(ctx, principal, lastSegment(role), normalizeScope(scope))
			if err != nil {
				return nil, err
			}
			return roleAssignmentView(a), nil
		},
	})
}

// resolveAssignee returns the object id of the application whose object id
// or app id is assignee, or assignee itself when none matches (the server
// then judges it).
func resolveAssignee(ctx context.Context, c *client.IdentityClient, assignee string) (string, error) {
	apps, err := c.ListApplications(ctx)
	if err != nil {
		return "", err
	}
	for _, a := range apps {
		if strings.EqualFold(a.ObjectID, assignee) {
			return a.ObjectID, nil
		}
	}
	for _, a := range apps {
		if strings.EqualFold(a.AppID, assignee) {
			return a.ObjectID, nil
		}
	}
	return assignee, nil
}

func newRoleAssignmentDeleteCmd(s streams, serverURL *string) *cobra.Command {
	var ids []string
	return newMgmtCmd(s, serverURL, mgmtOp{
		use: "delete", short: "Remove role assignments by id",
		flags: func(cmd *cobra.Command) {
			cmd.Flags().StringSliceVar(&ids, "ids", nil, "assignment ids (repeat the flag or separate them with commas)")
		},
		prepare: func(*cobra.Command) error {
			if len(ids) == 0 {
				return usageError{errors.New("--ids is required")}
			}
			return nil
		},
		run: func(ctx context.Context, c *client.IdentityClient) (any, error) {
			for _, id := range ids {
				if err := c.DeleteRoleAssignment(ctx, lastSegment(id)); err != nil {
					return nil, err
				}
			}
			return nil, nil
		},
	})
}

// lastSegment turns an Azure resource id (.../roleDefinitions/ID,
// .../roleAssignments/ID) into its last segment; other values pass.
func lastSegment(id string) string {
	if i := strings.LastIndexByte(id, '/'); i >= 0 && strings.Contains(strings.ToLower(id), "/providers/microsoft.authorization/") {
		return id[i+1:]
	}
	return id
}

// normalizeScope turns an Azure Key Vault scope
// (/subscriptions/.../providers/Microsoft.KeyVault/vaults/NAME[/...]) into
// keyhaven's (/vaults/NAME[/...]); other values pass unchanged.
func normalizeScope(scope string) string {
	const provider = "/providers/microsoft.keyvault"
	if i := strings.Index(strings.ToLower(scope), provider); i >= 0 {
		return scope[i+len(provider):]
	}
	return scope
}

func roleDefinitionView(d client.RoleDefinition) map[string]any {
	return map[string]any{
		"id":       d.ID,
		"name":     d.ID,
		"roleName": d.RoleName,
		"permissions": []any{map[string]any{
			"actions": d.Actions, "notActions": d.NotActions,
			"dataActions": d.DataActions, "notDataActions": d.NotDataActions,
		}},
	}
}

func roleAssignmentView(a client.RoleAssignment) map[string]any {
	return map[string]any{
		"id":                 a.ID,
		"name":               a.ID,
		"principalId":        a.PrincipalID,
		"roleDefinitionId":   a.RoleDefinitionID,
		"roleDefinitionName": orNil(a.RoleName),
		"scope":              a.Scope,
	}
}
