package certs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
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
	return objects.EachIndexed(ctx, s.b, vs, func(vid string) string { return lifetimeIndex(vid, "") }, "lifetime actions of certificate",
		func(ctx context.Context, v *vaults.Vault, lname string) (bool, error) {
			return s.applyLifetime(ctx, v, lname, now)
		})
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

// errDueAtOnce aborts a renewal whose new version would itself be due.
var errDueAtOnce = errors.New("certs: renewed version due at once")

// renew issues the next version of a certificate under its policy. It
// waits while an operation is in progress, stops after a renewal of this
// version failed (until a create or a policy change), and never stores a
// version that would be due for renewal at once (a trigger longer than
// what the issuer grants), which would renew on every tick.
func (s *Service) renew(ctx context.Context, v *vaults.Vault, cur *item, pol *Policy) (bool, error) {
	if err := s.renewBlocked(ctx, v, cur, pol); err != nil {
		return false, err
	}
	key, err := s.keyFor(ctx, v, pol, cur)
	if err != nil {
		return false, err
	}
	var op *pending
	err = s.b.Update(ctx, func(bt *barrier.Tx) error {
		op = nil
		it, err := objects.In(s.store, bt, v).Get(cur.Head.Name, "")
		if err != nil || it.Version != cur.Version {
			return err // renewed meanwhile, or gone
		}
		op = &pending{Name: it.Head.Name, RequestID: objects.NewVersion(), Version: objects.NewVersion(), Policy: *pol,
			Status: StatusInProgress, Enabled: true, Tags: it.Rec.Tags, Preserve: it.Rec.PreserveOrder, Created: s.now().Unix()}
		if err := s.start(bt, v, op, key); err != nil {
			return err
		}
		if op.Status == StatusCompleted {
			next, err := objects.In(s.store, bt, v).Get(it.Head.Name, "")
			if err != nil {
				return err
			}
			if renewNow, _ := dueAction(pol, &next.Rec, s.now()); renewNow {
				return errDueAtOnce
			}
		}
		return putPending(bt, v, op)
	})
	if errors.Is(err, errDueAtOnce) {
		return false, s.failRenewal(ctx, v, op, "The renewed certificate would be due for renewal at once: the issuer grants less validity than the lifetime action's trigger. Change the policy or renew the CA.")
	}
	if err != nil || op == nil {
		return false, err
	}
	if op.Status != StatusCompleted {
		return false, fmt.Errorf("renewal of certificate %s failed: %s", op.Name, op.Details)
	}
	return true, nil
}

// renewBlocked refuses a renewal while an operation is in progress or after
// one failed for the current version.
func (s *Service) renewBlocked(ctx context.Context, v *vaults.Vault, cur *item, pol *Policy) error {
	var op *pending
	err := s.b.View(ctx, func(bt *barrier.Tx) error {
		var err error
		op, err = getPending(bt, v, cur.Head.Name)
		return err
	})
	switch {
	case err != nil || op == nil:
		return err
	case op.Status == StatusInProgress:
		return fmt.Errorf("certificate %s has an operation in progress; renewal waits", op.Name)
	case op.Status == StatusFailed && op.Created >= max(cur.Rec.Created, orZero(pol.Attributes).Updated):
		return fmt.Errorf("renewal of certificate %s failed (%s); it is retried after a new version or policy", op.Name, op.Details)
	}
	return nil
}

// failRenewal records a failed renewal as the certificate's operation.
func (s *Service) failRenewal(ctx context.Context, v *vaults.Vault, op *pending, msg string) error {
	op.Material, op.CSR = nil, nil
	op.fail(msg)
	if err := s.b.Update(ctx, func(bt *barrier.Tx) error { return putPending(bt, v, op) }); err != nil {
		return err
	}
	return fmt.Errorf("renewal of certificate %s failed: %s", op.Name, msg)
}
