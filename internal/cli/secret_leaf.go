package cli

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"regexp"

	"github.com/spf13/cobra"

	"github.com/keyhaven/keyhaven/pkg/client"
)

// targetKind says which object a subcommand addresses.
type targetKind int

const (
	vaultOnly targetKind = iota // the vault: --vault-name / --vault-url
	byName                      // a secret: also --name or --id
	byVersion                   // a secret version: also --version
	noVault                     // a local command: no vault, no request
)

// secretOp describes one `keyhaven secret` subcommand.
type secretOp struct {
	use, short string
	target     targetKind
	noID       bool                           // no --id flag (set)
	flags      func(cmd *cobra.Command)       // binds extra flags
	prepare    func(cmd *cobra.Command) error // checks extra flags before any request
	// run performs the operation; a nil result prints nothing.
	run func(ctx context.Context, c *client.SecretsClient, t secretTarget) (any, error)
	// runKeys, when set instead of run, performs a keys operation.
	runKeys func(ctx context.Context, c *client.KeysClient, t secretTarget) (any, error)
	// runCerts, when set instead of run, performs a certificates operation.
	runCerts func(ctx context.Context, c *client.CertificatesClient, t secretTarget) (any, error)
	// runLocal, with target noVault, computes the result without a vault.
	runLocal func() (any, error)
	// object is what --name, --version and --id address ("secret" when
	// empty); parseID parses --id (client.ParseSecretID when nil).
	object  string
	parseID func(id string) (vaultURL, name, version string, err error)
}

// secretTarget is the vault, secret name and version a command acts on.
type secretTarget struct {
	vaultURL, name, version string
}

// commonFlags are the flags shared by the subcommands.
type commonFlags struct {
	vaultName, vaultURL, name, version, id string
	output, query                          string
}

func newSecretOpCmd(s streams, op secretOp) *cobra.Command {
	f := &commonFlags{}
	cmd := &cobra.Command{
		Use:   op.use,
		Short: op.short,
		Args:  cobra.ArbitraryArgs,
		// parseSecretArgs parses the flags so that --tags can take several
		// space-separated values, as in az.
		DisableFlagParsing: true,
	}
	f.bind(cmd, op)
	if op.flags != nil {
		op.flags(cmd)
	}
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		if err := parseSecretArgs(cmd, args); err != nil {
			return err
		}
		if help, _ := cmd.Flags().GetBool("help"); help {
			return cmd.Help()
		}
		return runSecretOp(cmd, s, op, f)
	}
	return cmd
}

func (f *commonFlags) bind(cmd *cobra.Command, op secretOp) {
	fs := cmd.Flags()
	if op.target != noVault {
		fs.StringVar(&f.vaultName, "vault-name", "", "vault name: the vault is https://NAME.$KEYHAVEN_DNS_SUFFIX (default suffix vault.localhost)")
		fs.StringVar(&f.vaultURL, "vault-url", "", "vault URL, e.g. https://dev.vault.localhost:8443 (default $KEYHAVEN_VAULT_URL)")
	}
	obj := cmp.Or(op.object, "secret")
	if op.target == byName || op.target == byVersion {
		fs.StringVarP(&f.name, "name", "n", "", obj+" name")
		if !op.noID {
			fs.StringVar(&f.id, "id", "", obj+" id, https://VAULT/"+obj+"s/NAME[/VERSION], instead of the vault, --name and --version")
		}
	}
	if op.target == byVersion {
		fs.StringVarP(&f.version, "version", "v", "", obj+" version (default: the latest)")
	}
	fs.StringVarP(&f.output, "output", "o", "json", "output format: json, jsonc, table, tsv or none")
	fs.StringVar(&f.query, "query", "", "JMESPath query applied to the result before formatting")
}

// runSecretOp checks every flag, then builds the client, runs the
// operation and prints its result. Usage errors come before any request.
func runSecretOp(cmd *cobra.Command, s streams, op secretOp, f *commonFlags) error {
	out, err := newOutputSpec(f.output, f.query)
	if err != nil {
		return err
	}
	t, err := f.target(op)
	if err != nil {
		return err
	}
	if op.prepare != nil {
		if err := op.prepare(cmd); err != nil {
			return err
		}
	}
	res, err := op.execute(cmd.Context(), t)
	if err != nil || res == nil {
		return err
	}
	return out.write(s.out, res)
}

// execute builds the client the operation needs and runs it.
func (op secretOp) execute(ctx context.Context, t secretTarget) (any, error) {
	switch {
	case op.runLocal != nil:
		return op.runLocal()
	case op.runCerts != nil:
		c, err := newCertificatesClient(t.vaultURL)
		if err != nil {
			return nil, err
		}
		return op.runCerts(ctx, c, t)
	case op.runKeys != nil:
		c, err := newKeysClient(t.vaultURL)
		if err != nil {
			return nil, err
		}
		return op.runKeys(ctx, c, t)
	}
	c, err := newSecretsClient(t.vaultURL)
	if err != nil {
		return nil, err
	}
	return op.run(ctx, c, t)
}

// objectNamePattern is the spec's rule for secret names; versions are
// checked against it too.
var objectNamePattern = regexp.MustCompile(`^[0-9A-Za-z-]{1,127}$`)

// target resolves the vault, name and version from --id or from the vault
// flags, --name and --version.
func (f *commonFlags) target(op secretOp) (secretTarget, error) {
	if op.target == noVault {
		return secretTarget{}, nil
	}
	if f.id != "" {
		return f.targetFromID(op)
	}
	vault, err := resolveVaultURL(f.vaultName, f.vaultURL, lookupEnv)
	if err != nil || op.target == vaultOnly {
		return secretTarget{vaultURL: vault}, err
	}
	if f.name == "" {
		if op.noID {
			return secretTarget{}, usageError{errors.New("--name is required")}
		}
		return secretTarget{}, usageError{errors.New("--name (or --id) is required")}
	}
	t := secretTarget{vaultURL: vault, name: f.name, version: f.version}
	return t, t.check()
}

func (f *commonFlags) targetFromID(op secretOp) (secretTarget, error) {
	if f.vaultName != "" || f.vaultURL != "" || f.name != "" || f.version != "" {
		return secretTarget{}, usageError{errors.New("--id cannot be combined with --vault-name, --vault-url, --name or --version")}
	}
	parse := client.ParseSecretID
	if op.parseID != nil {
		parse = op.parseID
	}
	vault, name, version, err := parse(f.id)
	if err != nil {
		return secretTarget{}, usageError{fmt.Errorf("--id: %w", err)}
	}
	if vault, err = checkVaultURL(vault); err != nil {
		return secretTarget{}, usageError{fmt.Errorf("--id: %w", err)}
	}
	if op.target != byVersion {
		version = ""
	}
	t := secretTarget{vaultURL: vault, name: name, version: version}
	return t, t.check()
}

func (t secretTarget) check() error {
	if !objectNamePattern.MatchString(t.name) {
		return usageError{fmt.Errorf("invalid name %q: use 1-127 letters, digits and dashes", t.name)}
	}
	if t.version != "" && !objectNamePattern.MatchString(t.version) {
		return usageError{fmt.Errorf("invalid version %q", t.version)}
	}
	return nil
}
