package client

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"
)

// ARMAPIVersion is the api-version the VaultsClient sends: the management
// plane's (Microsoft.KeyVault resource provider), not the data plane's.
const ARMAPIVersion = "2025-05-01"

// VaultsClient manages vaults through the management plane on a keyhaven
// server's authority host (the bare host, e.g. https://localhost:8443),
// which is shaped like Azure Resource Manager's Microsoft.KeyVault/vaults:
// the server is one subscription with one location, and vaults carry a
// resource group name. Like the IdentityClient it sends a token for the
// fixed scope https://{dns-suffix}/.default. Unlike the data-plane types,
// ARM's times are RFC 3339 date-times. It is safe for concurrent use.
type VaultsClient struct {
	base *url.URL
	api  vaultClient

	mu           sync.Mutex
	subscription string // learned from GET /subscriptions unless configured
	tenant       string
}

// Vault is ARM's vault resource. In requests only Location, Tags and
// Properties are sent.
type Vault struct {
	ID         string            `json:"id,omitempty"`
	Name       string            `json:"name,omitempty"`
	Type       string            `json:"type,omitempty"`
	Location   string            `json:"location,omitempty"`
	Tags       map[string]string `json:"tags,omitzero"`
	SystemData *SystemData       `json:"systemData,omitempty"`
	Properties VaultProperties   `json:"properties"`
}

// ResourceGroup is the resource group named in the vault's id.
func (v Vault) ResourceGroup() string { return idSegment(v.ID, "resourceGroups") }

// SystemData is the vault's creation metadata.
type SystemData struct {
	CreatedAt *time.Time `json:"createdAt,omitempty"`
}

// VaultProperties are a vault's properties. Nil pointers and nil slices are
// not sent: in an update they keep the vault's value.
type VaultProperties struct {
	TenantID                     string              `json:"tenantId,omitempty"`
	SKU                          *SKU                `json:"sku,omitempty"`
	AccessPolicies               []AccessPolicyEntry `json:"accessPolicies,omitzero"`
	VaultURI                     string              `json:"vaultUri,omitempty"`
	EnabledForDeployment         *bool               `json:"enabledForDeployment,omitempty"`
	EnabledForDiskEncryption     *bool               `json:"enabledForDiskEncryption,omitempty"`
	EnabledForTemplateDeployment *bool               `json:"enabledForTemplateDeployment,omitempty"`
	EnableSoftDelete             *bool               `json:"enableSoftDelete,omitempty"`
	SoftDeleteRetentionInDays    *int                `json:"softDeleteRetentionInDays,omitempty"`
	EnableRbacAuthorization      *bool               `json:"enableRbacAuthorization,omitempty"`
	EnablePurgeProtection        *bool               `json:"enablePurgeProtection,omitempty"`
	CreateMode                   string              `json:"createMode,omitempty"` // "recover" or "default"
	NetworkACLs                  *NetworkRuleSet     `json:"networkAcls,omitempty"`
	PublicNetworkAccess          string              `json:"publicNetworkAccess,omitempty"` // Enabled or Disabled
	ProvisioningState            string              `json:"provisioningState,omitempty"`
}

// SKU is a vault's pricing tier: Name "standard" or "premium", Family "A".
type SKU struct {
	Family string `json:"family"`
	Name   string `json:"name"`
}

// AccessPolicyEntry grants permissions per object type to an object id (a
// user, group, application or managed identity), or, with ApplicationID,
// to that user only through that application.
type AccessPolicyEntry struct {
	TenantID      string      `json:"tenantId"`
	ObjectID      string      `json:"objectId"`
	ApplicationID string      `json:"applicationId,omitempty"`
	Permissions   Permissions `json:"permissions"`
}

// Permissions are access-policy permission names per object type
// ("get", "list", "set", "wrapKey", "all", ...).
type Permissions struct {
	Keys         []string `json:"keys,omitempty"`
	Secrets      []string `json:"secrets,omitempty"`
	Certificates []string `json:"certificates,omitempty"`
	Storage      []string `json:"storage,omitempty"`
}

// NetworkRuleSet are a vault's firewall rules.
type NetworkRuleSet struct {
	Bypass              string               `json:"bypass,omitempty"`        // AzureServices or None
	DefaultAction       string               `json:"defaultAction,omitempty"` // Allow or Deny
	IPRules             []IPRule             `json:"ipRules"`
	VirtualNetworkRules []VirtualNetworkRule `json:"virtualNetworkRules,omitempty"`
}

// IPRule is an address or a CIDR prefix.
type IPRule struct {
	Value string `json:"value"`
}

// VirtualNetworkRule names a subnet (keyhaven refuses them).
type VirtualNetworkRule struct {
	ID string `json:"id"`
}

// VaultCreateOrUpdateParameters is the body of CreateOrUpdate. Location is
// the server's location (DefaultLocation when empty); Properties need
// TenantID (the server's when empty) and SKU (standard when nil).
type VaultCreateOrUpdateParameters struct {
	Location   string            `json:"location"`
	Tags       map[string]string `json:"tags,omitzero"`
	Properties VaultProperties   `json:"properties"`
}

// VaultPatchParameters is the body of Update: only what is set changes. A
// non-nil empty Tags removes every tag.
type VaultPatchParameters struct {
	Tags       map[string]string `json:"tags,omitzero"`
	Properties *VaultProperties  `json:"properties,omitempty"`
}

// DeletedVault is a soft-deleted vault.
type DeletedVault struct {
	ID         string                 `json:"id"`
	Name       string                 `json:"name"`
	Type       string                 `json:"type"`
	Properties DeletedVaultProperties `json:"properties"`
}

// DeletedVaultProperties say where the vault was and when it goes for good.
type DeletedVaultProperties struct {
	VaultID                string            `json:"vaultId"`
	Location               string            `json:"location"`
	DeletionDate           time.Time         `json:"deletionDate"`
	ScheduledPurgeDate     time.Time         `json:"scheduledPurgeDate"`
	Tags                   map[string]string `json:"tags"`
	PurgeProtectionEnabled bool              `json:"purgeProtectionEnabled"`
}

// ResourceGroup is the resource group the vault was deleted from.
func (d DeletedVault) ResourceGroup() string {
	return idSegment(d.Properties.VaultID, "resourceGroups")
}

// NameAvailability is the answer of CheckNameAvailability; Reason is
// "AccountNameInvalid" or "AlreadyExists" when the name is not available.
type NameAvailability struct {
	NameAvailable bool   `json:"nameAvailable"`
	Reason        string `json:"reason,omitempty"`
	Message       string `json:"message,omitempty"`
}

// DefaultLocation is a keyhaven server's one location.
const DefaultLocation = "keyhaven"

// VaultsClientOptions configure a VaultsClient. SubscriptionID, when
// empty, is learned from the server (GET /subscriptions).
type VaultsClientOptions struct {
	ClientOptions
	SubscriptionID string
}

// NewVaultsClient returns a client for the server at serverURL
// (https://host[:port]) that authenticates with cred for the scope
// https://{dnsSuffix}/.default. opts may be nil.
func NewVaultsClient(serverURL, dnsSuffix string, cred TokenCredential, opts *VaultsClientOptions) (*VaultsClient, error) {
	scope, err := suffixScope(dnsSuffix)
	if err != nil {
		return nil, err
	}
	u, err := url.Parse(strings.TrimSuffix(serverURL, "/"))
	if err != nil || u.Scheme != "https" || u.Host == "" || u.Path != "" || u.RawQuery != "" || u.User != nil {
		return nil, fmt.Errorf("invalid server URL %q: want https://host[:port]", serverURL)
	}
	if cred == nil {
		return nil, errors.New("a credential is required")
	}
	var o VaultsClientOptions
	if opts != nil {
		o = *opts
	}
	if o.SubscriptionID != "" && !guidPattern.MatchString(o.SubscriptionID) {
		return nil, fmt.Errorf("invalid subscription id %q: want a GUID", o.SubscriptionID)
	}
	return &VaultsClient{base: u, subscription: strings.ToLower(o.SubscriptionID),
		api: vaultClient{vault: u, apiVersion: ARMAPIVersion, p: newScopedPipeline(cred, scope, o.ClientOptions)}}, nil
}

var (
	rgPattern       = regexp.MustCompile(`^[-\w._()]{1,90}$`)
	vaultPattern    = regexp.MustCompile(`^[0-9A-Za-z-]{1,24}$`)
	locationPattern = regexp.MustCompile(`^[0-9A-Za-z-]{1,64}$`)
)

// SubscriptionID returns the subscription the client addresses: the
// configured one, or the server's (its first in GET /subscriptions).
func (c *VaultsClient) SubscriptionID(ctx context.Context) (string, error) {
	c.mu.Lock()
	sub := c.subscription
	c.mu.Unlock()
	if sub != "" {
		return sub, nil
	}
	if err := c.learnSubscription(ctx); err != nil {
		return "", err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.subscription, nil
}

// TenantID returns the server's tenant id (from GET /subscriptions), which
// vault properties and access policies name.
func (c *VaultsClient) TenantID(ctx context.Context) (string, error) {
	c.mu.Lock()
	t := c.tenant
	c.mu.Unlock()
	if t != "" {
		return t, nil
	}
	if err := c.learnSubscription(ctx); err != nil {
		return "", err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.tenant, nil
}

func (c *VaultsClient) learnSubscription(ctx context.Context) error {
	var out struct {
		Value []struct {
			SubscriptionID string `json:"subscriptionId"`
			TenantID       string `json:"tenantId"`
		} `json:"value"`
	}
	u := *c.base
	u.Path = "/subscriptions"
	u.RawQuery = url.Values{"api-version": {"2022-12-01"}}.Encode()
	if err := c.api.send(ctx, http.MethodGet, &u, nil, &out); err != nil {
		return err
	}
	if len(out.Value) == 0 || !guidPattern.MatchString(out.Value[0].SubscriptionID) {
		return errors.New("the server lists no subscription")
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.subscription == "" {
		c.subscription = strings.ToLower(out.Value[0].SubscriptionID)
	}
	c.tenant = strings.ToLower(out.Value[0].TenantID)
	return nil
}

// armURL builds /subscriptions/{sub}/{segs...}?api-version=... with query.
func (c *VaultsClient) armURL(ctx context.Context, query url.Values, segs ...string) (*url.URL, error) {
	sub, err := c.SubscriptionID(ctx)
	if err != nil {
		return nil, err
	}
	u := *c.base
	u.Path = "/subscriptions/" + sub + "/" + strings.Join(segs, "/")
	if query == nil {
		query = url.Values{}
	}
	query.Set("api-version", ARMAPIVersion)
	u.RawQuery = query.Encode()
	return &u, nil
}

// vaultURL is the URL of vault name in resource group rg (plus more
// segments), after checking both names cannot change the path.
func (c *VaultsClient) vaultURL(ctx context.Context, rg, name string, more ...string) (*url.URL, error) {
	if !rgPattern.MatchString(rg) {
		return nil, fmt.Errorf("invalid resource group %q: use 1-90 letters, digits, '_', '-', '.', '(' and ')'", rg)
	}
	if !vaultPattern.MatchString(name) {
		return nil, fmt.Errorf("invalid vault name %q: use 3-24 letters, digits and dashes", name)
	}
	return c.armURL(ctx, nil, append([]string{"resourceGroups", rg, "providers", "Microsoft.KeyVault", "vaults", name}, more...)...)
}

func (c *VaultsClient) deletedURL(ctx context.Context, location, name string, more ...string) (*url.URL, error) {
	if location == "" {
		location = DefaultLocation
	}
	if !locationPattern.MatchString(location) {
		return nil, fmt.Errorf("invalid location %q", location)
	}
	if !vaultPattern.MatchString(name) {
		return nil, fmt.Errorf("invalid vault name %q: use 3-24 letters, digits and dashes", name)
	}
	return c.armURL(ctx, nil, append([]string{"providers", "Microsoft.KeyVault", "locations", location, "deletedVaults", name}, more...)...)
}

// CreateOrUpdate creates the vault (or replaces the given settings and the
// tags of an existing one): PUT .../vaults/{name}. Location defaults to the
// server's, TenantID to the server's tenant, SKU to standard.
func (c *VaultsClient) CreateOrUpdate(ctx context.Context, rg, name string, params VaultCreateOrUpdateParameters) (Vault, error) {
	var out Vault
	u, err := c.vaultURL(ctx, rg, name)
	if err != nil {
		return out, err
	}
	if params.Location == "" {
		params.Location = DefaultLocation
	}
	if params.Properties.TenantID == "" {
		if params.Properties.TenantID, err = c.TenantID(ctx); err != nil {
			return out, err
		}
	}
	if params.Properties.SKU == nil {
		params.Properties.SKU = &SKU{Family: "A", Name: "standard"}
	}
	err = c.api.send(ctx, http.MethodPut, u, params, &out)
	return out, err
}

// Update changes the given tags and properties of a vault (PATCH).
func (c *VaultsClient) Update(ctx context.Context, rg, name string, params VaultPatchParameters) (Vault, error) {
	var out Vault
	u, err := c.vaultURL(ctx, rg, name)
	if err != nil {
		return out, err
	}
	err = c.api.send(ctx, http.MethodPatch, u, params, &out)
	return out, err
}

// Get returns a vault.
func (c *VaultsClient) Get(ctx context.Context, rg, name string) (Vault, error) {
	var out Vault
	u, err := c.vaultURL(ctx, rg, name)
	if err != nil {
		return out, err
	}
	err = c.api.send(ctx, http.MethodGet, u, nil, &out)
	return out, err
}

// Delete soft-deletes a vault; deleting a vault that does not exist
// succeeds, as on ARM.
func (c *VaultsClient) Delete(ctx context.Context, rg, name string) error {
	u, err := c.vaultURL(ctx, rg, name)
	if err != nil {
		return err
	}
	return c.api.send(ctx, http.MethodDelete, u, nil, nil)
}

// UpdateAccessPolicy applies kind "add" (merge the permissions into the
// entry of the same object and application, or add it), "replace" (set
// them) or "remove" (take them away; an entry left without any, or given
// without permissions, goes). Entries without a tenant id get the
// server's. It returns the entries the server applied.
func (c *VaultsClient) UpdateAccessPolicy(ctx context.Context, rg, name, kind string, entries []AccessPolicyEntry) ([]AccessPolicyEntry, error) {
	if kind != "add" && kind != "replace" && kind != "remove" {
		return nil, fmt.Errorf("invalid access policy operation %q: want add, replace or remove", kind)
	}
	u, err := c.vaultURL(ctx, rg, name, "accessPolicies", kind)
	if err != nil {
		return nil, err
	}
	body := struct {
		Properties struct {
			AccessPolicies []AccessPolicyEntry `json:"accessPolicies"`
		} `json:"properties"`
	}{}
	body.Properties.AccessPolicies = make([]AccessPolicyEntry, len(entries))
	for i, e := range entries {
		if e.TenantID == "" {
			if e.TenantID, err = c.TenantID(ctx); err != nil {
				return nil, err
			}
		}
		body.Properties.AccessPolicies[i] = e
	}
	var out struct {
		Properties struct {
			AccessPolicies []AccessPolicyEntry `json:"accessPolicies"`
		} `json:"properties"`
	}
	err = c.api.send(ctx, http.MethodPut, u, body, &out)
	return out.Properties.AccessPolicies, err
}

// ListByResourceGroup yields the vaults of a resource group that the
// caller may read; top > 0 sets the page size.
func (c *VaultsClient) ListByResourceGroup(ctx context.Context, rg string, top int) iter.Seq2[Vault, error] {
	if !rgPattern.MatchString(rg) {
		return failed[Vault](fmt.Errorf("invalid resource group %q", rg))
	}
	return c.listVaults(ctx, top, "resourceGroups", rg, "providers", "Microsoft.KeyVault", "vaults")
}

// ListBySubscription yields every vault the caller may read.
func (c *VaultsClient) ListBySubscription(ctx context.Context, top int) iter.Seq2[Vault, error] {
	return c.listVaults(ctx, top, "providers", "Microsoft.KeyVault", "vaults")
}

func (c *VaultsClient) listVaults(ctx context.Context, top int, segs ...string) iter.Seq2[Vault, error] {
	q := url.Values{}
	if top > 0 {
		q.Set("$top", strconv.Itoa(top))
	}
	return armPages[Vault](ctx, c, q, segs...)
}

// ListDeleted yields the soft-deleted vaults.
func (c *VaultsClient) ListDeleted(ctx context.Context) iter.Seq2[DeletedVault, error] {
	return armPages[DeletedVault](ctx, c, nil, "providers", "Microsoft.KeyVault", "deletedVaults")
}

func armPages[T any](ctx context.Context, c *VaultsClient, q url.Values, segs ...string) iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		var zero T
		u, err := c.armURL(ctx, q, segs...)
		for u != nil && err == nil {
			var p page[T]
			if err = c.api.send(ctx, http.MethodGet, u, nil, &p); err != nil {
				break
			}
			for _, v := range p.Value {
				if !yield(v, nil) {
					return
				}
			}
			u, err = c.api.nextPage(u, p.NextLink)
		}
		if err != nil {
			yield(zero, err)
		}
	}
}

func failed[T any](err error) iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		var zero T
		yield(zero, err)
	}
}

// Find returns the vault named name, whatever its resource group.
func (c *VaultsClient) Find(ctx context.Context, name string) (Vault, error) {
	for v, err := range c.ListBySubscription(ctx, 0) {
		if err != nil {
			return Vault{}, err
		}
		if strings.EqualFold(v.Name, name) {
			return v, nil
		}
	}
	return Vault{}, &ResponseError{StatusCode: http.StatusNotFound, Code: "ResourceNotFound",
		Message: "No vault named '" + name + "' that you may read exists on this server."}
}

// GetDeleted returns a soft-deleted vault; location "" means the server's.
func (c *VaultsClient) GetDeleted(ctx context.Context, location, name string) (DeletedVault, error) {
	var out DeletedVault
	u, err := c.deletedURL(ctx, location, name)
	if err != nil {
		return out, err
	}
	err = c.api.send(ctx, http.MethodGet, u, nil, &out)
	return out, err
}

// PurgeDeleted destroys a soft-deleted vault and everything in it. Under
// purge protection the server refuses until the scheduled purge date.
func (c *VaultsClient) PurgeDeleted(ctx context.Context, location, name string) error {
	u, err := c.deletedURL(ctx, location, name, "purge")
	if err != nil {
		return err
	}
	return c.api.send(ctx, http.MethodPost, u, nil, nil)
}

// Recover brings a soft-deleted vault back, with its data and settings,
// into the resource group it was deleted from (PUT with createMode
// "recover").
func (c *VaultsClient) Recover(ctx context.Context, name string) (Vault, error) {
	d, err := c.GetDeleted(ctx, "", name)
	if err != nil {
		return Vault{}, err
	}
	return c.CreateOrUpdate(ctx, d.ResourceGroup(), d.Name, VaultCreateOrUpdateParameters{Properties: VaultProperties{CreateMode: "recover"}})
}

// CheckNameAvailability reports whether a new vault may take name.
func (c *VaultsClient) CheckNameAvailability(ctx context.Context, name string) (NameAvailability, error) {
	var out NameAvailability
	u, err := c.armURL(ctx, nil, "providers", "Microsoft.KeyVault", "checkNameAvailability")
	if err != nil {
		return out, err
	}
	err = c.api.send(ctx, http.MethodPost, u, map[string]string{"name": name, "type": "Microsoft.KeyVault/vaults"}, &out)
	return out, err
}

// idSegment returns the segment after key in an ARM resource id.
func idSegment(id, key string) string {
	segs := strings.Split(id, "/")
	for i := 0; i+1 < len(segs); i++ {
		if strings.EqualFold(segs[i], key) {
			return segs[i+1]
		}
	}
	return ""
}
