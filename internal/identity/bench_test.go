package identity

import (
	"testing"
)

// BenchmarkValidateCached is the per-request token check once a token's
// signature has been verified (the cache hit path).
func BenchmarkValidateCached(b *testing.B) {
	s, _ := newService(b)
	tok, _ := issueB(b, s)
	if _, err := s.Validate(tok, anyIssuer, ourAud); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Validate(tok, anyIssuer, ourAud); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkValidateUncached verifies the RS256 signature every time.
func BenchmarkValidateUncached(b *testing.B) {
	s, _ := newService(b)
	tok, _ := issueB(b, s)
	b.ReportAllocs()
	for b.Loop() {
		s.cache = newTokenCache[*Claims](8192)
		if _, err := s.Validate(tok, anyIssuer, ourAud); err != nil {
			b.Fatal(err)
		}
	}
}

func issueB(b *testing.B, s *Service) (string, *App) {
	b.Helper()
	app, _, err := s.CreateApp(b.Context(), "bench", 3600e9)
	if err != nil {
		b.Fatal(err)
	}
	tok, err := s.Issue(app, "https://localhost/"+s.TenantID()+"/v2.0", aud, "2.0")
	if err != nil {
		b.Fatal(err)
	}
	return tok.AccessToken, app
}
