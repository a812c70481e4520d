import type { SessiondClient } from './index';

declare namespace sessiondExpress {
  interface SessiondStoreOptions {
    /** A client to share; otherwise one is made from url/token/timeout/socketPath. */
    client?: SessiondClient;
    url?: string;
    token?: string | null;
    /** Milliseconds per call. */
    timeout?: number;
    socketPath?: string;
    /** Seconds, for sessions whose cookie has no maxAge; default: the daemon's --default-ttl. */
    ttl?: number | ((sess: any) => number);
    /** The session's owner in sessiond (for userSessions / deleteUserSessions). */
    user?: (sess: any) => string | null | undefined;
    /** Do not slide the TTL on touch(). */
    disableTouch?: boolean;
  }

  type Callback<T = void> = (err: any, value?: T) => void;

  /** The class returned by require('sessiond/express')(session): an express-session Store. */
  interface SessiondStoreClass {
    new (options?: SessiondStoreOptions): SessiondStore;
  }

  interface SessiondStore {
    readonly client: SessiondClient;
    get(sid: string, cb: Callback<any | null>): void;
    get(sid: string): Promise<any | null>;
    /** express-session's Store#createSession, marking the session as loaded (so set() never recreates it). */
    createSession(req: any, sess: any): any;
    /** Replace-only for a session loaded from the store (gone meanwhile: nothing written, no error), create-only for a new one. */
    set(sid: string, sess: any, cb: Callback): void;
    set(sid: string, sess: any): Promise<void>;
    touch(sid: string, sess: any, cb: Callback): void;
    touch(sid: string, sess: any): Promise<void>;
    destroy(sid: string, cb: Callback): void;
    destroy(sid: string): Promise<void>;
    /** Drops every session under the daemon's key prefix (every app's sharing it). */
    clear(cb: Callback): void;
    clear(): Promise<void>;
    /** Not supported: calls back with a NotSupportedError. */
    all(cb: Callback<never>): void;
    /** Not supported: calls back with a NotSupportedError. */
    length(cb: Callback<never>): void;
    /** Not supported: calls back with a NotSupportedError. */
    ids(cb: Callback<never>): void;
  }
}

declare function sessiondExpress(session: { Store: new (...args: any[]) => any }): sessiondExpress.SessiondStoreClass;
export = sessiondExpress;
