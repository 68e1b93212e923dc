package cli

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"
)

// newDoctorCmd is `keyhaven doctor`: the server's posture check.
func newDoctorCmd(s streams) *cobra.Command {
	var serverURL, vault, output, failOn string
	cmd := &cobra.Command{
		Use:   "doctor",
		Short: "Report what an auditor would flag on a keyhaven server, with the command that fixes each",
		Long: `Check the posture of a keyhaven server, or of one vault (--vault): legacy access policies or
RBAC off, purge protection off, no audit sink, broad roles given to applications, management roles
that can grant themselves data access, public network access without firewall rules, secrets and
certificates near or past expiry, keys without a rotation policy. Each finding has a severity
(High, Medium, Low) and a command that fixes it. --fail-on makes the exit code 3 when a finding of
that severity or worse is present (for CI).

` + mgmtLong,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			rank := map[string]int{"high": 0, "medium": 1, "low": 2}
			limit, ok := rank[strings.ToLower(failOn)]
			if failOn != "" && !ok {
				return usageError{fmt.Errorf("--fail-on must be high, medium or low")}
			}
			c, err := identityClient(serverURL)
			if err != nil {
				return err
			}
			rep, err := c.Posture(cmd.Context(), vault)
			if err != nil {
				return err
			}
			if output == "table" {
				if len(rep.Findings) == 0 {
					fmt.Fprintf(s.out, "No findings in %d vault(s).\n", rep.Vaults)
				}
				for _, f := range rep.Findings {
					where := f.Vault
					if where == "" {
						where = "(server)"
					}
					if f.Object != "" {
						where += "/" + f.Object
					}
					fmt.Fprintf(s.out, "%-6s  %s  %s\n        %s\n        fix: %s\n", f.Severity, where, f.Check, f.Message, f.Fix)
				}
				if rep.Truncated {
					fmt.Fprintln(s.out, "Some vaults have more objects than one check reads; their object findings are incomplete.")
				}
			} else {
				spec, err := newOutputSpec(output, "")
				if err != nil {
					return err
				}
				if err := spec.write(s.out, rep.Findings); err != nil {
					return err
				}
			}
			if failOn != "" {
				for _, f := range rep.Findings {
					if rank[strings.ToLower(f.Severity)] <= limit {
						return exitCodeError{code: 3, err: fmt.Errorf("%d finding(s); the first at or above %s: %s", len(rep.Findings), failOn, f.Check)}
					}
				}
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&serverURL, "url", "", "server address https://host:port (default $"+envServerURL+", else $AZURE_AUTHORITY_HOST, else https://localhost:8443)")
	cmd.Flags().StringVar(&vault, "vault", "", "check only this vault")
	cmd.Flags().StringVarP(&output, "output", "o", "table", "output format: table, json, jsonc or tsv")
	cmd.Flags().StringVar(&failOn, "fail-on", "", "exit with code 3 when a finding of this severity or worse exists: high, medium or low")
	return cmd
}
