package vaults

import (
	"net/netip"
	"regexp"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/keyhaven/keyhaven/internal/kverr"
)

// Settings are a vault's management-plane properties beyond its lifecycle
// ones, in the shape of ARM's Microsoft.KeyVault/vaults resource.
type Settings struct {
	ResourceGroup string            `json:"resourceGroup,omitempty"`
	Tags          map[string]string `json:"tags,omitempty"`
	SKU           string            `json:"sku,omitempty"` // standard or premium
	// AccessPolicies are the legacy authorization model's entries; they
	// are inert while RBACAuthorization is on.
	AccessPolicies []AccessPolicy `json:"accessPolicies,omitempty"`
	NetworkACLs    NetworkACLs    `json:"networkAcls"`
	// PublicNetworkAccess "Disabled" refuses every data-plane request
	// (keyhaven has no private endpoints; the management plane still
	// answers).
	PublicNetworkAccess          string `json:"publicNetworkAccess,omitempty"`
	EnabledForDeployment         bool   `json:"enabledForDeployment,omitempty"`
	EnabledForDiskEncryption     bool   `json:"enabledForDiskEncryption,omitempty"`
	EnabledForTemplateDeployment bool   `json:"enabledForTemplateDeployment,omitempty"`
}

// AccessPolicy is one access-policy entry: permissions per object type for
// an object id (user, group, application or managed identity), or, with
// ApplicationID, for that user only through that application (compound
// identity).
type AccessPolicy struct {
	TenantID      string      `json:"tenantId"`
	ObjectID      string      `json:"objectId"`
	ApplicationID string      `json:"applicationId,omitempty"`
	Permissions   Permissions `json:"permissions"`
}

// Permissions are Azure's access-policy permission names per object type.
type Permissions struct {
	Keys         []string `json:"keys,omitempty"`
	Secrets      []string `json:"secrets,omitempty"`
	Certificates []string `json:"certificates,omitempty"`
	Storage      []string `json:"storage,omitempty"`
}

// NetworkACLs are the data-plane firewall rules.
type NetworkACLs struct {
	Bypass              string   `json:"bypass,omitempty"`        // AzureServices or None (no Azure services here: informative)
	DefaultAction       string   `json:"defaultAction,omitempty"` // Allow (default) or Deny
	IPRules             []string `json:"ipRules,omitempty"`       // IPv4/IPv6 addresses or CIDR prefixes
	VirtualNetworkRules []string `json:"virtualNetworkRules,omitempty"`
}

// Limits and permission names.
const MaxAccessPolicies = 1024

var permissionNames = map[string][]string{
	"keys": {"all", "encrypt", "decrypt", "wrapkey", "unwrapkey", "sign", "verify", "get", "list", "create", "update", "import",
		"delete", "backup", "restore", "recover", "purge", "release", "rotate", "getrotationpolicy", "setrotationpolicy"},
	"secrets": {"all", "get", "list", "set", "delete", "backup", "restore", "recover", "purge"},
	"certificates": {"all", "get", "list", "delete", "create", "import", "update", "managecontacts", "getissuers", "listissuers",
		"setissuers", "deleteissuers", "manageissuers", "recover", "purge", "backup", "restore"},
	"storage": {"all", "get", "list", "delete", "set", "update", "regeneratekey", "recover", "purge", "backup", "restore", "setsas",
		"listsas", "getsas", "deletesas"},
}

var guidRE = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

// ValidGUID reports whether s is a GUID.
func ValidGUID(s string) bool { return guidRE.MatchString(s) }

func (s *Settings) normalize() {
	if s.SKU == "" {
		s.SKU = "standard"
	}
	s.SKU = strings.ToLower(s.SKU)
	if s.NetworkACLs.DefaultAction == "" {
		s.NetworkACLs.DefaultAction = "Allow"
	}
	if s.NetworkACLs.Bypass == "" {
		s.NetworkACLs.Bypass = "AzureServices"
	}
	if s.PublicNetworkAccess == "" {
		s.PublicNetworkAccess = "Enabled"
	}
	for i := range s.AccessPolicies {
		p := &s.AccessPolicies[i]
		p.ObjectID, p.ApplicationID, p.TenantID = strings.ToLower(p.ObjectID), strings.ToLower(p.ApplicationID), strings.ToLower(p.TenantID)
		for _, l := range []*[]string{&p.Permissions.Keys, &p.Permissions.Secrets, &p.Permissions.Certificates, &p.Permissions.Storage} {
			for j, v := range *l {
				(*l)[j] = strings.ToLower(v)
			}
			slices.Sort(*l)
			*l = slices.Compact(*l)
		}
	}
}

// Validate checks the settings as Azure's resource provider does.
func (s *Settings) Validate() error {
	switch s.SKU {
	case "standard", "premium":
	default:
		return kverr.BadParameterf("sku.name must be standard or premium.")
	}
	if len(s.Tags) > 50 {
		return kverr.BadParameterf("A vault has at most 50 tags.")
	}
	for k, v := range s.Tags {
		if k == "" || utf8.RuneCountInString(k) > 512 || utf8.RuneCountInString(v) > 256 || strings.ContainsAny(k, "<>%&\\?/") {
			return kverr.BadParameterf("Tag names must be 1-512 characters without <>%%&\\?/ and values at most 256 characters.")
		}
	}
	if s.ResourceGroup != "" && !ValidResourceGroup(s.ResourceGroup) {
		return kverr.BadParameterf("The resource group name must be 1-90 letters, digits, '_', '-', '.', '(' or ')' and not end with '.'.")
	}
	if len(s.AccessPolicies) > MaxAccessPolicies {
		return kverr.BadParameterf("A vault has at most %d access policies.", MaxAccessPolicies)
	}
	for _, p := range s.AccessPolicies {
		if err := p.validate(); err != nil {
			return err
		}
	}
	switch s.NetworkACLs.DefaultAction {
	case "Allow", "Deny":
	default:
		return kverr.BadParameterf("networkAcls.defaultAction must be Allow or Deny.")
	}
	switch s.NetworkACLs.Bypass {
	case "AzureServices", "None":
	default:
		return kverr.BadParameterf("networkAcls.bypass must be AzureServices or None.")
	}
	if len(s.NetworkACLs.IPRules) > 1000 {
		return kverr.BadParameterf("A vault has at most 1000 IP rules.")
	}
	for _, r := range s.NetworkACLs.IPRules {
		if _, err := ParseIPRule(r); err != nil {
			return kverr.BadParameterf("networkAcls.ipRules: '%s' is not an IPv4 or IPv6 address or CIDR prefix.", truncate(r, 64))
		}
	}
	switch s.PublicNetworkAccess {
	case "Enabled", "Disabled":
	default:
		return kverr.BadParameterf("publicNetworkAccess must be Enabled or Disabled.")
	}
	return nil
}

func (p AccessPolicy) validate() error {
	if !ValidGUID(p.ObjectID) || (p.TenantID != "" && !ValidGUID(p.TenantID)) || (p.ApplicationID != "" && !ValidGUID(p.ApplicationID)) {
		return kverr.BadParameterf("An access policy needs objectId (and tenantId, applicationId when given) as GUIDs.")
	}
	for kind, list := range map[string][]string{"keys": p.Permissions.Keys, "secrets": p.Permissions.Secrets,
		"certificates": p.Permissions.Certificates, "storage": p.Permissions.Storage} {
		for _, v := range list {
			if !slices.Contains(permissionNames[kind], v) {
				return kverr.BadParameterf("'%s' is not a %s permission (valid: %s).", truncate(v, 32), kind, strings.Join(permissionNames[kind], ", "))
			}
		}
	}
	return nil
}

// ParseIPRule parses an address ("203.0.113.5", "2001:db8::1") or a CIDR
// prefix ("203.0.113.0/24") as a prefix.
func ParseIPRule(r string) (netip.Prefix, error) {
	if strings.Contains(r, "/") {
		p, err := netip.ParsePrefix(r)
		return p.Masked(), err
	}
	a, err := netip.ParseAddr(r)
	if err != nil {
		return netip.Prefix{}, err
	}
	return netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()), nil
}

var rgRE = regexp.MustCompile(`^[-\w._()]{1,90}$`)

// ValidResourceGroup checks ARM's resource group name rule.
func ValidResourceGroup(s string) bool { return rgRE.MatchString(s) && !strings.HasSuffix(s, ".") }

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// Allows reports whether an access-policy entry grants perm ("secrets/get")
// to a caller with these object ids (its own and its groups'), signed in
// through appID (a person) or being appID (an application).
func (p AccessPolicy) Allows(perm string, ids []string, appID string, user bool) bool {
	kind, name, ok := strings.Cut(strings.ToLower(perm), "/")
	if !ok {
		return false
	}
	if !slices.ContainsFunc(ids, func(id string) bool { return strings.EqualFold(id, p.ObjectID) }) {
		return false
	}
	if p.ApplicationID != "" && (!user || !strings.EqualFold(appID, p.ApplicationID)) {
		return false // compound identity: this user, through this application only
	}
	var list []string
	switch kind {
	case "keys":
		list = p.Permissions.Keys
	case "secrets":
		list = p.Permissions.Secrets
	case "certificates":
		list = p.Permissions.Certificates
	case "storage":
		list = p.Permissions.Storage
	}
	return slices.Contains(list, name) || slices.Contains(list, "all")
}
