package cli

import (
	"bytes"
	"flag"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The -update flag rewrites the golden files. It is registered only if no
// other test file of the package has registered one already.
func init() {
	if flag.Lookup("update") == nil {
		flag.Bool("update", false, "rewrite golden files under testdata/")
	}
}

func updateGolden() bool {
	f := flag.Lookup("update")
	return f != nil && f.Value.String() == "true"
}

// checkGolden compares got with testdata/name, or rewrites it with -update.
func checkGolden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if updateGolden() {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("output differs from %s (go test -update rewrites it)\ngot:\n%s\nwant:\n%s", path, got, want)
	}
}

// goldenVault serves two pages of secrets, one secret, its deletion and the
// deleted list, with fixed ids so the output does not depend on the port.
func goldenVault(t *testing.T) *fakeVault {
	v := useFakeVault(t)
	const vault = "https://myvault.vault.localhost"
	v.route("GET /secrets/db-pass/", 200, bundleBody)
	v.routes["GET /secrets"] = func(r *http.Request) (int, string) {
		if r.URL.Query().Get("$skiptoken") == "" {
			return 200, fmt.Sprintf(`{"value":[
			  {"id":"%[1]s/secrets/api-key","attributes":{"enabled":true,"created":1700000000,"updated":1700000000,"recoverableDays":90,"recoveryLevel":"Recoverable+Purgeable"},"tags":{"env":"dev"}},
			  {"id":"%[1]s/secrets/db-pass","contentType":"text/plain","attributes":{"enabled":false,"exp":1800000000,"created":1700000000,"updated":1700000100,"recoverableDays":90,"recoveryLevel":"Recoverable+Purgeable"},"tags":{"env":"dev","team":"core"}}],
			  "nextLink":"%[2]s/secrets?api-version=7.6&$skiptoken=2"}`, vault, v.srv.URL)
		}
		return 200, fmt.Sprintf(`{"value":[
		  {"id":"%s/secrets/tls-cert","contentType":"application/x-pkcs12","managed":true,"attributes":{"enabled":true,"nbf":1690000000,"exp":1790000000,"created":1690000000,"updated":1690000000,"recoverableDays":7,"recoveryLevel":"CustomizedRecoverable+Purgeable"}}],
		  "nextLink":null}`, vault)
	}
	deleted := fmt.Sprintf(`{"recoveryId":"%[1]s/deletedsecrets/old-token","deletedDate":1700500000,"scheduledPurgeDate":1708276000,
	  "id":"%[1]s/secrets/old-token/fedcba9876543210fedcba9876543210",
	  "attributes":{"enabled":true,"created":1690000000,"updated":1690000000,"recoverableDays":90,"recoveryLevel":"Recoverable+Purgeable"}}`, vault)
	v.route("DELETE /secrets/old-token", 200, deleted)
	v.route("GET /deletedsecrets", 200, `{"value":[`+deleted+`],"nextLink":null}`)
	return v
}

func TestSecretOutputGolden(t *testing.T) {
	tests := []struct {
		golden string
		args   []string
	}{
		{"show.json", []string{"show", "-n", "db-pass"}},
		{"show.jsonc", []string{"show", "-n", "db-pass", "-o", "jsonc"}},
		{"show.table", []string{"show", "-n", "db-pass", "-o", "table"}},
		{"show.tsv", []string{"show", "-n", "db-pass", "-o", "tsv"}},
		{"show_query_value.tsv", []string{"show", "-n", "db-pass", "--query", "value", "-o", "tsv"}},
		{"show_query_attributes.json", []string{"show", "-n", "db-pass", "--query", "attributes"}},
		{"list.json", []string{"list"}},
		{"list.table", []string{"list", "-o", "table"}},
		{"list.tsv", []string{"list", "-o", "tsv"}},
		{"list_maxresults.json", []string{"list", "--maxresults", "1", "--query", "[].id"}},
		{"list_query_names.tsv", []string{"list", "--query", "[].name", "-o", "tsv"}},
		{"list_query_names.table", []string{"list", "--query", "[].name", "-o", "table"}},
		{"list_query_projection.table", []string{"list", "-o", "table", "--query",
			"[?attributes.enabled].{name: name, days: attributes.recoverableDays, expires: attributes.expires}"}},
		{"list_query_filter.json", []string{"list", "--query", "[?tags.team=='core'].{name: name, created: attributes.created}"}},
		{"list_none", []string{"list", "-o", "none"}},
		{"delete.json", []string{"delete", "-n", "old-token"}},
		{"list_deleted.table", []string{"list-deleted", "-o", "table"}},
		{"list_deleted.tsv", []string{"list-deleted", "-o", "tsv"}},
	}
	for _, tt := range tests {
		t.Run(tt.golden, func(t *testing.T) {
			v := goldenVault(t)
			args := append([]string{"secret"}, tt.args...)
			args = append(args, "--vault-url", v.srv.URL)
			code, out, errOut := runCLI(t, "", args...)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, errOut)
			}
			checkGolden(t, tt.golden, out)
		})
	}
}

func TestWriteTableAndTSV(t *testing.T) {
	tests := []struct {
		name      string
		data      any
		wantTable string
		wantTSV   string
	}{
		{name: "scalar", data: "x", wantTable: "Result\n--------\nx\n", wantTSV: "x\n"},
		{name: "bool rows", data: []any{true, false},
			wantTable: "Result\n--------\nTrue\nFalse\n", wantTSV: "true\nfalse\n"},
		{name: "numbers right-aligned, nulls skipped, union of columns",
			data: []any{
				map[string]any{"n": 5.0, "name": "a", "skip": nil, "id": "x"},
				map[string]any{"n": 12345.0, "extra": "é", "name": "bb"},
			},
			wantTable: "    N  Name    Extra\n-----  ------  -------\n    5  a\n12345  bb      é\n",
			wantTSV:   "x\t5\ta\tNone\né\t12345\tbb\n"},
		{name: "lists become columns", data: []any{[]any{"a", 1.5}},
			wantTable: "Column1      Column2\n---------  ---------\na                1.5\n", wantTSV: "a\t1.5\n"},
		{name: "nested values in tsv", data: map[string]any{"a": []any{1.0, 2.0}, "b": map[string]any{"c": 1.0}, "d": true},
			wantTable: "D\n----\nTrue\n", wantTSV: "2\t\tTrue\n"},
		{name: "empty list", data: []any{}, wantTable: "\n", wantTSV: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var table, tsv bytes.Buffer
			if err := writeTable(&table, tt.data); err != nil {
				t.Fatal(err)
			}
			writeTSV(&tsv, tt.data)
			if table.String() != tt.wantTable {
				t.Errorf("table:\n%q\nwant\n%q", table.String(), tt.wantTable)
			}
			if tsv.String() != tt.wantTSV {
				t.Errorf("tsv: %q, want %q", tsv.String(), tt.wantTSV)
			}
		})
	}
	var b bytes.Buffer
	if err := writeTable(&b, []any{map[string]any{"tags": map[string]any{}}}); err == nil || !strings.Contains(err.Error(), "--query") {
		t.Errorf("table of objects without scalars: err = %v", err)
	}
}

func TestWriteJSONMatchesAz(t *testing.T) {
	data := map[string]any{"b": []any{}, "a": map[string]any{}, "c": "<&> ü", "d": []any{1.0, nil, true}, "e": 1700000000.0}
	var b bytes.Buffer
	writeJSON(&b, data, "", false)
	want := "{\n  \"a\": {},\n  \"b\": [],\n  \"c\": \"<&> ü\",\n  \"d\": [\n    1,\n    null,\n    true\n  ],\n  \"e\": 1700000000\n}"
	if b.String() != want {
		t.Errorf("got\n%s\nwant\n%s", b.String(), want)
	}
}
