package io.sessiond;

import java.time.Instant;
import java.util.Map;

/** A session's expiry: its idle timeout, the seconds left, and the instant it ends. */
public final class Expiry {
    private final long ttl;
    private final long expiresIn;
    private final Instant expiresAt;

    Expiry(Map<String, Object> body) {
        this.ttl = ((Number) body.get("ttl")).longValue();
        this.expiresIn = ((Number) body.get("expires_in")).longValue();
        this.expiresAt = Instant.parse((String) body.get("expires_at"));
    }

    public long ttl() {
        return ttl;
    }

    public long expiresIn() {
        return expiresIn;
    }

    public Instant expiresAt() {
        return expiresAt;
    }

    @Override
    public String toString() {
        return "Expiry{ttl=" + ttl + ", expiresIn=" + expiresIn + ", expiresAt=" + expiresAt + "}";
    }
}
