package io.sessiond;

import java.io.IOException;
import java.net.ConnectException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.time.format.DateTimeFormatter;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * A client of one sessiond daemon's HTTP API ({@code /v1}), on {@link java.net.http.HttpClient}.
 *
 * <p>Thread-safe, and it keeps keep-alive connections: share one per process. Every call has a
 * connect and a response timeout, sends the bearer token when one is configured, and turns the
 * daemon's problem+json errors into {@link SessiondException} subclasses: {@link NotFoundException}
 * (404), {@link PreconditionFailedException} (412), {@link InvalidRequestException} (400, 413),
 * {@link AuthenticationException} (401), {@link UnavailableException} (5xx and I/O failures).
 *
 * <p>Data values are plain Java objects as {@link Json} maps them: Map, List, String, Long, Double,
 * Boolean, null (the writer also takes other numbers and collections).
 *
 * <p>{@code java.net.http} cannot speak over a unix-domain socket, so the URL must be
 * {@code http://} or {@code https://}.
 */
public final class SessiondClient {
    public static final String DEFAULT_URL = "http://127.0.0.1:8080";
    public static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(2);

    private static final String JSON = "application/json";

    private final String url;
    private final String base;
    private final String authorization;
    private final Duration timeout;
    private final int retries;
    private final HttpClient http;

    /** A client of the daemon at {@link #DEFAULT_URL}, without a token. */
    public SessiondClient() {
        this(DEFAULT_URL);
    }

    public SessiondClient(String url) {
        this(url, null);
    }

    public SessiondClient(String url, String token) {
        this(url, token, DEFAULT_TIMEOUT);
    }

    /**
     * @param url     {@code http://host:port}, optionally with a path prefix (a daemon behind a proxy)
     * @param token   the bearer token ({@code --auth-token-file}), or null
     * @param timeout for connecting, and for each response
     */
    public SessiondClient(String url, String token, Duration timeout) {
        this(builder(url).token(token).timeout(timeout));
    }

    private SessiondClient(Builder b) {
        this.url = Objects.requireNonNull(b.url, "url");
        if (url.startsWith("unix:")) {
            throw new IllegalArgumentException("java.net.http cannot connect to a unix socket (" + url
                    + "): give sessiond a loopback --listen host:port for Java clients");
        }
        URI uri;
        try {
            uri = URI.create(url);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("not a URL: " + url, e);
        }
        if (!("http".equals(uri.getScheme()) || "https".equals(uri.getScheme())) || uri.getHost() == null
                || uri.getRawQuery() != null || uri.getRawFragment() != null) {
            throw new IllegalArgumentException("the sessiond URL must be http://host:port[/prefix] or https://…, not " + url);
        }
        this.base = url.endsWith("/") ? url.substring(0, url.length() - 1) : url;
        this.authorization = b.token == null || b.token.isEmpty() ? null : "Bearer " + b.token;
        this.timeout = Objects.requireNonNull(b.timeout, "timeout");
        if (timeout.isNegative() || timeout.isZero()) throw new IllegalArgumentException("timeout must be positive");
        if (b.retries < 0) throw new IllegalArgumentException("retries must be >= 0");
        this.retries = b.retries;
        this.http = b.httpClient != null ? b.httpClient : HttpClient.newBuilder()
                // HTTP/1.1: a plain-http HTTP/2 client would send an h2c upgrade the daemon has no use for.
                .version(HttpClient.Version.HTTP_1_1)
                .connectTimeout(timeout)
                .followRedirects(HttpClient.Redirect.NEVER)
                .build();
    }

    public static Builder builder(String url) {
        return new Builder(url);
    }

    /** Options beyond url, token and timeout. */
    public static final class Builder {
        private final String url;
        private String token;
        private Duration timeout = DEFAULT_TIMEOUT;
        private int retries = 2;
        private HttpClient httpClient;

        private Builder(String url) {
            this.url = url;
        }

        public Builder token(String token) {
            this.token = token;
            return this;
        }

        public Builder timeout(Duration timeout) {
            this.timeout = timeout;
            return this;
        }

        /**
         * How often to retry a call whose connection could not be made (any method: nothing was sent),
         * or a GET/HEAD/DELETE whose connection broke. Never a POST/PUT/PATCH that may have reached the
         * daemon, and never a timeout. Default 2.
         */
        public Builder retries(int retries) {
            this.retries = retries;
            return this;
        }

        /** A preconfigured {@link HttpClient} (proxy, TLS, executor); its connect timeout is then its own. */
        public Builder httpClient(HttpClient httpClient) {
            this.httpClient = httpClient;
            return this;
        }

        public SessiondClient build() {
            return new SessiondClient(this);
        }
    }

    public String url() {
        return url;
    }

    public Duration timeout() {
        return timeout;
    }

    @Override
    public String toString() {
        return "SessiondClient(" + url + ")";
    }

    // ------------------------------------------------------------------ sessions

    /** {@code POST /v1/sessions}: a new session with a daemon-made id and no data. */
    public Session create() {
        return create(new SessionSpec());
    }

    /** {@code POST /v1/sessions} with this data. */
    public Session create(Map<String, ?> data) {
        return create(new SessionSpec().data(data));
    }

    /** {@code POST /v1/sessions}: the daemon picks the id. */
    public Session create(SessionSpec spec) {
        return session(send("POST", "/v1/sessions", spec.toJson(), Precondition.NONE, false));
    }

    /**
     * {@code PUT /v1/sessions/{id}} with {@code If-None-Match: *}: create a session with an id of your
     * own; {@link PreconditionFailedException} when it is taken.
     */
    public Session createWithId(String id, SessionSpec spec) {
        return replace(id, spec, Precondition.ifAbsent());
    }

    /** {@code GET /v1/sessions/{id}}, sliding its TTL (unless the daemon runs {@code --no-touch-on-read}). */
    public Session get(String id) {
        return session(send("GET", sessionPath(id), null, Precondition.NONE, false));
    }

    /** {@code GET /v1/sessions/{id}?touch=…}: {@code touch=false} reads without sliding the TTL. */
    public Session get(String id, boolean touch) {
        return session(send("GET", sessionPath(id) + touch(touch), null, Precondition.NONE, false));
    }

    /** {@code HEAD /v1/sessions/{id}}. */
    public boolean exists(String id) {
        return head(sessionPath(id));
    }

    /** {@code HEAD /v1/sessions/{id}?touch=…}. */
    public boolean exists(String id, boolean touch) {
        return head(sessionPath(id) + touch(touch));
    }

    private boolean head(String path) {
        try {
            send("HEAD", path, null, Precondition.NONE, false);
            return true;
        } catch (NotFoundException e) {
            return false;
        }
    }

    /** {@code PUT /v1/sessions/{id}}: replace the data (and what else the spec sets), creating it when absent. */
    public Session replace(String id, SessionSpec spec) {
        return replace(id, spec, Precondition.NONE);
    }

    /**
     * {@code PUT /v1/sessions/{id}} under a condition: {@link Precondition#ifExists()} replaces but
     * never creates, {@link Precondition#ifMatch(String)} only if unchanged,
     * {@link Precondition#ifAbsent()} only creates. {@link Session#created()} says which happened.
     */
    public Session replace(String id, SessionSpec spec, Precondition precondition) {
        return session(send("PUT", sessionPath(id), spec.toJson(), precondition, false));
    }

    /** {@code PATCH /v1/sessions/{id}}: set and delete keys in one atomic step. */
    public Session patch(String id, Map<String, ?> set, Collection<String> delete) {
        return patch(id, set, delete, Precondition.NONE);
    }

    public Session patch(String id, Map<String, ?> set, Collection<String> delete, Precondition precondition) {
        Map<String, Object> body = new LinkedHashMap<>();
        if (set != null && !set.isEmpty()) body.put("set", set);
        if (delete != null && !delete.isEmpty()) body.put("delete", delete);
        return session(send("PATCH", sessionPath(id), Json.write(body), precondition, false));
    }

    /** {@code DELETE /v1/sessions/{id}}: the session and its user-index entry; no error when absent. */
    public void delete(String id) {
        send("DELETE", sessionPath(id), null, Precondition.NONE, false);
    }

    // ------------------------------------------------------------------ data keys

    /** One data value; {@link KeyNotFoundException} when only the key is missing. */
    public Object getKey(String id, String key) {
        return parse(getKeyJson(id, key, null));
    }

    public Object getKey(String id, String key, boolean touch) {
        return parse(getKeyJson(id, key, touch));
    }

    /** One data value, or empty when the key is missing (the session must exist). */
    public Optional<Object> findKey(String id, String key) {
        try {
            return Optional.ofNullable(getKey(id, key));
        } catch (KeyNotFoundException e) {
            return Optional.empty();
        }
    }

    /** One data value as the exact JSON text the daemon stored. */
    public String getKeyJson(String id, String key) {
        return getKeyJson(id, key, null);
    }

    private String getKeyJson(String id, String key, Boolean touch) {
        String path = keyPath(id, key) + (touch == null ? "" : touch(touch));
        return send("GET", path, null, Precondition.NONE, true).body();
    }

    /** {@code PUT …/data/{key}}; returns the session's new ETag. */
    public String setKey(String id, String key, Object value) {
        return setKeyJson(id, key, Json.write(value), Precondition.NONE);
    }

    public String setKey(String id, String key, Object value, Precondition precondition) {
        return setKeyJson(id, key, Json.write(value), precondition);
    }

    /** {@code PUT …/data/{key}} with JSON text sent as is; returns the new ETag. */
    public String setKeyJson(String id, String key, String json) {
        return setKeyJson(id, key, json, Precondition.NONE);
    }

    public String setKeyJson(String id, String key, String json, Precondition precondition) {
        return etag(send("PUT", keyPath(id, key), Objects.requireNonNull(json, "json"), precondition, false));
    }

    /** {@code DELETE …/data/{key}} (no error when the key is absent); returns the new ETag. */
    public String deleteKey(String id, String key) {
        return deleteKey(id, key, Precondition.NONE);
    }

    public String deleteKey(String id, String key, Precondition precondition) {
        return etag(send("DELETE", keyPath(id, key), null, precondition, false));
    }

    /** {@code DELETE /v1/sessions/{id}/data}: empty the data, keep the session; returns the new ETag. */
    public String clear(String id) {
        return clear(id, Precondition.NONE);
    }

    public String clear(String id, Precondition precondition) {
        return etag(send("DELETE", sessionPath(id) + "/data", null, precondition, false));
    }

    // ------------------------------------------------------------------ expiry

    public Expiry getExpiry(String id) {
        return expiry(send("GET", sessionPath(id) + "/expiry", null, Precondition.NONE, false));
    }

    public Expiry getExpiry(String id, boolean touch) {
        return expiry(send("GET", sessionPath(id) + "/expiry" + touch(touch), null, Precondition.NONE, false));
    }

    /** Sets the idle timeout in seconds; null restores the daemon's {@code --default-ttl}. */
    public Expiry setTtl(String id, Integer ttl) {
        String body = "{\"ttl\":" + (ttl == null ? "null" : ttl.toString()) + "}";
        return expiry(send("PUT", sessionPath(id) + "/expiry", body, Precondition.NONE, false));
    }

    /** Fixes an absolute expiry (kept to the millisecond), which stops sliding for this session. */
    public Expiry setExpiresAt(String id, Instant expiresAt) {
        String when = DateTimeFormatter.ISO_INSTANT.format(expiresAt.truncatedTo(ChronoUnit.MILLIS));
        String body = "{\"expires_at\":" + Json.write(when) + "}";
        return expiry(send("PUT", sessionPath(id) + "/expiry", body, Precondition.NONE, false));
    }

    /** {@code POST …/cycle}: a new id with the same data, ttl and user; the old id is gone (session fixation). */
    public Session cycle(String id) {
        return session(send("POST", sessionPath(id) + "/cycle", null, Precondition.NONE, false));
    }

    // ------------------------------------------------------------------ users and admin

    /** The user's live sessions, most recently seen first (listing slides none of them). */
    public List<Session> userSessions(String user) {
        Map<String, Object> body = object(send("GET", userPath(user), null, Precondition.NONE, false));
        List<Session> out = new ArrayList<>();
        Object list = body.get("sessions");
        if (list instanceof List) {
            for (Object s : (List<?>) list) out.add(new Session(asObject(s), null, false));
        }
        return out;
    }

    /** Logs the user out everywhere; returns how many sessions were deleted. */
    public long deleteUserSessions(String user) {
        return deleted(send("DELETE", userPath(user), null, Precondition.NONE, false));
    }

    /** Logs the user out everywhere except {@code exceptId} (this device). */
    public long deleteUserSessions(String user, String exceptId) {
        String q = exceptId == null ? "" : "?except=" + encode(exceptId);
        return deleted(send("DELETE", userPath(user) + q, null, Precondition.NONE, false));
    }

    /**
     * {@code DELETE /v1/sessions?confirm=all}: drops every session under the daemon's prefix.
     * {@code confirm} must be true: a guard against a stray call.
     */
    public long deleteAll(boolean confirm) {
        if (!confirm) throw new IllegalArgumentException("deleteAll needs confirm=true");
        return deleted(send("DELETE", "/v1/sessions?confirm=all", null, Precondition.NONE, false));
    }

    /** {@code GET /healthz}: the daemon process answers. */
    public boolean healthy() {
        return probe("/healthz");
    }

    /** {@code GET /readyz}: the daemon reaches Redis. */
    public boolean ready() {
        return probe("/readyz");
    }

    private boolean probe(String path) {
        try {
            send("GET", path, null, Precondition.NONE, false);
            return true;
        } catch (SessiondException e) {
            return false;
        }
    }

    /** {@code GET /metrics}: the Prometheus text. */
    public String metrics() {
        return send("GET", "/metrics", null, Precondition.NONE, false).body();
    }

    /** {@code GET /openapi.yaml}: the API description. */
    public String openApi() {
        return send("GET", "/openapi.yaml", null, Precondition.NONE, false).body();
    }

    // ------------------------------------------------------------------ plumbing

    private static String touch(boolean touch) {
        return touch ? "?touch=true" : "?touch=false";
    }

    private static String sessionPath(String id) {
        if (id == null || id.isEmpty()) throw new IllegalArgumentException("no session id");
        return "/v1/sessions/" + encode(id);
    }

    private static String keyPath(String id, String key) {
        if (key == null || key.isEmpty()) throw new IllegalArgumentException("no data key");
        return sessionPath(id) + "/data/" + encode(key);
    }

    private static String userPath(String user) {
        if (user == null || user.isEmpty()) throw new IllegalArgumentException("no user");
        return "/v1/users/" + encode(user) + "/sessions";
    }

    /** Percent-encodes one path segment or query value (RFC 3986 unreserved characters stay). */
    static String encode(String s) {
        StringBuilder sb = new StringBuilder();
        for (byte b : s.getBytes(StandardCharsets.UTF_8)) {
            int c = b & 0xff;
            if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
                    || c == '-' || c == '_' || c == '.' || c == '~') {
                sb.append((char) c);
            } else {
                sb.append('%').append(Character.toUpperCase(Character.forDigit(c >> 4, 16)))
                        .append(Character.toUpperCase(Character.forDigit(c & 15, 16)));
            }
        }
        return sb.toString();
    }

    private HttpResponse<String> send(String method, String path, String body, Precondition pre, boolean keyOp) {
        HttpRequest.Builder rb = HttpRequest.newBuilder(URI.create(base + path))
                .timeout(timeout)
                .header("Accept", JSON)
                .header("User-Agent", "sessiond-java/0.1");
        if (authorization != null) rb.header("Authorization", authorization);
        if (pre.header != null) rb.header(pre.header, pre.value);
        if (body != null) {
            rb.header("Content-Type", JSON);
            rb.method(method, HttpRequest.BodyPublishers.ofString(body, StandardCharsets.UTF_8));
        } else {
            rb.method(method, HttpRequest.BodyPublishers.noBody());
        }
        HttpRequest request = rb.build();
        boolean idempotent = method.equals("GET") || method.equals("HEAD") || method.equals("DELETE");
        HttpResponse<String> resp;
        for (int attempt = 0; ; attempt++) {
            try {
                resp = http.send(request, HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
                break;
            } catch (HttpTimeoutException e) {
                throw new UnavailableException(0, null, "sessiond at " + url + " did not answer within "
                        + timeout.toMillis() + " ms (" + method + " " + path + ")", null, e);
            } catch (IOException e) {
                boolean notSent = e instanceof ConnectException;
                if (attempt < retries && (notSent || idempotent)) continue;
                throw new UnavailableException(0, null, "sessiond at " + url + " did not answer: " + e, null, e);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new UnavailableException(0, null, "interrupted while waiting for sessiond", null, e);
            }
        }
        int status = resp.statusCode();
        if (status >= 200 && status < 300) return resp;
        throw error(resp, keyOp);
    }

    static SessiondException error(HttpResponse<String> resp, boolean keyOp) {
        int status = resp.statusCode();
        String title = null;
        String detail = null;
        String text = resp.body();
        if (text != null && !text.isEmpty()) {
            try {
                Object problem = Json.parse(text);
                if (problem instanceof Map) {
                    Object t = ((Map<?, ?>) problem).get("title");
                    Object d = ((Map<?, ?>) problem).get("detail");
                    title = t instanceof String ? (String) t : null;
                    detail = d instanceof String ? (String) d : null;
                }
            } catch (IllegalArgumentException e) {
                detail = text.length() > 200 ? text.substring(0, 200) : text;
            }
        }
        if (detail == null) detail = title != null ? title : "HTTP " + status;
        switch (status) {
            case 404:
                // The daemon's detail says which: "session not found" or "key not found in session".
                if (keyOp && detail.contains("key") && !detail.contains("session not found")) {
                    return new KeyNotFoundException(title, detail);
                }
                return new NotFoundException(title, detail);
            case 412:
                return new PreconditionFailedException(title, detail);
            case 400:
            case 413:
                return new InvalidRequestException(status, title, detail);
            case 401:
                return new AuthenticationException(title, detail);
            default:
                if (status >= 500) {
                    return new UnavailableException(status, title, detail, retryAfter(resp), null);
                }
                return new SessiondException(status, title, detail);
        }
    }

    private static Duration retryAfter(HttpResponse<?> resp) {
        Optional<String> ra = resp.headers().firstValue("Retry-After");
        if (ra.isEmpty()) return null;
        try {
            return Duration.ofSeconds(Long.parseLong(ra.get().trim()));
        } catch (NumberFormatException e) {
            return null; // an HTTP-date: the daemon sends seconds, so this is someone else's header
        }
    }

    private static Object parse(String text) {
        try {
            return Json.parse(text);
        } catch (IllegalArgumentException e) {
            throw new SessiondException(0, null, "sessiond sent malformed JSON: " + e.getMessage(), e);
        }
    }

    private static Map<String, Object> object(HttpResponse<String> resp) {
        return asObject(parse(resp.body()));
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> asObject(Object v) {
        if (!(v instanceof Map)) throw new SessiondException(0, null, "sessiond sent a non-object where an object belongs", null);
        return (Map<String, Object>) v;
    }

    private static Session session(HttpResponse<String> resp) {
        return new Session(object(resp), resp.headers().firstValue("ETag").orElse(null), resp.statusCode() == 201);
    }

    private static Expiry expiry(HttpResponse<String> resp) {
        return new Expiry(object(resp));
    }

    private static String etag(HttpResponse<String> resp) {
        return resp.headers().firstValue("ETag").orElse(null);
    }

    private static long deleted(HttpResponse<String> resp) {
        Object n = object(resp).get("deleted");
        return n instanceof Number ? ((Number) n).longValue() : 0;
    }
}
