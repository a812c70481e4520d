package io.sessiond;

import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

/** The harness's daemons and Redis (tests/harness/with_daemon.py), and helpers for tests that need their own. */
public final class Live {
    private Live() {
    }

    public static String env(String name) {
        String v = System.getenv(name);
        if (v == null || v.isEmpty()) fail(name + " is not set: run the suite through clients/java/test");
        return v;
    }

    public static String url() {
        return env("SESSIOND_TEST_URL");
    }

    public static SessiondClient client() {
        return new SessiondClient(url());
    }

    /** A fresh id no other test uses. */
    public static String newId(String prefix) {
        return prefix + "-" + UUID.randomUUID().toString().replace("-", "");
    }

    /** redis-cli against the harness's Redis; its trimmed output. */
    public static String redis(String... args) {
        List<String> cmd = new ArrayList<>(List.of("redis-cli", "-p", env("SESSIOND_TEST_REDIS_PORT")));
        cmd.addAll(List.of(args));
        try {
            Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
            if (!p.waitFor(10, TimeUnit.SECONDS) || p.exitValue() != 0) fail("redis-cli " + args[0] + " failed: " + out);
            return out;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    public static String key(String id) {
        return "sessiond:session:" + id;
    }

    public static int freePort() {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Polls until the condition holds, failing after the deadline (no fixed sleeps). */
    public static void await(String what, Duration deadline, BooleanSupplier condition) {
        long end = System.nanoTime() + deadline.toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > end) fail("timed out after " + deadline + " waiting for " + what);
            try {
                Thread.sleep(20);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException(e);
            }
        }
    }

    /** A daemon of our own on a free loopback port (for a dead or silent Redis), stopped by close(). */
    public static final class Daemon implements AutoCloseable {
        public final String url;
        private final Process process;
        private final Path log;

        public Daemon(String... flags) throws IOException {
            int port = freePort();
            url = "http://127.0.0.1:" + port;
            log = Files.createTempFile("sessiond-java-test", ".log");
            List<String> cmd = new ArrayList<>(List.of(env("SESSIOND_BIN"), "--listen", "127.0.0.1:" + port));
            cmd.addAll(List.of(flags));
            process = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start();
            SessiondClient probe = new SessiondClient(url, null, Duration.ofSeconds(1));
            await("own sessiond on " + url, Duration.ofSeconds(20), () -> {
                if (!process.isAlive()) fail("sessiond exited: " + readLog());
                return probe.healthy();
            });
        }

        private String readLog() {
            try {
                return Files.readString(log);
            } catch (IOException e) {
                return e.toString();
            }
        }

        @Override
        public void close() throws IOException {
            process.destroy();
            try {
                if (!process.waitFor(10, TimeUnit.SECONDS)) process.destroyForcibly().waitFor();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            Files.deleteIfExists(log);
        }
    }
}
