package sessiond_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"sessiond"
	"sessiond/internal/livetest"
)

// Every live test talks to the harness's daemons and checks Redis's side
// with redis-cli; none of them mocks the daemon.

var ctx = context.Background()

// uniq makes user names and ids that no other test (or earlier run) uses.
var seq int64

func uniq(prefix string) string {
	return fmt.Sprintf("%s-%d-%d", prefix, time.Now().UnixNano(), atomic.AddInt64(&seq, 1))
}

func client(t *testing.T, opts ...sessiond.Option) *sessiond.Client {
	t.Helper()
	c := sessiond.NewClient(livetest.URL(t), opts...)
	t.Cleanup(c.CloseIdleConnections)
	return c
}

func create(t *testing.T, c *sessiond.Client, o sessiond.CreateOptions) *sessiond.Session {
	t.Helper()
	s, err := c.Create(ctx, o)
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	t.Cleanup(func() { c.Delete(ctx, s.ID) })
	return s
}

func raw(s string) json.RawMessage { return json.RawMessage(s) }

func wantErr(t *testing.T, err error, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("error %v (%T) is not %v", err, err, target)
	}
}

func TestCreateAndGet(t *testing.T) {
	c := client(t)
	user := uniq("alice")
	s := create(t, c, sessiond.CreateOptions{
		Data: map[string]json.RawMessage{"cart": raw(`[1, 2]`), "name": sessiond.Value("Zoë")},
		TTL:  3600,
		User: user,
	})
	if len(s.ID) != 32 {
		t.Errorf("server-made id %q: want 32 characters", s.ID)
	}
	if !s.Created || s.ETag != `"1"` || s.Version() != 1 {
		t.Errorf("Created=%v ETag=%q Version=%d, want true \"1\" 1", s.Created, s.ETag, s.Version())
	}
	if s.TTL != 3600 || s.ExpiresIn < 3590 || s.User != user {
		t.Errorf("ttl=%d expires_in=%d user=%q", s.TTL, s.ExpiresIn, s.User)
	}
	if d := time.Until(s.ExpiresAt); d < 3500*time.Second || d > 3700*time.Second {
		t.Errorf("expires_at %v is not an hour away", s.ExpiresAt)
	}
	if time.Since(s.CreatedAt) > time.Minute || s.CreatedAt.After(time.Now().Add(5*time.Second)) {
		t.Errorf("created_at %v is not now", s.CreatedAt)
	}
	if got := livetest.Redis(t, "HGET", livetest.SessionKey(s.ID), "data:name"); got != `"Zoë"` {
		t.Errorf("Redis data:name = %s", got)
	}
	if ttl := livetest.RedisInt(t, "TTL", livetest.SessionKey(s.ID)); ttl < 3590 || ttl > 3600 {
		t.Errorf("Redis TTL %d, want ~3600", ttl)
	}

	got, err := c.Get(ctx, s.ID)
	if err != nil {
		t.Fatal(err)
	}
	var cart []int
	if ok, err := got.Value("cart", &cart); !ok || err != nil || len(cart) != 2 || cart[1] != 2 {
		t.Errorf("cart = %v (ok=%v err=%v)", cart, ok, err)
	}
	if got.ETag != `"1"` || got.Created || got.User != user || got.ID != s.ID {
		t.Errorf("Get: %+v", got)
	}
}

func TestCreateEmptyUsesDaemonDefaults(t *testing.T) {
	c := client(t)
	s := create(t, c, sessiond.CreateOptions{})
	if s.TTL != 1209600 || s.User != "" || len(s.Data) != 0 {
		t.Errorf("empty create: %+v", s)
	}
}

func TestIntegersStayExact(t *testing.T) {
	c := client(t)
	// 2^53+1 and 2^63-1 lose digits through float64; -2^63 and a long
	// decimal must come back as the same text too.
	vals := map[string]string{
		"a": "9007199254740993", "b": "9223372036854775807", "c": "-9223372036854775808",
		"d": "18446744073709551615", "e": "0.1000000000000000055511151231257827",
	}
	data := map[string]json.RawMessage{}
	for k, v := range vals {
		data[k] = raw(v)
	}
	s := create(t, c, sessiond.CreateOptions{Data: data})
	got, err := c.Get(ctx, s.ID)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range vals {
		if string(got.Data[k]) != v {
			t.Errorf("Get %s = %s, want %s", k, got.Data[k], v)
		}
		if r := livetest.Redis(t, "HGET", livetest.SessionKey(s.ID), "data:"+k); r != v {
			t.Errorf("Redis %s = %s, want %s", k, r, v)
		}
		one, err := c.GetKey(ctx, s.ID, k)
		if err != nil || string(one) != v {
			t.Errorf("GetKey %s = %s (%v), want %s", k, one, err, v)
		}
	}
	var n int64
	if _, err := got.Value("b", &n); err != nil || n != 9223372036854775807 {
		t.Errorf("decoded int64 = %d (%v)", n, err)
	}
}

func TestCreateWithChosenID(t *testing.T) {
	c := client(t)
	id := uniq("chosen")
	s, err := c.Create(ctx, sessiond.CreateOptions{ID: id, Data: map[string]json.RawMessage{"n": raw("1")}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Delete(ctx, id) })
	if s.ID != id || !s.Created {
		t.Fatalf("got %+v", s)
	}
	_, err = c.Create(ctx, sessiond.CreateOptions{ID: id, Data: map[string]json.RawMessage{"n": raw("2")}})
	wantErr(t, err, sessiond.ErrPreconditionFailed)
	if v := livetest.Redis(t, "HGET", livetest.SessionKey(id), "data:n"); v != "1" {
		t.Errorf("a create overwrote: data:n = %s", v)
	}
}

func TestGetTouch(t *testing.T) {
	c := client(t)
	s := create(t, c, sessiond.CreateOptions{TTL: 1000})
	key := livetest.SessionKey(s.ID)
	livetest.Redis(t, "EXPIRE", key, "500")

	if _, err := c.Get(ctx, s.ID, sessiond.NoTouch); err != nil {
		t.Fatal(err)
	}
	if ttl := livetest.RedisInt(t, "TTL", key); ttl > 500 {
		t.Errorf("Get(NoTouch) slid the TTL to %d", ttl)
	}
	if ok, err := c.Exists(ctx, s.ID, sessiond.NoTouch); !ok || err != nil {
		t.Fatalf("Exists(NoTouch) = %v, %v", ok, err)
	}
	if _, err := c.GetKey(ctx, s.ID, "x", sessiond.NoTouch); !errors.Is(err, sessiond.ErrKeyNotFound) {
		t.Fatalf("GetKey: %v", err)
	}
	if _, err := c.GetExpiry(ctx, s.ID, sessiond.NoTouch); err != nil {
		t.Fatal(err)
	}
	if ttl := livetest.RedisInt(t, "TTL", key); ttl > 500 {
		t.Errorf("NoTouch reads slid the TTL to %d", ttl)
	}
	if _, err := c.Get(ctx, s.ID, sessiond.Touch(true)); err != nil {
		t.Fatal(err)
	}
	if ttl := livetest.RedisInt(t, "TTL", key); ttl < 990 {
		t.Errorf("a touching Get left the TTL at %d, want ~1000", ttl)
	}
	livetest.Redis(t, "EXPIRE", key, "500")
	if _, err := c.Get(ctx, s.ID); err != nil {
		t.Fatal(err)
	}
	if ttl := livetest.RedisInt(t, "TTL", key); ttl < 990 {
		t.Errorf("a plain Get (rolling) left the TTL at %d", ttl)
	}
}

func TestExists(t *testing.T) {
	c := client(t)
	s := create(t, c, sessiond.CreateOptions{})
	if ok, err := c.Exists(ctx, s.ID); !ok || err != nil {
		t.Errorf("Exists(live) = %v, %v", ok, err)
	}
	if ok, err := c.Exists(ctx, uniq("nobody")); ok || err != nil {
		t.Errorf("Exists(missing) = %v, %v", ok, err)
	}
	_, err := c.Exists(ctx, "bad id!")
	wantErr(t, err, sessiond.ErrInvalid)
}

func TestReplace(t *testing.T) {
	c := client(t)
	id := uniq("replace")
	t.Cleanup(func() { c.Delete(ctx, id) })
	key := livetest.SessionKey(id)

	// If-Match: * never creates (a logged-out session stays gone).
	_, err := c.Replace(ctx, id, sessiond.ReplaceOptions{}, sessiond.IfMatch("*"))
	wantErr(t, err, sessiond.ErrPreconditionFailed)
	if livetest.RedisInt(t, "EXISTS", key) != 0 {
		t.Fatal("If-Match: * created the session")
	}

	// Without a condition a PUT creates.
	s, err := c.Replace(ctx, id, sessiond.ReplaceOptions{
		Data: map[string]json.RawMessage{"a": raw("1"), "b": raw("2")}, TTL: 700, User: "u-" + id,
	})
	if err != nil {
		t.Fatal(err)
	}
	if !s.Created || s.TTL != 700 || s.User != "u-"+id {
		t.Fatalf("create by PUT: %+v", s)
	}

	// If-None-Match: * is create only.
	_, err = c.Replace(ctx, id, sessiond.ReplaceOptions{}, sessiond.IfNoneMatch("*"))
	wantErr(t, err, sessiond.ErrPreconditionFailed)

	// Data is replaced whole; ttl and user are kept when not given.
	s2, err := c.Replace(ctx, id, sessiond.ReplaceOptions{Data: map[string]json.RawMessage{"c": raw("3")}}, sessiond.IfMatch(s.ETag))
	if err != nil {
		t.Fatal(err)
	}
	if s2.Created || len(s2.Data) != 1 || string(s2.Data["c"]) != "3" || s2.TTL != 700 || s2.User != "u-"+id {
		t.Fatalf("replace: %+v", s2)
	}
	if s2.Version() <= s.Version() {
		t.Errorf("version did not grow: %d → %d", s.Version(), s2.Version())
	}
	if livetest.Redis(t, "HEXISTS", key, "data:a") != "0" {
		t.Error("Redis still has data:a after a replace")
	}

	// A stale ETag (or version) fails and changes nothing.
	_, err = c.Replace(ctx, id, sessiond.ReplaceOptions{}, sessiond.IfMatch(s.ETag))
	wantErr(t, err, sessiond.ErrPreconditionFailed)
	_, err = c.Replace(ctx, id, sessiond.ReplaceOptions{}, sessiond.IfVersion(s.Version()))
	wantErr(t, err, sessiond.ErrPreconditionFailed)
	var pe *sessiond.Error
	if !errors.As(err, &pe) || pe.Status != 412 || pe.Title == "" {
		t.Errorf("412 as *Error: %#v", pe)
	}
	// A list of ETags matches any of them; bare versions are quoted.
	s3, err := c.Replace(ctx, id, sessiond.ReplaceOptions{Data: s2.Data}, sessiond.IfMatch("999", strconv.FormatInt(s2.Version(), 10)))
	if err != nil {
		t.Fatal(err)
	}

	// Replace only (If-Match: *), resetting ttl and dropping the owner.
	s4, err := c.Replace(ctx, id, sessiond.ReplaceOptions{DefaultTTL: true, ClearUser: true}, sessiond.IfMatch("*"))
	if err != nil {
		t.Fatal(err)
	}
	if s4.TTL != 1209600 || s4.User != "" || len(s4.Data) != 0 || s4.Version() <= s3.Version() {
		t.Fatalf("replace with defaults: %+v", s4)
	}
	if livetest.Redis(t, "HEXISTS", key, "meta:user") != "0" {
		t.Error("meta:user survived ClearUser")
	}
}

func TestPatch(t *testing.T) {
	c := client(t)
	s := create(t, c, sessiond.CreateOptions{Data: map[string]json.RawMessage{"keep": raw(`"k"`), "drop": raw("1")}})
	p, err := c.Patch(ctx, s.ID, map[string]json.RawMessage{"step": raw("2"), "obj": raw(`{"x":[1,{"y":null}]}`)}, []string{"drop"})
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Data) != 3 || string(p.Data["keep"]) != `"k"` || string(p.Data["step"]) != "2" || p.Data["drop"] != nil {
		t.Fatalf("patched data: %s", mustJSON(p.Data))
	}
	if p.ETag == "" || p.Version() != s.Version()+1 {
		t.Errorf("patch ETag %q after %q", p.ETag, s.ETag)
	}
	if v := livetest.Redis(t, "HGET", livetest.SessionKey(s.ID), "data:obj"); v != `{"x":[1,{"y":null}]}` {
		t.Errorf("Redis data:obj = %s", v)
	}
	// If-Match with a stale ETag fails; with the current one it succeeds.
	_, err = c.Patch(ctx, s.ID, map[string]json.RawMessage{"step": raw("3")}, nil, sessiond.IfMatch(s.ETag))
	wantErr(t, err, sessiond.ErrPreconditionFailed)
	if _, err = c.Patch(ctx, s.ID, map[string]json.RawMessage{"step": raw("3")}, nil, sessiond.IfMatch(p.ETag)); err != nil {
		t.Fatal(err)
	}
	// A patch never creates.
	missing := uniq("patch-missing")
	_, err = c.Patch(ctx, missing, map[string]json.RawMessage{"a": raw("1")}, nil)
	wantErr(t, err, sessiond.ErrNotFound)
	if livetest.RedisInt(t, "EXISTS", livetest.SessionKey(missing)) != 0 {
		t.Error("PATCH created a session")
	}
	// Bad JSON never leaves the client.
	_, err = c.Patch(ctx, s.ID, map[string]json.RawMessage{"a": raw("{nope")}, nil)
	wantErr(t, err, sessiond.ErrInvalid)
}

func TestConcurrentPatchesOnDifferentKeysKeepAll(t *testing.T) {
	c := client(t)
	s := create(t, c, sessiond.CreateOptions{})
	const writers, rounds = 16, 10
	var wg sync.WaitGroup
	errs := make(chan error, writers*rounds)
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for r := 0; r < rounds; r++ {
				key := fmt.Sprintf("w%d", w)
				if _, err := c.Patch(ctx, s.ID, map[string]json.RawMessage{key: sessiond.Value(r)}, nil); err != nil {
					errs <- err
				}
			}
		}(w)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	got, err := c.Get(ctx, s.ID)
	if err != nil {
		t.Fatal(err)
	}
	for w := 0; w < writers; w++ {
		if v := string(got.Data[fmt.Sprintf("w%d", w)]); v != strconv.Itoa(rounds-1) {
			t.Errorf("w%d = %q, want %d", w, v, rounds-1)
		}
	}
	if n := livetest.RedisInt(t, "HLEN", livetest.SessionKey(s.ID)); n < writers {
		t.Errorf("Redis hash has %d fields, want >= %d", n, writers)
	}
	if got.Version() != 1+writers*rounds {
		t.Errorf("version %d, want %d (one per patch)", got.Version(), 1+writers*rounds)
	}
}

func TestDelete(t *testing.T) {
	c := client(t)
	user := uniq("deleter")
	s := create(t, c, sessiond.CreateOptions{User: user})
	if err := c.Delete(ctx, s.ID); err != nil {
		t.Fatal(err)
	}
	_, err := c.Get(ctx, s.ID)
	wantErr(t, err, sessiond.ErrNotFound)
	if errors.Is(err, sessiond.ErrKeyNotFound) || errors.Is(err, sessiond.ErrUnavailable) {
		t.Errorf("a missing session is more than ErrNotFound: %v", err)
	}
	if livetest.RedisInt(t, "EXISTS", livetest.SessionKey(s.ID)) != 0 {
		t.Error("the Redis key survived DELETE")
	}
	if livetest.RedisInt(t, "SISMEMBER", "sessiond:user:"+user, s.ID) != 0 {
		t.Error("the user index still names the deleted session")
	}
	if err := c.Delete(ctx, s.ID); err != nil {
		t.Errorf("deleting an absent session: %v", err)
	}
}

func TestDataKeys(t *testing.T) {
	c := client(t)
	s := create(t, c, sessiond.CreateOptions{TTL: 900, User: uniq("keys")})
	// Keys with path-hostile characters travel percent-encoded.
	key := "a/b c?d%e+f#é"
	etag, err := c.SetKey(ctx, s.ID, key, raw(`{"n": 1}`))
	if err != nil {
		t.Fatal(err)
	}
	if etag != `"2"` {
		t.Errorf("SetKey ETag %q, want \"2\"", etag)
	}
	if v := livetest.Redis(t, "HGET", livetest.SessionKey(s.ID), "data:"+key); v != `{"n":1}` && v != `{"n": 1}` {
		t.Errorf("Redis data:%s = %s", key, v)
	}
	v, err := c.GetKey(ctx, s.ID, key)
	if err != nil {
		t.Fatal(err)
	}
	var got struct{ N int }
	if err := json.Unmarshal(v, &got); err != nil || got.N != 1 {
		t.Errorf("GetKey = %s", v)
	}
	if _, err := c.SetKey(ctx, s.ID, "nil", nil); err != nil {
		t.Fatal(err)
	}
	if v, _ := c.GetKey(ctx, s.ID, "nil"); string(v) != "null" {
		t.Errorf("a nil value is stored as %s, want null", v)
	}

	// A stale ETag on a key write fails.
	_, err = c.SetKey(ctx, s.ID, key, raw("2"), sessiond.IfMatch(`"1"`))
	wantErr(t, err, sessiond.ErrPreconditionFailed)

	// Missing key vs missing session.
	_, err = c.GetKey(ctx, s.ID, "absent")
	wantErr(t, err, sessiond.ErrKeyNotFound)
	wantErr(t, err, sessiond.ErrNotFound)
	gone := uniq("gone")
	_, err = c.GetKey(ctx, gone, "absent")
	wantErr(t, err, sessiond.ErrNotFound)
	if errors.Is(err, sessiond.ErrKeyNotFound) {
		t.Errorf("a missing session is ErrKeyNotFound: %v", err)
	}
	_, err = c.SetKey(ctx, gone, "k", raw("1"))
	wantErr(t, err, sessiond.ErrNotFound)
	if livetest.RedisInt(t, "EXISTS", livetest.SessionKey(gone)) != 0 {
		t.Error("a key write created a session")
	}
	_, err = c.DeleteKey(ctx, gone, "k")
	wantErr(t, err, sessiond.ErrNotFound)
	_, err = c.Clear(ctx, gone)
	wantErr(t, err, sessiond.ErrNotFound)
	_, err = c.SetKey(ctx, s.ID, "bad", raw("{nope"))
	wantErr(t, err, sessiond.ErrInvalid)

	etag, err = c.DeleteKey(ctx, s.ID, key)
	if err != nil || etag == "" {
		t.Fatalf("DeleteKey: %q %v", etag, err)
	}
	_, err = c.GetKey(ctx, s.ID, key)
	wantErr(t, err, sessiond.ErrKeyNotFound)
	if _, err := c.DeleteKey(ctx, s.ID, "never-there"); err != nil {
		t.Errorf("deleting an absent key: %v", err)
	}

	// Clear empties the data, keeps the session with its ttl and owner.
	if _, err := c.SetKey(ctx, s.ID, "x", raw("1")); err != nil {
		t.Fatal(err)
	}
	etag, err = c.Clear(ctx, s.ID)
	if err != nil || etag == "" {
		t.Fatalf("Clear: %q %v", etag, err)
	}
	after, err := c.Get(ctx, s.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(after.Data) != 0 || after.TTL != 900 || after.User != s.User || after.ETag != etag {
		t.Errorf("after Clear: %+v (Clear's ETag %q)", after, etag)
	}
}

func TestExpiry(t *testing.T) {
	c := client(t)
	s := create(t, c, sessiond.CreateOptions{TTL: 300})
	key := livetest.SessionKey(s.ID)
	e, err := c.GetExpiry(ctx, s.ID)
	if err != nil {
		t.Fatal(err)
	}
	if e.TTL != 300 || e.ExpiresIn < 290 || e.ETag == "" {
		t.Errorf("GetExpiry: %+v", e)
	}

	e, err = c.SetTTL(ctx, s.ID, 600)
	if err != nil {
		t.Fatal(err)
	}
	if e.TTL != 600 || livetest.RedisInt(t, "TTL", key) < 590 {
		t.Errorf("SetTTL: %+v, Redis TTL %s", e, livetest.Redis(t, "TTL", key))
	}
	if livetest.Redis(t, "HGET", key, "meta:ttl") != "600" {
		t.Errorf("meta:ttl = %s", livetest.Redis(t, "HGET", key, "meta:ttl"))
	}

	e, err = c.ResetTTL(ctx, s.ID)
	if err != nil {
		t.Fatal(err)
	}
	if e.TTL != 1209600 || livetest.RedisInt(t, "TTL", key) < 1209590 {
		t.Errorf("ResetTTL: %+v", e)
	}

	at := time.Now().Add(time.Hour).Truncate(time.Second)
	e, err = c.SetExpiresAt(ctx, s.ID, at)
	if err != nil {
		t.Fatal(err)
	}
	if d := e.ExpiresAt.Sub(at); d < -time.Second || d > time.Second {
		t.Errorf("expires_at %v, want %v", e.ExpiresAt, at)
	}
	if ttl := livetest.RedisInt(t, "TTL", key); ttl < 3590 || ttl > 3601 {
		t.Errorf("Redis TTL %d after SetExpiresAt, want ~3600", ttl)
	}
	// A fixed expiry no longer slides on reads.
	if _, err := c.Get(ctx, s.ID); err != nil {
		t.Fatal(err)
	}
	if ttl := livetest.RedisInt(t, "TTL", key); ttl > 3601 {
		t.Errorf("a read slid a fixed expiry to %d", ttl)
	}

	_, err = c.SetTTL(ctx, s.ID, 0)
	wantErr(t, err, sessiond.ErrInvalid)
	_, err = c.SetExpiresAt(ctx, s.ID, time.Now().AddDate(5, 0, 0))
	wantErr(t, err, sessiond.ErrInvalid)
	_, err = c.SetTTL(ctx, uniq("nobody"), 60)
	wantErr(t, err, sessiond.ErrNotFound)
	_, err = c.GetExpiry(ctx, uniq("nobody"))
	wantErr(t, err, sessiond.ErrNotFound)
}

func TestCycle(t *testing.T) {
	c := client(t)
	user := uniq("cycler")
	s := create(t, c, sessiond.CreateOptions{Data: map[string]json.RawMessage{"cart": raw("[7]")}, TTL: 800, User: user})
	n, err := c.Cycle(ctx, s.ID)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Delete(ctx, n.ID) })
	if n.ID == s.ID || len(n.ID) != 32 || !n.Created {
		t.Fatalf("cycled: %+v", n)
	}
	if string(n.Data["cart"]) != "[7]" || n.TTL != 800 || n.User != user || !n.CreatedAt.Equal(s.CreatedAt) {
		t.Errorf("cycle lost something: %+v (was %+v)", n, s)
	}
	_, err = c.Get(ctx, s.ID)
	wantErr(t, err, sessiond.ErrNotFound)
	if livetest.RedisInt(t, "EXISTS", livetest.SessionKey(s.ID)) != 0 {
		t.Error("the old id survived the cycle")
	}
	list, err := c.UserSessions(ctx, user)
	if err != nil || len(list) != 1 || list[0].ID != n.ID {
		t.Errorf("user index after cycle: %v %v", ids(list), err)
	}
	_, err = c.Cycle(ctx, s.ID)
	wantErr(t, err, sessiond.ErrNotFound)
}

func ids(list []*sessiond.Session) []string {
	out := make([]string, len(list))
	for i, s := range list {
		out[i] = s.ID
	}
	return out
}

func TestUserSessions(t *testing.T) {
	c := client(t)
	user := uniq("multi") + "/é" // needs percent-encoding
	var made []*sessiond.Session
	for i := 0; i < 3; i++ {
		made = append(made, create(t, c, sessiond.CreateOptions{User: user, Data: map[string]json.RawMessage{"i": sessiond.Value(i)}}))
	}
	create(t, c, sessiond.CreateOptions{User: user + "-other"})
	list, err := c.UserSessions(ctx, user)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 3 {
		t.Fatalf("UserSessions: %v", ids(list))
	}
	for _, s := range list {
		if s.User != user || s.ETag != "" {
			t.Errorf("listed session %+v", s)
		}
	}
	n, err := c.DeleteUserSessions(ctx, user, made[1].ID)
	if err != nil || n != 2 {
		t.Fatalf("DeleteUserSessions(except) = %d, %v", n, err)
	}
	list, err = c.UserSessions(ctx, user)
	if err != nil || len(list) != 1 || list[0].ID != made[1].ID {
		t.Fatalf("after log out elsewhere: %v %v", ids(list), err)
	}
	for _, i := range []int{0, 2} {
		if ok, _ := c.Exists(ctx, made[i].ID); ok {
			t.Errorf("session %d survived", i)
		}
	}
	n, err = c.DeleteUserSessions(ctx, user, "")
	if err != nil || n != 1 {
		t.Fatalf("DeleteUserSessions = %d, %v", n, err)
	}
	if list, err := c.UserSessions(ctx, user); err != nil || len(list) != 0 || list == nil {
		t.Errorf("no sessions left: %#v %v", list, err)
	}
	if list, _ := c.UserSessions(ctx, user+"-other"); len(list) != 1 {
		t.Errorf("another user's session was touched: %v", ids(list))
	}
	_, err = c.DeleteUserSessions(ctx, user, "bad id!")
	wantErr(t, err, sessiond.ErrInvalid)
}

// DeleteAll runs against a daemon of its own with another key prefix, so it
// cannot drop the sessions of tests running in parallel (the middleware's).
func TestDeleteAll(t *testing.T) {
	prefix := uniq("gotest-flush") + ":"
	url := livetest.StartDaemon(t, "--redis", "redis://127.0.0.1:"+livetest.Env(t, "SESSIOND_TEST_REDIS_PORT")+"/0", "--key-prefix", prefix)
	c := sessiond.NewClient(url)
	defer c.CloseIdleConnections()
	for i := 0; i < 5; i++ {
		if _, err := c.Create(ctx, sessiond.CreateOptions{User: "flushed"}); err != nil {
			t.Fatal(err)
		}
	}
	outside := create(t, client(t), sessiond.CreateOptions{})
	n, err := c.DeleteAll(ctx)
	if err != nil || n != 5 {
		t.Fatalf("DeleteAll = %d, %v", n, err)
	}
	if keys := livetest.Redis(t, "--scan", "--pattern", prefix+"*"); keys != "" {
		t.Errorf("keys left under %s: %s", prefix, keys)
	}
	if ok, err := client(t).Exists(ctx, outside.ID); !ok || err != nil {
		t.Errorf("a session outside the prefix was dropped (%v)", err)
	}
	if n, err := c.DeleteAll(ctx); err != nil || n != 0 {
		t.Errorf("second DeleteAll = %d, %v", n, err)
	}
}

func TestHealthAndReady(t *testing.T) {
	c := client(t)
	if err := c.Health(ctx); err != nil {
		t.Error(err)
	}
	if err := c.Ready(ctx); err != nil {
		t.Error(err)
	}
}

func TestToken(t *testing.T) {
	url := livetest.Env(t, "SESSIOND_TEST_TOKEN_URL")
	token := livetest.Env(t, "SESSIOND_TEST_TOKEN")

	anon := sessiond.NewClient(url)
	_, err := anon.Create(ctx, sessiond.CreateOptions{})
	wantErr(t, err, sessiond.ErrUnauthorized)
	var e *sessiond.Error
	if !errors.As(err, &e) || e.Status != 401 || e.Detail == "" {
		t.Errorf("401: %#v", e)
	}
	_, err = sessiond.NewClient(url, sessiond.WithToken("wrong-"+token)).Get(ctx, "abcdefgh12")
	wantErr(t, err, sessiond.ErrUnauthorized)
	// Probes stay open without a token.
	if err := anon.Health(ctx); err != nil {
		t.Error(err)
	}
	if err := anon.Ready(ctx); err != nil {
		t.Error(err)
	}

	c := sessiond.NewClient(url, sessiond.WithToken(token))
	s, err := c.Create(ctx, sessiond.CreateOptions{Data: map[string]json.RawMessage{"t": raw("1")}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Delete(ctx, s.ID)
	if _, err := c.Patch(ctx, s.ID, map[string]json.RawMessage{"u": raw("2")}, nil); err != nil {
		t.Fatal(err)
	}
	if v, err := c.GetKey(ctx, s.ID, "u"); err != nil || string(v) != "2" {
		t.Errorf("GetKey with token = %s, %v", v, err)
	}
	if _, err := c.UserSessions(ctx, "nobody-"+s.ID); err != nil {
		t.Error(err)
	}
}

func TestUnixSocket(t *testing.T) {
	sock := livetest.Env(t, "SESSIOND_TEST_SOCKET")
	check := func(t *testing.T, c *sessiond.Client) {
		t.Helper()
		defer c.CloseIdleConnections()
		s, err := c.Create(ctx, sessiond.CreateOptions{Data: map[string]json.RawMessage{"via": raw(`"unix"`)}})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Delete(ctx, s.ID)
		if v := livetest.Redis(t, "HGET", livetest.SessionKey(s.ID), "data:via"); v != `"unix"` {
			t.Errorf("Redis data:via = %s", v)
		}
		if _, err := c.SetKey(ctx, s.ID, "k", raw("1")); err != nil {
			t.Fatal(err)
		}
		if err := c.Ready(ctx); err != nil {
			t.Error(err)
		}
	}
	t.Run("URL", func(t *testing.T) { check(t, sessiond.NewClient("unix://"+sock)) })
	t.Run("ShortURL", func(t *testing.T) { check(t, sessiond.NewClient("unix:"+sock)) })
	t.Run("Option", func(t *testing.T) {
		check(t, sessiond.NewClient("http://localhost", sessiond.WithUnixSocket(sock)))
	})
	t.Run("OptionWithHTTPClient", func(t *testing.T) {
		hc := &http.Client{Transport: &http.Transport{}}
		check(t, sessiond.NewClient("http://localhost", sessiond.WithHTTPClient(hc), sessiond.WithUnixSocket(sock)))
	})
	t.Run("MissingSocket", func(t *testing.T) {
		_, err := sessiond.NewClient("unix://"+filepath.Join(t.TempDir(), "none.sock")).Get(ctx, "abcdefgh12")
		wantErr(t, err, sessiond.ErrUnavailable)
	})
}

type countingTransport struct {
	n    int64
	next http.RoundTripper
}

func (c *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	atomic.AddInt64(&c.n, 1)
	return c.next.RoundTrip(r)
}

func TestWithHTTPClient(t *testing.T) {
	tr := &countingTransport{next: http.DefaultTransport}
	c := client(t, sessiond.WithHTTPClient(&http.Client{Transport: tr}), sessiond.WithUserAgent("probe/1"))
	create(t, c, sessiond.CreateOptions{})
	if atomic.LoadInt64(&tr.n) != 1 {
		t.Errorf("the given client carried %d requests, want 1", tr.n)
	}
	// A unix socket cannot be dialled through a RoundTripper we cannot clone.
	_, err := sessiond.NewClient("unix:///x.sock", sessiond.WithHTTPClient(&http.Client{Transport: tr})).Get(ctx, "abcdefgh12")
	wantErr(t, err, sessiond.ErrInvalid)
}

// A daemon whose Redis is down answers 503 (with Retry-After) and the client
// says ErrUnavailable, never ErrNotFound: a dead Redis must not look like a
// logged-out user.
func TestDeadRedisIsUnavailable(t *testing.T) {
	dead := livetest.FreePort(t)
	url := livetest.StartDaemon(t, "--redis", fmt.Sprintf("redis://127.0.0.1:%d/0", dead), "--redis-timeout", "500ms")
	c := sessiond.NewClient(url)
	defer c.CloseIdleConnections()

	if err := c.Health(ctx); err != nil {
		t.Errorf("healthz with a dead Redis: %v", err)
	}
	err := c.Ready(ctx)
	wantErr(t, err, sessiond.ErrUnavailable)

	calls := map[string]func() error{
		"Create": func() error { _, err := c.Create(ctx, sessiond.CreateOptions{}); return err },
		"Get":    func() error { _, err := c.Get(ctx, "abcdefgh12"); return err },
		"Exists": func() error { _, err := c.Exists(ctx, "abcdefgh12"); return err },
		"Patch": func() error {
			_, err := c.Patch(ctx, "abcdefgh12", map[string]json.RawMessage{"a": raw("1")}, nil)
			return err
		},
		"SetKey": func() error { _, err := c.SetKey(ctx, "abcdefgh12", "a", raw("1")); return err },
		"Delete": func() error { return c.Delete(ctx, "abcdefgh12") },
		"Users":  func() error { _, err := c.UserSessions(ctx, "someone"); return err },
	}
	for name, call := range calls {
		err := call()
		if !errors.Is(err, sessiond.ErrUnavailable) || errors.Is(err, sessiond.ErrNotFound) {
			t.Errorf("%s: %v is not (only) ErrUnavailable", name, err)
			continue
		}
		var e *sessiond.Error
		if !errors.As(err, &e) || (e.Status != 503 && e.Status != 504) {
			t.Errorf("%s: want a 503/504 *Error, got %#v", name, err)
			continue
		}
		if e.Status == 503 && e.RetryAfter <= 0 {
			t.Errorf("%s: 503 without Retry-After", name)
		}
		if e.RequestID == "" || (e.Detail == "" && name != "Exists") { // HEAD has no body
			t.Errorf("%s: problem without detail/request id: %+v", name, e)
		}
	}
}

func TestTransportErrorsAreUnavailable(t *testing.T) {
	t.Run("Refused", func(t *testing.T) {
		c := sessiond.NewClient(fmt.Sprintf("http://127.0.0.1:%d", livetest.FreePort(t)))
		_, err := c.Get(ctx, "abcdefgh12")
		wantErr(t, err, sessiond.ErrUnavailable)
		var op *net.OpError
		if !errors.As(err, &op) {
			t.Errorf("the cause is lost: %v", err)
		}
		if errors.Is(c.Ready(ctx), sessiond.ErrUnavailable) == false {
			t.Error("Ready of a refused daemon is not ErrUnavailable")
		}
	})
	// A peer that accepts and never answers: the client's own timeout ends
	// the call as ErrUnavailable and context.DeadlineExceeded.
	silent, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	var held []net.Conn
	var mu sync.Mutex
	go func() {
		for {
			conn, err := silent.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			held = append(held, conn)
			mu.Unlock()
		}
	}()
	defer func() {
		mu.Lock()
		for _, c := range held {
			c.Close()
		}
		mu.Unlock()
	}()
	url := "http://" + silent.Addr().String()
	t.Run("Timeout", func(t *testing.T) {
		c := sessiond.NewClient(url, sessiond.WithTimeout(150*time.Millisecond))
		start := time.Now()
		_, err := c.Get(ctx, "abcdefgh12")
		wantErr(t, err, sessiond.ErrUnavailable)
		wantErr(t, err, context.DeadlineExceeded)
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("the timeout took %v", d)
		}
	})
	t.Run("CallerDeadline", func(t *testing.T) {
		c := sessiond.NewClient(url, sessiond.WithTimeout(0))
		cctx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
		defer cancel()
		_, err := c.Get(cctx, "abcdefgh12")
		wantErr(t, err, sessiond.ErrUnavailable)
		wantErr(t, err, context.DeadlineExceeded)
	})
	t.Run("CallerCancel", func(t *testing.T) {
		c := sessiond.NewClient(url)
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		_, err := c.Get(cctx, "abcdefgh12")
		wantErr(t, err, context.Canceled)
		if errors.Is(err, sessiond.ErrUnavailable) {
			t.Errorf("a cancel by the caller is ErrUnavailable: %v", err)
		}
	})
}

func TestErrorCarriesProblem(t *testing.T) {
	c := client(t)
	_, err := c.Get(ctx, "no") // too short: 400 before Redis
	wantErr(t, err, sessiond.ErrInvalid)
	var e *sessiond.Error
	if !errors.As(err, &e) {
		t.Fatalf("%T is not *Error", err)
	}
	if e.Status != 400 || e.Title != "Bad Request" || e.Detail == "" || e.Method != "GET" || e.Path != "/v1/sessions/no" {
		t.Errorf("problem: %+v", e)
	}
	if msg := e.Error(); msg == "" || !containsAll(msg, "400", "GET", e.Detail) {
		t.Errorf("Error() = %q", msg)
	}
	_, err = c.Get(ctx, uniq("missing"))
	if !errors.As(err, &e) || e.Status != 404 || e.Title != "Not Found" {
		t.Errorf("404: %+v", e)
	}
	// Too large a body is 413, also ErrInvalid.
	big := make([]byte, 0, 1<<21)
	big = append(big, '"')
	for len(big) < 1<<21 {
		big = append(big, 'x')
	}
	big = append(big, '"')
	s := create(t, c, sessiond.CreateOptions{})
	_, err = c.SetKey(ctx, s.ID, "big", big)
	wantErr(t, err, sessiond.ErrInvalid)
	if !errors.As(err, &e) || e.Status != 413 {
		t.Errorf("2 MiB value: %v", err)
	}
}

func containsAll(s string, parts ...string) bool {
	for _, p := range parts {
		if !strings.Contains(s, p) {
			return false
		}
	}
	return true
}

func TestBadURLFailsEveryCall(t *testing.T) {
	for _, u := range []string{"ftp://x", "127.0.0.1:8080", "unix://", "http://h/?q=1"} {
		c := sessiond.NewClient(u)
		if _, err := c.Get(ctx, "abcdefgh12"); !errors.Is(err, sessiond.ErrInvalid) {
			t.Errorf("NewClient(%q).Get: %v", u, err)
		}
		if err := c.Health(ctx); !errors.Is(err, sessiond.ErrInvalid) {
			t.Errorf("NewClient(%q).Health: %v", u, err)
		}
	}
	c := client(t)
	if _, err := c.Get(ctx, ""); !errors.Is(err, sessiond.ErrInvalid) {
		t.Errorf("Get(\"\"): %v", err)
	}
	if _, err := c.GetKey(ctx, "abcdefgh12", ""); !errors.Is(err, sessiond.ErrInvalid) {
		t.Errorf("GetKey(key \"\"): %v", err)
	}
}

// A path prefix in the URL is kept: a daemon behind a reverse proxy.
func TestURLWithTrailingSlash(t *testing.T) {
	c := sessiond.NewClient(livetest.URL(t) + "/")
	s := create(t, c, sessiond.CreateOptions{})
	if _, err := c.Get(ctx, s.ID); err != nil {
		t.Error(err)
	}
}

// Device and last_seen_at are newer members; a daemon that predates them
// refuses "device" with a 400 naming it, and then there is nothing to test.
func TestDevice(t *testing.T) {
	c := client(t)
	s, err := c.Create(ctx, sessiond.CreateOptions{User: uniq("dev"), Device: raw(`{"user_agent":"go-test","ip":"192.0.2.1"}`)})
	var e *sessiond.Error
	if errors.As(err, &e) && e.Status == 400 && strings.Contains(e.Detail, "device") {
		t.Skipf("this daemon predates devices: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer c.Delete(ctx, s.ID)
	var d struct {
		UserAgent string `json:"user_agent"`
	}
	if json.Unmarshal(s.Device, &d) != nil || d.UserAgent != "go-test" {
		t.Errorf("device = %s", s.Device)
	}
	if s.LastSeenAt == nil {
		t.Error("a session with a user and device has no last_seen_at")
	}
	r, err := c.Replace(ctx, s.ID, sessiond.ReplaceOptions{}, sessiond.IfMatch("*"))
	if err != nil || string(r.Device) != string(s.Device) {
		t.Errorf("a replace without device dropped it: %s %v", r.Device, err)
	}
	r, err = c.Replace(ctx, s.ID, sessiond.ReplaceOptions{Device: raw("null")}, sessiond.IfMatch("*"))
	if err != nil || r.Device != nil {
		t.Errorf("device null did not clear it: %s %v", r.Device, err)
	}
}

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}

func harnessRedis(t *testing.T) string {
	return "redis://127.0.0.1:" + livetest.Env(t, "SESSIOND_TEST_REDIS_PORT") + "/0"
}

// On a --no-touch-on-read daemon a plain read leaves the TTL alone and
// Touch(true) still slides it.
func TestTouchOnNoTouchDaemon(t *testing.T) {
	c := sessiond.NewClient(livetest.StartDaemon(t, "--redis", harnessRedis(t), "--no-touch-on-read"))
	defer c.CloseIdleConnections()
	s, err := c.Create(ctx, sessiond.CreateOptions{TTL: 1000})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Delete(ctx, s.ID)
	key := livetest.SessionKey(s.ID)
	livetest.Redis(t, "EXPIRE", key, "500")
	if _, err := c.Get(ctx, s.ID); err != nil {
		t.Fatal(err)
	}
	if ttl := livetest.RedisInt(t, "TTL", key); ttl > 500 {
		t.Errorf("a plain read slid the TTL to %d on a --no-touch-on-read daemon", ttl)
	}
	if _, err := c.Get(ctx, s.ID, sessiond.Touch(true)); err != nil {
		t.Fatal(err)
	}
	if ttl := livetest.RedisInt(t, "TTL", key); ttl < 990 {
		t.Errorf("Touch(true) left the TTL at %d", ttl)
	}
}

// Sessions-Evicted (§6) arrives as Session.Evicted; a daemon without
// --max-sessions-per-user yet refuses the flag, and then there is nothing to test.
func TestSessionsEvicted(t *testing.T) {
	url, log := livetest.TryStartDaemon(t, "--redis", harnessRedis(t), "--max-sessions-per-user", "2")
	if url == "" {
		t.Skipf("this daemon has no --max-sessions-per-user: %.200s", log)
	}
	c := sessiond.NewClient(url)
	defer c.CloseIdleConnections()
	user := uniq("capped")
	defer c.DeleteUserSessions(ctx, user, "")
	var last *sessiond.Session
	for i := 0; i < 3; i++ {
		s, err := c.Create(ctx, sessiond.CreateOptions{User: user})
		if err != nil {
			t.Fatal(err)
		}
		last = s
	}
	if last.Evicted != 1 {
		t.Errorf("third session of a user capped at 2: Evicted = %d, want 1", last.Evicted)
	}
	if list, err := c.UserSessions(ctx, user); err != nil || len(list) != 2 {
		t.Errorf("after the cap: %v %v", ids(list), err)
	}
}
