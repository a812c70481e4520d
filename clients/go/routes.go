package sessiond

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// ReadOption adjusts a read (Get, Exists, GetKey, GetExpiry).
type ReadOption func(url.Values)

// Touch(false) reads without sliding the session's TTL (?touch=false), so a
// background job or an admin page does not keep a session alive; Touch(true)
// asks for the slide explicitly. Without either the daemon's setting holds.
func Touch(on bool) ReadOption {
	return func(q url.Values) { q.Set("touch", strconv.FormatBool(on)) }
}

// NoTouch is Touch(false).
var NoTouch = Touch(false)

// Condition is an If-Match or If-None-Match precondition of a write. A write
// whose condition fails returns an error that is ErrPreconditionFailed.
type Condition struct{ header, value string }

// IfMatch writes only if the session's ETag is one of etags. "*" means "if
// the session exists": a replace that never creates, so a late request
// cannot bring back a session that was logged out. A bare version ("3") is
// quoted for you.
func IfMatch(etags ...string) Condition { return Condition{"If-Match", etagList(etags)} }

// IfNoneMatch("*") writes only if the session does not exist (create only).
func IfNoneMatch(etags ...string) Condition { return Condition{"If-None-Match", etagList(etags)} }

// IfVersion is IfMatch of the ETag of version v (Session.Version).
func IfVersion(v int64) Condition { return IfMatch(strconv.FormatInt(v, 10)) }

func etagList(etags []string) string {
	out := make([]string, len(etags))
	for i, t := range etags {
		if t == "*" || strings.HasPrefix(t, `"`) || strings.HasPrefix(t, "W/") {
			out[i] = t
		} else {
			out[i] = `"` + t + `"`
		}
	}
	return strings.Join(out, ", ")
}

func conditions(conds []Condition) map[string]string {
	if len(conds) == 0 {
		return nil
	}
	h := make(map[string]string, len(conds))
	for _, c := range conds {
		if c.header != "" {
			h[c.header] = c.value
		}
	}
	return h
}

func readQuery(opts []ReadOption) url.Values {
	if len(opts) == 0 {
		return nil
	}
	q := url.Values{}
	for _, o := range opts {
		o(q)
	}
	return q
}

func sessionPath(id string) (string, error) {
	if id == "" {
		return "", &invalidError{"empty session id"}
	}
	return "/v1/sessions/" + url.PathEscape(id), nil
}

func keyPath(id, key string) (string, error) {
	p, err := sessionPath(id)
	if err != nil {
		return "", err
	}
	if key == "" {
		return "", &invalidError{"empty data key"}
	}
	return p + "/data/" + url.PathEscape(key), nil
}

func userPath(user string) (string, error) {
	if user == "" {
		return "", &invalidError{"empty user"}
	}
	return "/v1/users/" + url.PathEscape(user) + "/sessions", nil
}

func decodeSession(r *response) (*Session, error) {
	s := new(Session)
	if err := json.Unmarshal(r.body, s); err != nil {
		return nil, err
	}
	s.ETag = r.header.Get("ETag")
	s.Created = r.status == http.StatusCreated
	s.Evicted, _ = strconv.Atoi(r.header.Get("Sessions-Evicted"))
	return s, nil
}

func marshalData(data map[string]json.RawMessage) (json.RawMessage, error) {
	if data == nil {
		return json.RawMessage("{}"), nil
	}
	b, err := json.Marshal(data)
	if err != nil {
		return nil, &invalidError{"data: " + err.Error()}
	}
	return b, nil
}

// CreateOptions are the members of a new session; the zero value is an empty
// session with the daemon's default ttl and no owner.
type CreateOptions struct {
	Data map[string]json.RawMessage
	// TTL is the idle timeout in seconds; 0 means the daemon's --default-ttl.
	TTL int64
	// User is the owner, for UserSessions and DeleteUserSessions; "" for none.
	User string
	// Device is any JSON object of at most 2 KiB (user agent, ip…); nil for none.
	Device json.RawMessage
	// ID, when set, creates the session under this id with a create-only PUT
	// (If-None-Match: *); a taken id is ErrPreconditionFailed. Leave it
	// empty to let the daemon pick an unguessable one, as you should for
	// ids that reach browsers.
	ID string
}

// Create makes a session (POST /v1/sessions, or PUT with If-None-Match: *
// when o.ID is set).
func (c *Client) Create(ctx context.Context, o CreateOptions) (*Session, error) {
	body := map[string]json.RawMessage{}
	if o.Data != nil {
		d, err := marshalData(o.Data)
		if err != nil {
			return nil, err
		}
		body["data"] = d
	}
	if o.TTL != 0 {
		body["ttl"] = Value(o.TTL)
	}
	if o.User != "" {
		body["user"] = Value(o.User)
	}
	if o.Device != nil {
		body["device"] = o.Device
	}
	raw, err := json.Marshal(body)
	if err != nil {
		return nil, &invalidError{err.Error()}
	}
	r := request{method: http.MethodPost, path: "/v1/sessions", body: raw}
	if o.ID != "" {
		if r.path, err = sessionPath(o.ID); err != nil {
			return nil, err
		}
		r.method = http.MethodPut
		r.headers = map[string]string{"If-None-Match": "*"}
	}
	resp, err := c.do(ctx, r, http.StatusCreated)
	if err != nil {
		return nil, err
	}
	return decodeSession(resp)
}

// Get reads a session; it slides the TTL unless NoTouch is given.
func (c *Client) Get(ctx context.Context, id string, opts ...ReadOption) (*Session, error) {
	p, err := sessionPath(id)
	if err != nil {
		return nil, err
	}
	resp, err := c.do(ctx, request{method: http.MethodGet, path: p, query: readQuery(opts)}, http.StatusOK)
	if err != nil {
		return nil, err
	}
	return decodeSession(resp)
}

// Exists asks with HEAD whether the session exists. A missing session is
// (false, nil); an unreachable daemon is an error, never a false.
func (c *Client) Exists(ctx context.Context, id string, opts ...ReadOption) (bool, error) {
	p, err := sessionPath(id)
	if err != nil {
		return false, err
	}
	_, err = c.do(ctx, request{method: http.MethodHead, path: p, query: readQuery(opts)}, http.StatusOK)
	if errors.Is(err, ErrNotFound) {
		return false, nil
	}
	return err == nil, err
}

// ReplaceOptions are the members of a replace. Data always replaces the whole
// data object; ttl, user and device stay as they are unless set here.
type ReplaceOptions struct {
	Data map[string]json.RawMessage // nil: empty data
	// TTL sets the idle timeout in seconds; 0 keeps the current one.
	TTL int64
	// DefaultTTL resets the ttl to the daemon's --default-ttl ("ttl": null).
	DefaultTTL bool
	// User sets the owner; "" keeps the current one.
	User string
	// ClearUser removes the owner ("user": null).
	ClearUser bool
	// Device sets the device object; nil keeps it, json.RawMessage("null") clears it.
	Device json.RawMessage
}

// Replace writes a whole session with PUT, creating it when absent
// (Session.Created tells). Conditions: IfMatch("*") replaces only and never
// creates; IfMatch(etag) only if unchanged since; IfNoneMatch("*") creates only.
func (c *Client) Replace(ctx context.Context, id string, o ReplaceOptions, conds ...Condition) (*Session, error) {
	p, err := sessionPath(id)
	if err != nil {
		return nil, err
	}
	d, err := marshalData(o.Data)
	if err != nil {
		return nil, err
	}
	body := map[string]json.RawMessage{"data": d}
	switch {
	case o.DefaultTTL:
		body["ttl"] = json.RawMessage("null")
	case o.TTL != 0:
		body["ttl"] = Value(o.TTL)
	}
	switch {
	case o.ClearUser:
		body["user"] = json.RawMessage("null")
	case o.User != "":
		body["user"] = Value(o.User)
	}
	if o.Device != nil {
		body["device"] = o.Device
	}
	raw, err := json.Marshal(body)
	if err != nil {
		return nil, &invalidError{err.Error()}
	}
	resp, err := c.do(ctx, request{method: http.MethodPut, path: p, body: raw, headers: conditions(conds)},
		http.StatusOK, http.StatusCreated)
	if err != nil {
		return nil, err
	}
	return decodeSession(resp)
}

// Patch sets and deletes data keys in one atomic step, leaving every other
// key alone, so two requests changing different keys never lose each
// other's update. It never creates a session (ErrNotFound).
func (c *Client) Patch(ctx context.Context, id string, set map[string]json.RawMessage, del []string, conds ...Condition) (*Session, error) {
	p, err := sessionPath(id)
	if err != nil {
		return nil, err
	}
	body := map[string]any{}
	if len(set) > 0 {
		body["set"] = set
	}
	if len(del) > 0 {
		body["delete"] = del
	}
	raw, err := json.Marshal(body)
	if err != nil {
		return nil, &invalidError{"patch: " + err.Error()}
	}
	resp, err := c.do(ctx, request{method: http.MethodPatch, path: p, body: raw, headers: conditions(conds)}, http.StatusOK)
	if err != nil {
		return nil, err
	}
	return decodeSession(resp)
}

// Delete removes a session and its user-index entry; deleting a session
// that is already gone is no error.
func (c *Client) Delete(ctx context.Context, id string) error {
	p, err := sessionPath(id)
	if err != nil {
		return err
	}
	_, err = c.do(ctx, request{method: http.MethodDelete, path: p}, http.StatusNoContent, http.StatusOK)
	return err
}

// GetKey reads one data value as its JSON text. A missing key is an error
// that is ErrKeyNotFound (and ErrNotFound); a missing session only ErrNotFound.
func (c *Client) GetKey(ctx context.Context, id, key string, opts ...ReadOption) (json.RawMessage, error) {
	p, err := keyPath(id, key)
	if err != nil {
		return nil, err
	}
	resp, err := c.do(ctx, request{method: http.MethodGet, path: p, query: readQuery(opts), keyRead: true}, http.StatusOK)
	if err != nil {
		return nil, err
	}
	return resp.body, nil
}

// SetKey sets one data value (nil is JSON null) and returns the session's new ETag.
func (c *Client) SetKey(ctx context.Context, id, key string, value json.RawMessage, conds ...Condition) (string, error) {
	p, err := keyPath(id, key)
	if err != nil {
		return "", err
	}
	if value == nil {
		value = json.RawMessage("null")
	} else if !json.Valid(value) {
		return "", &invalidError{"value of " + strconv.Quote(key) + " is not JSON"}
	}
	resp, err := c.do(ctx, request{method: http.MethodPut, path: p, body: value, headers: conditions(conds)},
		http.StatusNoContent, http.StatusOK)
	if err != nil {
		return "", err
	}
	return resp.header.Get("ETag"), nil
}

// DeleteKey deletes one data key (an absent key is no error) and returns the new ETag.
func (c *Client) DeleteKey(ctx context.Context, id, key string, conds ...Condition) (string, error) {
	p, err := keyPath(id, key)
	if err != nil {
		return "", err
	}
	resp, err := c.do(ctx, request{method: http.MethodDelete, path: p, headers: conditions(conds)},
		http.StatusNoContent, http.StatusOK)
	if err != nil {
		return "", err
	}
	return resp.header.Get("ETag"), nil
}

// Clear empties the data but keeps the session (its id, ttl and owner), and
// returns the new ETag.
func (c *Client) Clear(ctx context.Context, id string, conds ...Condition) (string, error) {
	p, err := sessionPath(id)
	if err != nil {
		return "", err
	}
	resp, err := c.do(ctx, request{method: http.MethodDelete, path: p + "/data", headers: conditions(conds)},
		http.StatusNoContent, http.StatusOK)
	if err != nil {
		return "", err
	}
	return resp.header.Get("ETag"), nil
}

func (c *Client) expiry(ctx context.Context, r request) (*Expiry, error) {
	resp, err := c.do(ctx, r, http.StatusOK)
	if err != nil {
		return nil, err
	}
	e := new(Expiry)
	if err := json.Unmarshal(resp.body, e); err != nil {
		return nil, err
	}
	e.ETag = resp.header.Get("ETag")
	return e, nil
}

// GetExpiry reads the session's ttl and when it expires.
func (c *Client) GetExpiry(ctx context.Context, id string, opts ...ReadOption) (*Expiry, error) {
	p, err := sessionPath(id)
	if err != nil {
		return nil, err
	}
	return c.expiry(ctx, request{method: http.MethodGet, path: p + "/expiry", query: readQuery(opts)})
}

func (c *Client) putExpiry(ctx context.Context, id string, body string) (*Expiry, error) {
	p, err := sessionPath(id)
	if err != nil {
		return nil, err
	}
	return c.expiry(ctx, request{method: http.MethodPut, path: p + "/expiry", body: []byte(body)})
}

// SetTTL sets the idle timeout to ttl seconds (and resets the expiry to it).
func (c *Client) SetTTL(ctx context.Context, id string, ttl int64) (*Expiry, error) {
	return c.putExpiry(ctx, id, `{"ttl":`+strconv.FormatInt(ttl, 10)+`}`)
}

// ResetTTL restores the daemon's --default-ttl ({"ttl": null}).
func (c *Client) ResetTTL(ctx context.Context, id string) (*Expiry, error) {
	return c.putExpiry(ctx, id, `{"ttl":null}`)
}

// SetExpiresAt fixes an absolute expiry (millisecond precision); the
// session then stops sliding on reads.
func (c *Client) SetExpiresAt(ctx context.Context, id string, t time.Time) (*Expiry, error) {
	return c.putExpiry(ctx, id, `{"expires_at":"`+t.UTC().Format("2006-01-02T15:04:05.000Z07:00")+`"}`)
}

// Cycle gives the session a new id with the same data, ttl and owner, and
// removes the old id: call it at login against session fixation. The
// result's ID is the new one.
func (c *Client) Cycle(ctx context.Context, id string) (*Session, error) {
	p, err := sessionPath(id)
	if err != nil {
		return nil, err
	}
	resp, err := c.do(ctx, request{method: http.MethodPost, path: p + "/cycle"}, http.StatusCreated, http.StatusOK)
	if err != nil {
		return nil, err
	}
	return decodeSession(resp)
}

// UserSessions lists the user's live sessions, most recently seen first.
// Listing does not slide them. The sessions carry no ETag.
func (c *Client) UserSessions(ctx context.Context, user string) ([]*Session, error) {
	p, err := userPath(user)
	if err != nil {
		return nil, err
	}
	resp, err := c.do(ctx, request{method: http.MethodGet, path: p}, http.StatusOK)
	if err != nil {
		return nil, err
	}
	var body struct {
		Sessions []*Session `json:"sessions"`
	}
	if err := json.Unmarshal(resp.body, &body); err != nil {
		return nil, err
	}
	if body.Sessions == nil {
		body.Sessions = []*Session{}
	}
	return body.Sessions, nil
}

// DeleteUserSessions logs the user out everywhere, except the session
// except when it is not "" (log out my other devices). It returns how many
// sessions it deleted.
func (c *Client) DeleteUserSessions(ctx context.Context, user, except string) (int, error) {
	p, err := userPath(user)
	if err != nil {
		return 0, err
	}
	var q url.Values
	if except != "" {
		q = url.Values{"except": {except}}
	}
	return c.deleted(ctx, request{method: http.MethodDelete, path: p, query: q})
}

// DeleteAll drops every session under the daemon's key prefix
// (DELETE /v1/sessions?confirm=all) and returns how many there were.
func (c *Client) DeleteAll(ctx context.Context) (int, error) {
	return c.deleted(ctx, request{method: http.MethodDelete, path: "/v1/sessions", query: url.Values{"confirm": {"all"}}})
}

func (c *Client) deleted(ctx context.Context, r request) (int, error) {
	resp, err := c.do(ctx, r, http.StatusOK)
	if err != nil {
		return 0, err
	}
	var body struct {
		Deleted int `json:"deleted"`
	}
	err = json.Unmarshal(resp.body, &body)
	return body.Deleted, err
}

// Health is nil when the daemon process answers (GET /healthz).
func (c *Client) Health(ctx context.Context) error {
	_, err := c.do(ctx, request{method: http.MethodGet, path: "/healthz"}, http.StatusOK)
	return err
}

// Ready is nil when the daemon reaches Redis (GET /readyz); otherwise an
// error that is ErrUnavailable.
func (c *Client) Ready(ctx context.Context) error {
	_, err := c.do(ctx, request{method: http.MethodGet, path: "/readyz"}, http.StatusOK)
	return err
}
