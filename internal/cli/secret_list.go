package cli

import (
	"context"
	"fmt"
	"iter"

	"github.com/spf13/cobra"

	"github.com/keyhaven/keyhaven/pkg/client"
)

// maxResultsFlag is --maxresults: at most that many results, fetched in
// pages of that size (the service allows 1-25).
type maxResultsFlag struct{ n int }

func (m *maxResultsFlag) bind(cmd *cobra.Command) {
	cmd.Flags().IntVar(&m.n, "maxresults", 0, "return at most N results (1-25), fetched in pages of N")
}

func (m *maxResultsFlag) check(cmd *cobra.Command) error {
	if cmd.Flags().Changed("maxresults") && (m.n < 1 || m.n > 25) {
		return usageError{fmt.Errorf("--maxresults must be between 1 and 25, got %d", m.n)}
	}
	return nil
}

func (m *maxResultsFlag) options() *client.ListOptions {
	return &client.ListOptions{MaxResults: int32(m.n)}
}

// collect drains seq into views, stopping after limit results (0: none).
func collect[T any](seq iter.Seq2[T, error], limit int, view func(T) map[string]any) ([]any, error) {
	out := []any{}
	for item, err := range seq {
		if err != nil {
			return nil, err
		}
		out = append(out, view(item))
		if limit > 0 && len(out) == limit {
			break
		}
	}
	return out, nil
}

func newSecretListCmd(s streams) *cobra.Command {
	m := &maxResultsFlag{}
	return newSecretOpCmd(s, secretOp{
		use: "list", short: "List the secrets of a vault (without values)", target: vaultOnly,
		flags: m.bind, prepare: m.check,
		run: func(ctx context.Context, c *client.SecretsClient, _ secretTarget) (any, error) {
			return collect(c.ListSecrets(ctx, m.options()), m.n, itemView)
		},
	})
}

func newSecretListVersionsCmd(s streams) *cobra.Command {
	m := &maxResultsFlag{}
	return newSecretOpCmd(s, secretOp{
		use: "list-versions", short: "List the versions of a secret (without values)", target: byName,
		flags: m.bind, prepare: m.check,
		run: func(ctx context.Context, c *client.SecretsClient, t secretTarget) (any, error) {
			return collect(c.ListSecretVersions(ctx, t.name, m.options()), m.n, itemView)
		},
	})
}

func newSecretListDeletedCmd(s streams) *cobra.Command {
	m := &maxResultsFlag{}
	return newSecretOpCmd(s, secretOp{
		use: "list-deleted", short: "List the deleted secrets of a vault", target: vaultOnly,
		flags: m.bind, prepare: m.check,
		run: func(ctx context.Context, c *client.SecretsClient, _ secretTarget) (any, error) {
			return collect(c.ListDeletedSecrets(ctx, m.options()), m.n, deletedItemView)
		},
	})
}
