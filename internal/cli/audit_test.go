package cli

import (
	"crypto/ed25519"
	"crypto/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/keyhaven/keyhaven/internal/audit"
)

// writeAuditLog writes a signed log of three requests and returns the log
// and public key files.
func writeAuditLog(t *testing.T) (logFile, keyFile string) {
	t.Helper()
	dir := t.TempDir()
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	keyFile, logFile = filepath.Join(dir, "key.pub"), filepath.Join(dir, "audit.log")
	os.WriteFile(keyFile, audit.PublicKeyPEM(pub), 0o600)
	sink, err := audit.OpenFile(logFile, 0, audit.FsyncNever)
	if err != nil {
		t.Fatal(err)
	}
	l, err := audit.New(audit.Options{Key: priv}, sink)
	if err != nil {
		t.Fatal(err)
	}
	base := time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)
	for i, op := range []string{"SetSecret", "GetSecret", "DeleteSecret"} {
		status := []int{200, 403, 200}[i]
		l.Log(&audit.Record{Time: base.Add(time.Duration(i) * time.Hour), OperationName: op, Category: audit.CategoryAuditEvent,
			ResultType: audit.ResultType(status), ResultSignature: "x", CallerIPAddress: "10.0.0.1",
			Identity:   &audit.Identity{Claim: audit.Claims{AppID: "app-" + op}},
			Properties: audit.Properties{ID: "https://v/secrets/s" + op, RequestURI: "https://v/secrets/s", HTTPStatusCode: status}})
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	return logFile, keyFile
}

func TestAuditVerifyCommand(t *testing.T) {
	logFile, keyFile := writeAuditLog(t)
	code, out, _ := runCLI(t, "", "audit", "verify", "--key", keyFile, logFile)
	if code != 0 || !strings.Contains(out, "OK") || !strings.Contains(out, "records 3") {
		t.Fatalf("verify: exit %d\n%s", code, out)
	}
	data, _ := os.ReadFile(logFile)
	os.WriteFile(logFile, []byte(strings.Replace(string(data), `"httpStatusCode":403`, `"httpStatusCode":200`, 1)), 0o600)
	code, out, _ = runCLI(t, "", "audit", "verify", "--key", keyFile, logFile)
	if code != 1 || !strings.Contains(out, "PROBLEM") {
		t.Fatalf("tampered log: exit %d\n%s", code, out)
	}
	if code, _, errOut := runCLI(t, "", "audit", "verify", "--key", filepath.Join(t.TempDir(), "none"), logFile); code != 2 {
		t.Fatalf("missing key file: exit %d %s", code, errOut)
	}
}

func TestAuditQueryCommand(t *testing.T) {
	logFile, _ := writeAuditLog(t)
	tests := []struct {
		args []string
		want []string
	}{
		{[]string{"--operation", "getsecret"}, []string{"GetSecret"}},
		{[]string{"--result", "Failure"}, []string{"GetSecret"}},
		{[]string{"--result", "200"}, []string{"SetSecret", "DeleteSecret"}},
		{[]string{"--principal", "app-DeleteSecret"}, []string{"DeleteSecret"}},
		{[]string{"--since", "2026-05-01T10:30:00Z", "--until", "2026-05-01T11:30:00Z"}, []string{"GetSecret"}},
		{[]string{"--object", "/secrets/sSetSecret"}, []string{"SetSecret"}},
	}
	for _, tt := range tests {
		code, out, errOut := runCLI(t, "", append([]string{"audit", "query", logFile}, tt.args...)...)
		lines := strings.Split(strings.TrimSpace(out), "\n")
		if code != 0 || len(lines) != len(tt.want) {
			t.Fatalf("%v: exit %d, %d lines\n%s%s", tt.args, code, len(lines), out, errOut)
		}
		for i, op := range tt.want {
			if !strings.Contains(lines[i], `"operationName":"`+op+`"`) {
				t.Errorf("%v: line %d is not %s: %s", tt.args, i, op, lines[i])
			}
		}
	}
	code, out, _ := runCLI(t, "", "audit", "query", logFile, "-o", "table")
	if code != 0 || !strings.Contains(out, "OPERATION") || !strings.Contains(out, "app-GetSecret") {
		t.Fatalf("table: %d\n%s", code, out)
	}
	if code, _, _ := runCLI(t, "", "audit", "query", logFile, "--since", "yesterday"); code != 2 {
		t.Fatalf("bad --since: exit %d", code)
	}
}
