package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/keyhaven/keyhaven/pkg/client"
)

// certLong is the help of `keyhaven certificate`; it says where keyhaven
// differs from az keyvault certificate.
const certLong = `Manage the certificates of a vault, like az keyvault certificate.

The vault, the credentials, -o/--output and --query work as in keyhaven secret. A
certificate is --name [--version], or --id https://VAULT/certificates/NAME[/VERSION]
(a deleted certificate's recovery id works too).

Certificates print as az prints them: cer and csr in standard base64, the SHA-1
thumbprint as x509Thumbprint (base64) and x509ThumbprintHex, the policy in the
SDK's camelCase (keyProperties, x509CertificateProperties, ...), times in ISO 8601.
--policy takes JSON, @FILE or the name of an existing file, in the REST API's form
(key_props, x509_props, ...), in the form az prints and reads (keyProperties or
key_properties, ...), or as certificate show prints it.

create starts the operation and, unless --no-wait, polls it every second for up
to --timeout seconds, then prints the certificate; it prints the operation when
the certificate is still pending (issuer Unknown waits for pending merge). Without
--policy, a new certificate gets the default policy (get-default-policy) and a new
version of an existing one keeps its policy.

Where keyhaven differs from az: pending cancel is keyhaven's own; download writes
the public certificate only and, like backup, never overwrites a file; import
reads a PFX (binary, --password to decrypt it) or a PEM file with the private key;
issuer admin commands and get-default-policy --scaffold are not provided.`

// newCertCmd is `keyhaven certificate`, shaped like `az keyvault certificate`.
func newCertCmd(s streams) *cobra.Command {
	cmd := &cobra.Command{
		Use: "certificate", Short: "Manage certificates (like az keyvault certificate)", Long: certLong,
		RunE: groupRunE,
	}
	cmd.AddCommand(newCertCreateCmd(s), newCertDefaultPolicyCmd(s), newCertShowCmd(s), newCertImportCmd(s),
		newCertListCmd(s, "list"), newCertListCmd(s, "list-versions"), newCertListCmd(s, "list-deleted"),
		newCertSimpleCmd(s, "delete"), newCertSimpleCmd(s, "show-deleted"), newCertSimpleCmd(s, "recover"),
		newCertSimpleCmd(s, "purge"), newCertSetAttributesCmd(s), newCertDownloadCmd(s), newCertBackupCmd(s),
		newCertRestoreCmd(s), newCertPendingCmd(s), newCertIssuerCmd(s), newCertContactCmd(s))
	return cmd
}

// newCertOpCmd builds a certificate subcommand on the shared secret
// machinery: the same vault, output and argument handling, with
// certificate ids for --id.
func newCertOpCmd(s streams, op secretOp) *cobra.Command {
	op.object, op.parseID = "certificate", client.ParseCertificateID
	return newSecretOpCmd(s, op)
}

// certAttrFlags are --tags and --disabled (create, import, merge) or
// --enabled (set-attributes): enabled is the only attribute of a
// certificate that can be set; its validity comes from the certificate.
type certAttrFlags struct {
	tags              tagsValue
	enabled, disabled boolValue
}

func (f *certAttrFlags) bind(cmd *cobra.Command, creating bool) {
	fs := cmd.Flags()
	if creating {
		fs.Var(&f.tags, "tags", `space-separated tags: k=v k2=v2`)
		fs.Var(&f.disabled, "disabled", "create the certificate version disabled")
		return
	}
	fs.Var(&f.tags, "tags", `space-separated tags: k=v k2=v2, replacing all tags ("" removes them)`)
	fs.Var(&f.enabled, "enabled", "whether the certificate version is enabled")
}

// read returns the tags (nil when --tags was not given) and the attributes
// (nil when none was set).
func (f *certAttrFlags) read(cmd *cobra.Command) (tags map[string]string, a *client.CertificateAttributes, err error) {
	if cmd.Flags().Changed("tags") {
		if tags, err = f.tags.tags(); err != nil {
			return nil, nil, err
		}
	}
	enabled, err := resolveEnabled(f.enabled, f.disabled)
	if err != nil || enabled == nil {
		return tags, nil, err
	}
	return tags, &client.CertificateAttributes{Enabled: enabled}, nil
}

// policyFlag is -p/--policy.
type policyFlag struct{ raw string }

func (p *policyFlag) bind(cmd *cobra.Command, what string) {
	cmd.Flags().StringVarP(&p.raw, "policy", "p", "", what+": JSON, @FILE or an existing file's name, "+
		`as the REST API writes it ({"issuer":{"name":"Self"},"x509_props":{"subject":"CN=a"}}), as az writes it, or as show prints it`)
}

// read parses the policy; nil when --policy was not given.
func (p *policyFlag) read(cmd *cobra.Command) (*client.CertificatePolicy, error) {
	if !cmd.Flags().Changed("policy") {
		return nil, nil
	}
	raw, err := readPolicyValue("--policy", p.raw)
	if err != nil {
		return nil, err
	}
	return parseCertPolicy(raw)
}

// certPollInterval is how often create polls its operation; tests shorten
// it.
var certPollInterval = time.Second

// certCreateFlags are the flags of `certificate create`.
type certCreateFlags struct {
	policy   policyFlag
	attrs    certAttrFlags
	validity int32
	noWait   bool
	timeout  int
}

func newCertCreateCmd(s streams) *cobra.Command {
	var (
		f      certCreateFlags
		p      client.CertificateCreateParameters
		policy *client.CertificatePolicy
	)
	return newCertOpCmd(s, secretOp{
		use: "create", short: "Create a certificate, or a new version of it", target: byName, noID: true,
		flags: func(cmd *cobra.Command) {
			fs := cmd.Flags()
			f.policy.bind(cmd, "the certificate policy (default: get-default-policy for a new certificate, the stored policy for a new version)")
			f.attrs.bind(cmd, true)
			fs.Int32Var(&f.validity, "validity", 0, "validity in months, overriding the policy's")
			fs.BoolVar(&f.noWait, "no-wait", false, "print the operation at once instead of waiting for the certificate")
			fs.IntVar(&f.timeout, "timeout", 60, "how many seconds to wait for the operation to complete")
		},
		prepare: func(cmd *cobra.Command) (err error) {
			if f.timeout < 1 {
				return usageError{fmt.Errorf("--timeout must be at least 1 second, got %d", f.timeout)}
			}
			if cmd.Flags().Changed("validity") && f.validity < 1 {
				return usageError{fmt.Errorf("--validity must be at least 1 month, got %d", f.validity)}
			}
			if policy, err = f.policy.read(cmd); err != nil {
				return err
			}
			p.Tags, p.Attributes, err = f.attrs.read(cmd)
			return err
		},
		runCerts: func(ctx context.Context, c *client.CertificatesClient, t secretTarget) (any, error) {
			var err error
			if p.Policy, err = f.policyFor(ctx, c, t.name, policy); err != nil {
				return nil, err
			}
			op, err := c.CreateCertificate(ctx, t.name, p)
			if err != nil || f.noWait {
				return operationResult(op, err)
			}
			return f.finish(ctx, c, t.name, op, s.err)
		},
	})
}

// policyFor returns the policy a create sends: --policy; for a new
// certificate the default policy; for a new version nil, which reuses the
// stored policy, or the stored policy itself when --validity changes it.
func (f *certCreateFlags) policyFor(ctx context.Context, c *client.CertificatesClient, name string, given *client.CertificatePolicy) (*client.CertificatePolicy, error) {
	pol := given
	if pol == nil {
		stored, err := c.GetCertificatePolicy(ctx, name)
		switch {
		case isNotFound(err):
			pol = defaultCertPolicy()
		case err != nil:
			return nil, err
		case f.validity == 0:
			return nil, nil
		default:
			stored.ID, stored.Attributes = "", nil // read-only members
			pol = &stored
		}
	}
	if f.validity > 0 {
		if pol.X509Props == nil {
			pol.X509Props = &client.X509CertificateProperties{}
		}
		pol.X509Props.ValidityMonths = &f.validity
	}
	return pol, nil
}

// finish waits for op to leave inProgress, unless it waits for a merge,
// then returns the certificate, or the operation when it did not complete.
func (f *certCreateFlags) finish(ctx context.Context, c *client.CertificatesClient, name string, op client.CertificateOperation, errOut io.Writer) (any, error) {
	deadline := time.Now().Add(time.Duration(f.timeout) * time.Second)
	for inProgress(op) && !awaitsMerge(op) && time.Now().Before(deadline) {
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(certPollInterval):
		}
		var err error
		if op, err = c.GetCertificateOperation(ctx, name); err != nil {
			return nil, err
		}
	}
	switch {
	case strings.EqualFold(op.Status, "completed"):
		return certResult(c.GetCertificate(ctx, name, ""))
	case strings.EqualFold(op.Status, "failed"):
		return nil, operationFailed(op)
	case inProgress(op) && !awaitsMerge(op):
		fmt.Fprintf(errOut, "warning: the certificate operation is still in progress after %d seconds; follow it with keyhaven certificate pending show\n", f.timeout)
	}
	return operationView(op), nil
}

func inProgress(op client.CertificateOperation) bool {
	return strings.EqualFold(op.Status, "inProgress")
}

// awaitsMerge reports an operation of issuer Unknown: nothing in the vault
// signs it, so only a merge completes it.
func awaitsMerge(op client.CertificateOperation) bool {
	return op.Issuer != nil && strings.EqualFold(op.Issuer.Name, "Unknown")
}

func operationFailed(op client.CertificateOperation) error {
	if e := op.Error; e != nil && (e.Code != "" || e.Message != "") {
		return fmt.Errorf("the certificate operation failed: %s: %s", e.Code, e.Message)
	}
	return errors.New("the certificate operation failed")
}

func newCertDefaultPolicyCmd(s streams) *cobra.Command {
	return newCertOpCmd(s, secretOp{
		use: "get-default-policy", short: "Print az's default certificate policy, a template for create --policy", target: noVault,
		runLocal: func() (any, error) { return withoutNulls(certPolicyView(defaultCertPolicy())), nil },
	})
}

func newCertShowCmd(s streams) *cobra.Command {
	return newCertOpCmd(s, secretOp{
		use: "show", short: "Show a certificate version with its policy", target: byVersion,
		runCerts: func(ctx context.Context, c *client.CertificatesClient, t secretTarget) (any, error) {
			return certResult(c.GetCertificate(ctx, t.name, t.version))
		},
	})
}

func newCertSetAttributesCmd(s streams) *cobra.Command {
	var (
		f      certAttrFlags
		policy policyFlag
		p      client.CertificateUpdateParameters
	)
	return newCertOpCmd(s, secretOp{
		use: "set-attributes", short: "Change a certificate version's enabled attribute or tags, or the certificate's policy", target: byVersion,
		flags: func(cmd *cobra.Command) {
			f.bind(cmd, false)
			policy.bind(cmd, "members of the policy to change; the others stay as they are")
		},
		prepare: func(cmd *cobra.Command) (err error) {
			if p.Policy, err = policy.read(cmd); err != nil {
				return err
			}
			p.Tags, p.Attributes, err = f.read(cmd)
			return err
		},
		runCerts: func(ctx context.Context, c *client.CertificatesClient, t secretTarget) (any, error) {
			return certResult(c.UpdateCertificateProperties(ctx, t.name, t.version, p))
		},
	})
}

// certSimpleOps are the subcommands that take only a certificate name.
var certSimpleOps = map[string]struct {
	short string
	run   func(c *client.CertificatesClient, ctx context.Context, name string) (client.CertificateBundle, error)
}{
	"delete":       {"Delete a certificate with all its versions (it can be recovered until purged)", (*client.CertificatesClient).DeleteCertificate},
	"show-deleted": {"Show a deleted certificate", (*client.CertificatesClient).GetDeletedCertificate},
	"recover":      {"Recover a deleted certificate with all its versions", (*client.CertificatesClient).RecoverDeletedCertificate},
	"purge": {"Permanently delete a deleted certificate", func(c *client.CertificatesClient, ctx context.Context, name string) (client.CertificateBundle, error) {
		return client.CertificateBundle{}, c.PurgeDeletedCertificate(ctx, name)
	}},
}

func newCertSimpleCmd(s streams, use string) *cobra.Command {
	op := certSimpleOps[use]
	return newCertOpCmd(s, secretOp{
		use: use, short: op.short, target: byName,
		runCerts: func(ctx context.Context, c *client.CertificatesClient, t secretTarget) (any, error) {
			b, err := op.run(c, ctx, t.name)
			if err != nil || use == "purge" {
				return nil, err
			}
			return certView(b, use == "delete" || use == "show-deleted"), nil
		},
	})
}

func newCertListCmd(s streams, use string) *cobra.Command {
	m := &maxResultsFlag{}
	target := vaultOnly
	if use == "list-versions" {
		target = byName
	}
	return newCertOpCmd(s, secretOp{
		use:    use,
		short:  map[string]string{"list": "List the certificates of a vault", "list-versions": "List the versions of a certificate", "list-deleted": "List the deleted certificates of a vault"}[use],
		target: target, flags: m.bind, prepare: m.check,
		runCerts: func(ctx context.Context, c *client.CertificatesClient, t secretTarget) (any, error) {
			seq := c.ListCertificates(ctx, m.options())
			switch use {
			case "list-versions":
				seq = c.ListCertificateVersions(ctx, t.name, m.options())
			case "list-deleted":
				seq = c.ListDeletedCertificates(ctx, m.options())
			}
			return collect(seq, m.n, func(b client.CertificateBundle) map[string]any { return certItemView(b, use == "list-deleted") })
		},
	})
}
