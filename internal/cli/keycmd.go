package cli

import (
	"context"
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/keyhaven/keyhaven/pkg/client"
)

// newKeyCmd is `keyhaven key`, shaped like `az keyvault key`.
func newKeyCmd(s streams) *cobra.Command {
	cmd := &cobra.Command{Use: "key", Short: "Manage keys and use them (like az keyvault key)"}
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

// keyView shapes a key as az prints it.
func keyView(b client.KeyBundle) map[string]any {
	m := map[string]any{"attributes": keyAttributesView(b.Attributes), "tags": tagsView(b.Tags), "managed": orNil(b.Managed)}
	if b.Key != nil {
		m["key"] = b.Key
	} else {
		m["kid"] = b.Kid
	}
	if b.RecoveryID != "" {
		m["recoveryId"] = b.RecoveryID
		m["deletedDate"] = azTime(unixTime(b.DeletedDate))
		m["scheduledPurgeDate"] = azTime(unixTime(b.ScheduledPurgeDate))
	}
	return m
}

func keyAttributesView(a *client.KeyAttributes) map[string]any {
	if a == nil {
		a = &client.KeyAttributes{}
	}
	t := func(p *int64) any {
		if p == nil {
			return nil
		}
		return azTime(unixTime(*p))
	}
	return map[string]any{"created": t(a.Created), "updated": t(a.Updated), "expires": t(a.Expires), "notBefore": t(a.NotBefore),
		"enabled": ptrOrNil(a.Enabled), "exportable": ptrOrNil(a.Exportable), "recoverableDays": ptrOrNil(a.RecoverableDays),
		"recoveryLevel": orNil(a.RecoveryLevel)}
}

func unixTime(s int64) *time.Time {
	if s == 0 {
		return nil
	}
	t := time.Unix(s, 0)
	return &t
}

// keyAttributeFlags are --ops, --tags and the attribute flags.
type keyAttributeFlags struct {
	ops   []string
	tags  tagsValue
	attrs attrFlags
}

func (f *keyAttributeFlags) bind(cmd *cobra.Command, withDisabled bool) {
	cmd.Flags().StringSliceVar(&f.ops, "ops", nil, "permitted operations: encrypt decrypt sign verify wrapKey unwrapKey import export (comma-separated)")
	cmd.Flags().Var(&f.tags, "tags", "space-separated tags: k=v k2=v2")
	f.attrs.bind(cmd, withDisabled)
}

func (f *keyAttributeFlags) read(cmd *cobra.Command) (ops []string, tags map[string]string, a *client.KeyAttributes, err error) {
	if cmd.Flags().Changed("tags") {
		if tags, err = f.tags.tags(); err != nil {
			return nil, nil, nil, err
		}
	}
	sa, err := f.attrs.attributes()
	if err != nil || sa == nil {
		return f.ops, tags, nil, err
	}
	a = &client.KeyAttributes{Enabled: sa.Enabled}
	if sa.Expires != nil {
		e := sa.Expires.Unix()
		a.Expires = &e
	}
	if sa.NotBefore != nil {
		n := sa.NotBefore.Unix()
		a.NotBefore = &n
	}
	return f.ops, tags, a, nil
}

func newKeyCreateCmd(s streams) *cobra.Command {
	var kty, curve, protection string
	var size int32
	var f keyAttributeFlags
	var p client.KeyCreateParameters
	return newSecretOpCmd(s, secretOp{
		use: "create", short: "Create a key, or a new version of it", target: byName, noID: true,
		flags: func(cmd *cobra.Command) {
			cmd.Flags().StringVar(&kty, "kty", "RSA", "key type: RSA, EC or oct")
			cmd.Flags().Int32Var(&size, "size", 0, "RSA: 2048, 3072 or 4096; oct: 128, 192 or 256")
			cmd.Flags().StringVar(&curve, "curve", "", "EC curve: P-256, P-384, P-521 or P-256K")
			cmd.Flags().StringVar(&protection, "protection", "software", "software, or hsm (needs a PKCS#11 backend)")
			f.bind(cmd, true)
		},
		prepare: func(cmd *cobra.Command) (err error) {
			if protection, err = oneOf("--protection", protection, "software", "hsm"); err != nil {
				return err
			}
			p = client.KeyCreateParameters{Kty: kty, Curve: curve}
			if protection == "hsm" {
				p.Kty += "-HSM"
			}
			if size != 0 {
				p.KeySize = &size
			}
			p.KeyOps, p.Tags, p.Attributes, err = f.read(cmd)
			return err
		},
		runKeys: func(ctx context.Context, c *client.KeysClient, t secretTarget) (any, error) {
			b, err := c.CreateKey(ctx, t.name, p)
			return keyResult(b, err)
		},
	})
}

func keyResult(b client.KeyBundle, err error) (any, error) {
	if err != nil {
		return nil, err
	}
	return keyView(b), nil
}

func newKeyImportCmd(s streams) *cobra.Command {
	var pemFile string
	var f keyAttributeFlags
	var p client.KeyImportParameters
	return newSecretOpCmd(s, secretOp{
		use: "import", short: "Import a private key from a PEM file (PKCS#8, PKCS#1 or SEC 1, unencrypted)", target: byName, noID: true,
		flags: func(cmd *cobra.Command) {
			cmd.Flags().StringVar(&pemFile, "pem-file", "", "PEM file holding the private key")
			f.bind(cmd, true)
		},
		prepare: func(cmd *cobra.Command) (err error) {
			if pemFile == "" {
				return usageError{errors.New("--pem-file is required")}
			}
			if p.Key, err = jwkFromPEM(pemFile); err != nil {
				return err
			}
			p.Key.KeyOps, p.Tags, p.Attributes, err = f.read(cmd)
			return err
		},
		runKeys: func(ctx context.Context, c *client.KeysClient, t secretTarget) (any, error) {
			b, err := c.ImportKey(ctx, t.name, p)
			return keyResult(b, err)
		},
	})
}

// jwkFromPEM reads an unencrypted RSA or EC private key as a JWK.
func jwkFromPEM(path string) (client.JSONWebKey, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return client.JSONWebKey{}, err
	}
	block, _ := pem.Decode(raw)
	if block == nil {
		return client.JSONWebKey{}, fmt.Errorf("%s holds no PEM block", path)
	}
	var key any
	if key, err = x509.ParsePKCS8PrivateKey(block.Bytes); err != nil {
		if key, err = x509.ParsePKCS1PrivateKey(block.Bytes); err != nil {
			if key, err = x509.ParseECPrivateKey(block.Bytes); err != nil {
				return client.JSONWebKey{}, fmt.Errorf("%s: not an unencrypted RSA or EC private key", path)
			}
		}
	}
	switch k := key.(type) {
	case *rsa.PrivateKey:
		k.Precompute()
		return client.JSONWebKey{Kty: "RSA", N: k.N.Bytes(), E: big.NewInt(int64(k.E)).Bytes(), D: k.D.Bytes(),
			P: k.Primes[0].Bytes(), Q: k.Primes[1].Bytes(), DP: k.Precomputed.Dp.Bytes(), DQ: k.Precomputed.Dq.Bytes(),
			QI: k.Precomputed.Qinv.Bytes()}, nil
	case *ecdsa.PrivateKey:
		n := (k.Curve.Params().BitSize + 7) / 8
		pub, err := k.PublicKey.Bytes()
		if err != nil {
			return client.JSONWebKey{}, err
		}
		d, err := k.Bytes()
		if err != nil {
			return client.JSONWebKey{}, err
		}
		return client.JSONWebKey{Kty: "EC", Crv: k.Curve.Params().Name, X: pub[1 : 1+n], Y: pub[1+n:], D: d}, nil
	}
	return client.JSONWebKey{}, fmt.Errorf("%s: unsupported key type %T", path, key)
}

func newKeyShowCmd(s streams) *cobra.Command {
	return newSecretOpCmd(s, secretOp{
		use: "show", short: "Show a key version's public key and attributes", target: byVersion, noID: true,
		runKeys: func(ctx context.Context, c *client.KeysClient, t secretTarget) (any, error) {
			return keyResult(c.GetKey(ctx, t.name, t.version))
		},
	})
}

func newKeySetAttributesCmd(s streams) *cobra.Command {
	var f keyAttributeFlags
	var p client.KeyUpdateParameters
	return newSecretOpCmd(s, secretOp{
		use: "set-attributes", short: "Change a key version's permitted operations, attributes or tags", target: byVersion, noID: true,
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

func newKeySimpleCmd(s streams, use string) *cobra.Command {
	run := map[string]func(*client.KeysClient, context.Context, string) (client.KeyBundle, error){
		"delete": (*client.KeysClient).DeleteKey, "show-deleted": (*client.KeysClient).GetDeletedKey,
		"recover": (*client.KeysClient).RecoverDeletedKey, "rotate": (*client.KeysClient).RotateKey,
		"purge": func(c *client.KeysClient, ctx context.Context, name string) (client.KeyBundle, error) {
			return client.KeyBundle{}, c.PurgeDeletedKey(ctx, name)
		},
	}[use]
	short := map[string]string{"delete": "Delete a key (soft delete: recoverable until purged)", "show-deleted": "Show a deleted key",
		"recover": "Recover a deleted key", "purge": "Permanently delete a deleted key", "rotate": "Create a new version of a key with the same parameters"}[use]
	return newSecretOpCmd(s, secretOp{
		use: use, short: short, target: byName, noID: true,
		runKeys: func(ctx context.Context, c *client.KeysClient, t secretTarget) (any, error) {
			b, err := run(c, ctx, t.name)
			if err != nil || use == "purge" {
				return nil, err
			}
			return keyView(b), nil
		},
	})
}

func newKeyListCmd(s streams, use string) *cobra.Command {
	var m maxResultsFlag
	target := vaultOnly
	if use == "list-versions" {
		target = byName
	}
	return newSecretOpCmd(s, secretOp{
		use: use, short: map[string]string{"list": "List keys", "list-versions": "List a key's versions", "list-deleted": "List deleted keys"}[use],
		target: target, noID: true,
		flags:   m.bind,
		prepare: m.check,
		runKeys: func(ctx context.Context, c *client.KeysClient, t secretTarget) (any, error) {
			seq := c.ListKeys(ctx, m.options())
			switch use {
			case "list-versions":
				seq = c.ListKeyVersions(ctx, t.name, m.options())
			case "list-deleted":
				seq = c.ListDeletedKeys(ctx, m.options())
			}
			return collect(seq, m.n, keyView)
		},
	})
}

func newKeyBackupCmd(s streams) *cobra.Command {
	var file string
	return newSecretOpCmd(s, secretOp{
		use: "backup", short: "Back up every version of a key to a file", target: byName, noID: true,
		flags: func(cmd *cobra.Command) {
			cmd.Flags().StringVarP(&file, "file", "f", "", "file to write (must not exist)")
		},
		prepare: func(*cobra.Command) error {
			if file == "" {
				return usageError{errors.New("--file is required")}
			}
			return nil
		},
		runKeys: func(ctx context.Context, c *client.KeysClient, t secretTarget) (any, error) {
			blob, err := c.BackupKey(ctx, t.name)
			if err != nil {
				return nil, err
			}
			return nil, writeNewFile(file, blob)
		},
	})
}

// writeNewFile writes data to a file that must not exist yet (mode 0600).
func writeNewFile(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		os.Remove(path)
		return err
	}
	return f.Close()
}

func newKeyRestoreCmd(s streams) *cobra.Command {
	var file string
	return newSecretOpCmd(s, secretOp{
		use: "restore", short: "Restore a key from a backup file", target: vaultOnly, noID: true,
		flags: func(cmd *cobra.Command) { cmd.Flags().StringVarP(&file, "file", "f", "", "backup file") },
		prepare: func(*cobra.Command) error {
			if file == "" {
				return usageError{errors.New("--file is required")}
			}
			return nil
		},
		runKeys: func(ctx context.Context, c *client.KeysClient, _ secretTarget) (any, error) {
			blob, err := os.ReadFile(file)
			if err != nil {
				return nil, err
			}
			return keyResult(c.RestoreKey(ctx, blob))
		},
	})
}

func newKeyDownloadCmd(s streams) *cobra.Command {
	var file, encoding string
	return newSecretOpCmd(s, secretOp{
		use: "download", short: "Write a key version's public key to a file (PEM or DER)", target: byVersion, noID: true,
		flags: func(cmd *cobra.Command) {
			cmd.Flags().StringVarP(&file, "file", "f", "", "file to write (must not exist)")
			cmd.Flags().StringVarP(&encoding, "encoding", "e", "PEM", "PEM or DER")
		},
		prepare: func(*cobra.Command) (err error) {
			if file == "" {
				return usageError{errors.New("--file is required")}
			}
			encoding, err = oneOf("--encoding", encoding, "pem", "der")
			return err
		},
		runKeys: func(ctx context.Context, c *client.KeysClient, t secretTarget) (any, error) {
			b, err := c.GetKey(ctx, t.name, t.version)
			if err != nil {
				return nil, err
			}
			der, err := publicKeyDER(b.Key)
			if err != nil {
				return nil, err
			}
			if encoding == "pem" {
				der = pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
			}
			return nil, writeNewFile(file, der)
		},
	})
}

// publicKeyDER encodes a JWK's public key as SubjectPublicKeyInfo.
func publicKeyDER(k *client.JSONWebKey) ([]byte, error) {
	if k == nil {
		return nil, errors.New("the answer holds no key")
	}
	switch {
	case strings.HasPrefix(k.Kty, "RSA"):
		return x509.MarshalPKIXPublicKey(&rsa.PublicKey{N: new(big.Int).SetBytes(k.N), E: int(new(big.Int).SetBytes(k.E).Int64())})
	case strings.HasPrefix(k.Kty, "EC"):
		return ecPublicDER(k)
	}
	return nil, fmt.Errorf("%s keys have no public key to download", k.Kty)
}
