package cli

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/spf13/cobra"

	"github.com/keyhaven/keyhaven/pkg/client"
)

func newSecretShowCmd(s streams) *cobra.Command {
	return newSecretOpCmd(s, secretOp{
		use: "show", short: "Show a secret version with its value", target: byVersion,
		run: func(ctx context.Context, c *client.SecretsClient, t secretTarget) (any, error) {
			b, err := c.GetSecret(ctx, t.name, t.version)
			if err != nil {
				return nil, err
			}
			return secretView(b), nil
		},
	})
}

func newSecretSetAttributesCmd(s streams) *cobra.Command {
	var (
		contentType string
		tags        tagsValue
		attrs       attrFlags
		params      client.SecretUpdateParameters
	)
	return newSecretOpCmd(s, secretOp{
		use: "set-attributes", short: "Change a secret version's attributes, content type or tags", target: byVersion,
		flags: func(cmd *cobra.Command) {
			cmd.Flags().StringVar(&contentType, "content-type", "", `content type ("" clears it)`)
			cmd.Flags().Var(&tags, "tags", `space-separated tags: k=v k2=v2, replacing all tags ("" removes them)`)
			attrs.bind(cmd, false)
		},
		prepare: func(cmd *cobra.Command) (err error) {
			if cmd.Flags().Changed("content-type") {
				params.ContentType = &contentType
			}
			if cmd.Flags().Changed("tags") {
				if params.Tags, err = tags.tags(); err != nil {
					return err
				}
			}
			params.Attributes, err = attrs.attributes()
			return err
		},
		run: func(ctx context.Context, c *client.SecretsClient, t secretTarget) (any, error) {
			b, err := c.UpdateSecretProperties(ctx, t.name, t.version, params)
			if err != nil {
				return nil, err
			}
			return propertiesView(b), nil
		},
	})
}

func newSecretDeleteCmd(s streams) *cobra.Command {
	return newSecretOpCmd(s, secretOp{
		use: "delete", short: "Delete a secret with all its versions (it can be recovered until purged)", target: byName,
		run: func(ctx context.Context, c *client.SecretsClient, t secretTarget) (any, error) {
			d, err := c.DeleteSecret(ctx, t.name)
			if err != nil {
				return nil, err
			}
			return deletedView(d), nil
		},
	})
}

func newSecretShowDeletedCmd(s streams) *cobra.Command {
	return newSecretOpCmd(s, secretOp{
		use: "show-deleted", short: "Show a deleted secret", target: byName,
		run: func(ctx context.Context, c *client.SecretsClient, t secretTarget) (any, error) {
			d, err := c.GetDeletedSecret(ctx, t.name)
			if err != nil {
				return nil, err
			}
			return deletedView(d), nil
		},
	})
}

func newSecretRecoverCmd(s streams) *cobra.Command {
	return newSecretOpCmd(s, secretOp{
		use: "recover", short: "Recover a deleted secret with all its versions", target: byName,
		run: func(ctx context.Context, c *client.SecretsClient, t secretTarget) (any, error) {
			b, err := c.RecoverDeletedSecret(ctx, t.name)
			if err != nil {
				return nil, err
			}
			return propertiesView(b), nil
		},
	})
}

func newSecretPurgeCmd(s streams) *cobra.Command {
	return newSecretOpCmd(s, secretOp{
		use: "purge", short: "Permanently delete a deleted secret", target: byName,
		run: func(ctx context.Context, c *client.SecretsClient, t secretTarget) (any, error) {
			return nil, c.PurgeDeletedSecret(ctx, t.name)
		},
	})
}

func newSecretBackupCmd(s streams) *cobra.Command {
	var file string
	return newSecretOpCmd(s, secretOp{
		use: "backup", short: "Back up all versions of a secret to a file", target: byName,
		flags: func(cmd *cobra.Command) {
			cmd.Flags().StringVarP(&file, "file", "f", "", "file to write the backup blob to; must not exist")
		},
		prepare: func(*cobra.Command) error { return requireFlag("--file", file) },
		run: func(ctx context.Context, c *client.SecretsClient, t secretTarget) (any, error) {
			return nil, backupToFile(ctx, c, t.name, file)
		},
	})
}

// backupToFile writes the backup blob of name to path, which it creates
// (mode 0600) and never overwrites; on failure it removes what it created.
func backupToFile(ctx context.Context, c *client.SecretsClient, name, path string) (err error) {
	fh, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("%s already exists; backup does not overwrite files", path)
	}
	if err != nil {
		return err
	}
	defer func() {
		if cerr := fh.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			os.Remove(path)
		}
	}()
	r, err := c.BackupSecret(ctx, name)
	if err != nil {
		return err
	}
	_, err = fh.Write(r.Value)
	return err
}

func newSecretRestoreCmd(s streams) *cobra.Command {
	var (
		file string
		blob []byte
	)
	return newSecretOpCmd(s, secretOp{
		use: "restore", short: "Restore a secret from a backup file", target: vaultOnly,
		flags: func(cmd *cobra.Command) {
			cmd.Flags().StringVarP(&file, "file", "f", "", "backup file written by secret backup")
		},
		prepare: func(*cobra.Command) (err error) {
			blob, err = readBlobFile(file)
			return err
		},
		run: func(ctx context.Context, c *client.SecretsClient, _ secretTarget) (any, error) {
			b, err := c.RestoreSecret(ctx, client.SecretRestoreParameters{SecretBundleBackup: blob})
			if err != nil {
				return nil, err
			}
			return propertiesView(b), nil
		},
	})
}

// readBlobFile reads the required --file of restore: a backup blob, which
// cannot be empty.
func readBlobFile(file string) ([]byte, error) {
	if err := requireFlag("--file", file); err != nil {
		return nil, err
	}
	blob, err := os.ReadFile(file)
	if err == nil && len(blob) == 0 {
		err = fmt.Errorf("%s is empty", file)
	}
	return blob, err
}

func requireFlag(name, value string) error {
	if value == "" {
		return usageError{fmt.Errorf("%s is required", name)}
	}
	return nil
}
