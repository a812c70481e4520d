package middleware_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"sessiond"
	"sessiond/internal/livetest"
	"sessiond/middleware"
)

// The middleware runs in an httptest server in front of the harness's live
// daemon; a browser is an http.Client with a cookie jar.

var ctx = context.Background()

func app(t *testing.T) *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("/count", func(w http.ResponseWriter, r *http.Request) {
		s := middleware.FromContext(r.Context())
		var n int
		if _, err := s.Decode("visits", &n); err != nil {
			t.Errorf("decode visits: %v", err)
		}
		if err := s.SetValue("visits", n+1); err != nil {
			t.Error(err)
		}
		fmt.Fprint(w, n+1)
	})
	mux.HandleFunc("/noop", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "new=", middleware.FromContext(r.Context()).IsNew())
	})
	mux.HandleFunc("/login", func(w http.ResponseWriter, r *http.Request) {
		s := middleware.FromContext(r.Context())
		s.RenewID()
		s.SetValue("user", r.URL.Query().Get("user"))
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("/logout", func(w http.ResponseWriter, r *http.Request) {
		middleware.FromContext(r.Context()).Destroy()
		fmt.Fprint(w, "bye")
	})
	mux.HandleFunc("/same", func(w http.ResponseWriter, r *http.Request) {
		s := middleware.FromContext(r.Context())
		v, _ := s.Get("visits")
		s.Set("visits", v) // a rewrite of the loaded value
		s.Delete("never-there")
	})
	return mux
}

type browser struct {
	t   *testing.T
	srv *httptest.Server
	hc  *http.Client
}

func newBrowser(t *testing.T, srv *httptest.Server) *browser {
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &browser{t: t, srv: srv, hc: &http.Client{Jar: jar}}
}

func (b *browser) get(path string) (*http.Response, string) {
	b.t.Helper()
	resp, err := b.hc.Get(b.srv.URL + path)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, string(body)
}

func (b *browser) sessionID() string {
	u, _ := url.Parse(b.srv.URL)
	for _, c := range b.hc.Jar.Cookies(u) {
		if c.Name == "sessionid" {
			return c.Value
		}
	}
	return ""
}

func (b *browser) setCookie(value string) {
	u, _ := url.Parse(b.srv.URL)
	b.hc.Jar.SetCookies(u, []*http.Cookie{{Name: "sessionid", Value: value, Path: "/"}})
}

func setup(t *testing.T, o middleware.Options) (*sessiond.Client, *httptest.Server) {
	c := sessiond.NewClient(livetest.URL(t))
	srv := httptest.NewServer(middleware.New(c, o)(app(t)))
	t.Cleanup(srv.Close)
	t.Cleanup(c.CloseIdleConnections)
	return c, srv
}

func sessionCookie(resp *http.Response) *http.Cookie {
	for _, c := range resp.Cookies() {
		if c.Name == "sessionid" {
			return c
		}
	}
	return nil
}

func TestCookieFlow(t *testing.T) {
	c, srv := setup(t, middleware.Options{TTL: 600})
	b := newBrowser(t, srv)

	resp, body := b.get("/count")
	ck := sessionCookie(resp)
	if body != "1" || ck == nil || len(ck.Value) != 32 {
		t.Fatalf("first visit: body %q cookie %v", body, ck)
	}
	if !ck.HttpOnly || ck.Path != "/" || ck.SameSite != http.SameSiteLaxMode {
		t.Errorf("cookie attributes: %+v", ck)
	}
	id := ck.Value
	t.Cleanup(func() { c.Delete(ctx, id) })
	if v := livetest.Redis(t, "HGET", livetest.SessionKey(id), "data:visits"); v != "1" {
		t.Errorf("Redis data:visits = %s", v)
	}
	if ttl := livetest.RedisInt(t, "TTL", livetest.SessionKey(id)); ttl < 590 || ttl > 600 {
		t.Errorf("Redis TTL %d, want the configured 600", ttl)
	}

	for want := 2; want <= 3; want++ {
		resp, body = b.get("/count")
		if body != strconv.Itoa(want) {
			t.Fatalf("visit %d: body %q", want, body)
		}
		if sessionCookie(resp) != nil {
			t.Errorf("visit %d re-sent the cookie", want)
		}
	}
	if b.sessionID() != id {
		t.Errorf("id changed: %s → %s", id, b.sessionID())
	}
	if v := livetest.Redis(t, "HGET", livetest.SessionKey(id), "data:visits"); v != "3" {
		t.Errorf("Redis data:visits = %s", v)
	}
	// A second browser gets its own session.
	if _, body := newBrowser(t, srv).get("/count"); body != "1" {
		t.Errorf("a new browser saw visit %s", body)
	}
}

func TestNoSessionUntilDataIsStored(t *testing.T) {
	_, srv := setup(t, middleware.Options{})
	b := newBrowser(t, srv)
	for i := 0; i < 2; i++ {
		resp, body := b.get("/noop")
		if body != "new=true" || sessionCookie(resp) != nil {
			t.Fatalf("a read-only request made a session: %q %v", body, sessionCookie(resp))
		}
	}
}

func TestForgedOrStaleCookieIsNeverAdopted(t *testing.T) {
	c, srv := setup(t, middleware.Options{})
	for _, forged := range []string{"forged-session-id-0001", "bad id!"} {
		forged := forged
		t.Run(forged, func(t *testing.T) {
			b := newBrowser(t, srv)
			b.setCookie(url.QueryEscape(forged))
			resp, body := b.get("/count")
			ck := sessionCookie(resp)
			if body != "1" || ck == nil || ck.Value == forged || len(ck.Value) != 32 {
				t.Fatalf("forged cookie: body %q cookie %v", body, ck)
			}
			t.Cleanup(func() { c.Delete(ctx, ck.Value) })
			if livetest.RedisInt(t, "EXISTS", livetest.SessionKey(forged)) != 0 {
				t.Error("the forged id became a session")
			}
		})
	}
	t.Run("stale cookie on a read-only request is expired", func(t *testing.T) {
		b := newBrowser(t, srv)
		b.setCookie("expired-session-id-0002")
		resp, body := b.get("/noop")
		ck := sessionCookie(resp)
		if body != "new=true" || ck == nil || ck.MaxAge >= 0 {
			t.Fatalf("stale cookie: body %q cookie %+v", body, ck)
		}
		if b.sessionID() != "" {
			t.Error("the browser still holds the stale cookie")
		}
	})
}

func TestUnchangedValuesWriteNothing(t *testing.T) {
	c, srv := setup(t, middleware.Options{})
	b := newBrowser(t, srv)
	b.get("/count")
	id := b.sessionID()
	t.Cleanup(func() { c.Delete(ctx, id) })
	before := livetest.Redis(t, "HGET", livetest.SessionKey(id), "meta:version")
	b.get("/same")
	if after := livetest.Redis(t, "HGET", livetest.SessionKey(id), "meta:version"); after != before {
		t.Errorf("rewriting a loaded value wrote: version %s → %s", before, after)
	}
}

// Two requests of one session load it, both wait until the other has
// loaded too, then change different keys: a whole-session save would lose
// one of them; the PATCH of changed keys keeps both.
func TestConcurrentRequestsChangingDifferentKeysKeepBoth(t *testing.T) {
	c := sessiond.NewClient(livetest.URL(t))
	defer c.CloseIdleConnections()
	s, err := c.Create(ctx, sessiond.CreateOptions{Data: map[string]json.RawMessage{"base": json.RawMessage("0")}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Delete(ctx, s.ID)

	var loaded sync.WaitGroup
	loaded.Add(2)
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sess := middleware.FromContext(r.Context())
		loaded.Done()
		loaded.Wait()
		sess.Set(r.URL.Query().Get("k"), json.RawMessage(`"`+r.URL.Query().Get("k")+`"`))
	})
	srv := httptest.NewServer(middleware.New(c, middleware.Options{})(handler))
	defer srv.Close()

	var done sync.WaitGroup
	for _, k := range []string{"a", "b"} {
		done.Add(1)
		go func(k string) {
			defer done.Done()
			req, _ := http.NewRequest("GET", srv.URL+"/?k="+k, nil)
			req.AddCookie(&http.Cookie{Name: "sessionid", Value: s.ID})
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Error(err)
				return
			}
			resp.Body.Close()
			if resp.StatusCode != 200 {
				t.Errorf("k=%s: %s", k, resp.Status)
			}
		}(k)
	}
	done.Wait()
	got, err := c.Get(ctx, s.ID)
	if err != nil {
		t.Fatal(err)
	}
	if string(got.Data["a"]) != `"a"` || string(got.Data["b"]) != `"b"` || string(got.Data["base"]) != "0" {
		t.Errorf("lost an update: %s", mustJSON(got.Data))
	}
}

func TestLoginRenewsIDAndLogoutDestroys(t *testing.T) {
	c, srv := setup(t, middleware.Options{})
	b := newBrowser(t, srv)
	b.get("/count")
	before := b.sessionID()

	resp, _ := b.get("/login?user=alice")
	after := b.sessionID()
	if resp.StatusCode != http.StatusNoContent || after == "" || after == before {
		t.Fatalf("login kept the id %s (now %s, %s)", before, after, resp.Status)
	}
	t.Cleanup(func() { c.Delete(ctx, after) })
	if livetest.RedisInt(t, "EXISTS", livetest.SessionKey(before)) != 0 {
		t.Error("the pre-login id survived")
	}
	got, err := c.Get(ctx, after)
	if err != nil {
		t.Fatal(err)
	}
	if string(got.Data["visits"]) != "1" || string(got.Data["user"]) != `"alice"` {
		t.Errorf("after login: %s", mustJSON(got.Data))
	}
	if _, body := b.get("/count"); body != "2" {
		t.Errorf("the renewed session lost its visits: %s", body)
	}

	resp, body := b.get("/logout")
	if body != "bye" || sessionCookie(resp) == nil || sessionCookie(resp).MaxAge >= 0 {
		t.Errorf("logout: %q %+v", body, sessionCookie(resp))
	}
	if livetest.RedisInt(t, "EXISTS", livetest.SessionKey(after)) != 0 {
		t.Error("logout left the session in Redis")
	}
	if _, body := b.get("/count"); body != "1" {
		t.Errorf("after logout the count went on: %s", body)
	}
	t.Cleanup(func() { c.Delete(ctx, b.sessionID()) })
}

// The save happens before the headers leave: when the browser sees the
// response, Redis already has the value (the handler is still running).
func TestSavedBeforeResponseStarts(t *testing.T) {
	c := sessiond.NewClient(livetest.URL(t))
	defer c.CloseIdleConnections()
	release := make(chan struct{})
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		middleware.FromContext(r.Context()).Set("early", json.RawMessage("true"))
		fmt.Fprint(w, "streaming")
		w.(http.Flusher).Flush()
		<-release
	})
	srv := httptest.NewServer(middleware.New(c, middleware.Options{})(handler))
	defer srv.Close()
	defer close(release)
	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	ck := sessionCookie(resp)
	if ck == nil {
		t.Fatal("no cookie on a streamed response")
	}
	defer c.Delete(ctx, ck.Value)
	if v := livetest.Redis(t, "HGET", livetest.SessionKey(ck.Value), "data:early"); v != "true" {
		t.Errorf("headers arrived before the save: data:early = %q", v)
	}
}

func TestLoggedOutElsewhereIsNotBroughtBack(t *testing.T) {
	c := sessiond.NewClient(livetest.URL(t))
	defer c.CloseIdleConnections()
	s, err := c.Create(ctx, sessiond.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := c.Delete(ctx, s.ID); err != nil { // another device logs out meanwhile
			t.Error(err)
		}
		middleware.FromContext(r.Context()).Set("late", json.RawMessage("1"))
	})
	srv := httptest.NewServer(middleware.New(c, middleware.Options{})(handler))
	defer srv.Close()
	req, _ := http.NewRequest("GET", srv.URL, nil)
	req.AddCookie(&http.Cookie{Name: "sessionid", Value: s.ID})
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if livetest.RedisInt(t, "EXISTS", livetest.SessionKey(s.ID)) != 0 {
		t.Error("a save brought a deleted session back")
	}
}

func TestStoreDownAnswers503(t *testing.T) {
	dead := sessiond.NewClient(fmt.Sprintf("http://127.0.0.1:%d", livetest.FreePort(t)), sessiond.WithTimeout(time.Second))
	called := false
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		called = true
		middleware.FromContext(r.Context()).Set("k", json.RawMessage("1"))
		fmt.Fprint(w, "ok")
	})
	srv := httptest.NewServer(middleware.New(dead, middleware.Options{
		OnLateError: func(r *http.Request, err error) { t.Errorf("a late save after the error response: %v", err) },
	})(handler))
	defer srv.Close()

	// With a cookie: the load fails, the handler never runs.
	req, _ := http.NewRequest("GET", srv.URL, nil)
	req.AddCookie(&http.Cookie{Name: "sessionid", Value: "abcdefgh12345678"})
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 503 || called {
		t.Errorf("load with the store down: %s, handler called %v", resp.Status, called)
	}
	// Without one: the save before the headers fails, so no 200 goes out.
	resp, err = http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 503 || strings.Contains(string(body), "ok") || sessionCookie(resp) != nil {
		t.Errorf("save with the store down: %s %q", resp.Status, body)
	}
}

func TestDataAfterTheResponseStartedIsReported(t *testing.T) {
	c := sessiond.NewClient(livetest.URL(t))
	defer c.CloseIdleConnections()
	late := make(chan error, 1)
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "already writing")
		middleware.FromContext(r.Context()).Set("k", json.RawMessage("1"))
	})
	srv := httptest.NewServer(middleware.New(c, middleware.Options{
		OnLateError: func(r *http.Request, err error) { late <- err },
	})(handler))
	defer srv.Close()
	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	select {
	case err := <-late:
		if err == nil || !strings.Contains(err.Error(), "after the response started") {
			t.Errorf("late error: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Error("a new session's late data was dropped silently")
	}
}

func TestFromContextOutsideMiddleware(t *testing.T) {
	if middleware.FromContext(ctx) != nil {
		t.Error("a session outside the middleware")
	}
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
