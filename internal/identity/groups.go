package identity

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"sort"
	"strings"

	"github.com/keyhaven/keyhaven/internal/barrier"
	"github.com/keyhaven/keyhaven/internal/jsonx"
	"github.com/keyhaven/keyhaven/internal/storage"
)

// Group is a set of principals (users, applications, managed identities)
// that role assignments and access policies can name. Tokens carry the
// object ids of the caller's groups in their "groups" claim, as Entra ID's
// do, so a membership change takes effect with the member's next token.
// Groups do not nest.
type Group struct {
	ObjectID    string   `json:"objectId"`
	DisplayName string   `json:"displayName"`
	Members     []string `json:"members"` // object ids
}

// MaxGroupMembers bounds one group.
const MaxGroupMembers = 10_000

// CreateGroup adds an empty group.
func (s *Service) CreateGroup(ctx context.Context, displayName string) (*Group, error) {
	if !ValidDisplayName(displayName) {
		return nil, ErrDisplayName
	}
	g := &Group{ObjectID: NewGUID(), DisplayName: displayName, Members: []string{}}
	return g, s.b.Update(ctx, func(tx *barrier.Tx) error { return putGroup(tx, g) })
}

func putGroup(tx *barrier.Tx, g *Group) error {
	raw, err := json.Marshal(g)
	if err != nil {
		return err
	}
	return tx.Put(groupPrefix+g.ObjectID, raw)
}

func getGroup(tx *barrier.Tx, id string) (*Group, error) {
	raw, err := tx.Get(groupPrefix + strings.ToLower(id))
	if errors.Is(err, storage.ErrNotFound) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	var g Group
	return &g, json.Unmarshal(raw, &g)
}

func eachGroup(tx *barrier.Tx, fn func(*Group) error) error {
	return tx.Scan(groupPrefix, "", func(_ string, raw []byte) (bool, error) {
		var g Group
		if err := json.Unmarshal(raw, &g); err != nil {
			return false, err
		}
		return true, fn(&g)
	})
}

// ListGroups returns every group, by display name.
func (s *Service) ListGroups(ctx context.Context) ([]Group, error) {
	out := []Group{}
	err := s.b.View(ctx, func(tx *barrier.Tx) error {
		return eachGroup(tx, func(g *Group) error { out = append(out, *g); return nil })
	})
	sort.Slice(out, func(i, j int) bool { return out[i].DisplayName < out[j].DisplayName })
	return out, err
}

// GetGroup returns one group.
func (s *Service) GetGroup(ctx context.Context, id string) (*Group, error) {
	var g *Group
	err := s.b.View(ctx, func(tx *barrier.Tx) error {
		var err error
		g, err = getGroup(tx, id)
		return err
	})
	return g, err
}

// DeleteGroup removes a group.
func (s *Service) DeleteGroup(ctx context.Context, id string) error {
	return s.b.Update(ctx, func(tx *barrier.Tx) error {
		g, err := getGroup(tx, id)
		if err != nil {
			return err
		}
		return tx.Delete(groupPrefix + g.ObjectID)
	})
}

// AddGroupMember adds a user, application or managed identity (by object
// id) to a group.
func (s *Service) AddGroupMember(ctx context.Context, groupID, memberID string) (*Group, error) {
	memberID = strings.ToLower(memberID)
	var out *Group
	err := s.b.Update(ctx, func(tx *barrier.Tx) error {
		g, err := getGroup(tx, groupID)
		if err != nil {
			return err
		}
		if _, err := getGroup(tx, memberID); err == nil {
			return ErrGroupNesting
		}
		if ok, err := principalInTx(tx, memberID); err != nil {
			return err
		} else if !ok {
			return ErrMemberMissing
		}
		if !slices.Contains(g.Members, memberID) {
			if len(g.Members) >= MaxGroupMembers {
				return ErrGroupFull
			}
			g.Members = append(g.Members, memberID)
		}
		out = g
		return putGroup(tx, g)
	})
	return out, err
}

// RemoveGroupMember removes a member from a group.
func (s *Service) RemoveGroupMember(ctx context.Context, groupID, memberID string) (*Group, error) {
	memberID = strings.ToLower(memberID)
	var out *Group
	err := s.b.Update(ctx, func(tx *barrier.Tx) error {
		g, err := getGroup(tx, groupID)
		if err != nil {
			return err
		}
		i := slices.Index(g.Members, memberID)
		if i < 0 {
			return ErrNotFound
		}
		g.Members = slices.Delete(g.Members, i, i+1)
		out = g
		return putGroup(tx, g)
	})
	return out, err
}

// groupsOf returns the object ids of the groups objectID belongs to.
func groupsOf(tx *barrier.Tx, objectID string) ([]string, error) {
	var out []string
	err := eachGroup(tx, func(g *Group) error {
		if slices.Contains(g.Members, strings.ToLower(objectID)) {
			out = append(out, g.ObjectID)
		}
		return nil
	})
	return out, err
}

func removeFromGroups(tx *barrier.Tx, objectID string) error {
	return eachGroup(tx, func(g *Group) error {
		if i := slices.Index(g.Members, strings.ToLower(objectID)); i >= 0 {
			g.Members = slices.Delete(g.Members, i, i+1)
			return putGroup(tx, g)
		}
		return nil
	})
}

// principalInTx reports whether objectID is a user, application (managed
// identities included) or group of the directory.
func principalInTx(tx *barrier.Tx, objectID string) (bool, error) {
	local, err := localPrincipals(tx, []string{objectID})
	return local[strings.ToLower(objectID)], err
}

// localPrincipals reports which of ids (keyed in lower case) name a user,
// application or group of the directory: users and groups by their keys,
// applications in one pass over them however many ids are asked about
// (applications are stored by client id), reading only their object id.
func localPrincipals(tx *barrier.Tx, ids []string) (map[string]bool, error) {
	local := make(map[string]bool, len(ids))
	rest := map[string]bool{}
	for _, id := range ids {
		id = strings.ToLower(id)
		found := false
		for _, p := range []string{userPrefix, groupPrefix} {
			if _, err := tx.Get(p + id); err == nil {
				found = true
				break
			} else if !errors.Is(err, storage.ErrNotFound) {
				return nil, err
			}
		}
		if found {
			local[id] = true
		} else {
			rest[id] = true
		}
	}
	if len(rest) == 0 {
		return local, nil
	}
	err := tx.Scan(appPrefix, "", func(_ string, raw []byte) (bool, error) {
		var oid string
		err := jsonx.Object(raw, func(k, v []byte) error {
			if string(k) != "objectId" {
				return nil
			}
			s, err := jsonx.ParseString(v)
			oid = strings.ToLower(s)
			return err
		})
		if err != nil {
			return false, err
		}
		if rest[oid] {
			local[oid] = true
			delete(rest, oid)
		}
		return len(rest) > 0, nil
	})
	return local, err
}
