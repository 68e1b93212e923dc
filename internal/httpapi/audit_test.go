package httpapi

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"

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
