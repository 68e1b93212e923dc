package e2e

// End-to-end tests of `keyhaven secret`: the real binary runs as a
// subprocess, configured only through the environment variables a user
// exports from the dev server's banner, against a real dev server. After the
// CLI changes something, the tests look at the server with their own HTTPS
// requests (raw, from wire_test.go) rather than trusting the CLI's output.

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/keyhaven/keyhaven/internal/testenv"
)

// cliAPIVersion is the api-version of the tests' own requests.
const cliAPIVersion = "?api-version=7.6"

// cliEnv is a dev server and the environment a user would export for it.
type cliEnv struct {
	srv   *testenv.Server
	env   map[string]string // the exports of the dev server's banner
	dir   string            // working directory of every CLI run
	token string            // administrator token for the tests' own requests
	// values are secret values stored so far; no error message may print them.
	values []string
}

// cliCall is one run of the binary.
type cliCall struct {
	args  []string
	stdin string
	env   map[string]string // changes to cliEnv.env; "" removes a variable
}

// cliResult is what one run printed and its exit code.
type cliResult struct {
	args           []string
	stdout, stderr string
	code           int
}

func (r cliResult) String() string {
	return fmt.Sprintf("keyhaven %s → exit %d\nstdout: %s\nstderr: %s", strings.Join(r.args, " "), r.code, r.stdout, r.stderr)
}

// startCLI starts a dev server and builds the environment of its banner with
// AZURE_TENANT_ID set to tenant(server).
func startCLI(t *testing.T, tenant func(*testenv.Server) string) *cliEnv {
	t.Helper()
	srv := testenv.StartDev(t)
	return &cliEnv{
		srv: srv,
		env: map[string]string{
			"SSL_CERT_FILE":        srv.Info.CAFile,
			"AZURE_AUTHORITY_HOST": srv.Info.AuthorityHost,
			"AZURE_TENANT_ID":      tenant(srv),
			"AZURE_CLIENT_ID":      srv.Info.ClientID,
			"AZURE_CLIENT_SECRET":  srv.Info.ClientSecret,
			"KEYHAVEN_VAULT_URL":   srv.Info.VaultURL,
		},
		dir:   t.TempDir(),
		token: newRaw(t, srv).token,
	}
}

func cliGUIDTenant(srv *testenv.Server) string { return srv.Info.TenantID }

func cliADFSTenant(*testenv.Server) string { return "adfs" }

// cliForEachTenant runs body against its own dev server once with the tenant
// GUID and once with "adfs" in AZURE_TENANT_ID, in parallel.
func cliForEachTenant(t *testing.T, body func(t *testing.T, c *cliEnv)) {
	tenants := []struct {
		name   string
		tenant func(*testenv.Server) string
	}{
		{name: "tenant-guid", tenant: cliGUIDTenant},
		{name: "tenant-adfs", tenant: cliADFSTenant},
	}
	for _, tc := range tenants {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			body(t, startCLI(t, tc.tenant))
		})
	}
}

// newValue returns a unique secret value and remembers it, so that every
// later run checks that no error message prints it.
func (c *cliEnv) newValue(label string) string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	v := label + "-" + hex.EncodeToString(b)
	c.values = append(c.values, v)
	return v
}

// run runs `keyhaven args...` with the base environment.
func (c *cliEnv) run(t *testing.T, args ...string) cliResult {
	t.Helper()
	return c.call(t, cliCall{args: args})
}

// call runs the binary with exactly the environment of c plus in.env: no
// variable of the test process leaks in. Every run is checked for leaks.
func (c *cliEnv) call(t *testing.T, in cliCall) cliResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	env := maps.Clone(c.env)
	for k, v := range in.env {
		if v == "" {
			delete(env, k)
		} else {
			env[k] = v
		}
	}
	cmd := exec.CommandContext(ctx, keyhavenBinary(t), in.args...)
	cmd.Env = []string{} // not nil: nil would inherit the test's environment
	for _, k := range slices.Sorted(maps.Keys(env)) {
		cmd.Env = append(cmd.Env, k+"="+env[k])
	}
	cmd.Dir = c.dir
	cmd.Stdin = strings.NewReader(in.stdin)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	res := cliResult{args: in.args, stdout: stdout.String(), stderr: stderr.String()}
	var exitErr *exec.ExitError
	switch {
	case errors.As(err, &exitErr):
		res.code = exitErr.ExitCode()
	case err != nil:
		t.Fatalf("keyhaven %s: %v", strings.Join(in.args, " "), err)
	}
	c.checkLeaks(t, res, in.env["AZURE_CLIENT_SECRET"])
	return res
}

// checkLeaks fails the test when a run printed a client secret anywhere, or
// a secret value in an error; a failed run must print nothing on stdout.
func (c *cliEnv) checkLeaks(t *testing.T, res cliResult, extraClientSecret string) {
	t.Helper()
	for _, s := range []string{c.srv.Info.ClientSecret, extraClientSecret} {
		if s != "" && strings.Contains(res.stdout+res.stderr, s) {
			t.Errorf("the output shows the client secret:\n%s", res)
		}
	}
	for _, v := range c.values {
		if strings.Contains(res.stderr, v) {
			t.Errorf("stderr shows the secret value %q:\n%s", v, res)
		}
	}
	if res.code != 0 && res.stdout != "" {
		t.Errorf("a failed command printed on stdout:\n%s", res)
	}
}

// ok runs the binary and requires exit code 0.
func (c *cliEnv) ok(t *testing.T, args ...string) cliResult {
	t.Helper()
	res := c.run(t, args...)
	if res.code != 0 {
		t.Fatalf("want exit 0:\n%s", res)
	}
	return res
}

// fails runs the binary and requires exit code code and stderr containing
// every string of want.
func (c *cliEnv) fails(t *testing.T, code int, want []string, args ...string) cliResult {
	t.Helper()
	return cliWantFailure(t, c.run(t, args...), code, want...)
}

// cliWantFailure requires exit code code and stderr containing every string
// of want.
func cliWantFailure(t *testing.T, res cliResult, code int, want ...string) cliResult {
	t.Helper()
	if res.code != code {
		t.Errorf("want exit %d:\n%s", code, res)
	}
	for _, w := range want {
		if !strings.Contains(res.stderr, w) {
			t.Errorf("stderr lacks %q:\n%s", w, res)
		}
	}
	return res
}

// cliObject decodes a JSON object printed by the CLI.
func cliObject(t *testing.T, res cliResult) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(res.stdout), &m); err != nil {
		t.Fatalf("stdout is not a JSON object: %v\n%s", err, res)
	}
	return m
}

// cliArray decodes a JSON array of objects printed by the CLI.
func cliArray(t *testing.T, res cliResult) []map[string]any {
	t.Helper()
	var a []map[string]any
	if err := json.Unmarshal([]byte(res.stdout), &a); err != nil {
		t.Fatalf("stdout is not a JSON array: %v\n%s", err, res)
	}
	return a
}

// server returns the tests' own HTTPS client of the vault.
func (c *cliEnv) server(t *testing.T) *raw {
	return &raw{t: t, srv: c.srv, token: c.token}
}

// get sends GET path to the vault with the tests' own token.
func (c *cliEnv) get(t *testing.T, path string) reply {
	t.Helper()
	return c.server(t).do("GET", path+cliAPIVersion, "", true)
}

// list reads every page of a collection (/secrets, /deletedsecrets,
// /secrets/{name}/versions) with the tests' own token.
func (c *cliEnv) list(t *testing.T, path string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for next := path + cliAPIVersion; next != ""; {
		rep := c.server(t).do("GET", next, "", true)
		if rep.status != 200 {
			t.Fatalf("GET %s: %d %s", next, rep.status, rep.text)
		}
		items, _ := rep.body["value"].([]any)
		for _, it := range items {
			out = append(out, it.(map[string]any))
		}
		link, _ := rep.body["nextLink"].(string)
		next = strings.TrimPrefix(link, c.srv.Info.VaultURL)
	}
	return out
}

// versions returns the server's version items of a secret by version id.
func (c *cliEnv) versions(t *testing.T, name string) map[string]map[string]any {
	t.Helper()
	out := map[string]map[string]any{}
	for _, it := range c.list(t, "/secrets/"+name+"/versions") {
		out[cliVersionOf(it["id"].(string))] = it
	}
	return out
}

// cliIDs returns the "id" fields of items, sorted.
func cliIDs(items []map[string]any) []string {
	var out []string
	for _, it := range items {
		id, _ := it["id"].(string)
		out = append(out, id)
	}
	slices.Sort(out)
	return out
}

func cliVersionOf(id string) string { return id[strings.LastIndex(id, "/")+1:] }

// cliTags turns a decoded JSON object of strings (or null) into a map.
func cliTags(v any) map[string]string {
	out := map[string]string{}
	m, _ := v.(map[string]any)
	for k, x := range m {
		out[k] = fmt.Sprint(x)
	}
	return out
}

// cliAttr returns attributes[key] of a decoded secret.
func cliAttr(m map[string]any, key string) any {
	a, _ := m["attributes"].(map[string]any)
	return a[key]
}

// cliAzTime is how the CLI prints a Unix time, like az: 2025-01-02T03:04:05+00:00.
func cliAzTime(unix int64) string {
	return time.Unix(unix, 0).UTC().Format("2006-01-02T15:04:05+00:00")
}

// cliUnixOf returns a wire attribute time (Unix seconds) or 0 when absent.
func cliUnixOf(v any) int64 {
	f, _ := v.(float64)
	return int64(f)
}

// cliUnix parses an RFC 3339 time of a test table into Unix seconds.
func cliUnix(s string) int64 {
	tm, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return tm.Unix()
}

// checkSecretValue checks, with the tests' own request, that a version holds
// value.
func (c *cliEnv) checkSecretValue(t *testing.T, name, version, value string) {
	t.Helper()
	rep := c.get(t, "/secrets/"+name+"/"+version)
	if rep.status != 200 || rep.body["value"] != value {
		t.Errorf("server: secret %s/%s: %d %s, want value %q", name, version, rep.status, rep.text, value)
	}
}

func TestCLISecretSet(t *testing.T) {
	cliForEachTenant(t, func(t *testing.T, c *cliEnv) {
		cases := []struct {
			name        string
			args        []string // after `secret set -n NAME`; {file} is a file holding file
			file        string
			stdin       string
			wantValue   string
			wantType    string
			wantTags    map[string]string
			wantEnabled bool
			wantExp     int64 // Unix seconds; 0 means none
			wantNbf     int64
		}{
			{name: "value", args: []string{"--value", "plain-value"}, wantValue: "plain-value", wantEnabled: true},
			{name: "unicode and shell characters", args: []string{"--value", `pässwörd ✓ <&> "q" 'q' $HOME`},
				wantValue: `pässwörd ✓ <&> "q" 'q' $HOME`, wantEnabled: true},
			{name: "value that looks like a flag", args: []string{"--value", "--tags"}, wantValue: "--tags", wantEnabled: true},
			{name: "file", args: []string{"--file", "{file}"}, file: "line 1\nline 2\n",
				wantValue: "line 1\nline 2\n", wantTags: map[string]string{"file-encoding": "utf-8"}, wantEnabled: true},
			{name: "file from stdin", args: []string{"-f", "-"}, stdin: "from standard input",
				wantValue: "from standard input", wantTags: map[string]string{"file-encoding": "utf-8"}, wantEnabled: true},
			{name: "binary file as base64", args: []string{"--file", "{file}", "--encoding", "base64"}, file: "\x00\xff\x01",
				wantValue: "AP8B", wantTags: map[string]string{"file-encoding": "base64"}, wantEnabled: true},
			{name: "content type", args: []string{"--value", "pem-ish", "--content-type", "application/x-pem-file"},
				wantValue: "pem-ish", wantType: "application/x-pem-file", wantEnabled: true},
			{name: "tags", args: []string{"--value", "tagged", "--tags", "env=test", "team=pay ments"},
				wantValue: "tagged", wantTags: map[string]string{"env": "test", "team": "pay ments"}, wantEnabled: true},
			{name: "tags repeated, with = in a value and an empty value", args: []string{"--tags", "a=1", "--value", "v", "--tags", "url=x=y", "empty"},
				wantValue: "v", wantTags: map[string]string{"a": "1", "url": "x=y", "empty": ""}, wantEnabled: true},
			{name: "tags with stdin", args: []string{"--tags", "k=v", "--file", "-"}, stdin: "s",
				wantValue: "s", wantTags: map[string]string{"k": "v", "file-encoding": "utf-8"}, wantEnabled: true},
			{name: "expires and not-before", args: []string{"--value", "dated", "--expires", "2031-02-03T04:05:06Z", "--not-before", "2030-01-01"},
				wantValue: "dated", wantEnabled: true, wantExp: cliUnix("2031-02-03T04:05:06Z"), wantNbf: cliUnix("2030-01-01T00:00:00Z")},
			{name: "expires with a zone offset", args: []string{"--value", "zoned", "--expires", "2031-02-03T06:05:06+02:00"},
				wantValue: "zoned", wantEnabled: true, wantExp: cliUnix("2031-02-03T04:05:06Z")},
			{name: "expires without a zone is UTC", args: []string{"--value", "utc", "--expires", "2031-02-03T04:05"},
				wantValue: "utc", wantEnabled: true, wantExp: cliUnix("2031-02-03T04:05:00Z")},
			{name: "enabled false", args: []string{"--value", "off", "--enabled", "false"}, wantValue: "off", wantEnabled: false},
			{name: "disabled true (az's form)", args: []string{"--value", "off2", "--disabled", "true"}, wantValue: "off2", wantEnabled: false},
		}
		for i, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				name := fmt.Sprintf("set-%02d", i)
				path := filepath.Join(t.TempDir(), "value")
				if err := os.WriteFile(path, []byte(tc.file), 0o600); err != nil {
					t.Fatal(err)
				}
				args := []string{"secret", "set", "-n", name}
				for _, a := range tc.args {
					args = append(args, strings.ReplaceAll(a, "{file}", path))
				}
				res := c.call(t, cliCall{args: args, stdin: tc.stdin})
				if res.code != 0 {
					t.Fatalf("want exit 0:\n%s", res)
				}

				// What the CLI printed: az's shape of the new version.
				out := cliObject(t, res)
				id, _ := out["id"].(string)
				version := cliVersionOf(id)
				if id != c.srv.Info.VaultURL+"/secrets/"+name+"/"+version || len(version) != 32 {
					t.Errorf("id %q", id)
				}
				if out["name"] != name || out["value"] != tc.wantValue {
					t.Errorf("name %v value %q, want %s %q", out["name"], out["value"], name, tc.wantValue)
				}
				if ct, _ := out["contentType"].(string); ct != tc.wantType {
					t.Errorf("contentType %q, want %q", ct, tc.wantType)
				}
				if tags := cliTags(out["tags"]); !maps.Equal(tags, tc.wantTags) && len(tags)+len(tc.wantTags) > 0 {
					t.Errorf("tags %v, want %v", tags, tc.wantTags)
				}
				if cliAttr(out, "enabled") != tc.wantEnabled {
					t.Errorf("enabled %v, want %v", cliAttr(out, "enabled"), tc.wantEnabled)
				}
				for key, want := range map[string]int64{"expires": tc.wantExp, "notBefore": tc.wantNbf} {
					if got := cliAttr(out, key); (want == 0 && got != nil) || (want != 0 && got != cliAzTime(want)) {
						t.Errorf("%s %v, want %v", key, got, want)
					}
				}

				// What the server holds.
				vs := c.versions(t, name)
				item, ok := vs[version]
				if len(vs) != 1 || !ok {
					t.Fatalf("server: versions %v, want only %s", slices.Collect(maps.Keys(vs)), version)
				}
				if ct, _ := item["contentType"].(string); ct != tc.wantType {
					t.Errorf("server: contentType %q, want %q", ct, tc.wantType)
				}
				if tags := cliTags(item["tags"]); !maps.Equal(tags, tc.wantTags) && len(tags)+len(tc.wantTags) > 0 {
					t.Errorf("server: tags %v, want %v", tags, tc.wantTags)
				}
				if cliAttr(item, "enabled") != tc.wantEnabled || cliUnixOf(cliAttr(item, "exp")) != tc.wantExp || cliUnixOf(cliAttr(item, "nbf")) != tc.wantNbf {
					t.Errorf("server: attributes %v, want enabled %v exp %d nbf %d", item["attributes"], tc.wantEnabled, tc.wantExp, tc.wantNbf)
				}
				if tc.wantEnabled {
					c.checkSecretValue(t, name, version, tc.wantValue)
				} else if rep := c.get(t, "/secrets/"+name+"/"+version); rep.status != 403 || rep.code() != "Forbidden" {
					t.Errorf("server: get of a disabled version: %d %s", rep.status, rep.text)
				}
			})
		}
	})
}

func TestCLISecretShow(t *testing.T) {
	cliForEachTenant(t, func(t *testing.T, c *cliEnv) {
		first, second := c.newValue("first"), c.newValue("second")+"\nwith ✓ a second line\n"
		id1 := cliObject(t, c.ok(t, "secret", "set", "-n", "shown", "--value", first))["id"].(string)
		id2 := cliObject(t, c.call(t, cliCall{args: []string{"secret", "set", "-n", "shown", "--file", "-", "--content-type", "text/plain"},
			stdin: second}))["id"].(string)
		v1 := cliVersionOf(id1)

		cases := []struct {
			name      string
			args      []string
			wantID    string
			wantValue string
		}{
			{name: "latest", args: []string{"-n", "shown"}, wantID: id2, wantValue: second},
			{name: "--version", args: []string{"-n", "shown", "--version", v1}, wantID: id1, wantValue: first},
			{name: "-v", args: []string{"--name", "shown", "-v", v1}, wantID: id1, wantValue: first},
			{name: "--id with version", args: []string{"--id", id1}, wantID: id1, wantValue: first},
			{name: "--id without version is the latest", args: []string{"--id", c.srv.Info.VaultURL + "/secrets/shown"}, wantID: id2, wantValue: second},
			{name: "--vault-url", args: []string{"--vault-url", c.srv.Info.VaultURL, "-n", "shown"}, wantID: id2, wantValue: second},
			{name: "names are case-insensitive", args: []string{"-n", "SHOWN", "--version", v1}, wantID: id1, wantValue: first},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				out := cliObject(t, c.ok(t, append([]string{"secret", "show"}, tc.args...)...))
				if out["id"] != tc.wantID || out["value"] != tc.wantValue || out["name"] != "shown" {
					t.Errorf("got id %v value %q name %v, want %s %q", out["id"], out["value"], out["name"], tc.wantID, tc.wantValue)
				}
				if cliAttr(out, "enabled") != true || cliAttr(out, "created") == nil || cliAttr(out, "recoveryLevel") != "Recoverable+Purgeable" {
					t.Errorf("attributes %v", out["attributes"])
				}
				// --query value -o tsv prints the value and one newline, nothing else.
				tsv := c.ok(t, append([]string{"secret", "show", "--query", "value", "-o", "tsv"}, tc.args...)...)
				if tsv.stdout != tc.wantValue+"\n" {
					t.Errorf("--query value -o tsv printed %q, want %q", tsv.stdout, tc.wantValue+"\n")
				}
			})
		}

		t.Run("output formats", func(t *testing.T) {
			table := c.ok(t, "secret", "show", "-n", "shown", "--version", v1, "-o", "table")
			lines := strings.Split(strings.TrimSuffix(table.stdout, "\n"), "\n")
			if len(lines) != 3 || !slices.Equal(strings.Fields(lines[0]), []string{"Name", "Value"}) ||
				strings.Trim(lines[1], "- ") != "" || !slices.Equal(strings.Fields(lines[2]), []string{"shown", first}) {
				t.Errorf("-o table:\n%s", table.stdout)
			}
			if res := c.ok(t, "secret", "show", "-n", "shown", "-o", "none"); res.stdout != "" {
				t.Errorf("-o none printed %q", res.stdout)
			}
			if res := c.ok(t, "secret", "show", "-n", "shown", "-o", "jsonc"); !strings.Contains(res.stdout, "\x1b[") || !strings.Contains(res.stdout, "shown") {
				t.Errorf("-o jsonc is not coloured JSON:\n%s", res.stdout)
			}
			q := cliObject(t, c.ok(t, "secret", "show", "-n", "shown", "--version", v1, "--query", "{v: value, ct: contentType, on: attributes.enabled}"))
			if q["v"] != first || q["ct"] != nil || q["on"] != true || len(q) != 3 {
				t.Errorf("--query projection: %v", q)
			}
			// One row; fields in key order, null as None (as az prints them).
			tsv := c.ok(t, "secret", "show", "--id", id1, "--query", "{n: name, id: id, ct: contentType}", "-o", "tsv")
			if tsv.stdout != "None\t"+id1+"\tshown\n" {
				t.Errorf("-o tsv of a projection: %q", tsv.stdout)
			}
		})
	})
}

func TestCLISecretList(t *testing.T) {
	cliForEachTenant(t, func(t *testing.T, c *cliEnv) {
		c.ok(t, "secret", "set", "-n", "alpha", "--value", c.newValue("alpha"), "--content-type", "text/plain", "--tags", "a=1")
		c.ok(t, "secret", "set", "-n", "beta", "--value", c.newValue("beta1"), "--content-type", "text/x-first")
		c.ok(t, "secret", "set", "-n", "beta", "--value", c.newValue("beta2"))
		c.ok(t, "secret", "set", "-n", "gamma", "--value", c.newValue("gamma"), "--enabled", "false")
		c.ok(t, "secret", "set", "-n", "deleted", "--value", c.newValue("deleted"))
		c.ok(t, "secret", "delete", "-n", "deleted", "-o", "none")
		vaultURL := c.srv.Info.VaultURL

		t.Run("list -o json", func(t *testing.T) {
			items := cliArray(t, c.ok(t, "secret", "list", "-o", "json"))
			want := []string{vaultURL + "/secrets/alpha", vaultURL + "/secrets/beta", vaultURL + "/secrets/gamma"}
			if got := cliIDs(items); !slices.Equal(got, want) {
				t.Fatalf("ids %v, want %v", got, want)
			}
			if server := cliIDs(c.list(t, "/secrets")); !slices.Equal(server, want) {
				t.Errorf("server lists %v", server)
			}
			for _, it := range items {
				if _, ok := it["value"]; ok {
					t.Errorf("list shows a value: %v", it)
				}
				name := cliVersionOf(it["id"].(string))
				if it["name"] != name {
					t.Errorf("name %v for %s", it["name"], it["id"])
				}
				wantEnabled := name != "gamma"
				if cliAttr(it, "enabled") != wantEnabled {
					t.Errorf("%s: enabled %v, want %v", name, cliAttr(it, "enabled"), wantEnabled)
				}
				if name == "alpha" && (it["contentType"] != "text/plain" || !maps.Equal(cliTags(it["tags"]), map[string]string{"a": "1"})) {
					t.Errorf("alpha: %v", it)
				}
			}
		})

		t.Run("list -o table", func(t *testing.T) {
			want := "" +
				"ContentType    Name\n" +
				"-------------  ------\n" +
				"text/plain     alpha\n" +
				"               beta\n" +
				"               gamma\n"
			if got := c.ok(t, "secret", "list", "-o", "table").stdout; got != want {
				t.Errorf("-o table:\n%s\nwant:\n%s", got, want)
			}
		})

		t.Run("list -o tsv", func(t *testing.T) {
			lines := strings.Split(strings.TrimSuffix(c.ok(t, "secret", "list", "-o", "tsv").stdout, "\n"), "\n")
			if len(lines) != 3 {
				t.Fatalf("%d lines: %q", len(lines), lines)
			}
			for i, name := range []string{"alpha", "beta", "gamma"} {
				// Fields in key order: attributes, contentType, id, managed, name, tags.
				f := strings.Split(lines[i], "\t")
				if len(f) != 6 || f[2] != vaultURL+"/secrets/"+name || f[4] != name {
					t.Errorf("line %d: %q", i, lines[i])
				}
			}
			if got := c.ok(t, "secret", "list", "--query", "[].name", "-o", "tsv").stdout; got != "alpha\nbeta\ngamma\n" {
				t.Errorf("--query [].name -o tsv: %q", got)
			}
		})

		t.Run("list --maxresults", func(t *testing.T) {
			if n := len(cliArray(t, c.ok(t, "secret", "list", "--maxresults", "2"))); n != 2 {
				t.Errorf("%d items, want 2", n)
			}
		})

		t.Run("list-versions", func(t *testing.T) {
			items := cliArray(t, c.ok(t, "secret", "list-versions", "-n", "beta", "-o", "json"))
			want := cliIDs(c.list(t, "/secrets/beta/versions"))
			if got := cliIDs(items); len(got) != 2 || !slices.Equal(got, want) {
				t.Fatalf("ids %v, server has %v", got, want)
			}
			for _, it := range items {
				if _, ok := it["value"]; ok || it["name"] != "beta" {
					t.Errorf("version item %v", it)
				}
			}
			lines := strings.Split(strings.TrimSuffix(c.ok(t, "secret", "list-versions", "-n", "beta", "-o", "table").stdout, "\n"), "\n")
			// Columns come in order of first appearance, as in az (tabulate).
			if len(lines) != 4 || !slices.Equal(slices.Sorted(slices.Values(strings.Fields(lines[0]))), []string{"ContentType", "Name"}) ||
				strings.Trim(lines[1], "- ") != "" || strings.Count(lines[2]+lines[3], "beta") != 2 || strings.Count(lines[2]+lines[3], "text/x-first") != 1 {
				t.Errorf("-o table:\n%s", strings.Join(lines, "\n"))
			}
			tsv := strings.Split(strings.TrimSuffix(c.ok(t, "secret", "list-versions", "-n", "beta", "-o", "tsv").stdout, "\n"), "\n")
			var tsvIDs []string
			for _, l := range tsv {
				if f := strings.Split(l, "\t"); len(f) == 6 {
					tsvIDs = append(tsvIDs, f[2])
				}
			}
			slices.Sort(tsvIDs)
			if !slices.Equal(tsvIDs, want) {
				t.Errorf("-o tsv:\n%s", strings.Join(tsv, "\n"))
			}
			if n := len(cliArray(t, c.ok(t, "secret", "list-versions", "-n", "beta", "--maxresults", "1"))); n != 1 {
				t.Errorf("--maxresults 1: %d items", n)
			}
		})
	})
}

// list and list-versions follow nextLink; --maxresults stops early.
func TestCLISecretListPaging(t *testing.T) {
	c := startCLI(t, cliGUIDTenant)
	srv := c.server(t)
	for i := range 30 {
		for _, path := range []string{fmt.Sprintf("/secrets/page-%02d", i), "/secrets/versioned"} {
			if rep := srv.do("PUT", path+cliAPIVersion, `{"value":"x"}`, true); rep.status != 200 {
				t.Fatalf("PUT %s: %d %s", path, rep.status, rep.text)
			}
		}
	}
	cases := []struct {
		name string
		args []string // after `keyhaven secret`
		want int
	}{
		{name: "list", args: []string{"list"}, want: 31},
		{name: "list --maxresults", args: []string{"list", "--maxresults", "5"}, want: 5},
		{name: "list-versions", args: []string{"list-versions", "-n", "versioned"}, want: 30},
		{name: "list-versions --maxresults", args: []string{"list-versions", "-n", "versioned", "--maxresults", "25"}, want: 25},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			items := cliArray(t, c.ok(t, append([]string{"secret"}, tc.args...)...))
			got := cliIDs(items)
			if len(got) != tc.want || len(slices.Compact(got)) != tc.want {
				t.Errorf("%d items (%d distinct), want %d", len(items), len(slices.Compact(got)), tc.want)
			}
		})
	}
	if got, want := cliIDs(cliArray(t, c.ok(t, "secret", "list-versions", "-n", "versioned"))), cliIDs(c.list(t, "/secrets/versioned/versions")); !slices.Equal(got, want) {
		t.Errorf("list-versions differs from the server's versions")
	}
}

func TestCLISecretSetAttributes(t *testing.T) {
	cliForEachTenant(t, func(t *testing.T, c *cliEnv) {
		old, latest := c.newValue("old"), c.newValue("latest")
		id1 := cliObject(t, c.ok(t, "secret", "set", "-n", "attrs", "--value", old, "--tags", "k=v", "k2=v2", "--content-type", "text/old"))["id"].(string)
		id2 := cliObject(t, c.ok(t, "secret", "set", "-n", "attrs", "--value", latest, "--tags", "keep=me"))["id"].(string)
		v1, v2 := cliVersionOf(id1), cliVersionOf(id2)

		steps := []struct {
			name        string
			args        []string // after `secret set-attributes`
			version     string   // the version the step changes
			wantType    string
			wantTags    map[string]string
			wantEnabled bool
			wantExp     int64
		}{
			{name: "tags are replaced", args: []string{"-n", "attrs", "--version", v1, "--tags", "x=1"},
				version: v1, wantType: "text/old", wantTags: map[string]string{"x": "1"}, wantEnabled: true},
			{name: "content type and expiry", args: []string{"--id", id1, "--content-type", "text/new", "--expires", "2032-01-01T00:00:00Z"},
				version: v1, wantType: "text/new", wantTags: map[string]string{"x": "1"}, wantEnabled: true, wantExp: cliUnix("2032-01-01T00:00:00Z")},
			{name: "empty content type and tags clear them", args: []string{"-n", "attrs", "-v", v1, "--content-type", "", "--tags", ""},
				version: v1, wantEnabled: true, wantExp: cliUnix("2032-01-01T00:00:00Z")},
			{name: "disable the latest version", args: []string{"-n", "attrs", "--enabled", "false"},
				version: v2, wantTags: map[string]string{"keep": "me"}, wantEnabled: false},
		}
		for _, st := range steps {
			t.Run(st.name, func(t *testing.T) {
				out := cliObject(t, c.ok(t, append([]string{"secret", "set-attributes"}, st.args...)...))
				if _, ok := out["value"]; ok {
					t.Errorf("set-attributes printed a value: %v", out)
				}
				if cliVersionOf(out["id"].(string)) != st.version || cliAttr(out, "enabled") != st.wantEnabled {
					t.Errorf("output id %v enabled %v", out["id"], cliAttr(out, "enabled"))
				}
				item := c.versions(t, "attrs")[st.version]
				if ct, _ := item["contentType"].(string); ct != st.wantType {
					t.Errorf("server: contentType %q, want %q", ct, st.wantType)
				}
				if tags := cliTags(item["tags"]); !maps.Equal(tags, st.wantTags) && len(tags)+len(st.wantTags) > 0 {
					t.Errorf("server: tags %v, want %v", tags, st.wantTags)
				}
				if cliAttr(item, "enabled") != st.wantEnabled || cliUnixOf(cliAttr(item, "exp")) != st.wantExp {
					t.Errorf("server: attributes %v", item["attributes"])
				}
			})
		}

		t.Run("the other version is unchanged", func(t *testing.T) {
			item := c.versions(t, "attrs")[v2]
			if !maps.Equal(cliTags(item["tags"]), map[string]string{"keep": "me"}) || item["contentType"] != nil {
				t.Errorf("server: %v", item)
			}
		})

		t.Run("show of a disabled version fails", func(t *testing.T) {
			c.fails(t, 1, []string{"Forbidden", "disabled"}, "secret", "show", "-n", "attrs")
			c.fails(t, 1, []string{"Forbidden"}, "secret", "show", "-n", "attrs", "--query", "value", "-o", "tsv")
			if rep := c.get(t, "/secrets/attrs/"+v2); rep.status != 403 || rep.code() != "Forbidden" {
				t.Errorf("server: %d %s", rep.status, rep.text)
			}
			// The older version is still readable.
			if got := c.ok(t, "secret", "show", "-n", "attrs", "--version", v1, "--query", "value", "-o", "tsv").stdout; got != old+"\n" {
				t.Errorf("older version: %q", got)
			}
		})

		t.Run("enable again", func(t *testing.T) {
			c.ok(t, "secret", "set-attributes", "-n", "attrs", "--version", v2, "--enabled", "true", "-o", "none")
			if got := c.ok(t, "secret", "show", "-n", "attrs", "--query", "value", "-o", "tsv").stdout; got != latest+"\n" {
				t.Errorf("show after enabling: %q", got)
			}
			c.checkSecretValue(t, "attrs", v2, latest)
		})
	})
}

func TestCLISecretDeleteRecoverPurge(t *testing.T) {
	cliForEachTenant(t, func(t *testing.T, c *cliEnv) {
		v1, v2 := c.newValue("gone1"), c.newValue("gone2")
		c.ok(t, "secret", "set", "-n", "gone", "--value", v1, "--tags", "t=1")
		latestID := cliObject(t, c.ok(t, "secret", "set", "-n", "gone", "--value", v2))["id"].(string)
		before := cliIDs(c.list(t, "/secrets/gone/versions"))
		recoveryID := c.srv.Info.VaultURL + "/deletedsecrets/gone"

		t.Run("delete", func(t *testing.T) {
			out := cliObject(t, c.ok(t, "secret", "delete", "-n", "gone"))
			if out["recoveryId"] != recoveryID || out["id"] != latestID || out["name"] != "gone" {
				t.Errorf("delete printed %v", out)
			}
			if _, ok := out["value"]; ok {
				t.Errorf("delete printed the value: %v", out)
			}
			deleted, err1 := time.Parse(time.RFC3339, fmt.Sprint(out["deletedDate"]))
			purge, err2 := time.Parse(time.RFC3339, fmt.Sprint(out["scheduledPurgeDate"]))
			if err1 != nil || err2 != nil || purge.Sub(deleted) != 90*24*time.Hour || time.Since(deleted).Abs() > time.Hour {
				t.Errorf("deletedDate %v scheduledPurgeDate %v", out["deletedDate"], out["scheduledPurgeDate"])
			}
			if rep := c.get(t, "/secrets/gone"); rep.status != 404 || rep.code() != "SecretNotFound" {
				t.Errorf("server: get after delete: %d %s", rep.status, rep.text)
			}
			if rep := c.get(t, "/deletedsecrets/gone"); rep.status != 200 || rep.body["recoveryId"] != recoveryID {
				t.Errorf("server: deleted secret: %d %s", rep.status, rep.text)
			}
		})

		t.Run("show-deleted and list-deleted", func(t *testing.T) {
			for _, args := range [][]string{{"-n", "gone"}, {"--id", recoveryID}} {
				out := cliObject(t, c.ok(t, append([]string{"secret", "show-deleted"}, args...)...))
				if out["recoveryId"] != recoveryID || out["id"] != latestID || out["scheduledPurgeDate"] == nil {
					t.Errorf("show-deleted %v: %v", args, out)
				}
				if _, ok := out["value"]; ok {
					t.Errorf("show-deleted printed the value: %v", out)
				}
			}
			items := cliArray(t, c.ok(t, "secret", "list-deleted", "-o", "json"))
			if len(items) != 1 || items[0]["recoveryId"] != recoveryID || items[0]["name"] != "gone" {
				t.Errorf("list-deleted: %v", items)
			}
			lines := strings.Split(strings.TrimSuffix(c.ok(t, "secret", "list-deleted", "-o", "table").stdout, "\n"), "\n")
			if len(lines) != 3 || !slices.Equal(strings.Fields(lines[0]), []string{"DeletedDate", "Name", "RecoveryId", "ScheduledPurgeDate"}) ||
				!strings.Contains(lines[2], recoveryID) {
				t.Errorf("list-deleted -o table:\n%s", strings.Join(lines, "\n"))
			}
			if tsv := c.ok(t, "secret", "list-deleted", "-o", "tsv").stdout; strings.Count(tsv, "\n") != 1 || !strings.Contains(tsv, "\t"+recoveryID+"\t") {
				t.Errorf("list-deleted -o tsv: %q", tsv)
			}
			if items := cliArray(t, c.ok(t, "secret", "list")); len(items) != 0 {
				t.Errorf("list shows a deleted secret: %v", items)
			}
			c.fails(t, 1, []string{"SecretNotFound"}, "secret", "show", "-n", "gone")
			// The name stays reserved until the secret is recovered or purged.
			c.fails(t, 1, []string{"Conflict", "ObjectIsDeletedButRecoverable"}, "secret", "set", "-n", "gone", "--value", c.newValue("reuse"))
			if rep := c.get(t, "/secrets/gone"); rep.status != 404 {
				t.Errorf("server: set of a deleted name: %d %s", rep.status, rep.text)
			}
		})

		t.Run("recover", func(t *testing.T) {
			out := cliObject(t, c.ok(t, "secret", "recover", "-n", "gone"))
			if _, ok := out["value"]; ok || out["id"] != latestID {
				t.Errorf("recover printed %v", out)
			}
			if got := cliIDs(c.list(t, "/secrets/gone/versions")); !slices.Equal(got, before) {
				t.Errorf("server: versions after recover %v, want %v", got, before)
			}
			if rep := c.get(t, "/deletedsecrets/gone"); rep.status != 404 {
				t.Errorf("server: still deleted: %d %s", rep.status, rep.text)
			}
			if got := c.ok(t, "secret", "show", "-n", "gone", "--query", "value", "-o", "tsv").stdout; got != v2+"\n" {
				t.Errorf("show after recover: %q", got)
			}
			if items := cliArray(t, c.ok(t, "secret", "list-deleted")); len(items) != 0 {
				t.Errorf("list-deleted after recover: %v", items)
			}
		})

		t.Run("delete then purge", func(t *testing.T) {
			c.ok(t, "secret", "delete", "--id", latestID, "-o", "none")
			if res := c.ok(t, "secret", "purge", "-n", "gone"); res.stdout != "" {
				t.Errorf("purge printed %q", res.stdout)
			}
			c.fails(t, 1, []string{"SecretNotFound"}, "secret", "show-deleted", "-n", "gone")
			c.fails(t, 1, []string{"SecretNotFound"}, "secret", "recover", "-n", "gone")
			for _, path := range []string{"/deletedsecrets/gone", "/secrets/gone"} {
				if rep := c.get(t, path); rep.status != 404 {
					t.Errorf("server: %s after purge: %d %s", path, rep.status, rep.text)
				}
			}
			if items := cliArray(t, c.ok(t, "secret", "list-deleted")); len(items) != 0 {
				t.Errorf("list-deleted after purge: %v", items)
			}
			// The name is free again.
			c.ok(t, "secret", "set", "-n", "gone", "--value", c.newValue("again"), "-o", "none")
			if n := len(c.versions(t, "gone")); n != 1 {
				t.Errorf("server: %d versions of the new secret", n)
			}
		})
	})
}

func TestCLISecretBackupRestore(t *testing.T) {
	cliForEachTenant(t, func(t *testing.T, c *cliEnv) {
		values := []string{c.newValue("b1"), c.newValue("b2"), c.newValue("b3")}
		var versionIDs []string
		for i, v := range values {
			out := cliObject(t, c.ok(t, "secret", "set", "-n", "saved", "--value", v, "--tags", fmt.Sprintf("n=%d", i), "--content-type", "text/plain"))
			versionIDs = append(versionIDs, cliVersionOf(out["id"].(string)))
		}
		c.ok(t, "secret", "set-attributes", "-n", "saved", "--version", versionIDs[1], "--enabled", "false", "-o", "none")
		before := c.versions(t, "saved")
		file := filepath.Join(t.TempDir(), "saved.bak")

		t.Run("backup", func(t *testing.T) {
			if res := c.ok(t, "secret", "backup", "-n", "saved", "-f", file); res.stdout != "" {
				t.Errorf("backup printed %q", res.stdout)
			}
			fi, err := os.Stat(file)
			if err != nil {
				t.Fatal(err)
			}
			if fi.Mode().Perm() != 0o600 || fi.Size() == 0 {
				t.Errorf("backup file mode %v size %d, want 0600 and not empty", fi.Mode().Perm(), fi.Size())
			}
			blob, _ := os.ReadFile(file)
			for _, v := range values {
				if bytes.Contains(blob, []byte(v)) {
					t.Errorf("the backup file holds the value %q in plaintext", v)
				}
			}
		})

		t.Run("backup does not overwrite", func(t *testing.T) {
			orig, _ := os.ReadFile(file)
			c.fails(t, 1, []string{"already exists"}, "secret", "backup", "-n", "saved", "--file", file)
			if now, _ := os.ReadFile(file); !bytes.Equal(now, orig) {
				t.Error("backup changed the existing file")
			}
			other := filepath.Join(t.TempDir(), "other")
			if err := os.WriteFile(other, []byte("precious"), 0o644); err != nil {
				t.Fatal(err)
			}
			c.fails(t, 1, []string{"already exists"}, "secret", "backup", "-n", "saved", "-f", other)
			if now, _ := os.ReadFile(other); string(now) != "precious" {
				t.Errorf("backup overwrote an unrelated file: %q", now)
			}
		})

		t.Run("delete, purge, restore", func(t *testing.T) {
			c.ok(t, "secret", "delete", "-n", "saved", "-o", "none")
			c.ok(t, "secret", "purge", "-n", "saved")
			if rep := c.get(t, "/secrets/saved"); rep.status != 404 {
				t.Fatalf("server: secret still there: %d", rep.status)
			}
			out := cliObject(t, c.ok(t, "secret", "restore", "-f", file))
			if _, ok := out["value"]; ok || out["id"] != c.srv.Info.VaultURL+"/secrets/saved/"+versionIDs[2] {
				t.Errorf("restore printed %v", out)
			}
			after := c.versions(t, "saved")
			if got, want := slices.Sorted(maps.Keys(after)), slices.Sorted(maps.Keys(before)); !slices.Equal(got, want) {
				t.Fatalf("server: versions after restore %v, want %v", got, want)
			}
			for i, v := range versionIDs {
				b, a := before[v], after[v]
				if cliAttr(a, "enabled") != cliAttr(b, "enabled") || cliAttr(a, "created") != cliAttr(b, "created") ||
					!maps.Equal(cliTags(a["tags"]), cliTags(b["tags"])) || a["contentType"] != b["contentType"] {
					t.Errorf("server: version %s changed:\nbefore %v\nafter  %v", v, b, a)
				}
				if i != 1 {
					c.checkSecretValue(t, "saved", v, values[i])
				}
			}
			if got := c.ok(t, "secret", "show", "-n", "saved", "--query", "value", "-o", "tsv").stdout; got != values[2]+"\n" {
				t.Errorf("show after restore: %q", got)
			}
			items := cliArray(t, c.ok(t, "secret", "list-versions", "-n", "saved"))
			if got := cliIDs(items); len(got) != 3 || cliVersionOf(got[0]) == "" || !slices.Equal(got, cliIDs(c.list(t, "/secrets/saved/versions"))) {
				t.Errorf("list-versions after restore: %v", got)
			}
		})

		t.Run("restore errors", func(t *testing.T) {
			c.fails(t, 1, []string{"Conflict"}, "secret", "restore", "-f", file)
			dir := t.TempDir()
			empty, garbage := filepath.Join(dir, "empty"), filepath.Join(dir, "garbage")
			_ = os.WriteFile(empty, nil, 0o600)
			_ = os.WriteFile(garbage, []byte("not a backup"), 0o600)
			c.fails(t, 1, []string{"empty"}, "secret", "restore", "-f", empty)
			c.fails(t, 1, []string{"BadParameter"}, "secret", "restore", "-f", garbage)
			c.fails(t, 1, []string{"no such file"}, "secret", "restore", "-f", filepath.Join(dir, "missing"))
		})

		t.Run("failed backup leaves no file", func(t *testing.T) {
			missing := filepath.Join(t.TempDir(), "missing.bak")
			c.fails(t, 1, []string{"SecretNotFound"}, "secret", "backup", "-n", "nothing", "-f", missing)
			if _, err := os.Stat(missing); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("a failed backup left %s: %v", missing, err)
			}
		})
	})
}

func TestCLIVaultName(t *testing.T) {
	c := startCLI(t, cliGUIDTenant)
	value := c.newValue("by-name")
	port := c.srv.App.Port()

	t.Run("dev on the port of KEYHAVEN_VAULT_URL", func(t *testing.T) {
		out := cliObject(t, c.ok(t, "secret", "set", "--vault-name", "dev", "-n", "named", "--value", value))
		if !strings.HasPrefix(out["id"].(string), "https://dev.vault.localhost:"+port+"/secrets/named/") {
			t.Errorf("id %v", out["id"])
		}
		c.checkSecretValue(t, "named", cliVersionOf(out["id"].(string)), value)
	})

	cases := []struct {
		name string
		env  map[string]string
		args []string
	}{
		{name: "--vault-name wins over KEYHAVEN_VAULT_URL's vault",
			env:  map[string]string{"KEYHAVEN_VAULT_URL": "https://elsewhere.vault.localhost:" + port},
			args: []string{"--vault-name", "dev"}},
		{name: "KEYHAVEN_DNS_SUFFIX with a port",
			env:  map[string]string{"KEYHAVEN_VAULT_URL": "", "KEYHAVEN_DNS_SUFFIX": "vault.localhost:" + port},
			args: []string{"--vault-name", "dev"}},
		{name: "vault names are case-insensitive", args: []string{"--vault-name", "DEV"}},
		{name: "KEYHAVEN_VAULT_URL alone"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"secret", "show", "-n", "named", "--query", "value", "-o", "tsv"}, tc.args...)
			res := c.call(t, cliCall{args: args, env: tc.env})
			if res.code != 0 || res.stdout != value+"\n" {
				t.Errorf("want the value:\n%s", res)
			}
		})
	}

	backup := filepath.Join(c.dir, "named.bak")
	c.ok(t, "secret", "backup", "-n", "named", "-f", backup)
	unknown := []struct {
		name string
		args []string // after `keyhaven secret`; --vault-name nosuchvault is added
	}{
		{name: "show", args: []string{"show", "-n", "named"}},
		{name: "list", args: []string{"list"}},
		{name: "list-deleted", args: []string{"list-deleted"}},
		{name: "delete", args: []string{"delete", "-n", "named"}},
		{name: "backup", args: []string{"backup", "-n", "named", "-f", "unknown.bak"}},
		{name: "set", args: []string{"set", "-n", "named", "--value", value}},
		{name: "set-attributes", args: []string{"set-attributes", "-n", "named", "--enabled", "false"}},
		{name: "restore", args: []string{"restore", "-f", backup}},
	}
	for _, tc := range unknown {
		t.Run("unknown vault/"+tc.name, func(t *testing.T) {
			args := append(append([]string{"secret"}, tc.args...), "--vault-name", "nosuchvault")
			c.fails(t, 1, []string{"VaultNotFound", "nosuchvault"}, args...)
		})
	}
	if _, err := os.Stat(filepath.Join(c.dir, "unknown.bak")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a failed backup left its file: %v", err)
	}
	if rep := c.get(t, "/secrets/named"); rep.status != 200 || rep.body["value"] != value || cliAttr(rep.body, "enabled") != true {
		t.Errorf("server: named changed: %d %s", rep.status, rep.text)
	}
	if got := cliIDs(c.list(t, "/secrets")); len(got) != 1 {
		t.Errorf("server: secrets %v", got)
	}
}

// Usage errors exit with 2 before any request and change nothing.
func TestCLIUsageErrors(t *testing.T) {
	c := startCLI(t, cliGUIDTenant)
	keep := c.newValue("keep")
	keepID := cliObject(t, c.ok(t, "secret", "set", "-n", "keep", "--value", keep, "--tags", "a=b"))["id"].(string)
	newValue := c.newValue("new")
	file := filepath.Join(c.dir, "value.txt")
	if err := os.WriteFile(file, []byte(newValue), 0o600); err != nil {
		t.Fatal(err)
	}

	cases := []struct {
		name string
		args []string // after `keyhaven`
		want string   // in stderr
	}{
		{name: "set without --name", args: []string{"secret", "set", "--value", newValue}, want: "--name is required"},
		{name: "set with --value and --file", args: []string{"secret", "set", "-n", "keep", "--value", newValue, "--file", file}, want: "mutually exclusive"},
		{name: "set without a value", args: []string{"secret", "set", "-n", "keep"}, want: "one of --value or --file is required"},
		{name: "set with a tag without a name", args: []string{"secret", "set", "-n", "keep", "--value", newValue, "--tags", "=v"}, want: "invalid --tags"},
		{name: "set with a bad --expires", args: []string{"secret", "set", "-n", "keep", "--value", newValue, "--expires", "tomorrow"}, want: "--expires"},
		{name: "set with a bad --not-before", args: []string{"secret", "set", "-n", "keep", "--value", newValue, "--not-before", "2025-13-01"}, want: "--not-before"},
		{name: "set with a bad --enabled", args: []string{"secret", "set", "-n", "keep", "--value", newValue, "--enabled", "maybe"}, want: "--enabled"},
		{name: "set with --enabled and --disabled", args: []string{"secret", "set", "-n", "keep", "--value", newValue, "--enabled", "true", "--disabled", "true"}, want: "mutually exclusive"},
		{name: "set with --encoding without --file", args: []string{"secret", "set", "-n", "keep", "--value", newValue, "--encoding", "base64"}, want: "--encoding"},
		{name: "set with a bad --encoding", args: []string{"secret", "set", "-n", "keep", "--file", file, "--encoding", "rot13"}, want: "--encoding"},
		{name: "set with a bad name", args: []string{"secret", "set", "-n", "bad_name", "--value", newValue}, want: "invalid name"},
		{name: "set with an unquoted value", args: []string{"secret", "set", "-n", "keep", "--value", "two", newValue}, want: "unexpected argument"},
		{name: "set with an unknown flag", args: []string{"secret", "set", "-n", "keep", "--value", newValue, "--frobnicate"}, want: "unknown flag"},
		{name: "set with a bad --output", args: []string{"secret", "set", "-n", "keep", "--value", newValue, "-o", "yaml"}, want: "--output"},
		{name: "set with a bad --query", args: []string{"secret", "set", "-n", "keep", "--value", newValue, "--query", "["}, want: "--query"},
		{name: "set with --vault-name and --vault-url", args: []string{"secret", "set", "-n", "keep", "--value", newValue, "--vault-name", "dev", "--vault-url", c.srv.Info.VaultURL}, want: "mutually exclusive"},
		{name: "set with a bad --vault-name", args: []string{"secret", "set", "-n", "keep", "--value", newValue, "--vault-name", "a_b"}, want: "--vault-name"},
		{name: "set with a bad --vault-url", args: []string{"secret", "set", "-n", "keep", "--value", newValue, "--vault-url", "http://dev.vault.localhost"}, want: "--vault-url"},
		{name: "show without --name", args: []string{"secret", "show"}, want: "--name (or --id) is required"},
		{name: "show with --id and --name", args: []string{"secret", "show", "--id", keepID, "-n", "keep"}, want: "--id cannot be combined"},
		{name: "show with a bad --id", args: []string{"secret", "show", "--id", "not-a-url"}, want: "--id"},
		{name: "set-attributes with a tag without a name", args: []string{"secret", "set-attributes", "-n", "keep", "--tags", "=x"}, want: "invalid --tags"},
		{name: "set-attributes with a bad --expires", args: []string{"secret", "set-attributes", "-n", "keep", "--expires", "soon", "--enabled", "false"}, want: "--expires"},
		{name: "delete without --name", args: []string{"secret", "delete"}, want: "--name (or --id) is required"},
		{name: "purge without --name", args: []string{"secret", "purge"}, want: "--name (or --id) is required"},
		{name: "list with --maxresults 0", args: []string{"secret", "list", "--maxresults", "0"}, want: "--maxresults"},
		{name: "list-versions with --maxresults 26", args: []string{"secret", "list-versions", "-n", "keep", "--maxresults", "26"}, want: "--maxresults"},
		{name: "backup without --file", args: []string{"secret", "backup", "-n", "keep"}, want: "--file is required"},
		{name: "backup without --name", args: []string{"secret", "backup", "-f", "never.bak"}, want: "--name (or --id) is required"},
		{name: "restore without --file", args: []string{"secret", "restore"}, want: "--file is required"},
		{name: "unknown subcommand", args: []string{"secret", "frobnicate"}, want: "unknown command"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cliWantFailure(t, c.run(t, tc.args...), 2, tc.want)
			// The same command line without credentials fails the same way:
			// nothing was sent.
			noCreds := map[string]string{"AZURE_CLIENT_ID": "", "AZURE_CLIENT_SECRET": "", "AZURE_TENANT_ID": "", "AZURE_AUTHORITY_HOST": ""}
			cliWantFailure(t, c.call(t, cliCall{args: tc.args, env: noCreds}), 2, tc.want)
		})
	}

	vs := c.versions(t, "keep")
	if len(vs) != 1 || vs[cliVersionOf(keepID)] == nil {
		t.Errorf("server: versions of keep changed: %v", slices.Collect(maps.Keys(vs)))
	}
	c.checkSecretValue(t, "keep", cliVersionOf(keepID), keep)
	if tags := cliTags(vs[cliVersionOf(keepID)]["tags"]); !maps.Equal(tags, map[string]string{"a": "b"}) {
		t.Errorf("server: tags of keep changed: %v", tags)
	}
	if got := cliIDs(c.list(t, "/secrets")); len(got) != 1 {
		t.Errorf("server: secrets %v", got)
	}
	if _, err := os.Stat(filepath.Join(c.dir, "never.bak")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a usage error created a backup file: %v", err)
	}
}

// Failures the server reports exit with 1 and name Azure's error code; local
// failures (files) exit with 1 too. None of them changes the secret.
func TestCLIServerErrors(t *testing.T) {
	c := startCLI(t, cliGUIDTenant)
	keep := c.newValue("keep")
	c.ok(t, "secret", "set", "-n", "keep", "--value", keep)
	big := c.newValue(strings.Repeat("x", 26*1024))
	backup := filepath.Join(c.dir, "keep.bak")
	c.ok(t, "secret", "backup", "-n", "keep", "-f", backup)
	if err := os.WriteFile(filepath.Join(c.dir, "latin1.txt"), []byte("caf\xe9"), 0o600); err != nil {
		t.Fatal(err)
	}

	cases := []struct {
		name string
		args []string // after `keyhaven secret`
		want []string // in stderr
	}{
		{name: "show a missing secret", args: []string{"show", "-n", "nothing"}, want: []string{"SecretNotFound", "nothing"}},
		{name: "show a missing version", args: []string{"show", "-n", "keep", "--version", "0123456789abcdef0123456789abcdef"}, want: []string{"SecretNotFound"}},
		{name: "set-attributes of a missing secret", args: []string{"set-attributes", "-n", "nothing", "--enabled", "false"}, want: []string{"SecretNotFound"}},
		{name: "delete a missing secret", args: []string{"delete", "-n", "nothing"}, want: []string{"SecretNotFound"}},
		{name: "show-deleted of an active secret", args: []string{"show-deleted", "-n", "keep"}, want: []string{"SecretNotFound"}},
		{name: "recover an active secret", args: []string{"recover", "-n", "keep"}, want: []string{"SecretNotFound"}},
		{name: "purge an active secret", args: []string{"purge", "-n", "keep"}, want: []string{"SecretNotFound"}},
		{name: "backup a missing secret", args: []string{"backup", "-n", "nothing", "-f", "nothing.bak"}, want: []string{"SecretNotFound"}},
		{name: "restore over an existing secret", args: []string{"restore", "-f", backup}, want: []string{"Conflict"}},
		{name: "value too large", args: []string{"set", "-n", "keep", "--value", big}, want: []string{"BadParameter"}},
		{name: "expires before not-before", args: []string{"set", "-n", "keep", "--value", c.newValue("dates"), "--expires", "2030-01-01", "--not-before", "2031-01-01"}, want: []string{"BadParameter"}},
		{name: "too many tags", args: []string{"set", "-n", "keep", "--value", c.newValue("tags"), "--tags",
			"a=1", "b=1", "c=1", "d=1", "e=1", "f=1", "g=1", "h=1", "i=1", "j=1", "k=1", "l=1", "m=1", "n=1", "o=1", "p=1"}, want: []string{"BadParameter"}},
		// Local failures are operation failures too.
		{name: "set from a missing file", args: []string{"set", "-n", "keep", "--file", "missing.txt"}, want: []string{"missing.txt"}},
		{name: "set from a file that is not UTF-8", args: []string{"set", "-n", "keep", "--file", "latin1.txt"}, want: []string{"--encoding base64"}},
		{name: "backup into a missing directory", args: []string{"backup", "-n", "keep", "-f", "no/such/dir.bak"}, want: []string{"no/such/dir.bak"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c.fails(t, 1, tc.want, append([]string{"secret"}, tc.args...)...)
		})
	}

	vs := c.versions(t, "keep")
	if len(vs) != 1 {
		t.Errorf("server: failed commands changed keep: %d versions", len(vs))
	}
	for v := range vs {
		c.checkSecretValue(t, "keep", v, keep)
		if cliAttr(vs[v], "enabled") != true {
			t.Errorf("server: keep was disabled")
		}
	}
	if _, err := os.Stat(filepath.Join(c.dir, "nothing.bak")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a failed backup left its file: %v", err)
	}
}

// The credential comes from the environment only; problems with it are
// reported clearly and never show the client secret.
func TestCLICredentialEnvironment(t *testing.T) {
	c := startCLI(t, cliGUIDTenant)
	value := c.newValue("cred")
	wrongSecret := "wrong-client-secret-" + c.newValue("cs")

	cases := []struct {
		name string
		env  map[string]string
		code int
		want []string
	}{
		{name: "no AZURE_CLIENT_ID", env: map[string]string{"AZURE_CLIENT_ID": ""}, code: 1, want: []string{"AZURE_CLIENT_ID"}},
		{name: "no AZURE_CLIENT_SECRET", env: map[string]string{"AZURE_CLIENT_SECRET": ""}, code: 1, want: []string{"AZURE_CLIENT_SECRET"}},
		{name: "no AZURE_TENANT_ID", env: map[string]string{"AZURE_TENANT_ID": ""}, code: 1, want: []string{"AZURE_TENANT_ID"}},
		{name: "no AZURE_AUTHORITY_HOST", env: map[string]string{"AZURE_AUTHORITY_HOST": ""}, code: 1, want: []string{"AZURE_AUTHORITY_HOST"}},
		{name: "no credential at all", env: map[string]string{"AZURE_CLIENT_ID": "", "AZURE_CLIENT_SECRET": "", "AZURE_TENANT_ID": "", "AZURE_AUTHORITY_HOST": ""},
			code: 1, want: []string{"AZURE_CLIENT_ID", "AZURE_CLIENT_SECRET", "AZURE_TENANT_ID", "AZURE_AUTHORITY_HOST"}},
		{name: "http authority", env: map[string]string{"AZURE_AUTHORITY_HOST": "http://localhost:" + c.srv.App.Port()}, code: 1, want: []string{"AZURE_AUTHORITY_HOST", "https"}},
		{name: "wrong client secret", env: map[string]string{"AZURE_CLIENT_SECRET": wrongSecret}, code: 1,
			want: []string{"/" + c.srv.Info.TenantID + "/oauth2/v2.0/token", "invalid_client"}},
		{name: "wrong client secret, adfs", env: map[string]string{"AZURE_CLIENT_SECRET": wrongSecret, "AZURE_TENANT_ID": "adfs"}, code: 1,
			want: []string{"/adfs/oauth2/token", "invalid_client"}},
		{name: "unknown client", env: map[string]string{"AZURE_CLIENT_ID": "11111111-1111-1111-1111-111111111111"}, code: 1, want: []string{"invalid_client"}},
		{name: "unknown tenant", env: map[string]string{"AZURE_TENANT_ID": "00000000-0000-0000-0000-000000000000"}, code: 1, want: []string{"00000000-0000-0000-0000-000000000000"}},
		{name: "CA not trusted", env: map[string]string{"SSL_CERT_FILE": ""}, code: 1, want: []string{"certificate"}},
		{name: "no vault", env: map[string]string{"KEYHAVEN_VAULT_URL": ""}, code: 2, want: []string{"KEYHAVEN_VAULT_URL"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res := c.call(t, cliCall{args: []string{"secret", "set", "-n", "cred", "--value", value}, env: tc.env})
			cliWantFailure(t, res, tc.code, tc.want...)
		})
	}
	if got := cliIDs(c.list(t, "/secrets")); len(got) != 0 {
		t.Errorf("server: failed commands created %v", got)
	}
	if res := c.ok(t, "secret", "set", "-n", "cred", "--value", value, "-o", "none"); res.stdout != "" {
		t.Errorf("-o none printed %q", res.stdout)
	}
}

// No error message shows a secret value. (Every run also checks this for
// all values stored so far, and that no output shows the client secret.)
func TestCLINoSecretInErrors(t *testing.T) {
	c := startCLI(t, cliGUIDTenant)
	value := c.newValue("hunter2")
	c.ok(t, "secret", "set", "-n", "leak", "--value", value, "-o", "none")
	c.ok(t, "secret", "set", "-n", "off", "--value", c.newValue("off"), "--enabled", "false", "-o", "none")

	cases := []struct {
		name string
		args []string // after `keyhaven secret`
		code int
	}{
		{name: "set with a stray argument", args: []string{"set", "-n", "leak", "--value", "first", value}, code: 2},
		{name: "set with a bad flag", args: []string{"set", "-n", "leak", "--value", value, "--enabled", "perhaps"}, code: 2},
		{name: "set with exp before nbf", args: []string{"set", "-n", "leak", "--value", value, "--expires", "2020-01-01", "--not-before", "2021-01-01"}, code: 1},
		{name: "set with a bad name", args: []string{"set", "-n", "no such name", "--value", value}, code: 2},
		{name: "show of a disabled version", args: []string{"show", "-n", "off"}, code: 1},
		{name: "table output of a projection without columns", args: []string{"show", "-n", "leak", "--query", "{t: tags}", "-o", "table"}, code: 1},
		{name: "--query that fails on the value (show)", args: []string{"show", "-n", "leak", "--query", "abs(value)"}, code: 1},
		{name: "--query that fails on the value (set)", args: []string{"set", "-n", "leak", "--value", value, "--query", "abs(value)"}, code: 1},
		{name: "--query that fails on the whole secret", args: []string{"show", "-n", "leak", "--query", "abs(@)"}, code: 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			// c.run fails the test if stderr shows any stored value.
			res := c.run(t, append([]string{"secret"}, tc.args...)...)
			if res.code != tc.code {
				t.Errorf("want exit %d:\n%s", tc.code, res)
			}
		})
	}
}
