package io.sessiond;

import java.time.Instant;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;

/**
 * A session as the daemon returned it. The typed getters cover the fields of today's contract;
 * {@link #fields()} holds every member of the response, including ones this client does not know yet,
 * so nothing the daemon sends is lost.
 */
public final class Session {
    private final Map<String, Object> fields;
    private final String etag;
    private final boolean created;

    Session(Map<String, Object> fields, String etag, boolean created) {
        this.fields = Collections.unmodifiableMap(new LinkedHashMap<>(fields));
        this.etag = etag;
        this.created = created;
    }

    public String id() {
        return (String) fields.get("id");
    }

    /** The data object: string keys to values as {@link Json} reads them (Map, List, String, Long, Double, Boolean, null). */
    @SuppressWarnings("unchecked")
    public Map<String, Object> data() {
        Object data = fields.get("data");
        return data instanceof Map ? Collections.unmodifiableMap((Map<String, Object>) data) : Map.of();
    }

    /** The idle timeout in seconds. */
    public long ttl() {
        return longField("ttl");
    }

    /** Seconds until the session expires, when the daemon answered. */
    public long expiresIn() {
        return longField("expires_in");
    }

    public Instant expiresAt() {
        return instantField("expires_at");
    }

    public Instant createdAt() {
        return instantField("created_at");
    }

    /** The owner, if any. */
    public Optional<String> user() {
        return Optional.ofNullable((String) fields.get("user"));
    }

    /** The device object the app gave (absent when none, or with a daemon that does not report devices yet). */
    @SuppressWarnings("unchecked")
    public Optional<Map<String, Object>> device() {
        Object d = fields.get("device");
        return d instanceof Map ? Optional.of((Map<String, Object>) d) : Optional.empty();
    }

    /** The last write or sliding read of a session with a user or device (absent otherwise). */
    public Optional<Instant> lastSeenAt() {
        return Optional.ofNullable(instantField("last_seen_at"));
    }

    /** Every member of the response, known or not. */
    public Map<String, Object> fields() {
        return fields;
    }

    /** The {@code ETag} header ({@code "\"3\""}), or null (sessions in a user listing carry none). */
    public String etag() {
        return etag;
    }

    /** The version from the ETag ({@code "3"} → 3), or -1 when there is none. */
    public long version() {
        if (etag == null) return -1;
        String t = etag.startsWith("W/") ? etag.substring(2) : etag;
        if (t.length() < 2 || !t.startsWith("\"") || !t.endsWith("\"")) return -1;
        try {
            return Long.parseLong(t.substring(1, t.length() - 1));
        } catch (NumberFormatException e) {
            return -1;
        }
    }

    /** Whether the call created the session ({@code 201}). */
    public boolean created() {
        return created;
    }

    private long longField(String name) {
        Object v = fields.get(name);
        return v instanceof Number ? ((Number) v).longValue() : -1;
    }

    private Instant instantField(String name) {
        Object v = fields.get(name);
        return v instanceof String ? Instant.parse((String) v) : null;
    }

    @Override
    public String toString() {
        return "Session" + fields + (etag != null ? " etag=" + etag : "");
    }
}
