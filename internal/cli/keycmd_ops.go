package cli

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/x509"
	"encoding/asn1"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/keyhaven/keyhaven/pkg/client"
)

// ecPublicDER encodes an EC JWK as SubjectPublicKeyInfo; secp256k1 is not
// in crypto/x509, so its structure is written directly.
func ecPublicDER(k *client.JSONWebKey) ([]byte, error) {
	point := append(append([]byte{4}, k.X...), k.Y...)
	curves := map[string]elliptic.Curve{"P-256": elliptic.P256(), "P-384": elliptic.P384(), "P-521": elliptic.P521()}
	if c, ok := curves[k.Crv]; ok {
		pub, err := ecdsa.ParseUncompressedPublicKey(c, point)
		if err != nil {
			return nil, err
		}
		return x509.MarshalPKIXPublicKey(pub)
	}
	if k.Crv != "P-256K" {
		return nil, fmt.Errorf("unsupported curve %q", k.Crv)
	}
	type algorithm struct{ Algorithm, Curve asn1.ObjectIdentifier }
	return asn1.Marshal(struct {
		Alg algorithm
		Key asn1.BitString
	}{algorithm{asn1.ObjectIdentifier{1, 2, 840, 10045, 2, 1}, asn1.ObjectIdentifier{1, 3, 132, 0, 10}},
		asn1.BitString{Bytes: point, BitLength: 8 * len(point)}})
}

// newKeyCryptoCmd is encrypt, decrypt, wrap, unwrap, sign or verify. Binary
// inputs and outputs are base64 as in az; encrypt takes plain text unless
// --data-type base64.
func newKeyCryptoCmd(s streams, op string) *cobra.Command {
	var alg, value, dataType, digest, signature, iv, aad, tag string
	short := map[string]string{"encrypt": "Encrypt data with a key", "decrypt": "Decrypt data with a key",
		"wrap": "Wrap a key with a key", "unwrap": "Unwrap a key with a key", "sign": "Sign a digest with a key",
		"verify": "Verify a signature over a digest"}[op]
	var p client.KeyOperationParameters
	var vp client.KeyVerifyParameters
	return newSecretOpCmd(s, secretOp{
		use: op, short: short, target: byVersion, noID: true,
		flags: func(cmd *cobra.Command) {
			fs := cmd.Flags()
			fs.StringVarP(&alg, "algorithm", "a", "", "algorithm, e.g. RSA-OAEP-256, A256GCM, RS256, ES256, A256KW")
			switch op {
			case "sign", "verify":
				fs.StringVar(&digest, "digest", "", "the digest, base64")
				if op == "verify" {
					fs.StringVar(&signature, "signature", "", "the signature, base64")
				}
			default:
				fs.StringVar(&value, "value", "", "the data, base64 (encrypt: plain text unless --data-type base64)")
				fs.StringVar(&iv, "iv", "", "initialization vector, base64 (AES-GCM, AES-CBC)")
				fs.StringVar(&aad, "aad", "", "additional authenticated data, base64 (AES-GCM)")
				if op == "decrypt" {
					fs.StringVar(&tag, "tag", "", "authentication tag, base64 (AES-GCM)")
				}
				if op == "encrypt" {
					fs.StringVar(&dataType, "data-type", "plaintext", "plaintext or base64")
				}
			}
		},
		prepare: func(*cobra.Command) error {
			if alg == "" {
				return usageError{errors.New("--algorithm is required")}
			}
			var err error
			if op == "sign" || op == "verify" {
				vp.Algorithm = alg
				if vp.Digest, err = b64Flag("--digest", digest, true); err != nil {
					return err
				}
				p = client.KeyOperationParameters{Algorithm: alg, Value: vp.Digest}
				vp.Signature, err = b64Flag("--signature", signature, op == "verify")
				return err
			}
			p.Algorithm = alg
			if op == "encrypt" && dataType != "base64" {
				if dataType != "plaintext" {
					return usageError{errors.New("--data-type must be plaintext or base64")}
				}
				p.Value = []byte(value)
			} else if p.Value, err = b64Flag("--value", value, true); err != nil {
				return err
			}
			if p.IV, err = b64Flag("--iv", iv, false); err != nil {
				return err
			}
			if p.AAD, err = b64Flag("--aad", aad, false); err != nil {
				return err
			}
			p.Tag, err = b64Flag("--tag", tag, false)
			return err
		},
		runKeys: func(ctx context.Context, c *client.KeysClient, t secretTarget) (any, error) {
			if op == "verify" {
				ok, err := c.Verify(ctx, t.name, t.version, vp)
				if err != nil {
					return nil, err
				}
				return map[string]any{"isValid": ok}, nil
			}
			path := map[string]string{"wrap": "wrapkey", "unwrap": "unwrapkey"}[op]
			if path == "" {
				path = op
			}
			r, err := c.Do(ctx, t.name, t.version, path, p)
			if err != nil {
				return nil, err
			}
			return cryptoView(op, alg, r), nil
		},
	})
}

// cryptoView prints results as az does: kid, result (base64) and algorithm;
// sign calls its result "signature".
func cryptoView(op, alg string, r client.KeyOperationResult) map[string]any {
	out := map[string]any{"kid": r.Kid, "algorithm": alg}
	field := "result"
	if op == "sign" {
		field = "signature"
	}
	out[field] = base64.StdEncoding.EncodeToString(r.Value)
	if op == "decrypt" && isPrintable(r.Value) {
		out["plaintext"] = string(r.Value)
	}
	for k, v := range map[string][]byte{"iv": r.IV, "tag": r.Tag, "aad": r.AAD} {
		if len(v) > 0 {
			out[k] = base64.StdEncoding.EncodeToString(v)
		}
	}
	return out
}

func isPrintable(b []byte) bool {
	for _, c := range b {
		if c < 0x20 || c > 0x7e {
			return false
		}
	}
	return len(b) > 0
}

// b64Flag decodes a base64 (standard or URL alphabet, padded or not) flag.
func b64Flag(flag, v string, required bool) ([]byte, error) {
	if v == "" {
		if required {
			return nil, usageError{fmt.Errorf("%s is required", flag)}
		}
		return nil, nil
	}
	v = strings.TrimRight(v, "=")
	for _, enc := range []*base64.Encoding{base64.RawStdEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(v); err == nil {
			return b, nil
		}
	}
	return nil, usageError{fmt.Errorf("%s is not base64", flag)}
}

func newKeyRandomCmd(s streams) *cobra.Command {
	var count int
	return newSecretOpCmd(s, secretOp{
		use: "random", short: "Get random bytes from the server (base64)", target: vaultOnly, noID: true,
		flags: func(cmd *cobra.Command) { cmd.Flags().IntVar(&count, "count", 32, "how many bytes, 1-128") },
		prepare: func(*cobra.Command) error {
			if count < 1 || count > 128 {
				return usageError{errors.New("--count must be between 1 and 128")}
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

func newKeyRotationPolicyCmd(s streams) *cobra.Command {
	cmd := &cobra.Command{Use: "rotation-policy", Short: "Show or update a key's rotation policy"}
	show := newSecretOpCmd(s, secretOp{
		use: "show", short: "Show a key's rotation policy", target: byName, noID: true,
		runKeys: func(ctx context.Context, c *client.KeysClient, t secretTarget) (any, error) {
			return c.GetKeyRotationPolicy(ctx, t.name)
		},
	})
	var value string
	var policy client.KeyRotationPolicy
	update := newSecretOpCmd(s, secretOp{
		use: "update", short: "Replace a key's rotation policy (--value JSON, or @FILE)", target: byName, noID: true,
		flags: func(cmd *cobra.Command) { cmd.Flags().StringVar(&value, "value", "", "the policy as JSON, or @FILE") },
		prepare: func(*cobra.Command) error {
			raw := []byte(value)
			if path, ok := strings.CutPrefix(value, "@"); ok {
				var err error
				if raw, err = os.ReadFile(path); err != nil {
					return err
				}
			}
			if err := json.Unmarshal(raw, &policy); err != nil {
				return usageError{fmt.Errorf("--value is not a rotation policy: %v", err)}
			}
			return nil
		},
		runKeys: func(ctx context.Context, c *client.KeysClient, t secretTarget) (any, error) {
			return c.UpdateKeyRotationPolicy(ctx, t.name, policy)
		},
	})
	cmd.AddCommand(show, update)
	return cmd
}
