package jsonx

import (
	"encoding/json"
	"testing"
	"time"
)

func marshal(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestStringMatchesEncodingJSON(t *testing.T) {
	for _, s := range []string{"", "plain", `q"b\s`, "<a href='x'>&amp;</a>", "\x00\x01\b\f\n\r\t\x1f\x7f",
		"é ü 😀", "\u2028\u2029", "bad \xff\xfe utf8 \xc3", "tail\xe2\x80"} {
		if got, want := string(String(nil, s)), marshal(t, s); got != want {
			t.Errorf("String(%q) = %s, want %s", s, got, want)
		}
	}
}

func TestStringMapMatchesEncodingJSON(t *testing.T) {
	for _, m := range []map[string]string{nil, {}, {"b": "2", "a": "1", "<&>": "\u2028"}} {
		if got, want := string(StringMap(nil, m)), marshal(t, m); got != want {
			t.Errorf("StringMap(%v) = %s, want %s", m, got, want)
		}
	}
	big := map[string]string{}
	for i := range 40 {
		big[string(rune('a'+i%26))+string(rune('A'+i))] = "v"
	}
	if got, want := string(StringMap(nil, big)), marshal(t, big); got != want {
		t.Errorf("StringMap of 40 = %s, want %s", got, want)
	}
}

func TestTimeMatchesEncodingJSON(t *testing.T) {
	for _, tm := range []time.Time{time.Unix(0, 0).UTC(), time.Date(2026, 11, 23, 16, 5, 4, 120000000, time.UTC),
		time.Date(2026, 1, 2, 3, 4, 5, 6, time.FixedZone("x", 5*3600+1800))} {
		if got, want := string(Time(nil, tm)), marshal(t, tm); got != want {
			t.Errorf("Time(%v) = %s, want %s", tm, got, want)
		}
	}
}

func FuzzString(f *testing.F) {
	for _, s := range []string{"", "a<b", "\xff", "\u2028", "\x00\n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		want, _ := json.Marshal(s)
		if got := String(nil, s); string(got) != string(want) {
			t.Fatalf("String(%q) = %s, want %s", s, got, want)
		}
	})
}
