package io.sessiond.jetty;

import static io.sessiond.Live.key;
import static io.sessiond.Live.redis;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sessiond.Live;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import javax.servlet.http.HttpServlet;
import javax.servlet.http.HttpServletRequest;
import javax.servlet.http.HttpServletResponse;
import javax.servlet.http.HttpSession;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.server.session.DefaultSessionCache;
import org.eclipse.jetty.server.session.DefaultSessionCacheFactory;
import org.eclipse.jetty.server.session.DefaultSessionIdManager;
import org.eclipse.jetty.server.session.SessionCache;
import org.eclipse.jetty.server.session.SessionHandler;
import org.eclipse.jetty.servlet.ServletContextHandler;
import org.eclipse.jetty.servlet.ServletHolder;
import org.eclipse.jetty.util.log.Log;
import org.eclipse.jetty.util.log.Logger;
import org.eclipse.jetty.util.log.StdErrLog;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Two embedded Jetty servers (nodeA, nodeB) on free loopback ports, each with a SessionHandler and a
 * DefaultSessionCache on the sessiond store, behind no load balancer: the test is the browser and
 * sends the one cookie to either.
 */
class TwoJettyServersTest {
    /** The app: a few session operations, answered as plain text. */
    public static final class App extends HttpServlet {
        private static final long serialVersionUID = 1L;

        @Override
        protected void doGet(HttpServletRequest req, HttpServletResponse resp) throws IOException {
            String op = req.getPathInfo();
            HttpSession session = req.getSession(op.equals("/set") || op.equals("/inc") || op.equals("/remember"));
            String answer;
            if (session == null) {
                answer = "none";
            } else {
                switch (op) {
                    case "/set":
                        session.setAttribute(req.getParameter("k"), req.getParameter("v"));
                        answer = "ok";
                        break;
                    case "/inc": {
                        Integer n = (Integer) session.getAttribute("count");
                        n = n == null ? 1 : n + 1;
                        session.setAttribute("count", n);
                        answer = n.toString();
                        break;
                    }
                    case "/remember": {
                        @SuppressWarnings("unchecked")
                        List<Instant> visits = (List<Instant>) session.getAttribute("visits");
                        visits = visits == null ? new ArrayList<>() : new ArrayList<>(visits);
                        visits.add(Instant.ofEpochSecond(visits.size()));
                        session.setAttribute("visits", visits);
                        answer = String.valueOf(visits.size());
                        break;
                    }
                    case "/get":
                        answer = String.valueOf(session.getAttribute(req.getParameter("k")));
                        break;
                    case "/login":
                        req.changeSessionId(); // session-fixation defence: same session, new id
                        answer = "welcome";
                        break;
                    case "/invalidate":
                        session.invalidate();
                        answer = "bye";
                        break;
                    default:
                        resp.sendError(404);
                        return;
                }
            }
            resp.setContentType("text/plain");
            resp.getWriter().write(answer);
        }
    }

    /** One Jetty server with the app at /app. */
    static final class Node {
        final Server server = new Server();
        final SessionHandler sessions;
        final String url;

        /** Wires the store explicitly ({@code beans == false}) or as server beans, as Jetty XML would. */
        Node(String worker, boolean beans) throws Exception {
            ServerConnector connector = new ServerConnector(server);
            connector.setHost("127.0.0.1");
            connector.setPort(0);
            server.addConnector(connector);
            DefaultSessionIdManager ids = new DefaultSessionIdManager(server);
            ids.setWorkerName(worker);
            server.setSessionIdManager(ids);

            SessiondSessionDataStoreFactory store = new SessiondSessionDataStoreFactory();
            store.setUrl(Live.url());
            ServletContextHandler context = new ServletContextHandler(ServletContextHandler.SESSIONS);
            context.setContextPath("/app");
            sessions = context.getSessionHandler();
            sessions.setMaxInactiveInterval(1800); // embedded Jetty's default is -1: never expires
            if (beans) {
                DefaultSessionCacheFactory caches = new DefaultSessionCacheFactory();
                caches.setEvictionPolicy(SessionCache.EVICT_ON_SESSION_EXIT);
                caches.setFlushOnResponseCommit(true);
                caches.setRemoveUnloadableSessions(true);
                server.addBean(caches);
                server.addBean(store);
            } else {
                DefaultSessionCache cache = new DefaultSessionCache(sessions);
                cache.setEvictionPolicy(SessionCache.EVICT_ON_SESSION_EXIT);
                cache.setFlushOnResponseCommit(true);
                cache.setRemoveUnloadableSessions(true);
                cache.setSessionDataStore(store.getSessionDataStore(sessions));
                sessions.setSessionCache(cache);
            }
            context.addServlet(new ServletHolder(new App()), "/*");
            server.setHandler(context);
            server.start();
            url = "http://127.0.0.1:" + connector.getLocalPort() + "/app";
        }

        String sessiondId(String cookie) {
            SessiondSessionDataStore store = (SessiondSessionDataStore) sessions.getSessionCache().getSessionDataStore();
            return store.sessiondId(sessions.getSessionIdManager().getId(cookie));
        }

        /** Jetty stores a session when its last request exits; wait for that before another node reads it. */
        void awaitReleased(String cookie) {
            String id = sessions.getSessionIdManager().getId(cookie);
            Live.await(url + " to finish with session " + id, Duration.ofSeconds(10), () -> {
                try {
                    return !sessions.getSessionCache().contains(id);
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            });
        }
    }

    private final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
    private Node a;
    private Node b;
    private String cookie; // the browser's JSESSIONID

    @BeforeEach
    void start() throws Exception {
        a = new Node("nodeA", false);
        b = new Node("nodeB", true);
    }

    @AfterEach
    void stop() throws Exception {
        if (a != null) a.server.stop();
        if (b != null) b.server.stop();
    }

    private String call(Node node, String pathAndQuery) throws Exception {
        HttpRequest.Builder rb = HttpRequest.newBuilder(URI.create(node.url + pathAndQuery)).timeout(Duration.ofSeconds(10));
        if (cookie != null) rb.header("Cookie", "JSESSIONID=" + cookie);
        HttpResponse<String> resp = http.send(rb.build(), HttpResponse.BodyHandlers.ofString());
        assertEquals(200, resp.statusCode(), resp.body());
        for (String c : resp.headers().allValues("Set-Cookie")) {
            if (c.startsWith("JSESSIONID=")) cookie = c.substring("JSESSIONID=".length(), c.indexOf(';'));
        }
        node.awaitReleased(cookie == null ? "none" : cookie);
        return resp.body();
    }

    @Test
    void anAttributeSetOnOneServerIsSeenOnTheOther() throws Exception {
        assertEquals("ok", call(a, "/set?k=name&v=alice"));
        assertNotNull(cookie, "nodeA set a session cookie");
        assertTrue(cookie.endsWith(".nodeA"), cookie);

        assertEquals("alice", call(b, "/get?k=name"), "nodeB sees nodeA's attribute");

        // Redis holds one session, readable by any language, with Jetty's metadata.
        String sid = a.sessiondId(cookie);
        assertEquals(sid, b.sessiondId(cookie), "both servers map the cookie to one sessiond id");
        assertEquals("\"alice\"", redis("HGET", key(sid), "data:attr:name"));
        String meta = redis("HGET", key(sid), "data:jetty");
        assertTrue(meta.contains("\"contextPath\":\"_app\""), meta); // Jetty's canonical form of /app
        assertTrue(meta.contains("\"maxInactiveMs\":1800000"), meta);
        assertTrue(meta.contains("\"lastNode\":\"nodeB\""), meta);
    }

    @Test
    void updatesGoBothWaysAndKeepTheirTypes() throws Exception {
        assertEquals("1", call(a, "/inc"));
        assertEquals("2", call(b, "/inc"), "an Integer written by nodeA is an Integer on nodeB");
        assertEquals("3", call(a, "/inc"));
        assertEquals("4", call(b, "/inc"));
        assertEquals("1", call(a, "/remember"));
        assertEquals("2", call(b, "/remember"), "a list of Java objects travels too");
        assertEquals("3", call(a, "/remember"));

        String sid = a.sessiondId(cookie);
        assertEquals("{\"$int\":4}", redis("HGET", key(sid), "data:attr:count"));
        assertTrue(redis("HGET", key(sid), "data:jetty").contains("\"lastNode\":\"nodeA\""));
        long ttl = Long.parseLong(redis("TTL", key(sid)));
        assertTrue(ttl > 1700 && ttl <= 1800, "the ttl follows max inactive (30 minutes): " + ttl);
    }

    @Test
    void invalidatingOnOneServerLogsOutOnTheOther() throws Exception {
        assertEquals("ok", call(a, "/set?k=user&v=bob"));
        assertEquals("bob", call(b, "/get?k=user"));
        String sid = a.sessiondId(cookie);
        assertEquals("bye", call(b, "/invalidate"));
        assertEquals("0", redis("EXISTS", key(sid)));
        assertEquals("none", call(a, "/get?k=user"));
        assertEquals("none", call(b, "/get?k=user"));
        assertEquals("0", redis("EXISTS", key(sid)), "nothing brought it back");
    }

    @Test
    void aNewSessionIdOnLoginMovesTheSession() throws Exception {
        assertEquals("ok", call(a, "/set?k=cart&v=book"));
        String before = cookie;
        String oldSid = a.sessiondId(before);
        assertEquals("welcome", call(a, "/login"));
        assertNotEquals(before, cookie, "a new cookie");
        assertEquals("0", redis("EXISTS", key(oldSid)), "the old id is gone from sessiond");
        assertEquals("\"book\"", redis("HGET", key(a.sessiondId(cookie)), "data:attr:cart"));
        assertEquals("book", call(b, "/get?k=cart"));
        String newCookie = cookie;
        cookie = before;
        assertEquals("none", call(b, "/get?k=cart"), "the old cookie opens nothing");
        cookie = newCookie;
    }

    @Test
    void anUnreadableSessionIsNoSessionAndIsRemoved() throws Exception {
        assertEquals("ok", call(a, "/set?k=cart&v=book"));
        String sid = a.sessiondId(cookie);
        Live.client().setKeyJson(sid, "attr:cart", "{\"$java\":\"bm90IGEgc3RyZWFt\"}"); // damage it
        // Jetty logs the UnreadableSessionDataException with its stack: expected here, so hushed.
        Logger jetty = Log.getLogger("org.eclipse.jetty.server.session");
        int level = jetty instanceof StdErrLog ? ((StdErrLog) jetty).getLevel() : 0;
        if (jetty instanceof StdErrLog) ((StdErrLog) jetty).setLevel(StdErrLog.LEVEL_OFF);
        try {
            assertEquals("none", call(b, "/get?k=cart"), "Jetty gets UnreadableSessionDataException: no session");
        } finally {
            if (jetty instanceof StdErrLog) ((StdErrLog) jetty).setLevel(level);
        }
        assertEquals("0", redis("EXISTS", key(sid)), "removeUnloadableSessions deleted it");
    }
}
