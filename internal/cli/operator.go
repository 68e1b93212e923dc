package cli

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/keyhaven/keyhaven/internal/barrier"
	"github.com/keyhaven/keyhaven/pkg/client"
)

// envServerURL names the server's own (non-vault) address for operator
// commands; AZURE_AUTHORITY_HOST is used when it is unset, since keyhaven's
// authority is the same host.
const envServerURL = "KEYHAVEN_ADDR"

func newOperatorCmd(s streams) *cobra.Command {
	var serverURL string
	cmd := &cobra.Command{Use: "operator", Short: "Operate a keyhaven server: seal status, unseal, seal key files"}
	cmd.PersistentFlags().StringVar(&serverURL, "url", "", "server address https://host:port (default $"+envServerURL+", else $AZURE_AUTHORITY_HOST, else https://localhost:8443)")
	operator := func() (*client.OperatorClient, error) {
		u := firstNonEmpty(serverURL, os.Getenv(envServerURL), os.Getenv(client.EnvAuthorityHost), "https://localhost:8443")
		c, err := client.NewOperatorClient(u, nil)
		if err != nil {
			return nil, usageError{err}
		}
		return c, nil
	}
	status := &cobra.Command{Use: "seal-status", Short: "Show whether the server is sealed", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := operator()
			if err != nil {
				return err
			}
			st, err := c.SealStatus(cmd.Context())
			if err != nil {
				return err
			}
			fmt.Fprintf(s.out, "sealed: %t\ntype:   %s\n", st.Sealed, st.Type)
			return nil
		}}
	var passFile string
	unseal := &cobra.Command{Use: "unseal", Short: "Unseal the server with its seal passphrase (read from --passphrase-file or standard input)", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := operator()
			if err != nil {
				return err
			}
			pass, err := readPassphrase(s, passFile)
			if err != nil {
				return err
			}
			if _, err := c.Unseal(cmd.Context(), pass); err != nil {
				return err
			}
			fmt.Fprintln(s.out, "unsealed")
			return nil
		}}
	unseal.Flags().StringVar(&passFile, "passphrase-file", "", "file holding the seal passphrase")
	cmd.AddCommand(status, unseal, newGenerateKeyFileCmd())
	return cmd
}

// readPassphrase reads the passphrase from a file or the first line of
// standard input. It is never echoed or logged.
func readPassphrase(s streams, file string) ([]byte, error) {
	if file != "" {
		b, err := os.ReadFile(file)
		if err != nil {
			return nil, err
		}
		return []byte(strings.TrimRight(string(b), "\r\n")), nil
	}
	fmt.Fprint(s.err, "Seal passphrase: ")
	line, err := bufio.NewReader(s.in).ReadString('\n')
	fmt.Fprintln(s.err)
	line = strings.TrimRight(line, "\r\n")
	if line == "" {
		if err != nil {
			return nil, fmt.Errorf("read passphrase: %w", err)
		}
		return nil, errors.New("empty passphrase")
	}
	return []byte(line), nil
}

func firstNonEmpty(vals ...string) string {
	for _, v := range vals {
		if v != "" {
			return v
		}
	}
	return ""
}

func newGenerateKeyFileCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "generate-key-file PATH",
		Short: "Write a new random seal key file (mode 0600) for seal.type keyfile",
		Args:  cobra.ExactArgs(1),
		RunE: func(_ *cobra.Command, args []string) error {
			return barrier.GenerateKeyFile(args[0])
		},
	}
}
