package keys

import (
	"context"
	"encoding/json"
	"strings"
	"time"

	"github.com/keyhaven/keyhaven/internal/barrier"
	"github.com/keyhaven/keyhaven/internal/events"
	"github.com/keyhaven/keyhaven/internal/kverr"
	"github.com/keyhaven/keyhaven/internal/objects"
	"github.com/keyhaven/keyhaven/internal/vaults"
)

// Policy is a key rotation policy (Azure's KeyRotationPolicy without id).
type Policy struct {
	KeyName         string           `json:"-"` // the key's name as created
	LifetimeActions []LifetimeAction `json:"lifetimeActions"`
	Attributes      PolicyAttributes `json:"attributes"`
}

// LifetimeAction is one trigger → action pair.
type LifetimeAction struct {
	Trigger Trigger `json:"trigger"`
	Action  Action  `json:"action"`
}

// Trigger has exactly one of its durations (ISO-8601, e.g. "P90D").
type Trigger struct {
	TimeAfterCreate  string `json:"timeAfterCreate,omitempty"`
	TimeBeforeExpiry string `json:"timeBeforeExpiry,omitempty"`
}

// Action is "Rotate" or "Notify".
type Action struct {
	Type string `json:"type"`
}

// PolicyAttributes carry the expiry given to rotated versions.
type PolicyAttributes struct {
	ExpiryTime string `json:"expiryTime,omitempty"`
	Created    int64  `json:"created,omitempty"`
	Updated    int64  `json:"updated,omitempty"`
}

// meta is what keys keep in an object's head.
type meta struct {
	Policy   *Policy `json:"rotationPolicy,omitempty"`
	Notified string  `json:"notifiedVersion,omitempty"` // version a near-expiry event was recorded for
}

var defaultNotify = LifetimeAction{Trigger: Trigger{TimeBeforeExpiry: "P30D"}, Action: Action{Type: "Notify"}}

func metaOf(h objects.Head) (meta, error) {
	var m meta
	if len(h.Meta) == 0 {
		return m, nil
	}
	err := json.Unmarshal(h.Meta, &m)
	return m, err
}

func policyOf(h objects.Head) (*Policy, error) {
	m, err := metaOf(h)
	if err != nil || m.Policy == nil {
		return &Policy{}, err
	}
	return m.Policy, nil
}

func (p *Policy) expiryDuration() *isoDuration {
	d, _ := parseDuration(p.Attributes.ExpiryTime)
	return d
}

// rotationIndex lists the keys that have a policy, per vault, for the
// scheduler.
func rotationIndex(vaultID, lname string) string {
	return "sys/rotation/keys/" + vaultID + "/" + lname
}

// GetRotationPolicy returns a key's policy; a key without one has Azure's
// default: notify 30 days before expiry.
func (s *Service) GetRotationPolicy(ctx context.Context, v *vaults.Vault, name string) (*Policy, error) {
	it, err := s.store.Get(ctx, v, name, "")
	if err != nil {
		return nil, err
	}
	p, err := policyOf(it.Head)
	if err != nil {
		return nil, err
	}
	if p.LifetimeActions == nil {
		p.LifetimeActions = []LifetimeAction{defaultNotify}
	}
	p.KeyName = it.Head.Name
	return p, nil
}

// UpdateRotationPolicy validates and stores a key's policy.
func (s *Service) UpdateRotationPolicy(ctx context.Context, v *vaults.Vault, name string, p Policy) (*Policy, error) {
	if err := p.normalize(); err != nil {
		return nil, err
	}
	now := s.now().Unix()
	err := s.store.Update(ctx, v, func(tx *objects.Tx[record]) error {
		it, err := tx.Get(name, "")
		if err != nil {
			return err
		}
		if it.Head.Managed {
			return managedKey("rotationpolicy")
		}
		p.KeyName = it.Head.Name
		m, err := metaOf(it.Head)
		if err != nil {
			return err
		}
		p.Attributes.Created, p.Attributes.Updated = now, now
		if m.Policy != nil && m.Policy.Attributes.Created != 0 {
			p.Attributes.Created = m.Policy.Attributes.Created
		}
		m.Policy = &p
		if it.Head.Meta, err = json.Marshal(m); err != nil {
			return err
		}
		if err := tx.Barrier().Put(rotationIndex(v.ID, strings.ToLower(it.Head.Name)), nil); err != nil {
			return err
		}
		return tx.PutHead(&it.Head)
	})
	if err != nil {
		return nil, err
	}
	return &p, nil
}

// normalize validates the policy against Azure's rules and fills defaults.
func (p *Policy) normalize() error {
	var rotate, notify int
	for i := range p.LifetimeActions {
		a := &p.LifetimeActions[i]
		switch strings.ToLower(a.Action.Type) {
		case "rotate":
			a.Action.Type = "Rotate"
			rotate++
		case "notify":
			a.Action.Type = "Notify"
			notify++
		default:
			return kverr.BadParameterf("A lifetime action's type must be Rotate or Notify.")
		}
		if err := a.Trigger.check(a.Action.Type, p.Attributes.ExpiryTime != ""); err != nil {
			return err
		}
	}
	if rotate > 1 || notify > 1 {
		return kverr.BadParameterf("A rotation policy has at most one Rotate and one Notify action.")
	}
	if e := p.Attributes.ExpiryTime; e != "" {
		d, ok := parseDuration(e)
		if !ok || !d.atLeast(28) {
			return kverr.BadParameterf("attributes.expiryTime must be an ISO-8601 duration of at least 28 days (such as P90D).")
		}
		if err := p.checkRotateWindow(d); err != nil {
			return err
		}
	}
	if notify == 0 {
		p.LifetimeActions = append(p.LifetimeActions, defaultNotify)
	}
	return nil
}

// checkRotateWindow requires a Rotate trigger to fall at least 7 days
// before the expiry that expiryTime gives a new version, as Azure does.
func (p *Policy) checkRotateWindow(expiry *isoDuration) error {
	ref := time.Unix(0, 0).UTC()
	latest := expiry.addTo(ref).AddDate(0, 0, -7)
	for _, a := range p.LifetimeActions {
		if a.Action.Type != "Rotate" {
			continue
		}
		if d, ok := parseDuration(a.Trigger.TimeAfterCreate); ok && d.addTo(ref).After(latest) {
			return kverr.BadParameterf("A Rotate action's timeAfterCreate must be at least 7 days shorter than attributes.expiryTime.")
		}
		if d, ok := parseDuration(a.Trigger.TimeBeforeExpiry); ok && expiry.addTo(ref).Before(d.addTo(ref).AddDate(0, 0, 7)) {
			return kverr.BadParameterf("A Rotate action's timeBeforeExpiry must be at least 7 days shorter than attributes.expiryTime.")
		}
	}
	return nil
}

func (t *Trigger) check(action string, hasExpiry bool) error {
	if (t.TimeAfterCreate == "") == (t.TimeBeforeExpiry == "") {
		return kverr.BadParameterf("A lifetime action's trigger needs exactly one of timeAfterCreate and timeBeforeExpiry.")
	}
	if action == "Notify" && t.TimeAfterCreate != "" {
		return kverr.BadParameterf("A Notify action supports only timeBeforeExpiry.")
	}
	if action == "Rotate" && t.TimeBeforeExpiry != "" && !hasExpiry {
		return kverr.BadParameterf("A Rotate action with timeBeforeExpiry needs attributes.expiryTime.")
	}
	for _, s := range []string{t.TimeAfterCreate, t.TimeBeforeExpiry} {
		if s == "" {
			continue
		}
		if d, ok := parseDuration(s); !ok || !d.atLeast(7) {
			return kverr.BadParameterf("Trigger durations must be ISO-8601 durations of at least 7 days (such as P30D).")
		}
	}
	return nil
}

// RotateDue applies the rotation policies of the given vaults' keys: it
// rotates keys whose Rotate trigger has come and records a near-expiry
// event (once per version) for keys whose Notify trigger has come. It
// returns how many keys it rotated; a failing key does not stop the rest.
func (s *Service) RotateDue(ctx context.Context, now time.Time, vs []*vaults.Vault) (int, error) {
	return objects.EachIndexed(ctx, s.b, vs, func(vid string) string { return rotationIndex(vid, "") }, "rotation policy of key",
		func(ctx context.Context, v *vaults.Vault, lname string) (bool, error) {
			return s.applyPolicy(ctx, v, lname, now)
		})
}

// applyPolicy evaluates one key's policy in one transaction.
func (s *Service) applyPolicy(ctx context.Context, v *vaults.Vault, lname string, now time.Time) (rotated bool, err error) {
	err = s.store.Update(ctx, v, func(tx *objects.Tx[record]) error {
		rotated = false
		cur, err := tx.Get(lname, "")
		if kverr.As(err) != nil && kverr.As(err).Kind == kverr.NotFound {
			return s.dropIndexIfGone(tx, v, lname)
		}
		if err != nil {
			return err
		}
		m, err := metaOf(cur.Head)
		if err != nil || m.Policy == nil {
			return err
		}
		if due(m.Policy, "Rotate", &cur.Rec, now) {
			next, err := s.rotate(tx, v, cur)
			if err != nil {
				return err
			}
			rotated = true
			return recordEvent(tx.Barrier(), v, next, events.KeyNewVersionCreated, now)
		}
		if due(m.Policy, "Notify", &cur.Rec, now) && m.Notified != cur.Version {
			m.Notified = cur.Version
			if cur.Head.Meta, err = json.Marshal(m); err != nil {
				return err
			}
			if err := tx.PutHead(&cur.Head); err != nil {
				return err
			}
			return recordEvent(tx.Barrier(), v, cur, events.KeyNearExpiry, now)
		}
		return nil
	})
	return rotated && err == nil, err
}

// dropIndexIfGone removes the index entry of a purged key (a soft-deleted
// key keeps it, so its policy works again after recovery).
func (s *Service) dropIndexIfGone(tx *objects.Tx[record], v *vaults.Vault, lname string) error {
	if _, err := s.store.GetDeletedIn(tx, lname); err == nil {
		return nil
	}
	return tx.Barrier().Delete(rotationIndex(v.ID, lname))
}

// due reports whether the policy's action of kind has triggered for the
// current version rec.
func due(p *Policy, kind string, rec *record, now time.Time) bool {
	for _, a := range p.LifetimeActions {
		if a.Action.Type != kind {
			continue
		}
		if d, ok := parseDuration(a.Trigger.TimeAfterCreate); ok && !now.Before(d.addTo(time.Unix(rec.Created, 0).UTC())) {
			return true
		}
		if d, ok := parseDuration(a.Trigger.TimeBeforeExpiry); ok && rec.Expires != nil &&
			!now.Before(d.subtractFrom(time.Unix(*rec.Expires, 0).UTC())) {
			return true
		}
	}
	return false
}

func recordEvent(tx *barrier.Tx, v *vaults.Vault, it *item, typ string, now time.Time) error {
	return events.Record(tx, events.Event{ID: objects.NewVersion(), Type: typ, Time: now.UTC(), VaultID: v.ID, VaultName: v.Name,
		Data: events.Data{ObjectType: "Key", ObjectName: it.Head.Name, Version: it.Version, NBF: it.Rec.NotBefore, EXP: it.Rec.Expires}})
}
