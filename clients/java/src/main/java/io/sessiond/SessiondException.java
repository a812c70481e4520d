package io.sessiond;

/**
 * Any failure of a sessiond call. The subclasses say what went wrong; {@link #status()} is the
 * HTTP status (0 when no response came), {@link #title()} and {@link #detail()} come from the
 * daemon's RFC 9457 problem document.
 *
 * <p>Unchecked, like the JDK's {@code UncheckedIOException}: most callers can do nothing but fail the
 * request, and the few that can (retry on {@link UnavailableException}, re-read on
 * {@link PreconditionFailedException}) catch the one type they care about.
 */
public class SessiondException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    private final int status;
    private final String title;
    private final String detail;

    public SessiondException(int status, String title, String detail) {
        this(status, title, detail, null);
    }

    public SessiondException(int status, String title, String detail, Throwable cause) {
        super(status > 0 ? status + " " + (detail != null ? detail : title) : detail, cause);
        this.status = status;
        this.title = title;
        this.detail = detail;
    }

    /** The HTTP status, or 0 when the daemon did not answer. */
    public int status() {
        return status;
    }

    /** The problem document's {@code title}, or null. */
    public String title() {
        return title;
    }

    /** The problem document's {@code detail} (or a description of the failure). */
    public String detail() {
        return detail;
    }

    /** Whether the same call may succeed if tried again later (only {@link UnavailableException}). */
    public boolean isRetryable() {
        return false;
    }
}
