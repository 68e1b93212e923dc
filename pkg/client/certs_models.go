package client

// The types below mirror certificates.json (API 7.6) member for member,
// with the wire names: snake_case inside a policy (key_props, x509_props,
// validity_months, lifetime_actions), camelCase elsewhere. []byte fields
// (cer, csr, x5c) are standard base64 on the wire, as encoding/json writes
// them; Base64URL fields (x5t, backups) are unpadded base64url. Times are
// Unix seconds. Absent members are omitted.

// CertificateAttributes are a certificate version's attributes. NotBefore
// and Expires come from the certificate; only Enabled can be changed.
type CertificateAttributes struct {
	Enabled         *bool  `json:"enabled,omitempty"`
	NotBefore       *int64 `json:"nbf,omitempty"`
	Expires         *int64 `json:"exp,omitempty"`
	Created         *int64 `json:"created,omitempty"`
	Updated         *int64 `json:"updated,omitempty"`
	RecoverableDays *int32 `json:"recoverableDays,omitempty"`
	RecoveryLevel   string `json:"recoveryLevel,omitempty"`
}

// CertificateBundle is a certificate version (CertificateBundle). In lists
// (CertificateItem) only ID, X5t, Attributes and Tags are set; deleted
// certificates add RecoveryID and the two dates.
type CertificateBundle struct {
	ID          string                 `json:"id,omitempty"`
	Kid         string                 `json:"kid,omitempty"`
	Sid         string                 `json:"sid,omitempty"`
	X5t         Base64URL              `json:"x5t,omitempty"`
	Cer         []byte                 `json:"cer,omitempty"` // the DER certificate
	ContentType string                 `json:"contentType,omitempty"`
	Attributes  *CertificateAttributes `json:"attributes,omitempty"`
	Tags        map[string]string      `json:"tags,omitempty"`
	Policy      *CertificatePolicy     `json:"policy,omitempty"`
	// PreserveCertOrder keeps the chain in the order it was given.
	PreserveCertOrder *bool `json:"preserveCertOrder,omitempty"`
	// Deleted certificates only.
	RecoveryID         string `json:"recoveryId,omitempty"`
	DeletedDate        int64  `json:"deletedDate,omitempty"`
	ScheduledPurgeDate int64  `json:"scheduledPurgeDate,omitempty"`
}

// CertificatePolicy is a certificate's management policy, shared by all its
// versions. In UpdateCertificatePolicy nil members are left unchanged.
type CertificatePolicy struct {
	ID              string                      `json:"id,omitempty"` // read-only
	KeyProps        *CertificateKeyProperties   `json:"key_props,omitempty"`
	SecretProps     *CertificateSecretProps     `json:"secret_props,omitempty"`
	X509Props       *X509CertificateProperties  `json:"x509_props,omitempty"`
	LifetimeActions []CertificateLifetimeAction `json:"lifetime_actions,omitempty"`
	Issuer          *IssuerParameters           `json:"issuer,omitempty"`
	Attributes      *CertificateAttributes      `json:"attributes,omitempty"`
}

// CertificateKeyProperties describe the certificate's key pair.
type CertificateKeyProperties struct {
	Exportable *bool  `json:"exportable,omitempty"`
	Kty        string `json:"kty,omitempty"`
	KeySize    *int32 `json:"key_size,omitempty"`
	ReuseKey   *bool  `json:"reuse_key,omitempty"`
	Curve      string `json:"crv,omitempty"`
}

// CertificateSecretProps say how the backing secret holds the certificate:
// ContentType "application/x-pkcs12" (PFX) or "application/x-pem-file".
type CertificateSecretProps struct {
	ContentType string `json:"contentType,omitempty"`
}

// X509CertificateProperties are the X.509 properties of issued certificates.
// KeyUsage holds names such as "digitalSignature"; EKUs holds OIDs.
type X509CertificateProperties struct {
	Subject        string                   `json:"subject,omitempty"`
	EKUs           []string                 `json:"ekus,omitempty"`
	SANs           *SubjectAlternativeNames `json:"sans,omitempty"`
	KeyUsage       []string                 `json:"key_usage,omitempty"`
	ValidityMonths *int32                   `json:"validity_months,omitempty"`
	// BasicConstraints is not in the spec; the service reports it.
	BasicConstraints *BasicConstraints `json:"basic_constraints,omitempty"`
}

// SubjectAlternativeNames are a certificate's subject alternative names.
type SubjectAlternativeNames struct {
	Emails      []string `json:"emails,omitempty"`
	DNSNames    []string `json:"dns_names,omitempty"`
	UPNs        []string `json:"upns,omitempty"`
	IPAddresses []string `json:"ipAddresses,omitempty"`
	URIs        []string `json:"uris,omitempty"`
}

// BasicConstraints says whether issued certificates are CA certificates.
type BasicConstraints struct {
	CA bool `json:"ca"`
}

// CertificateLifetimeAction is an action taken at a point of a certificate's
// life.
type CertificateLifetimeAction struct {
	Trigger CertificateTrigger `json:"trigger"`
	Action  CertificateAction  `json:"action"`
}

// CertificateTrigger is when a lifetime action runs; one member is set.
type CertificateTrigger struct {
	LifetimePercentage *int32 `json:"lifetime_percentage,omitempty"`
	DaysBeforeExpiry   *int32 `json:"days_before_expiry,omitempty"`
}

// CertificateAction is "AutoRenew" or "EmailContacts".
type CertificateAction struct {
	ActionType string `json:"action_type"`
}

// IssuerParameters name a certificate's issuer: "Self", "Unknown" (signed
// outside the vault, completed by a merge) or an issuer of the vault.
type IssuerParameters struct {
	Name                    string `json:"name,omitempty"`
	CertificateType         string `json:"cty,omitempty"`
	CertificateTransparency *bool  `json:"cert_transparency,omitempty"`
}

// CertificateOperation is the pending operation of a create
// (/certificates/{name}/pending). Status is "inProgress", "completed",
// "failed" or "cancelled"; Target names the certificate once completed.
type CertificateOperation struct {
	ID                    string                     `json:"id,omitempty"`
	Issuer                *IssuerParameters          `json:"issuer,omitempty"`
	CSR                   []byte                     `json:"csr,omitempty"` // DER PKCS#10
	CancellationRequested bool                       `json:"cancellation_requested,omitempty"`
	Status                string                     `json:"status,omitempty"`
	StatusDetails         string                     `json:"status_details,omitempty"`
	Error                 *CertificateOperationError `json:"error,omitempty"`
	Target                string                     `json:"target,omitempty"`
	RequestID             string                     `json:"request_id,omitempty"`
	PreserveCertOrder     *bool                      `json:"preserveCertOrder,omitempty"`
}

// CertificateOperationError is why an operation failed.
type CertificateOperationError struct {
	Code       string                     `json:"code,omitempty"`
	Message    string                     `json:"message,omitempty"`
	InnerError *CertificateOperationError `json:"innererror,omitempty"`
}

// CertificateCreateParameters is a CreateCertificate request. The first
// create of a name needs a policy; later ones reuse the stored policy.
type CertificateCreateParameters struct {
	Policy            *CertificatePolicy     `json:"policy,omitempty"`
	Attributes        *CertificateAttributes `json:"attributes,omitempty"`
	Tags              map[string]string      `json:"tags,omitempty"`
	PreserveCertOrder *bool                  `json:"preserveCertOrder,omitempty"`
}

// CertificateImportParameters is an ImportCertificate request. Value is a
// PFX in standard base64, or PEM text holding the certificates and the
// PKCS#8 private key; Password decrypts a PFX.
type CertificateImportParameters struct {
	Value             string                 `json:"value"`
	Password          string                 `json:"pwd,omitempty"`
	Policy            *CertificatePolicy     `json:"policy,omitempty"`
	Attributes        *CertificateAttributes `json:"attributes,omitempty"`
	Tags              map[string]string      `json:"tags,omitempty"`
	PreserveCertOrder *bool                  `json:"preserveCertOrder,omitempty"`
}

// CertificateMergeParameters is a MergeCertificate request: the signed
// certificate and its chain, DER, leaf first.
type CertificateMergeParameters struct {
	X5C        [][]byte               `json:"x5c"`
	Attributes *CertificateAttributes `json:"attributes,omitempty"`
	Tags       map[string]string      `json:"tags,omitempty"`
}

// CertificateUpdateParameters is an UpdateCertificate request; nil members
// stay unchanged and a non-nil empty Tags removes every tag.
type CertificateUpdateParameters struct {
	Policy     *CertificatePolicy     `json:"policy,omitempty"`
	Attributes *CertificateAttributes `json:"attributes,omitempty"`
	Tags       map[string]string      `json:"tags,omitzero"`
}

// IssuerBundle is a certificate issuer of the vault (IssuerBundle; in lists
// CertificateIssuerItem, with ID and Provider only). It is also the body of
// SetCertificateIssuer, which needs Provider, and UpdateCertificateIssuer,
// which changes the members given. ID is read-only; the service never
// returns Credentials.Password.
type IssuerBundle struct {
	ID          string               `json:"id,omitempty"`
	Provider    string               `json:"provider,omitempty"`
	Credentials *IssuerCredentials   `json:"credentials,omitempty"`
	OrgDetails  *OrganizationDetails `json:"org_details,omitempty"`
	Attributes  *IssuerAttributes    `json:"attributes,omitempty"`
}

// IssuerCredentials are the credentials at the issuer's provider.
type IssuerCredentials struct {
	AccountID string `json:"account_id,omitempty"`
	Password  string `json:"pwd,omitempty"`
}

// OrganizationDetails are the organization's details at the provider.
type OrganizationDetails struct {
	ID           string                 `json:"id,omitempty"`
	AdminDetails []AdministratorDetails `json:"admin_details,omitempty"`
}

// AdministratorDetails are one administrator of the organization.
type AdministratorDetails struct {
	FirstName string `json:"first_name,omitempty"`
	LastName  string `json:"last_name,omitempty"`
	Email     string `json:"email,omitempty"`
	Phone     string `json:"phone,omitempty"`
}

// IssuerAttributes are an issuer's attributes; times are Unix seconds.
type IssuerAttributes struct {
	Enabled *bool  `json:"enabled,omitempty"`
	Created *int64 `json:"created,omitempty"`
	Updated *int64 `json:"updated,omitempty"`
}

// Contacts are the vault's certificate contacts (Contacts).
type Contacts struct {
	ID       string    `json:"id,omitempty"` // read-only
	Contacts []Contact `json:"contacts"`
}

// Contact is one certificate contact.
type Contact struct {
	Email string `json:"email,omitempty"`
	Name  string `json:"name,omitempty"`
	Phone string `json:"phone,omitempty"`
}
