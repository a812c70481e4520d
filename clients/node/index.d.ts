import type { Agent } from 'node:http';

export const DEFAULT_URL: string;

/** JSON text sent as is: e.g. integers beyond 2^53. */
export class RawJSON {
  constructor(text: string | Buffer);
  readonly text: string;
}

export type JSONValue = null | boolean | number | string | JSONValue[] | { [key: string]: JSONValue };
export type Data = { [key: string]: unknown } | RawJSON;
/** '*', '"3"', 3, or a list of those. */
export type ETags = string | number | Array<string | number>;

export interface Session {
  id: string;
  data: { [key: string]: any };
  ttl: number;
  expires_in: number;
  expires_at: string;
  created_at: string;
  user: string | null;
  device?: { [key: string]: unknown } | null;
  last_seen_at?: string | null;
  /** Fields a newer daemon adds are kept. */
  [field: string]: unknown;
  /** The ETag header ('"3"'), null in user listings. Not enumerable. */
  readonly etag: string | null;
  /** Whether the call created the session (201). Not enumerable. */
  readonly created: boolean;
  /** Sessions-Evicted: how many of the user's sessions the daemon dropped for its cap. Not enumerable. */
  readonly evicted: number;
}

export interface Expiry {
  ttl: number;
  expires_in: number;
  expires_at: string;
}

export interface ClientOptions {
  url?: string;
  token?: string | null;
  /** Milliseconds for a whole call (connect, send, answer); below 20: seconds. Default 2000. */
  timeout?: number;
  socketPath?: string;
  maxSockets?: number;
  agent?: Agent;
  headers?: { [name: string]: string };
}

export class SessiondClient {
  constructor(url?: string, options?: ClientOptions);
  constructor(options: ClientOptions);
  readonly url: string;
  /** Milliseconds. */
  readonly timeout: number;
  readonly agent: Agent;
  close(): void;

  create(
    data?: Data | null,
    options?: { ttl?: number | null; user?: string | null; device?: object | null; id?: string },
  ): Promise<Session>;
  get(id: string, options?: { touch?: boolean }): Promise<Session>;
  exists(id: string, options?: { touch?: boolean }): Promise<boolean>;
  replace(
    id: string,
    data?: Data | null,
    options?: {
      ttl?: number | null;
      user?: string | null;
      device?: object | null;
      ifMatch?: ETags;
      ifNoneMatch?: ETags;
    },
  ): Promise<Session>;
  patch(id: string, changes: { set?: { [key: string]: unknown }; delete?: Iterable<string> }, options?: { ifMatch?: ETags }): Promise<Session>;
  delete(id: string): Promise<void>;

  getKey<T = any>(id: string, key: string, options?: { touch?: boolean; default?: T }): Promise<T>;
  getKey(id: string, key: string, options: { touch?: boolean; default?: unknown; raw: true }): Promise<string>;
  setKey(id: string, key: string, value: unknown, options?: { ifMatch?: ETags }): Promise<string | null>;
  deleteKey(id: string, key: string, options?: { ifMatch?: ETags }): Promise<string | null>;
  clear(id: string, options?: { ifMatch?: ETags }): Promise<string | null>;

  getExpiry(id: string, options?: { touch?: boolean }): Promise<Expiry>;
  setExpiry(id: string, options: { ttl: number | null } | { expiresAt: Date | string }): Promise<Expiry>;
  cycle(id: string): Promise<Session>;

  userSessions(user: string): Promise<Session[]>;
  deleteUserSessions(user: string, options?: { except?: string }): Promise<number>;
  deleteAll(options: { confirm: true | 'all' }): Promise<number>;

  healthy(): Promise<boolean>;
  ready(): Promise<boolean>;
  metrics(): Promise<string>;
  openapi(): Promise<string>;
}

export class SessiondError extends Error {
  readonly status: number | null;
  readonly title: string | null;
  readonly detail: string | null;
  readonly code?: string;
  readonly retryable: boolean;
}
export class NotFoundError extends SessiondError {}
export class KeyNotFoundError extends NotFoundError {}
export class PreconditionFailedError extends SessiondError {}
export class InvalidRequestError extends SessiondError {}
export class AuthenticationError extends SessiondError {}
export class UnavailableError extends SessiondError {
  readonly retryAfter: number | null;
}
export class NotSupportedError extends SessiondError {}
