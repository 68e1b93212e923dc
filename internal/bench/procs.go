package bench

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// clockTicks is Linux's USER_HZ, the unit of /proc/PID/stat CPU times.
const clockTicks = 100

// procCPU returns the user+system CPU time a process has used so far, from
// /proc/PID/stat. It is stable on a noisy machine, unlike wall time.
func procCPU(pid int) time.Duration {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	s := string(raw)
	fields := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(fields) < 13 {
		return 0
	}
	utime, _ := strconv.ParseInt(fields[11], 10, 64)
	stime, _ := strconv.ParseInt(fields[12], 10, 64)
	return time.Duration(utime+stime) * time.Second / clockTicks
}

// procRSS returns a process's resident memory in bytes.
func procRSS(pid int) int64 { return procStatus(pid, "VmRSS") }

// procStatus returns a memory field of /proc/PID/status in bytes: VmRSS,
// RssAnon (heap and stacks) or RssFile (mapped files, such as bbolt's).
func procStatus(pid int, field string) int64 {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(raw), "\n") {
		if rest, ok := strings.CutPrefix(line, field+":"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return kb << 10
		}
	}
	return 0
}

// defaultProcs is Go's processor count before --client-procs changes it:
// the cores this process may use.
var defaultProcs = runtime.GOMAXPROCS(0)

// selfCPU is this process's CPU time.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// child is a server process the benchmark started.
type child struct {
	cmd  *exec.Cmd
	addr string
}

// startChild runs this binary with args and waits until it logs the
// address it listens on: a JSON log record with msg "keyhaven is
// listening" and its addr, on stderr.
func startChild(ctx context.Context, env []string, args ...string) (*child, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.CommandContext(ctx, self, args...)
	cmd.Env = append(os.Environ(), env...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	addrc := make(chan string, 1)
	go scanListening(stderr, addrc)
	select {
	case addr, ok := <-addrc:
		if ok {
			return &child{cmd: cmd, addr: addr}, nil
		}
	case <-time.After(60 * time.Second):
	}
	_ = cmd.Process.Kill()
	_ = cmd.Wait()
	return nil, fmt.Errorf("bench: %s %s did not start", self, args[0])
}

func scanListening(r io.Reader, addrc chan<- string) {
	sc := bufio.NewScanner(r)
	sent := false
	for sc.Scan() {
		var rec struct{ Msg, Addr string }
		if !sent && json.Unmarshal(sc.Bytes(), &rec) == nil && rec.Msg == "keyhaven is listening" {
			addrc <- rec.Addr
			sent = true
		}
	}
	if !sent {
		close(addrc)
	}
}

func (c *child) pid() int { return c.cmd.Process.Pid }

// stop ends the child with SIGTERM (then SIGKILL after 10 s).
func (c *child) stop() {
	_ = c.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { _ = c.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		_ = c.cmd.Process.Kill()
		<-done
	}
}
