package httpapi

import (
	"context"
	"net/http"

	"github.com/keyhaven/keyhaven/internal/kverr"
	"github.com/keyhaven/keyhaven/internal/vaults"
)

// Handlers shared by the object collections (secrets, keys, certificates).

// backupRoute answers {"value": blob} with the backup of the named object.
func backupRoute(op func(*Server) func(context.Context, *vaults.Vault, string) ([]byte, error)) func(*Server, *call) error {
	return func(s *Server, c *call) error {
		blob, err := op(s)(c.r.Context(), c.vault, c.param(0))
		if err != nil {
			return err
		}
		return c.reply(http.StatusOK, backupResult{Value: blob})
	}
}

// purgeRoute purges the named soft-deleted object and answers 204.
func purgeRoute(op func(*Server) func(context.Context, *vaults.Vault, string) error) func(*Server, *call) error {
	return func(s *Server, c *call) error {
		if err := op(s)(c.r.Context(), c.vault, c.param(0)); err != nil {
			return err
		}
		return c.noContent()
	}
}

// backupValue reads a restore request: {"value": "<base64url blob>"}.
func (c *call) backupValue() ([]byte, error) {
	var req struct {
		Value *base64URL `json:"value"`
	}
	if err := c.decode(&req); err != nil {
		return nil, err
	}
	if req.Value == nil {
		return nil, kverr.BadParameterf("The parameter 'value' is required.")
	}
	return *req.Value, nil
}
