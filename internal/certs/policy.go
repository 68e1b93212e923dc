package certs

import (
	"net"
	"net/mail"
	"net/url"
	"regexp"
	"slices"
	"strings"

	"github.com/keyhaven/keyhaven/internal/certs/bundle"
	"github.com/keyhaven/keyhaven/internal/kverr"
)

// Policy is a certificate's management policy, shared by all its versions,
// in Azure's wire shape (certificates.json CertificatePolicy). Pointers
// and nil slices mean "not given", which matters when a PATCH merges a
// partial policy into the stored one.
type Policy struct {
	KeyProps        *KeyProps         `json:"key_props,omitempty"`
	SecretProps     *SecretProps      `json:"secret_props,omitempty"`
	X509Props       *X509Props        `json:"x509_props,omitempty"`
	LifetimeActions []LifetimeAction  `json:"lifetime_actions"` // [] (none) differs from absent (the default)
	Issuer          *IssuerParameters `json:"issuer,omitempty"`
	Attributes      *PolicyAttributes `json:"attributes,omitempty"`
}

// KeyProps are the properties of the certificate's key pair.
type KeyProps struct {
	Exportable *bool  `json:"exportable,omitempty"`
	Kty        string `json:"kty,omitempty"`
	KeySize    *int   `json:"key_size,omitempty"`
	ReuseKey   *bool  `json:"reuse_key,omitempty"`
	Curve      string `json:"crv,omitempty"`
}

// SecretProps say how the backing secret holds the certificate.
type SecretProps struct {
	ContentType string `json:"contentType,omitempty"`
}

// X509Props are the X.509 properties of issued certificates.
type X509Props struct {
	Subject          string            `json:"subject,omitempty"`
	EKUs             []string          `json:"ekus"` // [] (none) differs from absent (the default)
	SANs             *SANs             `json:"sans,omitempty"`
	KeyUsage         []string          `json:"key_usage"`
	ValidityMonths   *int              `json:"validity_months,omitempty"`
	BasicConstraints *BasicConstraints `json:"basic_constraints,omitempty"`
}

// SANs are the subject alternative names.
type SANs struct {
	Emails      []string `json:"emails,omitempty"`
	DNSNames    []string `json:"dns_names,omitempty"`
	UPNs        []string `json:"upns,omitempty"`
	IPAddresses []string `json:"ipAddresses,omitempty"`
	URIs        []string `json:"uris,omitempty"`
}

// BasicConstraints says whether issued certificates are CA certificates;
// Azure reports it, keyhaven also accepts it in requests.
type BasicConstraints struct {
	CA bool `json:"ca"`
}

// LifetimeAction is an action taken at a point of a certificate's life.
type LifetimeAction struct {
	Trigger Trigger `json:"trigger"`
	Action  Action  `json:"action"`
}

// Trigger is when a lifetime action runs: a percentage of the lifetime or
// a number of days before expiry.
type Trigger struct {
	LifetimePercentage *int `json:"lifetime_percentage,omitempty"`
	DaysBeforeExpiry   *int `json:"days_before_expiry,omitempty"`
}

// Action is what a lifetime action does.
type Action struct {
	ActionType string `json:"action_type"`
}

// IssuerParameters name the issuer of the certificate.
type IssuerParameters struct {
	Name             string `json:"name,omitempty"`
	CertType         string `json:"cty,omitempty"`
	CertTransparency *bool  `json:"cert_transparency,omitempty"`
}

// PolicyAttributes are the policy's own attributes.
type PolicyAttributes struct {
	Enabled *bool `json:"enabled,omitempty"`
	Created int64 `json:"created,omitempty"`
	Updated int64 `json:"updated,omitempty"`
}

// Issuer names with a fixed meaning, and lifetime action types.
const (
	IssuerSelf        = "Self"
	IssuerUnknown     = "Unknown"
	ActionAutoRenew   = "AutoRenew"
	ActionEmail       = "EmailContacts"
	defaultValidity   = 12
	maxValidityMonths = 1200
	maxSANs           = 100
)

// Well-known extended key usages.
const (
	ekuServerAuth = "1.3.6.1.5.5.7.3.1"
	ekuClientAuth = "1.3.6.1.5.5.7.3.2"
)

// keyUsages are Azure's key usage names, in X.509 bit order.
var keyUsages = []string{"digitalSignature", "nonRepudiation", "keyEncipherment", "dataEncipherment",
	"keyAgreement", "keyCertSign", "cRLSign", "encipherOnly", "decipherOnly"}

func ptr[T any](v T) *T { return &v }

// merge returns p with the members given in u replacing p's (a PATCH of
// the policy: "leave others as null").
func (p Policy) merge(u *Policy) Policy {
	out := p.clone()
	if u.KeyProps != nil {
		k := orZero(out.KeyProps)
		setIf(&k.Exportable, u.KeyProps.Exportable)
		setIf(&k.KeySize, u.KeyProps.KeySize)
		setIf(&k.ReuseKey, u.KeyProps.ReuseKey)
		if u.KeyProps.Kty != "" {
			if k.Kty != u.KeyProps.Kty {
				k.KeySize, k.Curve = u.KeyProps.KeySize, ""
			}
			k.Kty = u.KeyProps.Kty
		}
		if u.KeyProps.Curve != "" {
			k.Curve = u.KeyProps.Curve
		}
		out.KeyProps = &k
	}
	if u.SecretProps != nil && u.SecretProps.ContentType != "" {
		out.SecretProps = &SecretProps{ContentType: u.SecretProps.ContentType}
	}
	if u.X509Props != nil {
		out.X509Props = mergeX509(orZero(out.X509Props), u.X509Props)
	}
	if u.LifetimeActions != nil {
		out.LifetimeActions = slices.Clone(u.LifetimeActions)
	}
	if u.Issuer != nil {
		i := orZero(out.Issuer)
		if u.Issuer.Name != "" {
			i.Name = u.Issuer.Name
		}
		if u.Issuer.CertType != "" {
			i.CertType = u.Issuer.CertType
		}
		setIf(&i.CertTransparency, u.Issuer.CertTransparency)
		out.Issuer = &i
	}
	if u.Attributes != nil && u.Attributes.Enabled != nil {
		a := orZero(out.Attributes)
		a.Enabled = u.Attributes.Enabled
		out.Attributes = &a
	}
	return out
}

func mergeX509(x X509Props, u *X509Props) *X509Props {
	if u.Subject != "" {
		x.Subject = u.Subject
	}
	if u.EKUs != nil {
		x.EKUs = u.EKUs
	}
	if u.SANs != nil {
		x.SANs = u.SANs
	}
	if u.KeyUsage != nil {
		x.KeyUsage = u.KeyUsage
	}
	setIf(&x.ValidityMonths, u.ValidityMonths)
	if u.BasicConstraints != nil {
		x.BasicConstraints = u.BasicConstraints
	}
	return &x
}

func orZero[T any](p *T) T {
	var z T
	if p != nil {
		z = *p
	}
	return z
}

func setIf[T any](dst **T, v *T) {
	if v != nil {
		*dst = v
	}
}

// clone returns a deep copy of p.
func (p Policy) clone() Policy {
	out := p
	if p.KeyProps != nil {
		out.KeyProps = ptr(*p.KeyProps)
	}
	if p.SecretProps != nil {
		out.SecretProps = ptr(*p.SecretProps)
	}
	if p.X509Props != nil {
		x := *p.X509Props
		x.EKUs, x.KeyUsage = slices.Clone(x.EKUs), slices.Clone(x.KeyUsage)
		if x.SANs != nil {
			s := *x.SANs
			x.SANs = &s
		}
		out.X509Props = &x
	}
	out.LifetimeActions = slices.Clone(p.LifetimeActions)
	if p.Issuer != nil {
		out.Issuer = ptr(*p.Issuer)
	}
	if p.Attributes != nil {
		out.Attributes = ptr(*p.Attributes)
	}
	return out
}

// normalize validates p and fills Azure's defaults, so the stored policy
// says exactly what the server will do. needSubject is set for policies
// that issue certificates (create), not for imports' derived policies.
func (p *Policy) normalize(needSubject bool) error {
	if err := p.normalizeKey(needSubject); err != nil {
		return err
	}
	if p.SecretProps == nil || p.SecretProps.ContentType == "" {
		p.SecretProps = &SecretProps{ContentType: bundle.ContentTypePFX}
	}
	if ct := p.SecretProps.ContentType; ct != bundle.ContentTypePFX && ct != bundle.ContentTypePEM {
		return kverr.BadParameterf("Invalid secret_props.contentType %q: use %s or %s.", ct, bundle.ContentTypePFX, bundle.ContentTypePEM)
	}
	if err := p.normalizeX509(needSubject); err != nil {
		return err
	}
	if err := p.normalizeIssuer(); err != nil {
		return err
	}
	if err := p.normalizeActions(); err != nil {
		return err
	}
	if p.Attributes == nil {
		p.Attributes = &PolicyAttributes{}
	}
	if p.Attributes.Enabled == nil {
		p.Attributes.Enabled = ptr(true)
	}
	return nil
}

// normalizeKey checks the key properties; sizes beyond those the server
// generates are accepted for imported keys (generating false).
func (p *Policy) normalizeKey(generating bool) error {
	if p.KeyProps == nil {
		p.KeyProps = &KeyProps{}
	}
	k := p.KeyProps
	if k.Exportable == nil {
		k.Exportable = ptr(true)
	}
	if k.ReuseKey == nil {
		k.ReuseKey = ptr(false)
	}
	switch k.Kty {
	case "", "RSA":
		k.Kty = "RSA"
		return normalizeRSA(k, generating)
	case "EC":
		return normalizeEC(k)
	case "RSA-HSM", "EC-HSM":
		return kverr.BadParameterf("Key type %s needs a hardware security module; this server has no PKCS#11 backend configured, and HSM keys are never stored in software.", k.Kty)
	}
	return kverr.BadParameterf("Unsupported key type %q for a certificate: use RSA or EC.", k.Kty)
}

func normalizeRSA(k *KeyProps, generating bool) error {
	if k.Curve != "" {
		return kverr.BadParameterf("key_props.crv applies to EC keys only.")
	}
	if k.KeySize == nil {
		k.KeySize = ptr(2048)
	}
	if imported := !generating && *k.KeySize >= 2048 && *k.KeySize <= 16384; !imported && !slices.Contains([]int{2048, 3072, 4096}, *k.KeySize) {
		return kverr.BadParameterf("RSA key size %d is not supported for certificates: use 2048, 3072 or 4096.", *k.KeySize)
	}
	return nil
}

var curveBits = map[string]int{"P-256": 256, "P-384": 384, "P-521": 521}

func normalizeEC(k *KeyProps) error {
	if k.Curve == "" {
		k.Curve = "P-256"
		if k.KeySize != nil {
			for c, bits := range curveBits {
				if bits == *k.KeySize {
					k.Curve = c
				}
			}
		}
	}
	bits, ok := curveBits[k.Curve]
	if !ok {
		return kverr.BadParameterf("Curve %q is not supported for certificates: use P-256, P-384 or P-521.", k.Curve)
	}
	if k.KeySize != nil && *k.KeySize != bits {
		return kverr.BadParameterf("Key size %d does not match curve %s.", *k.KeySize, k.Curve)
	}
	k.KeySize = nil
	return nil
}

func (p *Policy) normalizeX509(needSubject bool) error {
	if p.X509Props == nil {
		p.X509Props = &X509Props{}
	}
	x := p.X509Props
	if x.SANs != nil && x.SANs.empty() {
		x.SANs = nil
	}
	if x.Subject != "" {
		if _, err := parseDN(x.Subject); err != nil {
			return err
		}
	} else if needSubject && x.SANs == nil {
		return kverr.BadParameterf("The policy needs x509_props.subject (for example \"CN=example.com\") or subject alternative names.")
	}
	if err := x.SANs.validate(); err != nil {
		return err
	}
	if x.EKUs == nil {
		x.EKUs = []string{ekuServerAuth, ekuClientAuth}
	}
	for _, e := range x.EKUs {
		if !oidRE.MatchString(e) {
			return kverr.BadParameterf("Invalid extended key usage %q: use an object identifier such as %s.", e, ekuServerAuth)
		}
	}
	if err := p.normalizeKeyUsage(); err != nil {
		return err
	}
	if x.ValidityMonths == nil {
		x.ValidityMonths = ptr(defaultValidity)
	}
	if m := *x.ValidityMonths; m < 1 || m > maxValidityMonths {
		return kverr.BadParameterf("validity_months must be between 1 and %d.", maxValidityMonths)
	}
	if x.BasicConstraints == nil {
		x.BasicConstraints = &BasicConstraints{CA: slices.Contains(x.KeyUsage, "keyCertSign")}
	}
	return nil
}

var oidRE = regexp.MustCompile(`^[0-2](\.(0|[1-9][0-9]{0,9})){1,20}$`)

func (p *Policy) normalizeKeyUsage() error {
	x := p.X509Props
	if x.KeyUsage == nil {
		x.KeyUsage = []string{"digitalSignature", "keyEncipherment"}
		if p.KeyProps.Kty == "EC" {
			x.KeyUsage = []string{"digitalSignature"}
		}
	}
	var out []string
	for _, u := range x.KeyUsage {
		i := slices.IndexFunc(keyUsages, func(k string) bool { return strings.EqualFold(k, u) })
		if i < 0 {
			return kverr.BadParameterf("Invalid key usage %q: use %s.", u, strings.Join(keyUsages, ", "))
		}
		if !slices.Contains(out, keyUsages[i]) {
			out = append(out, keyUsages[i])
		}
	}
	x.KeyUsage = out
	return nil
}

func (s *SANs) empty() bool {
	return len(s.Emails)+len(s.DNSNames)+len(s.UPNs)+len(s.IPAddresses)+len(s.URIs) == 0
}

var dnsRE = regexp.MustCompile(`^(\*\.)?([A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?\.)*[A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?\.?$`)

func (s *SANs) validate() error {
	if s == nil {
		return nil
	}
	if n := len(s.Emails) + len(s.DNSNames) + len(s.UPNs) + len(s.IPAddresses) + len(s.URIs); n > maxSANs {
		return kverr.BadParameterf("Too many subject alternative names: at most %d are allowed.", maxSANs)
	}
	for _, d := range s.DNSNames {
		if len(d) > 253 || !dnsRE.MatchString(d) {
			return kverr.BadParameterf("Invalid DNS name %q in sans.dns_names.", d)
		}
	}
	for _, e := range s.Emails {
		if a, err := mail.ParseAddress(e); err != nil || a.Address != e {
			return kverr.BadParameterf("Invalid email address %q in sans.emails.", e)
		}
	}
	for _, u := range s.UPNs {
		if i := strings.IndexByte(u, '@'); i <= 0 || i == len(u)-1 || len(u) > 1024 {
			return kverr.BadParameterf("Invalid user principal name %q in sans.upns: use name@domain.", u)
		}
	}
	for _, ip := range s.IPAddresses {
		if net.ParseIP(ip) == nil {
			return kverr.BadParameterf("Invalid IP address %q in sans.ipAddresses.", ip)
		}
	}
	for _, raw := range s.URIs {
		if u, err := url.Parse(raw); err != nil || u.Scheme == "" || len(raw) > 2048 {
			return kverr.BadParameterf("Invalid URI %q in sans.uris: use an absolute URI.", raw)
		}
	}
	return nil
}

func (p *Policy) normalizeIssuer() error {
	if p.Issuer == nil || p.Issuer.Name == "" {
		return kverr.BadParameterf("The policy needs issuer.name: Self, Unknown, or the name of an issuer of this vault.")
	}
	switch {
	case strings.EqualFold(p.Issuer.Name, IssuerSelf):
		p.Issuer.Name = IssuerSelf
	case strings.EqualFold(p.Issuer.Name, IssuerUnknown):
		p.Issuer.Name = IssuerUnknown
	case !issuerNameRE.MatchString(p.Issuer.Name):
		return kverr.BadParameterf("Invalid issuer name %q.", p.Issuer.Name)
	}
	return nil
}

func (p *Policy) normalizeActions() error {
	if p.LifetimeActions == nil {
		action := ActionAutoRenew
		if p.Issuer.Name == IssuerUnknown {
			action = ActionEmail
		}
		p.LifetimeActions = []LifetimeAction{{Trigger: Trigger{LifetimePercentage: ptr(80)}, Action: Action{ActionType: action}}}
	}
	if len(p.LifetimeActions) > 2 {
		return kverr.BadParameterf("A policy has at most one AutoRenew and one EmailContacts lifetime action.")
	}
	seen := map[string]bool{}
	for i := range p.LifetimeActions {
		a := &p.LifetimeActions[i]
		if err := a.normalize(p); err != nil {
			return err
		}
		if seen[a.Action.ActionType] {
			return kverr.BadParameterf("A policy has at most one %s lifetime action.", a.Action.ActionType)
		}
		seen[a.Action.ActionType] = true
	}
	return nil
}

func (a *LifetimeAction) normalize(p *Policy) error {
	switch {
	case strings.EqualFold(a.Action.ActionType, ActionAutoRenew):
		a.Action.ActionType = ActionAutoRenew
		if p.Issuer.Name == IssuerUnknown {
			return kverr.BadParameterf("AutoRenew is not possible with issuer Unknown: the certificate is signed outside the vault. Use EmailContacts.")
		}
	case strings.EqualFold(a.Action.ActionType, ActionEmail):
		a.Action.ActionType = ActionEmail
	default:
		return kverr.BadParameterf("Invalid lifetime action %q: use AutoRenew or EmailContacts.", a.Action.ActionType)
	}
	t := a.Trigger
	switch {
	case (t.LifetimePercentage == nil) == (t.DaysBeforeExpiry == nil):
		return kverr.BadParameterf("A lifetime action's trigger needs exactly one of lifetime_percentage and days_before_expiry.")
	case t.LifetimePercentage != nil && (*t.LifetimePercentage < 1 || *t.LifetimePercentage > 99):
		return kverr.BadParameterf("lifetime_percentage must be between 1 and 99.")
	case t.DaysBeforeExpiry != nil && (*t.DaysBeforeExpiry < 1 || *t.DaysBeforeExpiry >= *p.X509Props.ValidityMonths*28):
		return kverr.BadParameterf("days_before_expiry must be at least 1 and less than the certificate's shortest validity in days (%d).", *p.X509Props.ValidityMonths*28)
	}
	return nil
}

var issuerNameRE = regexp.MustCompile(`^[0-9a-zA-Z-]{1,127}$`)
