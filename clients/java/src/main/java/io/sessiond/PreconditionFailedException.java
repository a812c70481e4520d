package io.sessiond;

/**
 * {@code 412}: an {@code If-Match} / {@code If-None-Match} condition did not hold: the session changed
 * since that ETag, it already exists (create only), or it is gone (replace only).
 */
public class PreconditionFailedException extends SessiondException {
    private static final long serialVersionUID = 1L;

    public PreconditionFailedException(String title, String detail) {
        super(412, title, detail);
    }
}
