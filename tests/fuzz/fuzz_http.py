#!/usr/bin/env python3
"""Mutation fuzzer for sessiond's HTTP API, run against the real daemon.

Starts a private redis-server on a free loopback port and sessiond on top of
it (key prefix `fuzz:`, small limits), then drives it with a mix of valid API
requests (on real session ids, so the Lua scripts and deep paths run) and
mutations of them: odd methods, hostile paths and percent-escapes, junk and
oversized headers, broken / deep / huge / non-UTF-8 bodies. Most traffic goes
over keep-alive connections (http.client); about 10 % are raw-socket inputs
(malformed request lines, HTTP/1.0, pipelining, Content-Length mismatches,
chunked bodies).

Failures: a status >= 500, a request unanswered after 5 s, a well-formed
request dropped without an answer (twice), the daemon dying, a Redis key
outside the prefix (or without a TTL, or a session hash with foreign fields),
a canary key outside the prefix touched, the daemon unhealthy after the run,
or a non-zero exit on SIGTERM. The last line is always
`fuzz: N passed, M failed`. Python 3.11 standard library only.
"""

import argparse
import base64
import collections
import ctypes
import http.client
import json
import multiprocessing as mp
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import traceback
import urllib.parse

HANG = 5.0            # seconds: an answer (or close) must come within this
MAX_BODY = 65536      # --max-body-bytes given to the daemon
MAX_KEYS = 50         # --max-keys
MAX_DEPTH = 64        # --max-depth (the default)
PREFIX = "fuzz:"
MAX_PRINTED = 20      # failures printed in full
MAX_KEPT = 200        # failures kept per worker (for the file)
CANARIES = {b"canary:one": b"1", b"fuzz": b"outside", b"fuzzy:two": b"2", b"fuzz:other": b"inside"}


def log(*a):
    print(*a, file=sys.stderr, flush=True)


# --------------------------------------------------------------------------
# Dictionaries
# --------------------------------------------------------------------------

METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"]
ODD_METHODS = ["OPTIONS", "TRACE", "PROPFIND", "MKCOL", "LOCK", "UNLOCK", "PURGE", "SEARCH", "COPY",
               "MOVE", "REPORT", "LINK", "QUERY", "FOO", "get", "Get", "PUT ", "GET\t", "X" * 300,
               "GETT", "PATCHX", "DELETE;", "G%45T", "ACL", "BIND", "M-SEARCH", "NOTIFY", "SOURCE"]
RAW_ONLY_METHODS = ["CONNECT", "PRI", "", "G\x00T", "GET\x7f", "\xffGET", "GÉT"]

ROUTE_WORDS = ["v1", "sessions", "users", "data", "expiry", "cycle", "healthz", "readyz", "metrics",
               "openapi.yaml", "v2", "V1", "Sessions", "session", "", ".", "..", "%2e%2e", "%2E", "%2F",
               "%2f", "%00", "%", "%G1", "%zz", "%1", "%FF", "%C0%AF", "%E2%80%AE", "%ED%A0%80",
               "%F4%90%80%80", "%EF%BF%BF", "%C3%A9", "%F0%9F%98%80", "%20", "%0A", "%0D%0A", "%09",
               "%7F", "%C2%85", "*", "+", ";", "@", "~", "!", "$", "'", "(", ")", ",", "=", "&", "%3F",
               "%23", "%25", "%252F", "a%2Fb", "..%2F..", "%2e%2e%2f", "...", "~root", "null", "undefined",
               "0", "-1", "1e9", "sessions;jsessionid=1", "data%00", "healthz.", "metrics/", "x" * 129,
               "a" * 300, "b" * 5000]

CTRL = "".join(chr(c) for c in list(range(0, 0x20)) + [0x7f])

DATA_KEYS = ["csrf", "cart", "theme", "a", "b", "visits", "prefs/ui", "a/b", "..", ".", "%2F", "%",
             "é", "日本語", "😀", "x" * 256, "data:x", "meta:ttl", "meta:version", "meta:user", "*", "?",
             "[a]", "\\", " ", "a b", "key\u2028", "\u00a0", "\ufeff", "\u200b", "k;v", "k=v", "k&v",
             "#", "+", "~", "'", '"', "<script>", "${x}", "{{x}}"]
BAD_KEYS = ["", "x" * 257, "é" * 129, "\t", "\n", "a\x00b", "\x7f", "\x85", "\u0080", "\x1b[31m"]

USERS = ["alice", "bob", "carol", "team/ops é", "*", "[a]", "user:x", "..", "%2F", "x" * 256, "fuzz:",
         "é", "a b", "?", "日本", "😀", "0", "-", "null", "fuzz:session:x", "../../etc", "\\"]
BAD_USERS = ["", "x" * 257, "\t", "a\nb", "\x00", "\x9f"]

JUNK_ETAGS = ["*", '"1"', 'W/"1"', '"', '"abc', "W/", '"1", "2"', ",,,", '"99999999999999999999"', '"-1"',
              '"+1"', '" 1"', '"01"', "1", "W/*", "", " ", '"1",', ', "1"', '"*"', '"1" "2"', 'w/"1"',
              'W/ "1"', '"1\x7f"', '"\xe9"', '""', '"9223372036854775807"', '"9223372036854775808"',
              '"-9223372036854775808"', '"0"', '"1"x', "*, \"1\"", '"a,b"', '"a,b", "2"', "\"\\\"\""]

TOUCH = ["true", "false", "1", "0", "", "yes", "TRUE", "tru", "%74rue", "%FF", "%", "%2", "true&touch=false",
         "false%00", "+true", "tr%75e", "\u00e9", "1" * 300]
CONFIRM = ["all", "ALL", "", "al", "all%00", "%61ll", "all&confirm=no", "*", "1", "true", "%", "%FF", "all+"]

NUMBERS = ["0", "-0", "1", "-1", "3600", "3600.0", "3.6e3", "3.6E+3", "36e2", "1e0", "0.5", "1.5",
           "9223372036854775807", "9223372036854775808", "-9223372036854775808", "-9223372036854775809",
           "18446744073709551615", "18446744073709551617", "1" + "0" * 40, "-" + "9" * 60,
           "1e400", "-1e400", "1e-400", "1E308", "1.7976931348623157e308", "4.9e-324", "0.000000001",
           "123456789012345678901234567890.50e10", "31536000", "31536001", "31535999.9999999999",
           "1.0000000000000000001", "2e9", "4294967296", "2147483648", "1e18", "1e19", "100e-2", "0e0",
           "0.0", "1e+9", "1" * 400, "1." + "0" * 300]
BAD_NUMBERS = ["01", "+1", ".5", "5.", "1e", "1e+", "--1", "0x10", "NaN", "Infinity", "-Infinity",
               "1_000", "١", "1.2.3", "- 1", "1e5.5", "00"]

STRINGS = ["", "x", "é", "日本語", "😀", "\u2028\u2029", "\ufffd", "\x00", "\x1f", "\x7f", "a\nb", '"', "\\",
           "</script>", "%00", "%FF", "\ud800", "\udc00", "\ud83d\ude00", "\uffff", "x" * 1000]


def pct(s, safe=""):
    return urllib.parse.quote(s, safe=safe)


# --------------------------------------------------------------------------
# Requests
# --------------------------------------------------------------------------

class Req:
    """One fuzz input: an http.client request, or raw bytes on a fresh socket."""
    __slots__ = ("kind", "method", "target", "headers", "body", "raw", "expect", "complete", "methods", "op",
                 "sid", "may_drop", "note", "case")

    def __init__(self, kind="http", method="GET", target="/", headers=None, body=b"", raw=b"", expect=1,
                 complete=True, methods=None, op=None, sid=None, may_drop=False, note=""):
        self.kind = kind
        self.method = method
        self.target = target
        self.headers = headers if headers is not None else []
        self.body = body
        self.raw = raw
        # raw inputs: how many final answers must come before the client half-closes (SHUT_WR), and
        # whether they must come at all (complete) or the tail may be incomplete on purpose
        self.expect = expect
        self.complete = complete
        self.case = None
        self.methods = methods or []
        self.op = op
        self.sid = sid
        self.may_drop = may_drop
        self.note = note

    def wire(self, host):
        """The exact bytes on the wire (for http: as http.client sends them)."""
        if self.kind == "raw":
            return self.raw
        return build_wire(self.method, self.target, self.final_headers(host), self.body)

    def final_headers(self, host):
        hs = list(self.headers)
        if not any(k.lower() == "host" for k, _ in hs):
            hs.insert(0, ("Host", host))
        if not any(k.lower() == "content-length" for k, _ in hs) and (self.body or self.method in ("POST", "PUT", "PATCH")):
            hs.append(("Content-Length", str(len(self.body))))
        return hs

    def describe(self):
        if self.kind == "raw":
            return {"kind": "raw", "note": self.note, "expect": self.expect, "complete": self.complete,
                    "bytes": trim(self.raw)}
        return {"kind": "http", "note": self.note, "method": self.method, "path": self.target,
                "headers": [(k, trim(v if isinstance(v, bytes) else str(v).encode("latin-1", "replace"), 200))
                            for k, v in self.headers],
                "body": trim(self.body)}


def as_bytes(v):
    if isinstance(v, bytes):
        return v
    v = str(v)
    try:
        return v.encode("latin-1")       # what http.client sends
    except UnicodeEncodeError:
        return v.encode("utf-8", "surrogateescape")


def build_wire(method, target, headers, body, version="HTTP/1.1"):
    out = [f"{method} {target} {version}".encode("utf-8", "surrogateescape")]
    for k, v in headers:
        out.append(as_bytes(k) + b": " + as_bytes(v))
    return b"\r\n".join(out) + b"\r\n\r\n" + body


def trim(b, n=600):
    if len(b) <= n:
        return b
    return b[:n] + b"...<%d bytes in all>" % len(b)


# --------------------------------------------------------------------------
# Generator
# --------------------------------------------------------------------------

class Gen:
    def __init__(self, rng, host):
        self.r = rng
        self.host = host
        self.ids = []          # live (or recently live) session ids
        self.etags = {}        # id -> last ETag seen
        self.keys = {}         # id -> keys known to be set
        self.users = list(USERS[:4])
        self.disabled = set()  # raw cases switched off after failing repeatedly (keeps runs fast)

    # ---- small pieces -------------------------------------------------

    def pick(self, seq):
        return seq[self.r.randrange(len(seq))]

    def rand_id(self):
        r = self.r.random()
        if self.ids and r < 0.8:
            return self.pick(self.ids)
        if r < 0.93:
            n = self.pick([8, 16, 32, 32, 64, 128])
            return "".join(self.pick("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-")
                           for _ in range(n))
        return self.weird_id()

    def weird_id(self):
        base = self.pick(self.ids) if self.ids else "abcdefgh12345678"
        return self.pick([
            base[:7], base + "x" * (129 - len(base)), base + "%2F..", "..", "%2e%2e", "%2F", base + "%00",
            base + "%", base + "%G1", base + "%FF", base + "%C0%AF", "a" * 129, "a" * 8 + ".", base + "é",
            base.upper(), base + "/", "%" + base, base + "%20", base + "+", "-" * 8, "_" * 128, "........",
            base[:8], base + ";x", base + "*", "%2541%2541%2541%2541", "a" * 5000, base + "%0d%0a",
        ])

    def rand_key(self, sid=None):
        r = self.r.random()
        known = self.keys.get(sid) if sid else None
        if known and r < 0.4:
            return self.pick(known)
        if r < 0.85:
            return self.pick(DATA_KEYS)
        if r < 0.95:
            return self.rand_text(1, 20)
        return self.pick(BAD_KEYS)

    def rand_text(self, lo, hi):
        alphabet = "abcxyzABC019_-./:é日😀 %+*?"
        return "".join(self.pick(alphabet) for _ in range(self.r.randint(lo, hi)))

    def rand_user(self):
        r = self.r.random()
        if r < 0.7:
            return self.pick(self.users)
        if r < 0.93:
            return self.pick(USERS)
        return self.pick(BAD_USERS)

    def json_string(self):
        s = self.pick(STRINGS) if self.r.random() < 0.6 else self.rand_text(0, 12)
        return json.dumps(s, ensure_ascii=self.r.random() < 0.5)

    def value(self, depth=0):
        r = self.r.random()
        if depth >= 4 or r < 0.55:
            r2 = self.r.random()
            if r2 < 0.35:
                return self.pick(NUMBERS) if self.r.random() < 0.6 else str(self.r.randint(-1000, 10 ** 6))
            if r2 < 0.75:
                return self.json_string()
            return self.pick(["true", "false", "null"])
        ws = self.pick(["", "", " ", "\n", "\t", "\r\n "])
        if r < 0.78:
            items = [self.value(depth + 1) for _ in range(self.r.randint(0, 4))]
            return "[" + ws + ("," + ws).join(items) + ws + "]"
        items = [self.json_string() + ws + ":" + ws + self.value(depth + 1) for _ in range(self.r.randint(0, 4))]
        return "{" + ws + ("," + ws).join(items) + ws + "}"

    def nested(self, depth):
        kind = self.r.random()
        if kind < 0.4:
            return "[" * depth + "]" * depth
        if kind < 0.7:
            return '{"a":' * (depth - 1) + "{}" + "}" * (depth - 1) if depth > 0 else "1"
        out = ""
        for i in range(depth):
            out += "[" if i % 2 else '{"k":'
        out += "1"
        for i in reversed(range(depth)):
            out += "]" if i % 2 else "}"
        return out

    def data_object(self, sid=None, n=None):
        if n is None:
            n = self.pick([0, 1, 1, 2, 3, 5])
        parts = []
        for _ in range(n):
            k = self.rand_key(sid)
            parts.append(json.dumps(k, ensure_ascii=self.r.random() < 0.3) + ":" + self.value())
        return "{" + ",".join(parts) + "}"

    def ttl_text(self):
        r = self.r.random()
        if r < 0.5:
            return str(self.pick([1, 2, 60, 600, 3600, 86400]))
        if r < 0.9:
            return self.pick(NUMBERS)
        return self.pick(["null", '"60"', "true", "[60]", "{}"] + BAD_NUMBERS)

    def session_body(self, sid=None):
        if self.r.random() < 0.1:
            return b""
        members = []
        if self.r.random() < 0.8:
            members.append('"data":' + self.data_object(sid))
        if self.r.random() < 0.4:
            members.append('"ttl":' + self.ttl_text())
        if self.r.random() < 0.4:
            u = self.rand_user()
            members.append('"user":' + (json.dumps(u, ensure_ascii=self.r.random() < 0.5)
                                        if self.r.random() < 0.9 else "null"))
        self.r.shuffle(members)
        return ("{" + ",".join(members) + "}").encode("utf-8", "surrogatepass")

    def timestamp(self):
        now = time.time()
        r = self.r.random()
        if r < 0.7:
            delta = self.pick([-3600, -1, 1, 2, 60, 3600, 86400, 86401, 31536000, 31536001, 10 ** 9, 10 ** 10])
            t = now + delta
            if t > 253402300799 or t < 0:
                t = 253402300799
            s = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t))
            frac = self.pick(["", "", ".5", ".123", ".123456789", ".", ".x"])
            zone = self.pick(["Z", "Z", "z", "+00:00", "-00:00", "+23:59", "-23:59", "+24:00", "+0100", "", " Z"])
            sep = self.pick(["T", "T", "t", " ", "_"])
            return s.replace("T", sep) + frac + zone
        return self.pick(["9999-12-31T23:59:59Z", "0000-01-01T00:00:00Z", "2026-02-29T00:00:00Z",
                          "2028-02-29T00:00:00Z", "2026-13-01T00:00:00Z", "2026-00-10T00:00:00Z",
                          "2026-01-32T00:00:00Z", "2026-01-01T24:00:00Z", "2026-01-01T23:60:00Z",
                          "2026-01-01T23:59:60Z", "2026-01-01T23:59:61Z", "99999-01-01T00:00:00Z",
                          "-001-01-01T00:00:00Z", "", "now", "2026-01-01", "T", "2026-1-1T0:0:0Z",
                          "２０２６-01-01T00:00:00Z", "2026-01-01T00:00:00.Z", "2026-01-01T00:00:00+99:99"])

    def expiry_body(self):
        r = self.r.random()
        if r < 0.35:
            return ('{"ttl":%s}' % self.ttl_text()).encode()
        if r < 0.45:
            return b'{"ttl":null}'
        if r < 0.85:
            ts = self.timestamp()
            return ('{"expires_at":%s}' % json.dumps(ts, ensure_ascii=False)).encode()
        return self.pick([b'{"ttl":60,"expires_at":"2030-01-01T00:00:00Z"}', b"{}", b'{"expires_at":1}',
                          b'{"expires_at":null}', b'{"ttl":"60"}', b'{"tll":60}', b"[]", b"null", b"",
                          b'{"expires_at":"\\u0032026-01-01T00:00:00Z"}', b'{"ttl":60,"ttl":61}'])

    def patch_body(self, sid):
        members = []
        if self.r.random() < 0.8:
            members.append('"set":' + self.data_object(sid))
        if self.r.random() < 0.5:
            keys = [json.dumps(self.rand_key(sid)) for _ in range(self.r.randint(0, 4))]
            if self.r.random() < 0.1:
                keys.append(self.pick(["1", "null", "[]", '{"a":1}', '"\\ud800"']))
            members.append('"delete":[' + ",".join(keys) + "]")
        if self.r.random() < 0.05:
            members.append(self.pick(['"extra":1', '"set":null', '"delete":"a"', '"delete":{}']))
        return ("{" + ",".join(members) + "}").encode("utf-8", "surrogatepass")

    def query(self, name, values):
        return "?" + name + "=" + self.pick(values)

    def touch_q(self):
        r = self.r.random()
        if r < 0.75:
            return ""
        if r < 0.95:
            return "?touch=" + self.pick(["true", "false", "1", "0"])
        return "?touch=" + self.pick(TOUCH)

    def etag_headers(self, sid, names=("If-Match",)):
        hs = []
        for name in names:
            r = self.r.random()
            if r < 0.6:
                continue
            if r < 0.85 and sid in self.etags:
                hs.append((name, self.pick([self.etags[sid], self.etags[sid], "*", "W/" + self.etags[sid],
                                            '"1", ' + self.etags[sid]])))
            else:
                hs.append((name, self.pick(JUNK_ETAGS)))
        return hs

    # ---- valid API requests ---------------------------------------------

    def valid(self):
        r = self.r
        if len(self.ids) < 8 or r.random() < 0.08:
            return Req(method="POST", target="/v1/sessions", body=self.session_body(),
                       headers=[("Content-Type", "application/json")], op="create")
        op = r.random()
        sid = self.rand_id()
        p = "/v1/sessions/" + sid
        if op < 0.14:
            return Req(method="GET", target=p + self.touch_q(), sid=sid)
        if op < 0.18:
            return Req(method="HEAD", target=p + self.touch_q(), sid=sid)
        if op < 0.30:
            return Req(method="PUT", target=p, body=self.session_body(sid), sid=sid, op="put",
                       headers=self.etag_headers(sid, ("If-Match", "If-None-Match")))
        if op < 0.42:
            return Req(method="PATCH", target=p, body=self.patch_body(sid), sid=sid,
                       headers=self.etag_headers(sid))
        if op < 0.44:
            return Req(method="DELETE", target=p, sid=sid, op="delete")
        if op < 0.64:
            key = self.rand_key(sid)
            kp = p + "/data/" + pct(key)
            m = r.random()
            if m < 0.4:
                return Req(method="GET", target=kp + self.touch_q(), sid=sid)
            if m < 0.8:
                body = self.value().encode("utf-8", "surrogatepass")
                if r.random() < 0.2:
                    body = self.pick([b" ", b"\n"]) + body + self.pick([b" ", b"\r\n", b"\t"])
                return Req(method="PUT", target=kp, body=body, sid=sid, op=("setkey", key),
                           headers=self.etag_headers(sid))
            if m < 0.9:
                return Req(method="HEAD", target=kp, sid=sid)
            return Req(method="DELETE", target=kp, sid=sid, headers=self.etag_headers(sid))
        if op < 0.68:
            return Req(method="DELETE", target=p + "/data", sid=sid, headers=self.etag_headers(sid))
        if op < 0.74:
            return Req(method="GET", target=p + "/expiry" + self.touch_q(), sid=sid)
        if op < 0.82:
            return Req(method="PUT", target=p + "/expiry", body=self.expiry_body(), sid=sid)
        if op < 0.86:
            return Req(method="POST", target=p + "/cycle", sid=sid, op="cycle")
        if op < 0.93:
            user = self.rand_user()
            up = "/v1/users/" + pct(user) + "/sessions"
            if r.random() < 0.75:
                return Req(method=self.pick(["GET", "GET", "HEAD"]), target=up)
            q = ""
            if r.random() < 0.6:
                q = "?except=" + (self.rand_id() if r.random() < 0.9 else self.pick(["", "x", "%FF", "a" * 129]))
            return Req(method="DELETE", target=up + q, op="userdel")
        if op < 0.9995:
            return Req(method=self.pick(["GET", "GET", "HEAD"]),
                       target=self.pick(["/healthz", "/readyz", "/metrics", "/openapi.yaml", "/healthz?x=1"]))
        return Req(method="DELETE", target="/v1/sessions?confirm=all", op="flush")

    # ---- mutations ------------------------------------------------------

    def mutate(self, q):
        for _ in range(self.r.choice([1, 1, 1, 2, 2, 3])):
            m = self.r.random()
            if m < 0.15:
                self.mut_method(q)
            elif m < 0.40:
                self.mut_path(q)
            elif m < 0.50:
                self.mut_query(q)
            elif m < 0.72:
                self.mut_headers(q)
            else:
                self.mut_body(q)
        q.op = q.op if q.op in ("create",) else None
        return q

    def mut_method(self, q):
        q.method = self.pick(METHODS + ODD_METHODS)
        q.note += "method;"

    def mut_path(self, q):
        path, _, query = q.target.partition("?")
        segs = path.split("/")[1:]
        r = self.r.random()
        if r < 0.35 and segs:
            segs[self.r.randrange(len(segs))] = self.pick(ROUTE_WORDS) if self.r.random() < 0.6 else self.weird_id()
        elif r < 0.5:
            segs.insert(self.r.randrange(len(segs) + 1), self.pick(ROUTE_WORDS))
        elif r < 0.6 and segs:
            del segs[self.r.randrange(len(segs))]
        elif r < 0.7:
            segs = [self.pick(ROUTE_WORDS) for _ in range(self.r.randint(0, 6))]
        elif r < 0.78:
            # a key or user segment made hostile
            if len(segs) >= 5:
                segs[4] = self.pick(["%2F", "..", "%2e%2e%2f%2e%2e", "%00", "%FF", "%C0%AF", "%ED%A0%80", "%",
                                     "%G0", "%0A", "%7F", "%C2%80", "a" * 257, "%E9", "%F8%88%80%80%80",
                                     "a%2Fb%2F..%2F..", "%252F", "%E6%97%A5", "x" * 3000])
            elif len(segs) >= 3 and segs[0] == "v1" and segs[1] == "users":
                segs[2] = self.pick(["%00", "%FF", "", "%2F", "..", "a" * 300, "%0D%0A", "%C0%AF", "%"])
            else:
                segs.append(self.pick(ROUTE_WORDS))
        elif r < 0.86:
            path = "/" + "/".join(segs)
            path = self.pick([path + "/", "/" + path, path.replace("/", "//", 1), path + "/.", path + "/..",
                              "/./" + path.lstrip("/"), path.upper(), path + "#frag", path + ";p=1",
                              "http://" + self.host + path, "https://x" + path, "http://", "http://x",
                              "*", "", "v1/sessions", path + "%", path + "/%2e%2e/"])
            q.target = path + ("?" + query if query else "")
            q.note += "path;"
            return
        else:
            # overlong or repeated segments
            segs = segs + [self.pick(ROUTE_WORDS)] * self.r.choice([1, 10, 100])
        q.target = "/" + "/".join(segs) + ("?" + query if query else "")
        q.note += "path;"

    def mut_query(self, q):
        path = q.target.partition("?")[0]
        name = self.pick(["touch", "confirm", "except", "x", "", "touch", "touch&touch", "%74ouch", "t%FFouch",
                          "confirm", "except"])
        vals = {"touch": TOUCH, "confirm": CONFIRM}.get(name, ["", "1", "%FF", "%", "%2", self.rand_id(), "a" * 500,
                                                               "all", "+", "%00"])
        extra = self.pick(["", "", "&", "&&", "&x=1", "&touch=false", "&touch=junk", "=", "?", "&confirm=all"])
        form = self.r.random()
        if form < 0.8:
            q.target = path + "?" + name + "=" + self.pick(vals) + extra
        elif form < 0.9:
            q.target = path + "?" + name + extra
        else:
            q.target = path + self.pick(["?", "??", "?&", "?=", "?==", "?%", "?&&&touch=1", "?" + "a=b&" * 200])
        q.note += "query;"

    def mut_headers(self, q):
        r = self.r.random()
        hs = q.headers
        if r < 0.25:
            name = self.pick(["If-Match", "If-None-Match"])
            for _ in range(self.r.choice([1, 1, 2])):
                hs.append((name, self.pick(JUNK_ETAGS + [self.etags.get(q.sid, '"1"')])))
        elif r < 0.35:
            hs.append(("X-Request-ID", self.pick(["", " ", "x" * 128, "x" * 129, "x" * 5000, "é", "a b", "\x7f",
                                                  "\t", "id-1", "ID=1;drop", "\xff\xfe", "../../x", "%00"])))
        elif r < 0.45:
            hs.append(("Authorization", self.pick(["", "Bearer", "Bearer ", "Bearer x", "bearer x", "Basic eDp5",
                                                   "Bearer " + "x" * 8000, "Bearer\tx", "Token x", "\xff"])))
        elif r < 0.55:
            hs.append(("Expect", self.pick(["100-continue", "100-Continue", "junk", "", "200-ok",
                                            "100-continue, foo"])))
        elif r < 0.65:
            n = self.pick([1000, 8000, 16000, 40000, 81000, 90000])
            hs.append((self.pick(["X-Long", "Cookie", "User-Agent", "If-Match", "Accept"]), "a" * n))
        elif r < 0.72:
            for i in range(self.pick([10, 100, 500, 1000])):
                hs.append(("X-H%d" % i, "v"))
        elif r < 0.80:
            name = self.pick(["Host", "Content-Type", "Accept", "If-Match", "X-Request-ID", "Authorization",
                              "Connection", "Expect"])
            for _ in range(self.r.randint(2, 4)):
                hs.append((name, self.pick(["a", "application/json", "*", "close", "keep-alive", '"1"', "x"])))
        elif r < 0.88:
            hs.append(("Content-Type", self.pick(["text/plain", "application/json; charset=latin1", "", "\xe9",
                                                  "multipart/form-data; boundary=x", "application/x-www-form-urlencoded"])))
        elif r < 0.94:
            hs.append(("Connection", self.pick(["close", "keep-alive", "Keep-Alive, close", "foo", "TE", ""])))
        else:
            hs.append((self.pick(["X-\xe9", "X-Junk", "Accept-Encoding", "TE", "Range", "If-Modified-Since",
                                  "Forwarded", "Trailer", "Content-Encoding"]),
                       self.pick(["gzip", "bytes=0-1", "x", "\xff\xfe", "chunked", "trailers", "deflate"])))
        q.note += "headers;"

    def mut_body(self, q):
        b = q.body
        r = self.r.random()
        if r < 0.15 and b:
            b = bytearray(b)
            for _ in range(self.r.randint(1, 4)):
                i = self.r.randrange(len(b))
                b[i] = self.r.randrange(256)
            b = bytes(b)
        elif r < 0.25 and b:
            b = b[:self.r.randrange(len(b))]
        elif r < 0.35:
            d = self.pick([MAX_DEPTH - 2, MAX_DEPTH - 1, MAX_DEPTH, MAX_DEPTH + 1, MAX_DEPTH + 2, 100, 1000,
                           10000, 30000])
            nest = self.nested(d)
            b = self.pick(['{"data":{"k":%s}}', '{"set":{"k":%s}}', "%s", '{"data":%s}', '{"ttl":%s}']) % nest
            b = b.encode()
        elif r < 0.45:
            b = self.pick([b'"\xff"', b'"\xc0\xaf"', b'"\xed\xa0\x80"', b'"\xf4\x90\x80\x80"', b'{"data":{"\xff":1}}',
                           b'{"data":{"k":"\xe9"}}', b'{"user":"\xc3"}', b"\xef\xbb\xbf{}", b'{"data":{"k":"\\ud800"}}',
                           b'{"data":{"\\ud800":1}}', b'{"user":"\\udc00"}', b'{"data":{"k":"\\u00"}}',
                           b'{"set":{"a\\u0000b":1}}', b'{"user":"a\\u0000"}', b'{"user":"\\u007f"}',
                           b'{"data":{"k":"a\x00b"}}', b'{"data":{"k":"\x1f"}}', b'"\\x41"', b"'a'"])
        elif r < 0.55:
            b = bytes(self.r.randrange(256) for _ in range(self.r.randint(0, 64)))
        elif r < 0.62:
            n = self.pick([MAX_BODY - 1, MAX_BODY, MAX_BODY + 1, 100000, 1 << 20])
            fill = self.pick([b"a", b" ", b"[", b"{"])
            if self.r.random() < 0.5:
                b = b'{"data":{"k":"' + b"x" * max(0, n - 20) + b'"}}'
            else:
                b = fill * n
        elif r < 0.72:
            b = self.pick([b'{"data":{},"tll":60}', b'{"data":[],"ttl":"60","user":5}', b'{"data":null}',
                           b'{"ttl":1e400}', b'{"ttl":-1}', b'{"ttl":3.5}', b'{"ttl":9223372036854775808}',
                           b'{"ttl":1e18}', b'{"ttl":-0}', b'{"ttl":31536001}', b'{"ttl":0.9999999999999999999}',
                           b'{"user":null,"user":"a"}', b'{"data":{"a":1,"a":2}}', b'{"set":{"a":1},"delete":["a"]}',
                           b'{"set":{},"delete":[]}', b'{"delete":[1,2]}', b'{"delete":"a"}', b"[]", b"null",
                           b"true", b"1", b'""', b"{", b"}", b"{}{}", b"{} x", b'{"data":{}}\x00', b"\x00",
                           b'{"data":{' + b",".join(b'"k%d":%d' % (i, i) for i in range(MAX_KEYS + 1)) + b"}}",
                           b'{"set":{' + b",".join(b'"k%d":%d' % (i, i) for i in range(MAX_KEYS)) + b"}}",
                           b'{"data":{"' + b"k" * 257 + b'":1}}', b'{"user":"' + b"u" * 257 + b'"}',
                           b'{"data":{"":1}}', b'{"user":""}', b'{"expires_at":"2030-01-01T00:00:00Z","x":1}',
                           b'{"data" : { "a" : [ 1 , 2 ] } , "ttl" : 60 }', b'\t{"data":{}}\r\n',
                           b'{"data":{"n":' + b"9" * 5000 + b"}}", b'{"data":{"n":-' + b"0" * 5000 + b"}}",
                           b'{"data":{"n":1' + b"0" * 400 + b"e-400}}", b'{"data":{"s":"' + b"\\\\" * 3000 + b'"}}',
                           b'{"data":{"s":"' + b"\\u00e9" * 2000 + b'"}}'])
        elif r < 0.82:
            # insert or delete a structural token
            tokens = [b"{", b"}", b"[", b"]", b",", b":", b'"', b"\\", b"1e", b"-", b"null", b"\\u", b"\xff", b" "]
            if b:
                i = self.r.randrange(len(b) + 1)
                if self.r.random() < 0.6:
                    b = b[:i] + self.pick(tokens) + b[i:]
                else:
                    b = b[:i] + b[i + 1:]
            else:
                b = self.pick(tokens)
        elif r < 0.9 and b:
            b = b * self.r.choice([2, 3, 50])
        else:
            num = self.pick(NUMBERS + BAD_NUMBERS).encode()
            b = re.sub(rb"-?\d+(\.\d+)?([eE][-+]?\d+)?", lambda m: num, b, count=1) if b else num
        q.body = b
        q.may_drop = q.may_drop or len(b) > MAX_BODY
        q.note += "body;"

    # ---- entirely random --------------------------------------------------

    def random_req(self):
        segs = [self.pick(ROUTE_WORDS) if self.r.random() < 0.7 else self.rand_id()
                for _ in range(self.r.randint(0, 6))]
        q = Req(method=self.pick(METHODS + ODD_METHODS), target="/" + "/".join(segs))
        if self.r.random() < 0.3:
            self.mut_query(q)
        for _ in range(self.r.randint(0, 2)):
            self.mut_headers(q)
        if self.r.random() < 0.6:
            self.mut_body(q)
        q.note += "random;"
        return q

    # ---- raw socket inputs ----------------------------------------------

    RAW_CASES = [("raw_malformed", 16), ("raw_http10", 10), ("raw_pipelined", 16), ("raw_length_mismatch", 10),
                 ("raw_chunked", 10), ("raw_nonascii_target", 10), ("raw_pipelined_then_junk", 8),
                 ("raw_upgrade", 4), ("raw_expect", 6), ("raw_odd_method", 4), ("raw_header_junk", 6)]

    def raw(self):
        cases = [(n, w) for n, w in self.RAW_CASES if n not in self.disabled] or [("raw_pipelined", 1)]
        name = self.r.choices([n for n, _ in cases], [w for _, w in cases])[0]
        q = getattr(self, name)(self.host)
        q.kind = "raw"
        q.case = name
        q.note = name + ": " + q.note
        return q

    def request_bytes(self, req, version="HTTP/1.1", close=False):
        hs = req.final_headers(self.host)
        if close:
            hs = [h for h in hs if h[0].lower() != "connection"] + [("Connection", "close")]
        return build_wire(req.method, req.target, hs, req.body, version)

    def raw_malformed(self, host):
        h = ("Host: %s\r\n" % host).encode()
        junk = self.pick([
            b"GET\r\n\r\n", b"GET / HTTP/1.1 extra\r\n" + h + b"\r\n", b"GET / HTTP/9.9\r\n" + h + b"\r\n",
            b"GET / HTTP/1.1\n" + h.replace(b"\r\n", b"\n") + b"\n", b" / HTTP/1.1\r\n\r\n",
            b"\r\n\r\nGET /healthz HTTP/1.1\r\n" + h + b"Connection: close\r\n\r\n",
            b"GET /\x00 HTTP/1.1\r\n" + h + b"\r\n", b"GET / HTTP/1.1\r\nHost\r\n\r\n",
            b"GET / HTTP/1.1\r\n" + h + b"X: a\r\n b\r\n\r\n", b"GET / HTTP/1.1\r\n" + h + b"X : a\r\n\r\n",
            b"GET / HTTP/1.1\r\n" + h + b"X:\x00\r\n\r\n", b"GET / HTTP/1.1\r\n" + h + b"\x01X: a\r\n\r\n",
            b"GET /healthz HTTP/1.1\r\n" + h + b"Content-Length: 1\r\nContent-Length: 2\r\n\r\nab",
            b"GET /healthz HTTP/1.1\r\n" + h + b"Content-Length: -1\r\n\r\n",
            b"GET /healthz HTTP/1.1\r\n" + h + b"Content-Length: 99999999999999999999999\r\n\r\n",
            b"GET /healthz HTTP/1.1\r\n" + h + b"Content-Length: 1x\r\n\r\n",
            b"GET /healthz HTTP/1.1\r\n" + h + b"Content-Length: 0x10\r\n\r\n",
            b"GET /healthz HTTP/1.1\r\n" + h + b"Content-Length:\r\n\r\n",
            b"POST /v1/sessions HTTP/1.1\r\n" + h + b"Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
            b"GET /" + b"a" * 100000 + b" HTTP/1.1\r\n" + h + b"\r\n",
            b"GET /healthz HTTP/1.1\r\n" + h + (b"X-Long: " + b"a" * 90000 + b"\r\n") + b"\r\n",
            b"GET /healthz HTTP/1.1\r\n" + h + b"".join(b"X-%d: v\r\n" % i for i in range(3000)) + b"\r\n",
            b"GET /healthz HTTP/1.1\r" + h + b"\r\n", b"GET /healthz HTTP/1.1\r\n" + h + b"\r\r\n",
            b"GET\t/healthz\tHTTP/1.1\r\n" + h + b"\r\n", b"GET  /healthz  HTTP/1.1\r\n" + h + b"\r\n",
            b"GET /healthz HTTP/1.1\r\n" + h + b"Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
            b"GET /healthz HTTP/1.1\r\n" + h + b"Transfer-Encoding: gzip\r\n\r\n",
            b"GET /healthz HTTP/1.1\r\n" + h + b"Transfer-Encoding: chunked, gzip\r\n\r\n0\r\n\r\n",
            b"GET /healthz HTTP/1.1\r\n" + h + b"Transfer-Encoding: xchunked\r\n\r\n",
            b"HTTP/1.1 200 OK\r\n\r\n", b"\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03" + bytes(range(32)),
            b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", b"GET / HTTP/1.1\r\n" + h + b"Host: other\r\n\r\n",
            b"GET http://x:y:z/healthz HTTP/1.1\r\n" + h + b"\r\n", b"GET // HTTP/1.1\r\n" + h + b"\r\n",
            b"OPTIONS * HTTP/1.1\r\n" + h + b"\r\n", b"GET ? HTTP/1.1\r\n" + h + b"\r\n",
            b"GET /v1/sessions/%s HTTP/1.1\r\n" % self.rand_id().encode() + h + b"\xff\xfe: \xff\r\n\r\n",
            bytes(self.r.randrange(256) for _ in range(self.r.randint(1, 200))) + b"\r\n\r\n",
        ])
        return Req(kind="raw", raw=junk, expect=1, complete=False, note="malformed")

    def raw_http10(self, host):
        base = self.valid() if self.r.random() < 0.7 else self.mutate(self.valid())
        version = self.pick(["HTTP/1.0", "HTTP/1.0", "HTTP/1.2", "HTTP/0.9", "http/1.1", "HTTP/1.01"])
        if version == "HTTP/0.9" and self.r.random() < 0.5:
            return Req(kind="raw", raw=b"GET /healthz\r\n", expect=1, complete=False, note="http/0.9")
        hs = base.final_headers(self.host)
        if self.r.random() < 0.5:
            hs = [h for h in hs if h[0].lower() != "host"]
        keep = self.r.random() < 0.3
        if keep:
            hs.append(("Connection", "keep-alive"))
        raw = build_wire(base.method, base.target, hs, base.body, version)
        if keep:
            # a second request on the kept-alive connection, closing it
            raw += build_wire("GET", "/healthz", [("Host", self.host), ("Connection", "close")], b"", version)
        methods = [base.method] + (["GET"] if keep else [])
        return Req(kind="raw", raw=raw, expect=len(methods), complete=version == "HTTP/1.0" and len(base.body) <= MAX_BODY,
                   methods=methods, note="http/1.0-ish " + version)

    def raw_pipelined(self, host):
        n = self.pick([2, 3, 5, 10, 20])
        parts, methods = [], []
        for i in range(n):
            q = self.valid()
            if self.r.random() < 0.4:
                q = self.mutate(q)
                if q.kind == "raw" or len(q.body) > MAX_BODY:
                    q = self.valid()
            parts.append(self.request_bytes(q, close=(i == n - 1)))
            methods.append(q.method)
        raw = b"".join(parts)
        return Req(kind="raw", raw=raw, expect=n, methods=methods, note="pipelined x%d" % n)

    def raw_pipelined_then_junk(self, host):
        """Valid request(s) answered after Redis replies, then garbage on the same connection."""
        q = self.valid()
        first = self.request_bytes(q)
        tail = self.pick([b"GARBAGE\r\n\r\n", b"GET / HTTP/1.1\r\nX: \x00\r\n\r\n", b"\xff\xff\xff\r\n\r\n",
                          b"GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: zz\r\n\r\n",
                          b"POST /v1/sessions HTTP/1.1\r\nHost: x\r\nContent-Length: 999999\r\n\r\n{",
                          b"PUT /v1/sessions/abcdefgh12345678 HTTP/1.1\r\nHost: x\r\nContent-Length: 70000\r\n\r\n"
                          + b"a" * 70000,
                          b"GET /healthz HTTP/1.1\r\nHost: x\r\n" + b"X: " + b"a" * 90000 + b"\r\n\r\n",
                          b"POST /v1/sessions HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"])
        methods = [q.method]
        if self.r.random() < 0.3:
            q2 = self.valid()
            first += self.request_bytes(q2)
            methods.append(q2.method)
        return Req(kind="raw", raw=first + tail, expect=len(methods), methods=methods, note="pipelined then junk")

    def raw_length_mismatch(self, host):
        q = self.valid()
        if not q.body:
            q.body = self.session_body() or b'{"data":{}}'
            q.method = self.pick(["POST", "PUT", "PATCH"])
        hs = [h for h in q.final_headers(self.host) if h[0].lower() != "content-length"]
        body = q.body
        r = self.r.random()
        if r < 0.45:
            cl = self.r.randrange(len(body))        # shorter: the rest is read as the next request
            expect = 1
        elif r < 0.9:
            cl = len(body) + self.pick([1, 10, 1000])   # longer: the client gives up (half-closes)
            expect = 0
        else:
            cl = self.pick([MAX_BODY + 1, 10 ** 9, 2 ** 63 - 1, 2 ** 64])   # 413 (or 400) at once
            expect = 1
        hs.append(("Content-Length", str(cl)))
        return Req(kind="raw", raw=build_wire(q.method, q.target, hs, body), expect=expect, methods=[q.method],
                   note="content-length %d for %d bytes" % (cl, len(body)))

    def raw_chunked(self, host):
        q = self.valid()
        if not q.body:
            q.body = self.session_body() or b'{"data":{}}'
            q.method = self.pick(["POST", "PUT", "PATCH"])
        hs = [h for h in q.final_headers(self.host) if h[0].lower() != "content-length"]
        hs.append(("Transfer-Encoding", "chunked"))
        body = q.body
        r = self.r.random()
        complete = True
        if r < 0.4:
            chunks, i = [], 0
            while i < len(body):
                piece = body[i:i + self.r.randint(1, 64)]
                chunks.append(b"%x\r\n" % len(piece) + piece + b"\r\n")
                i += len(piece)
            enc = b"".join(chunks) + b"0\r\n\r\n"
        elif r < 0.5:
            enc = b"%x;ext=1;q=\"v\"\r\n" % len(body) + body + b"\r\n0\r\nX-Trailer: 1\r\n\r\n"
        elif r < 0.6:
            big = b"a" * (MAX_BODY + 10)
            enc = b"".join(b"%x\r\n" % 4096 + big[i:i + 4096] + b"\r\n" for i in range(0, len(big), 4096))
            enc += b"0\r\n\r\n"
        else:
            enc = self.pick([b"zz\r\n" + body + b"\r\n0\r\n\r\n", b"FFFFFFFFFFFFFFFFFF\r\n" + body,
                             b"-1\r\n\r\n", b"%x\r\n" % (len(body) + 5) + body + b"\r\n0\r\n\r\n",
                             b"%x\r\n" % len(body) + body + b"0\r\n\r\n", b"0\r\n", b"\r\n\r\n",
                             b"%x \r\n" % len(body) + body + b"\r\n0\r\n\r\n",
                             b"%X\r\n" % len(body) + body + b"\n0\n\n", b"1\r\nab\r\n0\r\n\r\n"])
            complete = False
        if self.r.random() < 0.5:
            hs.append(("Connection", "close"))
        return Req(kind="raw", raw=build_wire(q.method, q.target, hs, enc), complete=complete, methods=[q.method],
                   note="chunked")

    def raw_nonascii_target(self, host):
        sid = self.rand_id()
        base = "/v1/sessions/" + sid
        seg = self.pick(["é", "日本", "😀", "\x01", "\x7f", "\t", " ", "\u2028", "a\x00b", "\x1b[2J",
                         "\udcff", "\udcc0\udcaf", "%", "\\", "\"", "<>", "{}", "|", "^", "`"])
        target = self.pick([base + "/data/" + seg, "/v1/users/" + seg + "/sessions", base + seg,
                            "/v1/sessions/" + seg * 10, base + "/data/" + seg + "?touch=" + seg,
                            base + "?touch=" + seg, "/" + seg, "/v1/sessions?confirm=" + seg])
        method = self.pick(["GET", "PUT", "DELETE", "HEAD"] + RAW_ONLY_METHODS[:2])
        body = b'"v"' if method == "PUT" else b""
        hs = [("Host", self.host), ("Connection", "close")]
        if body:
            hs.append(("Content-Length", str(len(body))))
        raw = build_wire(method, target, hs, body)
        return Req(kind="raw", raw=raw, methods=[method], complete=method not in RAW_ONLY_METHODS,
                   note="non-ascii target")

    def raw_upgrade(self, host):
        sid = self.rand_id()
        first = self.pick([
            b"CONNECT 127.0.0.1:1 HTTP/1.1\r\nHost: x\r\n\r\n",
            b"CONNECT /v1/sessions HTTP/1.1\r\nHost: x\r\n\r\n",
            b"GET /v1/sessions/%s HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n" % sid.encode(),
            b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\n"
            b"HTTP2-Settings: AAMAAABkAAQAAP__\r\n\r\n",
            b"POST /v1/sessions HTTP/1.1\r\nHost: x\r\nConnection: upgrade\r\nUpgrade: x\r\nContent-Length: 2\r\n\r\n{}",
        ])
        # A server without upgrade support must ignore Upgrade (RFC 9110 7.8) and go on with HTTP/1.1, so the
        # request behind it must be answered too (curl --http2 on http:// sends exactly this).
        tail = b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n" if self.r.random() < 0.5 else b""
        return Req(kind="raw", raw=first + tail, expect=2 if tail else 1, complete=not first.startswith(b"CONNECT"),
                   methods=["GET", "GET"], note="upgrade" + (" then a request" if tail else ""))

    def raw_expect(self, host):
        q = self.valid()
        if not q.body:
            q.body = b'{"data":{"a":1}}'
            q.method = "POST"
            q.target = "/v1/sessions"
        big = self.r.random() < 0.3
        hs = [h for h in q.final_headers(self.host) if h[0].lower() != "content-length"]
        body = q.body if not big else b'"' + b"x" * (MAX_BODY + 100) + b'"'
        hs += [("Expect", self.pick(["100-continue", "100-CONTINUE"])), ("Content-Length", str(len(body))),
               ("Connection", "close")]
        send_body = self.r.random() < 0.8
        raw = build_wire(q.method, q.target, hs, body if send_body else b"")
        return Req(kind="raw", raw=raw, complete=send_body or big, methods=[q.method],
                   note="expect 100-continue" + ("" if send_body else ", body never sent"))

    def raw_odd_method(self, host):
        method = self.pick(RAW_ONLY_METHODS + ODD_METHODS)
        target = self.pick(["/", "/healthz", "/v1/sessions", "/v1/sessions/" + self.rand_id(), "*", "x"])
        raw = build_wire(method, target, [("Host", self.host), ("Connection", "close")], b"")
        return Req(kind="raw", raw=raw, complete=method not in RAW_ONLY_METHODS, methods=[method], note="odd method")

    def raw_header_junk(self, host):
        q = self.valid()
        hs = q.final_headers(self.host)
        junk = self.pick([(b"X-Ctl", b"a\x01b"), (b"X-Nul", b"\x00"), (b"X-Hi", b"\xff\xfe\xfd"),
                          (b"If-Match", b'"\xff"'), (b"If-Match", b"\x00"), (b"X-Request-ID", b"\xe9\x00"),
                          (b"Authorization", b"Bearer \xff"), (b"X Space", b"v"), (b"", b"v"), (b"X-Fold", b"a\r\n b"),
                          (b"X-CR", b"a\rb"), (b"Content-Length", b" 0 "), (b"Content-Length", b"+0"),
                          (b"If-None-Match", b"*\x7f"), (b"X-Request-ID", b"a" * 200)])
        hs.append(junk)
        hs.append(("Connection", "close"))
        return Req(kind="raw", raw=build_wire(q.method, q.target, hs, q.body), methods=[q.method],
                   note="header junk")

    # ---- top level ------------------------------------------------------

    def next(self):
        r = self.r.random()
        if r < 0.10:
            return self.raw()
        if r < 0.42:
            return self.valid()
        if r < 0.92:
            return self.mutate(self.valid())
        return self.random_req()

    def observe(self, q, status, headers, body):
        """Learns real ids, ETags and keys from answers, so later inputs go deep."""
        if status is None:
            return
        etag = headers.get("etag") if headers else None
        if q.op == "flush" and status == 200:
            self.ids.clear()
            self.etags.clear()
            self.keys.clear()
            return
        if status == 201 and body:
            try:
                s = json.loads(body)
                sid = s["id"]
            except Exception:
                return
            if q.op == "cycle" and q.sid in self.ids:
                self.ids.remove(q.sid)
            if sid not in self.ids:
                self.ids.append(sid)
                if len(self.ids) > 64:
                    old = self.ids.pop(0)
                    self.etags.pop(old, None)
                    self.keys.pop(old, None)
            if etag:
                self.etags[sid] = etag
            if s.get("user") and s["user"] not in self.users and len(self.users) < 40:
                self.users.append(s["user"])
            return
        if q.sid and etag and 200 <= status < 300:
            self.etags[q.sid] = etag
        if isinstance(q.op, tuple) and q.op[0] == "setkey" and status == 204 and q.sid:
            ks = self.keys.setdefault(q.sid, [])
            if q.op[1] not in ks and len(ks) < 20:
                ks.append(q.op[1])
        if q.op == "delete" and status == 204 and q.sid in self.ids and self.r.random() < 0.7:
            self.ids.remove(q.sid)


# --------------------------------------------------------------------------
# Transport
# --------------------------------------------------------------------------

STATUS_RE = re.compile(rb"HTTP/1\.[01] (\d{3})[^\r\n]*\r\n")
ANY_5XX_RE = re.compile(rb"(?:^|\r\n)HTTP/1\.[01] (5\d\d) ")


def parse_responses(buf, methods):
    """Statuses of the responses in buf, in order (1xx included)."""
    out, p, i = [], 0, 0
    while p < len(buf):
        m = STATUS_RE.match(buf, p)
        if not m:
            break
        status = int(m.group(1))
        out.append(status)
        end = buf.find(b"\r\n\r\n", m.end() - 2)
        if end < 0:
            break
        head = buf[m.end():end]
        p = end + 4
        if 100 <= status < 200:
            continue
        method = methods[i] if i < len(methods) else None
        i += 1
        if method == "HEAD" or status in (204, 304):
            continue
        cl = re.search(rb"(?im)^content-length:[ \t]*(\d+)", head)
        if not cl:
            break
        p += int(cl.group(1))
    # anything that parsing missed but still looks like a 5xx status line
    for m in ANY_5XX_RE.finditer(buf):
        s = int(m.group(1))
        if s not in out:
            out.append(s)
    return out


class Outcome:
    __slots__ = ("statuses", "headers", "body", "error")

    def __init__(self, statuses=(), headers=None, body=b"", error=None):
        self.statuses = list(statuses)
        self.headers = headers
        self.body = body
        self.error = error       # None, "hang", "dropped", "refused"


class Client:
    def __init__(self, host, port):
        self.host, self.port = host, port
        self.hostport = "%s:%d" % (host, port)
        self.conn = None

    def close(self):
        if self.conn is not None:
            try:
                self.conn.close()
            except Exception:
                pass
            self.conn = None

    def send(self, q):
        if q.kind == "raw":
            return self.send_raw(q.raw, q.expect, q.complete, q.methods)
        headers = q.final_headers(self.hostport)
        for attempt in range(2):
            if self.conn is None:
                self.conn = http.client.HTTPConnection(self.host, self.port, timeout=HANG)
            c = self.conn
            try:
                try:
                    c.putrequest(q.method, q.target, skip_host=True, skip_accept_encoding=True)
                    for k, v in headers:
                        c.putheader(k, v)
                except (ValueError, http.client.InvalidURL, UnicodeEncodeError):
                    # http.client refuses it: send the same bytes on a raw socket instead
                    self.close()
                    q.kind, q.raw, q.methods = "raw", q.wire(self.hostport), [q.method]
                    q.expect, q.complete = 1, len(q.body) <= MAX_BODY
                    return self.send_raw(q.raw, q.expect, q.complete, q.methods)
                c.endheaders(q.body if q.body else None)
                resp = c.getresponse()
                body = resp.read()
                hs = {k.lower(): v for k, v in resp.getheaders()}
                if resp.will_close:
                    self.close()
                return Outcome([resp.status], hs, body)
            except TimeoutError:
                self.close()
                return Outcome(error="hang")
            except ConnectionRefusedError:
                self.close()
                return Outcome(error="refused")
            except (ConnectionError, http.client.HTTPException, OSError):
                self.close()
                continue
        return Outcome(error="dropped")

    def send_raw(self, data, expect, complete, methods):
        """Sends data on a fresh connection. Waits for `expect` final answers (at most HANG seconds when
        the input is complete, else a short grace), then half-closes; the server must then close within
        HANG seconds. An unanswered complete input, or a connection left open, is a hang."""
        try:
            s = socket.create_connection((self.host, self.port), timeout=HANG)
        except ConnectionRefusedError:
            return Outcome(error="refused")
        except OSError:
            return Outcome(error="dropped")
        buf = bytearray()
        eof = False
        try:
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            try:
                s.sendall(data)
            except OSError:
                pass

            def read_until(deadline, done):
                nonlocal eof
                while not done():
                    left = deadline - time.monotonic()
                    if left <= 0:
                        return False
                    s.settimeout(left)
                    try:
                        chunk = s.recv(262144)
                    except TimeoutError:
                        return False
                    except OSError:
                        chunk = b""
                    if not chunk:
                        eof = True
                        return True
                    buf.extend(chunk)
                return True

            def answered():
                return sum(1 for st in parse_responses(bytes(buf), methods) if st >= 200) >= expect

            grace = HANG if complete else 0.3
            if expect > 0 and not read_until(time.monotonic() + grace, answered) and complete:
                return Outcome(parse_responses(bytes(buf), methods), body=bytes(buf), error="hang")
            if not eof:
                try:
                    s.shutdown(socket.SHUT_WR)
                except OSError:
                    pass
                if not read_until(time.monotonic() + HANG, lambda: False):
                    return Outcome(parse_responses(bytes(buf), methods), body=bytes(buf), error="hang")
        finally:
            s.close()
        return Outcome(parse_responses(bytes(buf), methods), body=bytes(buf))


# --------------------------------------------------------------------------
# Per-answer contract checks
# --------------------------------------------------------------------------

def wire_size(q):
    return len(q.target) + len(q.body) + sum(len(k) + len(as_bytes(v)) + 4 for k, v in q.headers) + 64


ID_RE = re.compile(r"[A-Za-z0-9_-]{8,128}")


def path_segments(target):
    """The daemon's own split: path before '?', absolute form reduced to its path, split on '/'."""
    path = target.split("?", 1)[0]
    if path.startswith("http://") or path.startswith("https://"):
        rest = path[path.index(":") + 3:]
        path = rest[rest.index("/"):] if "/" in rest else "/"
    segs = path.split("/")
    if segs and segs[0] == "":
        segs = segs[1:]
    return segs


def invalid_id_reached_store(q, status, body):
    """Contract section 1: an id outside ^[A-Za-z0-9_-]{8,128}$ is a 400 and never reaches Redis."""
    segs = path_segments(q.target)
    if len(segs) < 3 or segs[0] != "v1" or segs[1] != "sessions" or ID_RE.fullmatch(segs[2]):
        return None
    if 200 <= status < 300 or status == 412 or (status == 404 and (b"session not found" in body or
                                                                     b"key not found" in body)):
        return "invalid session id %r answered %d: it reached the store" % (segs[2][:40], status)
    return None


def contract_warning(q, status, headers):
    """Softer checks (reported, not failures): errors are problem+json, 405 carries Allow."""
    if status < 400 or q.method == "HEAD" or headers is None:
        return None
    if not headers.get("content-type", "").startswith("application/problem+json"):
        return "%d without application/problem+json" % status
    if status == 405 and "allow" not in headers:
        return "405 without Allow"
    return None


# --------------------------------------------------------------------------
# Worker
# --------------------------------------------------------------------------

def worker(wid, seed, host, port, budget, deadline, done_counts, fail_counts, stop, results):
    rng = random.Random("%s-%d" % (seed, wid))
    gen = Gen(rng, "%s:%d" % (host, port))
    client = Client(host, port)
    statuses = collections.Counter()
    failures = []
    nfail = 0
    harness_errors = 0
    recent = collections.deque(maxlen=8)
    case_fails = collections.Counter()
    warnings = collections.Counter()
    warning_examples = []
    stopped_by = None
    i = 0
    try:
        while i < budget:
            if (i & 31) == 0 and (stop.is_set() or time.monotonic() > deadline):
                stopped_by = "stop"
                break
            i += 1
            try:
                q = gen.next()
            except Exception:
                harness_errors += 1
                if harness_errors <= 3:
                    failures.append({"why": "harness error (generator)", "trace": traceback.format_exc()})
                nfail += 1
                fail_counts[wid] = nfail
                continue
            recent.append(q)
            try:
                out = client.send(q)
            except Exception:
                harness_errors += 1
                if harness_errors <= 3:
                    failures.append({"why": "harness error (transport)", "trace": traceback.format_exc(),
                                     "request": q.describe()})
                nfail += 1
                fail_counts[wid] = nfail
                continue
            if out.error == "refused":
                # nothing listens any more: the daemon is gone; the main process reports it
                stopped_by = "refused"
                break
            why = None
            bad = [s for s in out.statuses if s >= 500]
            if bad:
                why = "status %d" % bad[0]
            elif q.kind == "http" and out.statuses:
                why = invalid_id_reached_store(q, out.statuses[0], out.body)
                w = contract_warning(q, out.statuses[0], out.headers)
                if w:
                    warnings[w] += 1
                    if warnings[w] <= 2:
                        warning_examples.append({"why": w, "request": q.describe()})
            elif out.error == "hang":
                why = "no answer within %.0f s" % HANG
            elif out.error == "dropped" and not q.may_drop and q.kind == "http" and wire_size(q) <= 1500:
                # Only small requests count: when the server rejects a request early (400 from the
                # parser, 413, 431) and closes with bytes still unread, the kernel resets the connection
                # and the client may lose the answer (no lingering close). Under 1500 bytes the whole
                # request is read at once, so it must always be answered.
                why = "connection closed without an answer (twice)"
            for s in out.statuses:
                statuses[s] += 1
            if not out.statuses:
                statuses[out.error or "closed"] += 1
            if why:
                if q.case:
                    case_fails[q.case] += 1
                    if case_fails[q.case] >= 3:
                        gen.disabled.add(q.case)
                nfail += 1
                fail_counts[wid] = nfail
                if len(failures) < MAX_KEPT:
                    rec = {"why": why, "worker": wid, "input": i, "request": q.describe(),
                           "wire_b64": base64.b64encode(q.wire(client.hostport)).decode(),
                           "response": trim(out.body, 400)}
                    failures.append(rec)
            elif q.kind == "http" and out.statuses:
                try:
                    gen.observe(q, out.statuses[0], out.headers, out.body)
                except Exception:
                    pass
            done_counts[wid] = i
    finally:
        client.close()
        done_counts[wid] = i
        last = [{"request": r.describe(), "wire_b64": base64.b64encode(r.wire(client.hostport)).decode()}
                for r in recent]
        results.put({"worker": wid, "done": i, "failed": nfail, "statuses": dict(statuses),
                     "disabled": sorted(gen.disabled), "warnings": dict(warnings),
                     "warning_examples": warning_examples,
                     "failures": failures, "stopped_by": stopped_by, "recent": last})


# --------------------------------------------------------------------------
# Processes: redis-server and sessiond
# --------------------------------------------------------------------------

def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def die_with_parent():
    """preexec_fn: the child gets SIGKILL if this harness dies without cleaning up."""
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except Exception:
        pass


def wait_port(port, proc, seconds=15):
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if proc.poll() is not None:
            return False
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return True
        except OSError:
            time.sleep(0.05)
    return False


class Redis:
    """A minimal RESP client for the end-of-run checks."""

    def __init__(self, port):
        self.s = socket.create_connection(("127.0.0.1", port), timeout=30)
        self.f = self.s.makefile("rb")

    def close(self):
        self.f.close()
        self.s.close()

    def pipeline(self, cmds):
        out = bytearray()
        for c in cmds:
            out += b"*%d\r\n" % len(c)
            for a in c:
                a = as_bytes(a)
                out += b"$%d\r\n%s\r\n" % (len(a), a)
        self.s.sendall(out)
        return [self.read() for _ in cmds]

    def read(self):
        line = self.f.readline()[:-2]
        t, rest = line[:1], line[1:]
        if t == b"+":
            return rest
        if t == b"-":
            return RuntimeError(rest.decode("latin-1"))
        if t == b":":
            return int(rest)
        if t == b"$":
            n = int(rest)
            if n < 0:
                return None
            data = self.f.read(n + 2)
            return data[:-2]
        if t == b"*":
            n = int(rest)
            return None if n < 0 else [self.read() for _ in range(n)]
        raise RuntimeError("bad RESP %r" % line)


def http_call(port, method, path, body=None, timeout=HANG):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        c.request(method, path, body=body, headers={"Content-Type": "application/json"} if body else {})
        r = c.getresponse()
        return r.status, r.read()
    finally:
        c.close()


# --------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------

def fmt_failure(n, f):
    lines = ["FAIL #%d: %s" % (n, f["why"])]
    if "worker" in f:
        lines[0] += "  (worker %d, input %d)" % (f["worker"], f["input"])
    req = f.get("request")
    if req:
        if req["kind"] == "http":
            lines.append("  method:  %r" % req["method"])
            lines.append("  path:    %r" % req["path"])
            lines.append("  headers: %r" % (req["headers"],))
            lines.append("  body:    %r" % (req["body"],))
        else:
            lines.append("  raw bytes (one connection; %d answer(s) expected, then SHUT_WR): %r"
                         % (req["expect"], req["bytes"]))
        if req.get("note"):
            lines.append("  mutations: %s" % req["note"])
    if f.get("response"):
        lines.append("  response: %r" % (f["response"],))
    if f.get("wire_b64"):
        lines.append("  replay:  echo %s | base64 -d | nc -q 5 127.0.0.1 $PORT"
                     % (f["wire_b64"] if len(f["wire_b64"]) <= 600 else "<see failures file>"))
    if f.get("trace"):
        lines.append("  " + f["trace"].rstrip().replace("\n", "\n  "))
    if f.get("detail"):
        lines.append("  " + str(f["detail"]).rstrip().replace("\n", "\n  "))
    return "\n".join(lines)


def replay(path, port):
    with open(path) as fh:
        for line in fh:
            f = json.loads(line)
            if not f.get("wire_b64"):
                continue
            data = base64.b64decode(f["wire_b64"])
            req = f.get("request") or {}
            c = Client("127.0.0.1", port)
            out = c.send_raw(data, req.get("expect", 1), req.get("complete", True), [])
            print("%-50s -> statuses %s %s" % (f["why"][:50], out.statuses, out.error or ""))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bin", default=".build/debug/sessiond", help="the sessiond binary")
    ap.add_argument("--inputs", type=int, default=20000, help="how many inputs (default 20000)")
    ap.add_argument("--seconds", type=float, default=3600, help="time limit for the inputs (default 3600)")
    ap.add_argument("--seed", default=None, help="random seed (printed at start)")
    ap.add_argument("--workers", type=int, default=int(os.environ.get("FUZZ_WORKERS", "3")))
    ap.add_argument("--out", default=None, help="directory for failures.jsonl and logs (default: a temp dir)")
    ap.add_argument("--replay", default=None, help="resend the requests of a failures.jsonl to --port, then exit")
    ap.add_argument("--port", type=int, default=8080, help="with --replay: the daemon's port")
    args = ap.parse_args()

    if args.replay:
        replay(args.replay, args.port)
        return 0

    seed = args.seed if args.seed is not None else str(random.SystemRandom().randrange(10 ** 9))
    log("fuzz: seed %s (reproduce with --seed %s), %d inputs, %d workers, time limit %.0f s"
        % (seed, seed, args.inputs, args.workers, args.seconds))

    workdir = tempfile.mkdtemp(prefix="sessiond-fuzz-")
    outdir = args.out or workdir
    os.makedirs(outdir, exist_ok=True)
    procs = []
    failures = []          # end-of-run and crash failures
    total_done = 0
    worker_failed = 0
    exit_code = 1
    daemon = None

    def on_signal(signum, frame):
        raise SystemExit(128 + signum)

    for s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(s, on_signal)

    try:
        # ---- redis-server ------------------------------------------------
        rport = free_port()
        redis_log = open(os.path.join(workdir, "redis.log"), "wb")
        redis = subprocess.Popen(
            ["redis-server", "--port", str(rport), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", workdir, "--daemonize", "no", "--protected-mode", "yes"],
            stdout=redis_log, stderr=subprocess.STDOUT, preexec_fn=die_with_parent)
        procs.append(redis)
        if not wait_port(rport, redis):
            raise RuntimeError("redis-server did not start (see %s/redis.log)" % workdir)
        rc = Redis(rport)
        rc.pipeline([["SET", k, v] for k, v in CANARIES.items()])
        rc.close()

        # ---- sessiond ----------------------------------------------------
        hport = free_port()
        daemon_log_path = os.path.join(outdir, "sessiond.log")
        daemon_log = open(daemon_log_path, "wb")
        cmd = [args.bin, "--redis", "redis://127.0.0.1:%d/0" % rport, "--key-prefix", PREFIX,
               "--listen", "127.0.0.1:%d" % hport, "--max-body-bytes", str(MAX_BODY), "--max-keys", str(MAX_KEYS),
               "--max-depth", str(MAX_DEPTH), "--default-ttl", "3600", "--max-lifetime", "86400",
               "--log-level", "warning"]
        env = {k: v for k, v in os.environ.items() if not k.startswith("SESSIOND_")}
        daemon = subprocess.Popen(cmd, stdout=daemon_log, stderr=subprocess.STDOUT, env=env,
                                  preexec_fn=die_with_parent)
        procs.append(daemon)
        if not wait_port(hport, daemon):
            raise RuntimeError("sessiond did not start: %s" % tail(daemon_log_path))
        log("fuzz: redis-server on 127.0.0.1:%d, sessiond (pid %d) on 127.0.0.1:%d: %s"
            % (rport, daemon.pid, hport, " ".join(cmd)))

        # ---- workers -----------------------------------------------------
        ctx = mp.get_context("fork")
        nworkers = max(1, min(args.workers, args.inputs))
        done_counts = ctx.Array("q", nworkers, lock=False)
        fail_counts = ctx.Array("q", nworkers, lock=False)
        stop = ctx.Event()
        results = ctx.Queue()
        start = time.monotonic()
        deadline = start + args.seconds
        budgets = [args.inputs // nworkers + (1 if w < args.inputs % nworkers else 0) for w in range(nworkers)]
        workers = [ctx.Process(target=worker, args=(w, seed, "127.0.0.1", hport, budgets[w], deadline,
                                                    done_counts, fail_counts, stop, results), daemon=True)
                   for w in range(nworkers)]
        for w in workers:
            w.start()
        reports = []
        crashed = False
        next_progress = start + 10
        last_done, last_t = 0, start
        while len(reports) < nworkers:
            try:
                reports.append(results.get(timeout=0.2))
            except Exception:
                pass
            if daemon.poll() is not None and not crashed:
                crashed = True
                stop.set()
            now = time.monotonic()
            if now > deadline + 2 * HANG + 5:
                stop.set()
            if now >= next_progress:
                d = sum(done_counts)
                log("fuzz: %d/%d inputs, %.0f/s (last 10 s: %.0f/s), %d failed"
                    % (d, args.inputs, d / (now - start), (d - last_done) / (now - last_t), sum(fail_counts)))
                last_done, last_t = d, now
                next_progress = now + 10
            if len(reports) < nworkers and not any(w.is_alive() for w in workers):
                # a worker died without reporting
                try:
                    while True:
                        reports.append(results.get(timeout=1))
                except Exception:
                    pass
                break
        for w in workers:
            w.join(timeout=5)
        elapsed = time.monotonic() - start
        total_done = sum(r["done"] for r in reports) if reports else sum(done_counts)
        worker_failed = sum(r["failed"] for r in reports)
        statuses = collections.Counter()
        worker_failures = []
        for r in sorted(reports, key=lambda r: r["worker"]):
            statuses.update(r["statuses"])
            worker_failures += r["failures"]
        warn = collections.Counter()
        for r in reports:
            warn.update(r.get("warnings", {}))
        if warn:
            log("fuzz: contract warnings (not counted as failures): " +
                ", ".join("%s x%d" % kv for kv in warn.most_common()))
            for ex in [x for r in reports for x in r.get("warning_examples", [])][:5]:
                log("  e.g. %s: %r" % (ex["why"], ex["request"]))
        disabled = sorted({c for r in reports for c in r.get("disabled", [])})
        if disabled:
            log("fuzz: raw cases switched off after failing 3 times in a worker: " + ", ".join(disabled))
        if len(reports) < nworkers:
            failures.append({"why": "harness error: %d worker(s) died without a report" % (nworkers - len(reports))})
        if total_done < args.inputs and not crashed:
            log("fuzz: time limit (%.0f s) reached after %d of %d inputs" % (args.seconds, total_done, args.inputs))
        log("fuzz: %d inputs in %.1f s = %.0f inputs/s" % (total_done, elapsed, total_done / max(elapsed, 1e-9)))
        log("fuzz: statuses: " + ", ".join("%s=%d" % (k, v) for k, v in
                                             sorted(statuses.items(), key=lambda kv: str(kv[0]))))

        # ---- crash ---------------------------------------------------------
        if crashed or daemon.poll() is not None:
            suspects = []
            for r in reports:
                suspects += [fmt_failure(0, {"why": "recent input of worker %d" % r["worker"], **x})
                             .replace("FAIL #0: ", "") for x in r["recent"][-3:]]
            failures.append({"why": "sessiond died (exit status %s)" % daemon.returncode,
                             "detail": "stderr tail:\n" + tail(daemon_log_path, 40) +
                             "\nlast inputs of each worker (one of them is likely the cause):\n" +
                             "\n".join(suspects)})
        else:
            failures += end_checks(hport, rport, daemon, daemon_log_path)

        all_failures = worker_failures + failures
        nfailed = worker_failed + len(failures)
        if all_failures:
            path = os.path.join(outdir, "failures.jsonl")
            with open(path, "w") as fh:
                for f in all_failures:
                    fh.write(json.dumps(f, default=lambda b: b.decode("latin-1") if isinstance(b, bytes) else str(b))
                             + "\n")
            for n, f in enumerate(all_failures[:MAX_PRINTED], 1):
                log(fmt_failure(n, f))
            log("fuzz: every kept failure, with exact bytes (wire_b64), is in %s; "
                "replay: python3 tests/fuzz/fuzz_http.py --replay %s --port PORT" % (path, path))
        passed = max(0, total_done - worker_failed)
        print("fuzz: %d passed, %d failed" % (passed, nfailed), flush=True)
        exit_code = 1 if nfailed else 0
    except SystemExit as e:
        log("fuzz: interrupted")
        print("fuzz: %d passed, %d failed" % (0, 1), flush=True)
        exit_code = e.code if isinstance(e.code, int) else 1
    except Exception:
        log("fuzz: harness error:\n" + traceback.format_exc())
        if daemon is not None:
            log("sessiond log tail:\n" + tail(os.path.join(outdir, "sessiond.log")))
        print("fuzz: %d passed, %d failed" % (total_done - worker_failed, max(1, worker_failed)), flush=True)
        exit_code = 1
    finally:
        for p in reversed(procs):
            if p.poll() is None:
                try:
                    p.terminate()
                    p.wait(timeout=10)
                except Exception:
                    p.kill()
                    p.wait()
        if exit_code == 0 and args.out is None:
            shutil.rmtree(workdir, ignore_errors=True)
        elif args.out is None:
            log("fuzz: logs kept in %s" % workdir)
    return exit_code


def tail(path, n=30):
    try:
        with open(path, "rb") as fh:
            lines = fh.read().decode("utf-8", "replace").splitlines()
        return "\n".join(lines[-n:])
    except OSError:
        return "(no log)"


def end_checks(hport, rport, daemon, daemon_log_path):
    fails = []
    # (5) the daemon still answers
    try:
        st, _ = http_call(hport, "GET", "/healthz")
        if st != 200:
            fails.append({"why": "after the run: GET /healthz answered %d" % st})
        st, body = http_call(hport, "POST", "/v1/sessions", b'{"data":{"after":"fuzz"},"ttl":60}')
        if st != 201:
            fails.append({"why": "after the run: create answered %d: %r" % (st, body[:300])})
        else:
            sid = json.loads(body)["id"]
            st, body = http_call(hport, "GET", "/v1/sessions/" + sid)
            if st != 200 or json.loads(body)["data"] != {"after": "fuzz"}:
                fails.append({"why": "after the run: read of a new session answered %d: %r" % (st, body[:300])})
        st, _ = http_call(hport, "GET", "/readyz")
        if st != 200:
            fails.append({"why": "after the run: GET /readyz answered %d" % st})
    except Exception as e:
        fails.append({"why": "after the run: the daemon does not answer: %r" % e})
    # coverage: requests by route and status, from the daemon's own metrics
    try:
        st, body = http_call(hport, "GET", "/metrics")
        per = collections.Counter()
        for m in re.finditer(r'sessiond_http_requests_total\{route="([^"]*)",method="([^"]*)",status="(\d+)"\} (\d+)',
                             body.decode("utf-8", "replace")):
            per["%s %s" % (m.group(1), m.group(3)[0] + "xx")] += int(m.group(4))
        log("fuzz: daemon metrics, requests by route and status class:\n  " +
            "\n  ".join("%-40s %d" % kv for kv in sorted(per.items())))
    except Exception:
        pass
    # (4) Redis: every key under the prefix (canaries excepted, and intact), with a TTL, sessions well formed
    try:
        out = subprocess.run(["redis-cli", "-h", "127.0.0.1", "-p", str(rport), "--scan"],
                             capture_output=True, timeout=300, check=True).stdout
        keys = [k for k in out.split(b"\n") if k]
        outside = [k for k in keys if not k.startswith(PREFIX.encode()) and k not in CANARIES]
        if outside:
            fails.append({"why": "%d Redis key(s) outside the prefix %r" % (len(outside), PREFIX),
                          "detail": "\n".join(repr(k) for k in outside[:20])})
        rc = Redis(rport)
        vals = rc.pipeline([["GET", k] for k in CANARIES])
        for (k, v), got in zip(CANARIES.items(), vals):
            if got != v:
                fails.append({"why": "canary key %r was changed or deleted: %r" % (k, got)})
        ours = [k for k in keys if k.startswith(PREFIX.encode()) and k not in CANARIES]
        sample = ours if len(ours) <= 20000 else random.sample(ours, 20000)
        no_ttl, bad_shape = [], []
        for i in range(0, len(sample), 1000):
            chunk = sample[i:i + 1000]
            replies = rc.pipeline([c for k in chunk for c in (["TTL", k], ["TYPE", k])])
            for k, ttl, typ in zip(chunk, replies[0::2], replies[1::2]):
                if ttl == -1:
                    no_ttl.append(k)
                if k.startswith(b"fuzz:session:"):
                    if typ != b"hash":
                        bad_shape.append((k, typ))
                elif k.startswith(b"fuzz:user:"):
                    if typ != b"set":
                        bad_shape.append((k, typ))
                elif typ != b"none":
                    bad_shape.append((k, typ))
        meta = {b"meta:ttl", b"meta:created", b"meta:user", b"meta:version", b"meta:expires_at", b"meta:device", b"meta:seen"}
        sess = [k for k in sample if k.startswith(b"fuzz:session:")][:5000]
        for i in range(0, len(sess), 500):
            chunk = sess[i:i + 500]
            for k, fields in zip(chunk, rc.pipeline([["HKEYS", k] for k in chunk])):
                if not isinstance(fields, list):
                    continue
                foreign = [f for f in fields if not f.startswith(b"data:") and f not in meta]
                missing = [f for f in (b"meta:ttl", b"meta:created", b"meta:version") if f not in fields]
                if fields and (foreign or missing):
                    bad_shape.append((k, "foreign fields %r, missing %r" % (foreign[:5], missing)))
        rc.close()
        if no_ttl:
            fails.append({"why": "%d key(s) under the prefix without a TTL" % len(no_ttl),
                          "detail": "\n".join(repr(k) for k in no_ttl[:20])})
        if bad_shape:
            fails.append({"why": "%d key(s) not in the documented layout" % len(bad_shape),
                          "detail": "\n".join(repr(x) for x in bad_shape[:20])})
        log("fuzz: redis: %d keys scanned, %d under %r, all checked for prefix, %d for TTL/type, %d hashes for fields"
            % (len(keys), len(ours), PREFIX, len(sample), len(sess)))
    except Exception:
        fails.append({"why": "harness error: Redis checks", "trace": traceback.format_exc()})
    # SIGTERM: graceful stop, exit 0
    try:
        daemon.send_signal(signal.SIGTERM)
        code = daemon.wait(timeout=15)
        if code != 0:
            fails.append({"why": "sessiond exited %d after SIGTERM" % code,
                          "detail": tail(daemon_log_path, 20)})
    except subprocess.TimeoutExpired:
        fails.append({"why": "sessiond did not exit within 15 s of SIGTERM"})
    if fails:
        log("sessiond log tail:\n" + tail(daemon_log_path, 20))
    return fails


if __name__ == "__main__":
    sys.exit(main())
