package audit

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Filter selects request records; zero fields match everything.
type Filter struct {
	Since, Until time.Time // Since inclusive, Until exclusive
	Operation    string    // operation name, case-insensitive
	Principal    string    // caller object id or application id
	Object       string    // text the object URL contains
	Result       string    // Success, Failure or an HTTP status code
}

// Match reports whether r is a request record the filter selects.
func (f *Filter) Match(r *Record) bool {
	if r.Category != CategoryAuditEvent {
		return false
	}
	caller := Claims{}
	if r.Identity != nil {
		caller = r.Identity.Claim
	}
	switch {
	case !f.Since.IsZero() && r.Time.Before(f.Since),
		!f.Until.IsZero() && !r.Time.Before(f.Until),
		f.Operation != "" && !strings.EqualFold(f.Operation, r.OperationName),
		f.Principal != "" && !strings.EqualFold(f.Principal, caller.ObjectID) && !strings.EqualFold(f.Principal, caller.AppID),
		f.Object != "" && !strings.Contains(strings.ToLower(r.Properties.ID), strings.ToLower(f.Object)):
		return false
	}
	return f.Result == "" || strings.EqualFold(f.Result, r.ResultType) || f.Result == strconv.Itoa(r.Properties.HTTPStatusCode)
}

// LogFiles returns the files of the audit log at path, oldest first: the
// rotated ones ({path}.{UTC time}) and path itself.
func LogFiles(path string) ([]string, error) {
	rotated, err := filepath.Glob(path + ".*")
	if err != nil {
		return nil, err
	}
	sort.Strings(rotated) // the UTC time suffix sorts chronologically
	out := rotated
	if _, err := os.Stat(path); err == nil {
		out = append(out, path)
	}
	return out, nil
}

// Query calls fn with each record of files (in order) that f selects,
// with its line as written, until fn returns false.
func Query(files []string, f Filter, fn func(line []byte, r *Record) bool) error {
	for _, path := range files {
		more, err := queryFile(path, f, fn)
		if err != nil || !more {
			return err
		}
	}
	return nil
}

func queryFile(path string, f Filter, fn func([]byte, *Record) bool) (bool, error) {
	file, err := os.Open(path)
	if err != nil {
		return false, err
	}
	defer file.Close()
	sc := bufio.NewScanner(file)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	for sc.Scan() {
		var rec Record
		if json.Unmarshal(sc.Bytes(), &rec) != nil || !f.Match(&rec) {
			continue
		}
		if !fn(sc.Bytes(), &rec) {
			return false, nil
		}
	}
	return true, sc.Err()
}
