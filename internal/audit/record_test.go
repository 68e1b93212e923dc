package audit

import (
	"encoding/json"
	"testing"
	"time"
)

func checkAppendJSON(t *testing.T, r *Record) {
	t.Helper()
	want, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	if got := r.AppendJSON(nil); string(got) != string(want) {
		t.Fatalf("AppendJSON:\n got %s\nwant %s", got, want)
	}
}

func TestRecordAppendJSONMatchesMarshal(t *testing.T) {
	checkAppendJSON(t, &Record{})
	checkAppendJSON(t, &Record{Time: time.Date(2026, 11, 23, 1, 2, 3, 4000, time.UTC), ResourceID: "/vaults/dev",
		OperationName: "SecretGet", OperationVersion: "7.6", Category: CategoryAuditEvent, ResultType: "Failure",
		ResultSignature: "Forbidden", ResultDescription: "ForbiddenByRbac", DurationMs: 12, CallerIPAddress: "::1",
		CorrelationID: "c<&>", Identity: &Identity{Claim: Claims{ObjectID: "o", AppID: "a", TenantID: "t", Name: "n\u2028"}},
		Properties: Properties{ID: "https://x/secrets/a", RequestURI: "https://x/secrets/a?api-version=7.6",
			HTTPStatusCode: 403, ClientInfo: "azsdk-go \"q\"", RequestID: "r", ErrorCode: "ForbiddenByRbac"}})
	checkAppendJSON(t, &Record{Identity: &Identity{}})
}

func FuzzRecordAppendJSON(f *testing.F) {
	f.Add("SecretGet", "/vaults/dev", "127.0.0.1", "ua", "https://h/secrets/x?a=b", "oid", int64(3), 200)
	f.Fuzz(func(t *testing.T, op, res, ip, ua, uri, oid string, ms int64, status int) {
		r := &Record{Time: time.Unix(ms, ms*7).UTC(), OperationName: op, ResourceID: res, CallerIPAddress: ip,
			DurationMs: ms, Properties: Properties{RequestURI: uri, ClientInfo: ua, HTTPStatusCode: status}}
		if oid != "" {
			r.Identity = &Identity{Claim: Claims{ObjectID: oid, Name: ua}}
		}
		if r.Time.Year() > 9999 {
			return
		}
		checkAppendJSON(t, r)
	})
}
