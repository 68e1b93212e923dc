package keys

import (
	"regexp"
	"strconv"
	"time"
)

// isoDuration is an ISO-8601 duration such as P90D, P1Y6M, P2W or PT36H.
type isoDuration struct {
	years, months, days int
	clock               time.Duration
}

var durationRE = regexp.MustCompile(`^P(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)W)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?$`)

// parseDuration parses an ISO-8601 duration; it must not be empty ("P").
func parseDuration(s string) (*isoDuration, bool) {
	m := durationRE.FindStringSubmatch(s)
	if m == nil || s == "P" || s[len(s)-1] == 'T' {
		return nil, false
	}
	n := make([]int, 8)
	for i := 1; i < 8; i++ {
		if m[i] != "" {
			v, err := strconv.Atoi(m[i])
			if err != nil || v > 100000 {
				return nil, false
			}
			n[i] = v
		}
	}
	return &isoDuration{years: n[1], months: n[2], days: 7*n[3] + n[4],
		clock: time.Duration(n[5])*time.Hour + time.Duration(n[6])*time.Minute + time.Duration(n[7])*time.Second}, true
}

// addTo returns t moved forward by d.
func (d *isoDuration) addTo(t time.Time) time.Time {
	return t.AddDate(d.years, d.months, d.days).Add(d.clock)
}

// subtractFrom returns t moved back by d.
func (d *isoDuration) subtractFrom(t time.Time) time.Time {
	return t.AddDate(-d.years, -d.months, -d.days).Add(-d.clock)
}

// atLeast reports whether d is at least days long (measured from the
// epoch, which is as good as any fixed reference for this check).
func (d *isoDuration) atLeast(days int) bool {
	ref := time.Unix(0, 0).UTC()
	return !d.addTo(ref).Before(ref.AddDate(0, 0, days))
}
