package keys

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/keyhaven/keyhaven/internal/barrier"
	"github.com/keyhaven/keyhaven/internal/events"
	"github.com/keyhaven/keyhaven/internal/events/expiry"
	"github.com/keyhaven/keyhaven/internal/jsonx"
	"github.com/keyhaven/keyhaven/internal/kcrypto"
	"github.com/keyhaven/keyhaven/internal/kverr"
	"github.com/keyhaven/keyhaven/internal/objects"
	"github.com/keyhaven/keyhaven/internal/vaults"
)

// record is the stored form of one key version. Material is the private
// key (kcrypto.MarshalPrivate); the barrier encrypts the whole record.
type record struct {
	Kty        string            `json:"kty"` // as requested: RSA, EC or oct
	Material   []byte            `json:"material"`
	KeyOps     []string          `json:"key_ops"`
	Tags       map[string]string `json:"tags,omitempty"`
	Enabled    bool              `json:"enabled"`
	NotBefore  *int64            `json:"nbf,omitempty"`
	Expires    *int64            `json:"exp,omitempty"`
	Created    int64             `json:"created"`
	Updated    int64             `json:"updated"`
	Exportable bool              `json:"exportable,omitempty"`
	Managed    bool              `json:"managed,omitempty"`
}

// DecodeRecord decodes the record at the start of data as json.Unmarshal
// would, without its private material for a list page
// (objects.RecordDecoder; every key operation reads one).
func (r *record) DecodeRecord(data []byte, listing bool) (int, error) {
	withMaterial := !listing
	return jsonx.ObjectAt(data, func(k, v []byte) error {
		if jsonx.IsNull(v) {
			switch string(k) {
			case "material":
				r.Material = nil
			case "key_ops":
				r.KeyOps = nil
			case "tags":
				r.Tags = nil
			case "nbf":
				r.NotBefore = nil
			case "exp":
				r.Expires = nil
			}
			return nil
		}
		var err error
		switch string(k) {
		case "kty":
			r.Kty, err = jsonx.ParseString(v)
		case "material":
			if withMaterial {
				r.Material, err = jsonx.ParseBytes(v)
			}
		case "key_ops":
			r.KeyOps, err = jsonx.ParseStringSlice(v)
		case "tags":
			r.Tags, err = jsonx.ParseStringMap(v)
		case "enabled":
			r.Enabled, err = jsonx.ParseBool(v)
		case "nbf":
			r.NotBefore, err = jsonx.ParseIntPtr(v)
		case "exp":
			r.Expires, err = jsonx.ParseIntPtr(v)
		case "created":
			r.Created, err = jsonx.ParseInt(v)
		case "updated":
			r.Updated, err = jsonx.ParseInt(v)
		case "exportable":
			r.Exportable, err = jsonx.ParseBool(v)
		case "managed":
			r.Managed, err = jsonx.ParseBool(v)
		}
		return err // unknown members are ignored, as json.Unmarshal does
	})
}

type item = objects.Item[record]

// Key is one key version as the API shows it: public material only.
type Key struct {
	Name       string
	Version    string
	JWK        kcrypto.JWK // public parts, Kty as stored, KeyOps set; Kid left to the caller
	Tags       map[string]string
	Attributes Attributes
	Managed    bool
}

// DeletedKey is a soft-deleted key's current version and deletion dates.
type DeletedKey struct {
	Key
	DeletedDate        int64
	ScheduledPurgeDate int64
}

// Page is one page of a list.
type Page[T any] = objects.Page[T]

// Service implements the keys operations of one keyhaven server.
type Service struct {
	b      *barrier.Barrier
	store  *objects.Store[record]
	now    func() time.Time
	parsed keyCache
}

// New returns the keys service over b; now is the clock.
func New(b *barrier.Barrier, now func() time.Time) *Service {
	return &Service{b: b, store: objects.New[record](b, now, "keys", lifecycleErrors), now: now}
}

// Create generates a new key (or a new version of an existing key).
func (s *Service) Create(ctx context.Context, v *vaults.Vault, name string, p CreateParams) (*Key, error) {
	if err := ValidateName(name); err != nil {
		return nil, err
	}
	rec, err := s.newRecord(p)
	if err != nil {
		return nil, err
	}
	return s.add(ctx, v, name, rec)
}

// add stores rec as the new current version of name with its expiry index
// entry and a KeyNewVersionCreated event, in one transaction.
func (s *Service) add(ctx context.Context, v *vaults.Vault, name string, rec *record) (*Key, error) {
	var it *item
	err := s.store.Update(ctx, v, func(tx *objects.Tx[record]) error {
		var err error
		if it, err = tx.Add(name, objects.NewVersion(), *rec); err != nil {
			return err
		}
		if err := expiry.Index(tx.Barrier(), expiry.Keys, v.ID, it.Head.Name, it.Version, nil, rec.Expires); err != nil {
			return err
		}
		return recordEvent(tx.Barrier(), v, it, events.KeyNewVersionCreated, s.now())
	})
	if err != nil {
		return nil, err
	}
	return keyOf(it)
}

// newRecord validates a create request and generates the key material.
func (s *Service) newRecord(p CreateParams) (*record, error) {
	kty, err := softwareKty(p.Kty)
	if err != nil {
		return nil, err
	}
	if p.Exportable != nil && *p.Exportable {
		return nil, kverr.BadParameterf("AKV.SKR.1004: Exportable keys must have release policy; secure key release is not supported by this server.")
	}
	if err := validateCommon(p.Tags, p.Attributes); err != nil {
		return nil, err
	}
	size, exp := 0, 0
	if p.KeySize != nil {
		size = *p.KeySize
	}
	if p.PublicExponent != nil {
		exp = *p.PublicExponent
	}
	k, err := kcrypto.Generate(kty, size, p.Curve, exp)
	if err != nil {
		return nil, cryptoError(err)
	}
	return s.recordFor(k, p.Kty, p.KeyOps, p.Attributes, p.Tags)
}

// recordFor builds a record for key material with the request's key_ops,
// attributes and tags.
func (s *Service) recordFor(k *kcrypto.Key, kty string, ops []string, a AttributesUpdate, tags map[string]string) (*record, error) {
	keyOps := kcrypto.DefaultKeyOps(kty)
	if ops != nil {
		var err error
		if keyOps, err = normalizeOps(ops); err != nil {
			return nil, err
		}
	}
	material, err := k.MarshalPrivate()
	if err != nil {
		return nil, err
	}
	now := s.now().Unix()
	rec := &record{Kty: kty, Material: material, KeyOps: keyOps, Tags: tags, Enabled: true, Created: now, Updated: now}
	applyAttributes(rec, a)
	return rec, nil
}

// softwareKty accepts the key types kept in software; -HSM types are
// refused rather than silently stored in software.
func softwareKty(kty string) (string, error) {
	switch kty {
	case "RSA", "EC", "oct":
		return kty, nil
	case "RSA-HSM", "EC-HSM", "oct-HSM":
		return "", kverr.BadParameterf("Key type %s needs a hardware security module; this server has no PKCS#11 backend configured, and HSM keys are never stored in software.", kty)
	case "":
		return "", kverr.BadParameterf("The parameter 'kty' is required.")
	}
	return "", kverr.BadParameterf("Unsupported key type %q: use RSA, EC or oct.", kty)
}

// Import stores a JWK with private parts as a new version.
func (s *Service) Import(ctx context.Context, v *vaults.Vault, name string, p ImportParams) (*Key, error) {
	if err := ValidateName(name); err != nil {
		return nil, err
	}
	if p.HSM != nil && *p.HSM {
		return nil, kverr.BadParameterf("Importing into a hardware security module needs a PKCS#11 backend, which this server has not configured.")
	}
	if err := validateCommon(p.Tags, p.Attributes); err != nil {
		return nil, err
	}
	if len(p.JWK) == 0 {
		return nil, kverr.BadParameterf("The parameter 'key' is required.")
	}
	var j kcrypto.JWK // kty and key_ops as given
	if err := jsonUnmarshal(p.JWK, &j); err != nil {
		return nil, kverr.BadParameterf("The parameter 'key' is not a JSON web key.")
	}
	if _, err := softwareKty(j.Kty); err != nil {
		return nil, err
	}
	k, err := kcrypto.ParseJWK(p.JWK)
	if err != nil {
		return nil, cryptoError(err)
	}
	if !k.HasPrivate() {
		return nil, kverr.BadParameterf("The imported key must include its private parts.")
	}
	rec, err := s.recordFor(k, k.Kty(), j.KeyOps, p.Attributes, p.Tags)
	if err != nil {
		return nil, err
	}
	return s.add(ctx, v, name, rec)
}

// Get returns a key version's public parts ("" is the current version).
func (s *Service) Get(ctx context.Context, v *vaults.Vault, name, version string) (*Key, error) {
	it, err := s.store.Get(ctx, v, name, version)
	if err != nil {
		return nil, err
	}
	return keyOf(it)
}

// Update changes a version's key_ops, attributes or tags.
func (s *Service) Update(ctx context.Context, v *vaults.Vault, name, version string, p UpdateParams) (*Key, error) {
	if err := validateCommon(p.Tags, p.Attributes); err != nil {
		return nil, err
	}
	ops, err := normalizeOps(p.KeyOps)
	if err != nil {
		return nil, err
	}
	it, err := s.modify(ctx, v, name, version, func(it *item) error {
		if it.Rec.Managed {
			return kverr.Forbiddenf("The key %s is managed by a certificate; update the certificate instead.", name)
		}
		if p.KeyOps != nil {
			it.Rec.KeyOps = ops
		}
		if p.Tags != nil {
			it.Rec.Tags = p.Tags
		}
		applyAttributes(&it.Rec, p.Attributes)
		if it.Rec.NotBefore != nil && it.Rec.Expires != nil && *it.Rec.Expires < *it.Rec.NotBefore {
			return kverr.BadParameterf("The expiry time (exp) must not be before the activation time (nbf).")
		}
		it.Rec.Updated = s.now().Unix()
		return nil
	})
	if err != nil {
		return nil, err
	}
	return keyOf(it)
}

// Rotate creates a new version with the same type, size or curve and
// key_ops as the current one; tags carry over. The rotation policy's
// expiryTime, when set, gives the new version its expiry.
func (s *Service) Rotate(ctx context.Context, v *vaults.Vault, name string) (*Key, error) {
	var out *item
	err := s.store.Update(ctx, v, func(tx *objects.Tx[record]) error {
		cur, err := tx.Get(name, "")
		if err != nil {
			return err
		}
		if cur.Head.Managed {
			return managedKey("rotate")
		}
		if out, err = s.rotate(tx, v, cur); err != nil {
			return err
		}
		return recordEvent(tx.Barrier(), v, out, events.KeyNewVersionCreated, s.now())
	})
	if err != nil {
		return nil, err
	}
	return keyOf(out)
}

// rotate adds the new version inside tx, with its expiry index entry.
func (s *Service) rotate(tx *objects.Tx[record], v *vaults.Vault, cur *item) (*item, error) {
	old, err := kcrypto.UnmarshalPrivate(cur.Rec.Material)
	if err != nil {
		return nil, err
	}
	size := 0
	if old.Kty() != "EC" {
		size = old.Size()
	}
	k, err := kcrypto.Generate(old.Kty(), size, old.Curve(), 0)
	if err != nil {
		return nil, err
	}
	rec, err := s.recordFor(k, cur.Rec.Kty, cur.Rec.KeyOps, AttributesUpdate{}, cur.Rec.Tags)
	if err != nil {
		return nil, err
	}
	pol, err := policyOf(cur.Head)
	if err != nil {
		return nil, err
	}
	if d := pol.expiryDuration(); d != nil {
		exp := d.addTo(time.Unix(rec.Created, 0).UTC()).Unix()
		rec.Expires = &exp
	}
	next, err := tx.Add(cur.Head.Name, objects.NewVersion(), *rec)
	if err != nil {
		return nil, err
	}
	return next, expiry.Index(tx.Barrier(), expiry.Keys, v.ID, next.Head.Name, next.Version, nil, rec.Expires)
}

// modify is objects.Store.Modify that also moves the version's entry in
// the expiry index, in the same transaction.
func (s *Service) modify(ctx context.Context, v *vaults.Vault, name, version string, fn func(*item) error) (*item, error) {
	var it *item
	err := s.store.Update(ctx, v, func(tx *objects.Tx[record]) error {
		var err error
		if it, err = tx.Get(name, version); err != nil {
			return err
		}
		if it.Head.Managed {
			return lifecycleErrors.Managed("update")
		}
		old := copyInt(it.Rec.Expires)
		if err := fn(it); err != nil {
			return err
		}
		if err := tx.Put(it); err != nil {
			return err
		}
		return expiry.Index(tx.Barrier(), expiry.Keys, v.ID, it.Head.Name, it.Version, old, it.Rec.Expires)
	})
	return it, err
}

func copyInt(p *int64) *int64 {
	if p == nil {
		return nil
	}
	c := *p
	return &c
}

func validateCommon(tags map[string]string, a AttributesUpdate) error {
	if err := objects.ValidateTags(tags); err != nil {
		return err
	}
	if a.NotBefore != nil && a.Expires != nil && *a.Expires < *a.NotBefore {
		return kverr.BadParameterf("The expiry time (exp) must not be before the activation time (nbf).")
	}
	return nil
}

func applyAttributes(rec *record, a AttributesUpdate) {
	if a.Enabled != nil {
		rec.Enabled = *a.Enabled
	}
	if a.NotBefore != nil {
		rec.NotBefore = a.NotBefore
	}
	if a.Expires != nil {
		rec.Expires = a.Expires
	}
}

// keyOf returns the public view of a version.
func keyOf(it *item) (*Key, error) {
	k, err := kcrypto.UnmarshalPrivate(it.Rec.Material)
	if err != nil {
		return nil, err
	}
	key := keyInfo(it)
	key.JWK = k.PublicJWK()
	key.JWK.Kty, key.JWK.KeyOps = it.Rec.Kty, it.Rec.KeyOps
	return &key, nil
}

// keyInfo is a key without its JWK.
func keyInfo(it *item) Key {
	r := &it.Rec
	return Key{Name: it.Head.Name, Version: it.Version, Tags: r.Tags, Managed: r.Managed,
		Attributes: Attributes{Enabled: r.Enabled, NotBefore: r.NotBefore, Expires: r.Expires, Created: r.Created,
			Updated: r.Updated, Exportable: r.Exportable}}
}

// cryptoError maps kcrypto's errors to Azure's: every one of them is the
// caller's input, so 400 BadParameter with kcrypto's public message.
func cryptoError(err error) error {
	var ce *kcrypto.Error
	switch {
	case errors.Is(err, kcrypto.ErrDecryption):
		return kverr.BadParameterf("The operation failed: the ciphertext, iv, tag or aad does not match this key.")
	case errors.As(err, &ce):
		return kverr.BadParameterf("%s", strings.ToUpper(ce.Msg[:1])+ce.Msg[1:]+".")
	}
	for _, e := range []error{kcrypto.ErrUnsupportedAlgorithm, kcrypto.ErrAlgorithmKeyMismatch, kcrypto.ErrInvalidDigest, kcrypto.ErrInvalidInput, kcrypto.ErrInvalidKey} {
		if errors.Is(err, e) {
			return kverr.BadParameterf("The request is not valid for this key: %s.", strings.TrimPrefix(e.Error(), "kcrypto: "))
		}
	}
	return err
}

// CheckHeadCopies corrects stale copies of current versions in the heads of
// the vaults vaultIDs (see objects.Store.CheckHeadCopies).
func (s *Service) CheckHeadCopies(ctx context.Context, vaultIDs []string) (int, error) {
	return s.store.CheckHeadCopies(ctx, vaultIDs)
}
