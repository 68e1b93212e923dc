package httpapi

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/keyhaven/keyhaven/internal/audit"
)

type fakeAuditor struct {
	logErr, state error
	records       []*audit.Record
}

func (f *fakeAuditor) Log(r *audit.Record) error { f.records = append(f.records, r); return f.logErr }
func (f *fakeAuditor) Err() error                { return f.state }

type fakeSeal struct{ unseals int }

func (f *fakeSeal) Sealed() bool { return true }
func (f *fakeSeal) Unseal(context.Context, []byte) error {
	f.unseals++
	return nil
}
func (f *fakeSeal) SealType() string { return "passphrase" }

func failClosedServer(a *fakeAuditor, seal *fakeSeal) *Server {
	return New(Deps{Audit: a, AuditFailClosed: true, Seal: seal, DNSSuffix: "vault.localhost",
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
}

func serve(s *Server, method, path, body string) *httptest.ResponseRecorder {
	w := httptest.NewRecorder()
	s.ServeHTTP(w, httptest.NewRequest(method, "https://localhost:8443"+path, strings.NewReader(body)))
	return w
}

func TestFailClosedHoldsTheResponseUntilItsRecordIsWritten(t *testing.T) {
	a := &fakeAuditor{}
	s := failClosedServer(a, &fakeSeal{})
	if w := serve(s, "GET", "/healthz", ""); w.Code != 200 || len(a.records) != 1 || a.records[0].OperationName != "Health" ||
		a.records[0].Properties.HTTPStatusCode != 200 {
		t.Fatalf("audited request: %d, records %+v", w.Code, a.records)
	}
	a.logErr = errors.New("disk full")
	w := serve(s, "GET", "/healthz", "")
	if w.Code != 503 || !strings.Contains(w.Body.String(), "ServiceUnavailable") || strings.Contains(w.Body.String(), `"ok"`) {
		t.Fatalf("a response whose record failed was sent: %d %s", w.Code, w.Body)
	}
}

func TestFailClosedRefusesWhileTheLogFails(t *testing.T) {
	a := &fakeAuditor{state: errors.New("disk full")}
	seal := &fakeSeal{}
	s := failClosedServer(a, seal)
	w := serve(s, "POST", "/sys/unseal", `{"passphrase":"p"}`)
	if w.Code != 503 || seal.unseals != 0 {
		t.Fatalf("served while the audit log fails: %d, unseal ran %d times", w.Code, seal.unseals)
	}
	if len(a.records) != 1 || a.records[0].Properties.HTTPStatusCode != 503 || a.records[0].ResultType != "Failure" {
		t.Fatalf("the refusal itself is not recorded: %+v", a.records)
	}
}

// A held response replaced by the 503 of a failed audit record goes out
// whole, with its own length, whatever length the held one declared: over a
// real connection, a stale Content-Length would cut the body or the
// connection.
func TestFailClosedErrorReplacesTheHeldLength(t *testing.T) {
	a := &fakeAuditor{logErr: errors.New("disk full")}
	s := failClosedServer(a, &fakeSeal{})
	big := []byte(`{"value":"` + strings.Repeat("x", 3000) + `"}`)
	for name, handle := range map[string]func(c *call){
		"large body": func(c *call) { c.send(http.StatusOK, big) },
		"declared empty": func(c *call) {
			c.w.Header()["Content-Length"] = []string{"0"}
			c.w.WriteHeader(http.StatusAccepted)
		},
	} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			rec := &recorder{ResponseWriter: w, status: http.StatusOK, hold: true}
			c := newCall(rec, r)
			s.audited(c, rec, time.Now(), func() error { handle(c); return nil })
		}))
		resp, err := http.Get(srv.URL)
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		srv.Close()
		if err != nil || resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(string(body), "ServiceUnavailable") ||
			resp.ContentLength != int64(len(body)) || strings.Contains(string(body), "xxx") {
			t.Fatalf("%s: %d, length %d, body %q, %v", name, resp.StatusCode, resp.ContentLength, body, err)
		}
	}
}
