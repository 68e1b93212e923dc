package e2e

import (
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/keyhaven/keyhaven/internal/testenv"
)

// Password guessing spread over many addresses is slowed down per account:
// after guardFreeAccount failures from anywhere, the account refuses
// sign-ins from addresses it has not signed in from, even with the right
// password, while the address the person signed in from before still works.
// A guessed user code does not count against the account it names.
func TestPasswordGuessingFromManyAddresses(t *testing.T) {
	srv, clock := testenv.StartDevWithClock(t)
	admin := newRaw(t, srv).token
	const upn, password = "ada@example.com", "a long enough password"
	if code, u := mgmt(t, srv, admin, "POST", "/identity/users", `{"userPrincipalName":"`+upn+`","password":"`+password+`"}`); code != http.StatusCreated {
		t.Fatalf("user: %d %v", code, u)
	}
	signInDevice(t, srv, upn, password, "") // from 127.0.0.1: now familiar

	f := startDevice(t, srv)
	page := srv.Info.AuthorityHost + "/devicelogin"
	post := func(at *testenv.Server, userCode, pw string) int {
		t.Helper()
		resp, err := at.Client.PostForm(page, url.Values{"user_code": {userCode}, "username": {upn}, "password": {pw}})
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	// Guessed user codes name the account but check no password: twelve
	// from three addresses leave the account as it was.
	for _, ip := range []string{"127.0.0.6", "127.0.0.7", "127.0.0.8"} {
		at := from(t, srv, ip)
		for range 4 {
			if st := post(at, "BCDF-GHJK", password); st != http.StatusBadRequest {
				t.Fatalf("unknown user code from %s: %d", ip, st)
			}
		}
	}
	// 11 wrong passwords from three addresses, under each address's limit.
	n := 0
	for _, ip := range []string{"127.0.0.2", "127.0.0.3", "127.0.0.4"} {
		at := from(t, srv, ip)
		for range 4 {
			if n == 11 {
				break
			}
			if st := post(at, f.userCode, "wrong guess "+ip); st != http.StatusUnauthorized {
				t.Fatalf("guess %d from %s: %d", n+1, ip, st)
			}
			n++
		}
	}
	if st := post(from(t, srv, "127.0.0.5"), f.userCode, password); st != http.StatusTooManyRequests {
		t.Fatalf("a new address after guessing from many: %d", st)
	}
	if st := post(srv, f.userCode, password); st != http.StatusOK {
		t.Fatalf("the familiar address is locked out too: %d", st)
	}
	// The delay passes with time.
	clock.Advance(2 * time.Second)
	signInDevice(t, from(t, srv, "127.0.0.5"), upn, password, "")
}
