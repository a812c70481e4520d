package sessiond

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Session is a session as the daemon returns it.
//
// Data values stay json.RawMessage, the exact JSON text the daemon stored,
// so a 64-bit integer is not rounded through float64 and the caller decides
// what type each key has.
type Session struct {
	ID        string
	Data      map[string]json.RawMessage
	TTL       int64 // idle timeout, seconds
	ExpiresIn int64 // seconds left
	ExpiresAt time.Time
	CreatedAt time.Time
	// User is the owner, "" for none.
	User string
	// Device is the JSON object given at create or replace, nil for none.
	Device json.RawMessage
	// LastSeenAt is the last write or sliding read of a session with a user
	// or device; nil when the daemon sent none.
	LastSeenAt *time.Time
	// Extra holds members this client does not know yet, so a newer daemon's
	// fields are kept rather than lost or fatal.
	Extra map[string]json.RawMessage

	// ETag is the response's ETag header (`"3"`); "" for sessions of a
	// user listing, which carry none.
	ETag string
	// Created is true when the response was 201 (a create, a cycle, or a
	// Replace that created the session).
	Created bool
	// Evicted is the Sessions-Evicted header: how many of the user's older
	// sessions the daemon deleted to honour --max-sessions-per-user.
	Evicted int
}

// Version is the session's version from its ETag (`"3"` → 3), or 0 when
// there is no ETag.
func (s *Session) Version() int64 { return versionOf(s.ETag) }

// Value decodes one data value into v; ok is false when the key is absent.
func (s *Session) Value(key string, v any) (ok bool, err error) {
	raw, ok := s.Data[key]
	if !ok {
		return false, nil
	}
	return true, json.Unmarshal(raw, v)
}

func versionOf(etag string) int64 {
	etag = strings.TrimPrefix(etag, "W/")
	if len(etag) < 2 || etag[0] != '"' || etag[len(etag)-1] != '"' {
		return 0
	}
	n, err := strconv.ParseInt(etag[1:len(etag)-1], 10, 64)
	if err != nil {
		return 0
	}
	return n
}

// UnmarshalJSON reads the known members and keeps the rest in Extra.
func (s *Session) UnmarshalJSON(b []byte) error {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		return err
	}
	*s = Session{}
	for k, v := range m {
		var err error
		switch k {
		case "id":
			err = json.Unmarshal(v, &s.ID)
		case "data":
			err = json.Unmarshal(v, &s.Data)
		case "ttl":
			err = json.Unmarshal(v, &s.TTL)
		case "expires_in":
			err = json.Unmarshal(v, &s.ExpiresIn)
		case "expires_at":
			s.ExpiresAt, err = parseTime(v)
		case "created_at":
			s.CreatedAt, err = parseTime(v)
		case "user":
			var u *string
			err = json.Unmarshal(v, &u)
			if u != nil {
				s.User = *u
			}
		case "device":
			if !isNull(v) {
				s.Device = append(json.RawMessage(nil), v...)
			}
		case "last_seen_at":
			if !isNull(v) {
				var t time.Time
				if t, err = parseTime(v); err == nil {
					s.LastSeenAt = &t
				}
			}
		default:
			if s.Extra == nil {
				s.Extra = map[string]json.RawMessage{}
			}
			s.Extra[k] = append(json.RawMessage(nil), v...)
		}
		if err != nil {
			return fmt.Errorf("sessiond: session member %q: %w", k, err)
		}
	}
	if s.Data == nil {
		s.Data = map[string]json.RawMessage{}
	}
	return nil
}

// MarshalJSON writes the daemon's shape back (with Extra), so a Session can
// be cached or logged and read again.
func (s Session) MarshalJSON() ([]byte, error) {
	m := make(map[string]any, 9+len(s.Extra))
	for k, v := range s.Extra {
		m[k] = v
	}
	data := s.Data
	if data == nil {
		data = map[string]json.RawMessage{}
	}
	m["id"], m["data"], m["ttl"], m["expires_in"] = s.ID, data, s.TTL, s.ExpiresIn
	m["expires_at"], m["created_at"] = formatTime(s.ExpiresAt), formatTime(s.CreatedAt)
	m["user"] = nil
	if s.User != "" {
		m["user"] = s.User
	}
	m["device"] = nil
	if s.Device != nil {
		m["device"] = s.Device
	}
	m["last_seen_at"] = nil
	if s.LastSeenAt != nil {
		m["last_seen_at"] = formatTime(*s.LastSeenAt)
	}
	return json.Marshal(m)
}

// Expiry is the answer of the expiry routes.
type Expiry struct {
	TTL       int64     `json:"ttl"`
	ExpiresIn int64     `json:"expires_in"`
	ExpiresAt time.Time `json:"expires_at"`
	// ETag of the session after the call (expiry reads and writes carry one).
	ETag string `json:"-"`
}

func isNull(v json.RawMessage) bool { return string(bytes.TrimSpace(v)) == "null" }

func parseTime(v json.RawMessage) (time.Time, error) {
	var s *string
	if err := json.Unmarshal(v, &s); err != nil || s == nil {
		return time.Time{}, err
	}
	return time.Parse(time.RFC3339Nano, *s)
}

func formatTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UTC().Format(time.RFC3339Nano)
}

// Value marshals v for use as a data value. It panics when v cannot be
// marshalled (a channel, a NaN), which makes it fit for literals:
//
//	c.SetKey(ctx, id, "cart", sessiond.Value([]int{1, 2}))
func Value(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		panic("sessiond.Value: " + err.Error())
	}
	return b
}
