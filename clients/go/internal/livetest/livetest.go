// Package livetest gives the tests the live daemons of
// tests/harness/with_daemon.py, Redis's own view through redis-cli, and
// private daemons with special flags (a dead Redis, another key prefix).
package livetest

import (
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Env returns the harness variable name, failing the test when it is unset:
// the live tests mean nothing without a daemon, so they must not pass quietly.
func Env(t testing.TB, name string) string {
	t.Helper()
	v := os.Getenv(name)
	if v == "" {
		t.Fatalf("%s is not set: run the suite through clients/go/test (tests/harness/with_daemon.py)", name)
	}
	return v
}

// URL is the plain TCP daemon (no token).
func URL(t testing.TB) string { return Env(t, "SESSIOND_TEST_URL") }

// Redis runs redis-cli against the harness's Redis and returns its output, trimmed.
func Redis(t testing.TB, args ...string) string {
	t.Helper()
	argv := append([]string{"-p", Env(t, "SESSIOND_TEST_REDIS_PORT"), "--raw"}, args...)
	out, err := exec.Command("redis-cli", argv...).CombinedOutput()
	if err != nil {
		t.Fatalf("redis-cli %v: %v: %s", args, err, out)
	}
	return strings.TrimRight(string(out), "\n")
}

// RedisInt is Redis for commands answering an integer (TTL, EXISTS, HLEN).
func RedisInt(t testing.TB, args ...string) int64 {
	t.Helper()
	s := Redis(t, args...)
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		t.Fatalf("redis-cli %v: not an integer: %q", args, s)
	}
	return n
}

// SessionKey is the Redis key of a session under the default prefix.
func SessionKey(id string) string { return "sessiond:session:" + id }

// FreePort returns a loopback port nothing listens on right now.
func FreePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// StartDaemon starts $SESSIOND_BIN on a free loopback port with args added,
// waits (with a deadline, polling) until /healthz answers, and stops it by
// its PID when the test ends. It returns the daemon's URL.
func StartDaemon(t testing.TB, args ...string) string {
	t.Helper()
	url, logText := TryStartDaemon(t, args...)
	if url == "" {
		t.Fatalf("sessiond %v exited early: %s", args, logText)
	}
	return url
}

// TryStartDaemon is StartDaemon for flags this daemon may not have yet: when
// the daemon exits at once it returns "" and its log, so the test can skip.
func TryStartDaemon(t testing.TB, args ...string) (url, logText string) {
	t.Helper()
	bin := Env(t, "SESSIOND_BIN")
	addr := "127.0.0.1:" + strconv.Itoa(FreePort(t))
	log, err := os.CreateTemp(t.TempDir(), "sessiond-*.log")
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, append([]string{"--listen", addr}, args...)...)
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", bin, err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-exited
		}
		log.Close()
	})
	url = "http://" + addr
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := http.Get(url + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return url, ""
			}
		}
		select {
		case <-exited:
			out, _ := os.ReadFile(log.Name())
			return "", string(out)
		default:
		}
		if time.Now().After(deadline) {
			out, _ := os.ReadFile(log.Name())
			t.Fatalf("sessiond %v did not answer /healthz within 20 s: %s", args, out)
		}
		time.Sleep(20 * time.Millisecond) // a poll interval, not a wait for an outcome
	}
}
