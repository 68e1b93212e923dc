package cli

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

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
	def.AddCommand(newRoleDefinitionListCmd(s, serverURL), newRoleDefinitionCreateCmd(s, serverURL), newRoleDefinitionDeleteCmd(s, serverURL))
	asg := &cobra.Command{Use: "assignment", Short: "Manage role assignments (like az role assignment)", RunE: groupRunE}
	asg.AddCommand(newRoleAssignmentListCmd(s, serverURL), newRoleAssignmentCreateCmd(s, serverURL), newRoleAssignmentDeleteCmd(s, serverURL),
		newRoleAssignmentActivateCmd(s, serverURL))
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
	var assignee, role, scope, start, end, principalType, issuer string
	var eligible, requireMFA bool
	var maxActivation time.Duration
	var opts client.RoleAssignmentOptions
	return newMgmtCmd(s, serverURL, mgmtOp{
		use: "create", short: "Grant a role to a principal at a scope (permanently, for a time window, or as a PIM eligibility)",
		flags: func(cmd *cobra.Command) {
			cmd.Flags().StringVar(&assignee, "assignee", "", "the principal: an application's object id (its app id works too), a user's or a group's object id")
			cmd.Flags().StringVar(&role, "role", "", `role name ("Key Vault Secrets User") or id`)
			cmd.Flags().StringVar(&scope, "scope", "", "/, /vaults/VAULT or /vaults/VAULT/{secrets|keys|certificates}/NAME")
			cmd.Flags().StringVar(&start, "start-time", "", "RFC 3339 time the assignment starts (default now)")
			cmd.Flags().StringVar(&end, "end-time", "", "RFC 3339 time the assignment ends on its own")
			cmd.Flags().BoolVar(&eligible, "eligible", false, "make a PIM eligibility: the principal activates it just in time (role assignment activate)")
			cmd.Flags().DurationVar(&maxActivation, "max-activation", 0, "with --eligible: the longest activation (default 8h, at most 24h)")
			cmd.Flags().StringVar(&principalType, "assignee-principal-type", "", "External for a principal of a trusted external issuer")
			cmd.Flags().StringVar(&issuer, "assignee-issuer", "", "with --assignee-principal-type External: the issuer whose tokens name the assignee")
			cmd.Flags().BoolVar(&requireMFA, "require-mfa", false, "for a person, count the assignment only when the sign-in had a second factor")
		},
		prepare: func(*cobra.Command) error {
			for _, f := range []struct{ name, v string }{{"--assignee", assignee}, {"--role", role}, {"--scope", scope}} {
				if err := requireFlag(f.name, f.v); err != nil {
					return err
				}
			}
			for _, t := range []struct {
				flag, v string
				dst     **time.Time
			}{{"--start-time", start, &opts.StartsOn}, {"--end-time", end, &opts.ExpiresOn}} {
				if t.v == "" {
					continue
				}
				at, err := time.Parse(time.RFC3339, t.v)
				if err != nil {
					return usageError{fmt.Errorf("%s must be an RFC 3339 time such as 2026-12-01T08:00:00Z", t.flag)}
				}
				*t.dst = &at
			}
			if maxActivation != 0 && !eligible {
				return usageError{errors.New("--max-activation needs --eligible")}
			}
			opts.Eligible, opts.MaxActivation, opts.PrincipalType, opts.RequireMFA, opts.Issuer = eligible, maxActivation, principalType, requireMFA, issuer
			return nil
		},
		run: func(ctx context.Context, c *client.IdentityClient) (any, error) {
			principal, err := resolveAssignee(ctx, c, assignee)
			if err != nil {
				return nil, err
			}
			a, err := c.CreateRoleAssignmentWith(ctx, principal, lastSegment(role), normalizeScope(scope), opts)
			if err != nil {
				return nil, err
			}
			return roleAssignmentView(a), nil
		},
	})
}

func newRoleAssignmentActivateCmd(s streams, serverURL *string) *cobra.Command {
	var id, justification string
	var duration time.Duration
	return newMgmtCmd(s, serverURL, mgmtOp{
		use: "activate", short: "Activate one of your eligible role assignments just in time (PIM)",
		flags: func(cmd *cobra.Command) {
			cmd.Flags().StringVar(&id, "id", "", "the eligible assignment's id")
			cmd.Flags().StringVar(&justification, "justification", "", "why (5-500 characters; kept with the activation)")
			cmd.Flags().DurationVar(&duration, "duration", time.Hour, "how long the activation lasts")
		},
		prepare: func(*cobra.Command) error {
			if err := requireFlag("--id", id); err != nil {
				return err
			}
			return requireFlag("--justification", justification)
		},
		run: func(ctx context.Context, c *client.IdentityClient) (any, error) {
			a, err := c.ActivateRoleAssignment(ctx, lastSegment(id), justification, duration)
			if err != nil {
				return nil, err
			}
			return roleAssignmentView(a), nil
		},
	})
}

func newRoleDefinitionCreateCmd(s streams, serverURL *string) *cobra.Command {
	var spec string
	return newMgmtCmd(s, serverURL, mgmtOp{
		use: "create", short: "Create a custom role from a JSON definition (like az role definition create)",
		flags: func(cmd *cobra.Command) {
			cmd.Flags().StringVar(&spec, "role-definition", "", `JSON, or @FILE: {"Name": "...", "Description": "...", "Actions": [], "NotActions": [], "DataActions": [], "NotDataActions": []} (camelCase keys work too)`)
		},
		prepare: func(*cobra.Command) error { return requireFlag("--role-definition", spec) },
		run: func(ctx context.Context, c *client.IdentityClient) (any, error) {
			raw := []byte(spec)
			if f, ok := strings.CutPrefix(spec, "@"); ok {
				b, err := os.ReadFile(f)
				if err != nil {
					return nil, err
				}
				raw = b
			}
			var in struct {
				Name, RoleName, Description                      string
				Actions, NotActions, DataActions, NotDataActions []string
			}
			if err := json.Unmarshal(raw, &in); err != nil {
				return nil, usageError{fmt.Errorf("--role-definition is not a JSON role definition: %w", err)}
			}
			d, err := c.CreateRoleDefinition(ctx, client.RoleDefinition{RoleName: cmp.Or(in.RoleName, in.Name), Description: in.Description,
				Actions: in.Actions, NotActions: in.NotActions, DataActions: in.DataActions, NotDataActions: in.NotDataActions})
			if err != nil {
				return nil, err
			}
			return roleDefinitionView(d), nil
		},
	})
}

func newRoleDefinitionDeleteCmd(s streams, serverURL *string) *cobra.Command {
	var name string
	return newMgmtCmd(s, serverURL, mgmtOp{
		use: "delete", short: "Delete a custom role that no assignment uses",
		flags: func(cmd *cobra.Command) {
			cmd.Flags().StringVarP(&name, "name", "n", "", "the role's name or id")
		},
		prepare: func(*cobra.Command) error { return requireFlag("--name", name) },
		run: func(ctx context.Context, c *client.IdentityClient) (any, error) {
			defs, err := c.ListRoleDefinitions(ctx)
			if err != nil {
				return nil, err
			}
			for _, d := range defs {
				if strings.EqualFold(d.RoleName, name) || strings.EqualFold(d.ID, lastSegment(name)) {
					return nil, c.DeleteRoleDefinition(ctx, d.ID)
				}
			}
			return nil, fmt.Errorf("no role named %q", name)
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
	v := map[string]any{
		"id":       d.ID,
		"name":     d.ID,
		"roleName": d.RoleName,
		"permissions": []any{map[string]any{
			"actions": d.Actions, "notActions": d.NotActions,
			"dataActions": d.DataActions, "notDataActions": d.NotDataActions,
		}},
	}
	if d.RoleType != "" {
		v["roleType"] = d.RoleType
	}
	if d.Description != "" {
		v["description"] = d.Description
	}
	return v
}

func roleAssignmentView(a client.RoleAssignment) map[string]any {
	v := map[string]any{
		"id":                 a.ID,
		"name":               a.ID,
		"principalId":        a.PrincipalID,
		"roleDefinitionId":   a.RoleDefinitionID,
		"roleDefinitionName": orNil(a.RoleName),
		"scope":              a.Scope,
	}
	// The time-bound and PIM details appear only when there are any.
	for k, val := range map[string]string{"status": a.Status, "maxActivation": minutes(a.MaxActivationMinutes),
		"activatedFrom": a.ActivatedFrom, "viaGroup": a.ViaGroup, "justification": a.Justification} {
		if val != "" && !(k == "status" && val == "Active" && a.StartsOn == nil && a.ExpiresOn == nil) {
			v[k] = val
		}
	}
	if a.StartsOn != nil {
		v["startsOn"] = a.StartsOn
	}
	if a.ExpiresOn != nil {
		v["expiresOn"] = a.ExpiresOn
	}
	if a.RequireMFA {
		v["requireMfa"] = true
	}
	if a.Issuer != "" {
		v["issuer"] = a.Issuer
	}
	return v
}

func minutes(n int) string {
	if n == 0 {
		return ""
	}
	return (time.Duration(n) * time.Minute).String()
}
