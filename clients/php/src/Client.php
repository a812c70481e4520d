<?php

declare(strict_types=1);

namespace Sessiond;

/**
 * Client of one sessiond daemon's HTTP API (`/v1`).
 *
 * One instance keeps one curl handle, so consecutive calls reuse its
 * kept-alive connection; share one instance per process (or request).
 * `$url` is `http://host:port` (optionally with a path prefix, for a daemon
 * behind a proxy), `https://…`, or `unix:///path.sock` for a daemon listening
 * on a unix socket. `$timeout` (seconds) bounds connecting and each whole
 * request. A request that could not connect is retried `$retries` times;
 * nothing that may have reached the daemon is ever retried by this client
 * (libcurl itself resends only on a reused connection that died unused).
 */
final class Client
{
    public const DEFAULT_URL = 'http://127.0.0.1:8080';
    public const VERSION = '0.1.0';

    private const JSON_OUT = JSON_UNESCAPED_SLASHES | JSON_UNESCAPED_UNICODE | JSON_PRESERVE_ZERO_FRACTION
        | JSON_THROW_ON_ERROR;
    private const JSON_IN = JSON_BIGINT_AS_STRING | JSON_THROW_ON_ERROR;

    private ?\CurlHandle $curl = null;
    private string $base;
    private ?string $socketPath = null;
    /** @var list<string> */
    private array $headers;
    private int $connects = 0;

    public function __construct(
        public readonly string $url = self::DEFAULT_URL,
        ?string $token = null,
        public readonly float $timeout = 2.0,
        private readonly int $retries = 2,
    ) {
        if (str_starts_with($url, 'unix:')) {
            $path = substr($url, 5);
            if (str_starts_with($path, '//')) {
                $path = substr($path, 2);
            }
            if ($path === '') {
                throw new \InvalidArgumentException("no socket path in '$url'");
            }
            $this->socketPath = $path;
            // Only the Host header sees this name.
            $this->base = 'http://localhost';
        } else {
            $parts = parse_url($url);
            if ($parts === false || !in_array($parts['scheme'] ?? '', ['http', 'https'], true) || !isset($parts['host'])) {
                throw new \InvalidArgumentException(
                    "sessiond URL must be http://host:port, https://… or unix:///path.sock, not '$url'"
                );
            }
            $this->base = rtrim($url, '/');
        }
        $this->headers = ['Accept: application/json', 'User-Agent: sessiond-php/' . self::VERSION, 'Expect:'];
        if ($token !== null && $token !== '') {
            $this->headers[] = 'Authorization: Bearer ' . $token;
        }
    }

    /** How many connections this client has opened so far (kept-alive ones are reused). */
    public function connects(): int
    {
        return $this->connects;
    }

    /** Drops the kept-alive connection; the next call opens a new one. */
    public function close(): void
    {
        $this->curl = null;
    }

    // ------------------------------------------------------------------ sessions

    /**
     * Creates a session (`201`). The daemon picks the id unless `$id` is
     * given: then it is a create-only PUT (`If-None-Match: *`) that throws
     * PreconditionFailedException when the id is taken.
     *
     * @param array<string, mixed>|object|RawJson|null $data
     * @param array<string, mixed>|null $device
     */
    public function create(
        array|object|null $data = null,
        ?int $ttl = null,
        ?string $user = null,
        ?array $device = null,
        ?string $id = null,
    ): Session {
        $body = self::sessionBody($data, $ttl ?? Keep::Current, $user ?? Keep::Current, $device ?? Keep::Current);
        if ($id !== null) {
            $r = $this->request('PUT', self::sid($id), body: $body, headers: ['If-None-Match: *']);
        } else {
            $r = $this->request('POST', '/v1/sessions', body: $body);
        }
        return self::session($r);
    }

    /** Reads a session; `$touch = false` reads without sliding its TTL. */
    public function get(string $id, ?bool $touch = null): Session
    {
        return self::session($this->request('GET', self::sid($id), query: self::touch($touch)));
    }

    /** `HEAD`: whether the session exists (`$touch = false`: without sliding it). */
    public function exists(string $id, ?bool $touch = null): bool
    {
        try {
            $this->request('HEAD', self::sid($id), query: self::touch($touch));
        } catch (NotFoundException) {
            return false;
        }
        return true;
    }

    /**
     * `PUT`: replaces the data (null → empty), creating the session when
     * absent. `ttl`/`user`/`device` left at Keep::Current keep the current
     * values; `ttl: null` is the daemon's default, `user: null` removes the
     * owner. `ifMatch: '*'` replaces only (never creates); `ifMatch: <etag>`
     * only if unchanged; `ifNoneMatch: '*'` creates only. The result's
     * `created` says whether it was created.
     *
     * @param array<string, mixed>|object|RawJson|null $data
     * @param string|int|list<string|int>|null $ifMatch
     * @param string|int|list<string|int>|null $ifNoneMatch
     */
    public function replace(
        string $id,
        array|object|null $data = null,
        int|null|Keep $ttl = Keep::Current,
        string|null|Keep $user = Keep::Current,
        array|null|Keep $device = Keep::Current,
        string|int|array|null $ifMatch = null,
        string|int|array|null $ifNoneMatch = null,
    ): Session {
        $r = $this->request(
            'PUT',
            self::sid($id),
            body: self::sessionBody($data, $ttl, $user, $device),
            headers: self::preconditions($ifMatch, $ifNoneMatch),
        );
        return self::session($r);
    }

    /**
     * `PATCH`: sets and deletes data keys in one atomic step.
     *
     * @param array<string, mixed> $set values may be RawJson
     * @param list<string> $delete
     */
    public function patch(string $id, array $set = [], array $delete = [], string|int|array|null $ifMatch = null): Session
    {
        $parts = [];
        if ($set !== []) {
            $parts[] = '"set":' . self::encodeObject($set);
        }
        if ($delete !== []) {
            $parts[] = '"delete":' . json_encode(array_values(array_map('strval', $delete)), self::JSON_OUT);
        }
        $r = $this->request(
            'PATCH',
            self::sid($id),
            body: '{' . implode(',', $parts) . '}',
            headers: self::preconditions($ifMatch, null),
        );
        return self::session($r);
    }

    /** Deletes a session and its user-index entry (no error when absent). */
    public function delete(string $id): void
    {
        $this->request('DELETE', self::sid($id));
    }

    // ------------------------------------------------------------------ data keys

    /**
     * One data value. Throws KeyNotFoundException when only the key is
     * missing, NotFoundException when the session is.
     */
    public function getKey(string $id, string $key, ?bool $touch = null): mixed
    {
        $r = $this->request('GET', self::sid($id) . '/data/' . self::quote($key), query: self::touch($touch), keyOp: true);
        return json_decode($r['body'], true, 512, self::JSON_IN);
    }

    /** Like getKey(), but `$default` for a missing key (a missing session still throws). */
    public function getKeyOr(string $id, string $key, mixed $default, ?bool $touch = null): mixed
    {
        try {
            return $this->getKey($id, $key, $touch);
        } catch (KeyNotFoundException) {
            return $default;
        }
    }

    /** Sets one data value (any JSON-encodable value, or RawJson); returns the new ETag. */
    public function setKey(string $id, string $key, mixed $value, string|int|array|null $ifMatch = null): ?string
    {
        $r = $this->request(
            'PUT',
            self::sid($id) . '/data/' . self::quote($key),
            body: self::encodeValue($value),
            headers: self::preconditions($ifMatch, null),
        );
        return $r['headers']['etag'] ?? null;
    }

    /** Deletes one data key (no error when the key is absent); returns the new ETag. */
    public function deleteKey(string $id, string $key, string|int|array|null $ifMatch = null): ?string
    {
        $r = $this->request('DELETE', self::sid($id) . '/data/' . self::quote($key), headers: self::preconditions($ifMatch, null));
        return $r['headers']['etag'] ?? null;
    }

    /** Empties the data, keeps the session; returns the new ETag. */
    public function clear(string $id, string|int|array|null $ifMatch = null): ?string
    {
        $r = $this->request('DELETE', self::sid($id) . '/data', headers: self::preconditions($ifMatch, null));
        return $r['headers']['etag'] ?? null;
    }

    // ------------------------------------------------------------------ expiry

    /** @return array{ttl: int, expires_in: int, expires_at: string} */
    public function getExpiry(string $id, ?bool $touch = null): array
    {
        return self::json($this->request('GET', self::sid($id) . '/expiry', query: self::touch($touch)));
    }

    /**
     * Sets the idle timeout to `$ttl` seconds (null: the daemon's default)
     * and slides the expiry to it.
     *
     * @return array{ttl: int, expires_in: int, expires_at: string}
     */
    public function setExpiry(string $id, ?int $ttl): array
    {
        return self::json($this->request('PUT', self::sid($id) . '/expiry', body: json_encode(['ttl' => $ttl], self::JSON_OUT)));
    }

    /**
     * Fixes an absolute expiry (a DateTimeInterface, or an RFC 3339 string),
     * which stops sliding for this session.
     *
     * @return array{ttl: int, expires_in: int, expires_at: string}
     */
    public function setExpiresAt(string $id, \DateTimeInterface|string $at): array
    {
        if ($at instanceof \DateTimeInterface) {
            // Milliseconds: what the daemon keeps.
            $at = \DateTimeImmutable::createFromInterface($at)->setTimezone(new \DateTimeZone('UTC'))->format('Y-m-d\TH:i:s.v\Z');
        }
        return self::json($this->request('PUT', self::sid($id) . '/expiry', body: json_encode(['expires_at' => $at], self::JSON_OUT)));
    }

    /** A new id for the session, same data, ttl and user; the old id is gone. */
    public function cycle(string $id): Session
    {
        return self::session($this->request('POST', self::sid($id) . '/cycle', body: ''));
    }

    // ------------------------------------------------------------------ users and admin

    /** @return list<Session> the user's live sessions, most recently seen first */
    public function userSessions(string $user): array
    {
        $body = self::json($this->request('GET', '/v1/users/' . self::quote($user) . '/sessions'));
        return array_map(static fn (array $s) => new Session($s), array_values($body['sessions'] ?? []));
    }

    /** Logs the user out everywhere, except `$except` when given; returns how many were deleted. */
    public function deleteUserSessions(string $user, ?string $except = null): int
    {
        $query = $except !== null ? ['except' => $except] : [];
        return (int) self::json($this->request('DELETE', '/v1/users/' . self::quote($user) . '/sessions', query: $query))['deleted'];
    }

    /** Drops every session under the daemon's prefix; `$confirm` must be true, a guard against accidents. */
    public function deleteAll(bool $confirm): int
    {
        if (!$confirm) {
            throw new \InvalidArgumentException('deleteAll needs confirm: true');
        }
        return (int) self::json($this->request('DELETE', '/v1/sessions', query: ['confirm' => 'all']))['deleted'];
    }

    /** `GET /healthz`: the daemon process answers. */
    public function healthy(): bool
    {
        try {
            $this->request('GET', '/healthz');
            return true;
        } catch (SessiondException) {
            return false;
        }
    }

    /** `GET /readyz`: the daemon reaches Redis. */
    public function ready(): bool
    {
        try {
            $this->request('GET', '/readyz');
            return true;
        } catch (SessiondException) {
            return false;
        }
    }

    /** `GET /metrics`: Prometheus text. */
    public function metrics(): string
    {
        return $this->request('GET', '/metrics', accept: 'text/plain')['body'];
    }

    /** `GET /openapi.yaml`: the API as OpenAPI 3.1. */
    public function openapi(): string
    {
        return $this->request('GET', '/openapi.yaml', accept: 'application/yaml')['body'];
    }

    // ------------------------------------------------------------------ plumbing

    /**
     * @param array<string, string> $query
     * @param list<string> $headers
     * @return array{status: int, headers: array<string, string>, body: string}
     */
    private function request(
        string $method,
        string $path,
        array $query = [],
        ?string $body = null,
        array $headers = [],
        bool $keyOp = false,
        ?string $accept = null,
    ): array {
        $url = $this->base . $path . ($query !== [] ? '?' . http_build_query($query, '', '&', PHP_QUERY_RFC3986) : '');
        $sendHeaders = $this->headers;
        if ($accept !== null) {
            $sendHeaders[0] = 'Accept: ' . $accept;
        }
        if ($body !== null && $body !== '') {
            $sendHeaders[] = 'Content-Type: application/json';
        }
        array_push($sendHeaders, ...$headers);

        for ($attempt = 0; ; $attempt++) {
            $curl = $this->handle();
            $responseHeaders = [];
            $opts = [
                CURLOPT_URL => $url,
                CURLOPT_RETURNTRANSFER => true,
                CURLOPT_HTTPHEADER => $sendHeaders,
                CURLOPT_CONNECTTIMEOUT_MS => (int) ceil($this->timeout * 1000),
                CURLOPT_TIMEOUT_MS => (int) ceil($this->timeout * 1000),
                CURLOPT_NOSIGNAL => true,
                CURLOPT_FOLLOWLOCATION => false,
                CURLOPT_HTTP_VERSION => CURL_HTTP_VERSION_1_1,
                CURLOPT_PROTOCOLS => CURLPROTO_HTTP | CURLPROTO_HTTPS,
                CURLOPT_HEADERFUNCTION => static function ($ch, string $line) use (&$responseHeaders): int {
                    $colon = strpos($line, ':');
                    if ($colon !== false) {
                        $responseHeaders[strtolower(trim(substr($line, 0, $colon)))] = trim(substr($line, $colon + 1));
                    }
                    return strlen($line);
                },
            ];
            if ($this->socketPath !== null) {
                $opts[CURLOPT_UNIX_SOCKET_PATH] = $this->socketPath;
            }
            if ($method === 'HEAD') {
                $opts[CURLOPT_NOBODY] = true;
            } else {
                $opts[CURLOPT_CUSTOMREQUEST] = $method;
                if ($body !== null) {
                    $opts[CURLOPT_POSTFIELDS] = $body;
                }
            }
            curl_setopt_array($curl, $opts);
            $out = curl_exec($curl);
            if ($out === false) {
                $errno = curl_errno($curl);
                $error = curl_error($curl);
                $this->curl = null;
                // Not connected means not sent: safe to retry whatever the method.
                if (in_array($errno, [CURLE_COULDNT_CONNECT, CURLE_COULDNT_RESOLVE_HOST], true) && $attempt < $this->retries) {
                    continue;
                }
                $what = $errno === CURLE_OPERATION_TIMEDOUT ? 'timed out' : 'did not answer';
                throw new UnavailableException("sessiond at {$this->url} $what: $error");
            }
            $this->connects += (int) curl_getinfo($curl, CURLINFO_NUM_CONNECTS);
            $status = (int) curl_getinfo($curl, CURLINFO_RESPONSE_CODE);
            $r = ['status' => $status, 'headers' => $responseHeaders, 'body' => (string) $out];
            if ($status >= 200 && $status < 300) {
                return $r;
            }
            throw self::error($r, $keyOp);
        }
    }

    private function handle(): \CurlHandle
    {
        if ($this->curl === null) {
            $this->curl = curl_init();
        } else {
            // Options go back to defaults; the connection cache stays.
            curl_reset($this->curl);
        }
        return $this->curl;
    }

    /** @param array{status: int, headers: array<string, string>, body: string} $r */
    private static function error(array $r, bool $keyOp): SessiondException
    {
        $status = $r['status'];
        $title = $detail = null;
        $problem = json_decode($r['body'], true);
        if (is_array($problem)) {
            $title = isset($problem['title']) ? (string) $problem['title'] : null;
            $detail = isset($problem['detail']) ? (string) $problem['detail'] : null;
        } elseif ($r['body'] !== '') {
            $detail = substr($r['body'], 0, 200);
        }
        $detail = $detail ?? $title ?? "HTTP $status";
        return match (true) {
            $status === 404 && $keyOp && str_contains($detail, 'key') && !str_contains($detail, 'session not found')
                => new KeyNotFoundException($detail, $status, $title),
            $status === 404 => new NotFoundException($detail, $status, $title),
            $status === 412 => new PreconditionFailedException($detail, $status, $title),
            $status === 400, $status === 413 => new InvalidRequestException($detail, $status, $title),
            $status === 401 => new AuthenticationException($detail, $status, $title),
            $status >= 500 => new UnavailableException(
                $detail,
                $status,
                $title,
                isset($r['headers']['retry-after']) && is_numeric($r['headers']['retry-after'])
                    ? (float) $r['headers']['retry-after'] : null,
            ),
            default => new SessiondException($detail, $status, $title),
        };
    }

    /** @param array{status: int, headers: array<string, string>, body: string} $r */
    private static function session(array $r): Session
    {
        return new Session(self::json($r), $r['headers']['etag'] ?? null, $r['status'] === 201);
    }

    /** @param array{status: int, headers: array<string, string>, body: string} $r */
    private static function json(array $r): array
    {
        try {
            $v = json_decode($r['body'], true, 512, self::JSON_IN);
        } catch (\JsonException $e) {
            throw new SessiondException('sessiond answered with invalid JSON: ' . $e->getMessage(), $r['status'], null, $e);
        }
        if (!is_array($v)) {
            throw new SessiondException('sessiond answered with JSON that is not an object', $r['status']);
        }
        return $v;
    }

    private static function sid(string $id): string
    {
        return '/v1/sessions/' . self::quote($id);
    }

    private static function quote(string $segment): string
    {
        return rawurlencode($segment);
    }

    /** @return array<string, string> */
    private static function touch(?bool $touch): array
    {
        return $touch === null ? [] : ['touch' => $touch ? 'true' : 'false'];
    }

    /** @return list<string> */
    private static function preconditions(string|int|array|null $ifMatch, string|int|array|null $ifNoneMatch): array
    {
        $h = [];
        if ($ifMatch !== null) {
            $h[] = 'If-Match: ' . self::etagList($ifMatch);
        }
        if ($ifNoneMatch !== null) {
            $h[] = 'If-None-Match: ' . self::etagList($ifNoneMatch);
        }
        return $h;
    }

    /** `*`, `"3"`, `3` or a list of those → an If-Match header value. */
    private static function etagList(string|int|array $tags): string
    {
        $out = [];
        foreach (is_array($tags) ? $tags : [$tags] as $t) {
            if (is_int($t)) {
                $out[] = "\"$t\"";
            } elseif ($t === '*' || str_starts_with($t, '"') || str_starts_with($t, 'W/')) {
                $out[] = $t;
            } else {
                $out[] = "\"$t\"";
            }
        }
        return implode(', ', $out);
    }

    private static function sessionBody(array|object|null $data, int|null|Keep $ttl, string|null|Keep $user, array|null|Keep $device): string
    {
        $parts = [];
        if ($data instanceof RawJson) {
            $parts[] = '"data":' . $data->json;
        } elseif ($data !== null) {
            $parts[] = '"data":' . self::encodeObject($data);
        }
        if (!$ttl instanceof Keep) {
            $parts[] = '"ttl":' . json_encode($ttl);
        }
        if (!$user instanceof Keep) {
            $parts[] = '"user":' . json_encode($user, self::JSON_OUT);
        }
        if (!$device instanceof Keep) {
            $parts[] = '"device":' . ($device === null ? 'null' : self::encodeObject($device));
        }
        return '{' . implode(',', $parts) . '}';
    }

    /**
     * A JSON object whatever the PHP array looks like (`[]` is `{}`, a list
     * gets "0", "1"… keys), with RawJson members passed through.
     */
    private static function encodeObject(array|object $map): string
    {
        if ($map instanceof RawJson) {
            return $map->json;
        }
        $parts = [];
        if ($map instanceof \JsonSerializable) {
            $map = (array) $map->jsonSerialize();
        }
        foreach ((is_object($map) ? get_object_vars($map) : $map) as $k => $v) {
            $parts[] = json_encode((string) $k, self::JSON_OUT) . ':' . self::encodeValue($v);
        }
        return '{' . implode(',', $parts) . '}';
    }

    private static function encodeValue(mixed $value): string
    {
        if ($value instanceof RawJson) {
            return $value->json;
        }
        try {
            return json_encode($value, self::JSON_OUT);
        } catch (\JsonException $e) {
            throw new \InvalidArgumentException('value is not JSON-encodable: ' . $e->getMessage(), 0, $e);
        }
    }
}
