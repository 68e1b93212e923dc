package httpapi

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/keyhaven/keyhaven/internal/certs"
	"github.com/keyhaven/keyhaven/internal/identity"
	"github.com/keyhaven/keyhaven/internal/keys"
	"github.com/keyhaven/keyhaven/internal/posture"
	"github.com/keyhaven/keyhaven/internal/secrets"
	"github.com/keyhaven/keyhaven/internal/vaults"
)

// postureRoutes serve keyhaven doctor: the posture check of the whole
// server (or one vault), for a management role.
func postureRoutes() []route {
	return append(auditReadRoutes(),
		route{method: "GET", pattern: "/posture", op: "GetPosture", action: "Keyhaven/posture/read", handle: (*Server).getPosture})
}

// postureObjectCap bounds the objects read per vault and kind, so a posture
// check of a huge vault stays a bounded amount of work.
const postureObjectCap = 20_000

// nearExpiryLead is how early an expiry is reported (Azure's near-expiry
// event lead time).
const nearExpiryLead = 30 * 24 * time.Hour

func (s *Server) getPosture(c *call) error {
	ctx := c.r.Context()
	only, _ := c.queryValue("vault")
	in := posture.Input{Now: s.Now(), NearExpiry: nearExpiryLead, Kinds: map[string]string{}}
	if s.Audit != nil {
		in.AuditSinks = 1
	}
	pol := s.Authz.Policy()
	in.Roles, in.Assignments = pol.Roles, pol.Assignments
	truncated := false
	for _, v := range s.Vaults.List() {
		if only != "" && !strings.EqualFold(only, v.Name) {
			continue
		}
		objs, cut, err := s.postureObjects(ctx, v)
		if err != nil {
			return err
		}
		truncated = truncated || cut
		in.Vaults = append(in.Vaults, posture.Vault{Vault: v, Objects: objs})
	}
	if err := s.principalKinds(ctx, in.Kinds); err != nil {
		return err
	}
	findings := posture.Check(in)
	if only != "" { // server-wide role findings name no vault; keep those of this vault
		kept := findings[:0]
		for _, f := range findings {
			if f.Vault == "" || strings.EqualFold(f.Vault, only) {
				kept = append(kept, f)
			}
		}
		findings = kept
	}
	if findings == nil {
		findings = []posture.Finding{}
	}
	return c.reply(http.StatusOK, map[string]any{"value": findings, "vaults": len(in.Vaults), "truncated": truncated})
}

func (s *Server) postureObjects(ctx context.Context, v *vaults.Vault) ([]posture.Object, bool, error) {
	ss, cut1, err := listAll(ctx, func(cursor string) (secrets.Page[secrets.Secret], error) { return s.Secrets.List(ctx, v, cursor, 25) },
		func(x secrets.Secret) (posture.Object, bool) {
			return posture.Object{Kind: "secret", Name: x.Name, Enabled: x.Attributes.Enabled, Expires: deref(x.Attributes.Expires), Managed: x.Managed}, true
		})
	if err != nil {
		return nil, false, err
	}
	ks, cut2, err := listAll(ctx, func(cursor string) (keys.Page[keys.Key], error) { return s.Keys.List(ctx, v, cursor, 25) },
		func(x keys.Key) (posture.Object, bool) {
			o := posture.Object{Kind: "key", Name: x.Name, Enabled: x.Attributes.Enabled, Expires: deref(x.Attributes.Expires), Managed: x.Managed}
			if pol, err := s.Keys.GetRotationPolicy(ctx, v, x.Name); err == nil {
				for _, a := range pol.LifetimeActions {
					o.AutoRotates = o.AutoRotates || strings.EqualFold(a.Action.Type, "Rotate")
				}
			}
			return o, true
		})
	if err != nil {
		return nil, false, err
	}
	cs, cut3, err := listAll(ctx, func(cursor string) (certs.Page[certs.Certificate], error) { return s.Certs.List(ctx, v, cursor, 25) },
		func(x certs.Certificate) (posture.Object, bool) {
			return posture.Object{Kind: "certificate", Name: x.Name, Enabled: x.Attributes.Enabled, Expires: x.Attributes.Expires}, !x.Pending
		})
	if err != nil {
		return nil, false, err
	}
	return append(append(ss, ks...), cs...), cut1 || cut2 || cut3, nil
}

// listAll pages through a collection with list, keeping what keep maps
// (and accepts), up to postureObjectCap; it reports whether it stopped at
// the cap.
// (secrets.Page, keys.Page and certs.Page are one type: objects.Page.)
func listAll[T any](ctx context.Context, list func(cursor string) (secrets.Page[T], error), keep func(T) (posture.Object, bool)) ([]posture.Object, bool, error) {
	var out []posture.Object
	for cursor := ""; ; {
		if err := ctx.Err(); err != nil {
			return nil, false, err
		}
		p, err := list(cursor)
		if err != nil {
			return nil, false, err
		}
		for _, x := range p.Items {
			if o, ok := keep(x); ok {
				out = append(out, o)
			}
		}
		if cursor = p.Next; cursor == "" {
			return out, false, nil
		}
		if len(out) >= postureObjectCap {
			return out, true, nil
		}
	}
}

func deref(p *int64) int64 {
	if p == nil {
		return 0
	}
	return *p
}

// principalKinds fills kinds with every principal of the directory.
func (s *Server) principalKinds(ctx context.Context, kinds map[string]string) error {
	apps, err := s.Identity.ListApps(ctx)
	if err != nil {
		return err
	}
	for _, a := range apps {
		k := "Application"
		if a.Kind == identity.KindManagedIdentity {
			k = "ManagedIdentity"
		}
		kinds[strings.ToLower(a.ObjectID)] = k
	}
	users, err := s.Identity.ListUsers(ctx)
	if err != nil {
		return err
	}
	for _, u := range users {
		kinds[strings.ToLower(u.ObjectID)] = "User"
	}
	groups, err := s.Identity.ListGroups(ctx)
	if err != nil {
		return err
	}
	for _, g := range groups {
		kinds[strings.ToLower(g.ObjectID)] = "Group"
	}
	return nil
}
