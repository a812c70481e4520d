// Package sessiond is a client of the sessiond HTTP API (/v1), the session
// cache daemon that keeps web apps' sessions in Redis.
//
//	c := sessiond.NewClient("http://127.0.0.1:8080", sessiond.WithToken(token))
//	s, err := c.Create(ctx, sessiond.CreateOptions{TTL: 3600, User: "alice"})
//	_, err = c.SetKey(ctx, s.ID, "cart", sessiond.Value([]int{1, 2}))
//	s, err = c.Get(ctx, s.ID)
//	if errors.Is(err, sessiond.ErrNotFound) { … }
//
// A Client is safe for concurrent use; share one per process so its
// keep-alive connections are reused.
package sessiond

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// DefaultTimeout bounds each call unless WithTimeout says otherwise. It is a
// second above the daemon's default --redis-timeout (2 s), so a slow Redis
// shows as the daemon's 504 rather than as a client-side timeout.
const DefaultTimeout = 3 * time.Second

// Client talks to one sessiond daemon.
type Client struct {
	base    string // scheme://host[/prefix], no trailing slash
	token   string
	timeout time.Duration
	hc      *http.Client
	err     error // a bad URL or option, returned by every call
	ua      string
}

// Option configures a Client.
type Option func(*config)

type config struct {
	token   string
	timeout time.Duration
	hc      *http.Client
	socket  string
	ua      string
}

// WithToken sends "Authorization: Bearer <token>" (the daemon's
// --auth-token-file) on every request.
func WithToken(token string) Option { return func(c *config) { c.token = token } }

// WithTimeout bounds each call, connecting included (default 3 s; 0 means
// only the caller's context bounds it). It works through the context, so it
// also applies to a client given by WithHTTPClient.
func WithTimeout(d time.Duration) Option { return func(c *config) { c.timeout = d } }

// WithHTTPClient uses hc (its transport, TLS settings, tracing) instead of a
// private one. With WithUnixSocket or a unix:// URL too, hc's transport must
// be an *http.Transport (or nil), whose clone then dials the socket.
func WithHTTPClient(hc *http.Client) Option { return func(c *config) { c.hc = hc } }

// WithUnixSocket dials the daemon's unix socket (--listen unix:/path.sock)
// for every request, whatever host the URL names.
func WithUnixSocket(path string) Option { return func(c *config) { c.socket = path } }

// WithUserAgent replaces the User-Agent header ("sessiond-go/0.1").
func WithUserAgent(ua string) Option { return func(c *config) { c.ua = ua } }

// NewClient makes a client of the daemon at url: "http://host:port" (with an
// optional path prefix, for a daemon behind a reverse proxy), "https://…",
// or "unix:///path.sock". It does no I/O; a malformed url or option makes
// every call fail with an error that is ErrInvalid, rather than a panic.
func NewClient(url string, opts ...Option) *Client {
	cfg := config{timeout: DefaultTimeout, ua: "sessiond-go/0.1"}
	for _, o := range opts {
		o(&cfg)
	}
	c := &Client{token: cfg.token, timeout: cfg.timeout, ua: cfg.ua}
	base, socket, err := parseURL(url)
	if err != nil {
		c.err = err
		return c
	}
	if cfg.socket != "" {
		socket = cfg.socket
	}
	c.base = base
	c.hc, c.err = httpClient(cfg.hc, socket)
	return c
}

func parseURL(raw string) (base, socket string, err error) {
	if strings.HasPrefix(raw, "unix:") {
		path := strings.TrimPrefix(strings.TrimPrefix(raw, "unix:"), "//")
		if path == "" {
			return "", "", &invalidError{fmt.Sprintf("no socket path in %q", raw)}
		}
		// The host only fills the Host header; the dialer ignores it.
		return "http://sessiond", path, nil
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", "", &invalidError{fmt.Sprintf("URL must be http://host:port, https://… or unix:///path.sock, not %q", raw)}
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return "", "", &invalidError{fmt.Sprintf("URL %q must not have a query or fragment", raw)}
	}
	return strings.TrimRight(raw, "/"), "", nil
}

func httpClient(given *http.Client, socket string) (*http.Client, error) {
	if given != nil && socket == "" {
		return given, nil
	}
	var tr *http.Transport
	hc := &http.Client{}
	if given != nil {
		*hc = *given
		switch t := given.Transport.(type) {
		case nil:
			tr = http.DefaultTransport.(*http.Transport).Clone()
		case *http.Transport:
			tr = t.Clone()
		default:
			return nil, &invalidError{fmt.Sprintf("a unix socket needs an *http.Transport, not %T", t)}
		}
	} else {
		tr = http.DefaultTransport.(*http.Transport).Clone()
		// A sidecar is one host: keep enough idle connections for a busy
		// app server instead of the default two.
		tr.MaxIdleConnsPerHost = 64
	}
	if socket != "" {
		var d net.Dialer
		tr.Proxy = nil
		tr.DialContext = func(ctx context.Context, _, _ string) (net.Conn, error) {
			return d.DialContext(ctx, "unix", socket)
		}
	}
	hc.Transport = tr
	// The daemon never redirects; following one would resend the token elsewhere.
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return hc, nil
}

// CloseIdleConnections closes the keep-alive connections not in use.
func (c *Client) CloseIdleConnections() {
	if c.hc != nil {
		c.hc.CloseIdleConnections()
	}
}

// request is one call's wire form.
type request struct {
	method  string
	path    string // already escaped
	query   url.Values
	body    []byte
	headers map[string]string
	keyRead bool // a data-key read: a 404 may mean only the key is missing
}

// response is what the calls need of an answer.
type response struct {
	status int
	header http.Header
	body   []byte
}

// do sends r and returns the answer when its status is in ok; any other
// status becomes an *Error and no answer a transportError.
func (c *Client) do(ctx context.Context, r request, ok ...int) (*response, error) {
	if c.err != nil {
		return nil, c.err
	}
	if c.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.timeout)
		defer cancel()
	}
	target := c.base + r.path
	if len(r.query) > 0 {
		target += "?" + r.query.Encode()
	}
	var body io.Reader
	if r.body != nil {
		body = bytes.NewReader(r.body)
	}
	req, err := http.NewRequestWithContext(ctx, r.method, target, body)
	if err != nil {
		return nil, &invalidError{err.Error()}
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", c.ua)
	if r.body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	for k, v := range r.headers {
		req.Header.Set(k, v)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, &transportError{method: r.method, path: r.path, err: unwrapURLError(err)}
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, &transportError{method: r.method, path: r.path, err: err}
	}
	for _, s := range ok {
		if resp.StatusCode == s {
			return &response{status: resp.StatusCode, header: resp.Header, body: data}, nil
		}
	}
	return nil, problem(r, resp, data)
}

// unwrapURLError drops *url.Error's restating of method and URL, which
// transportError already names.
func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

func problem(r request, resp *http.Response, body []byte) *Error {
	e := &Error{
		Status:    resp.StatusCode,
		RequestID: resp.Header.Get("X-Request-ID"),
		Method:    r.method,
		Path:      r.path,
	}
	var p struct {
		Type   string `json:"type"`
		Title  string `json:"title"`
		Detail string `json:"detail"`
	}
	if json.Unmarshal(body, &p) == nil {
		e.Type, e.Title, e.Detail = p.Type, p.Title, p.Detail
	} else if len(body) > 0 {
		// Not problem+json: a proxy's page, say. Keep its start for the message.
		if len(body) > 200 {
			body = body[:200]
		}
		e.Detail = strings.TrimSpace(string(body))
	}
	if e.Title == "" {
		e.Title = http.StatusText(resp.StatusCode)
	}
	if ra := resp.Header.Get("Retry-After"); ra != "" {
		if secs, err := strconv.Atoi(ra); err == nil && secs >= 0 {
			e.RetryAfter = time.Duration(secs) * time.Second
		} else if t, err := http.ParseTime(ra); err == nil {
			e.RetryAfter = time.Until(t)
		}
	}
	// The daemon's detail says which of the two is missing; a session that
	// is gone is the stronger fact, so only a plain "key" detail counts.
	if r.keyRead && e.Status == 404 && strings.Contains(e.Detail, "key") && !strings.Contains(e.Detail, "session not found") {
		e.keyMissing = true
	}
	return e
}
