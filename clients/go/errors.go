package sessiond

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Sentinel errors for errors.Is. The daemon's answers come back as *Error,
// whose Is method maps its status onto these, so callers branch on meaning
// and never on status codes or detail strings.
var (
	// ErrNotFound: 404, the session (or, on a data-key read, the key) does not exist.
	ErrNotFound = errors.New("sessiond: not found")
	// ErrKeyNotFound: 404 on a data-key read where the session exists but the
	// key does not. Such an error is also ErrNotFound.
	ErrKeyNotFound = errors.New("sessiond: key not found")
	// ErrPreconditionFailed: 412, an If-Match / If-None-Match did not hold
	// (the session changed, was deleted, or already exists).
	ErrPreconditionFailed = errors.New("sessiond: precondition failed")
	// ErrUnavailable: 503/504 (the daemon cannot reach Redis, or Redis was
	// too slow), any other 5xx, or no answer at all (refused connection,
	// timeout). Worth retrying later; never a sign the session is gone.
	ErrUnavailable = errors.New("sessiond: unavailable")
	// ErrUnauthorized: 401, a missing or wrong bearer token.
	ErrUnauthorized = errors.New("sessiond: unauthorized")
	// ErrInvalid: 400 or 413, a request the daemon refused (bad id, key,
	// ttl, nesting, body too large), or one the client refused to send.
	ErrInvalid = errors.New("sessiond: invalid request")
)

// Error is a problem+json (RFC 9457) answer of the daemon.
type Error struct {
	Status int    // HTTP status
	Type   string // problem type, usually "about:blank"
	Title  string
	Detail string
	// RetryAfter is the Retry-After header of a 503, or 0.
	RetryAfter time.Duration
	// RequestID is the daemon's X-Request-ID, for matching its logs.
	RequestID string
	// Method and Path name the request that failed.
	Method, Path string

	keyMissing bool // a 404 of a data-key read where only the key is missing
}

func (e *Error) Error() string {
	msg := e.Detail
	if msg == "" {
		msg = e.Title
	}
	if msg == "" {
		msg = fmt.Sprintf("HTTP %d", e.Status)
	}
	return fmt.Sprintf("sessiond: %s %s: %d %s", e.Method, e.Path, e.Status, msg)
}

// Is lets errors.Is(err, ErrNotFound) and friends see through an *Error.
func (e *Error) Is(target error) bool {
	switch target {
	case ErrNotFound:
		return e.Status == 404
	case ErrKeyNotFound:
		return e.Status == 404 && e.keyMissing
	case ErrPreconditionFailed:
		return e.Status == 412
	case ErrUnauthorized:
		return e.Status == 401
	case ErrInvalid:
		return e.Status == 400 || e.Status == 413
	case ErrUnavailable:
		return e.Status >= 500
	}
	return false
}

// transportError is a request that got no HTTP answer. It is ErrUnavailable
// and still unwraps to the cause, so errors.Is(err, context.DeadlineExceeded)
// or a *net.OpError check keep working (Go 1.19 has no multi-%w).
type transportError struct {
	method, path string
	err          error
}

func (e *transportError) Error() string {
	return fmt.Sprintf("sessiond: %s %s: %v", e.method, e.path, e.err)
}

func (e *transportError) Unwrap() error { return e.err }

func (e *transportError) Is(target error) bool {
	// A caller that cancelled gave up by itself: the daemon may be fine.
	return target == ErrUnavailable && !errors.Is(e.err, context.Canceled)
}

// invalidError is a request the client refuses to send (an empty id, say),
// so it fails the way the daemon's 400 would without a round trip.
type invalidError struct{ msg string }

func (e *invalidError) Error() string        { return "sessiond: " + e.msg }
func (e *invalidError) Is(target error) bool { return target == ErrInvalid }
