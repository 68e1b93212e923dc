// Package posture is keyhaven doctor's judgment: from a server's vaults,
// role assignments, principals and objects it lists what an auditor would
// flag, each finding with a severity and the command that fixes it. It is
// pure: the server gathers the input, Check decides.
package posture

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/keyhaven/keyhaven/internal/authz"
	"github.com/keyhaven/keyhaven/internal/vaults"
)

// Severities, most severe first.
const (
	High   = "High"
	Medium = "Medium"
	Low    = "Low"
)

var severityRank = map[string]int{High: 0, Medium: 1, Low: 2}

// Finding is one thing to fix.
type Finding struct {
	Severity string `json:"severity"`
	Check    string `json:"check"`           // stable id, e.g. "purge-protection-off"
	Vault    string `json:"vault,omitempty"` // "" for server-wide findings
	Object   string `json:"object,omitempty"`
	Message  string `json:"message"`
	Fix      string `json:"fix"` // a command that fixes it
}

// Object is one secret, key or certificate as the checks need it.
type Object struct {
	Kind        string // "secret", "key" or "certificate"
	Name        string
	Expires     int64 // Unix seconds; 0 for none
	Enabled     bool
	AutoRotates bool // keys: a rotation policy with a Rotate action
	Managed     bool // a certificate's backing key or secret
}

// Vault is one vault and its objects.
type Vault struct {
	Vault   *vaults.Vault
	Objects []Object
}

// Input is the state of a server.
type Input struct {
	Now         time.Time
	NearExpiry  time.Duration // lead time for "expires soon"
	AuditSinks  int           // 0: nothing is audited
	Vaults      []Vault
	Roles       map[string]authz.Role
	Assignments []authz.Assignment
	// Kinds maps object ids to "User", "Group", "Application" or
	// "ManagedIdentity".
	Kinds map[string]string
}

// Check returns the findings, most severe first.
func Check(in Input) []Finding {
	var out []Finding
	add := func(f Finding) { out = append(out, f) }
	if in.AuditSinks == 0 {
		add(Finding{Severity: High, Check: "no-audit-sink", Message: "No audit sink is configured: nobody can tell who read a secret or used a key.",
			Fix: "set audit.file (default {dataDir}/audit/audit.log) or audit.stdout in the server configuration, then restart"})
	}
	for _, v := range in.Vaults {
		checkVault(in, v, add)
	}
	checkRoles(in, add)
	sort.SliceStable(out, func(i, j int) bool {
		if a, b := severityRank[out[i].Severity], severityRank[out[j].Severity]; a != b {
			return a < b
		}
		if out[i].Vault != out[j].Vault {
			return out[i].Vault < out[j].Vault
		}
		return out[i].Check < out[j].Check
	})
	return out
}

func checkVault(in Input, vi Vault, add func(Finding)) {
	v := vi.Vault
	name := v.Name
	if !v.RBACAuthorization {
		add(Finding{Severity: Medium, Check: "access-policy-model", Vault: name,
			Message: "The vault uses legacy access policies: they are vault-wide, cannot be scoped to one object and anyone who may write the vault may grant themselves data access.",
			Fix:     "keyhaven vault update --name " + name + " --enable-rbac-authorization true   (assign roles first: keyhaven role assignment create ...)"})
	} else if len(v.AccessPolicies) > 0 {
		add(Finding{Severity: Low, Check: "inert-access-policies", Vault: name,
			Message: fmt.Sprintf("%d legacy access policies are still stored (inert while RBAC is on; they come back if RBAC is turned off).", len(v.AccessPolicies)),
			Fix:     "keyhaven vault delete-policy --name " + name + " --object-id <id>   (for each entry)"})
	}
	if !v.PurgeProtection {
		add(Finding{Severity: Medium, Check: "purge-protection-off", Vault: name,
			Message: "Purge protection is off: a deleted secret, key or certificate can be destroyed at once, before its retention ends.",
			Fix:     "keyhaven vault update --name " + name + " --enable-purge-protection true"})
	}
	if v.PublicNetworkAccess != "Disabled" && v.NetworkACLs.DefaultAction != "Deny" {
		add(Finding{Severity: Medium, Check: "open-network", Vault: name,
			Message: "Public network access is on and the firewall allows every address.",
			Fix:     "keyhaven vault update --name " + name + " --default-action Deny && keyhaven vault network-rule add --name " + name + " --ip-address <your range>"})
	}
	now := in.Now.Unix()
	soon := in.Now.Add(in.NearExpiry).Unix()
	for _, o := range vi.Objects {
		if o.Managed || !o.Enabled {
			continue
		}
		switch {
		case o.Expires != 0 && o.Expires <= now:
			add(Finding{Severity: High, Check: o.Kind + "-expired", Vault: name, Object: o.Name,
				Message: fmt.Sprintf("The %s %s expired on %s.", o.Kind, o.Name, time.Unix(o.Expires, 0).UTC().Format(time.DateOnly)),
				Fix:     renewFix(name, o)})
		case o.Expires != 0 && o.Expires <= soon:
			add(Finding{Severity: Medium, Check: o.Kind + "-near-expiry", Vault: name, Object: o.Name,
				Message: fmt.Sprintf("The %s %s expires on %s.", o.Kind, o.Name, time.Unix(o.Expires, 0).UTC().Format(time.DateOnly)),
				Fix:     renewFix(name, o)})
		}
		if o.Kind == "key" && !o.AutoRotates {
			add(Finding{Severity: Low, Check: "key-without-rotation", Vault: name, Object: o.Name,
				Message: "The key " + o.Name + " has no rotation policy that rotates it.",
				Fix:     "keyhaven key rotation-policy update --vault-name " + name + " --name " + o.Name + " --value @policy.json   (a Rotate lifetime action)"})
		}
	}
}

func renewFix(vault string, o Object) string {
	switch o.Kind {
	case "certificate":
		return "keyhaven certificate create --vault-name " + vault + " --name " + o.Name + " --policy @policy.json   (a new version; or a lifetime action AutoRenew)"
	case "key":
		return "keyhaven key rotate --vault-name " + vault + " --name " + o.Name
	}
	return "keyhaven secret set --vault-name " + vault + " --name " + o.Name + " --value <new value> --expires <date>"
}

// Data roles that an application rarely needs in full.
const adminDataPattern = "Microsoft.KeyVault/vaults/*"

func checkRoles(in Input, add func(Finding)) {
	for _, a := range in.Assignments {
		role, ok := in.Roles[a.RoleID]
		if !ok || a.Eligible || (!a.ExpiresOn.IsZero() && !in.Now.Before(a.ExpiresOn)) {
			continue
		}
		kind := in.Kinds[strings.ToLower(a.PrincipalID)]
		vault := vaultOfScope(a.Scope)
		if (kind == "Application" || kind == "ManagedIdentity") && slices.ContainsFunc(role.DataActions, func(d string) bool { return strings.EqualFold(d, adminDataPattern) }) {
			add(Finding{Severity: High, Check: "broad-role-for-application", Vault: vault,
				Message: fmt.Sprintf("%s %s holds %s at %s: every data action on every object. A workload rarely needs more than Key Vault Secrets User or Crypto User, ideally on single objects.",
					strings.ToLower(kind[:1])+kind[1:], a.PrincipalID, role.Name, a.Scope),
				Fix: "keyhaven role assignment create --assignee " + a.PrincipalID + " --role \"Key Vault Secrets User\" --scope <narrowest scope> && keyhaven role assignment delete --ids " + a.ID})
		}
		// A management role that may change access policies lets its
		// holder grant itself data access on access-policy vaults.
		if role.PermitsManagement("Microsoft.KeyVault/vaults/accessPolicies/write") && a.RoleID != authz.Owner {
			for _, v := range in.Vaults {
				if v.Vault.RBACAuthorization || (vault != "" && !strings.EqualFold(vault, v.Vault.Name)) {
					continue
				}
				add(Finding{Severity: High, Check: "contributor-can-grant-data-access", Vault: v.Vault.Name,
					Message: fmt.Sprintf("%s holds %s at %s and may change the access policies of this access-policy vault: it can grant itself any data access.", a.PrincipalID, role.Name, a.Scope),
					Fix:     "keyhaven vault update --name " + v.Vault.Name + " --enable-rbac-authorization true, or keyhaven role assignment delete --ids " + a.ID})
			}
		}
	}
}

// vaultOfScope returns the vault of a scope ("" for the server scope).
func vaultOfScope(scope string) string {
	rest, ok := strings.CutPrefix(strings.ToLower(scope), "/vaults/")
	if !ok {
		return ""
	}
	name, _, _ := strings.Cut(rest, "/")
	return name
}
