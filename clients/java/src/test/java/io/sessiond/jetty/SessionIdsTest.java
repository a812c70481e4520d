package io.sessiond.jetty;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/** The (context path, virtual host, Jetty id) → sessiond id mapping. */
class SessionIdsTest {
    private static final Pattern VALID = Pattern.compile("^[A-Za-z0-9_-]{8,128}$");

    @Test
    void everyResultIsAValidSessiondId() {
        List<String> ids = List.of("1", "1234", "node0abcdefghijklmnopqrstuvwxyz", "with.dot", "spaces and / slashes",
                "é", "x".repeat(115), "x".repeat(116), "y".repeat(5000), "-_-");
        for (String id : ids) {
            for (String ctx : List.of("", "app", "a/b", "é")) {
                String sd = SessionIds.toSessiondId(ctx, "0.0.0.0", id);
                assertTrue(VALID.matcher(sd).matches(), sd + " from " + id);
            }
        }
    }

    @Test
    void plainIdsStayReadable() {
        String sd = SessionIds.toSessiondId("app", "0.0.0.0", "node0abc123");
        assertTrue(sd.startsWith("j"));
        assertTrue(sd.endsWith("-node0abc123"));
        assertEquals(1 + 11 + 1 + "node0abc123".length(), sd.length());
        assertEquals("j" + SessionIds.scope("app", "0.0.0.0") + "-1234", SessionIds.toSessiondId("app", "0.0.0.0", "1234"));
    }

    @Test
    void otherIdsAreHashed() {
        String sd = SessionIds.toSessiondId("app", "0.0.0.0", "has.dot");
        assertTrue(sd.startsWith("h"));
        assertEquals(1 + 11 + 1 + 43, sd.length());
        assertTrue(SessionIds.toSessiondId("app", "0.0.0.0", "x".repeat(116)).startsWith("h"), "too long to embed");
    }

    @Test
    void deterministic() {
        assertEquals(SessionIds.toSessiondId("app", "shop.example", "1234"), SessionIds.toSessiondId("app", "shop.example", "1234"));
        assertEquals(SessionIds.toSessiondId("app", "v", "a.b"), SessionIds.toSessiondId("app", "v", "a.b"));
    }

    @Test
    void contextsAndVirtualHostsNeverShareASession() {
        Set<String> seen = new HashSet<>();
        for (String ctx : List.of("", "app", "app2", "ap", "p")) {
            for (String vhost : List.of("0.0.0.0", "shop.example", "shop.example2")) {
                for (String id : List.of("1234", "12.34")) {
                    assertTrue(seen.add(SessionIds.toSessiondId(ctx, vhost, id)), ctx + " " + vhost + " " + id);
                }
            }
        }
        // The length prefix keeps vhost "a\nb" + context "" apart from vhost "a" + context "b\n".
        assertNotEquals(SessionIds.scope("", "a\nb"), SessionIds.scope("b\n", "a"));
        assertNotEquals(SessionIds.toSessiondId("app", "v", "ab"), SessionIds.toSessiondId("app", "v", "a.b"));
        assertThrows(IllegalArgumentException.class, () -> SessionIds.toSessiondId("app", "v", ""));
    }
}
