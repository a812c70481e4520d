package io.sessiond;

/** {@code 401}: the daemon needs a bearer token and this client sent none or the wrong one. */
public class AuthenticationException extends SessiondException {
    private static final long serialVersionUID = 1L;

    public AuthenticationException(String title, String detail) {
        super(401, title, detail);
    }
}
