package e2e

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/keyhaven/keyhaven/internal/testenv"
)

// The running server sends a response larger than net/http's 4 KiB write
// buffer (a list page of 25 secrets, about 6 KiB) in one write: the client's
// socket receives it as one TCP data segment (loopback carries up to 64 KiB
// in one), where two writes would arrive as two. Counted from the client's
// side with TCP_INFO, over HTTP/1.1 and TLS, as an SDK's connection is.
func TestLargeResponseLeavesInOneWrite(t *testing.T) {
	srv := testenv.StartDev(t)
	admin := newRaw(t, srv)
	for i := range 30 {
		body := `{"value":"v","contentType":"text/plain","tags":{"env":"prod","team":"payments"}}`
		if rep := admin.do("PUT", fmt.Sprintf("/secrets/page-%02d?api-version=7.6", i), body, true); rep.status != 200 {
			t.Fatalf("set: %d %s", rep.status, rep.text)
		}
	}

	base := srv.Client.Transport.(*http.Transport)
	tlsConf := base.TLSClientConfig.Clone()
	tlsConf.NextProtos = []string{"http/1.1"}
	var conn *net.TCPConn
	tr := &http.Transport{
		TLSClientConfig: tlsConf,
		TLSNextProto:    map[string]func(string, *tls.Conn) http.RoundTripper{},
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			c, err := base.DialContext(ctx, network, addr)
			if err == nil {
				conn = c.(*net.TCPConn)
			}
			return c, err
		},
	}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	dataSegsIn := func() uint32 {
		raw, err := conn.SyscallConn()
		if err != nil {
			t.Fatal(err)
		}
		var info *unix.TCPInfo
		var serr error
		if err := raw.Control(func(fd uintptr) { info, serr = unix.GetsockoptTCPInfo(int(fd), unix.IPPROTO_TCP, unix.TCP_INFO) }); err != nil || serr != nil {
			t.Fatal(err, serr)
		}
		return info.Data_segs_in
	}
	get := func(path string) int {
		req, _ := http.NewRequest(http.MethodGet, srv.Info.VaultURL+path, nil)
		req.Header.Set("Authorization", "Bearer "+admin.token)
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil || resp.StatusCode != 200 || resp.ProtoMajor != 1 {
			t.Fatalf("GET %s: HTTP/%d %d %v", path, resp.ProtoMajor, resp.StatusCode, err)
		}
		return len(body)
	}

	get("/secrets?api-version=7.6&maxresults=25") // connects; the handshake's segments are not counted
	for range 3 {
		before := dataSegsIn()
		n := get("/secrets?api-version=7.6&maxresults=25")
		if segs := dataSegsIn() - before; n < 5<<10 || segs != 1 {
			t.Fatalf("a %d-byte list page arrived in %d TCP data segments, want one", n, segs)
		}
	}
}
