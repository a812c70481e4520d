package io.sessiond.jetty;

import io.sessiond.SessiondClient;
import java.time.Duration;
import org.eclipse.jetty.server.session.AbstractSessionDataStoreFactory;
import org.eclipse.jetty.server.session.SessionDataStore;
import org.eclipse.jetty.server.session.SessionHandler;

/**
 * Makes a {@link SessiondSessionDataStore} for each context. Add it to the server as a bean
 * ({@code server.addBean(factory)}) and every {@code SessionHandler} uses it, or call
 * {@link #getSessionDataStore(SessionHandler)} yourself. Setter-based, for Jetty XML.
 *
 * <p>All stores made by one factory share one {@link SessiondClient} (and its connections), built
 * on first use from {@link #setUrl url}, {@link #setToken token} and {@link #setTimeout timeout},
 * unless {@link #setClient} gave one.
 */
public class SessiondSessionDataStoreFactory extends AbstractSessionDataStoreFactory {
    private String url = SessiondClient.DEFAULT_URL;
    private String token;
    private Duration timeout = SessiondClient.DEFAULT_TIMEOUT;
    private int maxTtl = SessiondSessionDataStore.MAX_TTL;
    private SessiondClient client;

    public String getUrl() {
        return url;
    }

    /** The daemon: {@code http://host:port} (java.net.http has no unix sockets). */
    public synchronized void setUrl(String url) {
        this.url = url;
        this.client = null;
    }

    public String getToken() {
        return token;
    }

    /** The daemon's bearer token, or null. */
    public synchronized void setToken(String token) {
        this.token = token;
        this.client = null;
    }

    public Duration getTimeout() {
        return timeout;
    }

    public synchronized void setTimeout(Duration timeout) {
        this.timeout = timeout;
        this.client = null;
    }

    /** {@link #setTimeout} in milliseconds, for Jetty XML. */
    public void setTimeoutMillis(long millis) {
        setTimeout(Duration.ofMillis(millis));
    }

    public int getMaxTtl() {
        return maxTtl;
    }

    /** See {@link SessiondSessionDataStore#setMaxTtl}. */
    public void setMaxTtl(int maxTtl) {
        this.maxTtl = maxTtl;
    }

    /** Use this client instead of building one. */
    public synchronized void setClient(SessiondClient client) {
        this.client = client;
    }

    public synchronized SessiondClient getClient() {
        if (client == null) client = new SessiondClient(url, token, timeout);
        return client;
    }

    @Override
    public SessionDataStore getSessionDataStore(SessionHandler handler) throws Exception {
        SessiondSessionDataStore store = new SessiondSessionDataStore(getClient());
        store.setGracePeriodSec(getGracePeriodSec());
        store.setSavePeriodSec(getSavePeriodSec());
        store.setMaxTtl(maxTtl);
        return store;
    }
}
