package config

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Reference returns a Markdown table of every setting (YAML path,
// environment variable, flag, type, default, description) followed by the
// rules shared by all of them. The README's configuration reference is this
// text.
func Reference() string {
	var b strings.Builder
	b.WriteString("| YAML path | Environment | Flag | Type | Default | Description |\n")
	b.WriteString("|---|---|---|---|---|---|\n")
	def, vault := Default(), newVault("")
	for _, s := range settings {
		p := s.ptr(&def)
		s.row(&b, p)
		if _, ok := p.(*[]VaultConfig); ok {
			for _, vs := range vaultSettings {
				vs.row(&b, vs.ptr(&vault))
			}
		}
	}
	b.WriteString(referenceNotes)
	return b.String()
}

const referenceNotes = `
Later sources win: defaults, then the YAML file named by ` + "`--config FILE`" + `, then the
environment, then flags given on the command line. An empty environment variable counts as unset.
Unknown keys in the file are errors. Durations use Go syntax (` + "`90s`, `15m`, `1h`" + `). Lists come
comma-separated from the environment; list flags take comma-separated values and may be repeated. A
list from a later source replaces the earlier one. Settings marked — in the Environment and Flag
columns can only be set in the file.
`

// row writes the table row of s, whose default value p points to.
func (s setting) row(b *strings.Builder, p any) {
	typ, def := describe(p)
	if s.enum != nil {
		typ = "one of " + code(strings.Join(s.enum, "`, `"))
	}
	env, flag := "—", "—"
	if s.env != "" {
		env, flag = code(s.env), code("--"+s.flag)
	}
	fmt.Fprintf(b, "| %s | %s | %s | %s | %s | %s |\n",
		code(s.path), env, flag, typ, def, strings.ReplaceAll(s.desc, "|", `\|`))
}

// describe names the type of the value p points to and formats it as a
// default.
func describe(p any) (typ, def string) {
	switch v := p.(type) {
	case *string:
		return "string", code(*v)
	case *time.Duration:
		return "duration", code(shortDuration(*v))
	case *[]string:
		return "list of strings", code(strings.Join(*v, ","))
	case *[]VaultConfig:
		return "list of vaults", "—"
	case *int:
		return "integer", code(strconv.Itoa(*v))
	case *bool:
		return "boolean", code(strconv.FormatBool(*v))
	}
	return fmt.Sprintf("%T", p), "—"
}

// code formats s as Markdown code; empty is a dash.
func code(s string) string {
	if s == "" {
		return "—"
	}
	return "`" + s + "`"
}

// shortDuration drops zero minutes and seconds: 1h, not 1h0m0s.
func shortDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}
