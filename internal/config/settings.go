package config

import (
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"
)

// A setting is one leaf of Config: a value with a YAML path and, derived
// from that path, an environment variable and a flag.
type setting struct {
	path   string   // YAML path: "storage.backend"
	env    string   // "KEYHAVEN_STORAGE_BACKEND"; empty for file-only settings
	flag   string   // "storage-backend", without dashes
	desc   string   // from the desc tag
	enum   []string // allowed values, from the enum tag
	secret bool     // from the secret tag
	index  []int    // field index from the root struct (reflect.Value.FieldByIndex)
}

// settings are Config's leaves in field order; vaultSettings are the fields
// of one vaults entry, which only the file can set one by one.
var (
	settings      = collect(reflect.TypeFor[Config](), "", nil)
	vaultSettings = fileOnly(collect(reflect.TypeFor[VaultConfig](), "vaults[].", nil))
)

// collect walks the fields of struct type t that have a YAML name, descending
// into nested structs.
func collect(t reflect.Type, prefix string, index []int) []setting {
	var out []setting
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if name == "" || name == "-" {
			continue
		}
		idx := append(slices.Clone(index), i)
		if f.Type.Kind() == reflect.Struct {
			out = append(out, collect(f.Type, prefix+name+".", idx)...)
			continue
		}
		out = append(out, newSetting(prefix+name, f.Tag, idx))
	}
	return out
}

// newSetting applies the naming rule: the words of the YAML path, joined by
// "_" and upper-cased after KEYHAVEN_ for the environment, joined by "-" for
// the flag (unless the flag tag names it).
func newSetting(path string, tag reflect.StructTag, index []int) setting {
	w := words(path)
	s := setting{
		path:   path,
		env:    "KEYHAVEN_" + strings.ToUpper(strings.Join(w, "_")),
		flag:   strings.Join(w, "-"),
		desc:   tag.Get("desc"),
		secret: tag.Get("secret") == "true",
		index:  index,
	}
	if f := tag.Get("flag"); f != "" {
		s.flag = f
	}
	if e := tag.Get("enum"); e != "" {
		s.enum = strings.Split(e, ",")
	}
	return s
}

func fileOnly(ss []setting) []setting {
	for i := range ss {
		ss[i].env, ss[i].flag = "", ""
	}
	return ss
}

// words splits a YAML path into lower-case words at dots and at each upper
// case letter that follows a lower-case one: "tls.extraSANs" is tls, extra,
// sans.
func words(path string) []string {
	var out []string
	for part := range strings.SplitSeq(path, ".") {
		start := 0
		for i := 1; i < len(part); i++ {
			if isUpper(part[i]) && !isUpper(part[i-1]) {
				out = append(out, strings.ToLower(part[start:i]))
				start = i
			}
		}
		out = append(out, strings.ToLower(part[start:]))
	}
	return out
}

func isUpper(b byte) bool { return 'A' <= b && b <= 'Z' }

// lookup returns the setting at path; for a path that is no setting (such as
// "vaults[2].name") it returns one that carries only the path.
func lookup(path string) setting {
	for _, s := range settings {
		if s.path == path {
			return s
		}
	}
	return setting{path: path}
}

// names is the " (ENV, --flag)" part of the setting's label.
func (s setting) names() string {
	if s.env == "" {
		return ""
	}
	return fmt.Sprintf(" (%s, --%s)", s.env, s.flag)
}

// label names the setting in messages: path (ENV, --flag).
func (s setting) label() string { return s.path + s.names() }

// ptr returns a pointer to the setting's field in root, a *Config (or a
// *VaultConfig for vaultSettings).
func (s setting) ptr(root any) any {
	return reflect.ValueOf(root).Elem().FieldByIndex(s.index).Addr().Interface()
}

// set parses raw, the text of an environment variable or flag, into c. Lists
// are comma-separated and replace the earlier list.
func (s setting) set(c *Config, raw string) error {
	switch p := s.ptr(c).(type) {
	case *string:
		*p = raw
	case *time.Duration:
		d, err := time.ParseDuration(raw)
		if err != nil {
			return fmt.Errorf("%s: %q is not a duration such as 90s or 1h", s.label(), raw)
		}
		*p = d
	case *[]string:
		*p = splitList(raw)
	case *int:
		n, err := strconv.Atoi(strings.TrimSpace(raw))
		if err != nil {
			return fmt.Errorf("%s: %q is not an integer", s.label(), raw)
		}
		*p = n
	case *bool:
		b, err := strconv.ParseBool(strings.TrimSpace(raw))
		if err != nil {
			return fmt.Errorf("%s: %q is not true or false", s.label(), raw)
		}
		*p = b
	case *[]VaultConfig:
		*p = nil
		for _, name := range splitList(raw) {
			*p = append(*p, newVault(name))
		}
	default:
		return fmt.Errorf("%s: cannot be set from text (%T)", s.label(), p)
	}
	return nil
}

// splitList splits a comma-separated list, dropping blanks around and
// between the items.
func splitList(raw string) []string {
	var out []string
	for item := range strings.SplitSeq(raw, ",") {
		if item = strings.TrimSpace(item); item != "" {
			out = append(out, item)
		}
	}
	return out
}
