package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/keyhaven/keyhaven/internal/testenv"
)

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// keyhavenBinary builds cmd/keyhaven once per test run.
func keyhavenBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "keyhaven-bin-")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "keyhaven")
		cmd := exec.Command(filepath.Join(runtime.GOROOT(), "bin", "go"), "build", "-o", binPath, "../../cmd/keyhaven")
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

// process is a keyhaven server running as its own OS process.
type process struct {
	t       *testing.T
	cmd     *exec.Cmd
	addr    string
	dataDir string
	client  *http.Client
	creds   struct{ TenantID, ClientID, ClientSecret string }
	token   string
	stderr  *strings.Builder
	logMu   sync.Mutex // guards stderr
}

// startProcess runs `keyhaven server` in production mode on dataDir with
// one vault, "prod".
func startProcess(t *testing.T, dataDir string, extraEnv ...string) *process {
	t.Helper()
	return startProcessArgs(t, dataDir, []string{"--vault", "prod"}, extraEnv...)
}

// startProcessArgs runs `keyhaven server` with extra arguments.
func startProcessArgs(t *testing.T, dataDir string, args []string, extraEnv ...string) *process {
	t.Helper()
	p := &process{t: t, dataDir: dataDir, stderr: &strings.Builder{}}
	args = append([]string{"server", "--data-dir", dataDir, "--listen", "127.0.0.1:0", "--log-format", "json"}, args...)
	p.cmd = exec.Command(keyhavenBinary(t), args...)
	p.cmd.Env = append(os.Environ(), extraEnv...)
	stderr, err := p.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.cmd.Process.Kill(); _ = p.cmd.Wait() })
	addrc := make(chan string, 1)
	go p.readLog(stderr, addrc)
	select {
	case p.addr = <-addrc:
	case <-time.After(30 * time.Second):
		t.Fatalf("server did not start:\n%s", p.logText())
	}
	p.client = testenv.NewClient(t, filepath.Join(dataDir, "tls", "ca.pem"), p.addr)
	raw, err := os.ReadFile(filepath.Join(dataDir, "bootstrap-credentials.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &p.creds); err != nil {
		t.Fatal(err)
	}
	return p
}

func (p *process) readLog(r io.Reader, addrc chan<- string) {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		line := sc.Text()
		p.logMu.Lock()
		p.stderr.WriteString(line + "\n")
		p.logMu.Unlock()
		var rec struct{ Msg, Addr string }
		if json.Unmarshal([]byte(line), &rec) == nil && rec.Msg == "keyhaven is listening" {
			addrc <- rec.Addr
		}
	}
}

// logText is what the server logged so far.
func (p *process) logText() string {
	p.logMu.Lock()
	defer p.logMu.Unlock()
	return p.stderr.String()
}

func (p *process) port() string { return p.addr[strings.LastIndex(p.addr, ":")+1:] }

func (p *process) vaultURL() string { return "https://prod.vault.localhost:" + p.port() }

// login gets a token with the bootstrap administrator's credentials.
func (p *process) login() {
	p.t.Helper()
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {p.creds.ClientID},
		"client_secret": {p.creds.ClientSecret}, "scope": {"https://vault.localhost/.default"}}
	resp, err := p.client.PostForm("https://localhost:"+p.port()+"/"+p.creds.TenantID+"/oauth2/v2.0/token", form)
	if err != nil {
		p.t.Fatal(err)
	}
	defer resp.Body.Close()
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&tok); err != nil || tok.AccessToken == "" {
		p.t.Fatalf("token: %s %v", resp.Status, err)
	}
	p.token = tok.AccessToken
}

func (p *process) request(ctx context.Context, method, path, body string) (int, map[string]any, error) {
	req, err := http.NewRequestWithContext(ctx, method, p.vaultURL()+path, strings.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Authorization", "Bearer "+p.token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := p.client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	var m map[string]any
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, nil, err
	}
	_ = json.Unmarshal(b, &m)
	return resp.StatusCode, m, nil
}
