package cli

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"
)

// multiValueFlags take every following argument up to the next one that
// starts with "-", like az's space-separated --tags.
var multiValueFlags = map[string]bool{"tags": true}

// parseSecretArgs parses args into cmd's flags after rewriting
// "--tags a=1 b=2" as "--tags=a=1 --tags=b=2". Subcommands that use it set
// DisableFlagParsing, because pflag alone cannot tell tag values from
// stray positional arguments. Positional arguments are refused.
func parseSecretArgs(cmd *cobra.Command, args []string) error {
	cmd.InheritedFlags() // merges inherited flags into cmd.Flags()
	fs := cmd.Flags()
	takesValue := func(name string, short bool) bool {
		f := fs.Lookup(name)
		if short {
			f = fs.ShorthandLookup(name)
		}
		return f != nil && f.NoOptDefVal == ""
	}
	if err := fs.Parse(expandMultiValue(args, takesValue)); err != nil {
		return usageError{err}
	}
	if rest := fs.Args(); len(rest) > 0 {
		// Not quoted back: it may be the tail of an unquoted secret value.
		return usageError{fmt.Errorf("%d unexpected argument(s); quote values that contain spaces", len(rest))}
	}
	return nil
}

// expandMultiValue rewrites the values of multi-value flags as repeated
// "--flag=value" arguments. A multi-value flag with no value becomes
// "--flag=" (az: an empty --tags clears the tags). takesValue says whether
// a flag consumes the next argument, so that "--value --tags" keeps
// "--tags" as the value.
func expandMultiValue(args []string, takesValue func(name string, short bool) bool) []string {
	var out []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--":
			return append(out, args[i:]...)
		case strings.HasPrefix(a, "--") && multiValueFlags[a[2:]]:
			n := 0
			for ; i+1 < len(args) && !strings.HasPrefix(args[i+1], "-"); i++ {
				out = append(out, a+"="+args[i+1])
				n++
			}
			if n == 0 {
				out = append(out, a+"=")
			}
		case strings.HasPrefix(a, "--") && !strings.Contains(a, "=") && takesValue(a[2:], false),
			len(a) == 2 && a[0] == '-' && a[1] != '-' && takesValue(a[1:], true):
			out = append(out, a)
			if i+1 < len(args) {
				i++
				out = append(out, args[i])
			}
		default:
			out = append(out, a)
		}
	}
	return out
}

// tagsValue collects --tags arguments ("k=v", az style).
type tagsValue struct {
	raw []string
}

func (t *tagsValue) String() string     { return strings.Join(t.raw, " ") }
func (t *tagsValue) Type() string       { return "k=v" }
func (t *tagsValue) Set(s string) error { t.raw = append(t.raw, s); return nil }

// tags returns the map the arguments describe. An empty argument adds
// nothing, so `--tags ""` yields an empty map (clear all tags); "k" alone
// means an empty value, as in az. A tag without a name is an error.
func (t *tagsValue) tags() (map[string]string, error) {
	m := map[string]string{}
	for _, r := range t.raw {
		if r == "" {
			continue
		}
		k, v, _ := strings.Cut(r, "=")
		if strings.TrimSpace(k) == "" {
			return nil, usageError{fmt.Errorf("invalid --tags value %q: want name=value", r)}
		}
		m[k] = v
	}
	return m, nil
}

// boolValue is an optional "true" or "false" (az's three-state flags).
type boolValue struct{ v *bool }

func (b *boolValue) Type() string { return "true|false" }
func (b *boolValue) String() string {
	if b.v == nil {
		return ""
	}
	return fmt.Sprint(*b.v)
}

func (b *boolValue) Set(s string) error {
	switch strings.ToLower(s) {
	case "true":
		b.v = new(bool)
		*b.v = true
	case "false":
		b.v = new(bool)
	default:
		return errors.New("must be true or false")
	}
	return nil
}

// timeValue is an optional UTC date-time flag.
type timeValue struct{ t *time.Time }

func (v *timeValue) Type() string { return "datetime" }
func (v *timeValue) String() string {
	if v.t == nil {
		return ""
	}
	return v.t.Format(time.RFC3339)
}

func (v *timeValue) Set(s string) error {
	t, err := parseDateTime(s)
	if err != nil {
		return err
	}
	v.t = &t
	return nil
}

// dateTimeLayouts are the ISO-8601 forms accepted besides RFC 3339; like
// az, times without a zone are UTC.
var dateTimeLayouts = []string{
	"2006-01-02T15:04:05.999999999", "2006-01-02T15:04:05Z", "2006-01-02T15:04:05",
	"2006-01-02T15:04Z", "2006-01-02T15:04", "2006-01-02T15Z", "2006-01-02",
}

func parseDateTime(s string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t.UTC(), nil
	}
	for _, layout := range dateTimeLayouts {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, errors.New("want an ISO-8601 date-time such as 2025-01-02T03:04:05Z")
}

// oneOf checks that v (case-insensitive) is one of allowed and returns it
// in lower case.
func oneOf(flag, v string, allowed ...string) (string, error) {
	l := strings.ToLower(v)
	if slices.Contains(allowed, l) {
		return l, nil
	}
	return "", usageError{fmt.Errorf("invalid %s %q: allowed values are %s", flag, v, strings.Join(allowed, ", "))}
}

// sortedKeys returns m's keys in order.
func sortedKeys[V any](m map[string]V) []string {
	return slices.Sorted(maps.Keys(m))
}
