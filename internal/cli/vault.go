package cli

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/netip"
	"reflect"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/keyhaven/keyhaven/pkg/client"
)

// `keyhaven vault`, shaped like `az keyvault` (create, show, list, update,
// delete, purge, recover, list-deleted, set-policy, delete-policy,
// network-rule), on the server's management plane (ARM's
// Microsoft.KeyVault/vaults).

// newVaultsClient builds the management-plane client for a server URL;
// tests replace it.
var newVaultsClient = func(serverURL, subscription string) (*client.VaultsClient, error) {
	cred, err := cliCredential()
	if err != nil {
		return nil, err
	}
	return client.NewVaultsClient(serverURL, cmp.Or(dnsSuffix(lookupEnv), defaultDNSSuffix), cred,
		&client.VaultsClientOptions{SubscriptionID: subscription})
}

func init() {
	// az's list-valued arguments take space-separated values.
	for _, f := range []string{"secret-permissions", "key-permissions", "certificate-permissions", "storage-permissions",
		"network-acls-ips", "ip-address"} {
		multiValueFlags[f] = true
	}
}

// vaultGroup is the state shared by the subcommands: the group's
// persistent flags.
type vaultGroup struct {
	s                 streams
	url, subscription string
}

// vaultOp describes one subcommand of `keyhaven vault`.
type vaultOp struct {
	use, short string
	flags      func(cmd *cobra.Command)       // binds extra flags
	prepare    func(cmd *cobra.Command) error // checks them before any request
	// run performs the operation; a nil result prints nothing.
	run func(ctx context.Context, c *client.VaultsClient) (any, error)
}

// newVaultCmd is `keyhaven vault`.
func newVaultCmd(s streams) *cobra.Command {
	g := &vaultGroup{s: s}
	cmd := newMgmtGroup("vault", "Manage vaults, their access policies and network rules (like az keyvault)",
		"Create, update, delete, recover and purge vaults, change their access policies and firewall\n"+
			"rules, like az keyvault, through the server's management plane (ARM's\n"+
			"Microsoft.KeyVault/vaults: one subscription, location \"keyhaven\"). Without\n"+
			"--resource-group a command finds the vault by name. Besides Owner, the roles Contributor,\n"+
			"Key Vault Contributor (no purge, no permission-model change) and Reader (reads) manage\n"+
			"vaults, at the server or at one vault (/vaults/NAME).\n\n"+mgmtLong, &g.url)
	cmd.PersistentFlags().StringVar(&g.subscription, "subscription", "", "subscription id (default: the server's)")
	rule := &cobra.Command{Use: "network-rule", Short: "Manage a vault's IP firewall rules (like az keyvault network-rule)", RunE: groupRunE}
	rule.AddCommand(g.networkRuleCmd("add"), g.networkRuleCmd("remove"), g.networkRuleListCmd())
	cmd.AddCommand(g.createCmd(), g.showCmd(), g.listCmd(), g.updateCmd(), g.deleteCmd(), g.purgeCmd(), g.recoverCmd(),
		g.listDeletedCmd(), g.setPolicyCmd(), g.deletePolicyCmd(), rule)
	return cmd
}

// cmd builds a subcommand: flags are parsed like the secret commands'
// (space-separated list values), checked, then the operation runs and its
// result is printed.
func (g *vaultGroup) cmd(op vaultOp) *cobra.Command {
	var output, query string
	cmd := &cobra.Command{Use: op.use, Short: op.short, Args: cobra.ArbitraryArgs, DisableFlagParsing: true}
	if op.flags != nil {
		op.flags(cmd)
	}
	cmd.Flags().StringVarP(&output, "output", "o", "json", "output format: json, jsonc, table, tsv or none")
	cmd.Flags().StringVar(&query, "query", "", "JMESPath query applied to the result before formatting")
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		if err := parseSecretArgs(cmd, args); err != nil {
			return err
		}
		if help, _ := cmd.Flags().GetBool("help"); help {
			return cmd.Help()
		}
		out, err := newOutputSpec(output, query)
		if err != nil {
			return err
		}
		if op.prepare != nil {
			if err := op.prepare(cmd); err != nil {
				return err
			}
		}
		c, err := g.client()
		if err != nil {
			return err
		}
		res, err := op.run(cmd.Context(), c)
		if err != nil || res == nil {
			return err
		}
		return out.write(g.s.out, res)
	}
	return cmd
}

// client resolves the server address as `keyhaven app` does.
func (g *vaultGroup) client() (*client.VaultsClient, error) {
	if g.subscription != "" && !guidFlag(g.subscription) {
		return nil, usageError{fmt.Errorf("invalid --subscription %q: want a GUID", g.subscription)}
	}
	raw := firstNonEmpty(g.url, lookupEnv(envServerURL), lookupEnv(client.EnvAuthorityHost), "https://localhost:8443")
	u, err := checkVaultURL(raw)
	if err != nil {
		return nil, usageError{fmt.Errorf("server address: invalid URL %q: want https://host[:port]", raw)}
	}
	return newVaultsClient(u, g.subscription)
}

func guidFlag(s string) bool {
	_, err := parseGUID(s)
	return err == nil
}

// parseGUID checks the 8-4-4-4-12 hex shape.
func parseGUID(s string) (string, error) {
	parts := strings.Split(s, "-")
	if len(parts) != 5 {
		return "", errors.New("not a GUID")
	}
	for i, n := range []int{8, 4, 4, 4, 12} {
		if len(parts[i]) != n || strings.Trim(strings.ToLower(parts[i]), "0123456789abcdef") != "" {
			return "", errors.New("not a GUID")
		}
	}
	return strings.ToLower(s), nil
}

// vaultTarget is the vault a subcommand addresses: -n and, optionally, -g.
type vaultTarget struct{ name, rg string }

func (t *vaultTarget) bind(cmd *cobra.Command) {
	cmd.Flags().StringVarP(&t.name, "name", "n", "", "vault name")
	cmd.Flags().StringVarP(&t.rg, "resource-group", "g", "", "resource group (default: found by the vault's name)")
}

func (t *vaultTarget) check(*cobra.Command) error {
	if err := requireFlag("--name", t.name); err != nil {
		return err
	}
	if !vaultNamePattern.MatchString(t.name) {
		return usageError{fmt.Errorf("invalid --name %q: use 3-24 letters, digits and dashes", t.name)}
	}
	return nil
}

// get returns the vault, finding its resource group when -g was not given.
func (t *vaultTarget) get(ctx context.Context, c *client.VaultsClient) (client.Vault, error) {
	if t.rg == "" {
		return c.Find(ctx, t.name)
	}
	return c.Get(ctx, t.rg, t.name)
}

// resourceGroup is -g, or the vault's.
func (t *vaultTarget) resourceGroup(ctx context.Context, c *client.VaultsClient) (string, error) {
	if t.rg != "" {
		return t.rg, nil
	}
	v, err := c.Find(ctx, t.name)
	return v.ResourceGroup(), err
}

// vaultSettings are the flags of create and update.
type vaultSettings struct {
	retention                                  int
	purgeProtection, rbac                      boolValue
	deployment, diskEncryption, templateDeploy boolValue
	publicAccess, defaultAction, bypass, sku   string
	tags                                       tagsValue
	ips                                        []string
}

func (f *vaultSettings) bind(cmd *cobra.Command, creating bool) {
	fs := cmd.Flags()
	fs.IntVar(&f.retention, "retention-days", 0, "soft-delete retention in days, 7-90 (default 90 on create)")
	fs.Var(&f.purgeProtection, "enable-purge-protection", "turn purge protection on (it can never be turned off)")
	fs.Var(&f.rbac, "enable-rbac-authorization", "authorize the data plane with RBAC (true, the default on create) or access policies (false)")
	fs.Var(&f.deployment, "enabled-for-deployment", "informative: whether VMs may retrieve certificates")
	fs.Var(&f.diskEncryption, "enabled-for-disk-encryption", "informative: whether disk encryption may use the vault")
	fs.Var(&f.templateDeploy, "enabled-for-template-deployment", "informative: whether deployments may read secrets")
	fs.StringVar(&f.publicAccess, "public-network-access", "", "Enabled or Disabled")
	fs.StringVar(&f.defaultAction, "default-action", "", "firewall default action: Allow or Deny")
	fs.StringVar(&f.bypass, "bypass", "", "firewall bypass: AzureServices or None")
	if creating {
		fs.StringVar(&f.sku, "sku", "standard", "standard or premium")
		fs.Var(&f.tags, "tags", `space-separated tags: k=v k2=v2`)
		fs.StringSliceVar(&f.ips, "network-acls-ips", nil, "firewall IP rules: space-separated addresses or CIDR prefixes")
	} else {
		fs.Var(&f.tags, "tags", `space-separated tags: k=v k2=v2, replacing all tags ("" removes them)`)
	}
}

// properties turns the flags into vault properties (only what was given)
// and the tags (nil when --tags was not given).
func (f *vaultSettings) properties(cmd *cobra.Command) (client.VaultProperties, map[string]string, error) {
	p := client.VaultProperties{EnablePurgeProtection: f.purgeProtection.v, EnableRbacAuthorization: f.rbac.v,
		EnabledForDeployment: f.deployment.v, EnabledForDiskEncryption: f.diskEncryption.v, EnabledForTemplateDeployment: f.templateDeploy.v}
	if cmd.Flags().Changed("retention-days") {
		if f.retention < 7 || f.retention > 90 {
			return p, nil, usageError{errors.New("--retention-days must be between 7 and 90")}
		}
		p.SoftDeleteRetentionInDays = &f.retention
	}
	var err error
	if f.publicAccess != "" {
		if p.PublicNetworkAccess, err = canonical("--public-network-access", f.publicAccess, []string{"Enabled", "Disabled"}); err != nil {
			return p, nil, err
		}
	}
	if f.defaultAction != "" || f.bypass != "" || len(f.ips) > 0 {
		p.NetworkACLs = &client.NetworkRuleSet{IPRules: []client.IPRule{}}
		if p.NetworkACLs.DefaultAction, err = canonicalOr("--default-action", f.defaultAction, "Allow", "Deny"); err != nil {
			return p, nil, err
		}
		if p.NetworkACLs.Bypass, err = canonicalOr("--bypass", f.bypass, "AzureServices", "None"); err != nil {
			return p, nil, err
		}
		for _, ip := range f.ips {
			if _, err := parseIPRule(ip); err != nil {
				return p, nil, err
			}
			p.NetworkACLs.IPRules = append(p.NetworkACLs.IPRules, client.IPRule{Value: ip})
		}
	}
	if !cmd.Flags().Changed("tags") {
		return p, nil, nil
	}
	tags, err := f.tags.tags()
	return p, tags, err
}

// canonicalOr is canonical for an optional flag ("" stays "").
func canonicalOr(flag, v string, allowed ...string) (string, error) {
	if v == "" {
		return "", nil
	}
	return canonical(flag, v, allowed)
}

func parseIPRule(s string) (netip.Prefix, error) {
	if p, err := netip.ParsePrefix(s); err == nil {
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, usageError{fmt.Errorf("invalid IP address or CIDR prefix %q", s)}
	}
	return netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()), nil
}

// defaultResourceGroup is where `vault create` puts a vault without -g:
// the server's default group.
const defaultResourceGroup = "keyhaven"

func (g *vaultGroup) createCmd() *cobra.Command {
	var (
		t        vaultTarget
		f        vaultSettings
		location string
		params   client.VaultCreateOrUpdateParameters
	)
	return g.cmd(vaultOp{
		use: "create", short: "Create a vault (RBAC authorization unless --enable-rbac-authorization false)",
		flags: func(cmd *cobra.Command) {
			t.bind(cmd)
			cmd.Flags().StringVarP(&location, "location", "l", client.DefaultLocation, "location (a keyhaven server has one)")
			f.bind(cmd, true)
		},
		prepare: func(cmd *cobra.Command) error {
			if err := t.check(cmd); err != nil {
				return err
			}
			sku, err := canonical("--sku", f.sku, []string{"standard", "premium"})
			if err != nil {
				return err
			}
			p, tags, err := f.properties(cmd)
			if err != nil {
				return err
			}
			if p.EnableRbacAuthorization == nil { // az's default since 2025
				on := true
				p.EnableRbacAuthorization = &on
			}
			p.SKU, p.AccessPolicies = &client.SKU{Family: "A", Name: sku}, []client.AccessPolicyEntry{}
			params = client.VaultCreateOrUpdateParameters{Location: location, Tags: tags, Properties: p}
			return nil
		},
		run: func(ctx context.Context, c *client.VaultsClient) (any, error) {
			// A PUT would overwrite an existing vault's settings: refuse a
			// taken name first, as creating never means updating here.
			avail, err := c.CheckNameAvailability(ctx, t.name)
			if err != nil {
				return nil, err
			}
			if !avail.NameAvailable {
				return nil, fmt.Errorf("the vault name %q is not available (%s): %s", t.name, avail.Reason, avail.Message)
			}
			v, err := c.CreateOrUpdate(ctx, cmp.Or(t.rg, defaultResourceGroup), t.name, params)
			if err != nil {
				return nil, err
			}
			return vaultView(v)
		},
	})
}

func (g *vaultGroup) showCmd() *cobra.Command {
	var t vaultTarget
	return g.cmd(vaultOp{
		use: "show", short: "Show a vault's properties",
		flags: t.bind, prepare: t.check,
		run: func(ctx context.Context, c *client.VaultsClient) (any, error) {
			v, err := t.get(ctx, c)
			if err != nil {
				return nil, err
			}
			return vaultView(v)
		},
	})
}

func (g *vaultGroup) listCmd() *cobra.Command {
	var rg string
	return g.cmd(vaultOp{
		use: "list", short: "List the vaults you may read (id, name, resource group, location, tags)",
		flags: func(cmd *cobra.Command) {
			cmd.Flags().StringVarP(&rg, "resource-group", "g", "", "only the vaults of this resource group")
		},
		run: func(ctx context.Context, c *client.VaultsClient) (any, error) {
			list := c.ListBySubscription(ctx, 0)
			if rg != "" {
				list = c.ListByResourceGroup(ctx, rg, 0)
			}
			out := []any{}
			for v, err := range list {
				if err != nil {
					return nil, err
				}
				// az keyvault list prints the resources, without properties.
				out = append(out, map[string]any{"id": v.ID, "name": v.Name, "type": v.Type, "location": v.Location,
					"resourceGroup": v.ResourceGroup(), "tags": tagsOrEmpty(v.Tags)})
			}
			return out, nil
		},
	})
}

func tagsOrEmpty(t map[string]string) map[string]string {
	if t == nil {
		return map[string]string{}
	}
	return t
}

func (g *vaultGroup) updateCmd() *cobra.Command {
	var (
		t     vaultTarget
		f     vaultSettings
		patch client.VaultPatchParameters
	)
	return g.cmd(vaultOp{
		use: "update", short: "Change a vault's settings (only the flags given)",
		flags: func(cmd *cobra.Command) { t.bind(cmd); f.bind(cmd, false) },
		prepare: func(cmd *cobra.Command) error {
			if err := t.check(cmd); err != nil {
				return err
			}
			p, tags, err := f.properties(cmd)
			if err != nil {
				return err
			}
			if tags == nil && reflect.ValueOf(p).IsZero() {
				return usageError{errors.New("nothing to update: give at least one setting")}
			}
			patch = client.VaultPatchParameters{Tags: tags, Properties: &p}
			return nil
		},
		run: func(ctx context.Context, c *client.VaultsClient) (any, error) {
			rg, err := t.resourceGroup(ctx, c)
			if err != nil {
				return nil, err
			}
			v, err := c.Update(ctx, rg, t.name, patch)
			if err != nil {
				return nil, err
			}
			return vaultView(v)
		},
	})
}

func (g *vaultGroup) deleteCmd() *cobra.Command {
	var t vaultTarget
	return g.cmd(vaultOp{
		use: "delete", short: "Delete a vault (soft delete: recover it, or purge it, until its retention ends)",
		flags: t.bind, prepare: t.check,
		run: func(ctx context.Context, c *client.VaultsClient) (any, error) {
			rg, err := t.resourceGroup(ctx, c)
			if err != nil {
				return nil, err
			}
			if t.rg != "" { // as az: deleting a vault that is not there is an error
				if _, err := c.Get(ctx, rg, t.name); err != nil {
					return nil, err
				}
			}
			return nil, c.Delete(ctx, rg, t.name)
		},
	})
}

// deletedFlags address a soft-deleted vault: -n and --location.
func deletedFlags(name, location *string) func(cmd *cobra.Command) {
	return func(cmd *cobra.Command) {
		cmd.Flags().StringVarP(name, "name", "n", "", "name of the soft-deleted vault")
		cmd.Flags().StringVarP(location, "location", "l", client.DefaultLocation, "location of the deleted vault")
	}
}

func checkDeletedName(name string) error {
	if err := requireFlag("--name", name); err != nil {
		return err
	}
	if !vaultNamePattern.MatchString(name) {
		return usageError{fmt.Errorf("invalid --name %q: use 3-24 letters, digits and dashes", name)}
	}
	return nil
}

func (g *vaultGroup) purgeCmd() *cobra.Command {
	var name, location string
	return g.cmd(vaultOp{
		use: "purge", short: "Destroy a soft-deleted vault and everything in it (refused under purge protection)",
		flags:   deletedFlags(&name, &location),
		prepare: func(*cobra.Command) error { return checkDeletedName(name) },
		run: func(ctx context.Context, c *client.VaultsClient) (any, error) {
			return nil, c.PurgeDeleted(ctx, location, name)
		},
	})
}

func (g *vaultGroup) recoverCmd() *cobra.Command {
	var name, location string
	return g.cmd(vaultOp{
		use: "recover", short: "Recover a soft-deleted vault with its data and settings",
		flags:   deletedFlags(&name, &location),
		prepare: func(*cobra.Command) error { return checkDeletedName(name) },
		run: func(ctx context.Context, c *client.VaultsClient) (any, error) {
			if _, err := c.GetDeleted(ctx, location, name); err != nil {
				return nil, err
			}
			v, err := c.Recover(ctx, name)
			if err != nil {
				return nil, err
			}
			return vaultView(v)
		},
	})
}

func (g *vaultGroup) listDeletedCmd() *cobra.Command {
	return g.cmd(vaultOp{
		use: "list-deleted", short: "List the soft-deleted vaults",
		run: func(ctx context.Context, c *client.VaultsClient) (any, error) {
			out := []any{}
			for d, err := range c.ListDeleted(ctx) {
				if err != nil {
					return nil, err
				}
				m, err := toGeneric(d)
				if err != nil {
					return nil, err
				}
				out = append(out, m)
			}
			return out, nil
		},
	})
}

// principalFlags name the principal of an access policy, as az does.
type principalFlags struct{ objectID, upn, spn, appID string }

func (p *principalFlags) bind(cmd *cobra.Command) {
	fs := cmd.Flags()
	fs.StringVar(&p.objectID, "object-id", "", "object id of a user, group, application or managed identity")
	fs.StringVar(&p.upn, "upn", "", "user principal name of a user")
	fs.StringVar(&p.spn, "spn", "", "application (client) id of an application or managed identity")
	fs.StringVar(&p.appID, "application-id", "", "compound identity: the user only through this application (client) id")
}

func (p *principalFlags) check() error {
	n := 0
	for _, v := range []string{p.objectID, p.upn, p.spn} {
		if v != "" {
			n++
		}
	}
	if n != 1 {
		return usageError{errors.New("exactly one of --object-id, --upn or --spn is required")}
	}
	for flag, v := range map[string]string{"--object-id": p.objectID, "--spn": p.spn, "--application-id": p.appID} {
		if v != "" && !guidFlag(v) {
			return usageError{fmt.Errorf("invalid %s %q: want a GUID", flag, v)}
		}
	}
	return nil
}

// resolve returns the principal's object id, asking the directory for a
// user principal name or an application id.
func (p *principalFlags) resolve(ctx context.Context, g *vaultGroup) (string, error) {
	if p.objectID != "" {
		return strings.ToLower(p.objectID), nil
	}
	ic, err := identityClient(g.url)
	if err != nil {
		return "", err
	}
	if p.upn != "" {
		u, err := ic.GetUser(ctx, p.upn)
		return u.ObjectID, err
	}
	a, err := ic.GetApplication(ctx, p.spn)
	var re *client.ResponseError
	if errors.As(err, &re) && re.StatusCode == 404 {
		a, err = ic.GetManagedIdentity(ctx, p.spn)
	}
	return a.ObjectID, err
}

// permissionFlags are the access-policy permission lists.
type permissionFlags struct{ secrets, keys, certificates, storage []string }

var permissionFlagNames = []string{"secret-permissions", "key-permissions", "certificate-permissions", "storage-permissions"}

func (f *permissionFlags) bind(cmd *cobra.Command) {
	fs := cmd.Flags()
	fs.StringSliceVar(&f.secrets, "secret-permissions", nil, "space-separated secret permissions: all get list set delete backup restore recover purge")
	fs.StringSliceVar(&f.keys, "key-permissions", nil, "space-separated key permissions: all get list create update import delete encrypt decrypt wrapKey ...")
	fs.StringSliceVar(&f.certificates, "certificate-permissions", nil, "space-separated certificate permissions: all get list create import update delete ...")
	fs.StringSliceVar(&f.storage, "storage-permissions", nil, "space-separated storage permissions")
}

// apply sets the lists given on the command line, keeping the others.
func (f *permissionFlags) apply(cmd *cobra.Command, p *client.Permissions) {
	for i, dst := range []*[]string{&p.Secrets, &p.Keys, &p.Certificates, &p.Storage} {
		if cmd.Flags().Changed(permissionFlagNames[i]) {
			*dst = slices.DeleteFunc([][]string{f.secrets, f.keys, f.certificates, f.storage}[i], func(s string) bool { return s == "" })
		}
	}
}

func (g *vaultGroup) setPolicyCmd() *cobra.Command {
	var (
		t     vaultTarget
		who   principalFlags
		perms permissionFlags
		cmd   *cobra.Command
	)
	cmd = g.cmd(vaultOp{
		use: "set-policy", short: "Grant or change a principal's access-policy permissions (the lists given replace that principal's)",
		flags: func(cmd *cobra.Command) { t.bind(cmd); who.bind(cmd); perms.bind(cmd) },
		prepare: func(cmd *cobra.Command) error {
			if err := t.check(cmd); err != nil {
				return err
			}
			if err := who.check(); err != nil {
				return err
			}
			if !slices.ContainsFunc(permissionFlagNames, cmd.Flags().Changed) {
				return usageError{errors.New("give at least one of --secret-permissions, --key-permissions, --certificate-permissions, --storage-permissions")}
			}
			return nil
		},
		run: func(ctx context.Context, c *client.VaultsClient) (any, error) {
			oid, err := who.resolve(ctx, g)
			if err != nil {
				return nil, err
			}
			v, err := t.get(ctx, c)
			if err != nil {
				return nil, err
			}
			entry := client.AccessPolicyEntry{ObjectID: oid, ApplicationID: strings.ToLower(who.appID)}
			for _, p := range v.Properties.AccessPolicies {
				if strings.EqualFold(p.ObjectID, oid) && strings.EqualFold(p.ApplicationID, who.appID) {
					entry.Permissions = p.Permissions
				}
			}
			perms.apply(cmd, &entry.Permissions)
			return g.changePolicy(ctx, c, v, "replace", entry)
		},
	})
	return cmd
}

func (g *vaultGroup) deletePolicyCmd() *cobra.Command {
	var (
		t   vaultTarget
		who principalFlags
	)
	return g.cmd(vaultOp{
		use: "delete-policy", short: "Remove a principal's access-policy entry",
		flags: func(cmd *cobra.Command) { t.bind(cmd); who.bind(cmd) },
		prepare: func(cmd *cobra.Command) error {
			if err := t.check(cmd); err != nil {
				return err
			}
			return who.check()
		},
		run: func(ctx context.Context, c *client.VaultsClient) (any, error) {
			oid, err := who.resolve(ctx, g)
			if err != nil {
				return nil, err
			}
			v, err := t.get(ctx, c)
			if err != nil {
				return nil, err
			}
			// No permissions: the whole entry goes.
			return g.changePolicy(ctx, c, v, "remove", client.AccessPolicyEntry{ObjectID: oid, ApplicationID: strings.ToLower(who.appID)})
		},
	})
}

// changePolicy applies one access-policy change and prints the vault.
func (g *vaultGroup) changePolicy(ctx context.Context, c *client.VaultsClient, v client.Vault, kind string, e client.AccessPolicyEntry) (any, error) {
	if _, err := c.UpdateAccessPolicy(ctx, v.ResourceGroup(), v.Name, kind, []client.AccessPolicyEntry{e}); err != nil {
		return nil, err
	}
	v, err := c.Get(ctx, v.ResourceGroup(), v.Name)
	if err != nil {
		return nil, err
	}
	return vaultView(v)
}

func (g *vaultGroup) networkRuleCmd(action string) *cobra.Command {
	var (
		t   vaultTarget
		ips []string
	)
	short := "Add IP addresses or CIDR prefixes to a vault's firewall rules"
	if action == "remove" {
		short = "Remove IP addresses or CIDR prefixes from a vault's firewall rules"
	}
	return g.cmd(vaultOp{
		use: action, short: short,
		flags: func(cmd *cobra.Command) {
			t.bind(cmd)
			cmd.Flags().StringSliceVar(&ips, "ip-address", nil, "space-separated IPv4/IPv6 addresses or CIDR prefixes")
		},
		prepare: func(cmd *cobra.Command) error {
			if err := t.check(cmd); err != nil {
				return err
			}
			if len(ips) == 0 {
				return usageError{errors.New("--ip-address is required")}
			}
			for _, ip := range ips {
				if _, err := parseIPRule(ip); err != nil {
					return err
				}
			}
			return nil
		},
		run: func(ctx context.Context, c *client.VaultsClient) (any, error) {
			v, err := t.get(ctx, c)
			if err != nil {
				return nil, err
			}
			acl := client.NetworkRuleSet{Bypass: "AzureServices", DefaultAction: "Allow"}
			if v.Properties.NetworkACLs != nil {
				acl = *v.Properties.NetworkACLs
			}
			acl.IPRules = changeIPRules(acl.IPRules, ips, action == "add")
			v, err = c.Update(ctx, v.ResourceGroup(), v.Name, client.VaultPatchParameters{Properties: &client.VaultProperties{NetworkACLs: &acl}})
			if err != nil {
				return nil, err
			}
			return vaultView(v)
		},
	})
}

// changeIPRules adds the prefixes not yet in rules, or removes those that
// are, comparing prefixes (10.0.0.1 equals 10.0.0.1/32).
func changeIPRules(rules []client.IPRule, ips []string, add bool) []client.IPRule {
	same := func(a, b string) bool {
		pa, err1 := parseIPRule(a)
		pb, err2 := parseIPRule(b)
		return err1 == nil && err2 == nil && pa == pb
	}
	out := slices.Clone(rules)
	if out == nil {
		out = []client.IPRule{}
	}
	for _, ip := range ips {
		has := func(r client.IPRule) bool { return same(r.Value, ip) }
		switch {
		case add && !slices.ContainsFunc(out, has):
			out = append(out, client.IPRule{Value: ip})
		case !add:
			out = slices.DeleteFunc(out, has)
		}
	}
	return out
}

func (g *vaultGroup) networkRuleListCmd() *cobra.Command {
	var t vaultTarget
	return g.cmd(vaultOp{
		use: "list", short: "List a vault's firewall rules",
		flags: t.bind, prepare: t.check,
		run: func(ctx context.Context, c *client.VaultsClient) (any, error) {
			v, err := t.get(ctx, c)
			if err != nil {
				return nil, err
			}
			out := map[string]any{"ipRules": []client.IPRule{}, "virtualNetworkRules": []client.VirtualNetworkRule{}}
			if n := v.Properties.NetworkACLs; n != nil {
				out["ipRules"], out["virtualNetworkRules"] = nonNilSlice(n.IPRules), nonNilSlice(n.VirtualNetworkRules)
			}
			return out, nil
		},
	})
}

func nonNilSlice[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// vaultView prints a vault as az does: the resource, plus its resource
// group.
func vaultView(v client.Vault) (any, error) {
	m, err := toGeneric(v)
	if err != nil {
		return nil, err
	}
	if obj, ok := m.(map[string]any); ok {
		obj["resourceGroup"] = v.ResourceGroup()
	}
	return m, nil
}
