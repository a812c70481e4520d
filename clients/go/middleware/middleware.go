// Package middleware keeps net/http sessions in sessiond.
//
//	c := sessiond.NewClient("http://127.0.0.1:8080")
//	http.ListenAndServe(":8000", middleware.New(c, middleware.Options{})(mux))
//
//	func handler(w http.ResponseWriter, r *http.Request) {
//		s := middleware.FromContext(r.Context())
//		var n int
//		s.Decode("visits", &n)
//		s.SetValue("visits", n+1)
//		fmt.Fprintf(w, "visit %d", n+1)
//	}
//
// The session is loaded from its cookie before the handler runs. Changes are
// saved before the response's headers go out (so a browser never holds a
// cookie the daemon has not acknowledged), as one PATCH of the changed keys
// only: two concurrent requests that change different keys both keep their
// change. A cookie that names no live session, a forged id included, is
// never adopted: the daemon makes a new id, and only once the handler stores
// something, so cookieless bots fill no Redis.
package middleware

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log"
	"net/http"
	"sort"
	"sync"

	"sessiond"
)

// Options configure the middleware; the zero value is usable.
type Options struct {
	// CookieName is the session cookie's name ("sessionid", Django's).
	CookieName string
	// TTL is the idle timeout of new sessions in seconds; 0: the daemon's --default-ttl.
	TTL int64
	// Cookie attributes. The cookie is always HttpOnly; Path defaults to "/",
	// SameSite to Lax. MaxAge 0 makes it a browser-session cookie.
	Path, Domain string
	Secure       bool
	SameSite     http.SameSite
	MaxAge       int
	// ErrorHandler answers a request whose session could not be loaded or
	// saved before the response started (sessiond unavailable, say). The
	// default answers 503 when sessiond is unavailable (serving the request
	// as logged out would be wrong), else 500.
	ErrorHandler func(w http.ResponseWriter, r *http.Request, err error)
	// OnLateError reports a save that failed after the response had started
	// and could no longer change it; the default logs it.
	OnLateError func(r *http.Request, err error)
}

type ctxKey struct{}

// FromContext returns the request's session, or nil outside the middleware.
func FromContext(ctx context.Context) *Session {
	s, _ := ctx.Value(ctxKey{}).(*Session)
	return s
}

// Session is one request's view of its sessiond session. Its methods are
// safe for concurrent use by the request's goroutines.
type Session struct {
	mu       sync.Mutex
	id       string // "" until the daemon made one
	loaded   map[string]json.RawMessage
	data     map[string]json.RawMessage
	changed  map[string]bool // keys set or deleted since the last save
	destroy  bool
	deleted  bool
	renew    bool
	stale    bool // the request's cookie named no live session
	cookieOK bool // the cookie already names s.id
}

// ID is the session's id, "" for a new session not saved yet.
func (s *Session) ID() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.id
}

// IsNew is true while the session has no id: the request brought no live
// session, and nothing has been saved yet.
func (s *Session) IsNew() bool { return s.ID() == "" }

// Get returns a value's JSON text.
func (s *Session) Get(key string) (json.RawMessage, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.data[key]
	return v, ok
}

// Decode unmarshals a value into v; ok is false when the key is absent.
func (s *Session) Decode(key string, v any) (ok bool, err error) {
	raw, ok := s.Get(key)
	if !ok {
		return false, nil
	}
	return true, json.Unmarshal(raw, v)
}

// Keys lists the session's keys, sorted.
func (s *Session) Keys() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	keys := make([]string, 0, len(s.data))
	for k := range s.data {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// Set stores a value's JSON text (it must be valid JSON).
func (s *Session) Set(key string, value json.RawMessage) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.data[key] = append(json.RawMessage(nil), value...)
	s.mark(key)
}

// SetValue marshals v and stores it.
func (s *Session) SetValue(key string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	s.Set(key, b)
	return nil
}

// Delete removes a key.
func (s *Session) Delete(key string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.data, key)
	s.mark(key)
}

// mark records key as changed unless it is back to what was loaded, so a
// handler that rewrites an unchanged value costs no write.
func (s *Session) mark(key string) {
	now, inNow := s.data[key]
	was, inWas := s.loaded[key]
	if inNow == inWas && bytes.Equal(now, was) {
		delete(s.changed, key)
		return
	}
	s.changed[key] = true
}

// Destroy deletes the session and its cookie (log out).
func (s *Session) Destroy() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.destroy = true
}

// RenewID gives the session a new id before the response goes out (call it
// at login, against session fixation); the data stays.
func (s *Session) RenewID() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.renew = true
}

var errLate = errors.New("middleware: a new session got data after the response started; its cookie cannot be set any more")

type mw struct {
	c    *sessiond.Client
	o    Options
	next http.Handler
}

// New returns the middleware.
func New(c *sessiond.Client, o Options) func(http.Handler) http.Handler {
	if o.CookieName == "" {
		o.CookieName = "sessionid"
	}
	if o.Path == "" {
		o.Path = "/"
	}
	if o.SameSite == 0 {
		o.SameSite = http.SameSiteLaxMode
	}
	if o.ErrorHandler == nil {
		o.ErrorHandler = func(w http.ResponseWriter, _ *http.Request, err error) {
			if errors.Is(err, sessiond.ErrUnavailable) {
				http.Error(w, "session store unavailable", http.StatusServiceUnavailable)
				return
			}
			http.Error(w, "session error", http.StatusInternalServerError)
		}
	}
	if o.OnLateError == nil {
		o.OnLateError = func(r *http.Request, err error) {
			log.Printf("sessiond middleware: %s %s: %v", r.Method, r.URL.Path, err)
		}
	}
	return func(next http.Handler) http.Handler { return &mw{c: c, o: o, next: next} }
}

func (m *mw) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s := &Session{data: map[string]json.RawMessage{}, changed: map[string]bool{}}
	if ck, err := r.Cookie(m.o.CookieName); err == nil && ck.Value != "" {
		got, err := m.c.Get(r.Context(), ck.Value)
		switch {
		case err == nil:
			s.id, s.cookieOK = got.ID, true
			s.loaded = got.Data
			for k, v := range got.Data {
				s.data[k] = v
			}
		case errors.Is(err, sessiond.ErrNotFound), errors.Is(err, sessiond.ErrInvalid):
			// Expired, logged out, forged or malformed: start afresh.
			s.stale = true
		default:
			m.o.ErrorHandler(w, r, err)
			return
		}
	}
	sw := &saveWriter{ResponseWriter: w, m: m, s: s, r: r}
	m.next.ServeHTTP(sw, r.WithContext(context.WithValue(r.Context(), ctxKey{}, s)))
	if !sw.started {
		sw.start() // the handler wrote nothing: save before the empty 200
	}
	if sw.failed {
		return // the error response is out; the changes are lost with it
	}
	if err := m.save(r.Context(), s, false, w); err != nil {
		m.o.OnLateError(r, err)
	}
}

// save writes the session's pending changes. Before the headers are sent
// (early) it may also create, cycle and set or expire the cookie.
func (m *mw) save(ctx context.Context, s *Session, early bool, w http.ResponseWriter) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.destroy {
		if s.id != "" && !s.deleted {
			if err := m.c.Delete(ctx, s.id); err != nil {
				return err
			}
			s.deleted = true
		}
		if early && (s.cookieOK || s.stale) {
			m.expireCookie(w)
			s.cookieOK, s.stale = false, false
		}
		return nil
	}
	if s.id == "" {
		if len(s.changed) == 0 {
			if early && s.stale {
				m.expireCookie(w)
				s.stale = false
			}
			return nil
		}
		if !early {
			return errLate
		}
		// Always a server-made id (POST): a forged cookie value never becomes a session.
		created, err := m.c.Create(ctx, sessiond.CreateOptions{Data: s.data, TTL: m.o.TTL})
		if err != nil {
			return err
		}
		s.id, s.loaded, s.changed, s.renew = created.ID, copyData(s.data), map[string]bool{}, false
		m.setCookie(w, s.id)
		s.cookieOK = true
		return nil
	}
	if s.renew && early {
		cycled, err := m.c.Cycle(ctx, s.id)
		if err != nil {
			return err
		}
		s.id, s.renew = cycled.ID, false
		m.setCookie(w, s.id)
	}
	if len(s.changed) == 0 {
		return nil
	}
	set := map[string]json.RawMessage{}
	var del []string
	for k := range s.changed {
		if v, ok := s.data[k]; ok {
			set[k] = v
		} else {
			del = append(del, k)
		}
	}
	sort.Strings(del)
	_, err := m.c.Patch(ctx, s.id, set, del)
	if errors.Is(err, sessiond.ErrNotFound) {
		// Deleted meanwhile (logged out elsewhere): never bring it back.
		s.changed = map[string]bool{}
		return nil
	}
	if err != nil {
		return err
	}
	s.loaded, s.changed = copyData(s.data), map[string]bool{}
	return nil
}

func copyData(d map[string]json.RawMessage) map[string]json.RawMessage {
	out := make(map[string]json.RawMessage, len(d))
	for k, v := range d {
		out[k] = v
	}
	return out
}

func (m *mw) cookie(value string, maxAge int) *http.Cookie {
	return &http.Cookie{
		Name: m.o.CookieName, Value: value, Path: m.o.Path, Domain: m.o.Domain,
		MaxAge: maxAge, Secure: m.o.Secure, HttpOnly: true, SameSite: m.o.SameSite,
	}
}

func (m *mw) setCookie(w http.ResponseWriter, id string) {
	http.SetCookie(w, m.cookie(id, m.o.MaxAge))
}

func (m *mw) expireCookie(w http.ResponseWriter) {
	http.SetCookie(w, m.cookie("", -1))
}

// saveWriter saves the session just before the handler's response starts,
// while a cookie can still be set and a failed save still answered with an
// error instead of a success the store never acknowledged.
type saveWriter struct {
	http.ResponseWriter
	m       *mw
	s       *Session
	r       *http.Request
	started bool
	failed  bool
}

func (w *saveWriter) start() {
	w.started = true
	if err := w.m.save(w.r.Context(), w.s, true, w.ResponseWriter); err != nil {
		w.failed = true
		w.m.o.ErrorHandler(w.ResponseWriter, w.r, err)
	}
}

func (w *saveWriter) WriteHeader(code int) {
	if !w.started {
		w.start()
	}
	if !w.failed {
		w.ResponseWriter.WriteHeader(code)
	}
}

func (w *saveWriter) Write(b []byte) (int, error) {
	if !w.started {
		w.start()
	}
	if w.failed {
		return 0, errSaveFailed
	}
	return w.ResponseWriter.Write(b)
}

var errSaveFailed = errors.New("middleware: the session could not be saved; the error response was sent instead")

// Flush keeps streaming handlers working (http.Flusher).
func (w *saveWriter) Flush() {
	if !w.started {
		w.start()
	}
	if f, ok := w.ResponseWriter.(http.Flusher); ok && !w.failed {
		f.Flush()
	}
}

// Unwrap lets Go 1.20's http.ResponseController reach the real writer.
func (w *saveWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
