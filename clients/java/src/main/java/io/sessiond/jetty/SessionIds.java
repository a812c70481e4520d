package io.sessiond.jetty;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Base64;
import java.util.regex.Pattern;

/**
 * Maps a Jetty session (context path, virtual host, id) onto one sessiond id.
 *
 * <p>Jetty's ids may be short ({@code "1234"}) or contain characters sessiond refuses, and they are
 * only unique within one context path and virtual host, while sessiond ids are one flat namespace of
 * {@code ^[A-Za-z0-9_-]{8,128}$}. The mapping is deterministic, so every Jetty server that shares the
 * daemon finds the same session, and injective, so two contexts never share one:
 *
 * <pre>
 *   scope = first 11 characters of base64url(SHA-256(len(vhost) + ":" + vhost + "\n" + contextPath))   (66 bits)
 *   id of [A-Za-z0-9_-]{1,115}:  "j" + scope + "-" + id                   e.g. jq0b1M3pRkLw-node0abc…
 *   any other id:                "h" + scope + "-" + base64url(SHA-256(id))  (no padding, 43 characters)
 * </pre>
 *
 * The scope has a fixed length and the first letter says which form follows, so no two inputs give
 * one output (barring a SHA-256 collision). The common form keeps Jetty's own id readable, so an
 * operator can find a browser's session in Redis from its {@code JSESSIONID} cookie (without the
 * {@code .node0} suffix, which Jetty strips too).
 */
public final class SessionIds {
    private static final Pattern PLAIN = Pattern.compile("[A-Za-z0-9_-]{1,115}");
    private static final Base64.Encoder B64 = Base64.getUrlEncoder().withoutPadding();

    private SessionIds() {
    }

    /** The sessiond id of Jetty session {@code id} in this context path and virtual host. */
    public static String toSessiondId(String contextPath, String vhost, String id) {
        if (id == null || id.isEmpty()) throw new IllegalArgumentException("no session id");
        String scope = scope(contextPath, vhost);
        if (PLAIN.matcher(id).matches()) return "j" + scope + "-" + id;
        return "h" + scope + "-" + B64.encodeToString(sha256(id));
    }

    /** The 11 characters that stand for one context path and virtual host. */
    static String scope(String contextPath, String vhost) {
        String v = vhost == null ? "" : vhost;
        // Length-prefixed, so no (vhost, context) pair can spell another's key.
        String key = v.length() + ":" + v + "\n" + (contextPath == null ? "" : contextPath);
        return B64.encodeToString(sha256(key)).substring(0, 11);
    }

    private static byte[] sha256(String s) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.UTF_8));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every JDK has SHA-256", e);
        }
    }
}
