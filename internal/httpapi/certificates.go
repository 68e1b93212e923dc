package httpapi

import (
	"context"
	"encoding/base64"
	"net/http"
	"net/url"
	"strings"

	"github.com/keyhaven/keyhaven/internal/certs"
	"github.com/keyhaven/keyhaven/internal/kverr"
	"github.com/keyhaven/keyhaven/internal/vaults"
)

const (
	cv  = "Microsoft.KeyVault/vaults/certificates/"
	cas = "Microsoft.KeyVault/vaults/certificatecas/"
	ccw = "Microsoft.KeyVault/vaults/certificatecontacts/write"
)

// Certificate request limits: an import carries a bundle of up to 4 MiB
// (in base64), a merge up to 50 certificates, the rest a policy.
const (
	certImportBody = 6 << 20
	certMergeBody  = 2 << 20
	certBody       = 256 << 10
)

func certificateRoutes() []route {
	return []route{
		{method: "POST", pattern: "/certificates/{name}/create", op: "CreateCertificate", action: cv + "create/action", scope: scopeObject, body: certBody, handle: (*Server).createCertificate},
		{method: "POST", pattern: "/certificates/{name}/import", op: "ImportCertificate", action: cv + "import/action", scope: scopeObject, body: certImportBody, handle: (*Server).importCertificate},
		{method: "GET", pattern: "/certificates/{name}", op: "GetCertificate", action: cv + "read", scope: scopeObject, handle: (*Server).getCertificate},
		{method: "GET", pattern: "/certificates/{name}/{version}", op: "GetCertificate", action: cv + "read", scope: scopeObject, handle: (*Server).getCertificate},
		{method: "PATCH", pattern: "/certificates/{name}", op: "UpdateCertificate", action: cv + "update/action", scope: scopeObject, body: certBody, handle: (*Server).updateCertificate},
		{method: "PATCH", pattern: "/certificates/{name}/{version}", op: "UpdateCertificate", action: cv + "update/action", scope: scopeObject, body: certBody, handle: (*Server).updateCertificate},
		{method: "DELETE", pattern: "/certificates/{name}", op: "DeleteCertificate", action: cv + "delete", scope: scopeObject, handle: (*Server).deleteCertificate},
		{method: "GET", pattern: "/certificates", op: "GetCertificates", action: cv + "read", scope: scopeVault, handle: listRoute(func(s *Server, c *call, cur string, max int) (certs.Page[certs.Certificate], error) {
			return s.Certs.List(c.r.Context(), c.vault, cur, max)
		}, func(c *call, x *certs.Certificate) certBundle { return c.certItemJSON(x, false) })},
		{method: "GET", pattern: "/certificates/{name}/versions", op: "GetCertificateVersions", action: cv + "read", scope: scopeObject, handle: listRoute(func(s *Server, c *call, cur string, max int) (certs.Page[certs.Certificate], error) {
			return s.Certs.ListVersions(c.r.Context(), c.vault, c.param(0), cur, max)
		}, func(c *call, x *certs.Certificate) certBundle { return c.certItemJSON(x, true) })},
		{method: "GET", pattern: "/certificates/{name}/policy", op: "GetCertificatePolicy", action: cv + "read", scope: scopeObject, handle: (*Server).getCertificatePolicy},
		{method: "PATCH", pattern: "/certificates/{name}/policy", op: "UpdateCertificatePolicy", action: cv + "update/action", scope: scopeObject, body: certBody, handle: (*Server).updateCertificatePolicy},
		{method: "GET", pattern: "/certificates/{name}/pending", op: "GetCertificateOperation", action: cv + "read", scope: scopeObject, handle: (*Server).getCertificateOperation},
		{method: "PATCH", pattern: "/certificates/{name}/pending", op: "UpdateCertificateOperation", action: cv + "update/action", scope: scopeObject, body: certBody, handle: (*Server).updateCertificateOperation},
		{method: "DELETE", pattern: "/certificates/{name}/pending", op: "DeleteCertificateOperation", action: cv + "update/action", scope: scopeObject, handle: (*Server).deleteCertificateOperation},
		{method: "POST", pattern: "/certificates/{name}/pending/merge", op: "MergeCertificate", action: cv + "create/action", scope: scopeObject, body: certMergeBody, handle: (*Server).mergeCertificate},
		{method: "POST", pattern: "/certificates/{name}/backup", op: "BackupCertificate", action: cv + "backup/action", scope: scopeObject, handle: backupRoute(func(s *Server) func(context.Context, *vaults.Vault, string) ([]byte, error) { return s.Certs.Backup })},
		{method: "POST", pattern: "/certificates/restore", op: "RestoreCertificate", action: cv + "restore/action", scope: scopeVault, body: restoreBody, handle: (*Server).restoreCertificate},
		{method: "GET", pattern: "/deletedcertificates", op: "GetDeletedCertificates", action: cv + "read", scope: scopeVault, handle: listRoute(func(s *Server, c *call, cur string, max int) (certs.Page[certs.DeletedCertificate], error) {
			return s.Certs.ListDeleted(c.r.Context(), c.vault, cur, max)
		}, func(c *call, x *certs.DeletedCertificate) certBundle { return c.deletedCertJSON(x, true) })},
		{method: "GET", pattern: "/deletedcertificates/{name}", op: "GetDeletedCertificate", action: cv + "read", scope: scopeObject, handle: (*Server).getDeletedCertificate},
		{method: "DELETE", pattern: "/deletedcertificates/{name}", op: "PurgeDeletedCertificate", action: cv + "purge/action", scope: scopeObject, handle: purgeRoute(func(s *Server) func(context.Context, *vaults.Vault, string) error { return s.Certs.Purge })},
		{method: "POST", pattern: "/deletedcertificates/{name}/recover", op: "RecoverDeletedCertificate", action: cv + "recover/action", scope: scopeObject, handle: (*Server).recoverDeletedCertificate},
		{method: "GET", pattern: "/certificates/contacts", op: "GetCertificateContacts", action: ccw, scope: scopeVault, handle: (*Server).getContacts},
		{method: "PUT", pattern: "/certificates/contacts", op: "SetCertificateContacts", action: ccw, scope: scopeVault, body: certBody, handle: (*Server).setContacts},
		{method: "DELETE", pattern: "/certificates/contacts", op: "DeleteCertificateContacts", action: ccw, scope: scopeVault, handle: (*Server).deleteContacts},
		{method: "GET", pattern: "/certificates/issuers", op: "GetCertificateIssuers", action: cas + "read", scope: scopeVault, handle: listRoute(func(s *Server, c *call, cur string, max int) (certs.Page[certs.Issuer], error) {
			return s.Certs.ListIssuers(c.r.Context(), c.vault, cur, max)
		}, func(c *call, x *certs.Issuer) issuerItem {
			return issuerItem{ID: c.issuerID(x.Name), Provider: x.Provider}
		})},
		{method: "GET", pattern: "/certificates/issuers/{issuer}", op: "GetCertificateIssuer", action: cas + "read", scope: scopeVault, handle: (*Server).getIssuer},
		{method: "PUT", pattern: "/certificates/issuers/{issuer}", op: "SetCertificateIssuer", action: cas + "write", scope: scopeVault, body: certBody, handle: (*Server).setIssuer},
		{method: "PATCH", pattern: "/certificates/issuers/{issuer}", op: "UpdateCertificateIssuer", action: cas + "write", scope: scopeVault, body: certBody, handle: (*Server).updateIssuer},
		{method: "DELETE", pattern: "/certificates/issuers/{issuer}", op: "DeleteCertificateIssuer", action: cas + "delete", scope: scopeVault, handle: (*Server).deleteIssuer},
	}
}

// Wire shapes of certificates.json.

type certAttributesIn struct {
	Enabled   *bool     `json:"enabled"`
	NotBefore *unixTime `json:"nbf"` // set by the certificate; accepted and ignored as in Azure
	Expires   *unixTime `json:"exp"`
}

func (a *certAttributesIn) enabled() *bool {
	if a == nil {
		return nil
	}
	return a.Enabled
}

type certCreateRequest struct {
	Policy            *certs.Policy     `json:"policy"`
	Attributes        *certAttributesIn `json:"attributes"`
	Tags              map[string]string `json:"tags"`
	PreserveCertOrder *bool             `json:"preserveCertOrder"`
}

type certImportRequest struct {
	Value             *string           `json:"value"`
	Password          *string           `json:"pwd"`
	Policy            *certs.Policy     `json:"policy"`
	Attributes        *certAttributesIn `json:"attributes"`
	Tags              map[string]string `json:"tags"`
	PreserveCertOrder *bool             `json:"preserveCertOrder"`
}

type certUpdateRequest struct {
	Policy     *certs.Policy     `json:"policy"`
	Attributes *certAttributesIn `json:"attributes"`
	Tags       map[string]string `json:"tags"`
}

type certMergeRequest struct {
	X5C        [][]byte          `json:"x5c"`
	Attributes *certAttributesIn `json:"attributes"`
	Tags       map[string]string `json:"tags"`
}

type certAttributesOut struct {
	Enabled         bool   `json:"enabled"`
	NotBefore       int64  `json:"nbf,omitempty"` // absent while pending
	Expires         int64  `json:"exp,omitempty"`
	Created         int64  `json:"created"`
	Updated         int64  `json:"updated"`
	RecoverableDays int    `json:"recoverableDays"`
	RecoveryLevel   string `json:"recoveryLevel"`
}

type policyJSON struct {
	ID string `json:"id"`
	*certs.Policy
}

type certBundle struct {
	ID                string            `json:"id"`
	Kid               string            `json:"kid,omitempty"`
	Sid               string            `json:"sid,omitempty"`
	X5t               base64URL         `json:"x5t,omitempty"`
	Cer               []byte            `json:"cer,omitempty"`
	ContentType       string            `json:"contentType,omitempty"`
	Attributes        certAttributesOut `json:"attributes"`
	Tags              map[string]string `json:"tags,omitempty"`
	Policy            *policyJSON       `json:"policy,omitempty"`
	PreserveCertOrder *bool             `json:"preserveCertOrder,omitempty"`
	// Deleted certificates only.
	RecoveryID         string `json:"recoveryId,omitempty"`
	DeletedDate        int64  `json:"deletedDate,omitempty"`
	ScheduledPurgeDate int64  `json:"scheduledPurgeDate,omitempty"`
}

type certOperationJSON struct {
	ID                    string                 `json:"id"`
	Issuer                certs.IssuerParameters `json:"issuer"`
	CSR                   []byte                 `json:"csr,omitempty"`
	CancellationRequested bool                   `json:"cancellation_requested"`
	Status                string                 `json:"status"`
	StatusDetails         string                 `json:"status_details,omitempty"`
	Error                 *certs.OperationError  `json:"error,omitempty"`
	Target                string                 `json:"target,omitempty"`
	RequestID             string                 `json:"request_id"`
	PreserveCertOrder     *bool                  `json:"preserveCertOrder,omitempty"`
}

type issuerItem struct {
	ID       string `json:"id"`
	Provider string `json:"provider,omitempty"`
}

type issuerJSON struct {
	ID string `json:"id"`
	*certs.Issuer
}

type contactsJSON struct {
	ID       string          `json:"id,omitempty"`
	Contacts []certs.Contact `json:"contacts"`
}

func (c *call) certAttributes(a certs.Attributes) certAttributesOut {
	return certAttributesOut{Enabled: a.Enabled, NotBefore: a.NotBefore, Expires: a.Expires, Created: a.Created,
		Updated: a.Updated, RecoverableDays: c.vault.SoftDeleteRetentionDays, RecoveryLevel: c.vault.RecoveryLevel()}
}

// certJSON encodes a certificate bundle: versioned ids of the certificate,
// its key and its secret, the DER certificate and the policy; a pending
// certificate has only its id, attributes and policy.
func (c *call) certJSON(x *certs.Certificate) certBundle {
	path := "/" + x.Name + "/" + x.Version
	b := certBundle{ID: c.base() + "/certificates" + path, X5t: x.Thumbprint, Cer: x.DER, ContentType: x.ContentType,
		Attributes: c.certAttributes(x.Attributes), Tags: x.Tags}
	if !x.Pending { // the key and secret appear with the signed certificate
		b.Kid, b.Sid = c.base()+"/keys"+path, c.base()+"/secrets"+path
	}
	if x.Policy != nil {
		b.Policy = c.policyJSON(x.Name, x.Policy)
	}
	if x.PreserveOrder {
		b.PreserveCertOrder = &x.PreserveOrder
	}
	return b
}

// certItemJSON encodes a list item: id (versioned in version lists), x5t,
// attributes and tags.
func (c *call) certItemJSON(x *certs.Certificate, withVersion bool) certBundle {
	id := c.base() + "/certificates/" + x.Name
	if withVersion {
		id += "/" + x.Version
	}
	return certBundle{ID: id, X5t: x.Thumbprint, Attributes: c.certAttributes(x.Attributes), Tags: x.Tags}
}

func (c *call) deletedCertJSON(d *certs.DeletedCertificate, item bool) certBundle {
	var b certBundle
	if item {
		b = c.certItemJSON(&d.Certificate, false)
	} else {
		b = c.certJSON(&d.Certificate)
	}
	b.RecoveryID = c.base() + "/deletedcertificates/" + d.Name
	b.DeletedDate, b.ScheduledPurgeDate = d.DeletedDate, d.ScheduledPurgeDate
	return b
}

func (c *call) policyJSON(name string, p *certs.Policy) *policyJSON {
	return &policyJSON{ID: c.base() + "/certificates/" + name + "/policy", Policy: p}
}

func (c *call) operationJSON(op *certs.Operation) certOperationJSON {
	out := certOperationJSON{ID: c.base() + "/certificates/" + op.Name + "/pending", Issuer: op.Issuer, CSR: op.CSR,
		CancellationRequested: op.CancellationRequested, Status: op.Status, StatusDetails: op.StatusDetails,
		Error: op.Error, RequestID: op.RequestID}
	if op.Completed {
		out.Target = c.base() + "/certificates/" + op.Name
	}
	if op.PreserveCertOrder {
		out.PreserveCertOrder = &op.PreserveCertOrder
	}
	return out
}

func (c *call) issuerID(name string) string { return c.base() + "/certificates/issuers/" + name }

// Handlers.

func (s *Server) createCertificate(c *call) error {
	var req certCreateRequest
	if err := c.decode(&req); err != nil {
		return err
	}
	op, err := s.Certs.Create(c.r.Context(), c.vault, c.param(0), certs.CreateParams{Policy: req.Policy,
		Enabled: req.Attributes.enabled(), Tags: req.Tags, PreserveCertOrder: req.PreserveCertOrder})
	if err != nil {
		return err
	}
	q := url.Values{"api-version": {c.apiVersion()}, "request_id": {op.RequestID}}
	h := c.w.Header()
	h.Set("Location", c.base()+"/certificates/"+op.Name+"/pending?"+q.Encode())
	h.Set("Retry-After", "10")
	if op.Status != certs.StatusInProgress {
		h.Set("Retry-After", "0")
	}
	return c.reply(http.StatusAccepted, c.operationJSON(op))
}

func (s *Server) importCertificate(c *call) error {
	var req certImportRequest
	if err := c.decode(&req); err != nil {
		return err
	}
	p := certs.ImportParams{Policy: req.Policy, Enabled: req.Attributes.enabled(), Tags: req.Tags, PreserveCertOrder: req.PreserveCertOrder}
	if req.Value != nil {
		p.Value = *req.Value
	}
	if req.Password != nil {
		p.Password = *req.Password
	}
	x, err := s.Certs.Import(c.r.Context(), c.vault, c.param(0), p)
	return c.certReply(http.StatusOK, x, err)
}

func (s *Server) getCertificate(c *call) error {
	x, err := s.Certs.Get(c.r.Context(), c.vault, c.param(0), c.param(1))
	return c.certReply(http.StatusOK, x, err)
}

func (s *Server) updateCertificate(c *call) error {
	var req certUpdateRequest
	if err := c.decode(&req); err != nil {
		return err
	}
	x, err := s.Certs.Update(c.r.Context(), c.vault, c.param(0), c.param(1), certs.UpdateParams{
		Attributes: certs.AttributesUpdate{Enabled: req.Attributes.enabled()}, Tags: req.Tags, Policy: req.Policy})
	return c.certReply(http.StatusOK, x, err)
}

func (c *call) certReply(status int, x *certs.Certificate, err error) error {
	if err != nil {
		return err
	}
	return c.reply(status, c.certJSON(x))
}

func (s *Server) deleteCertificate(c *call) error {
	d, err := s.Certs.Delete(c.r.Context(), c.vault, c.param(0))
	if err != nil {
		return err
	}
	return c.reply(http.StatusOK, c.deletedCertJSON(d, false))
}

func (s *Server) getCertificatePolicy(c *call) error {
	p, err := s.Certs.GetPolicy(c.r.Context(), c.vault, c.param(0))
	if err != nil {
		return err
	}
	return c.reply(http.StatusOK, c.policyJSON(c.param(0), p))
}

func (s *Server) updateCertificatePolicy(c *call) error {
	var req certs.Policy
	if err := c.decode(&req); err != nil {
		return err
	}
	p, err := s.Certs.UpdatePolicy(c.r.Context(), c.vault, c.param(0), &req)
	if err != nil {
		return err
	}
	return c.reply(http.StatusOK, c.policyJSON(c.param(0), p))
}

func (c *call) operationRequestID() string {
	v, _ := c.queryValue("request_id")
	return v
}

func (s *Server) getCertificateOperation(c *call) error {
	op, err := s.Certs.GetOperation(c.r.Context(), c.vault, c.param(0), c.operationRequestID())
	if err != nil {
		return err
	}
	if strings.Contains(c.r.Header.Get("Accept"), "application/pkcs10") {
		if op.CSR == nil {
			return kverr.New(kverr.NotFound, "PendingCertificateNotFound", "The certificate operation has no certificate signing request.")
		}
		body := base64.StdEncoding.EncodeToString(op.CSR)
		c.w.Header().Set("Content-Type", "application/pkcs10")
		c.w.WriteHeader(http.StatusOK)
		_, _ = c.w.Write([]byte(body))
		return nil
	}
	return c.reply(http.StatusOK, c.operationJSON(op))
}

func (s *Server) updateCertificateOperation(c *call) error {
	var req struct {
		CancellationRequested *bool `json:"cancellation_requested"`
	}
	if err := c.decode(&req); err != nil {
		return err
	}
	if req.CancellationRequested == nil {
		return kverr.BadParameterf("The parameter 'cancellation_requested' is required.")
	}
	op, err := s.Certs.CancelOperation(c.r.Context(), c.vault, c.param(0), c.operationRequestID(), *req.CancellationRequested)
	if err != nil {
		return err
	}
	return c.reply(http.StatusOK, c.operationJSON(op))
}

func (s *Server) deleteCertificateOperation(c *call) error {
	op, err := s.Certs.DeleteOperation(c.r.Context(), c.vault, c.param(0), c.operationRequestID())
	if err != nil {
		return err
	}
	return c.reply(http.StatusOK, c.operationJSON(op))
}

func (s *Server) mergeCertificate(c *call) error {
	var req certMergeRequest
	if err := c.decode(&req); err != nil {
		return err
	}
	x, err := s.Certs.Merge(c.r.Context(), c.vault, c.param(0), certs.MergeParams{X5C: req.X5C,
		Enabled: req.Attributes.enabled(), Tags: req.Tags})
	if err != nil {
		return err
	}
	c.w.Header().Set("Location", c.base()+"/certificates/"+x.Name+"?"+url.Values{"api-version": {c.apiVersion()}}.Encode())
	return c.reply(http.StatusCreated, c.certJSON(x))
}

func (s *Server) restoreCertificate(c *call) error {
	blob, err := c.backupValue()
	if err != nil {
		return err
	}
	x, err := s.Certs.Restore(c.r.Context(), c.vault, blob)
	return c.certReply(http.StatusOK, x, err)
}

func (s *Server) getDeletedCertificate(c *call) error {
	d, err := s.Certs.GetDeleted(c.r.Context(), c.vault, c.param(0))
	if err != nil {
		return err
	}
	return c.reply(http.StatusOK, c.deletedCertJSON(d, false))
}

func (s *Server) recoverDeletedCertificate(c *call) error {
	x, err := s.Certs.Recover(c.r.Context(), c.vault, c.param(0))
	return c.certReply(http.StatusOK, x, err)
}

func (c *call) contactsReply(cs []certs.Contact, err error) error {
	if err != nil {
		return err
	}
	return c.reply(http.StatusOK, contactsJSON{ID: c.base() + "/certificates/contacts", Contacts: cs})
}

func (s *Server) getContacts(c *call) error {
	cs, err := s.Certs.GetContacts(c.r.Context(), c.vault)
	return c.contactsReply(cs, err)
}

func (s *Server) setContacts(c *call) error {
	var req contactsJSON
	if err := c.decode(&req); err != nil {
		return err
	}
	cs, err := s.Certs.SetContacts(c.r.Context(), c.vault, req.Contacts)
	return c.contactsReply(cs, err)
}

func (s *Server) deleteContacts(c *call) error {
	cs, err := s.Certs.DeleteContacts(c.r.Context(), c.vault)
	return c.contactsReply(cs, err)
}

func (c *call) issuerReply(i *certs.Issuer, err error) error {
	if err != nil {
		return err
	}
	return c.reply(http.StatusOK, issuerJSON{ID: c.issuerID(i.Name), Issuer: i})
}

func (s *Server) getIssuer(c *call) error {
	i, err := s.Certs.GetIssuer(c.r.Context(), c.vault, c.param(0))
	return c.issuerReply(i, err)
}

func (s *Server) setIssuer(c *call) error {
	var req certs.Issuer
	if err := c.decode(&req); err != nil {
		return err
	}
	i, err := s.Certs.SetIssuer(c.r.Context(), c.vault, c.param(0), req)
	return c.issuerReply(i, err)
}

func (s *Server) updateIssuer(c *call) error {
	var req certs.Issuer
	if err := c.decode(&req); err != nil {
		return err
	}
	i, err := s.Certs.UpdateIssuer(c.r.Context(), c.vault, c.param(0), req)
	return c.issuerReply(i, err)
}

func (s *Server) deleteIssuer(c *call) error {
	i, err := s.Certs.DeleteIssuer(c.r.Context(), c.vault, c.param(0))
	return c.issuerReply(i, err)
}
