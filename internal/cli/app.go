package cli

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/keyhaven/keyhaven/pkg/client"
)

// mgmtLong is the part of the help of `keyhaven app` and `keyhaven role`
// that says how they reach the server.
const mgmtLong = `The server is --url https://host:port, else $` + envServerURL + `, else $AZURE_AUTHORITY_HOST,
else https://localhost:8443: the authority host, not a vault host. Credentials come from
AZURE_CLIENT_ID, AZURE_CLIENT_SECRET, AZURE_TENANT_ID and AZURE_AUTHORITY_HOST and must
belong to an Owner. Tokens are requested for https://$KEYHAVEN_DNS_SUFFIX/.default (the
suffix of $KEYHAVEN_VAULT_URL when unset, else vault.localhost). Output is JSON unless
-o/--output says table, tsv, jsonc or none; --query applies a JMESPath query first.`

// newIdentityClient builds the management API client for a server URL;
// tests replace it.
var newIdentityClient = func(serverURL string) (*client.IdentityClient, error) {
	cred, err := cliCredential()
	if err != nil {
		return nil, err
	}
	return client.NewIdentityClient(serverURL, cmp.Or(dnsSuffix(lookupEnv), defaultDNSSuffix), cred, nil)
}

// mgmtOp describes one subcommand of `keyhaven app` or `keyhaven role`.
type mgmtOp struct {
	use, short string
	aliases    []string
	flags      func(cmd *cobra.Command)       // binds extra flags
	prepare    func(cmd *cobra.Command) error // checks them before any request
	// run performs the operation; a nil result prints nothing.
	run func(ctx context.Context, c *client.IdentityClient) (any, error)
}

// newMgmtCmd builds a subcommand that calls the management API of the
// server named by *serverURL (the group's --url) and prints the result.
func newMgmtCmd(s streams, serverURL *string, op mgmtOp) *cobra.Command {
	var output, query string
	cmd := &cobra.Command{Use: op.use, Short: op.short, Aliases: op.aliases, Args: cobra.NoArgs}
	if op.flags != nil {
		op.flags(cmd)
	}
	cmd.Flags().StringVarP(&output, "output", "o", "json", "output format: json, jsonc, table, tsv or none")
	cmd.Flags().StringVar(&query, "query", "", "JMESPath query applied to the result before formatting")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		out, err := newOutputSpec(output, query)
		if err != nil {
			return err
		}
		if op.prepare != nil {
			if err := op.prepare(cmd); err != nil {
				return err
			}
		}
		c, err := identityClient(*serverURL)
		if err != nil {
			return err
		}
		res, err := op.run(cmd.Context(), c)
		if err != nil || res == nil {
			return err
		}
		return out.write(s.out, res)
	}
	return cmd
}

// identityClient resolves the server address as `keyhaven operator` does
// and builds the client.
func identityClient(flag string) (*client.IdentityClient, error) {
	raw := firstNonEmpty(flag, os.Getenv(envServerURL), os.Getenv(client.EnvAuthorityHost), "https://localhost:8443")
	u, err := checkVaultURL(raw)
	if err != nil {
		return nil, usageError{fmt.Errorf("server address: invalid URL %q: want https://host[:port]", raw)}
	}
	return newIdentityClient(u)
}

// newMgmtGroup returns a command group with the persistent --url flag.
func newMgmtGroup(use, short, long string, serverURL *string) *cobra.Command {
	cmd := &cobra.Command{Use: use, Short: short, Long: long, RunE: groupRunE}
	cmd.PersistentFlags().StringVar(serverURL, "url", "", "server address https://host:port (default $"+envServerURL+", else $AZURE_AUTHORITY_HOST, else https://localhost:8443)")
	return cmd
}

// newAppCmd is `keyhaven app`, shaped like `az ad app` and `az ad app
// credential`.
func newAppCmd(s streams) *cobra.Command {
	serverURL := new(string)
	cmd := newMgmtGroup("app", "Manage applications and their credentials (like az ad app)",
		"Manage the applications (service principals) of a keyhaven server and their client\n"+
			"secrets and certificates, like az ad app. A new application holds no role: grant one\n"+
			"with keyhaven role assignment create --assignee OBJECT_ID.\n\n"+mgmtLong, serverURL)
	cred := &cobra.Command{Use: "credential", Short: "Manage an application's secrets and certificates (like az ad app credential)", RunE: groupRunE}
	cred.AddCommand(newAppCredentialAddCmd(s, serverURL), newAppCredentialListCmd(s, serverURL), newAppCredentialRemoveCmd(s, serverURL))
	fed := &cobra.Command{Use: "federated-credential", Short: "Trust an external OIDC issuer's tokens (like az ad app federated-credential)", RunE: groupRunE}
	fed.AddCommand(newAppFederatedCreateCmd(s, serverURL))
	cmd.AddCommand(newAppCreateCmd(s, serverURL), newAppListCmd(s, serverURL), newAppShowCmd(s, serverURL),
		newAppDeleteCmd(s, serverURL), cred, fed)
	return cmd
}

func newAppCreateCmd(s streams, serverURL *string) *cobra.Command {
	var name string
	return newMgmtCmd(s, serverURL, mgmtOp{
		use: "create", short: "Create an application with a client secret (printed once, as \"password\")",
		flags: func(cmd *cobra.Command) {
			cmd.Flags().StringVar(&name, "display-name", "", "display name of the application")
		},
		prepare: func(*cobra.Command) error { return requireFlag("--display-name", name) },
		run: func(ctx context.Context, c *client.IdentityClient) (any, error) {
			a, err := c.CreateApplication(ctx, name)
			if err != nil {
				return nil, err
			}
			return createdAppView(a), nil
		},
	})
}

func newAppListCmd(s streams, serverURL *string) *cobra.Command {
	var prefix string
	return newMgmtCmd(s, serverURL, mgmtOp{
		use: "list", short: "List applications",
		flags: func(cmd *cobra.Command) {
			cmd.Flags().StringVar(&prefix, "display-name", "", "only applications whose display name starts with this (case-insensitive)")
		},
		run: func(ctx context.Context, c *client.IdentityClient) (any, error) {
			apps, err := c.ListApplications(ctx)
			if err != nil {
				return nil, err
			}
			out := []any{}
			for _, a := range apps {
				if strings.HasPrefix(strings.ToLower(a.DisplayName), strings.ToLower(prefix)) {
					out = append(out, appView(a))
				}
			}
			return out, nil
		},
	})
}

// appIDFlag binds the required --id of an application.
func appIDFlag(cmd *cobra.Command, id *string) {
	cmd.Flags().StringVar(id, "id", "", "application (client) id")
}

func newAppShowCmd(s streams, serverURL *string) *cobra.Command {
	var id string
	return newMgmtCmd(s, serverURL, mgmtOp{
		use: "show", short: "Show an application and its credentials (never a secret)",
		flags:   func(cmd *cobra.Command) { appIDFlag(cmd, &id) },
		prepare: func(*cobra.Command) error { return requireFlag("--id", id) },
		run: func(ctx context.Context, c *client.IdentityClient) (any, error) {
			a, err := c.GetApplication(ctx, id)
			if err != nil {
				return nil, err
			}
			return appView(a), nil
		},
	})
}

func newAppDeleteCmd(s streams, serverURL *string) *cobra.Command {
	var id string
	return newMgmtCmd(s, serverURL, mgmtOp{
		use: "delete", short: "Delete an application: it can no longer get tokens",
		flags:   func(cmd *cobra.Command) { appIDFlag(cmd, &id) },
		prepare: func(*cobra.Command) error { return requireFlag("--id", id) },
		run: func(ctx context.Context, c *client.IdentityClient) (any, error) {
			return nil, c.DeleteApplication(ctx, id)
		},
	})
}

func newAppCredentialAddCmd(s streams, serverURL *string) *cobra.Command {
	var (
		id, certFile string
		years        int
		certPEM      string
	)
	return newMgmtCmd(s, serverURL, mgmtOp{
		use: "add", short: "Add a client secret (printed once, as \"password\") or, with --cert, a certificate",
		flags: func(cmd *cobra.Command) {
			appIDFlag(cmd, &id)
			cmd.Flags().IntVar(&years, "years", 1, "years the new secret is valid: 1 or 2")
			cmd.Flags().StringVar(&certFile, "cert", "", "PEM (or DER) certificate file to add instead of a secret; only its certificate is sent")
		},
		prepare: func(cmd *cobra.Command) (err error) {
			if err := requireFlag("--id", id); err != nil {
				return err
			}
			switch {
			case certFile != "" && cmd.Flags().Changed("years"):
				return usageError{errors.New("--years applies to secrets only, not to --cert")}
			case certFile != "":
				certPEM, err = readCertificateFile(certFile)
				return err
			case years < 1 || years > 2:
				return usageError{errors.New("--years must be 1 or 2 (the server allows at most 730 days)")}
			}
			return nil
		},
		run: func(ctx context.Context, c *client.IdentityClient) (any, error) {
			if certPEM != "" {
				cred, err := c.AddApplicationCertificate(ctx, id, certPEM)
				if err != nil {
					return nil, err
				}
				return withAppID(credentialView(cred), id), nil
			}
			sec, err := c.AddApplicationSecret(ctx, id, 365*years)
			if err != nil {
				return nil, err
			}
			v := withAppID(credentialView(sec.AppCredential), id)
			v["password"] = sec.Secret
			return v, nil
		},
	})
}

func newAppCredentialListCmd(s streams, serverURL *string) *cobra.Command {
	var id string
	return newMgmtCmd(s, serverURL, mgmtOp{
		use: "list", short: "List an application's credentials (ids, hints, thumbprints, expiry; never secrets)",
		flags:   func(cmd *cobra.Command) { appIDFlag(cmd, &id) },
		prepare: func(*cobra.Command) error { return requireFlag("--id", id) },
		run: func(ctx context.Context, c *client.IdentityClient) (any, error) {
			a, err := c.GetApplication(ctx, id)
			if err != nil {
				return nil, err
			}
			return credentialsView(a.Credentials), nil
		},
	})
}

func newAppCredentialRemoveCmd(s streams, serverURL *string) *cobra.Command {
	var id, credID string
	return newMgmtCmd(s, serverURL, mgmtOp{
		use: "remove", short: "Remove a secret or certificate credential", aliases: []string{"delete"},
		flags: func(cmd *cobra.Command) {
			appIDFlag(cmd, &id)
			cmd.Flags().StringVar(&credID, "credential-id", "", "credential id (keyId in credential list)")
			cmd.Flags().StringVar(&credID, "key-id", "", "the same as --credential-id, as in az")
			_ = cmd.Flags().MarkHidden("key-id")
		},
		prepare: func(*cobra.Command) error {
			if err := requireFlag("--id", id); err != nil {
				return err
			}
			return requireFlag("--credential-id", credID)
		},
		run: func(ctx context.Context, c *client.IdentityClient) (any, error) {
			return nil, c.RemoveApplicationCredential(ctx, id, credID)
		},
	})
}

// newAppFederatedCreateCmd is `app federated-credential create`: tokens of
// an external issuer for a subject are exchanged for the application's
// (WorkloadIdentityCredential); remove it with `app credential remove`.
func newAppFederatedCreateCmd(s streams, serverURL *string) *cobra.Command {
	var id, issuer, subject string
	var audiences []string
	return newMgmtCmd(s, serverURL, mgmtOp{
		use: "create", short: "Trust tokens of an external OIDC issuer for a subject",
		flags: func(cmd *cobra.Command) {
			appIDFlag(cmd, &id)
			cmd.Flags().StringVar(&issuer, "issuer", "", "https URL of the external OIDC issuer")
			cmd.Flags().StringVar(&subject, "subject", "", "the sub claim the issuer's tokens carry")
			cmd.Flags().StringSliceVar(&audiences, "audiences", nil, "accepted aud values (default api://AzureADTokenExchange)")
		},
		prepare: func(*cobra.Command) error {
			for _, f := range [][2]string{{"--id", id}, {"--issuer", issuer}, {"--subject", subject}} {
				if err := requireFlag(f[0], f[1]); err != nil {
					return err
				}
			}
			return nil
		},
		run: func(ctx context.Context, c *client.IdentityClient) (any, error) {
			cred, err := c.AddApplicationFederatedCredential(ctx, id, issuer, subject, audiences)
			if err != nil {
				return nil, err
			}
			return withAppID(credentialView(cred), id), nil
		},
	})
}
