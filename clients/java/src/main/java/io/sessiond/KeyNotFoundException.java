package io.sessiond;

/**
 * {@code 404} on a data-key read where the session exists but the key does not. A subclass of
 * {@link NotFoundException} so that code which only cares "is it there?" catches one type.
 */
public class KeyNotFoundException extends NotFoundException {
    private static final long serialVersionUID = 1L;

    public KeyNotFoundException(String title, String detail) {
        super(title, detail);
    }
}
