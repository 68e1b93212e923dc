package client

import (
	"context"
	"fmt"
	"iter"
	"net/http"
)

// CertificatesClient calls the certificates operations of one vault: the
// certificates and their pending operations, policies, issuers and
// contacts. It is safe for concurrent use.
type CertificatesClient struct{ vaultClient }

// NewCertificatesClient returns a client for the certificates of the vault
// at vaultURL.
func NewCertificatesClient(vaultURL string, cred TokenCredential, opts *ClientOptions) (*CertificatesClient, error) {
	vc, err := newVaultClient(vaultURL, cred, opts)
	if err != nil {
		return nil, err
	}
	return &CertificatesClient{vc}, nil
}

func (c *CertificatesClient) bundle(ctx context.Context, method string, segs []string, in any) (CertificateBundle, error) {
	return callFor[CertificateBundle](ctx, &c.vaultClient, method, segs, in)
}

func (c *CertificatesClient) operation(ctx context.Context, method, name string, in any) (CertificateOperation, error) {
	return callFor[CertificateOperation](ctx, &c.vaultClient, method, []string{"certificates", name, "pending"}, in)
}

// CreateCertificate starts the creation of a certificate, or of a new
// version of it, and returns the operation (POST
// /certificates/{name}/create, 202). A Self-signed certificate is usually
// complete at once; poll GetCertificateOperation until Status is no longer
// "inProgress". Issuer "Unknown" waits for MergeCertificate.
func (c *CertificatesClient) CreateCertificate(ctx context.Context, name string, p CertificateCreateParameters) (CertificateOperation, error) {
	return callFor[CertificateOperation](ctx, &c.vaultClient, http.MethodPost, []string{"certificates", name, "create"}, p)
}

// GetCertificateOperation returns the pending operation of certificate name.
func (c *CertificatesClient) GetCertificateOperation(ctx context.Context, name string) (CertificateOperation, error) {
	return c.operation(ctx, http.MethodGet, name, nil)
}

// CancelCertificateOperation asks to cancel an operation in progress.
func (c *CertificatesClient) CancelCertificateOperation(ctx context.Context, name string) (CertificateOperation, error) {
	return c.operation(ctx, http.MethodPatch, name, map[string]bool{"cancellation_requested": true})
}

// DeleteCertificateOperation removes the pending operation; a request in
// progress then never creates its certificate.
func (c *CertificatesClient) DeleteCertificateOperation(ctx context.Context, name string) (CertificateOperation, error) {
	return c.operation(ctx, http.MethodDelete, name, nil)
}

// MergeCertificate completes an operation of issuer "Unknown" with the
// certificate signed outside the vault (POST /certificates/{name}/pending/merge).
func (c *CertificatesClient) MergeCertificate(ctx context.Context, name string, p CertificateMergeParameters) (CertificateBundle, error) {
	return c.bundle(ctx, http.MethodPost, []string{"certificates", name, "pending", "merge"}, p)
}

// ImportCertificate imports a certificate with its private key as a new
// version (POST /certificates/{name}/import).
func (c *CertificatesClient) ImportCertificate(ctx context.Context, name string, p CertificateImportParameters) (CertificateBundle, error) {
	return c.bundle(ctx, http.MethodPost, []string{"certificates", name, "import"}, p)
}

// GetCertificate returns a version with its policy; version "" is the
// latest.
func (c *CertificatesClient) GetCertificate(ctx context.Context, name, version string) (CertificateBundle, error) {
	return c.bundle(ctx, http.MethodGet, []string{"certificates", name, version}, nil)
}

// UpdateCertificateProperties changes a version's enabled attribute or tags
// (and the policy, when given); version "" is the latest.
func (c *CertificatesClient) UpdateCertificateProperties(ctx context.Context, name, version string, p CertificateUpdateParameters) (CertificateBundle, error) {
	return c.bundle(ctx, http.MethodPatch, []string{"certificates", name, version}, p)
}

// GetCertificatePolicy returns the policy of certificate name.
func (c *CertificatesClient) GetCertificatePolicy(ctx context.Context, name string) (CertificatePolicy, error) {
	return callFor[CertificatePolicy](ctx, &c.vaultClient, http.MethodGet, []string{"certificates", name, "policy"}, nil)
}

// UpdateCertificatePolicy changes the members of the policy that p gives.
func (c *CertificatesClient) UpdateCertificatePolicy(ctx context.Context, name string, p CertificatePolicy) (CertificatePolicy, error) {
	return callFor[CertificatePolicy](ctx, &c.vaultClient, http.MethodPatch, []string{"certificates", name, "policy"}, p)
}

// DeleteCertificate soft-deletes every version, with the key and secret.
func (c *CertificatesClient) DeleteCertificate(ctx context.Context, name string) (CertificateBundle, error) {
	return c.bundle(ctx, http.MethodDelete, []string{"certificates", name}, nil)
}

// GetDeletedCertificate returns a soft-deleted certificate.
func (c *CertificatesClient) GetDeletedCertificate(ctx context.Context, name string) (CertificateBundle, error) {
	return c.bundle(ctx, http.MethodGet, []string{"deletedcertificates", name}, nil)
}

// RecoverDeletedCertificate recovers a soft-deleted certificate and returns
// its latest version.
func (c *CertificatesClient) RecoverDeletedCertificate(ctx context.Context, name string) (CertificateBundle, error) {
	return c.bundle(ctx, http.MethodPost, []string{"deletedcertificates", name, "recover"}, nil)
}

// PurgeDeletedCertificate permanently removes a soft-deleted certificate.
func (c *CertificatesClient) PurgeDeletedCertificate(ctx context.Context, name string) error {
	return c.call(ctx, http.MethodDelete, []string{"deletedcertificates", name}, nil, nil)
}

// BackupCertificate returns an opaque blob of every version.
func (c *CertificatesClient) BackupCertificate(ctx context.Context, name string) ([]byte, error) {
	var out struct{ Value Base64URL }
	err := c.call(ctx, http.MethodPost, []string{"certificates", name, "backup"}, nil, &out)
	return out.Value, err
}

// RestoreCertificate restores a certificate from a BackupCertificate blob.
func (c *CertificatesClient) RestoreCertificate(ctx context.Context, blob []byte) (CertificateBundle, error) {
	return c.bundle(ctx, http.MethodPost, []string{"certificates", "restore"}, map[string]Base64URL{"value": blob})
}

// ListCertificates yields the vault's certificates (versionless ids).
func (c *CertificatesClient) ListCertificates(ctx context.Context, opts *ListOptions) iter.Seq2[CertificateBundle, error] {
	return listAll[CertificateBundle](ctx, &c.vaultClient, []string{"certificates"}, opts)
}

// ListCertificateVersions yields a certificate's versions.
func (c *CertificatesClient) ListCertificateVersions(ctx context.Context, name string, opts *ListOptions) iter.Seq2[CertificateBundle, error] {
	return listAll[CertificateBundle](ctx, &c.vaultClient, []string{"certificates", name, "versions"}, opts)
}

// ListDeletedCertificates yields the soft-deleted certificates.
func (c *CertificatesClient) ListDeletedCertificates(ctx context.Context, opts *ListOptions) iter.Seq2[CertificateBundle, error] {
	return listAll[CertificateBundle](ctx, &c.vaultClient, []string{"deletedcertificates"}, opts)
}

// issuer sends one request about issuer name; an empty name would address
// the list of issuers, so it is refused like a malformed one.
func (c *CertificatesClient) issuer(ctx context.Context, method, name string, in any) (IssuerBundle, error) {
	if !namePattern.MatchString(name) {
		return IssuerBundle{}, fmt.Errorf("invalid issuer name %q: use 1-127 letters, digits and dashes", name)
	}
	return callFor[IssuerBundle](ctx, &c.vaultClient, method, []string{"certificates", "issuers", name}, in)
}

// SetCertificateIssuer creates or replaces an issuer; p.Provider is
// required.
func (c *CertificatesClient) SetCertificateIssuer(ctx context.Context, name string, p IssuerBundle) (IssuerBundle, error) {
	return c.issuer(ctx, http.MethodPut, name, p)
}

// UpdateCertificateIssuer changes the members of an issuer that p gives.
func (c *CertificatesClient) UpdateCertificateIssuer(ctx context.Context, name string, p IssuerBundle) (IssuerBundle, error) {
	return c.issuer(ctx, http.MethodPatch, name, p)
}

// GetCertificateIssuer returns an issuer, without its password.
func (c *CertificatesClient) GetCertificateIssuer(ctx context.Context, name string) (IssuerBundle, error) {
	return c.issuer(ctx, http.MethodGet, name, nil)
}

// DeleteCertificateIssuer deletes an issuer and returns it.
func (c *CertificatesClient) DeleteCertificateIssuer(ctx context.Context, name string) (IssuerBundle, error) {
	return c.issuer(ctx, http.MethodDelete, name, nil)
}

// ListCertificateIssuers yields the vault's issuers (ID and Provider).
func (c *CertificatesClient) ListCertificateIssuers(ctx context.Context, opts *ListOptions) iter.Seq2[IssuerBundle, error] {
	return listAll[IssuerBundle](ctx, &c.vaultClient, []string{"certificates", "issuers"}, opts)
}

func (c *CertificatesClient) contacts(ctx context.Context, method string, in any) (Contacts, error) {
	return callFor[Contacts](ctx, &c.vaultClient, method, []string{"certificates", "contacts"}, in)
}

// SetCertificateContacts replaces the vault's certificate contacts.
func (c *CertificatesClient) SetCertificateContacts(ctx context.Context, contacts []Contact) (Contacts, error) {
	if contacts == nil {
		contacts = []Contact{}
	}
	return c.contacts(ctx, http.MethodPut, Contacts{Contacts: contacts})
}

// GetCertificateContacts returns the vault's certificate contacts; a vault
// without contacts answers 404 ContactsNotFound.
func (c *CertificatesClient) GetCertificateContacts(ctx context.Context) (Contacts, error) {
	return c.contacts(ctx, http.MethodGet, nil)
}

// DeleteCertificateContacts removes the vault's contacts and returns them.
func (c *CertificatesClient) DeleteCertificateContacts(ctx context.Context) (Contacts, error) {
	return c.contacts(ctx, http.MethodDelete, nil)
}
