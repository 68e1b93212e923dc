package cli

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/spf13/cobra"

	"github.com/keyhaven/keyhaven/pkg/client"
)

// The algorithms of the spec (JsonWebKeyEncryptionAlgorithm and
// JsonWebKeySignatureAlgorithm); --algorithm takes them in any case.
var (
	encryptionAlgorithms = []string{"RSA-OAEP", "RSA-OAEP-256", "RSA1_5", "A128GCM", "A192GCM", "A256GCM",
		"A128KW", "A192KW", "A256KW", "A128CBC", "A192CBC", "A256CBC", "A128CBCPAD", "A192CBCPAD", "A256CBCPAD",
		"CKM_AES_KEY_WRAP", "CKM_AES_KEY_WRAP_PAD"}
	signatureAlgorithms = []string{"PS256", "PS384", "PS512", "RS256", "RS384", "RS512", "HS256", "HS384", "HS512",
		"RSNULL", "ES256", "ES384", "ES512", "ES256K"}
)

// cryptoFlags are the flags of encrypt, decrypt, wrap, unwrap, sign and
// verify.
type cryptoFlags struct {
	alg, value, dataType, digest, signature, iv, aad, tag string
}

var cryptoShort = map[string]string{
	"encrypt": "Encrypt data with a key",
	"decrypt": "Decrypt data with a key",
	"wrap":    "Wrap (encrypt) a key with a key; keyhaven's own, az has no such command",
	"unwrap":  "Unwrap (decrypt) a key with a key; keyhaven's own, az has no such command",
	"sign":    "Sign a digest with a key",
	"verify":  "Verify a signature over a digest",
}

func (f *cryptoFlags) bind(cmd *cobra.Command, op string) {
	fs := cmd.Flags()
	switch op {
	case "sign", "verify":
		fs.StringVarP(&f.alg, "algorithm", "a", "", "signature algorithm: "+strings.Join(signatureAlgorithms, ", "))
		fs.StringVar(&f.digest, "digest", "", "the digest to sign or verify, base64; hash the data yourself with the algorithm's hash (SHA-256 for RS256, PS256, ES256, ES256K)")
		if op == "verify" {
			fs.StringVar(&f.signature, "signature", "", "the signature, base64")
		}
		return
	}
	fs.StringVarP(&f.alg, "algorithm", "a", "", "algorithm: "+strings.Join(encryptionAlgorithms, ", "))
	switch op {
	case "encrypt":
		fs.StringVar(&f.value, "value", "", "the data to encrypt: base64, or text with --data-type plaintext")
		fs.StringVar(&f.dataType, "data-type", "base64", "how --value is given: base64 or plaintext (UTF-8 text)")
		fs.StringVar(&f.iv, "iv", "", "initialization vector, hex (AES-CBC; AES-GCM chooses its own)")
		fs.StringVar(&f.aad, "aad", "", "additional authenticated data, hex (AES-GCM)")
	case "decrypt":
		fs.StringVar(&f.value, "value", "", "the ciphertext, base64 (the result of key encrypt)")
		fs.StringVar(&f.dataType, "data-type", "base64", "how to print the result: base64, or plaintext (UTF-8 text)")
		fs.StringVar(&f.iv, "iv", "", "initialization vector, hex (AES-GCM, AES-CBC)")
		fs.StringVar(&f.aad, "aad", "", "additional authenticated data, hex (AES-GCM)")
		fs.StringVar(&f.tag, "tag", "", "authentication tag, hex (AES-GCM)")
	case "wrap":
		fs.StringVar(&f.value, "value", "", "the key to wrap, base64")
	case "unwrap":
		fs.StringVar(&f.value, "value", "", "the wrapped key, base64 (the result of key wrap)")
	}
}

// params validates the flags into a request body.
func (f *cryptoFlags) params(cmd *cobra.Command, op string) (p client.KeyOperationParameters, digest []byte, err error) {
	algs := encryptionAlgorithms
	if op == "sign" || op == "verify" {
		algs = signatureAlgorithms
	}
	if f.alg == "" {
		return p, nil, usageError{errors.New("--algorithm is required")}
	}
	if p.Algorithm, err = canonical("--algorithm", f.alg, algs); err != nil {
		return p, nil, err
	}
	fs := cmd.Flags()
	switch op {
	case "sign", "verify":
		if digest, err = b64Flag(fs.Changed("digest"), "--digest", f.digest); err != nil {
			return p, nil, err
		}
		if op == "sign" {
			p.Value = digest
		} else if p.Value, err = b64Flag(fs.Changed("signature"), "--signature", f.signature); err != nil {
			return p, nil, err
		}
		return p, digest, nil
	}
	if op == "encrypt" || op == "decrypt" {
		if f.dataType, err = oneOf("--data-type", f.dataType, "base64", "plaintext"); err != nil {
			return p, nil, err
		}
	}
	if op == "encrypt" && f.dataType == "plaintext" {
		if !fs.Changed("value") {
			return p, nil, usageError{errors.New("--value is required")}
		}
		p.Value = []byte(f.value)
	} else if p.Value, err = b64Flag(fs.Changed("value"), "--value", f.value); err != nil {
		return p, nil, err
	}
	if p.IV, err = hexFlag("--iv", f.iv); err != nil {
		return p, nil, err
	}
	if p.AAD, err = hexFlag("--aad", f.aad); err != nil {
		return p, nil, err
	}
	p.Tag, err = hexFlag("--tag", f.tag)
	return p, nil, err
}

// newKeyCryptoCmd is encrypt, decrypt, wrap, unwrap, sign or verify.
func newKeyCryptoCmd(s streams, op string) *cobra.Command {
	var (
		f      cryptoFlags
		p      client.KeyOperationParameters
		digest []byte
	)
	return newKeyOpCmd(s, secretOp{
		use: op, short: cryptoShort[op], target: byVersion,
		flags: func(cmd *cobra.Command) { f.bind(cmd, op) },
		prepare: func(cmd *cobra.Command) (err error) {
			p, digest, err = f.params(cmd, op)
			return err
		},
		runKeys: func(ctx context.Context, c *client.KeysClient, t secretTarget) (any, error) {
			switch op {
			case "verify":
				ok, err := c.Verify(ctx, t.name, t.version, client.KeyVerifyParameters{Algorithm: p.Algorithm, Digest: digest, Signature: p.Value})
				if err != nil {
					return nil, err
				}
				keyID := t.vaultURL + "/keys/" + t.name
				if t.version != "" {
					keyID += "/" + t.version
				}
				return map[string]any{"algorithm": p.Algorithm, "isValid": ok, "keyId": keyID}, nil
			case "sign":
				r, err := c.Sign(ctx, t.name, t.version, client.KeySignParameters{Algorithm: p.Algorithm, Value: p.Value})
				if err != nil {
					return nil, err
				}
				return map[string]any{"algorithm": p.Algorithm, "keyId": orNil(r.Kid), "signature": b64(r.Value)}, nil
			}
			do := map[string]func(context.Context, string, string, client.KeyOperationParameters) (client.KeyOperationResult, error){
				"encrypt": c.Encrypt, "decrypt": c.Decrypt, "wrap": c.WrapKey, "unwrap": c.UnwrapKey,
			}[op]
			r, err := do(ctx, t.name, t.version, p)
			if err != nil {
				return nil, err
			}
			return cryptoView(op, p.Algorithm, f.dataType, r)
		},
	})
}

// cryptoView prints a result as az does: encrypt {kid, result (base64),
// algorithm, iv, tag, aad (hex)}, decrypt {kid, result, algorithm} with the
// result in base64 or, with --data-type plaintext, as text. wrap and unwrap
// print like decrypt with a base64 result.
func cryptoView(op, alg, dataType string, r client.KeyOperationResult) (map[string]any, error) {
	out := map[string]any{"algorithm": alg, "kid": orNil(r.Kid), "result": base64.StdEncoding.EncodeToString(r.Value)}
	switch op {
	case "encrypt":
		out["iv"], out["tag"], out["aad"] = hexOrNil(r.IV), hexOrNil(r.Tag), hexOrNil(r.AAD)
	case "decrypt":
		if dataType == "plaintext" {
			if !utf8.Valid(r.Value) {
				return nil, errors.New("the decrypted data is not UTF-8 text; use --data-type base64")
			}
			out["result"] = string(r.Value)
		}
	}
	return out, nil
}

// b64Flag decodes a required base64 flag: the standard or the URL-safe
// alphabet, padded or not. An empty value is allowed (no bytes).
func b64Flag(given bool, flag, v string) ([]byte, error) {
	if !given {
		return nil, usageError{fmt.Errorf("%s is required", flag)}
	}
	v = strings.TrimRight(strings.TrimSpace(v), "=")
	for _, enc := range []*base64.Encoding{base64.RawStdEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(v); err == nil {
			return b, nil
		}
	}
	return nil, usageError{fmt.Errorf("%s is not base64", flag)}
}

// hexFlag decodes an optional hex flag, as az reads --iv, --aad and --tag.
func hexFlag(flag, v string) ([]byte, error) {
	if v == "" {
		return nil, nil
	}
	b, err := hex.DecodeString(strings.TrimPrefix(strings.TrimSpace(v), "0x"))
	if err != nil {
		return nil, usageError{fmt.Errorf("%s is not hex", flag)}
	}
	return b, nil
}

func newKeyRandomCmd(s streams) *cobra.Command {
	var count int
	return newKeyOpCmd(s, secretOp{
		use: "random", short: "Get random bytes from the server's generator (base64)", target: vaultOnly,
		flags: func(cmd *cobra.Command) { cmd.Flags().IntVar(&count, "count", 0, "how many bytes, 1-128 (required)") },
		prepare: func(cmd *cobra.Command) error {
			if !cmd.Flags().Changed("count") {
				return usageError{errors.New("--count is required")}
			}
			if count < 1 || count > 128 {
				return usageError{fmt.Errorf("--count must be between 1 and 128, got %d", count)}
			}
			return nil
		},
		runKeys: func(ctx context.Context, c *client.KeysClient, _ secretTarget) (any, error) {
			b, err := c.GetRandomBytes(ctx, count)
			if err != nil {
				return nil, err
			}
			return map[string]any{"value": base64.StdEncoding.EncodeToString(b)}, nil
		},
	})
}

// backupOp returns the secretOp of `<object> backup --file`: the blob
// fetch returns goes to a new file, which must not exist.
func backupOp(object string, file *string) secretOp {
	return secretOp{
		use: "backup", short: "Back up every version of a " + object + " to a file", target: byName,
		flags: func(cmd *cobra.Command) {
			cmd.Flags().StringVarP(file, "file", "f", "", "file to write the backup blob to; must not exist")
		},
		prepare: func(*cobra.Command) error {
			if err := requireFlag("--file", *file); err != nil {
				return err
			}
			return checkNewFile(*file)
		},
	}
}

// writeBackup writes a fetched backup blob to file.
func writeBackup(file string, blob []byte, err error) (any, error) {
	if err != nil {
		return nil, err
	}
	return nil, writeNewFile(file, blob)
}

// restoreOp returns the secretOp of `<object> restore --file`; blob holds
// the file's content once prepare has run.
func restoreOp(object string, file *string, blob *[]byte) secretOp {
	return secretOp{
		use: "restore", short: "Restore a " + object + " from a backup file", target: vaultOnly,
		flags: func(cmd *cobra.Command) {
			cmd.Flags().StringVarP(file, "file", "f", "", "backup file written by "+object+" backup")
		},
		prepare: func(*cobra.Command) (err error) {
			*blob, err = readBlobFile(*file)
			return err
		},
	}
}
