package certs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/keyhaven/keyhaven/internal/barrier"
	"github.com/keyhaven/keyhaven/internal/events"
	"github.com/keyhaven/keyhaven/internal/kverr"
	"github.com/keyhaven/keyhaven/internal/objects"
	"github.com/keyhaven/keyhaven/internal/vaults"
)

// RenewDue runs the lifetime actions of the given vaults' certificates:
// AutoRenew issues a new version (new or reused key per policy) once its
// trigger has come, EmailContacts records a CertificateNearExpiry event
// once per version. It returns how many certificates it renewed; a
// failing certificate does not stop the rest.
func (s *Service) RenewDue(ctx context.Context, now time.Time, vs []*vaults.Vault) (int, error) {
	n := 0
	var errs []error
	for _, v := range vs {
		names, err := s.lifetimeNames(ctx, v)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		for _, lname := range names {
			renewed, err := s.applyLifetime(ctx, v, lname, now)
			if err != nil {
				errs = append(errs, fmt.Errorf("lifetime actions of certificate %s in vault %s: %w", lname, v.Name, err))
			}
			if renewed {
				n++
			}
		}
	}
	return n, errors.Join(errs...)
}

func (s *Service) lifetimeNames(ctx context.Context, v *vaults.Vault) ([]string, error) {
	var names []string
	prefix := lifetimeIndex(v.ID, "")
	err := s.b.View(ctx, func(bt *barrier.Tx) error {
		return bt.ScanKeys(prefix, "", func(k string) (bool, error) {
			names = append(names, strings.TrimPrefix(k, prefix))
			return true, nil
		})
	})
	return names, err
}

// dueAction returns the action of the policy whose trigger has come for
// the version, or "".
func dueAction(p *Policy, rec *record, now time.Time) (renew, notify bool) {
	for _, a := range p.LifetimeActions {
		if now.Unix() < triggerTime(a.Trigger, rec) {
			continue
		}
		switch a.Action.ActionType {
		case ActionAutoRenew:
			renew = true
		case ActionEmail:
			notify = true
		}
	}
	return renew, notify
}

// triggerTime is when a trigger fires for a version valid from nbf to exp.
func triggerTime(t Trigger, rec *record) int64 {
	if t.LifetimePercentage != nil {
		return rec.NotBefore + (rec.Expires-rec.NotBefore)*int64(*t.LifetimePercentage)/100
	}
	return rec.Expires - int64(*t.DaysBeforeExpiry)*86400
}

// applyLifetime evaluates one certificate. Key generation for a renewal
// happens outside the transaction that stores it, so the version is
// checked again there.
func (s *Service) applyLifetime(ctx context.Context, v *vaults.Vault, lname string, now time.Time) (bool, error) {
	var cur *item
	var pol *Policy
	err := s.store.View(ctx, v, func(t *objects.Tx[record]) error {
		it, err := t.Get(lname, "")
		if err != nil {
			return err
		}
		m, err := metaOf(it.Head)
		cur, pol = it, m.Policy
		return err
	})
	if e := kverr.As(err); e != nil && e.Kind == kverr.NotFound {
		return false, s.b.Update(ctx, func(bt *barrier.Tx) error { return bt.Delete(lifetimeIndex(v.ID, lname)) })
	}
	if err != nil || pol == nil {
		return false, err
	}
	renew, notify := dueAction(pol, &cur.Rec, now)
	if notify {
		if err := s.notify(ctx, v, cur, now); err != nil {
			return false, err
		}
	}
	if !renew || pol.Issuer.Name == IssuerUnknown {
		return false, nil
	}
	return s.renew(ctx, v, cur, pol)
}

// notify records a CertificateNearExpiry event once per version.
func (s *Service) notify(ctx context.Context, v *vaults.Vault, cur *item, now time.Time) error {
	return s.store.Update(ctx, v, func(t *objects.Tx[record]) error {
		it, err := t.Get(cur.Head.Name, "")
		if err != nil {
			return err
		}
		m, err := metaOf(it.Head)
		if err != nil || m.Notified == it.Version {
			return err
		}
		m.Notified = it.Version
		if it.Head.Meta, err = json.Marshal(m); err != nil {
			return err
		}
		if err := t.PutHead(&it.Head); err != nil {
			return err
		}
		return recordEvent(t.Barrier(), v, it, events.CertificateNearExpiry, now)
	})
}

// renew issues the next version of a certificate under its policy.
func (s *Service) renew(ctx context.Context, v *vaults.Vault, cur *item, pol *Policy) (bool, error) {
	key, err := s.keyFor(ctx, v, pol, cur)
	if err != nil {
		return false, err
	}
	renewed := false
	err = s.b.Update(ctx, func(bt *barrier.Tx) error {
		renewed = false
		it, err := objects.In(s.store, bt, v).Get(cur.Head.Name, "")
		if err != nil || it.Version != cur.Version {
			return err // renewed meanwhile, or gone
		}
		op := &pending{Name: it.Head.Name, RequestID: objects.NewVersion(), Version: objects.NewVersion(), Policy: *pol,
			Status: StatusInProgress, Enabled: true, Tags: it.Rec.Tags, Preserve: it.Rec.PreserveOrder, Created: s.now().Unix()}
		if err := s.start(bt, v, op, key); err != nil {
			return err
		}
		renewed = op.Status == StatusCompleted
		return putPending(bt, v, op)
	})
	return renewed, err
}
