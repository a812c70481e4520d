package sessiond_test

import (
	"encoding/json"
	"errors"
	"testing"
	"time"

	"sessiond"
)

// Members this client does not know yet pass through; known ones decode.
func TestSessionJSONKeepsUnknownMembers(t *testing.T) {
	in := `{"id":"abcdefgh12","data":{"n":9223372036854775807},"ttl":60,"expires_in":59,
		"expires_at":"2026-12-05T22:47:19Z","created_at":"2026-12-04T22:47:19.123Z","user":null,
		"device":{"ip":"192.0.2.1"},"last_seen_at":"2026-12-04T22:47:20Z","tenant":{"id":7},"future":[1]}`
	var s sessiond.Session
	if err := json.Unmarshal([]byte(in), &s); err != nil {
		t.Fatal(err)
	}
	if s.ID != "abcdefgh12" || s.TTL != 60 || s.ExpiresIn != 59 || s.User != "" {
		t.Errorf("decoded %+v", s)
	}
	if string(s.Data["n"]) != "9223372036854775807" || string(s.Device) != `{"ip":"192.0.2.1"}` {
		t.Errorf("raw members changed: %s %s", s.Data["n"], s.Device)
	}
	if s.LastSeenAt == nil || !s.LastSeenAt.Equal(time.Date(2026, 12, 4, 22, 47, 20, 0, time.UTC)) {
		t.Errorf("last_seen_at %v", s.LastSeenAt)
	}
	if s.CreatedAt.Nanosecond() != 123e6 {
		t.Errorf("created_at lost its milliseconds: %v", s.CreatedAt)
	}
	if string(s.Extra["tenant"]) != `{"id":7}` || string(s.Extra["future"]) != "[1]" {
		t.Errorf("Extra = %v", s.Extra)
	}

	out, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	var back sessiond.Session
	if err := json.Unmarshal(out, &back); err != nil {
		t.Fatal(err)
	}
	if string(back.Extra["tenant"]) != `{"id":7}` || string(back.Data["n"]) != "9223372036854775807" ||
		!back.ExpiresAt.Equal(s.ExpiresAt) || back.LastSeenAt == nil || string(back.Device) != string(s.Device) {
		t.Errorf("round trip: %s", out)
	}
}

func TestSessionJSONNullsAndAbsences(t *testing.T) {
	var s sessiond.Session
	if err := json.Unmarshal([]byte(`{"id":"abcdefgh12","device":null,"last_seen_at":null}`), &s); err != nil {
		t.Fatal(err)
	}
	if s.Device != nil || s.LastSeenAt != nil || s.Data == nil || s.Extra != nil {
		t.Errorf("nulls: %+v", s)
	}
	if err := json.Unmarshal([]byte(`{"ttl":"soon"}`), &s); err == nil {
		t.Error("a ttl that is not a number decoded")
	}
}

func TestVersionFromETag(t *testing.T) {
	for etag, want := range map[string]int64{`"3"`: 3, `W/"12"`: 12, "": 0, `"x"`: 0, "3": 0} {
		s := sessiond.Session{ETag: etag}
		if got := s.Version(); got != want {
			t.Errorf("Version(%q) = %d, want %d", etag, got, want)
		}
	}
}

func TestErrorIsMapping(t *testing.T) {
	cases := []struct {
		status int
		is     []error
		isnt   []error
	}{
		{404, []error{sessiond.ErrNotFound}, []error{sessiond.ErrKeyNotFound, sessiond.ErrUnavailable}},
		{412, []error{sessiond.ErrPreconditionFailed}, []error{sessiond.ErrNotFound}},
		{503, []error{sessiond.ErrUnavailable}, []error{sessiond.ErrNotFound}},
		{504, []error{sessiond.ErrUnavailable}, nil},
		{500, []error{sessiond.ErrUnavailable}, nil},
		{401, []error{sessiond.ErrUnauthorized}, []error{sessiond.ErrUnavailable}},
		{400, []error{sessiond.ErrInvalid}, nil},
		{413, []error{sessiond.ErrInvalid}, nil},
		{405, nil, []error{sessiond.ErrInvalid, sessiond.ErrNotFound, sessiond.ErrUnavailable}},
	}
	for _, c := range cases {
		var err error = &sessiond.Error{Status: c.status}
		for _, target := range c.is {
			if !errors.Is(err, target) {
				t.Errorf("%d is not %v", c.status, target)
			}
		}
		for _, target := range c.isnt {
			if errors.Is(err, target) {
				t.Errorf("%d is %v", c.status, target)
			}
		}
	}
}
