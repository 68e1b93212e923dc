// Package vaults is the registry of vaults a keyhaven server serves: their
// names, ids and the settings that govern the objects inside them (soft-delete
// retention, purge protection, authorization model).
//
// Vault records live in the barrier under "sys/vaults/<lower-case name>", so
// they are encrypted like everything else. Creating a vault creates its vault
// key in the same transaction. Lookups by name are served from an in-memory
// copy-on-write snapshot and never touch storage, because every data-plane
// request resolves its vault from the Host header.
package vaults

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/keyhaven/keyhaven/internal/barrier"
	"github.com/keyhaven/keyhaven/internal/kverr"
	"github.com/keyhaven/keyhaven/internal/storage"
)

// Retention limits for soft-deleted objects, as in Azure.
const (
	MinRetentionDays     = 7
	MaxRetentionDays     = 90
	DefaultRetentionDays = 90
)

// Vault is one vault's settings. Values handed out are snapshots: treat them
// as read-only.
type Vault struct {
	ID                      string    `json:"id"`
	Name                    string    `json:"name"`
	SoftDeleteRetentionDays int       `json:"softDeleteRetentionDays"`
	PurgeProtection         bool      `json:"enablePurgeProtection"`
	RBACAuthorization       bool      `json:"enableRbacAuthorization"`
	Created                 time.Time `json:"created"`
	Settings
}

// RecoveryLevel is the deletion recovery level Azure reports for objects in
// this vault (soft delete is always on).
func (v *Vault) RecoveryLevel() string {
	switch custom := v.SoftDeleteRetentionDays < MaxRetentionDays; {
	case custom && v.PurgeProtection:
		return "CustomizedRecoverable"
	case custom:
		return "CustomizedRecoverable+Purgeable"
	case v.PurgeProtection:
		return "Recoverable"
	default:
		return "Recoverable+Purgeable"
	}
}

// Spec describes a vault to create.
type Spec struct {
	Name                    string
	SoftDeleteRetentionDays int // 0 means the default, 90
	PurgeProtection         bool
	// AccessPolicyModel creates the vault with the legacy access-policy
	// model instead of RBAC (the default, as in Azure since 2025).
	AccessPolicyModel bool
	Settings          Settings
}

var nameRE = regexp.MustCompile(`^[a-zA-Z][a-zA-Z0-9-]{1,22}[a-zA-Z0-9]$`)

// ValidateName checks Azure's vault naming rules: 3–24 characters of
// letters, digits and hyphens, starting with a letter, ending with a letter
// or digit, without consecutive hyphens.
func ValidateName(name string) error {
	if !nameRE.MatchString(name) || strings.Contains(name, "--") {
		return kverr.BadParameterf("The vault name must be 3-24 characters of letters, digits and hyphens, start with a letter, end with a letter or digit, and contain no consecutive hyphens.")
	}
	return nil
}

const prefix = "sys/vaults/"

// Service is the vault registry.
type Service struct {
	b     *barrier.Barrier
	now   func() time.Time
	mu    sync.Mutex                        // serialises writers of byName
	names atomic.Pointer[map[string]*Vault] // lower-case name → vault

	// forget, when set, drops what outlives a vault elsewhere (its role
	// assignments): after a purge, and before a vault takes a name, so a
	// new vault never inherits grants of an older one of the same name
	// even if the process died between purge and cleanup.
	forget func(ctx context.Context, name string) error
}

// OnNameFreed sets the function that drops what outlives a vault of a
// name (role assignments at its scope).
func (s *Service) OnNameFreed(fn func(ctx context.Context, name string) error) { s.forget = fn }

// New returns a registry over b. Call Load once the barrier is unsealed.
func New(b *barrier.Barrier, now func() time.Time) *Service {
	s := &Service{b: b, now: now}
	empty := map[string]*Vault{}
	s.names.Store(&empty)
	return s
}

// Load reads every vault into memory.
func (s *Service) Load(ctx context.Context) error {
	m := map[string]*Vault{}
	err := s.b.View(ctx, func(tx *barrier.Tx) error {
		return tx.Scan(prefix, "", func(_ string, val []byte) (bool, error) {
			v := new(Vault)
			if err := json.Unmarshal(val, v); err != nil {
				return false, fmt.Errorf("vaults: decode record: %w", err)
			}
			v.Settings.normalize()
			m[strings.ToLower(v.Name)] = v
			return true, nil
		})
	})
	if err != nil {
		return err
	}
	s.mu.Lock()
	s.names.Store(&m)
	s.mu.Unlock()
	return nil
}

// Lookup returns the vault named name (case-insensitive) from memory.
func (s *Service) Lookup(name string) (*Vault, bool) {
	v, ok := (*s.names.Load())[strings.ToLower(name)]
	return v, ok
}

// List returns every vault, in no particular order.
func (s *Service) List() []*Vault {
	m := *s.names.Load()
	out := make([]*Vault, 0, len(m))
	for _, v := range m {
		out = append(out, v)
	}
	return out
}

// Ensure returns the vault named spec.Name, creating it when it does not
// exist. An existing vault keeps its settings.
func (s *Service) Ensure(ctx context.Context, spec Spec) (*Vault, error) {
	if v, ok := s.Lookup(spec.Name); ok {
		return v, nil
	}
	v, err := s.Create(ctx, spec)
	var ke *kverr.Error
	if errors.As(err, &ke) && ke.Kind == kverr.Conflict {
		if v, ok := s.Lookup(spec.Name); ok {
			return v, nil
		}
	}
	return v, err
}

// Create makes a new vault with its own vault key.
func (s *Service) Create(ctx context.Context, spec Spec) (*Vault, error) {
	if err := ValidateName(spec.Name); err != nil {
		return nil, err
	}
	days := spec.SoftDeleteRetentionDays
	if days == 0 {
		days = DefaultRetentionDays
	}
	if days < MinRetentionDays || days > MaxRetentionDays {
		return nil, kverr.BadParameterf("softDeleteRetentionInDays must be between %d and %d.", MinRetentionDays, MaxRetentionDays)
	}
	v := &Vault{ID: newID(), Name: spec.Name, SoftDeleteRetentionDays: days,
		PurgeProtection: spec.PurgeProtection, RBACAuthorization: true, Created: s.now().UTC(), Settings: spec.Settings}
	v.Settings.normalize()
	if err := v.Settings.Validate(); err != nil {
		return nil, err
	}
	if spec.AccessPolicyModel {
		v.RBACAuthorization = false
	}
	if _, taken := s.Lookup(v.Name); !taken && s.forget != nil {
		if deleted, _ := s.GetDeleted(ctx, v.Name); deleted == nil {
			if err := s.forget(ctx, v.Name); err != nil {
				return nil, err
			}
		}
	}
	rec, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	key := prefix + strings.ToLower(v.Name)
	err = s.b.Update(ctx, func(tx *barrier.Tx) error {
		if _, err := tx.Get(key); err == nil {
			return kverr.New(kverr.Conflict, "VaultAlreadyExists", "A vault with the name "+v.Name+" already exists.")
		} else if !errors.Is(err, storage.ErrNotFound) {
			return err
		}
		if _, err := tx.Get(deletedPrefix + strings.ToLower(v.Name)); err == nil {
			return kverr.New(kverr.Conflict, "VaultAlreadyExists", "A soft-deleted vault named "+v.Name+" exists: recover it, or purge it first.")
		} else if !errors.Is(err, storage.ErrNotFound) {
			return err
		}
		if err := tx.CreateVaultKey(v.ID); err != nil {
			return err
		}
		return tx.Put(key, rec)
	})
	if err != nil {
		return nil, err
	}
	s.publish(v)
	return v, nil
}

func (s *Service) publish(v *Vault) {
	old := *s.names.Load()
	m := make(map[string]*Vault, len(old)+1)
	for k, x := range old {
		m[k] = x
	}
	m[strings.ToLower(v.Name)] = v
	s.names.Store(&m)
}

func newID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// EnablePurgeProtection turns purge protection on for a vault. As in Azure,
// it can never be turned off again.
func (s *Service) EnablePurgeProtection(ctx context.Context, name string) (*Vault, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	key := prefix + strings.ToLower(name)
	var v Vault
	err := s.b.Update(ctx, func(tx *barrier.Tx) error {
		raw, err := tx.Get(key)
		if errors.Is(err, storage.ErrNotFound) {
			return kverr.New(kverr.NotFound, "VaultNotFound", "The vault "+name+" does not exist on this server.")
		}
		if err != nil {
			return err
		}
		if err := json.Unmarshal(raw, &v); err != nil {
			return err
		}
		v.PurgeProtection = true
		raw, err = json.Marshal(&v)
		if err != nil {
			return err
		}
		return tx.Put(key, raw)
	})
	if err != nil {
		return nil, err
	}
	s.publish(&v)
	return &v, nil
}
