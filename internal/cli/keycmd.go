package cli

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/keyhaven/keyhaven/pkg/client"
)

// keyLong is the help of `keyhaven key`; it says where keyhaven differs
// from az keyvault key.
const keyLong = `Manage the keys of a vault and use them, like az keyvault key.

The vault, the credentials, -o/--output and --query work as in keyhaven secret. A key
is --name [--version], or --id https://VAULT/keys/NAME[/VERSION] (a deleted key's
recovery id https://VAULT/deletedkeys/NAME works too).

Encodings are az's: keys print as az prints them (JWK fields in standard base64,
"keyOps", null for absent fields, times in ISO 8601); --value of decrypt, wrap and
unwrap, --digest and --signature are standard base64 (the URL-safe alphabet and
missing padding are accepted too); encrypt reads --value as base64 unless
--data-type plaintext, and decrypt prints the result as base64 unless
--data-type plaintext; --iv, --aad and --tag are hex, in and out.

Where keyhaven differs from az: wrap and unwrap are keyhaven's own commands;
--protection hsm (RSA-HSM, EC-HSM, oct-HSM) is refused by the server until it has an
HSM backend; import reads unencrypted PEM keys only (no --pem-password or BYOK);
backup and download never overwrite a file; random works on vaults (Azure serves it
on Managed HSM only); rotation-policy update --value also takes the output of
rotation-policy show.`

// newKeyCmd is `keyhaven key`, shaped like `az keyvault key`.
func newKeyCmd(s streams) *cobra.Command {
	cmd := &cobra.Command{
		Use: "key", Short: "Manage keys and use them (like az keyvault key)", Long: keyLong,
		RunE: groupRunE,
	}
	cmd.AddCommand(newKeyCreateCmd(s), newKeyImportCmd(s), newKeyShowCmd(s), newKeySetAttributesCmd(s),
		newKeyListCmd(s, "list"), newKeyListCmd(s, "list-versions"), newKeyListCmd(s, "list-deleted"),
		newKeySimpleCmd(s, "delete"), newKeySimpleCmd(s, "show-deleted"), newKeySimpleCmd(s, "recover"),
		newKeySimpleCmd(s, "purge"), newKeySimpleCmd(s, "rotate"), newKeyBackupCmd(s), newKeyRestoreCmd(s),
		newKeyDownloadCmd(s), newKeyRotationPolicyCmd(s), newKeyRandomCmd(s))
	for _, op := range []string{"encrypt", "decrypt", "wrap", "unwrap", "sign", "verify"} {
		cmd.AddCommand(newKeyCryptoCmd(s, op))
	}
	return cmd
}

// groupRunE makes a command group answer an unknown subcommand with a
// usage error instead of its help.
func groupRunE(cmd *cobra.Command, args []string) error {
	if len(args) > 0 {
		return usageError{fmt.Errorf("unknown command %q for %q", args[0], cmd.CommandPath())}
	}
	return cmd.Help()
}

// newKeyOpCmd builds a key subcommand on the shared secret machinery: the
// same vault, output and argument handling, with key ids for --id.
func newKeyOpCmd(s streams, op secretOp) *cobra.Command {
	op.object, op.parseID = "key", client.ParseKeyID
	return newSecretOpCmd(s, op)
}

// keyOperations are the values of --ops (JsonWebKeyOperation).
var keyOperations = []string{"encrypt", "decrypt", "sign", "verify", "wrapKey", "unwrapKey", "import", "export"}

func init() {
	// --ops takes space-separated values, as in az.
	multiValueFlags["ops"] = true
}

// canonical returns the member of allowed that v names, ignoring case, as
// az's enum arguments do.
func canonical(flag, v string, allowed []string) (string, error) {
	for _, a := range allowed {
		if strings.EqualFold(a, v) {
			return a, nil
		}
	}
	return "", usageError{fmt.Errorf("invalid %s %q: allowed values are %s", flag, v, strings.Join(allowed, ", "))}
}

// keyAttributeFlags are --ops, --tags and the attribute flags of create,
// import and set-attributes.
type keyAttributeFlags struct {
	ops                []string
	tags               tagsValue
	enabled, disabled  boolValue
	expires, notBefore timeValue
}

func (f *keyAttributeFlags) bind(cmd *cobra.Command, creating bool) {
	fs := cmd.Flags()
	fs.StringSliceVar(&f.ops, "ops", nil, "permitted operations, space- or comma-separated: "+strings.Join(keyOperations, " "))
	if creating {
		fs.Var(&f.tags, "tags", `space-separated tags: k=v k2=v2`)
		fs.Var(&f.disabled, "disabled", "create the key disabled")
	} else {
		fs.Var(&f.tags, "tags", `space-separated tags: k=v k2=v2, replacing all tags ("" removes them)`)
	}
	fs.Var(&f.enabled, "enabled", "whether the key is enabled")
	fs.Var(&f.expires, "expires", "expiry, ISO-8601 in UTC, e.g. 2026-01-02T03:04:05Z")
	fs.Var(&f.notBefore, "not-before", "start of validity, ISO-8601 in UTC")
}

// read validates the flags: the permitted operations, the tags (nil when
// --tags was not given) and the attributes (nil when none was set).
func (f *keyAttributeFlags) read(cmd *cobra.Command) (ops []string, tags map[string]string, a *client.KeyAttributes, err error) {
	for _, op := range f.ops {
		c, err := canonical("--ops", strings.TrimSpace(op), keyOperations)
		if err != nil {
			return nil, nil, nil, err
		}
		if !slices.Contains(ops, c) {
			ops = append(ops, c)
		}
	}
	if cmd.Flags().Changed("tags") {
		if tags, err = f.tags.tags(); err != nil {
			return nil, nil, nil, err
		}
	}
	enabled, err := resolveEnabled(f.enabled, f.disabled)
	if err != nil {
		return nil, nil, nil, err
	}
	if enabled == nil && f.expires.t == nil && f.notBefore.t == nil {
		return ops, tags, nil, nil
	}
	a = &client.KeyAttributes{Enabled: enabled}
	if f.expires.t != nil {
		e := f.expires.t.Unix()
		a.Expires = &e
	}
	if f.notBefore.t != nil {
		n := f.notBefore.t.Unix()
		a.NotBefore = &n
	}
	return ops, tags, a, nil
}

var (
	keyTypes  = []string{"RSA", "EC", "oct", "RSA-HSM", "EC-HSM", "oct-HSM"}
	keyCurves = []string{"P-256", "P-384", "P-521", "P-256K"}
)

func newKeyCreateCmd(s streams) *cobra.Command {
	var (
		kty, curve, protection string
		size                   int32
		f                      keyAttributeFlags
		p                      client.KeyCreateParameters
	)
	return newKeyOpCmd(s, secretOp{
		use: "create", short: "Create a key, or a new version of it", target: byName, noID: true,
		flags: func(cmd *cobra.Command) {
			fs := cmd.Flags()
			fs.StringVar(&kty, "kty", "", "key type: RSA, EC or oct (default EC with --curve, else RSA)")
			fs.Int32Var(&size, "size", 0, "key size in bits: RSA 2048, 3072 or 4096; oct 128, 192 or 256")
			fs.StringVar(&curve, "curve", "", "EC curve: "+strings.Join(keyCurves, ", "))
			fs.StringVar(&protection, "protection", "", "software (the default), or hsm, which this server refuses until it has an HSM backend")
			f.bind(cmd, true)
		},
		prepare: func(cmd *cobra.Command) (err error) {
			if p, err = keyCreateParameters(cmd, kty, curve, protection, size); err != nil {
				return err
			}
			p.KeyOps, p.Tags, p.Attributes, err = f.read(cmd)
			return err
		},
		runKeys: func(ctx context.Context, c *client.KeysClient, t secretTarget) (any, error) {
			return keyResult(c.CreateKey(ctx, t.name, p))
		},
	})
}

// keyCreateParameters checks --kty, --curve, --protection and --size as
// az does: the type defaults to EC when a curve is given, and hsm
// protection turns RSA into RSA-HSM.
func keyCreateParameters(cmd *cobra.Command, kty, curve, protection string, size int32) (client.KeyCreateParameters, error) {
	var p client.KeyCreateParameters
	var err error
	if curve != "" {
		if p.Curve, err = canonical("--curve", curve, keyCurves); err != nil {
			return p, err
		}
	}
	switch {
	case kty != "":
		if p.Kty, err = canonical("--kty", kty, keyTypes); err != nil {
			return p, err
		}
	case curve != "":
		p.Kty = "EC"
	default:
		p.Kty = "RSA"
	}
	if protection != "" {
		if protection, err = oneOf("--protection", protection, "software", "hsm"); err != nil {
			return p, err
		}
	}
	hsm := strings.HasSuffix(p.Kty, "-HSM")
	switch {
	case protection == "hsm" && !hsm:
		p.Kty += "-HSM"
	case protection == "software" && hsm:
		return p, usageError{fmt.Errorf("--kty %s is not a software key type; omit --protection", p.Kty)}
	}
	if cmd.Flags().Changed("size") {
		if size <= 0 {
			return p, usageError{fmt.Errorf("--size must be positive, got %d", size)}
		}
		p.KeySize = &size
	}
	return p, nil
}

func keyResult(b client.KeyBundle, err error) (any, error) {
	if err != nil {
		return nil, err
	}
	return keyView(b, false), nil
}

func newKeyImportCmd(s streams) *cobra.Command {
	var (
		pemFile, pemString, protection string
		f                              keyAttributeFlags
		p                              client.KeyImportParameters
	)
	return newKeyOpCmd(s, secretOp{
		use: "import", short: "Import a private key from PEM (PKCS#8, PKCS#1 or SEC 1, unencrypted)", target: byName, noID: true,
		flags: func(cmd *cobra.Command) {
			fs := cmd.Flags()
			fs.StringVar(&pemFile, "pem-file", "", "PEM file holding the private key (RSA or EC), unencrypted")
			fs.StringVar(&pemString, "pem-string", "", "the PEM text of the private key, instead of --pem-file")
			fs.StringVar(&protection, "protection", "", "software (the default), or hsm, which this server refuses until it has an HSM backend")
			f.bind(cmd, true)
		},
		prepare: func(cmd *cobra.Command) (err error) {
			var data []byte
			switch {
			case pemFile != "" && pemString != "":
				return usageError{errors.New("--pem-file and --pem-string are mutually exclusive")}
			case pemFile != "":
				if data, err = os.ReadFile(pemFile); err != nil {
					return err
				}
			case pemString != "":
				data = []byte(pemString)
			default:
				return usageError{errors.New("one of --pem-file or --pem-string is required")}
			}
			if protection != "" {
				if protection, err = oneOf("--protection", protection, "software", "hsm"); err != nil {
					return err
				}
				hsm := protection == "hsm"
				p.HSM = &hsm
			}
			if p.Key, err = jwkFromPEM(data); err != nil {
				return err
			}
			p.Key.KeyOps, p.Tags, p.Attributes, err = f.read(cmd)
			return err
		},
		runKeys: func(ctx context.Context, c *client.KeysClient, t secretTarget) (any, error) {
			return keyResult(c.ImportKey(ctx, t.name, p))
		},
	})
}

func newKeyShowCmd(s streams) *cobra.Command {
	return newKeyOpCmd(s, secretOp{
		use: "show", short: "Show a key version's public key and attributes", target: byVersion,
		runKeys: func(ctx context.Context, c *client.KeysClient, t secretTarget) (any, error) {
			return keyResult(c.GetKey(ctx, t.name, t.version))
		},
	})
}

func newKeySetAttributesCmd(s streams) *cobra.Command {
	var (
		f keyAttributeFlags
		p client.KeyUpdateParameters
	)
	return newKeyOpCmd(s, secretOp{
		use: "set-attributes", short: "Change a key version's permitted operations, attributes or tags", target: byVersion,
		flags: func(cmd *cobra.Command) { f.bind(cmd, false) },
		prepare: func(cmd *cobra.Command) (err error) {
			p.KeyOps, p.Tags, p.Attributes, err = f.read(cmd)
			return err
		},
		runKeys: func(ctx context.Context, c *client.KeysClient, t secretTarget) (any, error) {
			return keyResult(c.UpdateKeyProperties(ctx, t.name, t.version, p))
		},
	})
}

// keySimpleOps are the subcommands that take only a key name.
var keySimpleOps = map[string]struct {
	short string
	run   func(c *client.KeysClient, ctx context.Context, name string) (client.KeyBundle, error)
}{
	"delete":       {"Delete a key with all its versions (it can be recovered until purged)", (*client.KeysClient).DeleteKey},
	"show-deleted": {"Show a deleted key", (*client.KeysClient).GetDeletedKey},
	"recover":      {"Recover a deleted key with all its versions", (*client.KeysClient).RecoverDeletedKey},
	"rotate":       {"Create a new version of a key with the same type, size and operations", (*client.KeysClient).RotateKey},
	"purge": {"Permanently delete a deleted key", func(c *client.KeysClient, ctx context.Context, name string) (client.KeyBundle, error) {
		return client.KeyBundle{}, c.PurgeDeletedKey(ctx, name)
	}},
}

func newKeySimpleCmd(s streams, use string) *cobra.Command {
	op := keySimpleOps[use]
	return newKeyOpCmd(s, secretOp{
		use: use, short: op.short, target: byName,
		runKeys: func(ctx context.Context, c *client.KeysClient, t secretTarget) (any, error) {
			b, err := op.run(c, ctx, t.name)
			if err != nil || use == "purge" {
				return nil, err
			}
			return keyView(b, use == "delete" || use == "show-deleted"), nil
		},
	})
}

func newKeyListCmd(s streams, use string) *cobra.Command {
	var (
		m              maxResultsFlag
		includeManaged bool
	)
	target := vaultOnly
	if use == "list-versions" {
		target = byName
	}
	return newKeyOpCmd(s, secretOp{
		use:    use,
		short:  map[string]string{"list": "List the keys of a vault", "list-versions": "List the versions of a key", "list-deleted": "List the deleted keys of a vault"}[use],
		target: target,
		flags: func(cmd *cobra.Command) {
			m.bind(cmd)
			if use == "list" {
				cmd.Flags().BoolVar(&includeManaged, "include-managed", false, "include the keys of certificates")
			}
		},
		prepare: m.check,
		runKeys: func(ctx context.Context, c *client.KeysClient, t secretTarget) (any, error) {
			seq := c.ListKeys(ctx, m.options())
			switch use {
			case "list-versions":
				seq = c.ListKeyVersions(ctx, t.name, m.options())
			case "list-deleted":
				seq = c.ListDeletedKeys(ctx, m.options())
			}
			out := []any{}
			for item, err := range seq {
				if err != nil {
					return nil, err
				}
				if use == "list" && item.Managed && !includeManaged {
					continue
				}
				out = append(out, keyItemView(item, use == "list-deleted"))
				if m.n > 0 && len(out) == m.n {
					break
				}
			}
			return out, nil
		},
	})
}

// checkNewFile fails early when path exists: backup and download never
// overwrite a file.
func checkNewFile(path string) error {
	if _, err := os.Lstat(path); err == nil {
		return fmt.Errorf("%s already exists; it is not overwritten", path)
	}
	return nil
}

// writeNewFile writes data to a file that must not exist yet (mode 0600).
func writeNewFile(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("%s already exists; it is not overwritten", path)
	}
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		os.Remove(path)
		return err
	}
	if err := f.Close(); err != nil {
		os.Remove(path)
		return err
	}
	return nil
}

func newKeyBackupCmd(s streams) *cobra.Command {
	var file string
	op := backupOp("key", &file)
	op.runKeys = func(ctx context.Context, c *client.KeysClient, t secretTarget) (any, error) {
		blob, err := c.BackupKey(ctx, t.name)
		return writeBackup(file, blob, err)
	}
	return newKeyOpCmd(s, op)
}

func newKeyRestoreCmd(s streams) *cobra.Command {
	var (
		file string
		blob []byte
	)
	op := restoreOp("key", &file, &blob)
	op.runKeys = func(ctx context.Context, c *client.KeysClient, _ secretTarget) (any, error) {
		return keyResult(c.RestoreKey(ctx, blob))
	}
	return newKeyOpCmd(s, op)
}

func newKeyDownloadCmd(s streams) *cobra.Command {
	var file, encoding string
	return newKeyOpCmd(s, secretOp{
		use: "download", short: "Write a key version's public key to a file (PEM or DER SubjectPublicKeyInfo)", target: byVersion,
		flags: func(cmd *cobra.Command) {
			cmd.Flags().StringVarP(&file, "file", "f", "", "file to write; must not exist")
			cmd.Flags().StringVarP(&encoding, "encoding", "e", "PEM", "PEM or DER")
		},
		prepare: func(*cobra.Command) (err error) {
			if err = requireFlag("--file", file); err != nil {
				return err
			}
			if encoding, err = canonical("--encoding", encoding, []string{"PEM", "DER"}); err != nil {
				return err
			}
			return checkNewFile(file)
		},
		runKeys: func(ctx context.Context, c *client.KeysClient, t secretTarget) (any, error) {
			b, err := c.GetKey(ctx, t.name, t.version)
			if err != nil {
				return nil, err
			}
			data, err := encodePublicKey(b.Key, encoding)
			if err != nil {
				return nil, err
			}
			return nil, writeNewFile(file, data)
		},
	})
}
