package secrets

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/keyhaven/keyhaven/internal/barrier"
	"github.com/keyhaven/keyhaven/internal/kverr"
	"github.com/keyhaven/keyhaven/internal/storage"
	"github.com/keyhaven/keyhaven/internal/vaults"
)

// head is the record that makes a name exist (active or deleted).
type head struct {
	Name               string `json:"name"`
	Current            string `json:"current"`
	DeletedDate        int64  `json:"deletedDate,omitempty"`
	ScheduledPurgeDate int64  `json:"scheduledPurgeDate,omitempty"`
}

// version is the stored form of one secret version.
type version struct {
	Version     string            `json:"version"`
	Value       string            `json:"value"`
	ContentType string            `json:"contentType,omitempty"`
	Tags        map[string]string `json:"tags,omitempty"`
	Enabled     bool              `json:"enabled"`
	NotBefore   *int64            `json:"nbf,omitempty"`
	Expires     *int64            `json:"exp,omitempty"`
	Created     int64             `json:"created"`
	Updated     int64             `json:"updated"`
	Managed     bool              `json:"managed,omitempty"`
	KeyID       string            `json:"kid,omitempty"`
}

// Service implements the secrets operations of one keyhaven server.
type Service struct {
	b   *barrier.Barrier
	now func() time.Time
}

// New returns the secrets service over b; now is the clock.
func New(b *barrier.Barrier, now func() time.Time) *Service {
	return &Service{b: b, now: now}
}

func headKey(v *vaults.Vault, lname string) string { return "v/" + v.ID + "/secrets/" + lname }
func deletedKey(v *vaults.Vault, lname string) string {
	return "v/" + v.ID + "/deletedsecrets/" + lname
}
func versionsPrefix(v *vaults.Vault, lname string) string {
	return "v/" + v.ID + "/secretversions/" + lname + "/"
}
func purgeKey(v *vaults.Vault, lname string, at int64) string {
	return fmt.Sprintf("%s%020d/%s/%s", purgePrefix, at, v.ID, lname)
}

const purgePrefix = "sys/purge/secrets/"

// Set stores a new version of the secret name and returns it.
func (s *Service) Set(ctx context.Context, v *vaults.Vault, name string, p SetParams) (*Secret, error) {
	if err := ValidateName(name); err != nil {
		return nil, err
	}
	if err := p.Validate(); err != nil {
		return nil, err
	}
	now := s.now().Unix()
	ver := &version{Version: newVersion(), Value: *p.Value, Tags: p.Tags, Enabled: true, Created: now, Updated: now}
	if p.ContentType != nil {
		ver.ContentType = *p.ContentType
	}
	applyAttributes(ver, p.Attributes)
	var h head
	lname := strings.ToLower(name)
	err := s.b.Update(ctx, func(tx *barrier.Tx) error {
		if exists, err := has(tx, deletedKey(v, lname)); err != nil || exists {
			return errOr(err, deletedButRecoverable(name))
		}
		found, err := getJSON(tx, headKey(v, lname), &h)
		if err != nil {
			return err
		}
		if !found {
			h = head{Name: name}
		}
		h.Current = ver.Version
		if err := putJSON(tx, versionsPrefix(v, lname)+ver.Version, ver); err != nil {
			return err
		}
		return putJSON(tx, headKey(v, lname), &h)
	})
	if err != nil {
		return nil, err
	}
	return ver.secret(h.Name), nil
}

// Get returns a version of the secret (version "" means the latest),
// refusing disabled versions as Azure does. nbf/exp do not block a get.
func (s *Service) Get(ctx context.Context, v *vaults.Vault, name, ver string) (*Secret, error) {
	var out *Secret
	err := s.b.View(ctx, func(tx *barrier.Tx) error {
		h, rec, err := loadVersion(tx, v, name, ver)
		if err != nil {
			return err
		}
		out = rec.secret(h.Name)
		return nil
	})
	if err != nil {
		return nil, err
	}
	if !out.Attributes.Enabled {
		return nil, disabled()
	}
	return out, nil
}

// Update changes the attributes, content type or tags of one version
// (version "" means the latest). The value never changes.
func (s *Service) Update(ctx context.Context, v *vaults.Vault, name, ver string, p UpdateParams) (*Secret, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	var out *Secret
	err := s.b.Update(ctx, func(tx *barrier.Tx) error {
		h, rec, err := loadVersion(tx, v, name, ver)
		if err != nil {
			return err
		}
		if p.ContentType != nil {
			rec.ContentType = *p.ContentType
		}
		if p.Tags != nil {
			rec.Tags = p.Tags
		}
		applyAttributes(rec, p.Attributes)
		if rec.NotBefore != nil && rec.Expires != nil && *rec.Expires < *rec.NotBefore {
			return kverr.BadParameterf("The expiry time (exp) must not be before the activation time (nbf).")
		}
		rec.Updated = s.now().Unix()
		out = rec.secret(h.Name)
		return putJSON(tx, versionsPrefix(v, strings.ToLower(name))+rec.Version, rec)
	})
	return out, err
}

// loadVersion reads the head of an active secret and one of its versions.
func loadVersion(tx *barrier.Tx, v *vaults.Vault, name, ver string) (*head, *version, error) {
	if !nameRE.MatchString(name) || (ver != "" && !versionRE.MatchString(ver)) {
		return nil, nil, notFound(idText(name, ver))
	}
	lname := strings.ToLower(name)
	var h head
	found, err := getJSON(tx, headKey(v, lname), &h)
	if err != nil || !found {
		return nil, nil, errOr(err, notFound(idText(name, ver)))
	}
	if ver == "" {
		ver = h.Current
	}
	var rec version
	found, err = getJSON(tx, versionsPrefix(v, lname)+strings.ToLower(ver), &rec)
	if err != nil || !found {
		return nil, nil, errOr(err, notFound(idText(name, ver)))
	}
	return &h, &rec, nil
}

func idText(name, ver string) string {
	if ver == "" {
		return name
	}
	return name + "/" + ver
}

func applyAttributes(rec *version, a AttributesUpdate) {
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

func (r *version) secret(name string) *Secret {
	return &Secret{Name: name, Version: r.Version, Value: r.Value, ContentType: r.ContentType, Tags: r.Tags,
		Managed: r.Managed, KeyID: r.KeyID,
		Attributes: Attributes{Enabled: r.Enabled, NotBefore: r.NotBefore, Expires: r.Expires, Created: r.Created, Updated: r.Updated}}
}

// item returns the secret without its value, for lists.
func (r *version) item(name string) Secret {
	s := r.secret(name)
	s.Value = ""
	return *s
}

func newVersion() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// has reports whether key exists.
func has(tx *barrier.Tx, key string) (bool, error) {
	found := false
	err := tx.ScanKeys(key, "", func(k string) (bool, error) {
		found = k == key
		return false, nil
	})
	return found, err
}

// getJSON decodes the record at key into dst; found is false when absent.
func getJSON(tx *barrier.Tx, key string, dst any) (found bool, err error) {
	raw, err := tx.Get(key)
	if errors.Is(err, storage.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if err := json.Unmarshal(raw, dst); err != nil {
		return false, fmt.Errorf("secrets: decode %s: %w", key, err)
	}
	return true, nil
}

func putJSON(tx *barrier.Tx, key string, v any) error {
	raw, err := marshal(v)
	if err != nil {
		return err
	}
	return tx.Put(key, raw)
}

// marshal encodes v as compact JSON without HTML escaping, which would
// otherwise store '<', '>' and '&' in six bytes each.
func marshal(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// errOr returns err when it is not nil, else alt.
func errOr(err, alt error) error {
	if err != nil {
		return err
	}
	return alt
}

func isNotFound(err error) bool { return errors.Is(err, storage.ErrNotFound) }

func isSealed(err error) bool { return errors.Is(err, barrier.ErrSealed) }
