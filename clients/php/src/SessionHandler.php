<?php

declare(strict_types=1);

namespace Sessiond;

/**
 * PHP's session save handler on sessiond:
 * `session_set_save_handler(new Sessiond\SessionHandler($url), true)`.
 *
 * - `read` does not slide the TTL; `write` and `updateTimestamp` (PHP's
 *   `lazy_write`: unchanged data) do, to `session.gc_maxlifetime` (or the
 *   `ttl` given here). So the idle timeout is PHP's, as with phpredis.
 * - `validateId` (strict mode) asks the daemon whether the session exists,
 *   so PHP never adopts an id a client made up; `create_sid` makes ids in
 *   sessiond's own format.
 * - With `session.serialize_handler = php_serialize` (or ENCODING_PER_KEY)
 *   every session key is one sessiond data key, and `write` sends only the
 *   keys that changed since `read`, in one PATCH: two concurrent requests
 *   that change different keys both keep their change. Otherwise the
 *   session string is one opaque value under the data key `php`.
 * - A write never brings back a session that was deleted (a logout) or
 *   expired since it was read; a session PHP never put data in is not
 *   stored.
 * - Failures follow SessionHandlerInterface: the method returns false and
 *   a warning says why (`session_start()` then returns false), or, with
 *   `throwOnError`, the SessiondException is thrown (for frameworks that
 *   ignore false, such as Laravel's session store).
 */
class SessionHandler implements \SessionHandlerInterface, \SessionUpdateTimestampHandlerInterface, \SessionIdInterface
{
    /** Per key when `session.serialize_handler` is `php_serialize`, else opaque. */
    public const ENCODING_AUTO = 'auto';
    /** The data is a serialized array (php_serialize, Laravel): one data key per session key. */
    public const ENCODING_PER_KEY = 'per_key';
    /** The data is stored as one value, whatever its format. */
    public const ENCODING_OPAQUE = 'opaque';
    /** The data key of an opaque session. */
    public const OPAQUE_KEY = 'php';

    private const ID_RULE = '/^[A-Za-z0-9_-]{8,128}$/D';
    private const ID_ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789';

    private readonly Client $client;

    /**
     * What each id's last read found: whether it existed, its ttl, the JSON
     * text of each data key as PHP would write it back (for the diff), and
     * the string handed to PHP.
     *
     * A session found deleted since its read is `gone`: never written again
     * in this request.
     *
     * @var array<string, array{exists: bool, ttl: ?int, keys: array<string, string>, raw: string, gone?: bool}>
     */
    private array $loaded = [];
    private ?\Throwable $lastError = null;

    /**
     * @param string $encoding ENCODING_AUTO, ENCODING_PER_KEY or ENCODING_OPAQUE
     * @param ?int $ttl idle timeout in seconds; null: `session.gc_maxlifetime` at each write
     * @param bool $throwOnError throw instead of warning and returning false
     * @param ?Client $client a client to use instead of making one from url/token/timeout
     */
    public function __construct(
        string $url = Client::DEFAULT_URL,
        ?string $token = null,
        float $timeout = 2.0,
        private readonly string $encoding = self::ENCODING_AUTO,
        private readonly ?int $ttl = null,
        private readonly bool $throwOnError = false,
        ?Client $client = null,
    ) {
        if (!in_array($encoding, [self::ENCODING_AUTO, self::ENCODING_PER_KEY, self::ENCODING_OPAQUE], true)) {
            throw new \InvalidArgumentException("unknown encoding '$encoding'");
        }
        $this->client = $client ?? new Client($url, $token, $timeout);
    }

    /**
     * Installs this handler and turns on `session.use_strict_mode`, so
     * unknown ids from cookies are replaced, never adopted. Call before
     * session_start().
     */
    public function register(bool $strict = true): bool
    {
        if ($strict) {
            ini_set('session.use_strict_mode', '1');
        }
        return session_set_save_handler($this, true);
    }

    public function client(): Client
    {
        return $this->client;
    }

    /** The failure behind the last false (or thrown) result, if any. */
    public function lastError(): ?\Throwable
    {
        return $this->lastError;
    }

    public function open(string $path, string $name): bool
    {
        return true;
    }

    public function close(): bool
    {
        $this->loaded = [];
        return true;
    }

    public function read(string $id): string|false
    {
        if (!self::acceptable($id)) {
            // Not an id sessiond could hold: an empty session; write() says why it cannot be kept.
            $this->loaded[$id] = ['exists' => false, 'ttl' => null, 'keys' => [], 'raw' => ''];
            return '';
        }
        try {
            $session = $this->client->get($id, touch: false);
        } catch (NotFoundException) {
            $this->loaded[$id] = ['exists' => false, 'ttl' => null, 'keys' => [], 'raw' => ''];
            return '';
        } catch (SessiondException $e) {
            return $this->fail($e, "reading session $id");
        }
        if ($this->perKey()) {
            $raw = SessionCodec::decodeSession($session->data);
            try {
                $keys = SessionCodec::encodeSession($raw);
            } catch (\UnexpectedValueException) {
                $keys = [];
            }
        } else {
            $raw = SessionCodec::decodeOpaque($session->data[self::OPAQUE_KEY] ?? null);
            $keys = [self::OPAQUE_KEY => SessionCodec::encodeOpaque($raw)];
        }
        $this->loaded[$id] = ['exists' => true, 'ttl' => $session->ttl, 'keys' => $keys, 'raw' => $raw];
        return $raw;
    }

    public function write(string $id, string $data): bool
    {
        $state = $this->loaded[$id] ?? null;
        if ($state['gone'] ?? false) {
            return true;
        }
        $ttl = $this->ttl();
        try {
            $values = $this->perKey()
                ? SessionCodec::encodeSession($data)
                : [self::OPAQUE_KEY => SessionCodec::encodeOpaque($data)];
            if (($state === null || !$state['exists']) && ($this->perKey() ? $values === [] : $data === '')) {
                // A new session PHP put nothing in: nothing to keep (as phpredis does).
                return true;
            }
            if (!self::acceptable($id)) {
                throw new InvalidRequestException(
                    "session id '$id' does not match sessiond's ^[A-Za-z0-9_-]{8,128}$ (turn session.use_strict_mode on)",
                    400,
                );
            }

            if ($state === null || !$state['exists']) {
                try {
                    $session = $this->client->replace($id, self::raw($values), ttl: $ttl, ifNoneMatch: '*');
                    $this->remember($id, $session->ttl, $values, $data);
                    return true;
                } catch (PreconditionFailedException) {
                    // Created meanwhile by a request with the same new id: merge into it.
                    $state = ['exists' => true, 'ttl' => null, 'keys' => [], 'raw' => ''];
                }
            }

            $set = [];
            foreach ($values as $key => $json) {
                if (($state['keys'][$key] ?? null) !== $json) {
                    $set[$key] = new RawJson($json);
                }
            }
            $delete = $this->perKey() ? array_keys(array_diff_key($state['keys'], $values)) : [];
            if ($set === [] && $delete === []) {
                return $this->slide($id, $state, $ttl);
            }
            $session = $this->client->patch($id, set: $set, delete: array_map('strval', $delete));
            if ($session->ttl !== $ttl) {
                $this->client->setExpiry($id, $ttl);
            }
            $this->remember($id, $ttl, $values, $data);
            return true;
        } catch (NotFoundException) {
            // Deleted (a logout elsewhere) or expired since read: not brought back.
            $this->forget($id);
            return true;
        } catch (SessiondException | \UnexpectedValueException $e) {
            return $this->fail($e, "writing session $id");
        }
    }

    /** lazy_write: the data did not change, so only the expiry slides. */
    public function updateTimestamp(string $id, string $data): bool
    {
        $state = $this->loaded[$id] ?? null;
        if ($state === null) {
            return $this->write($id, $data);
        }
        if (!$state['exists'] || ($state['gone'] ?? false)) {
            // A new session PHP put nothing in: nothing to keep.
            return true;
        }
        try {
            return $this->slide($id, $state, $this->ttl());
        } catch (SessiondException $e) {
            return $this->fail($e, "updating the timestamp of session $id");
        }
    }

    /** Strict mode: only ids of live sessions are adopted. */
    public function validateId(string $id): bool
    {
        if (!self::acceptable($id)) {
            return false;
        }
        try {
            return $this->client->exists($id, touch: false);
        } catch (SessiondException $e) {
            return $this->fail($e, "validating session id $id");
        }
    }

    public function destroy(string $id): bool
    {
        unset($this->loaded[$id]);
        if (!self::acceptable($id)) {
            return true;
        }
        try {
            $this->client->delete($id);
            return true;
        } catch (SessiondException $e) {
            return $this->fail($e, "destroying session $id");
        }
    }

    /** Redis expires sessions itself. */
    public function gc(int $max_lifetime): int|false
    {
        return 0;
    }

    /** 32 characters of [a-z0-9] from a CSPRNG (~165 bits), sessiond's own id format. */
    public function create_sid(): string
    {
        $id = '';
        for ($i = 0; $i < 32; $i++) {
            $id .= self::ID_ALPHABET[random_int(0, 35)];
        }
        return $id;
    }

    /**
     * Slides the expiry without touching the data: a HEAD that touches
     * (which --touch-interval may answer without a Redis write) when the
     * ttl is already right, else PUT expiry to set it.
     *
     * @param array{exists: bool, ttl: ?int, keys: array<string, string>, raw: string} $state
     */
    private function slide(string $id, array $state, int $ttl): bool
    {
        try {
            if ($state['ttl'] === $ttl) {
                $this->client->exists($id, touch: true);
            } else {
                $this->client->setExpiry($id, $ttl);
                $this->loaded[$id]['ttl'] = $ttl;
            }
        } catch (NotFoundException) {
            $this->forget($id);
        }
        return true;
    }

    private function forget(string $id): void
    {
        $this->loaded[$id] = ['exists' => true, 'ttl' => null, 'keys' => [], 'raw' => '', 'gone' => true];
    }

    /** @param array<string, string> $values */
    private function remember(string $id, ?int $ttl, array $values, string $raw): void
    {
        $this->loaded[$id] = ['exists' => true, 'ttl' => $ttl, 'keys' => $values, 'raw' => $raw];
    }

    /** @param array<string, string> $values */
    private static function raw(array $values): RawJson
    {
        $parts = [];
        foreach ($values as $key => $json) {
            $parts[] = json_encode((string) $key, JSON_UNESCAPED_SLASHES | JSON_UNESCAPED_UNICODE | JSON_THROW_ON_ERROR) . ':' . $json;
        }
        return new RawJson('{' . implode(',', $parts) . '}');
    }

    private function perKey(): bool
    {
        return match ($this->encoding) {
            self::ENCODING_PER_KEY => true,
            self::ENCODING_OPAQUE => false,
            default => ini_get('session.serialize_handler') === 'php_serialize',
        };
    }

    private function ttl(): int
    {
        return max(1, $this->ttl ?? (int) ini_get('session.gc_maxlifetime'));
    }

    private static function acceptable(string $id): bool
    {
        return preg_match(self::ID_RULE, $id) === 1;
    }

    private function fail(\Throwable $e, string $doing): false
    {
        $this->lastError = $e;
        if ($this->throwOnError) {
            throw $e;
        }
        trigger_error("sessiond: $doing failed: " . $e->getMessage(), E_USER_WARNING);
        return false;
    }
}
