package e2e

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

const passphrase = "correct horse battery staple"

// A server killed with SIGKILL in the middle of concurrent writes restarts
// with every acknowledged write intact.
func TestCrashKeepsAcknowledgedWrites(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the server binary")
	}
	dir := t.TempDir()
	p := startProcess(t, dir, "KEYHAVEN_SEAL_PASSPHRASE="+passphrase)
	p.login()

	type ack struct{ name, version, value string }
	var (
		mu    sync.Mutex
		acked []ack
		wg    sync.WaitGroup
	)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	for w := 0; w < 16; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; ctx.Err() == nil; i++ {
				name := fmt.Sprintf("w%d-s%d", w, i%5)
				value := fmt.Sprintf("value-%d-%d", w, i)
				status, body, err := p.request(ctx, "PUT", "/secrets/"+name+"?api-version=7.6", `{"value":"`+value+`"}`)
				if err != nil || status != 200 {
					return // the server is gone
				}
				id := body["id"].(string)
				mu.Lock()
				acked = append(acked, ack{name: name, version: id[strings.LastIndex(id, "/")+1:], value: value})
				mu.Unlock()
			}
		}(w)
	}
	// Kill once a good number of writes were acknowledged.
	deadline := time.Now().Add(20 * time.Second)
	for {
		mu.Lock()
		n := len(acked)
		mu.Unlock()
		if n >= 400 || time.Now().After(deadline) {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = p.cmd.Wait()
	cancel()
	wg.Wait()
	if len(acked) < 50 {
		t.Fatalf("only %d writes were acknowledged before the kill", len(acked))
	}

	q := startProcess(t, dir, "KEYHAVEN_SEAL_PASSPHRASE="+passphrase)
	q.login()
	for _, a := range acked {
		status, body, err := q.request(context.Background(), "GET", "/secrets/"+a.name+"/"+a.version+"?api-version=7.6", "")
		if err != nil || status != 200 || body["value"] != a.value {
			t.Fatalf("acknowledged write %s/%s lost after SIGKILL: %d %v %v", a.name, a.version, status, body, err)
		}
	}
	t.Logf("%d acknowledged writes survived SIGKILL", len(acked))
}

// Data written in one run is there in the next; the database file holds no
// plaintext; a server started without its seal secret stays sealed (503)
// until unsealed, and a wrong passphrase does not unseal it.
func TestRestartSealAndNoPlaintext(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the server binary")
	}
	dir := t.TempDir()
	p := startProcess(t, dir, "KEYHAVEN_SEAL_PASSPHRASE="+passphrase)
	p.login()
	marker := "plaintext-marker-7f3a9c"
	if st, _, err := p.request(context.Background(), "PUT", "/secrets/"+"persisted?api-version=7.6",
		`{"value":"`+marker+`","contentType":"`+marker+`-ct","tags":{"t":"`+marker+`-tag"}}`); err != nil || st != 200 {
		t.Fatalf("set: %d %v", st, err)
	}
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	_ = p.cmd.Wait()

	db, err := os.ReadFile(filepath.Join(dir, "keyhaven.db"))
	if err != nil {
		t.Fatal(err)
	}
	for _, needle := range []string{marker, p.creds.ClientSecret} {
		if bytes.Contains(db, []byte(needle)) {
			t.Fatalf("the database file contains plaintext %q", needle)
		}
	}

	// Restart without the passphrase: sealed.
	q := startProcess(t, dir)
	q.token = "not-needed-while-sealed"
	st, body, err := q.request(context.Background(), "GET", "/secrets/persisted?api-version=7.6", "")
	if err != nil || st != http.StatusServiceUnavailable || !strings.Contains(fmt.Sprint(body), "sealed") {
		t.Fatalf("sealed server answered %d %v %v", st, body, err)
	}
	unseal := func(pass string) int {
		resp, err := q.client.Post("https://localhost:"+q.port()+"/sys/unseal", "application/json",
			strings.NewReader(`{"passphrase":"`+pass+`"}`))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if st := unseal("wrong passphrase"); st != http.StatusBadRequest {
		t.Fatalf("wrong passphrase: %d", st)
	}
	if st := unseal(passphrase); st != http.StatusOK {
		t.Fatalf("unseal: %d", st)
	}
	q.login()
	st, body, err = q.request(context.Background(), "GET", "/secrets/persisted?api-version=7.6", "")
	if err != nil || st != 200 || body["value"] != marker {
		t.Fatalf("after restart: %d %v %v", st, body, err)
	}
}

// The key-file seal: the operator generates a key file, the server seals its
// root key with it, and unseals from it on every start.
func TestKeyFileSeal(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the server binary")
	}
	dir := t.TempDir()
	keyFile := filepath.Join(t.TempDir(), "seal.key")
	if out, err := exec.Command(keyhavenBinary(t), "operator", "generate-key-file", keyFile).CombinedOutput(); err != nil {
		t.Fatalf("generate-key-file: %v %s", err, out)
	}
	if st, err := os.Stat(keyFile); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v %v", st, err)
	}
	if out, err := exec.Command(keyhavenBinary(t), "operator", "generate-key-file", keyFile).CombinedOutput(); err == nil {
		t.Fatalf("generate-key-file overwrote an existing file: %s", out)
	}
	env := []string{"KEYHAVEN_SEAL_TYPE=keyfile", "KEYHAVEN_SEAL_KEY_FILE=" + keyFile}
	p := startProcess(t, dir, env...)
	p.login()
	if st, _, err := p.request(context.Background(), "PUT", "/secrets/k?api-version=7.6", `{"value":"sealed-by-file"}`); err != nil || st != 200 {
		t.Fatalf("set: %d %v", st, err)
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	_ = p.cmd.Wait()
	q := startProcess(t, dir, env...)
	q.login()
	if st, body, err := q.request(context.Background(), "GET", "/secrets/k?api-version=7.6", ""); err != nil || st != 200 || body["value"] != "sealed-by-file" {
		t.Fatalf("after restart: %d %v %v", st, body, err)
	}
}

// keyhaven operator unseal reads the passphrase from standard input.
func TestOperatorUnsealCLI(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the server binary")
	}
	dir := t.TempDir()
	p := startProcess(t, dir, "KEYHAVEN_SEAL_PASSPHRASE="+passphrase)
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	_ = p.cmd.Wait()
	q := startProcess(t, dir)
	operator := func(stdin string, args ...string) (string, error) {
		cmd := exec.Command(keyhavenBinary(t), append([]string{"operator"}, args...)...)
		cmd.Env = append(os.Environ(), "SSL_CERT_FILE="+filepath.Join(dir, "tls", "ca.pem"), "KEYHAVEN_ADDR=https://localhost:"+q.port())
		cmd.Stdin = strings.NewReader(stdin)
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	if out, err := operator("", "seal-status"); err != nil || !strings.Contains(out, "sealed: true") {
		t.Fatalf("seal-status: %v %s", err, out)
	}
	if out, err := operator("wrong\n", "unseal"); err == nil || !strings.Contains(out, "UnsealFailed") || strings.Contains(out, "wrong") {
		t.Fatalf("unseal with a wrong passphrase: %v %s", err, out)
	}
	if out, err := operator(passphrase+"\n", "unseal"); err != nil || strings.Contains(out, passphrase) {
		t.Fatalf("unseal: %v %s", err, out)
	}
	if out, err := operator("", "seal-status"); err != nil || !strings.Contains(out, "sealed: false") {
		t.Fatalf("seal-status after unseal: %v %s", err, out)
	}
}

// Vaults declared in the configuration file get their settings; purge
// protection can be turned on for an existing vault and then refuses purges.
func TestConfiguredPurgeProtection(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the server binary")
	}
	dir := t.TempDir()
	write := func(protect bool) string {
		f := filepath.Join(t.TempDir(), "keyhaven.yaml")
		yaml := fmt.Sprintf("vaults:\n  - name: prod\n    softDeleteRetentionDays: 7\n    purgeProtection: %t\n", protect)
		if err := os.WriteFile(f, []byte(yaml), 0o600); err != nil {
			t.Fatal(err)
		}
		return f
	}
	env := "KEYHAVEN_SEAL_PASSPHRASE=" + passphrase
	p := startProcessArgs(t, dir, []string{"--config", write(false)}, env)
	p.login()
	ctx := context.Background()
	for _, name := range []string{"a", "b"} {
		if st, _, err := p.request(ctx, "PUT", "/secrets/"+name+"?api-version=7.6", `{"value":"v"}`); err != nil || st != 200 {
			t.Fatalf("set: %d %v", st, err)
		}
		if st, body, err := p.request(ctx, "DELETE", "/secrets/"+name+"?api-version=7.6", ""); err != nil || st != 200 ||
			body["scheduledPurgeDate"].(float64)-body["deletedDate"].(float64) != 7*86400 {
			t.Fatalf("delete: %d %v %v", st, body, err)
		}
	}
	if st, _, err := p.request(ctx, "DELETE", "/deletedsecrets/a?api-version=7.6", ""); err != nil || st != 204 {
		t.Fatalf("purge without protection: %d %v", st, err)
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	_ = p.cmd.Wait()

	q := startProcessArgs(t, dir, []string{"--config", write(true)}, env)
	q.login()
	st, body, err := q.request(ctx, "DELETE", "/deletedsecrets/b?api-version=7.6", "")
	if err != nil || st != 403 {
		t.Fatalf("purge under purge protection: %d %v %v", st, body, err)
	}
	if st, body, _ := q.request(ctx, "GET", "/deletedsecrets/b?api-version=7.6", ""); st != 200 ||
		body["attributes"].(map[string]any)["recoveryLevel"] != "CustomizedRecoverable" {
		t.Fatalf("deleted secret after enabling protection: %d %v", st, body)
	}
}
