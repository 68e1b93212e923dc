package cli

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestExpandMultiValue(t *testing.T) {
	takesValue := func(name string, short bool) bool {
		if short {
			return name == "n" || name == "o"
		}
		return name != "help" && name != "debug"
	}
	tests := []struct {
		name string
		args []string
		want []string
	}{
		{name: "space separated tags", args: []string{"--tags", "a=1", "b=2", "-n", "x"},
			want: []string{"--tags=a=1", "--tags=b=2", "-n", "x"}},
		{name: "tags at the end", args: []string{"-n", "x", "--tags", "a=1", "b"},
			want: []string{"-n", "x", "--tags=a=1", "--tags=b"}},
		{name: "empty tags", args: []string{"--tags", "", "--value", "v"}, want: []string{"--tags=", "--value", "v"}},
		{name: "tags without values", args: []string{"--tags", "--value", "v"}, want: []string{"--tags=", "--value", "v"}},
		{name: "tags= form takes one value", args: []string{"--tags=a=1", "b=2"}, want: []string{"--tags=a=1", "b=2"}},
		{name: "a value that looks like --tags", args: []string{"--value", "--tags", "x"}, want: []string{"--value", "--tags", "x"}},
		{name: "shorthand value", args: []string{"-n", "--tags"}, want: []string{"-n", "--tags"}},
		{name: "bool flag does not consume", args: []string{"--debug", "--tags", "a"}, want: []string{"--debug", "--tags=a"}},
		{name: "double dash ends flags", args: []string{"--", "--tags", "a"}, want: []string{"--", "--tags", "a"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := expandMultiValue(tt.args, takesValue)
			if strings.Join(got, "|") != strings.Join(tt.want, "|") {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestTagsValue(t *testing.T) {
	tests := []struct {
		name    string
		raw     []string
		want    map[string]string
		wantErr bool
	}{
		{name: "pairs", raw: []string{"a=1", "b=x=y"}, want: map[string]string{"a": "1", "b": "x=y"}},
		{name: "name only means empty value", raw: []string{"a"}, want: map[string]string{"a": ""}},
		{name: "empty clears", raw: []string{""}, want: map[string]string{}},
		{name: "last wins", raw: []string{"a=1", "a=2"}, want: map[string]string{"a": "2"}},
		{name: "no name", raw: []string{"=1"}, wantErr: true},
		{name: "blank name", raw: []string{" =1"}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := (&tagsValue{raw: tt.raw}).tags()
			if tt.wantErr {
				var ue usageError
				if !errors.As(err, &ue) {
					t.Fatalf("err = %v, want a usage error", err)
				}
				return
			}
			if err != nil || len(got) != len(tt.want) {
				t.Fatalf("got %v, %v; want %v", got, err, tt.want)
			}
			for k, v := range tt.want {
				if got[k] != v {
					t.Errorf("got %v, want %v", got, tt.want)
				}
			}
		})
	}
}

func TestParseDateTime(t *testing.T) {
	tests := []struct {
		in      string
		want    string
		wantErr bool
	}{
		{in: "2025-01-02T03:04:05Z", want: "2025-01-02T03:04:05Z"},
		{in: "2025-01-02T03:04:05+02:00", want: "2025-01-02T01:04:05Z"},
		{in: "2025-01-02T03:04:05.5Z", want: "2025-01-02T03:04:05.5Z"},
		{in: "2025-01-02T03:04:05", want: "2025-01-02T03:04:05Z"},
		{in: "2025-01-02T03:04Z", want: "2025-01-02T03:04:00Z"},
		{in: "2025-01-02", want: "2025-01-02T00:00:00Z"},
		{in: "02/01/2025", wantErr: true},
		{in: "", wantErr: true},
	}
	for _, tt := range tests {
		got, err := parseDateTime(tt.in)
		if (err != nil) != tt.wantErr {
			t.Errorf("parseDateTime(%q) err = %v", tt.in, err)
			continue
		}
		if !tt.wantErr && got.Format(time.RFC3339Nano) != tt.want {
			t.Errorf("parseDateTime(%q) = %s, want %s", tt.in, got.Format(time.RFC3339Nano), tt.want)
		}
	}
}

func TestBackupAndRestoreFiles(t *testing.T) {
	v := useFakeVault(t)
	v.route("POST /secrets/a/backup", 200, `{"value":"AAEC_w"}`)
	v.route("POST /secrets/restore", 200, bundleBody)
	dir := t.TempDir()
	file := filepath.Join(dir, "a.backup")

	code, out, errOut := runCLI(t, "", "secret", "backup", "--vault-url", v.srv.URL, "-n", "a", "--file", file)
	if code != 0 || out != "" {
		t.Fatalf("backup: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	data, err := os.ReadFile(file)
	if err != nil || string(data) != "\x00\x01\x02\xff" {
		t.Fatalf("backup file %q, %v", data, err)
	}
	if fi, _ := os.Stat(file); fi.Mode().Perm() != 0o600 {
		t.Errorf("backup file mode %v, want 0600", fi.Mode().Perm())
	}

	n := len(v.requests())
	code, _, errOut = runCLI(t, "", "secret", "backup", "--vault-url", v.srv.URL, "-n", "a", "--file", file)
	if code != exitError || !strings.Contains(errOut, "already exists") || len(v.requests()) != n {
		t.Errorf("second backup: exit %d, stderr %q, %d new requests", code, errOut, len(v.requests())-n)
	}

	code, out, errOut = runCLI(t, "", "secret", "restore", "--vault-url", v.srv.URL, "--file", file, "--query", "name", "-o", "tsv")
	if code != 0 || out != "db-pass\n" {
		t.Fatalf("restore: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	reqs := v.requests()
	if last := reqs[len(reqs)-1]; last.Body != `{"value":"AAEC_w"}` {
		t.Errorf("restore body %q", last.Body)
	}

	missing := filepath.Join(dir, "missing")
	v.route("POST /secrets/b/backup", 404, `{"error":{"code":"SecretNotFound","message":"not found"}}`)
	code, _, _ = runCLI(t, "", "secret", "backup", "--vault-url", v.srv.URL, "-n", "b", "--file", missing)
	if _, err := os.Stat(missing); code != exitError || !errors.Is(err, os.ErrNotExist) {
		t.Errorf("failed backup: exit %d, file left behind: %v", code, err)
	}
}

func TestSetFromMissingFile(t *testing.T) {
	v := useFakeVault(t)
	code, _, errOut := runCLI(t, "", "secret", "set", "--vault-url", v.srv.URL, "-n", "a", "--file", filepath.Join(t.TempDir(), "nope"))
	if code != exitError || !strings.Contains(errOut, "no such file") || len(v.requests()) != 0 {
		t.Errorf("exit %d, stderr %q", code, errOut)
	}
	bad := filepath.Join(t.TempDir(), "bin")
	if err := os.WriteFile(bad, []byte{0xff, 0xfe}, 0o600); err != nil {
		t.Fatal(err)
	}
	code, _, errOut = runCLI(t, "", "secret", "set", "--vault-url", v.srv.URL, "-n", "a", "--file", bad)
	if code != exitError || !strings.Contains(errOut, "--encoding base64") {
		t.Errorf("exit %d, stderr %q", code, errOut)
	}
}
