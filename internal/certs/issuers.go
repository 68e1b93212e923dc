package certs

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"net/mail"
	"strings"
	"unicode/utf8"

	"github.com/keyhaven/keyhaven/internal/barrier"
	"github.com/keyhaven/keyhaven/internal/kcrypto"
	"github.com/keyhaven/keyhaven/internal/kverr"
	"github.com/keyhaven/keyhaven/internal/objects"
	"github.com/keyhaven/keyhaven/internal/storage"
	"github.com/keyhaven/keyhaven/internal/vaults"
)

// ProviderPrivateCA is the issuer provider of keyhaven's private CA: a CA
// certificate of the same vault, named by credentials.account_id, signs
// the certificates whose policy names the issuer.
const ProviderPrivateCA = "PrivateCA"

// Issuer is a certificate issuer in Azure's wire shape (IssuerBundle).
// Credentials.Password is stored (encrypted like everything else) and
// never returned.
type Issuer struct {
	Name        string             `json:"-"`
	Provider    string             `json:"provider,omitempty"`
	Credentials *IssuerCredentials `json:"credentials,omitempty"`
	OrgDetails  *OrgDetails        `json:"org_details,omitempty"`
	Attributes  *IssuerAttributes  `json:"attributes,omitempty"`
}

// IssuerCredentials are the credentials at the provider.
type IssuerCredentials struct {
	AccountID string `json:"account_id,omitempty"`
	Password  string `json:"pwd,omitempty"`
}

// OrgDetails are the organization's details at the provider.
type OrgDetails struct {
	ID           string        `json:"id,omitempty"`
	AdminDetails []AdminDetail `json:"admin_details,omitempty"`
}

// AdminDetail is one administrator of the organization.
type AdminDetail struct {
	FirstName string `json:"first_name,omitempty"`
	LastName  string `json:"last_name,omitempty"`
	Email     string `json:"email,omitempty"`
	Phone     string `json:"phone,omitempty"`
}

// IssuerAttributes are an issuer's attributes.
type IssuerAttributes struct {
	Enabled *bool `json:"enabled,omitempty"`
	Created int64 `json:"created,omitempty"`
	Updated int64 `json:"updated,omitempty"`
}

// storedIssuer is an issuer as stored: with its name as created.
type storedIssuer struct {
	Name string `json:"name"`
	Issuer
}

// Public returns the issuer without its password.
func (i *Issuer) Public() *Issuer {
	out := *i
	if i.Credentials != nil {
		out.Credentials = &IssuerCredentials{AccountID: i.Credentials.AccountID}
	}
	return &out
}

func issuerKey(vaultID, lname string) string {
	return "v/" + vaultID + "/certificates-issuers/" + lname
}

func issuerNotFound(name string) error {
	return kverr.New(kverr.NotFound, "CertificateIssuerNotFound", "Issuer not found: "+name)
}

func (s *Service) getIssuer(bt *barrier.Tx, v *vaults.Vault, name string) (*Issuer, error) {
	if !issuerNameRE.MatchString(name) {
		return nil, issuerNotFound(name)
	}
	raw, err := bt.Get(issuerKey(v.ID, strings.ToLower(name)))
	if errors.Is(err, storage.ErrNotFound) {
		return nil, issuerNotFound(name)
	}
	if err != nil {
		return nil, err
	}
	var st storedIssuer
	if err := json.Unmarshal(raw, &st); err != nil {
		return nil, err
	}
	st.Issuer.Name = st.Name
	return &st.Issuer, nil
}

// GetIssuer returns an issuer (without its password).
func (s *Service) GetIssuer(ctx context.Context, v *vaults.Vault, name string) (*Issuer, error) {
	var out *Issuer
	err := s.b.View(ctx, func(bt *barrier.Tx) error {
		i, err := s.getIssuer(bt, v, name)
		if err == nil {
			out = i.Public()
		}
		return err
	})
	return out, err
}

// SetIssuer creates or replaces an issuer.
func (s *Service) SetIssuer(ctx context.Context, v *vaults.Vault, name string, in Issuer) (*Issuer, error) {
	return s.writeIssuer(ctx, v, name, func(old *Issuer) (*Issuer, error) {
		if in.Provider == "" {
			return nil, kverr.BadParameterf("The parameter 'provider' is required.")
		}
		out := in
		out.Attributes = mergeIssuerAttributes(old, in.Attributes)
		return &out, nil
	})
}

// UpdateIssuer changes the members of an issuer that are given.
func (s *Service) UpdateIssuer(ctx context.Context, v *vaults.Vault, name string, in Issuer) (*Issuer, error) {
	return s.writeIssuer(ctx, v, name, func(old *Issuer) (*Issuer, error) {
		if old == nil {
			return nil, issuerNotFound(name)
		}
		out := *old
		if in.Provider != "" {
			out.Provider = in.Provider
		}
		if in.Credentials != nil {
			c := orZero(out.Credentials)
			if in.Credentials.AccountID != "" {
				c.AccountID = in.Credentials.AccountID
			}
			if in.Credentials.Password != "" {
				c.Password = in.Credentials.Password
			}
			out.Credentials = &c
		}
		if in.OrgDetails != nil {
			out.OrgDetails = in.OrgDetails
		}
		out.Attributes = mergeIssuerAttributes(old, in.Attributes)
		return &out, nil
	})
}

func mergeIssuerAttributes(old *Issuer, in *IssuerAttributes) *IssuerAttributes {
	a := IssuerAttributes{Enabled: ptr(true)}
	if old != nil && old.Attributes != nil {
		a = *old.Attributes
	}
	if in != nil && in.Enabled != nil {
		a.Enabled = in.Enabled
	}
	return &a
}

// writeIssuer validates and stores the issuer change builds from the
// stored issuer (nil when there is none).
func (s *Service) writeIssuer(ctx context.Context, v *vaults.Vault, name string, build func(old *Issuer) (*Issuer, error)) (*Issuer, error) {
	if !issuerNameRE.MatchString(name) || strings.EqualFold(name, IssuerSelf) || strings.EqualFold(name, IssuerUnknown) {
		return nil, kverr.BadParameterf("The issuer name %q is invalid: use 1-127 letters, digits and dashes other than Self and Unknown.", name)
	}
	var out *Issuer
	err := s.b.Update(ctx, func(bt *barrier.Tx) error {
		old, err := s.getIssuer(bt, v, name)
		if err != nil && kverr.As(err) == nil {
			return err
		}
		if old != nil {
			name = old.Name
		}
		next, err := build(old)
		if err != nil {
			return err
		}
		if err := s.validateIssuer(bt, v, next); err != nil {
			return err
		}
		now := s.now().Unix()
		next.Attributes.Updated = now
		if next.Attributes.Created == 0 {
			next.Attributes.Created = now
		}
		raw, err := objects.Marshal(storedIssuer{Name: name, Issuer: *next})
		if err != nil {
			return err
		}
		next.Name = name
		out = next.Public()
		return bt.Put(issuerKey(v.ID, strings.ToLower(name)), raw)
	})
	return out, err
}

func (s *Service) validateIssuer(bt *barrier.Tx, v *vaults.Vault, i *Issuer) error {
	if len(i.Provider) > 256 {
		return kverr.BadParameterf("The provider name is too long.")
	}
	if c := i.Credentials; c != nil && (utf8.RuneCountInString(c.AccountID) > 1024 || len(c.Password) > 4096) {
		return kverr.BadParameterf("The issuer credentials are too long.")
	}
	if o := i.OrgDetails; o != nil {
		if len(o.AdminDetails) > 100 {
			return kverr.BadParameterf("At most 100 administrators are allowed.")
		}
		for _, a := range o.AdminDetails {
			if a.Email != "" && !validEmail(a.Email) {
				return kverr.BadParameterf("Invalid administrator email address %q.", a.Email)
			}
		}
	}
	if !strings.EqualFold(i.Provider, ProviderPrivateCA) {
		return nil
	}
	i.Provider = ProviderPrivateCA
	if i.Credentials == nil || i.Credentials.AccountID == "" {
		return kverr.BadParameterf("A %s issuer needs credentials.account_id: the name of a CA certificate in this vault.", ProviderPrivateCA)
	}
	_, _, _, err := s.loadCA(bt, v, i.Credentials.AccountID)
	var ierr *issuerError
	if errors.As(err, &ierr) {
		return kverr.BadParameterf("%s", ierr.msg)
	}
	return err
}

func validEmail(e string) bool {
	a, err := mail.ParseAddress(e)
	return err == nil && a.Address == e
}

// DeleteIssuer removes an issuer and returns it.
func (s *Service) DeleteIssuer(ctx context.Context, v *vaults.Vault, name string) (*Issuer, error) {
	var out *Issuer
	err := s.b.Update(ctx, func(bt *barrier.Tx) error {
		i, err := s.getIssuer(bt, v, name)
		if err != nil {
			return err
		}
		out = i.Public()
		return bt.Delete(issuerKey(v.ID, strings.ToLower(name)))
	})
	return out, err
}

// ListIssuers returns a page of the vault's issuers.
func (s *Service) ListIssuers(ctx context.Context, v *vaults.Vault, cursor string, max int) (Page[Issuer], error) {
	var p Page[Issuer]
	err := s.b.View(ctx, func(bt *barrier.Tx) error {
		var err error
		p.Next, err = objects.ScanPage(bt, issuerKey(v.ID, ""), cursor, max, func(_ string, val []byte) error {
			var st storedIssuer
			if err := json.Unmarshal(val, &st); err != nil {
				return err
			}
			st.Issuer.Name = st.Name
			p.Items = append(p.Items, *st.Issuer.Public())
			return nil
		})
		return err
	})
	return p, err
}

// issuerError is an issuer's failure to sign: it fails the operation
// rather than the request.
type issuerError struct{ msg string }

func (e *issuerError) Error() string { return e.msg }

func issuerErrorf(format string, args ...any) error {
	return &issuerError{msg: fmt.Sprintf(format, args...)}
}

// issueWith signs a certificate for key with the named issuer of the
// policy. Only the private CA signs here; other providers are not
// reachable from this server.
func (s *Service) issueWith(bt *barrier.Tx, v *vaults.Vault, pol *Policy, key *kcrypto.Key) (*x509.Certificate, []*x509.Certificate, error) {
	iss, err := s.getIssuer(bt, v, pol.Issuer.Name)
	if kverr.As(err) != nil {
		return nil, nil, issuerErrorf("The issuer %s of the policy does not exist in this vault.", pol.Issuer.Name)
	}
	if err != nil {
		return nil, nil, err
	}
	if iss.Attributes != nil && iss.Attributes.Enabled != nil && !*iss.Attributes.Enabled {
		return nil, nil, issuerErrorf("The issuer %s is disabled.", iss.Name)
	}
	if iss.Provider != ProviderPrivateCA {
		return nil, nil, issuerErrorf("The issuer %s uses provider %s, which this server cannot reach; merge a certificate signed for the CSR instead.", iss.Name, iss.Provider)
	}
	ca, caKey, chain, err := s.loadCA(bt, v, iss.Credentials.AccountID)
	if err != nil {
		return nil, nil, err
	}
	now := s.now()
	if now.After(ca.NotAfter) || now.Before(ca.NotBefore) {
		return nil, nil, issuerErrorf("The CA certificate %s of issuer %s is not valid now.", iss.Credentials.AccountID, iss.Name)
	}
	tmpl, err := template(pol, key.PublicKey(), now)
	if err != nil {
		return nil, nil, err
	}
	if tmpl.NotAfter.After(ca.NotAfter) {
		tmpl.NotAfter = ca.NotAfter
	}
	leaf, err := sign(tmpl, ca, key.PublicKey(), caKey.Signer())
	if err != nil {
		return nil, nil, err
	}
	return leaf, append([]*x509.Certificate{ca}, chain...), nil
}

// loadCA reads the current version of a CA certificate of the vault, its
// private key and its chain.
func (s *Service) loadCA(bt *barrier.Tx, v *vaults.Vault, name string) (*x509.Certificate, *kcrypto.Key, []*x509.Certificate, error) {
	it, err := objects.In(s.store, bt, v).Get(name, "")
	if kverr.As(err) != nil {
		return nil, nil, nil, issuerErrorf("The CA certificate %s does not exist in this vault.", name)
	}
	if err != nil {
		return nil, nil, nil, err
	}
	if !it.Rec.Enabled {
		return nil, nil, nil, issuerErrorf("The CA certificate %s is disabled.", name)
	}
	ca, err := x509.ParseCertificate(it.Rec.DER)
	if err != nil {
		return nil, nil, nil, err
	}
	if !ca.BasicConstraintsValid || !ca.IsCA || (ca.KeyUsage != 0 && ca.KeyUsage&x509.KeyUsageCertSign == 0) {
		return nil, nil, nil, issuerErrorf("The certificate %s is not a CA certificate: it needs basic constraints CA:true and the keyCertSign key usage.", name)
	}
	key, err := s.keys.PrivateKey(bt, v, it.Head.Name, it.Version)
	if err != nil {
		return nil, nil, nil, err
	}
	if key.Signer() == nil {
		return nil, nil, nil, issuerErrorf("The key of CA certificate %s cannot sign certificates.", name)
	}
	chain, err := parseDERs(it.Rec.Chain)
	return ca, key, chain, err
}

// Contact is a person notified about certificate events.
type Contact struct {
	Email string `json:"email,omitempty"`
	Name  string `json:"name,omitempty"`
	Phone string `json:"phone,omitempty"`
}

func contactsKey(vaultID string) string { return "v/" + vaultID + "/certificates-contacts" }

func contactsNotFound() error {
	return kverr.New(kverr.NotFound, "ContactsNotFound", "Contacts not found.")
}

// GetContacts returns the vault's certificate contacts.
func (s *Service) GetContacts(ctx context.Context, v *vaults.Vault) ([]Contact, error) {
	var out []Contact
	err := s.b.View(ctx, func(bt *barrier.Tx) error {
		var err error
		out, err = readContacts(bt, v)
		return err
	})
	return out, err
}

func readContacts(bt *barrier.Tx, v *vaults.Vault) ([]Contact, error) {
	raw, err := bt.Get(contactsKey(v.ID))
	if errors.Is(err, storage.ErrNotFound) {
		return nil, contactsNotFound()
	}
	if err != nil {
		return nil, err
	}
	var out []Contact
	return out, json.Unmarshal(raw, &out)
}

// SetContacts replaces the vault's certificate contacts.
func (s *Service) SetContacts(ctx context.Context, v *vaults.Vault, cs []Contact) ([]Contact, error) {
	if len(cs) == 0 {
		return nil, kverr.BadParameterf("The parameter 'contacts' needs at least one contact; delete the contacts to remove them all.")
	}
	if len(cs) > 100 {
		return nil, kverr.BadParameterf("At most 100 contacts are allowed.")
	}
	for _, c := range cs {
		if !validEmail(c.Email) {
			return nil, kverr.BadParameterf("Every contact needs a valid email address; %q is not one.", c.Email)
		}
		if utf8.RuneCountInString(c.Name) > 256 || len(c.Phone) > 64 {
			return nil, kverr.BadParameterf("A contact's name or phone number is too long.")
		}
	}
	raw, err := objects.Marshal(cs)
	if err != nil {
		return nil, err
	}
	err = s.b.Update(ctx, func(bt *barrier.Tx) error { return bt.Put(contactsKey(v.ID), raw) })
	return cs, err
}

// DeleteContacts removes the vault's contacts and returns them.
func (s *Service) DeleteContacts(ctx context.Context, v *vaults.Vault) ([]Contact, error) {
	var out []Contact
	err := s.b.Update(ctx, func(bt *barrier.Tx) error {
		var err error
		if out, err = readContacts(bt, v); err != nil {
			return err
		}
		return bt.Delete(contactsKey(v.ID))
	})
	return out, err
}
