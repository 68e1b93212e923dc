package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// jsDir holds the JavaScript compatibility suite (package.json with pinned
// @azure/keyvault-secrets, @azure/keyvault-keys,
// @azure/keyvault-certificates and @azure/identity, its package-lock.json,
// the shared setup.mjs and the jsTestFiles), relative to this package.
const jsDir = "../../test/js"

// jsTestFiles are the suite's test files, run in one `node --test`.
var jsTestFiles = []string{"secrets.test.mjs", "keys.test.mjs", "certs.test.mjs"}

// TestJavaScriptSDK runs test/js/secrets.test.mjs, keys.test.mjs and
// certs.test.mjs, which drive a dev server with the official Azure SDK for
// JavaScript, under `node --test`. The server is the real binary started
// the way the README says: `keyhaven server --dev --dev-info FILE`.
func TestJavaScriptSDK(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the server binary and runs Node.js")
	}
	node, dir := jsToolchain(t)
	info, infoFile := startDevProcess(t)
	runNodeTests(t, node, dir, jsTestFiles,
		"NODE_EXTRA_CA_CERTS="+info.CAFile,
		"KEYHAVEN_DEV_INFO="+infoFile,
	)
}

// jsToolchain finds node and npm (skipping the test when either is missing
// or node is older than 20), installs the locked packages of jsDir and
// returns node's path and jsDir's absolute path.
func jsToolchain(t *testing.T) (node, dir string) {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node is not on PATH: the JavaScript SDK tests need Node.js >= 20 and npm")
	}
	npm, err := exec.LookPath("npm")
	if err != nil {
		t.Skip("npm is not on PATH: the JavaScript SDK tests need Node.js >= 20 and npm")
	}
	if major := nodeMajor(t, node); major < 20 {
		t.Skipf("node is version %d: the @azure/keyvault-* packages and @azure/identity need Node.js >= 20", major)
	}
	dir, err = filepath.Abs(jsDir)
	if err != nil {
		t.Fatal(err)
	}
	npmCI(t, npm, dir)
	return node, dir
}

// runNodeTests runs `node --test` over files in dir with nodeEnv plus env
// and fails the test, with node's output, unless every test passes.
func runNodeTests(t *testing.T, node, dir string, files []string, env ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	args := append([]string{"--test", "--test-reporter=spec"}, files...)
	cmd := exec.CommandContext(ctx, node, args...)
	cmd.Dir = dir
	cmd.Env = append(append(nodeEnv(), "NO_COLOR=1"), env...)
	cmd.WaitDelay = 5 * time.Second
	names := strings.Join(files, " ")
	start := time.Now()
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("node --test %s failed after %s: %v\n%s", names, time.Since(start).Round(time.Millisecond), err, out)
	}
	t.Logf("node --test %s passed in %s:\n%s", names, time.Since(start).Round(time.Millisecond), out)
}

// nodeMajor returns the major version of the node binary.
func nodeMajor(t *testing.T, node string) int {
	t.Helper()
	out, err := exec.Command(node, "--version").Output()
	if err != nil {
		t.Fatalf("node --version: %v", err)
	}
	v := strings.TrimPrefix(strings.TrimSpace(string(out)), "v")
	major, err := strconv.Atoi(strings.SplitN(v, ".", 2)[0])
	if err != nil {
		t.Fatalf("node --version printed %q", out)
	}
	return major
}

// npmCI installs the locked packages when node_modules is missing or older
// than package-lock.json.
func npmCI(t *testing.T, npm, dir string) {
	t.Helper()
	lock, err := os.Stat(filepath.Join(dir, "package-lock.json"))
	if err != nil {
		t.Fatal(err)
	}
	if installed, err := os.Stat(filepath.Join(dir, "node_modules", ".package-lock.json")); err == nil && !installed.ModTime().Before(lock.ModTime()) {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, npm, "ci", "--no-audit", "--no-fund")
	cmd.Dir = dir
	cmd.Env = nodeEnv()
	cmd.WaitDelay = 5 * time.Second
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("npm ci in %s: %v\n%s", dir, err, out)
	}
}

// nodeEnv is this process's environment without the variables that would
// change what the SDK does behind the test's back: Azure credentials and
// settings (the suite sets its own) and proxies (everything stays on
// loopback).
func nodeEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		switch u := strings.ToUpper(k); {
		case strings.HasPrefix(u, "AZURE_"), strings.HasPrefix(u, "KEYHAVEN_"), u == "TMPDIR",
			u == "HTTP_PROXY", u == "HTTPS_PROXY", u == "ALL_PROXY", u == "NO_PROXY",
			u == "NODE_EXTRA_CA_CERTS", u == "NODE_OPTIONS", u == "NODE_TLS_REJECT_UNAUTHORIZED":
			continue
		}
		env = append(env, kv)
	}
	return env
}

type devInfo struct {
	VaultURL      string `json:"vaultUrl"`
	CAFile        string `json:"caFile"`
	TenantID      string `json:"tenantId"`
	AuthorityHost string `json:"authorityHost"`
	ClientID      string `json:"clientId"`
	ClientSecret  string `json:"clientSecret"`
}

// startDevProcess runs `keyhaven server --dev --listen 127.0.0.1:0
// --dev-info FILE`, with nodeEnv plus env as its environment, and waits for
// a complete dev-info file. The server is stopped with SIGTERM (then
// SIGKILL) when the test ends.
func startDevProcess(t *testing.T, env ...string) (*devInfo, string) {
	t.Helper()
	infoFile := filepath.Join(t.TempDir(), "dev-info.json")
	var logs bytes.Buffer
	cmd := exec.Command(keyhavenBinary(t), "server", "--dev", "--listen", "127.0.0.1:0", "--dev-info", infoFile)
	// The dev server keeps its CA and certificate in a new directory under
	// $TMPDIR; point that at the test's own temporary directory so it goes
	// away with the test.
	cmd.Env = append(append(nodeEnv(), "TMPDIR="+t.TempDir()), env...)
	cmd.Stdout = &logs
	cmd.Stderr = &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
	})

	deadline := time.Now().Add(30 * time.Second)
	for {
		if raw, err := os.ReadFile(infoFile); err == nil {
			var info devInfo
			if json.Unmarshal(raw, &info) == nil && info.VaultURL != "" && info.CAFile != "" &&
				info.TenantID != "" && info.AuthorityHost != "" && info.ClientID != "" && info.ClientSecret != "" {
				return &info, infoFile
			}
		}
		select {
		case err := <-exited:
			t.Fatalf("keyhaven server --dev exited before writing %s: %v\n%s", infoFile, err, logs.String())
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("keyhaven server --dev wrote no complete %s in 30s:\n%s", infoFile, logs.String())
		}
	}
}
