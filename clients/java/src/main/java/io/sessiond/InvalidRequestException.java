package io.sessiond;

/** {@code 400} or {@code 413}: the daemon refused the request itself (bad id, key, ttl, body too large…). */
public class InvalidRequestException extends SessiondException {
    private static final long serialVersionUID = 1L;

    public InvalidRequestException(int status, String title, String detail) {
        super(status, title, detail);
    }
}
