package io.sessiond.jetty;

import static io.sessiond.Live.key;
import static io.sessiond.Live.redis;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sessiond.Live;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import javax.servlet.http.HttpServlet;
import javax.servlet.http.HttpServletRequest;
import javax.servlet.http.HttpServletResponse;
import javax.servlet.http.HttpSessionEvent;
import javax.servlet.http.HttpSessionListener;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.server.session.DefaultSessionIdManager;
import org.eclipse.jetty.server.session.HouseKeeper;
import org.eclipse.jetty.servlet.ServletContextHandler;
import org.eclipse.jetty.servlet.ServletHolder;
import org.junit.jupiter.api.Test;

/**
 * Jetty's own scavenger with the store: a session idle past its max inactive interval is gone from
 * Redis (its TTL) and Jetty, asking doGetExpired, invalidates it and tells the listeners.
 */
class JettyExpiryTest {
    public static final class Touch extends HttpServlet {
        private static final long serialVersionUID = 1L;

        @Override
        protected void doGet(HttpServletRequest req, HttpServletResponse resp) throws IOException {
            req.getSession(true).setAttribute("seen", "yes");
            resp.getWriter().write(req.getSession().getId());
        }
    }

    @Test
    void anIdleSessionExpiresInRedisAndJettyCallsTheListeners() throws Exception {
        Server server = new Server();
        ServerConnector connector = new ServerConnector(server);
        connector.setHost("127.0.0.1");
        connector.setPort(0);
        server.addConnector(connector);
        DefaultSessionIdManager ids = new DefaultSessionIdManager(server);
        ids.setWorkerName("nodeX");
        HouseKeeper keeper = new HouseKeeper();
        keeper.setIntervalSec(1);
        ids.setSessionHouseKeeper(keeper);
        server.setSessionIdManager(ids);
        SessiondSessionDataStoreFactory store = new SessiondSessionDataStoreFactory();
        store.setUrl(Live.url());
        server.addBean(store); // with Jetty's default cache: the session stays cached on this node

        ServletContextHandler context = new ServletContextHandler(ServletContextHandler.SESSIONS);
        context.setContextPath("/");
        context.getSessionHandler().setMaxInactiveInterval(1);
        Set<String> destroyed = ConcurrentHashMap.newKeySet();
        context.getSessionHandler().addEventListener(new HttpSessionListener() {
            @Override
            public void sessionDestroyed(HttpSessionEvent se) {
                destroyed.add(se.getSession().getId());
            }
        });
        context.addServlet(new ServletHolder(new Touch()), "/*");
        server.setHandler(context);
        server.start();
        try {
            HttpClient http = HttpClient.newHttpClient();
            HttpResponse<String> resp = http.send(HttpRequest.newBuilder(
                    URI.create("http://127.0.0.1:" + connector.getLocalPort() + "/")).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertEquals(200, resp.statusCode());
            String id = resp.body();
            SessiondSessionDataStore sds = (SessiondSessionDataStore) context.getSessionHandler().getSessionCache().getSessionDataStore();
            String sid = sds.sessiondId(id);
            long ttl = Long.parseLong(redis("TTL", key(sid)));
            assertTrue(ttl >= 0 && ttl <= 1, "ttl = max inactive, 1 s: " + ttl);

            Live.await("Redis to expire session " + sid, Duration.ofSeconds(10), () -> redis("EXISTS", key(sid)).equals("0"));
            Live.await("Jetty's scavenger to invalidate " + id, Duration.ofSeconds(20), () -> destroyed.contains(id));
            assertEquals("0", redis("EXISTS", key(sid)), "invalidating did not bring it back");
        } finally {
            server.stop();
        }
    }
}
