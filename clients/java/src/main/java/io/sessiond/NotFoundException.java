package io.sessiond;

/** {@code 404}: the session does not exist (never created, expired, or deleted). */
public class NotFoundException extends SessiondException {
    private static final long serialVersionUID = 1L;

    public NotFoundException(String title, String detail) {
        super(404, title, detail);
    }
}
