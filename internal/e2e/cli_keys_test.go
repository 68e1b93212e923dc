package e2e

import (
	"crypto/sha256"
	"encoding/base64"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// keyhaven key, run as a user would, against a real server: create, sign,
// verify (also with openssl from the downloaded public key), encrypt and
// decrypt, rotate, backup/restore, and usage errors.
func TestCLIKeys(t *testing.T) {
	cliForEachTenant(t, func(t *testing.T, c *cliEnv) {
		created := cliObject(t, c.ok(t, "key", "create", "-n", "cli-rsa", "--kty", "RSA", "--size", "2048", "--tags", "env=test"))
		if created["key"].(map[string]any)["kty"] != "RSA" || cliTags(created["tags"])["env"] != "test" {
			t.Fatalf("create: %v", created)
		}
		sum := sha256.Sum256([]byte("cli data"))
		digest := base64.StdEncoding.EncodeToString(sum[:])
		sig := strings.TrimSpace(c.ok(t, "key", "sign", "-n", "cli-rsa", "-a", "RS256", "--digest", digest, "--query", "signature", "-o", "tsv").stdout)
		if out := strings.TrimSpace(c.ok(t, "key", "verify", "-n", "cli-rsa", "-a", "RS256", "--digest", digest, "--signature", sig, "--query", "isValid", "-o", "tsv").stdout); !strings.EqualFold(out, "true") {
			t.Fatalf("verify printed %q", out)
		}
		pub := filepath.Join(c.dir, "cli-rsa.pem")
		c.ok(t, "key", "download", "-n", "cli-rsa", "-f", pub)
		if openssl, err := exec.LookPath("openssl"); err == nil {
			raw, _ := base64.StdEncoding.DecodeString(sig)
			sigFile, msgFile := filepath.Join(c.dir, "sig"), filepath.Join(c.dir, "msg")
			writeFile(t, sigFile, raw)
			writeFile(t, msgFile, []byte("cli data"))
			if out, err := exec.Command(openssl, "dgst", "-sha256", "-verify", pub, "-signature", sigFile, msgFile).CombinedOutput(); err != nil {
				t.Fatalf("openssl: %v %s", err, out)
			}
		}
		ct := strings.TrimSpace(c.ok(t, "key", "encrypt", "-n", "cli-rsa", "-a", "RSA-OAEP-256", "--value", "cli plaintext", "--data-type", "plaintext", "--query", "result", "-o", "tsv").stdout)
		if pt := strings.TrimSpace(c.ok(t, "key", "decrypt", "-n", "cli-rsa", "-a", "RSA-OAEP-256", "--value", ct, "--data-type", "plaintext", "--query", "result", "-o", "tsv").stdout); pt != "cli plaintext" {
			t.Fatalf("decrypt printed %q", pt)
		}
		c.ok(t, "key", "rotate", "-n", "cli-rsa", "-o", "none")
		if n := len(cliArray(t, c.ok(t, "key", "list-versions", "-n", "cli-rsa"))); n != 2 {
			t.Fatalf("versions: %d", n)
		}
		bak := filepath.Join(c.dir, "cli-rsa.bak")
		c.ok(t, "key", "backup", "-n", "cli-rsa", "-f", bak)
		c.ok(t, "key", "delete", "-n", "cli-rsa", "-o", "none")
		c.ok(t, "key", "purge", "-n", "cli-rsa")
		c.ok(t, "key", "restore", "-f", bak, "-o", "none")
		c.fails(t, 1, []string{"BadParameter", "digest"}, "key", "sign", "-n", "cli-rsa", "-a", "RS256", "--digest", "AAAA")
		c.fails(t, 1, []string{"BadParameter", "HSM"}, "key", "create", "-n", "cli-hsm", "--protection", "hsm")
		c.fails(t, 2, []string{"--algorithm"}, "key", "sign", "-n", "cli-rsa", "--digest", digest)
		c.fails(t, 2, []string{"--digest"}, "key", "sign", "-n", "cli-rsa", "-a", "RS256", "--digest", "!!")
		c.fails(t, 2, []string{"--count"}, "key", "random", "--count", "0")
		if v, _ := cliObject(t, c.ok(t, "key", "random", "--count", "16"))["value"].(string); len(v) != 24 {
			t.Fatalf("random: %q", v)
		}
	})
}
