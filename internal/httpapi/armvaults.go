package httpapi

import (
	"cmp"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/keyhaven/keyhaven/internal/authz"
	"github.com/keyhaven/keyhaven/internal/kverr"
	"github.com/keyhaven/keyhaven/internal/vaults"
)

// The vault management plane on the authority hosts, shaped like Azure
// Resource Manager's Microsoft.KeyVault resource provider
// (specs/keyvault-management/2025-05-01): create, update, get, delete and
// list vaults, change their access policies, list, get and purge deleted
// vaults, check a name. The server is one subscription (see
// subscriptionID) with one location, armLocation; resource groups are
// names a vault carries. Errors use ARM's CloudError codes (see armShaped).

// Operation names (Azure's operationIds, also the audit operation names).
const (
	opVaultPut          = "Vaults_CreateOrUpdate"
	opVaultPatch        = "Vaults_Update"
	opVaultGet          = "Vaults_Get"
	opVaultDelete       = "Vaults_Delete"
	opVaultAccessPolicy = "Vaults_UpdateAccessPolicy"
	opVaultListRG       = "Vaults_ListByResourceGroup"
	opVaultListSub      = "Vaults_ListBySubscription"
)

// ARM's management actions of the resource provider.
const (
	actVaultsRead       = "Microsoft.KeyVault/vaults/read"
	actVaultsWrite      = "Microsoft.KeyVault/vaults/write"
	actVaultsDelete     = "Microsoft.KeyVault/vaults/delete"
	actAccessPolicies   = "Microsoft.KeyVault/vaults/accessPolicies/write"
	actDeletedRead      = "Microsoft.KeyVault/deletedVaults/read"
	actLocDeletedRead   = "Microsoft.KeyVault/locations/deletedVaults/read"
	actPurge            = "Microsoft.KeyVault/locations/deletedVaults/purge/action"
	actCheckName        = "Microsoft.KeyVault/checkNameAvailability/read"
	actRoleAssignsWrite = "Microsoft.Authorization/roleAssignments/write"
)

const (
	armSub       = "/subscriptions/{subscriptionId}"
	armRGVaults  = armSub + "/resourceGroups/{resourceGroupName}/providers/Microsoft.KeyVault/vaults"
	armVaultPath = armRGVaults + "/{vaultName}"
	armDeleted   = armSub + "/providers/Microsoft.KeyVault/locations/{location}/deletedVaults/{vaultName}"
	// armVaultBody fits 1024 access policies of a few permissions each;
	// larger bodies are refused (413) before they are decoded.
	armVaultBody = 2 << 20
)

// armVaultRoutes are the vault management routes. Path parameters: 0 the
// subscription, then 1 the resource group or location, 2 the vault.
func armVaultRoutes() []route {
	return []route{
		{method: "PUT", pattern: armVaultPath, op: opVaultPut, action: actVaultsWrite, body: armVaultBody, handle: armRoute((*Server).armPutVault)},
		{method: "PATCH", pattern: armVaultPath, op: opVaultPatch, action: actVaultsWrite, body: armVaultBody, handle: armRoute((*Server).armPatchVault)},
		{method: "GET", pattern: armVaultPath, op: opVaultGet, action: actVaultsRead, handle: armRoute((*Server).armGetVault)},
		{method: "DELETE", pattern: armVaultPath, op: opVaultDelete, action: actVaultsDelete, handle: armRoute((*Server).armDeleteVault)},
		{method: "PUT", pattern: armVaultPath + "/accessPolicies/{operationKind}", op: opVaultAccessPolicy, action: actAccessPolicies,
			body: armVaultBody, handle: armRoute((*Server).armUpdateAccessPolicy)},
		{method: "GET", pattern: armRGVaults, op: opVaultListRG, action: actVaultsRead, handle: armRoute((*Server).armListByResourceGroup)},
		{method: "GET", pattern: armSub + "/providers/Microsoft.KeyVault/vaults", op: opVaultListSub, action: actVaultsRead,
			handle: armRoute((*Server).armListBySubscription)},
		{method: "GET", pattern: armSub + "/providers/Microsoft.KeyVault/deletedVaults", op: "Vaults_ListDeleted", action: actDeletedRead,
			handle: armRoute((*Server).armListDeleted)},
		{method: "GET", pattern: armDeleted, op: "Vaults_GetDeleted", action: actLocDeletedRead, handle: armRoute((*Server).armGetDeleted)},
		{method: "POST", pattern: armDeleted + "/purge", op: "Vaults_PurgeDeleted", action: actPurge, handle: armRoute((*Server).armPurgeDeleted)},
		{method: "POST", pattern: armSub + "/providers/Microsoft.KeyVault/checkNameAvailability", op: "Vaults_CheckNameAvailability",
			action: actCheckName, body: 4 << 10, handle: armRoute((*Server).armCheckName)},
	}
}

// armRoute wraps a handler with ARM's checks of every request: the
// subscription is the server's, and an api-version is named.
func armRoute(h func(*Server, *call) error) func(*Server, *call) error {
	return func(s *Server, c *call) error {
		if !strings.EqualFold(c.param(0), s.subscriptionID()) {
			return kverr.New(kverr.NotFound, "SubscriptionNotFound", "The subscription '"+truncate(c.param(0), 64)+"' could not be found.")
		}
		if v, _ := c.queryValue("api-version"); v == "" {
			return kverr.New(kverr.BadParameter, "MissingApiVersionParameter", "The api-version query parameter (?api-version=) is required for all requests.")
		}
		return h(s, c)
	}
}

func isARMRoute(c *call) bool { return c.route != nil && strings.HasPrefix(c.route.op, "Vaults_") }

// listsReadableVaults reports whether a route answers with the vaults the
// caller may read, deciding per vault instead of once for the route.
func listsReadableVaults(op string) bool { return op == opVaultListRG || op == opVaultListSub }

// managementScope is the scope at which a management route's action is
// checked: a vault's routes at the vault ("/vaults/{name}"), so roles
// assigned on one vault manage that vault; creating a vault (PUT of a name
// no vault has) and every other route at the server scope "/".
func (s *Server) managementScope(c *call) string {
	switch c.route.op {
	case opVaultGet, opVaultPatch, opVaultDelete, opVaultAccessPolicy:
		return vaultScope(c.param(2))
	case opVaultPut:
		if _, ok := s.Vaults.Lookup(c.param(2)); ok {
			return vaultScope(c.param(2))
		}
	}
	return "/"
}

func vaultScope(name string) string { return "/vaults/" + strings.ToLower(name) }

// armShaped turns an error of an ARM route into ARM's vocabulary: its
// authentication codes and challenge, BadRequest for invalid input, no
// innererror (CloudError has none).
func (s *Server) armShaped(c *call, ke *kverr.Error) *kverr.Error {
	if !isARMRoute(c) {
		return ke
	}
	out := *ke
	out.Inner = ""
	switch {
	case ke.Kind == kverr.Unauthorized:
		out.Code = "InvalidAuthenticationToken"
		if strings.TrimSpace(c.r.Header.Get("Authorization")) == "" {
			out.Code, out.Message = "AuthenticationFailed", "Authentication failed. The 'Authorization' header is missing."
		}
		c.w.Header().Set("WWW-Authenticate", `Bearer authorization_uri="`+c.base()+"/"+s.Identity.TenantID()+
			`", error="invalid_token", error_description="`+strings.ReplaceAll(out.Message, `"`, "'")+`"`)
	case ke.Code == "BadParameter":
		out.Code = "BadRequest"
	}
	return &out
}

// armVaultIn returns the vault name in resource group rg, or ARM's 404.
func (s *Server) armVaultIn(rg, name string) (*vaults.Vault, error) {
	v, ok := s.Vaults.Lookup(name)
	if !ok || !strings.EqualFold(resourceGroupOf(v), rg) {
		return nil, kverr.New(kverr.NotFound, "ResourceNotFound", "The Resource '"+armVaultType+"/"+truncate(name, 64)+
			"' under resource group '"+truncate(rg, 90)+"' was not found.")
	}
	return v, nil
}

// armNotFound turns the registry's "no such vault" into ARM's 404.
func armNotFound(err error, rg, name string) error {
	if ke := kverr.As(err); ke != nil && ke.Code == "VaultNotFound" {
		return kverr.New(kverr.NotFound, "ResourceNotFound", "The Resource '"+armVaultType+"/"+truncate(name, 64)+
			"' under resource group '"+truncate(rg, 90)+"' was not found.")
	}
	return err
}

// checkARMNames checks the resource group and vault names of a path.
func checkARMNames(rg, name string) error {
	if !vaults.ValidResourceGroup(rg) {
		return armBadRequest("The resource group name must be 1-90 letters, digits, '_', '-', '.', '(' or ')' and not end with '.'.")
	}
	if vaults.ValidateName(name) != nil {
		return kverr.New(kverr.BadParameter, "VaultNameNotValid", "The vault name '"+truncate(name, 64)+"' is invalid. A vault's name must be "+
			"between 3-24 alphanumeric characters. The name must begin with a letter, end with a letter or digit, and not contain consecutive hyphens.")
	}
	return nil
}

// checkLocation requires the server's location (ARM's rule for PUT).
func checkLocation(loc *string) error {
	if loc == nil || *loc == "" {
		return kverr.New(kverr.BadParameter, "LocationRequired", "The location property is required for this definition.")
	}
	if !strings.EqualFold(strings.ReplaceAll(*loc, " ", ""), armLocation) {
		return kverr.New(kverr.BadParameter, "LocationNotAvailableForResourceType", "The provided location '"+truncate(*loc, 64)+
			"' is not available for resource type '"+armVaultType+"'. List of available regions for the resource type is '"+armLocation+"'.")
	}
	return nil
}

// armPutVault is Vaults_CreateOrUpdate: 201 with a new vault, 200 with an
// updated or recovered one. Everything is checked before anything changes.
func (s *Server) armPutVault(c *call) error {
	rg, name := c.param(1), c.param(2)
	if err := checkARMNames(rg, name); err != nil {
		return err
	}
	var req armVaultRequest
	if err := c.decode(&req); err != nil {
		return err
	}
	if req.Properties == nil {
		return armBadRequest("The request body needs properties.")
	}
	if err := checkLocation(req.Location); err != nil {
		return err
	}
	if err := s.checkProperties(req.Properties, true); err != nil {
		return err
	}
	existing, exists := s.Vaults.Lookup(name)
	recoverMode := req.Properties.CreateMode != nil && strings.EqualFold(*req.Properties.CreateMode, "recover")
	switch {
	case exists && !strings.EqualFold(resourceGroupOf(existing), rg):
		return kverr.New(kverr.Conflict, "VaultAlreadyExists", "The vault name '"+existing.Name+"' is already in use.")
	case exists:
		tags := req.Tags
		if tags == nil {
			tags = map[string]string{} // PUT replaces the tags
		}
		v, err := s.armUpdate(c, rg, name, tags, req.Properties)
		if err != nil {
			return err
		}
		return c.reply(http.StatusOK, s.armVaultView(c, v))
	case recoverMode:
		return s.armRecover(c, rg, name)
	}
	return s.armCreate(c, rg, name, &req)
}

// armCreate creates a vault; it needs vaults/write at the server scope
// (also when the route was authorized at a vault that has since gone).
func (s *Server) armCreate(c *call, rg, name string, req *armVaultRequest) error {
	if err := s.authorizeManagementAt(c, actVaultsWrite, "/"); err != nil {
		return err
	}
	p := req.Properties
	var policies []vaults.AccessPolicy
	if p.AccessPolicies != nil {
		var err error
		if policies, err = s.armPolicies(*p.AccessPolicies); err != nil {
			return err
		}
	}
	rbac := rbacDefault(c.apiVersion())
	setBool(&rbac, p.EnableRbacAuthorization)
	var tmpl vaults.Vault // the properties land on a template, then in the spec
	applyProperties(&tmpl, p, policies)
	tmpl.Settings.ResourceGroup, tmpl.Settings.Tags = rg, req.Tags
	v, err := s.Vaults.Create(c.r.Context(), vaults.Spec{Name: name, SoftDeleteRetentionDays: tmpl.SoftDeleteRetentionDays,
		PurgeProtection: tmpl.PurgeProtection, AccessPolicyModel: !rbac, Settings: tmpl.Settings})
	if err != nil {
		return err
	}
	return c.reply(http.StatusCreated, s.armVaultView(c, v))
}

// armRecover is PUT with createMode "recover": the soft-deleted vault of
// that name comes back, with its data and settings, into its own
// resource group.
func (s *Server) armRecover(c *call, rg, name string) error {
	d, err := s.Vaults.GetDeleted(c.r.Context(), name)
	if err != nil {
		return err
	}
	if orig := resourceGroupOf(&d.Vault); !strings.EqualFold(orig, rg) {
		return armBadRequest("The soft-deleted vault belongs to resource group '%s': recover it there.", orig)
	}
	v, err := s.Vaults.Recover(c.r.Context(), name)
	if err != nil {
		return err
	}
	return c.reply(http.StatusOK, s.armVaultView(c, v))
}

// armUpdate applies present properties (and tags, when not nil) in one
// transaction. Turning RBAC on or off needs the right to assign roles
// (Microsoft.Authorization/roleAssignments/write) at the vault, as in
// Azure: it decides who may use the data plane.
func (s *Server) armUpdate(c *call, rg, name string, tags map[string]string, p *armVaultPropsInput) (*vaults.Vault, error) {
	if p == nil {
		p = &armVaultPropsInput{}
	}
	var policies []vaults.AccessPolicy
	if p.AccessPolicies != nil {
		var err error
		if policies, err = s.armPolicies(*p.AccessPolicies); err != nil {
			return nil, err
		}
	}
	v, err := s.Vaults.Update(c.r.Context(), name, func(v *vaults.Vault) error {
		if !strings.EqualFold(resourceGroupOf(v), rg) {
			return kverr.New(kverr.NotFound, "VaultNotFound", "moved")
		}
		if p.EnableRbacAuthorization != nil && *p.EnableRbacAuthorization != v.RBACAuthorization {
			if err := s.authorizeManagementAt(c, actRoleAssignsWrite, vaultScope(name)); err != nil {
				return err
			}
			v.RBACAuthorization = *p.EnableRbacAuthorization
		}
		if tags != nil {
			v.Tags = tags
		}
		applyProperties(v, p, policies)
		return nil
	})
	return v, armNotFound(err, rg, name)
}

// armPatchVault is Vaults_Update: only the properties present change.
func (s *Server) armPatchVault(c *call) error {
	rg, name := c.param(1), c.param(2)
	var req armVaultRequest
	if err := c.decode(&req); err != nil {
		return err
	}
	if _, err := s.armVaultIn(rg, name); err != nil {
		return err
	}
	if err := s.checkProperties(req.Properties, false); err != nil {
		return err
	}
	v, err := s.armUpdate(c, rg, name, req.Tags, req.Properties)
	if err != nil {
		return err
	}
	return c.reply(http.StatusOK, s.armVaultView(c, v))
}

func (s *Server) armGetVault(c *call) error {
	v, err := s.armVaultIn(c.param(1), c.param(2))
	if err != nil {
		return err
	}
	return c.reply(http.StatusOK, s.armVaultView(c, v))
}

// armDeleteVault soft-deletes a vault: 200, or 204 when there is none, as
// ARM answers a DELETE of an absent resource.
func (s *Server) armDeleteVault(c *call) error {
	rg, name := c.param(1), c.param(2)
	if _, err := s.armVaultIn(rg, name); err != nil {
		return c.noContent()
	}
	if err := s.Vaults.Delete(c.r.Context(), name); err != nil {
		if ke := kverr.As(err); ke != nil && ke.Code == "VaultNotFound" {
			return c.noContent()
		}
		return err
	}
	c.w.Header().Set("Content-Length", "0")
	c.w.WriteHeader(http.StatusOK)
	return nil
}

// armUpdateAccessPolicy is Vaults_UpdateAccessPolicy (add, replace,
// remove); it answers with the entries it was given, as Azure does.
func (s *Server) armUpdateAccessPolicy(c *call) error {
	rg, name, kind := c.param(1), c.param(2), strings.ToLower(c.param(3))
	if kind != "add" && kind != "replace" && kind != "remove" {
		return armBadRequest("The operation kind must be add, replace or remove.")
	}
	var req struct {
		Properties *struct {
			AccessPolicies *[]armAccessPolicy `json:"accessPolicies"`
		} `json:"properties"`
	}
	if err := c.decode(&req); err != nil {
		return err
	}
	if req.Properties == nil || req.Properties.AccessPolicies == nil {
		return armBadRequest("properties.accessPolicies is required.")
	}
	v, err := s.armVaultIn(rg, name)
	if err != nil {
		return err
	}
	entries, err := s.armPolicies(*req.Properties.AccessPolicies)
	if err != nil {
		return err
	}
	if _, err := s.Vaults.ChangeAccessPolicies(c.r.Context(), v.Name, kind, entries); err != nil {
		return armNotFound(err, rg, name)
	}
	out := armAccessPolicyResult{ID: s.armVaultID(resourceGroupOf(v), v.Name) + "/accessPolicies/" + kind, Name: kind,
		Type: armVaultType + "/accessPolicies", Location: armLocation}
	out.Properties.AccessPolicies = s.armPoliciesView(entries)
	return c.reply(http.StatusOK, out)
}

func (s *Server) armListByResourceGroup(c *call) error {
	if !vaults.ValidResourceGroup(c.param(1)) {
		return armBadRequest("The resource group name must be 1-90 letters, digits, '_', '-', '.', '(' or ')' and not end with '.'.")
	}
	return s.armListVaults(c, c.param(1))
}

func (s *Server) armListBySubscription(c *call) error { return s.armListVaults(c, "") }

// armListVaults answers a page of the vaults (of resource group rg, or
// all) the caller may read, by name. $top sets the page size; nextLink
// continues after the page's last name ($skiptoken).
func (s *Server) armListVaults(c *call, rg string) error {
	top := 0
	if raw, ok := c.queryValue("$top"); ok {
		n, err := strconv.Atoi(raw)
		if err != nil || n < 1 {
			return armBadRequest("$top must be a positive integer.")
		}
		top = n
	}
	after, _ := c.queryValue("$skiptoken")
	list := s.Vaults.List()
	slices.SortFunc(list, func(a, b *vaults.Vault) int { return cmp.Compare(strings.ToLower(a.Name), strings.ToLower(b.Name)) })
	page := armPage[armVault]{Value: []armVault{}}
	for _, v := range list {
		switch {
		case rg != "" && !strings.EqualFold(resourceGroupOf(v), rg), strings.ToLower(v.Name) <= strings.ToLower(after):
			continue
		case !s.allowedManagement(c, actVaultsRead, vaultScope(v.Name)):
			continue
		case top > 0 && len(page.Value) == top:
			q := url.Values{"api-version": {c.apiVersion()}, "$top": {strconv.Itoa(top)}, "$skiptoken": {page.Value[top-1].Name}}
			page.NextLink = c.base() + c.r.URL.EscapedPath() + "?" + q.Encode()
			return c.reply(http.StatusOK, page)
		}
		page.Value = append(page.Value, s.armVaultView(c, v))
	}
	return c.reply(http.StatusOK, page)
}

func (s *Server) armListDeleted(c *call) error {
	list, err := s.Vaults.ListDeleted(c.r.Context())
	if err != nil {
		return err
	}
	page := armPage[armDeletedVault]{Value: []armDeletedVault{}}
	for i := range list {
		page.Value = append(page.Value, s.armDeletedView(&list[i]))
	}
	return c.reply(http.StatusOK, page)
}

// armDeletedIn returns the soft-deleted vault of the path, in the server's
// location.
func (s *Server) armDeletedIn(c *call) (*vaults.DeletedVault, error) {
	if !strings.EqualFold(c.param(1), armLocation) {
		return nil, kverr.New(kverr.NotFound, "ResourceNotFound", "There are no deleted vaults in location '"+truncate(c.param(1), 64)+
			"'; this server's location is '"+armLocation+"'.")
	}
	return s.Vaults.GetDeleted(c.r.Context(), c.param(2))
}

func (s *Server) armGetDeleted(c *call) error {
	d, err := s.armDeletedIn(c)
	if err != nil {
		return err
	}
	return c.reply(http.StatusOK, s.armDeletedView(d))
}

// armPurgeDeleted destroys a soft-deleted vault; under purge protection
// it is refused, whoever asks, until the scheduled purge date.
func (s *Server) armPurgeDeleted(c *call) error {
	d, err := s.armDeletedIn(c)
	if err != nil {
		return err
	}
	if err := s.Vaults.Purge(c.r.Context(), d.Vault.Name); err != nil {
		return err
	}
	c.w.Header().Set("Content-Length", "0")
	c.w.WriteHeader(http.StatusOK)
	return nil
}

// armCheckName is Vaults_CheckNameAvailability: a name is taken while a
// vault or a soft-deleted vault has it.
func (s *Server) armCheckName(c *call) error {
	var req struct {
		Name string `json:"name"`
		Type string `json:"type"`
	}
	if err := c.decode(&req); err != nil {
		return err
	}
	if !strings.EqualFold(req.Type, armVaultType) {
		return armBadRequest("type must be %s.", armVaultType)
	}
	type result struct {
		NameAvailable bool   `json:"nameAvailable"`
		Reason        string `json:"reason,omitempty"`
		Message       string `json:"message,omitempty"`
	}
	if err := vaults.ValidateName(req.Name); err != nil {
		return c.reply(http.StatusOK, result{Reason: "AccountNameInvalid", Message: "Vault name must only contain alphanumeric characters and dashes, " +
			"be 3-24 characters long, start with a letter, end with a letter or digit, and not contain consecutive hyphens."})
	}
	taken, err := s.Vaults.Exists(c.r.Context(), req.Name)
	if err != nil {
		return err
	}
	if taken {
		return c.reply(http.StatusOK, result{Reason: "AlreadyExists", Message: "The vault name '" + req.Name + "' is already in use. " +
			"A soft-deleted vault keeps its name until it is purged."})
	}
	return c.reply(http.StatusOK, result{NameAvailable: true})
}

// authorizeManagementAt checks a management action at scope for the
// caller.
func (s *Server) authorizeManagementAt(c *call, action, scope string) error {
	if s.allowedManagement(c, action, scope) {
		return nil
	}
	return kverr.New(kverr.Forbidden, "AuthorizationFailed", "The client '"+c.principal.ObjectID+
		"' does not have authorization to perform action '"+action+"' over scope '"+scope+"'.")
}

// allowedManagement reports whether the caller may perform a management
// action at scope.
func (s *Server) allowedManagement(c *call, action, scope string) bool {
	return s.Authz.Policy().Decide(authz.Request{PrincipalIDs: c.principal.IDs(), Action: action, Scope: scope, Management: true, Now: s.Now(),
		User: c.principal.User || c.principal.External != "", MFA: c.principal.MFA(), Issuer: c.principal.External}).Allowed
}
