package cli

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"os"
	"unicode/utf8"

	"github.com/spf13/cobra"

	"github.com/keyhaven/keyhaven/pkg/client"
)

// attrFlags are the attribute flags of set and set-attributes.
type attrFlags struct {
	enabled, disabled  boolValue
	expires, notBefore timeValue
}

func (a *attrFlags) bind(cmd *cobra.Command, withDisabled bool) {
	fs := cmd.Flags()
	fs.Var(&a.enabled, "enabled", "whether the secret is enabled")
	if withDisabled {
		fs.Var(&a.disabled, "disabled", "create the secret disabled (az's form of --enabled false)")
	}
	fs.Var(&a.expires, "expires", "expiry, ISO-8601 in UTC, e.g. 2026-01-02T03:04:05Z")
	fs.Var(&a.notBefore, "not-before", "start of validity, ISO-8601 in UTC")
}

// attributes returns the attributes the flags set, or nil if none.
func (a *attrFlags) attributes() (*client.SecretAttributes, error) {
	enabled, err := resolveEnabled(a.enabled, a.disabled)
	if err != nil {
		return nil, err
	}
	if enabled == nil && a.expires.t == nil && a.notBefore.t == nil {
		return nil, nil
	}
	return &client.SecretAttributes{Enabled: enabled, Expires: a.expires.t, NotBefore: a.notBefore.t}, nil
}

// resolveEnabled turns --enabled and az's --disabled into the enabled
// attribute (nil when neither was given).
func resolveEnabled(enabled, disabled boolValue) (*bool, error) {
	if enabled.v != nil && disabled.v != nil {
		return nil, usageError{errors.New("--enabled and --disabled are mutually exclusive")}
	}
	if disabled.v != nil {
		e := !*disabled.v
		return &e, nil
	}
	return enabled.v, nil
}

// maxSecretFile bounds what --file reads; the service's limit is far lower.
const maxSecretFile = 4 << 20

// setFlags are the flags of `secret set`.
type setFlags struct {
	value, file, encoding, contentType string
	tags                               tagsValue
	attrs                              attrFlags
}

func newSecretSetCmd(s streams) *cobra.Command {
	f := &setFlags{}
	var params client.SecretSetParameters
	return newSecretOpCmd(s, secretOp{
		use: "set", short: "Create a secret, or a new version of it", target: byName, noID: true,
		flags: func(cmd *cobra.Command) { f.bind(cmd) },
		prepare: func(cmd *cobra.Command) (err error) {
			params, err = f.parameters(cmd, s.in)
			return err
		},
		run: func(ctx context.Context, c *client.SecretsClient, t secretTarget) (any, error) {
			b, err := c.SetSecret(ctx, t.name, params)
			if err != nil {
				return nil, err
			}
			return secretView(b), nil
		},
	})
}

func (f *setFlags) bind(cmd *cobra.Command) {
	fs := cmd.Flags()
	fs.StringVar(&f.value, "value", "", "the secret value")
	fs.StringVarP(&f.file, "file", "f", "", `read the value from FILE ("-" for standard input)`)
	fs.StringVarP(&f.encoding, "encoding", "e", "utf-8", "encoding of --file: utf-8 or base64 (the file's bytes stored base64-encoded)")
	fs.StringVar(&f.contentType, "content-type", "", "content type of the value, e.g. text/plain")
	fs.Var(&f.tags, "tags", `space-separated tags: k=v k2=v2 (may repeat; "" for none)`)
	f.attrs.bind(cmd, true)
}

// parameters validates the flags and builds the request body.
func (f *setFlags) parameters(cmd *cobra.Command, stdin io.Reader) (client.SecretSetParameters, error) {
	fs := cmd.Flags()
	hasValue, hasFile := fs.Changed("value"), fs.Changed("file")
	switch {
	case hasValue && hasFile:
		return client.SecretSetParameters{}, usageError{errors.New("--value and --file are mutually exclusive")}
	case !hasValue && !hasFile:
		return client.SecretSetParameters{}, usageError{errors.New("one of --value or --file is required")}
	case fs.Changed("encoding") && !hasFile:
		return client.SecretSetParameters{}, usageError{errors.New("--encoding applies only to --file")}
	}
	encoding, err := oneOf("--encoding", f.encoding, "utf-8", "base64")
	if err != nil {
		return client.SecretSetParameters{}, err
	}
	p := client.SecretSetParameters{Value: f.value, ContentType: f.contentType}
	if p.Attributes, err = f.attrs.attributes(); err != nil {
		return p, err
	}
	if fs.Changed("tags") || hasFile {
		if p.Tags, err = f.tags.tags(); err != nil {
			return p, err
		}
	}
	if hasFile {
		if p.Value, err = readSecretFile(f.file, encoding, stdin); err != nil {
			return p, err
		}
		p.Tags["file-encoding"] = encoding // as az does, so the value can be decoded again
	}
	return p, nil
}

// readSecretFile reads path ("-": stdin) as the secret value: UTF-8 text
// as is, or any bytes base64-encoded.
func readSecretFile(path, encoding string, stdin io.Reader) (string, error) {
	r := stdin
	if path != "-" {
		fh, err := os.Open(path)
		if err != nil {
			return "", err
		}
		defer fh.Close()
		r = fh
	}
	data, err := io.ReadAll(io.LimitReader(r, maxSecretFile+1))
	if err != nil {
		return "", fmt.Errorf("reading %s: %w", path, err)
	}
	if len(data) > maxSecretFile {
		return "", fmt.Errorf("%s is larger than %d bytes", path, maxSecretFile)
	}
	if encoding == "base64" {
		return base64.StdEncoding.EncodeToString(data), nil
	}
	if !utf8.Valid(data) {
		return "", fmt.Errorf("%s is not valid UTF-8 text; use --encoding base64", path)
	}
	return string(data), nil
}
