package io.sessiond;

import java.time.Duration;
import java.util.Optional;

/**
 * The daemon could not do it now: {@code 503} (Redis unreachable), {@code 504} (Redis too slow), any
 * other 5xx, or no answer at all (connection refused or broken, timeout: then {@link #status()} is 0
 * and {@link #getCause()} is the I/O exception). Worth retrying later; a write may or may not have
 * happened when no answer came.
 */
public class UnavailableException extends SessiondException {
    private static final long serialVersionUID = 1L;

    private final Duration retryAfter;

    public UnavailableException(int status, String title, String detail, Duration retryAfter, Throwable cause) {
        super(status, title, detail, cause);
        this.retryAfter = retryAfter;
    }

    /** The daemon's {@code Retry-After}, when it sent one. */
    public Optional<Duration> retryAfter() {
        return Optional.ofNullable(retryAfter);
    }

    @Override
    public boolean isRetryable() {
        return true;
    }
}
