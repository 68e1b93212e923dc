package cli

import (
	"fmt"

	"github.com/spf13/cobra"
)

// newSecretCmd returns `keyhaven secret`, shaped like `az keyvault secret`:
// the same subcommands, flags and output formats. Credentials come from
// AZURE_CLIENT_ID, AZURE_CLIENT_SECRET, AZURE_TENANT_ID and
// AZURE_AUTHORITY_HOST.
func newSecretCmd(s streams) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "secret",
		Short: "Manage secrets (like az keyvault secret)",
		Long: `Manage the secrets of a vault, like az keyvault secret.

The vault is --vault-url URL, or --vault-name NAME for https://NAME.$KEYHAVEN_DNS_SUFFIX
(default suffix vault.localhost; it may carry a port), or $KEYHAVEN_VAULT_URL.
Credentials come from AZURE_CLIENT_ID, AZURE_CLIENT_SECRET, AZURE_TENANT_ID and
AZURE_AUTHORITY_HOST, the variables the Azure SDKs read. Output is JSON unless
-o/--output says table, tsv, jsonc or none; --query applies a JMESPath query first.`,
		// Runnable so that an unknown subcommand is an error, not help.
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				return usageError{fmt.Errorf("unknown command %q for %q", args[0], cmd.CommandPath())}
			}
			return cmd.Help()
		},
	}
	cmd.AddCommand(
		newSecretSetCmd(s), newSecretShowCmd(s), newSecretListCmd(s), newSecretListVersionsCmd(s),
		newSecretSetAttributesCmd(s), newSecretDeleteCmd(s), newSecretShowDeletedCmd(s),
		newSecretListDeletedCmd(s), newSecretRecoverCmd(s), newSecretPurgeCmd(s),
		newSecretBackupCmd(s), newSecretRestoreCmd(s),
	)
	return cmd
}
