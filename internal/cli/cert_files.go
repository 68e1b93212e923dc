package cli

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	"github.com/keyhaven/keyhaven/pkg/client"
)

// maxCertFile bounds what import and merge read; the service accepts
// bundles of 4 MiB.
const maxCertFile = 4 << 20

// readCertFile reads a certificate file, which must not be empty.
func readCertFile(path string) ([]byte, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	data, err := io.ReadAll(io.LimitReader(fh, maxCertFile+1))
	switch {
	case err != nil:
		return nil, fmt.Errorf("reading %s: %w", path, err)
	case len(data) > maxCertFile:
		return nil, fmt.Errorf("%s is larger than %d bytes", path, maxCertFile)
	case len(bytes.TrimSpace(data)) == 0:
		return nil, fmt.Errorf("%s is empty", path)
	}
	return data, nil
}

// isPEM reports whether data is PEM text rather than binary (a PFX or
// DER).
func isPEM(data []byte) bool { return bytes.Contains(data, []byte("-----BEGIN ")) }

// importValue turns the file's bytes into the import request's value and
// content type: PEM text as it is, anything else as a PFX in base64. The
// service checks the content; the bytes are never quoted in an error.
func importValue(data []byte) (value, contentType string) {
	if isPEM(data) {
		return string(data), contentTypePEM
	}
	return base64.StdEncoding.EncodeToString(data), contentTypePFX
}

func newCertImportCmd(s streams) *cobra.Command {
	var (
		file, password string
		policy         policyFlag
		f              certAttrFlags
		p              client.CertificateImportParameters
	)
	return newCertOpCmd(s, secretOp{
		use: "import", short: "Import a certificate with its private key from a PFX or PEM file", target: byName, noID: true,
		flags: func(cmd *cobra.Command) {
			fs := cmd.Flags()
			fs.StringVarP(&file, "file", "f", "", "PFX file (binary), or PEM file holding the certificates and the PKCS#8 private key")
			fs.StringVar(&password, "password", "", "password of the PFX file")
			policy.bind(cmd, "the certificate policy (default: derived from the certificate, issuer Unknown)")
			f.bind(cmd, true)
		},
		prepare: func(cmd *cobra.Command) (err error) {
			if err = requireFlag("--file", file); err != nil {
				return err
			}
			if p.Policy, err = policy.read(cmd); err != nil {
				return err
			}
			if p.Tags, p.Attributes, err = f.read(cmd); err != nil {
				return err
			}
			data, err := readCertFile(file)
			if err != nil {
				return err
			}
			var contentType string
			p.Value, contentType = importValue(data)
			p.Password = password
			if p.Policy != nil && (p.Policy.SecretProps == nil || p.Policy.SecretProps.ContentType == "") {
				p.Policy.SecretProps = &client.CertificateSecretProps{ContentType: contentType} // as az does
			}
			return nil
		},
		runCerts: func(ctx context.Context, c *client.CertificatesClient, t secretTarget) (any, error) {
			return certResult(c.ImportCertificate(ctx, t.name, p))
		},
	})
}

func newCertDownloadCmd(s streams) *cobra.Command {
	var file, encoding string
	return newCertOpCmd(s, secretOp{
		use: "download", short: "Write a certificate version's public certificate to a file (PEM or DER)", target: byVersion,
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
		runCerts: func(ctx context.Context, c *client.CertificatesClient, t secretTarget) (any, error) {
			b, err := c.GetCertificate(ctx, t.name, t.version)
			if err != nil {
				return nil, err
			}
			if len(b.Cer) == 0 {
				return nil, errors.New("the service returned no certificate (cer)")
			}
			data := b.Cer
			if encoding == "PEM" {
				data = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: b.Cer})
			}
			return nil, writeNewFile(file, data)
		},
	})
}

func newCertBackupCmd(s streams) *cobra.Command {
	var file string
	op := backupOp("certificate", &file)
	op.runCerts = func(ctx context.Context, c *client.CertificatesClient, t secretTarget) (any, error) {
		blob, err := c.BackupCertificate(ctx, t.name)
		return writeBackup(file, blob, err)
	}
	return newCertOpCmd(s, op)
}

func newCertRestoreCmd(s streams) *cobra.Command {
	var (
		file string
		blob []byte
	)
	op := restoreOp("certificate", &file, &blob)
	op.runCerts = func(ctx context.Context, c *client.CertificatesClient, _ secretTarget) (any, error) {
		return certResult(c.RestoreCertificate(ctx, blob))
	}
	return newCertOpCmd(s, op)
}

// newCertPendingCmd is `certificate pending`: the operation of a create.
func newCertPendingCmd(s streams) *cobra.Command {
	cmd := &cobra.Command{Use: "pending", Short: "Show, merge, cancel or delete a certificate's pending operation", RunE: groupRunE}
	ops := map[string]struct {
		short string
		run   func(c *client.CertificatesClient, ctx context.Context, name string) (client.CertificateOperation, error)
	}{
		"show":   {"Show the pending operation, with its CSR", (*client.CertificatesClient).GetCertificateOperation},
		"delete": {"Delete the pending operation; the certificate is not created", (*client.CertificatesClient).DeleteCertificateOperation},
		"cancel": {"Cancel the pending operation (keyhaven's own; az has no such command)", (*client.CertificatesClient).CancelCertificateOperation},
	}
	for _, use := range []string{"show", "delete", "cancel"} {
		op := ops[use]
		cmd.AddCommand(newCertOpCmd(s, secretOp{
			use: use, short: op.short, target: byName,
			runCerts: func(ctx context.Context, c *client.CertificatesClient, t secretTarget) (any, error) {
				return operationResult(op.run(c, ctx, t.name))
			},
		}))
	}
	cmd.AddCommand(newCertMergeCmd(s))
	return cmd
}

func newCertMergeCmd(s streams) *cobra.Command {
	var (
		file string
		f    certAttrFlags
		p    client.CertificateMergeParameters
	)
	return newCertOpCmd(s, secretOp{
		use: "merge", short: "Complete a pending operation of issuer Unknown with the signed certificate", target: byName,
		flags: func(cmd *cobra.Command) {
			cmd.Flags().StringVarP(&file, "file", "f", "", "the signed certificate: PEM (the certificate first, then its chain) or DER")
			f.bind(cmd, true)
		},
		prepare: func(cmd *cobra.Command) (err error) {
			if err = requireFlag("--file", file); err != nil {
				return err
			}
			if p.Tags, p.Attributes, err = f.read(cmd); err != nil {
				return err
			}
			data, err := readCertFile(file)
			if err != nil {
				return err
			}
			p.X5C, err = certificateChain(file, data)
			return err
		},
		runCerts: func(ctx context.Context, c *client.CertificatesClient, t secretTarget) (any, error) {
			return certResult(c.MergeCertificate(ctx, t.name, p))
		},
	})
}

// certificateChain returns the DER certificates of a PEM file, in order, or
// of a DER file (one certificate or several concatenated). Each must parse.
func certificateChain(path string, data []byte) ([][]byte, error) {
	if !isPEM(data) {
		certs, err := x509.ParseCertificates(data)
		if err != nil || len(certs) == 0 {
			return nil, fmt.Errorf("%s holds no certificate: want PEM or DER", path)
		}
		var chain [][]byte
		for _, c := range certs {
			chain = append(chain, c.Raw)
		}
		return chain, nil
	}
	var chain [][]byte
	for rest := data; ; {
		var block *pem.Block
		if block, rest = pem.Decode(rest); block == nil {
			break
		}
		if block.Type != "CERTIFICATE" {
			continue
		}
		if _, err := x509.ParseCertificate(block.Bytes); err != nil {
			return nil, fmt.Errorf("%s: certificate %d cannot be parsed", path, len(chain)+1)
		}
		chain = append(chain, block.Bytes)
	}
	if len(chain) == 0 {
		return nil, fmt.Errorf("%s holds no PEM CERTIFICATE block", path)
	}
	return chain, nil
}
