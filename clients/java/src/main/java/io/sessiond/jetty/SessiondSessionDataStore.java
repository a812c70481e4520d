package io.sessiond.jetty;

import io.sessiond.NotFoundException;
import io.sessiond.PreconditionFailedException;
import io.sessiond.Precondition;
import io.sessiond.Session;
import io.sessiond.SessionSpec;
import io.sessiond.SessiondClient;
import java.nio.charset.StandardCharsets;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import org.eclipse.jetty.server.session.AbstractSessionDataStore;
import org.eclipse.jetty.server.session.SessionData;
import org.eclipse.jetty.server.session.UnreadableSessionDataException;
import org.eclipse.jetty.util.annotation.ManagedAttribute;
import org.eclipse.jetty.util.annotation.ManagedObject;
import org.eclipse.jetty.util.log.Log;
import org.eclipse.jetty.util.log.Logger;

/**
 * A Jetty 9.4 {@code SessionDataStore} that keeps sessions in sessiond, so that every Jetty server
 * sharing one daemon sees the same sessions.
 *
 * <p>One Jetty session is one sessiond session (its id from {@link SessionIds}), whose data holds
 * Jetty's metadata under the key {@value #META_KEY} and each attribute under
 * {@value #ATTRIBUTE_PREFIX}{@code <name>}, encoded by {@link AttributeCodec}. Every store is a whole
 * {@code PUT} whose ttl follows the max inactive interval, so Redis drops a session that no server
 * touched for that long.
 *
 * <p>Made by {@link SessiondSessionDataStoreFactory}; one per context.
 */
@ManagedObject
public class SessiondSessionDataStore extends AbstractSessionDataStore {
    private static final Logger LOG = Log.getLogger(SessiondSessionDataStore.class);

    /** The data key of Jetty's metadata. */
    public static final String META_KEY = "jetty";
    /** The prefix of the data key of each attribute. */
    public static final String ATTRIBUTE_PREFIX = "attr:";
    /** The contract's largest ttl (sessiond's default {@code --max-ttl}): one year. */
    public static final int MAX_TTL = 31_536_000;

    private final SessiondClient client;
    private int maxTtl = MAX_TTL;

    public SessiondSessionDataStore(SessiondClient client) {
        this.client = Objects.requireNonNull(client, "client");
    }

    public SessiondClient getClient() {
        return client;
    }

    /**
     * The ttl of sessions that never expire in Jetty (max inactive &lt;= 0), and the cap of all
     * others; it must not exceed the daemon's {@code --max-ttl}.
     */
    @ManagedAttribute("ttl cap and ttl of never-expiring sessions, seconds")
    public int getMaxTtl() {
        return maxTtl;
    }

    public void setMaxTtl(int maxTtl) {
        if (maxTtl < 1) throw new IllegalArgumentException("maxTtl must be >= 1");
        this.maxTtl = maxTtl;
    }

    /** Attributes are serialized, so Jetty calls the activation listeners around a store and a load. */
    @Override
    public boolean isPassivating() {
        return true;
    }

    /** The sessiond id of a Jetty id in this store's context. */
    public String sessiondId(String id) {
        return SessionIds.toSessiondId(_context.getCanonicalContextPath(), _context.getVhost(), id);
    }

    /**
     * The sessiond ttl of a session: its max inactive interval rounded up to seconds, plus the save
     * period (a server that skips saves of unchanged sessions for that long must not find the key
     * gone while Jetty still counts the session live); the max ttl for a session that never expires.
     */
    long ttlOf(SessionData data) {
        long ms = data.getMaxInactiveMs();
        if (ms <= 0) return maxTtl;
        long seconds = (ms + 999) / 1000 + Math.max(0, getSavePeriodSec());
        return Math.max(1, Math.min(seconds, maxTtl));
    }

    @Override
    public SessionData doLoad(String id) throws Exception {
        Session session = read(id);
        return session == null ? null : toSessionData(id, session);
    }

    /** The stored session, or null; never slides its TTL (Jetty's stores decide that). */
    private Session read(String id) {
        try {
            return client.get(sessiondId(id), false);
        } catch (NotFoundException e) {
            return null;
        }
    }

    private SessionData toSessionData(String id, Session session) throws UnreadableSessionDataException {
        Map<String, Object> data = session.data();
        try {
            Meta meta = Meta.of(data.get(META_KEY));
            if (!id.equals(meta.string("id")) || !_context.getCanonicalContextPath().equals(meta.string("contextPath"))
                    || !_context.getVhost().equals(meta.string("vhost"))) {
                throw new IllegalStateException("sessiond session " + session.id() + " belongs to another Jetty session");
            }
            SessionData sd = newSessionData(id, meta.number("created"), meta.number("accessed"),
                    meta.number("lastAccessed"), meta.number("maxInactiveMs"));
            sd.setLastNode(meta.string("lastNode"));
            sd.setExpiry(meta.number("expiry"));
            sd.setCookieSet(meta.number("cookieSet"));
            sd.setLastSaved(meta.number("lastSaved"));
            ClassLoader loader = Thread.currentThread().getContextClassLoader();
            Map<String, Object> attributes = new LinkedHashMap<>();
            for (Map.Entry<String, Object> e : data.entrySet()) {
                if (!e.getKey().startsWith(ATTRIBUTE_PREFIX)) continue;
                Object value = AttributeCodec.decode(e.getValue(), loader);
                // Jetty's attribute map takes no nulls (setAttribute(name, null) removes).
                if (value != null) attributes.put(e.getKey().substring(ATTRIBUTE_PREFIX.length()), value);
            }
            sd.putAllAttributes(attributes);
            sd.setDirty(false);
            sd.setMetaDataDirty(false);
            return sd;
        } catch (Exception | LinkageError e) {
            throw new UnreadableSessionDataException(id, _context, e);
        }
    }

    @Override
    public void doStore(String id, SessionData data, long lastSaveTime) throws Exception {
        Map<String, Object> meta = new LinkedHashMap<>();
        meta.put("v", 1L);
        meta.put("id", id);
        meta.put("contextPath", data.getContextPath());
        meta.put("vhost", data.getVhost());
        meta.put("lastNode", data.getLastNode());
        meta.put("created", data.getCreated());
        meta.put("accessed", data.getAccessed());
        meta.put("lastAccessed", data.getLastAccessed());
        meta.put("maxInactiveMs", data.getMaxInactiveMs());
        meta.put("expiry", data.getExpiry());
        meta.put("cookieSet", data.getCookieSet());
        meta.put("lastSaved", data.getLastSaved());
        Map<String, Object> out = new LinkedHashMap<>();
        out.put(META_KEY, meta);
        for (String name : data.getKeys()) {
            String key = ATTRIBUTE_PREFIX + name;
            if (key.getBytes(StandardCharsets.UTF_8).length > 256) {
                throw new IllegalArgumentException("session attribute name longer than 251 bytes: " + name);
            }
            out.put(key, AttributeCodec.encode(data.getAttribute(name)));
        }
        SessionSpec spec = new SessionSpec().data(out).ttl((int) ttlOf(data));
        // Never saved: create only, so an id collision never overwrites another server's session.
        // Saved before: replace only, so a session invalidated meanwhile on another server (or expired)
        // is not brought back by a request that was still running here.
        Precondition pre = lastSaveTime <= 0 ? Precondition.ifAbsent() : Precondition.ifExists();
        try {
            client.replace(sessiondId(id), spec, pre);
        } catch (PreconditionFailedException e) {
            if (lastSaveTime <= 0) throw new IllegalStateException("session id " + id + " is taken in sessiond", e);
            LOG.debug("Session {} was deleted in sessiond meanwhile (invalidated elsewhere, or expired): not stored", id);
        }
    }

    /**
     * Redis expires sessions itself, so there is nothing to sweep: of Jetty's candidates, those no
     * longer in sessiond (expired, or invalidated on another server) are expired, and so are those
     * whose stored expiry has passed. Sessions that nobody holds in a cache expire in Redis unseen,
     * without session listeners.
     */
    @Override
    public Set<String> doGetExpired(Set<String> candidates) {
        long now = System.currentTimeMillis();
        Set<String> expired = new HashSet<>();
        for (String id : candidates) {
            try {
                Session session = read(id);
                if (session == null) {
                    expired.add(id);
                    continue;
                }
                Meta meta = Meta.of(session.data().get(META_KEY));
                long maxInactive = meta.number("maxInactiveMs");
                long expiry = meta.number("expiry");
                if (maxInactive > 0 && expiry > 0 && expiry <= now) expired.add(id);
            } catch (RuntimeException e) {
                // sessiond unreachable or the metadata unreadable: ask again at the next scavenge.
                LOG.warn("Could not check expiry of session " + id, e);
            }
        }
        return expired;
    }

    /** Whether the session is in sessiond and not expired by its own metadata (as Jetty's JDBC store checks). */
    @Override
    public boolean exists(String id) throws Exception {
        Session session = read(id);
        if (session == null) return false;
        try {
            Meta meta = Meta.of(session.data().get(META_KEY));
            long maxInactive = meta.number("maxInactiveMs");
            long expiry = meta.number("expiry");
            return maxInactive <= 0 || expiry <= 0 || expiry > System.currentTimeMillis();
        } catch (RuntimeException e) {
            return true; // there is a session under that id, readable or not
        }
    }

    /**
     * Deletes the session. sessiond's DELETE answers 204 whether or not it existed, so this returns
     * true without a second round trip; Jetty's session cache does not depend on the answer.
     */
    @Override
    public boolean delete(String id) throws Exception {
        client.delete(sessiondId(id));
        return true;
    }

    @Override
    public String toString() {
        return String.format("%s@%x[%s,maxTtl=%d]", getClass().getSimpleName(), hashCode(), client.url(), maxTtl);
    }

    /** The metadata object, read strictly: a missing or mistyped field makes the session unreadable. */
    private static final class Meta {
        private final Map<?, ?> map;

        private Meta(Map<?, ?> map) {
            this.map = map;
        }

        static Meta of(Object value) {
            if (!(value instanceof Map)) throw new IllegalStateException("no Jetty metadata (data key \"" + META_KEY + "\")");
            return new Meta((Map<?, ?>) value);
        }

        long number(String name) {
            Object v = map.get(name);
            if (!(v instanceof Long)) throw new IllegalStateException("metadata field " + name + " is not an integer: " + v);
            return (Long) v;
        }

        String string(String name) {
            Object v = map.get(name);
            if (v != null && !(v instanceof String)) throw new IllegalStateException("metadata field " + name + " is not a string");
            return (String) v;
        }
    }
}
