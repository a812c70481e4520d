package io.sessiond;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The body of a create or replace. A member that is never set is left out, which on a replace keeps
 * the session's current value; setting it to null means "the default" (ttl), "no owner" (user) or
 * "no device" (device).
 *
 * <pre>{@code new SessionSpec().data(Map.of("cart", List.of(1, 2))).ttl(3600).user("alice")}</pre>
 */
public final class SessionSpec {
    private final Map<String, String> members = new LinkedHashMap<>();

    /** The data object (string keys to JSON values); null sends none (an empty session). */
    public SessionSpec data(Map<String, ?> data) {
        if (data == null) members.remove("data");
        else members.put("data", Json.write(data));
        return this;
    }

    /** The data object as JSON text, sent as is. */
    public SessionSpec dataJson(String json) {
        Object parsed = Json.parse(json);
        if (!(parsed instanceof Map)) throw new IllegalArgumentException("data must be a JSON object");
        members.put("data", json);
        return this;
    }

    /** The idle timeout in seconds; null is the daemon's {@code --default-ttl}. */
    public SessionSpec ttl(Integer seconds) {
        members.put("ttl", seconds == null ? "null" : seconds.toString());
        return this;
    }

    /** The owner; null removes it. */
    public SessionSpec user(String user) {
        members.put("user", Json.write(user));
        return this;
    }

    /** The device object (e.g. {@code user_agent}, {@code ip}); null clears it. */
    public SessionSpec device(Map<String, ?> device) {
        members.put("device", Json.write(device));
        return this;
    }

    String toJson() {
        StringBuilder sb = new StringBuilder("{");
        for (Map.Entry<String, String> m : members.entrySet()) {
            if (sb.length() > 1) sb.append(',');
            sb.append('"').append(m.getKey()).append("\":").append(m.getValue());
        }
        return sb.append('}').toString();
    }

    @Override
    public String toString() {
        return toJson();
    }
}
