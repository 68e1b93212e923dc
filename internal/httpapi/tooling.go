package httpapi

import (
	"crypto/sha256"
	"encoding/hex"
	"net"
	"net/http"
	"strings"

	"github.com/keyhaven/keyhaven/internal/kverr"
)

// toolingRoutes are the Azure Resource Manager endpoints that Azure tooling
// probes on the server's bare host before it talks to a vault:
//
//   - GET /metadata/endpoints: the cloud's metadata (where to sign in, which
//     audience to ask for, the Key Vault DNS suffix). Public, as on ARM.
//     `az cloud register --endpoint-resource-manager https://host:port/`
//     and az's ARM_CLOUD_METADATA_URL read it; other tools ask for other
//     api-versions, each answered in its own shape (see cloudMetadata).
//   - GET /subscriptions[/{id}] and GET /tenants: what `az login` lists
//     once it holds a token. They need a bearer token of this server, as on
//     ARM, but no role: see subscriptionID for why every principal of the
//     tenant sees the one subscription.
//   - GET /adfs/{tenant}/.well-known/openid-configuration: how `az login`
//     turns a --tenant that is not a GUID (`--tenant adfs`) into one: it
//     fetches {loginEndpoint}/{tenant}/.well-known/openid-configuration and
//     takes the first path segment of the issuer.
func toolingRoutes() []route {
	return []route{
		{method: "GET", pattern: "/metadata/endpoints", op: "GetCloudMetadata", handle: (*Server).cloudMetadata},
		{method: "GET", pattern: "/subscriptions", op: "ListSubscriptions", handle: (*Server).listSubscriptions},
		{method: "GET", pattern: "/subscriptions/{subscriptionId}", op: "GetSubscription", handle: (*Server).getSubscription},
		{method: "GET", pattern: "/tenants", op: "ListTenants", handle: (*Server).listTenants},
		{method: "GET", pattern: "/adfs/{tenant}/.well-known/openid-configuration", op: "OpenIDConfiguration", handle: (*Server).resolveTenant},
	}
}

// cloudName names keyhaven's cloud in the metadata documents that carry a
// name (ARM_CLOUD_METADATA_URL makes it an `az cloud list` entry).
const cloudName = "keyhaven"

// armAuthentication is the "authentication" object of every metadata shape.
type armAuthentication struct {
	LoginEndpoint    string   `json:"loginEndpoint"`
	Audiences        []string `json:"audiences"`
	Tenant           string   `json:"tenant,omitempty"`
	IdentityProvider string   `json:"identityProvider,omitempty"`
}

// legacyCloudMetadata is the document of api-version 1.0 and 2015-01-01:
// what msrestazure (behind `az cloud register --endpoint-resource-manager`)
// and Go autorest's EnvironmentFromURL read.
type legacyCloudMetadata struct {
	GraphEndpoint  string            `json:"graphEndpoint"`
	Authentication armAuthentication `json:"authentication"`
}

// cloudMetadataDoc is one cloud in the document of api-version 2019-05-01 and
// later: an array of clouds up to 2022-09-01 (az's ARM_CLOUD_METADATA_URL,
// the Azure Stack samples), the cloud itself from 2022-09-01 on (az 2.47
// and later, go-azure-sdk). Only endpoints this server serves are named,
// apart from the Graph ones, which az requires to register a cloud.
type cloudMetadataDoc struct {
	Name                     string            `json:"name"`
	ResourceManager          string            `json:"resourceManager"`
	Authentication           armAuthentication `json:"authentication"`
	Graph                    string            `json:"graph"`
	GraphAudience            string            `json:"graphAudience"`
	MicrosoftGraphResourceID string            `json:"microsoftGraphResourceId"`
	Suffixes                 struct {
		KeyVaultDNS string `json:"keyVaultDns"`
	} `json:"suffixes"`
}

// cloudMetadata answers GET /metadata/endpoints in the shape the request's
// api-version asks for.
//
// The sign-in endpoint is the authority's ADFS shape ({origin}/adfs): the
// Azure CLI (MSAL) and the SDKs then neither ask Microsoft for instance
// discovery nor need a tenant id. The audience is this server's resource,
// https://{dns-suffix}: keyhaven has one resource, and its tokens serve the
// vaults and the server's own management endpoints alike, so the token `az
// login` gets for "ARM" is also the one `az account get-access-token`
// prints and the vaults accept. The Key Vault suffix carries the port the
// client used, so `https://{vault}{suffix}` is a vault URL; the Graph
// endpoints (required by `az cloud register`, served nowhere) name the
// server itself.
func (s *Server) cloudMetadata(c *call) error {
	origin := c.base()
	auth := armAuthentication{LoginEndpoint: origin + "/adfs", Audiences: []string{"https://" + s.DNSSuffix},
		Tenant: "adfs", IdentityProvider: "ADFS"}
	version, _ := c.queryValue("api-version")
	if version != "" && version < "2019-05-01" { // "1.0", "2015-01-01"
		return c.reply(http.StatusOK, legacyCloudMetadata{GraphEndpoint: origin + "/",
			Authentication: armAuthentication{LoginEndpoint: auth.LoginEndpoint, Audiences: auth.Audiences}})
	}
	doc := cloudMetadataDoc{Name: cloudName, ResourceManager: origin + "/", Authentication: auth,
		Graph: origin + "/", GraphAudience: origin + "/", MicrosoftGraphResourceID: origin + "/"}
	doc.Suffixes.KeyVaultDNS = s.DNSSuffix
	if _, port, err := net.SplitHostPort(c.r.Host); err == nil && port != "443" {
		doc.Suffixes.KeyVaultDNS += ":" + port
	}
	if version != "" && version < "2022-09-01" {
		return c.reply(http.StatusOK, []cloudMetadataDoc{doc})
	}
	return c.reply(http.StatusOK, doc)
}

// resolveTenant answers az's tenant lookup for "adfs" and the tenant id
// with the tenant's v1 document, whose issuer https://{host}/{tenant}/
// names the tenant id.
func (s *Server) resolveTenant(c *call) error {
	t := s.Identity.TenantID()
	if p := strings.ToLower(c.param(0)); p != "adfs" && p != t {
		return kverr.New(kverr.NotFound, "TenantNotFound", "Tenant '"+truncate(c.param(0), 64)+"' not found. This server's tenant id is "+t+".")
	}
	return s.oidcDoc(c, c.base()+"/"+t+"/", "/"+t+"/oauth2", "/"+t+"/discovery/keys")
}

// authenticateARM requires a valid bearer token of this server, answering
// as ARM does: 401 AuthenticationFailed without a token,
// InvalidAuthenticationToken with a bad one, and ARM's challenge, which
// names the authority (AAD shape, this server's tenant) in authorization_uri.
func (s *Server) authenticateARM(c *call) error {
	if s.Seal.Sealed() {
		return errSealed
	}
	missing := strings.TrimSpace(c.r.Header.Get("Authorization")) == ""
	err := s.authenticate(c)
	ke := kverr.As(err)
	if ke == nil || ke.Kind != kverr.Unauthorized {
		return err
	}
	code, msg := "InvalidAuthenticationToken", ke.Message
	if missing {
		code, msg = "AuthenticationFailed", "Authentication failed. The 'Authorization' header is missing."
	}
	c.w.Header().Set("WWW-Authenticate", `Bearer authorization_uri="`+c.base()+"/"+s.Identity.TenantID()+
		`", error="invalid_token", error_description="`+strings.ReplaceAll(msg, `"`, "'")+`"`)
	return kverr.New(kverr.Unauthorized, code, msg)
}

// subscriptionID is the id of the server's one subscription, derived from
// the tenant id (a version 8 UUID from SHA-256, RFC 9562), so it is stable
// for the server's lifetime and differs between servers.
//
// Why one subscription, shown to every principal of the tenant: `az login`
// fails when /subscriptions is empty (unless --allow-no-subscriptions), and
// afterwards az addresses everything through the subscription it chose:
// its tenant picks the token, its id appears in `az account show`.
// keyhaven has no subscriptions of its own (vaults are found by host and
// the management scope is the whole server), so the server is presented as
// a single subscription, named after its DNS suffix. Listing it hides
// nothing (its id follows from the tenant id, which every token carries)
// and grants nothing: what a principal may do is decided per request by
// its roles, as on Azure, where a subscription is visible as soon as a
// principal holds a role on anything in it.
func (s *Server) subscriptionID() string {
	sum := sha256.Sum256([]byte("keyhaven subscription\x00" + s.Identity.TenantID()))
	b := sum[:16]
	b[6] = b[6]&0x0f | 0x80 // version 8
	b[8] = b[8]&0x3f | 0x80 // RFC 9562 variant
	h := hex.EncodeToString(b)
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

type subscriptionPolicies struct {
	LocationPlacementID string `json:"locationPlacementId"`
	QuotaID             string `json:"quotaId"`
	SpendingLimit       string `json:"spendingLimit"`
}

type armSubscription struct {
	ID                   string               `json:"id"`
	AuthorizationSource  string               `json:"authorizationSource"`
	ManagedByTenants     []any                `json:"managedByTenants"`
	SubscriptionID       string               `json:"subscriptionId"`
	TenantID             string               `json:"tenantId"`
	DisplayName          string               `json:"displayName"`
	State                string               `json:"state"`
	SubscriptionPolicies subscriptionPolicies `json:"subscriptionPolicies"`
}

func (s *Server) subscription() armSubscription {
	id := s.subscriptionID()
	return armSubscription{ID: "/subscriptions/" + id, AuthorizationSource: "RoleBased", ManagedByTenants: []any{},
		SubscriptionID: id, TenantID: s.Identity.TenantID(), DisplayName: s.serverDisplayName(), State: "Enabled",
		SubscriptionPolicies: subscriptionPolicies{LocationPlacementID: "Internal_2014-09-01", QuotaID: "Internal_2014-09-01", SpendingLimit: "Off"}}
}

// serverDisplayName names the server's subscription and tenant.
func (s *Server) serverDisplayName() string { return "keyhaven (" + s.DNSSuffix + ")" }

type armCount struct {
	Type  string `json:"type"`
	Value int    `json:"value"`
}

func (s *Server) listSubscriptions(c *call) error {
	if err := s.authenticateARM(c); err != nil {
		return err
	}
	return c.reply(http.StatusOK, struct {
		Value []armSubscription `json:"value"`
		Count armCount          `json:"count"`
	}{Value: []armSubscription{s.subscription()}, Count: armCount{Type: "Total", Value: 1}})
}

func (s *Server) getSubscription(c *call) error {
	if err := s.authenticateARM(c); err != nil {
		return err
	}
	if !strings.EqualFold(c.param(0), s.subscriptionID()) {
		return kverr.New(kverr.NotFound, "SubscriptionNotFound", "The subscription '"+truncate(c.param(0), 64)+"' could not be found.")
	}
	return c.reply(http.StatusOK, s.subscription())
}

type armTenant struct {
	ID             string   `json:"id"`
	TenantID       string   `json:"tenantId"`
	TenantCategory string   `json:"tenantCategory"`
	DisplayName    string   `json:"displayName"`
	Domains        []string `json:"domains"`
}

func (s *Server) listTenants(c *call) error {
	if err := s.authenticateARM(c); err != nil {
		return err
	}
	t := s.Identity.TenantID()
	return c.reply(http.StatusOK, map[string]any{"value": []armTenant{{ID: "/tenants/" + t, TenantID: t,
		TenantCategory: "Home", DisplayName: s.serverDisplayName(), Domains: []string{}}}})
}
