package certs

import (
	"context"
	"crypto/ecdsa"
	"crypto/rsa"
	"strings"

	"github.com/keyhaven/keyhaven/internal/barrier"
	"github.com/keyhaven/keyhaven/internal/certs/bundle"
	"github.com/keyhaven/keyhaven/internal/kcrypto"
	"github.com/keyhaven/keyhaven/internal/kverr"
	"github.com/keyhaven/keyhaven/internal/objects"
	"github.com/keyhaven/keyhaven/internal/vaults"
)

// ImportParams are an import's bundle (base64 PFX or PEM text), its PFX
// password, an optional policy, and the new version's attributes and tags.
type ImportParams struct {
	Value             string
	Password          string
	Policy            *Policy
	Enabled           *bool
	Tags              map[string]string
	PreserveCertOrder *bool
}

// Import stores a certificate with its private key as a new version. The
// policy, when absent, is derived from the certificate (issuer Unknown);
// members given override the derived ones.
func (s *Service) Import(ctx context.Context, v *vaults.Vault, name string, p ImportParams) (*Certificate, error) {
	if err := ValidateName(name); err != nil {
		return nil, err
	}
	if err := validateTags(p.Tags); err != nil {
		return nil, err
	}
	if p.Value == "" {
		return nil, kverr.BadParameterf("The parameter 'value' is required: a base64 PFX or PEM text with the private key and certificates.")
	}
	contentType := ""
	if p.Policy != nil && p.Policy.SecretProps != nil {
		contentType = p.Policy.SecretProps.ContentType
	}
	preserve := p.PreserveCertOrder != nil && *p.PreserveCertOrder
	b, format, err := s.parse(ctx, p.Value, p.Password, contentType, preserve)
	if err != nil {
		return nil, err
	}
	pol, err := importPolicy(b, format, p.Policy)
	if err != nil {
		return nil, err
	}
	key, err := kcrypto.FromSigner(b.Key)
	if err != nil {
		return nil, kverr.BadParameterf("The private key of the bundle cannot be used: only RSA and EC (P-256, P-384, P-521) keys are supported.")
	}
	var it *item
	err = s.b.Update(ctx, func(bt *barrier.Tx) error {
		if err := s.checkCreatable(bt, v, name); err != nil {
			return err
		}
		is := &issuance{name: name, version: objects.NewVersion(), policy: pol, leaf: b.Leaf, chain: b.Chain,
			key: key, enabled: p.Enabled == nil || *p.Enabled, tags: p.Tags, preserve: preserve}
		if it, err = s.put(bt, v, is); err != nil {
			return err
		}
		return bt.Delete(pendingKey(v.ID, strings.ToLower(name)))
	})
	if err != nil {
		return nil, err
	}
	return certOf(it, true), nil
}

// importPolicy derives a policy from an imported bundle and applies the
// members the request gave. The key properties always describe the key
// that was imported; a request that says otherwise is refused.
func importPolicy(b *bundle.Bundle, format string, given *Policy) (*Policy, error) {
	kp, err := keyPropsOf(b)
	if err != nil {
		return nil, err
	}
	derived := Policy{KeyProps: kp, SecretProps: &SecretProps{ContentType: format},
		X509Props: policyFrom(b.Leaf), Issuer: &IssuerParameters{Name: IssuerUnknown}}
	if given != nil {
		if err := checkKeyProps(given.KeyProps, kp); err != nil {
			return nil, err
		}
		derived = derived.merge(given)
		derived.KeyProps.Kty, derived.KeyProps.KeySize, derived.KeyProps.Curve = kp.Kty, kp.KeySize, kp.Curve
	}
	if err := derived.normalize(false); err != nil {
		return nil, err
	}
	return &derived, nil
}

func keyPropsOf(b *bundle.Bundle) (*KeyProps, error) {
	kp := &KeyProps{Exportable: ptr(true), ReuseKey: ptr(false)}
	switch k := b.Key.(type) {
	case *rsa.PrivateKey:
		kp.Kty, kp.KeySize = kcrypto.KtyRSA, ptr(k.N.BitLen())
	case *ecdsa.PrivateKey:
		kp.Kty, kp.Curve = kcrypto.KtyEC, k.Curve.Params().Name
	default:
		return nil, kverr.BadParameterf("Only RSA and EC private keys can be imported.")
	}
	return kp, nil
}

func checkKeyProps(given, actual *KeyProps) error {
	if given == nil {
		return nil
	}
	mismatch := (given.Kty != "" && strings.TrimSuffix(given.Kty, "-HSM") != actual.Kty) ||
		(given.KeySize != nil && actual.KeySize != nil && *given.KeySize != *actual.KeySize) ||
		(given.Curve != "" && given.Curve != actual.Curve)
	if mismatch {
		return kverr.BadParameterf("The policy's key_props do not match the imported key.")
	}
	return nil
}

// parse reads an import bundle in one of the service's parse slots.
func (s *Service) parse(ctx context.Context, value, password, contentType string, preserve bool) (*bundle.Bundle, string, error) {
	select {
	case s.parsing <- struct{}{}:
		defer func() { <-s.parsing }()
	case <-ctx.Done():
		return nil, "", ctx.Err()
	}
	return bundle.Parse(value, password, contentType, true, preserve)
}
