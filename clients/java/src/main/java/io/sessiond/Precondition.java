package io.sessiond;

/**
 * A conditional-write header: the only way to make a read-modify-write, a create or a replace safe
 * against other writers.
 */
public final class Precondition {
    /** No condition. */
    public static final Precondition NONE = new Precondition(null, null);

    final String header;
    final String value;

    private Precondition(String header, String value) {
        this.header = header;
        this.value = value;
    }

    /** Only if the session is still at this version ({@link Session#etag()}, quoted or not). */
    public static Precondition ifMatch(String etag) {
        if (etag == null || etag.isEmpty()) throw new IllegalArgumentException("no ETag");
        String tag = etag.equals("*") || etag.startsWith("\"") || etag.startsWith("W/") ? etag : '"' + etag + '"';
        return new Precondition("If-Match", tag);
    }

    /** Only if the session is still at this version. */
    public static Precondition ifMatch(long version) {
        return new Precondition("If-Match", "\"" + version + "\"");
    }

    /** Only if the session exists: replace, never create (a logged-out session is not brought back). */
    public static Precondition ifExists() {
        return new Precondition("If-Match", "*");
    }

    /** Only if the session does not exist: create, never overwrite. */
    public static Precondition ifAbsent() {
        return new Precondition("If-None-Match", "*");
    }

    @Override
    public String toString() {
        return header == null ? "Precondition.NONE" : header + ": " + value;
    }
}
