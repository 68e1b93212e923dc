package objects

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/keyhaven/keyhaven/internal/barrier"
	"github.com/keyhaven/keyhaven/internal/vaults"
)

// EachIndexed runs fn for every name listed under prefix(vault id) in each
// of vs — the indexes the scheduler walks (keys with a rotation policy,
// certificates with lifetime actions) — and returns how many runs reported
// done. A failing name is reported as "what NAME in vault V" and does not
// stop the rest.
func EachIndexed(ctx context.Context, b *barrier.Barrier, vs []*vaults.Vault, prefix func(vaultID string) string, what string,
	fn func(ctx context.Context, v *vaults.Vault, lname string) (bool, error)) (int, error) {
	n := 0
	var errs []error
	for _, v := range vs {
		names, err := indexedNames(ctx, b, prefix(v.ID))
		if err != nil {
			errs = append(errs, err)
			continue
		}
		for _, lname := range names {
			done, err := fn(ctx, v, lname)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s %s in vault %s: %w", what, lname, v.Name, err))
			}
			if done {
				n++
			}
		}
	}
	return n, errors.Join(errs...)
}

func indexedNames(ctx context.Context, b *barrier.Barrier, prefix string) ([]string, error) {
	var names []string
	err := b.View(ctx, func(tx *barrier.Tx) error {
		return tx.ScanKeys(prefix, "", func(k string) (bool, error) {
			names = append(names, strings.TrimPrefix(k, prefix))
			return true, nil
		})
	})
	return names, err
}
