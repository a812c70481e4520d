package io.sessiond;

import static io.sessiond.Live.env;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.http.HttpTimeoutException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The bearer token, and the error mapping: 401, 400, 413, 503, 504, refused connections and timeouts. */
class ErrorsTest {

    @Test
    void tokenIsSentAsBearer() {
        SessiondClient with = new SessiondClient(env("SESSIOND_TEST_TOKEN_URL"), env("SESSIOND_TEST_TOKEN"));
        Session s = with.create(Map.of("a", 1));
        assertEquals(1L, with.getKey(s.id(), "a"));

        SessiondClient without = new SessiondClient(env("SESSIOND_TEST_TOKEN_URL"));
        AuthenticationException e = assertThrows(AuthenticationException.class, () -> without.get(s.id()));
        assertEquals(401, e.status());
        assertFalse(e.isRetryable());
        SessiondClient wrong = new SessiondClient(env("SESSIOND_TEST_TOKEN_URL"), env("SESSIOND_TEST_TOKEN") + "x");
        assertThrows(AuthenticationException.class, () -> wrong.exists(s.id()));
        assertTrue(without.healthy(), "/healthz stays open for probes");
        assertTrue(without.ready(), "/readyz stays open for probes");
    }

    @Test
    void invalidRequestsAreInvalidRequestExceptions() {
        SessiondClient sd = Live.client();
        Session s = sd.create();
        InvalidRequestException bad = assertThrows(InvalidRequestException.class,
                () -> sd.replace(s.id(), new SessionSpec().ttl(-5)));
        assertEquals(400, bad.status());
        assertEquals("Bad Request", bad.title());
        assertTrue(bad.detail().length() > 0);
        InvalidRequestException tooBig = assertThrows(InvalidRequestException.class,
                () -> sd.setKey(s.id(), "big", "x".repeat(2 * 1024 * 1024)));
        assertEquals(413, tooBig.status());
        assertThrows(InvalidRequestException.class, () -> sd.setKey(s.id(), "k\u0001", 1), "control character in a key");
    }

    @Test
    void deadRedisIs503Unavailable() throws Exception {
        int dead = Live.freePort(); // nothing listens there
        try (Live.Daemon daemon = new Live.Daemon("--redis", "redis://127.0.0.1:" + dead + "/0", "--redis-timeout", "500ms")) {
            SessiondClient sd = new SessiondClient(daemon.url);
            assertFalse(sd.ready());
            UnavailableException e = assertThrows(UnavailableException.class, () -> sd.create(Map.of("a", 1)));
            assertEquals(503, e.status());
            assertTrue(e.isRetryable());
            assertTrue(e.retryAfter().isPresent(), "503 carries Retry-After");
            assertThrows(UnavailableException.class, () -> sd.get("abcdefgh12345"));
        }
    }

    @Test
    void redisThatNeverAnswersIs504() throws Exception {
        try (Blackhole redis = new Blackhole();
             Live.Daemon daemon = new Live.Daemon("--redis", "redis://127.0.0.1:" + redis.port() + "/0",
                     "--redis-timeout", "300ms")) {
            SessiondClient sd = new SessiondClient(daemon.url, null, Duration.ofSeconds(5));
            UnavailableException e = assertThrows(UnavailableException.class, () -> sd.get("abcdefgh12345"));
            assertTrue(e.status() == 504 || e.status() == 503, "status " + e.status());
            assertTrue(e.isRetryable());
        }
    }

    @Test
    void refusedConnectionIsUnavailableWithoutStatus() {
        SessiondClient sd = SessiondClient.builder("http://127.0.0.1:" + Live.freePort()).retries(1).build();
        UnavailableException e = assertThrows(UnavailableException.class, () -> sd.get("abcdefgh12345"));
        assertEquals(0, e.status());
        assertInstanceOf(IOException.class, e.getCause());
        assertFalse(sd.healthy());
    }

    @Test
    void silentServerTimesOut() throws Exception {
        try (Blackhole silent = new Blackhole()) {
            SessiondClient sd = new SessiondClient("http://127.0.0.1:" + silent.port(), null, Duration.ofMillis(300));
            long start = System.nanoTime();
            UnavailableException e = assertThrows(UnavailableException.class, () -> sd.create(Map.of("a", 1)));
            long ms = (System.nanoTime() - start) / 1_000_000;
            assertInstanceOf(HttpTimeoutException.class, e.getCause());
            assertTrue(ms >= 250 && ms < 5000, "took " + ms + " ms");
            assertTrue(e.detail().contains("300 ms"), e.detail());
        }
    }

    @Test
    void urlsJavaCannotUseAreRefusedUpFront() {
        IllegalArgumentException unix = assertThrows(IllegalArgumentException.class,
                () -> new SessiondClient("unix://" + env("SESSIOND_TEST_SOCKET")));
        assertTrue(unix.getMessage().contains("unix socket"));
        assertThrows(IllegalArgumentException.class, () -> new SessiondClient("ftp://127.0.0.1:1"));
        assertThrows(IllegalArgumentException.class, () -> new SessiondClient("127.0.0.1:8080"));
        assertThrows(IllegalArgumentException.class, () -> new SessiondClient(Live.url(), null, Duration.ZERO));
    }

    @Test
    void aPathPrefixIsKept() throws Exception {
        // A daemon behind a proxy at /sessiond: the client puts the prefix before /v1.
        SessiondClient behindProxy = new SessiondClient(Live.url() + "/sessiond/");
        SessiondException err = assertThrows(SessiondException.class, () -> behindProxy.get("abcdefgh12345"));
        assertEquals(404, err.status(), "the daemon saw /sessiond/v1/…, not /v1/…: " + err.detail());
    }

    /** A TCP server that accepts connections and never says a word. */
    static final class Blackhole implements AutoCloseable {
        private final ServerSocket server;
        private final List<Socket> accepted = new ArrayList<>();
        private final Thread acceptor;

        Blackhole() throws IOException {
            server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
            acceptor = new Thread(() -> {
                try {
                    while (true) {
                        Socket s = server.accept();
                        synchronized (accepted) {
                            accepted.add(s);
                        }
                    }
                } catch (IOException closed) {
                    // close() ends the loop
                }
            });
            acceptor.setDaemon(true);
            acceptor.start();
        }

        int port() {
            return server.getLocalPort();
        }

        @Override
        public void close() {
            try {
                server.close();
                synchronized (accepted) {
                    for (Socket s : accepted) s.close();
                }
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
    }
}
