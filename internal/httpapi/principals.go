package httpapi

import (
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/keyhaven/keyhaven/internal/authz"
	"github.com/keyhaven/keyhaven/internal/identity"
	"github.com/keyhaven/keyhaven/internal/kverr"
)

const idApps = "Keyhaven/identity/applications/"

// principalRoutes are the management API of applications (service
// principals) and their credentials, on the authority hosts. They need a
// bearer token and a management role (Owner) at the server scope.
func principalRoutes() []route {
	const body = 64 << 10
	routes := []route{
		{method: "POST", pattern: "/identity/applications", op: "CreateApplication", action: idApps + "write", body: body, handle: (*Server).createApplication},
		{method: "GET", pattern: "/identity/applications", op: "ListApplications", action: idApps + "read", handle: (*Server).listApplications},
		{method: "GET", pattern: "/identity/applications/{appId}", op: "GetApplication", action: idApps + "read", handle: (*Server).getApplication},
		{method: "DELETE", pattern: "/identity/applications/{appId}", op: "DeleteApplication", action: idApps + "delete", handle: (*Server).deleteApplication},
		{method: "POST", pattern: "/identity/applications/{appId}/secrets", op: "AddApplicationSecret", action: idApps + "credentials/write", body: body, handle: (*Server).addApplicationSecret},
		{method: "POST", pattern: "/identity/applications/{appId}/certificates", op: "AddApplicationCertificate", action: idApps + "credentials/write", body: body, handle: (*Server).addApplicationCertificate},
		{method: "POST", pattern: "/identity/applications/{appId}/federatedCredentials", op: "AddApplicationFederatedCredential", action: idApps + "credentials/write", body: body, handle: (*Server).addFederatedCredential},
		{method: "DELETE", pattern: "/identity/applications/{appId}/credentials/{credId}", op: "RemoveApplicationCredential", action: idApps + "credentials/delete", handle: (*Server).removeApplicationCredential},
	}
	return append(routes, directoryRoutes()...)
}

// authorizeManagement checks a management route's action for the
// authenticated caller at the route's scope (managementScope): the server
// ("/"), or one vault for the routes of an existing vault. Routes that
// list vaults decide per vault and answer with the readable ones.
func (s *Server) authorizeManagement(c *call) error {
	if listsReadableVaults(c.route.op) {
		return nil
	}
	return s.authorizeManagementAt(c, c.route.action, s.managementScope(c))
}

type newAppRequest struct {
	DisplayName string `json:"displayName"`
}

type secretRequest struct {
	ExpiresInDays *int `json:"expiresInDays"`
}

type newSecretReply struct {
	identity.CredentialInfo
	Secret string `json:"secret"`
}

type newAppReply struct {
	identity.AppInfo
	Secret   string `json:"secret"`
	TenantID string `json:"tenantId"`
}

func (s *Server) createApplication(c *call) error {
	var req newAppRequest
	if err := c.decode(&req); err != nil {
		return err
	}
	if !identity.ValidDisplayName(req.DisplayName) {
		return kverr.BadParameterf("displayName must be 1-120 characters without line breaks.")
	}
	app, secret, err := s.Identity.CreateApp(c.r.Context(), req.DisplayName, 365*24*time.Hour)
	if err != nil {
		return err
	}
	return c.reply(http.StatusCreated, newAppReply{AppInfo: app.Info(), Secret: secret, TenantID: s.Identity.TenantID()})
}

func (s *Server) listApplications(c *call) error {
	return s.listServicePrincipals(c, identity.KindApplication)
}

// listServicePrincipals lists the applications or the managed identities.
func (s *Server) listServicePrincipals(c *call, kind string) error {
	apps, err := s.Identity.ListApps(c.r.Context())
	if err != nil {
		return err
	}
	out := []identity.AppInfo{}
	for _, a := range apps {
		if a.Kind == kind {
			out = append(out, a)
		}
	}
	return c.reply(http.StatusOK, map[string]any{"value": out})
}

func appError(err error, appID string) error {
	switch {
	case errors.Is(err, identity.ErrNotFound):
		return kverr.New(kverr.NotFound, "NotFound", "Application or credential not found in application "+truncate(appID, 64)+".")
	case identity.ErrTooManyCredentials(err):
		return kverr.BadParameterf("An application has at most 20 credentials; remove one first.")
	}
	return err
}

func (s *Server) getApplication(c *call) error {
	app, err := s.Identity.GetApp(c.r.Context(), c.param(0))
	if err != nil {
		return appError(err, c.param(0))
	}
	return c.reply(http.StatusOK, app)
}

func (s *Server) deleteApplication(c *call) error {
	if strings.EqualFold(c.param(0), c.principal.AppID) {
		return kverr.BadParameterf("An application cannot delete itself.")
	}
	app, err := s.Identity.GetApp(c.r.Context(), c.param(0))
	if err != nil {
		return appError(err, c.param(0))
	}
	// Its role assignments go first: a deleted principal keeps no role, and
	// the last Owner cannot be deleted.
	if err := s.RoleAssignments.RemovePrincipal(c.r.Context(), app.ObjectID); errors.Is(err, authz.ErrLastOwner) {
		return kverr.New(kverr.Conflict, "Conflict", "This application is the server's last Owner: assign another Owner first.")
	} else if err != nil {
		return err
	}
	if err := s.Identity.DeleteApp(c.r.Context(), c.param(0)); err != nil {
		return appError(err, c.param(0))
	}
	return c.noContent()
}

func (s *Server) addApplicationSecret(c *call) error {
	var req secretRequest
	if len(c.body) > 0 {
		if err := c.decode(&req); err != nil {
			return err
		}
	}
	days := 365
	if req.ExpiresInDays != nil {
		days = *req.ExpiresInDays
	}
	if days < 1 || days > 730 {
		return kverr.BadParameterf("expiresInDays must be between 1 and 730.")
	}
	info, secret, err := s.Identity.AddSecret(c.r.Context(), c.param(0), time.Duration(days)*24*time.Hour)
	if err != nil {
		return appError(err, c.param(0))
	}
	return c.reply(http.StatusCreated, newSecretReply{CredentialInfo: info, Secret: secret})
}

// addApplicationCertificate takes {"certificate": PEM or base64 DER}.
func (s *Server) addApplicationCertificate(c *call) error {
	var req struct {
		Certificate string `json:"certificate"`
	}
	if err := json.Unmarshal(c.body, &req); err != nil || req.Certificate == "" {
		return kverr.BadParameterf("The body must be {\"certificate\": \"<PEM or base64 DER>\"}.")
	}
	der := []byte(nil)
	if b, _ := pem.Decode([]byte(req.Certificate)); b != nil && b.Type == "CERTIFICATE" {
		der = b.Bytes
	} else if raw, err := base64.StdEncoding.DecodeString(req.Certificate); err == nil {
		der = raw
	}
	id, err := s.Identity.AddCertificate(c.r.Context(), c.param(0), der)
	if errors.Is(err, identity.ErrNotFound) || identity.ErrTooManyCredentials(err) {
		return appError(err, c.param(0))
	}
	if err != nil {
		return kverr.BadParameterf("The certificate is not an RSA X.509 certificate.")
	}
	app, err := s.Identity.GetApp(c.r.Context(), c.param(0))
	if err != nil {
		return appError(err, c.param(0))
	}
	for _, cred := range app.Credentials {
		if cred.ID == id {
			return c.reply(http.StatusCreated, cred)
		}
	}
	return c.reply(http.StatusCreated, map[string]string{"id": id})
}

func (s *Server) removeApplicationCredential(c *call) error {
	if err := s.Identity.RemoveCredential(c.r.Context(), c.param(0), c.param(1)); err != nil {
		return appError(err, c.param(0))
	}
	return c.noContent()
}

// addFederatedCredential takes {"issuer": "https://...", "subject": "...",
// "audiences": ["api://AzureADTokenExchange"]}: tokens of that external
// issuer for that subject and audience are exchanged for this
// application's tokens (WorkloadIdentityCredential).
func (s *Server) addFederatedCredential(c *call) error {
	var req struct {
		Issuer    string   `json:"issuer"`
		Subject   string   `json:"subject"`
		Audiences []string `json:"audiences"`
	}
	if err := c.decode(&req); err != nil {
		return err
	}
	id, err := s.Identity.AddFederated(c.r.Context(), c.param(0), req.Issuer, req.Subject, req.Audiences)
	if errors.Is(err, identity.ErrNotFound) || identity.ErrTooManyCredentials(err) {
		return appError(err, c.param(0))
	}
	if err != nil {
		return kverr.BadParameterf("%s", strings.TrimPrefix(err.Error(), "identity: "))
	}
	app, err := s.Identity.GetApp(c.r.Context(), c.param(0))
	if err != nil {
		return appError(err, c.param(0))
	}
	for _, cred := range app.Credentials {
		if cred.ID == id {
			return c.reply(http.StatusCreated, cred)
		}
	}
	return c.reply(http.StatusCreated, map[string]string{"id": id})
}
