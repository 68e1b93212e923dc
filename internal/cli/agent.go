package cli

import (
	"fmt"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/keyhaven/keyhaven/internal/agent"
	"github.com/keyhaven/keyhaven/pkg/client"
)

// newAgentCmd is `keyhaven agent`: a managed-identity endpoint beside a
// workload.
func newAgentCmd(s streams) *cobra.Command {
	var listen, secretFile string
	cmd := &cobra.Command{
		Use:   "agent",
		Short: "Serve managed-identity tokens to a workload on loopback (App Service, Cloud Shell and IMDS shapes)",
		Long: "agent holds an application's credential (AZURE_CLIENT_ID, AZURE_TENANT_ID, AZURE_AUTHORITY_HOST and the secret\n" +
			"from --client-secret-file or AZURE_CLIENT_SECRET) and answers the workload's ManagedIdentityCredential, so the\n" +
			"workload itself holds no secret. Start the workload with the IDENTITY_ENDPOINT and IDENTITY_HEADER it prints.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cred, err := agentCredential(secretFile)
			if err != nil {
				return err
			}
			ln, err := agent.Listen(listen)
			if err != nil {
				return usageError{err}
			}
			a := agent.New(cred, cred.ClientID, os.Getenv("KEYHAVEN_AGENT_IDENTITY_HEADER"), nil)
			endpoint := "http://" + ln.Addr().String() + agent.AppServicePath
			fmt.Fprintf(s.out, "keyhaven agent serves the managed identity %s\n\n  export IDENTITY_ENDPOINT=%s\n  export IDENTITY_HEADER=%s\n\n"+
				"Cloud Shell shape: MSI_ENDPOINT=%s (without IDENTITY_*). IMDS shape: http://%s%s (Metadata: true).\n",
				cred.ClientID, endpoint, a.Header(), endpoint, ln.Addr(), agent.IMDSPath)
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			return a.Serve(ctx, ln)
		},
	}
	cmd.Flags().StringVar(&listen, "listen", "127.0.0.1:42356", "loopback address to serve on")
	cmd.Flags().StringVar(&secretFile, "client-secret-file", "", "file holding the application's client secret (default $AZURE_CLIENT_SECRET)")
	return cmd
}

// agentCredential builds the identity's credential from AZURE_* and, when
// given, the secret file.
func agentCredential(secretFile string) (*client.ClientSecretCredential, error) {
	cred := &client.ClientSecretCredential{AuthorityHost: os.Getenv(client.EnvAuthorityHost), TenantID: os.Getenv(client.EnvTenantID),
		ClientID: os.Getenv(client.EnvClientID), ClientSecret: os.Getenv(client.EnvClientSecret)}
	if secretFile != "" {
		raw, err := os.ReadFile(secretFile)
		if err != nil {
			return nil, usageError{err}
		}
		cred.ClientSecret = strings.TrimSpace(string(raw))
	}
	var missing []string
	for name, v := range map[string]string{client.EnvAuthorityHost: cred.AuthorityHost, client.EnvTenantID: cred.TenantID,
		client.EnvClientID: cred.ClientID, "the client secret": cred.ClientSecret} {
		if v == "" {
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		slices.Sort(missing)
		return nil, usageError{fmt.Errorf("agent needs %s", strings.Join(missing, ", "))}
	}
	return cred, nil
}
