package io.sessiond.jetty;

import static io.sessiond.Live.key;
import static io.sessiond.Live.redis;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sessiond.Live;
import io.sessiond.SessiondClient;
import java.io.NotSerializableException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import org.eclipse.jetty.server.handler.ContextHandler;
import org.eclipse.jetty.server.session.SessionContext;
import org.eclipse.jetty.server.session.SessionData;
import org.eclipse.jetty.server.session.UnreadableSessionDataException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The store on its own (no HTTP server), against the harness's daemon and Redis. */
class SessiondSessionDataStoreTest {
    private final List<SessiondSessionDataStore> started = new ArrayList<>();

    private SessiondSessionDataStore store(String contextPath, String vhost, String node, int savePeriodSec) throws Exception {
        SessiondSessionDataStoreFactory factory = new SessiondSessionDataStoreFactory();
        factory.setUrl(Live.url());
        factory.setSavePeriodSec(savePeriodSec);
        SessiondSessionDataStore store = (SessiondSessionDataStore) factory.getSessionDataStore(null);
        ContextHandler context = new ContextHandler(contextPath);
        if (vhost != null) context.setVirtualHosts(new String[] {vhost});
        store.initialize(new SessionContext(node, context.getServletContext()));
        store.start();
        started.add(store);
        return store;
    }

    private SessiondSessionDataStore store() throws Exception {
        return store("/shop", "shop.example", "node1", 0);
    }

    @AfterEach
    void stop() throws Exception {
        for (SessiondSessionDataStore s : started) s.stop();
    }

    private static String jettyId() {
        return "node0" + UUID.randomUUID().toString().replace("-", "");
    }

    private static SessionData newData(SessiondSessionDataStore store, String id, long maxInactiveMs) {
        long now = System.currentTimeMillis();
        SessionData d = store.newSessionData(id, now - 5000, now - 10, now - 1000, maxInactiveMs);
        d.setLastNode("node1");
        d.setCookieSet(now - 5000);
        return d;
    }

    @Test
    void storeThenLoadKeepsMetadataAndAttributes() throws Exception {
        SessiondSessionDataStore store = store();
        String id = jettyId();
        SessionData d = newData(store, id, 1_800_000);
        d.setAttribute("name", "alice");
        d.setAttribute("visits", 3);
        d.setAttribute("big", 1L << 40);
        d.setAttribute("ratio", 0.25);
        d.setAttribute("roles", List.of("admin", "ops"));
        d.setAttribute("prefs", new HashMap<>(Map.of("theme", "dark")));
        d.setAttribute("since", Instant.ofEpochSecond(1_700_000_000));
        store.store(id, d);

        String sid = store.sessiondId(id);
        assertEquals("\"alice\"", redis("HGET", key(sid), "data:attr:name"), "JSON values are plain JSON");
        assertEquals("[\"admin\",\"ops\"]", redis("HGET", key(sid), "data:attr:roles"));
        assertEquals("{\"$int\":3}", redis("HGET", key(sid), "data:attr:visits"));
        assertTrue(redis("HGET", key(sid), "data:attr:since").startsWith("{\"$java\":\""));
        assertTrue(redis("HGET", key(sid), "data:jetty").contains("\"lastNode\":\"node1\""));
        long ttl = Long.parseLong(redis("TTL", key(sid)));
        assertTrue(ttl > 1790 && ttl <= 1800, "ttl follows max inactive: " + ttl);

        SessionData back = store.load(id);
        assertNotNull(back);
        assertEquals(id, back.getId());
        assertEquals(d.getContextPath(), back.getContextPath());
        assertEquals(d.getVhost(), back.getVhost());
        assertEquals("shop.example", back.getVhost());
        assertEquals("node1", back.getLastNode());
        assertEquals(d.getCreated(), back.getCreated());
        assertEquals(d.getAccessed(), back.getAccessed());
        assertEquals(d.getLastAccessed(), back.getLastAccessed());
        assertEquals(d.getMaxInactiveMs(), back.getMaxInactiveMs());
        assertEquals(d.getExpiry(), back.getExpiry());
        assertEquals(d.getCookieSet(), back.getCookieSet());
        assertTrue(back.getLastSaved() > 0);
        assertEquals(d.getKeys(), back.getKeys());
        assertEquals("alice", back.getAttribute("name"));
        assertInstanceOf(Integer.class, back.getAttribute("visits"));
        assertEquals(3, back.getAttribute("visits"));
        assertEquals(1L << 40, back.getAttribute("big"));
        assertEquals(0.25, back.getAttribute("ratio"));
        assertEquals(List.of("admin", "ops"), back.getAttribute("roles"));
        assertEquals(Map.of("theme", "dark"), back.getAttribute("prefs"));
        assertEquals(Instant.ofEpochSecond(1_700_000_000), back.getAttribute("since"));
    }

    @Test
    void shortJettyIdsWork() throws Exception {
        SessiondSessionDataStore store = store("/short" + UUID.randomUUID(), null, "node1", 0);
        SessionData d = newData(store, "1234", 60_000);
        d.setAttribute("a", "b");
        store.store("1234", d);
        assertTrue(store.sessiondId("1234").endsWith("-1234"));
        assertEquals("b", store.load("1234").getAttribute("a"));
        store.delete("1234");
    }

    @Test
    void ttlFollowsMaxInactiveInterval() throws Exception {
        SessiondSessionDataStore store = store();
        String a = jettyId();
        store.store(a, newData(store, a, 90_500));
        assertEquals(91, store.ttlOf(newData(store, a, 90_500)), "rounded up to whole seconds");
        assertTrue(Long.parseLong(redis("TTL", key(store.sessiondId(a)))) > 85);

        String never = jettyId();
        store.store(never, newData(store, never, -1));
        long ttl = Long.parseLong(redis("TTL", key(store.sessiondId(never))));
        assertTrue(ttl > SessiondSessionDataStore.MAX_TTL - 10, "never expires in Jetty: the max ttl, " + ttl);
        assertEquals(SessiondSessionDataStore.MAX_TTL, store.ttlOf(newData(store, never, 0)));
        assertEquals(SessiondSessionDataStore.MAX_TTL, store.ttlOf(newData(store, never, 3L * 365 * 86_400_000)));

        SessiondSessionDataStore lazy = store("/shop", "shop.example", "node2", 30);
        assertEquals(120, lazy.ttlOf(newData(lazy, a, 90_000)), "plus the save period");
        lazy.setMaxTtl(100);
        assertEquals(100, lazy.ttlOf(newData(lazy, a, 90_000)));
        assertEquals(100, lazy.ttlOf(newData(lazy, a, -1)));
    }

    @Test
    void missingSessionsLoadAsNull() throws Exception {
        SessiondSessionDataStore store = store();
        assertNull(store.load(jettyId()));
        assertFalse(store.exists(jettyId()));
    }

    @Test
    void existsAndDelete() throws Exception {
        SessiondSessionDataStore store = store();
        String id = jettyId();
        store.store(id, newData(store, id, 60_000));
        assertTrue(store.exists(id));
        assertTrue(store.delete(id));
        assertFalse(store.exists(id));
        assertEquals("0", redis("EXISTS", key(store.sessiondId(id))));
        assertNull(store.load(id));

        String old = jettyId();
        SessionData expired = newData(store, old, 60_000);
        expired.setExpiry(System.currentTimeMillis() - 1000);
        store.store(old, expired);
        assertFalse(store.exists(old), "in Redis, but expired by Jetty's own expiry (as Jetty's JDBC store checks)");
        String forever = jettyId();
        store.store(forever, newData(store, forever, -1));
        assertTrue(store.exists(forever));
    }

    @Test
    void getExpiredReturnsCandidatesGoneFromSessiondOrPastTheirExpiry() throws Exception {
        SessiondSessionDataStore store = store();
        String live = jettyId();
        String past = jettyId();
        String droppedByRedis = jettyId();
        String neverStored = jettyId();
        store.store(live, newData(store, live, 60_000));
        SessionData p = newData(store, past, 60_000);
        p.setExpiry(System.currentTimeMillis() - 1);
        store.store(past, p);
        store.store(droppedByRedis, newData(store, droppedByRedis, 60_000));
        redis("DEL", key(store.sessiondId(droppedByRedis))); // what Redis's own expiry does
        Set<String> expired = store.getExpired(Set.of(live, past, droppedByRedis, neverStored));
        assertEquals(Set.of(past, droppedByRedis, neverStored), expired);
        assertEquals(Set.of(), store.getExpired(Set.of()));
    }

    @Test
    void undecodableAttributesMakeTheSessionUnreadable() throws Exception {
        SessiondSessionDataStore store = store();
        SessiondClient sd = Live.client();
        for (String damage : List.of("{\"$java\":\"bm90IGEgc3RyZWFt\"}", "{\"$java\":\"%%%\"}", "{\"$nope\":1}", "{\"$int\":\"x\"}")) {
            String id = jettyId();
            SessionData d = newData(store, id, 60_000);
            d.setAttribute("fine", "yes");
            d.setAttribute("cart", "to be damaged");
            store.store(id, d);
            sd.setKeyJson(store.sessiondId(id), "attr:cart", damage);
            UnreadableSessionDataException e = assertThrows(UnreadableSessionDataException.class, () -> store.load(id), damage);
            assertEquals(id, e.getId());
            assertTrue(store.exists(id), "it is there, only unreadable");
        }
        // A class this class loader does not have.
        String id = jettyId();
        store.store(id, newData(store, id, 60_000));
        String serialized = serializedObjectOfAMissingClass();
        sd.setKeyJson(store.sessiondId(id), "attr:x", "{\"$java\":\"" + serialized + "\"}");
        UnreadableSessionDataException e = assertThrows(UnreadableSessionDataException.class, () -> store.load(id));
        assertInstanceOf(ClassNotFoundException.class, e.getCause());
    }

    /** A serializable class, whose name the test then changes to one no class loader has. */
    static final class MarkerA implements java.io.Serializable {
        private static final long serialVersionUID = 1L;
    }

    private static String serializedObjectOfAMissingClass() throws Exception {
        java.io.ByteArrayOutputStream bytes = new java.io.ByteArrayOutputStream();
        try (java.io.ObjectOutputStream out = new java.io.ObjectOutputStream(bytes)) {
            out.writeObject(new MarkerA());
        }
        String latin1 = bytes.toString(java.nio.charset.StandardCharsets.ISO_8859_1);
        assertTrue(latin1.contains("$MarkerA"));
        byte[] renamed = latin1.replace("$MarkerA", "$MarkerZ").getBytes(java.nio.charset.StandardCharsets.ISO_8859_1);
        return java.util.Base64.getEncoder().encodeToString(renamed);
    }

    @Test
    void sessionsWithoutJettyMetadataAreUnreadable() throws Exception {
        SessiondSessionDataStore store = store();
        SessiondClient sd = Live.client();
        String id = jettyId();
        sd.createWithId(store.sessiondId(id), new io.sessiond.SessionSpec().data(Map.of("attr:x", "y")));
        assertThrows(UnreadableSessionDataException.class, () -> store.load(id));
        String other = jettyId();
        store.store(other, newData(store, other, 60_000));
        sd.setKey(store.sessiondId(other), "jetty", Map.of("id", "someone else"));
        assertThrows(UnreadableSessionDataException.class, () -> store.load(other));
    }

    @Test
    void attributesThatCannotBeEncodedFailTheStore() throws Exception {
        SessiondSessionDataStore store = store();
        String id = jettyId();
        SessionData d = newData(store, id, 60_000);
        d.setAttribute("lock", new Object());
        assertThrows(NotSerializableException.class, () -> store.store(id, d));
        assertNull(store.load(id));
    }

    @Test
    void aSessionDeletedElsewhereIsNotBroughtBack() throws Exception {
        SessiondSessionDataStore store = store();
        String id = jettyId();
        SessionData d = newData(store, id, 60_000);
        d.setAttribute("a", "1");
        store.store(id, d);
        assertTrue(d.getLastSaved() > 0);
        store.delete(id); // another server invalidated it
        d.setAttribute("a", "2");
        store.store(id, d); // a request that was still running here ends
        assertNull(store.load(id));
    }

    @Test
    void aNewSessionNeverOverwritesATakenId() throws Exception {
        SessiondSessionDataStore a = store();
        SessiondSessionDataStore b = store("/shop", "shop.example", "node2", 0);
        String id = jettyId();
        SessionData first = newData(a, id, 60_000);
        first.setAttribute("owner", "a");
        a.store(id, first);
        SessionData second = newData(b, id, 60_000);
        second.setAttribute("owner", "b");
        assertThrows(IllegalStateException.class, () -> b.store(id, second));
        assertEquals("a", b.load(id).getAttribute("owner"));
    }

    @Test
    void contextsAndVirtualHostsAreSeparate() throws Exception {
        SessiondSessionDataStore shop = store();
        SessiondSessionDataStore blog = store("/blog", "shop.example", "node1", 0);
        SessiondSessionDataStore otherHost = store("/shop", "other.example", "node1", 0);
        String id = jettyId();
        SessionData d = newData(shop, id, 60_000);
        d.setAttribute("where", "shop");
        shop.store(id, d);
        assertNotEquals(shop.sessiondId(id), blog.sessiondId(id));
        assertNull(blog.load(id));
        assertNull(otherHost.load(id));
        assertFalse(otherHost.exists(id));
        assertEquals("shop", shop.load(id).getAttribute("where"));
    }
}
