package httpapi

import (
	"net"
	"strings"
	"time"

	"github.com/keyhaven/keyhaven/internal/kverr"
	"github.com/keyhaven/keyhaven/internal/vaults"
)

// The wire shapes of ARM's Microsoft.KeyVault/vaults resource
// (specs/keyvault-management/2025-05-01/keyvault.json) and their mapping
// to the vault registry's settings.

const (
	// armLocation is the one location of a keyhaven server: every vault
	// lives there and deleted vaults are listed under it.
	armLocation = "keyhaven"
	// defaultResourceGroup holds the vaults created without one (the dev
	// vault, vaults of older servers).
	defaultResourceGroup = "keyhaven"
	armVaultType         = "Microsoft.KeyVault/vaults"
)

// armVault is ARM's Vault resource.
type armVault struct {
	ID         string             `json:"id"`
	Name       string             `json:"name"`
	Type       string             `json:"type"`
	Location   string             `json:"location"`
	Tags       map[string]string  `json:"tags"`
	SystemData *armSystemData     `json:"systemData,omitempty"`
	Properties armVaultProperties `json:"properties"`
}

type armSystemData struct {
	CreatedAt time.Time `json:"createdAt"`
}

type armVaultProperties struct {
	TenantID                     string            `json:"tenantId"`
	SKU                          armSKU            `json:"sku"`
	AccessPolicies               []armAccessPolicy `json:"accessPolicies"`
	VaultURI                     string            `json:"vaultUri"`
	EnabledForDeployment         bool              `json:"enabledForDeployment"`
	EnabledForDiskEncryption     bool              `json:"enabledForDiskEncryption"`
	EnabledForTemplateDeployment bool              `json:"enabledForTemplateDeployment"`
	EnableSoftDelete             bool              `json:"enableSoftDelete"`
	SoftDeleteRetentionInDays    int               `json:"softDeleteRetentionInDays"`
	EnableRbacAuthorization      bool              `json:"enableRbacAuthorization"`
	// EnablePurgeProtection is absent until it is on, as Azure reports it.
	EnablePurgeProtection *bool         `json:"enablePurgeProtection,omitempty"`
	NetworkACLs           armNetworkACL `json:"networkAcls"`
	ProvisioningState     string        `json:"provisioningState"`
	PublicNetworkAccess   string        `json:"publicNetworkAccess"`
}

type armSKU struct {
	Family string `json:"family"`
	Name   string `json:"name"`
}

type armAccessPolicy struct {
	TenantID      string         `json:"tenantId"`
	ObjectID      string         `json:"objectId"`
	ApplicationID string         `json:"applicationId,omitempty"`
	Permissions   armPermissions `json:"permissions"`
}

type armPermissions struct {
	Keys         []string `json:"keys"`
	Secrets      []string `json:"secrets"`
	Certificates []string `json:"certificates"`
	Storage      []string `json:"storage,omitempty"`
}

type armNetworkACL struct {
	Bypass              string        `json:"bypass"`
	DefaultAction       string        `json:"defaultAction"`
	IPRules             []armIPRule   `json:"ipRules"`
	VirtualNetworkRules []armVNetRule `json:"virtualNetworkRules"`
}

type armIPRule struct {
	Value string `json:"value"`
}

type armVNetRule struct {
	ID string `json:"id"`
}

// armVaultRequest is VaultCreateOrUpdateParameters (PUT) and
// VaultPatchParameters (PATCH, without location). Pointers tell absent
// fields from zero values.
type armVaultRequest struct {
	Location   *string             `json:"location"`
	Tags       map[string]string   `json:"tags"`
	Properties *armVaultPropsInput `json:"properties"`
}

// armVaultPropsInput is VaultProperties / VaultPatchProperties as sent.
// Read-only properties (vaultUri, provisioningState, ...) are ignored.
type armVaultPropsInput struct {
	TenantID                     *string            `json:"tenantId"`
	SKU                          *armSKU            `json:"sku"`
	AccessPolicies               *[]armAccessPolicy `json:"accessPolicies"`
	EnabledForDeployment         *bool              `json:"enabledForDeployment"`
	EnabledForDiskEncryption     *bool              `json:"enabledForDiskEncryption"`
	EnabledForTemplateDeployment *bool              `json:"enabledForTemplateDeployment"`
	EnableSoftDelete             *bool              `json:"enableSoftDelete"`
	SoftDeleteRetentionInDays    *int               `json:"softDeleteRetentionInDays"`
	EnableRbacAuthorization      *bool              `json:"enableRbacAuthorization"`
	CreateMode                   *string            `json:"createMode"`
	EnablePurgeProtection        *bool              `json:"enablePurgeProtection"`
	NetworkACLs                  *armNetworkACL     `json:"networkAcls"`
	PublicNetworkAccess          *string            `json:"publicNetworkAccess"`
}

// armDeletedVault is ARM's DeletedVault.
type armDeletedVault struct {
	ID         string                 `json:"id"`
	Name       string                 `json:"name"`
	Type       string                 `json:"type"`
	Properties armDeletedVaultDetails `json:"properties"`
}

type armDeletedVaultDetails struct {
	VaultID                string            `json:"vaultId"`
	Location               string            `json:"location"`
	DeletionDate           time.Time         `json:"deletionDate"`
	ScheduledPurgeDate     time.Time         `json:"scheduledPurgeDate"`
	Tags                   map[string]string `json:"tags"`
	PurgeProtectionEnabled bool              `json:"purgeProtectionEnabled"`
}

// armAccessPolicyResult is VaultAccessPolicyParameters, the answer of an
// access-policy change.
type armAccessPolicyResult struct {
	ID         string `json:"id"`
	Name       string `json:"name"`
	Type       string `json:"type"`
	Location   string `json:"location"`
	Properties struct {
		AccessPolicies []armAccessPolicy `json:"accessPolicies"`
	} `json:"properties"`
}

type armPage[T any] struct {
	Value    []T    `json:"value"`
	NextLink string `json:"nextLink,omitempty"`
}

// resourceGroupOf is the vault's resource group.
func resourceGroupOf(v *vaults.Vault) string {
	if v.ResourceGroup == "" {
		return defaultResourceGroup
	}
	return v.ResourceGroup
}

func (s *Server) armVaultID(rg, name string) string {
	return "/subscriptions/" + s.subscriptionID() + "/resourceGroups/" + rg + "/providers/" + armVaultType + "/" + name
}

// armVaultView renders a vault as ARM does; its vaultUri uses the port
// the client reached the server on.
func (s *Server) armVaultView(c *call, v *vaults.Vault) armVault {
	tags := v.Tags
	if tags == nil {
		tags = map[string]string{}
	}
	p := armVaultProperties{
		TenantID: s.Identity.TenantID(), SKU: armSKU{Family: "A", Name: v.SKU}, AccessPolicies: s.armPoliciesView(v.AccessPolicies),
		VaultURI:             "https://" + strings.ToLower(v.Name) + "." + s.DNSSuffix + portSuffix(c.r.Host) + "/",
		EnabledForDeployment: v.EnabledForDeployment, EnabledForDiskEncryption: v.EnabledForDiskEncryption,
		EnabledForTemplateDeployment: v.EnabledForTemplateDeployment, EnableSoftDelete: true,
		SoftDeleteRetentionInDays: v.SoftDeleteRetentionDays, EnableRbacAuthorization: v.RBACAuthorization,
		NetworkACLs: armNetworkView(v.NetworkACLs), ProvisioningState: "Succeeded", PublicNetworkAccess: v.PublicNetworkAccess,
	}
	if v.PurgeProtection {
		on := true
		p.EnablePurgeProtection = &on
	}
	out := armVault{ID: s.armVaultID(resourceGroupOf(v), v.Name), Name: v.Name, Type: armVaultType, Location: armLocation,
		Tags: tags, Properties: p}
	if !v.Created.IsZero() {
		out.SystemData = &armSystemData{CreatedAt: v.Created.UTC()}
	}
	return out
}

// portSuffix is ":port" of a host:port, empty on 443 or without a port.
func portSuffix(host string) string {
	if _, port, err := net.SplitHostPort(host); err == nil && port != "443" {
		return ":" + port
	}
	return ""
}

func (s *Server) armPoliciesView(in []vaults.AccessPolicy) []armAccessPolicy {
	out := make([]armAccessPolicy, 0, len(in))
	for _, p := range in {
		tenant := p.TenantID
		if tenant == "" {
			tenant = s.Identity.TenantID()
		}
		out = append(out, armAccessPolicy{TenantID: tenant, ObjectID: p.ObjectID, ApplicationID: p.ApplicationID,
			Permissions: armPermissions{Keys: nonNil(p.Permissions.Keys), Secrets: nonNil(p.Permissions.Secrets),
				Certificates: nonNil(p.Permissions.Certificates), Storage: p.Permissions.Storage}})
	}
	return out
}

func armNetworkView(n vaults.NetworkACLs) armNetworkACL {
	out := armNetworkACL{Bypass: n.Bypass, DefaultAction: n.DefaultAction, IPRules: []armIPRule{}, VirtualNetworkRules: []armVNetRule{}}
	for _, r := range n.IPRules {
		out.IPRules = append(out.IPRules, armIPRule{Value: r})
	}
	for _, r := range n.VirtualNetworkRules {
		out.VirtualNetworkRules = append(out.VirtualNetworkRules, armVNetRule{ID: r})
	}
	return out
}

func (s *Server) armDeletedView(d *vaults.DeletedVault) armDeletedVault {
	tags := d.Vault.Tags
	if tags == nil {
		tags = map[string]string{}
	}
	return armDeletedVault{
		ID:   "/subscriptions/" + s.subscriptionID() + "/providers/Microsoft.KeyVault/locations/" + armLocation + "/deletedVaults/" + d.Vault.Name,
		Name: d.Vault.Name, Type: "Microsoft.KeyVault/deletedVaults",
		Properties: armDeletedVaultDetails{VaultID: s.armVaultID(resourceGroupOf(&d.Vault), d.Vault.Name), Location: armLocation,
			DeletionDate: d.DeletionDate.UTC(), ScheduledPurgeDate: d.ScheduledPurgeDate.UTC(), Tags: tags,
			PurgeProtectionEnabled: d.Vault.PurgeProtection},
	}
}

// armBadRequest is ARM's 400 for invalid input. Messages name fields and
// limits, never request values.
func armBadRequest(format string, args ...any) error {
	e := kverr.BadParameterf(format, args...)
	e.Code = "BadRequest"
	return e
}

// checkProperties checks what the registry does not: the tenant, the SKU's
// shape, soft delete (always on), the create mode and virtual network
// rules (keyhaven has no virtual networks). required asks for tenantId
// and sku, as VaultProperties (PUT) does.
func (s *Server) checkProperties(p *armVaultPropsInput, required bool) error {
	switch {
	case p == nil:
		return nil
	case required && (p.TenantID == nil || p.SKU == nil):
		return armBadRequest("properties.tenantId and properties.sku are required.")
	case p.TenantID != nil && !strings.EqualFold(*p.TenantID, s.Identity.TenantID()):
		return armBadRequest("properties.tenantId must be this server's tenant id, %s.", s.Identity.TenantID())
	case p.SKU != nil && p.SKU.Family != "" && !strings.EqualFold(p.SKU.Family, "A"):
		return armBadRequest("sku.family must be A.")
	case p.SKU != nil && !strings.EqualFold(p.SKU.Name, "standard") && !strings.EqualFold(p.SKU.Name, "premium"):
		return armBadRequest("sku.name must be standard or premium.")
	case p.EnableSoftDelete != nil && !*p.EnableSoftDelete:
		return armBadRequest("The property \"enableSoftDelete\" cannot be set to false: soft delete is mandatory for every vault.")
	case p.CreateMode != nil && !strings.EqualFold(*p.CreateMode, "default") && !strings.EqualFold(*p.CreateMode, "recover"):
		return armBadRequest("properties.createMode must be default or recover.")
	case p.NetworkACLs != nil && len(p.NetworkACLs.VirtualNetworkRules) > 0:
		return armBadRequest("networkAcls.virtualNetworkRules are not supported: keyhaven has no virtual networks; use ipRules.")
	}
	return nil
}

// armPolicies turns access-policy entries into the registry's, checking
// them (tenant, GUIDs, permission names, count) before anything changes.
func (s *Server) armPolicies(in []armAccessPolicy) ([]vaults.AccessPolicy, error) {
	tenant := s.Identity.TenantID()
	out := make([]vaults.AccessPolicy, 0, len(in))
	for _, e := range in {
		if !strings.EqualFold(e.TenantID, tenant) {
			return nil, armBadRequest("Every access policy needs tenantId, this server's tenant id %s.", tenant)
		}
		out = append(out, vaults.AccessPolicy{TenantID: tenant, ObjectID: e.ObjectID, ApplicationID: e.ApplicationID,
			Permissions: vaults.Permissions{Keys: e.Permissions.Keys, Secrets: e.Permissions.Secrets,
				Certificates: e.Permissions.Certificates, Storage: e.Permissions.Storage}})
	}
	if err := vaults.ValidateAccessPolicies(out); err != nil {
		return nil, err
	}
	return out, nil
}

// applyProperties sets the present properties on v. The permission model
// is changed by the caller, which checks the right to do so.
func applyProperties(v *vaults.Vault, p *armVaultPropsInput, policies []vaults.AccessPolicy) {
	if p.SKU != nil {
		v.SKU = strings.ToLower(p.SKU.Name)
	}
	if p.AccessPolicies != nil {
		v.AccessPolicies = policies
	}
	setBool(&v.EnabledForDeployment, p.EnabledForDeployment)
	setBool(&v.EnabledForDiskEncryption, p.EnabledForDiskEncryption)
	setBool(&v.EnabledForTemplateDeployment, p.EnabledForTemplateDeployment)
	setBool(&v.PurgeProtection, p.EnablePurgeProtection)
	if p.SoftDeleteRetentionInDays != nil {
		v.SoftDeleteRetentionDays = *p.SoftDeleteRetentionInDays
	}
	if p.NetworkACLs != nil {
		v.NetworkACLs = networkFromARM(p.NetworkACLs)
	}
	if p.PublicNetworkAccess != nil {
		v.PublicNetworkAccess = canonical(*p.PublicNetworkAccess, "Enabled", "Disabled")
	}
}

func setBool(dst *bool, src *bool) {
	if src != nil {
		*dst = *src
	}
}

// canonical returns the spelling among names that s matches ignoring
// case, or s itself (which validation then refuses).
func canonical(s string, names ...string) string {
	for _, n := range names {
		if strings.EqualFold(s, n) {
			return n
		}
	}
	return s
}

func networkFromARM(n *armNetworkACL) vaults.NetworkACLs {
	out := vaults.NetworkACLs{Bypass: canonical(n.Bypass, "AzureServices", "None"), DefaultAction: canonical(n.DefaultAction, "Allow", "Deny")}
	for _, r := range n.IPRules {
		out.IPRules = append(out.IPRules, r.Value)
	}
	return out
}

// rbacDefault is enableRbacAuthorization of a vault created without it:
// off up to api-version 2025-x, on from 2026-02-01, as in Azure.
func rbacDefault(apiVersion string) bool { return apiVersion >= "2026-02-01" }
