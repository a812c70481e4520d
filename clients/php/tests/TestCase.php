<?php

declare(strict_types=1);

namespace Sessiond\Tests;

use Sessiond\Client;

/** The harness's daemons and Redis, and a few ways to look at Redis directly. */
abstract class TestCase extends \PHPUnit\Framework\TestCase
{
    protected static function url(): string
    {
        return (string) getenv('SESSIOND_TEST_URL');
    }

    protected static function client(): Client
    {
        return new Client(self::url());
    }

    /** A fresh id in sessiond's format, so tests never share a session. */
    protected static function newId(string $prefix = 't'): string
    {
        return $prefix . bin2hex(random_bytes(12));
    }

    /** redis-cli against the harness's Redis; returns its raw output lines. */
    protected static function redis(string ...$args): array
    {
        $cmd = 'redis-cli --raw -p ' . escapeshellarg((string) getenv('SESSIOND_TEST_REDIS_PORT'));
        foreach ($args as $a) {
            $cmd .= ' ' . escapeshellarg($a);
        }
        exec($cmd . ' 2>&1', $out, $rc);
        self::assertSame(0, $rc, "redis-cli failed: " . implode("\n", $out));
        return $out;
    }

    protected static function redisKey(string $id): string
    {
        return 'sessiond:session:' . $id;
    }

    /** `data:<key>` → JSON text, as Redis holds the session. */
    protected static function redisData(string $id): array
    {
        $lines = self::redis('HGETALL', self::redisKey($id));
        $out = [];
        for ($i = 0; $i + 1 < count($lines); $i += 2) {
            if (str_starts_with($lines[$i], 'data:')) {
                $out[substr($lines[$i], 5)] = $lines[$i + 1];
            }
        }
        ksort($out);
        return $out;
    }

    protected static function redisTtl(string $id): int
    {
        return (int) self::redis('TTL', self::redisKey($id))[0];
    }

    protected static function redisField(string $id, string $field): ?string
    {
        $out = self::redis('HGET', self::redisKey($id), $field);
        return ($out[0] ?? '') === '' ? null : $out[0];
    }

    /** A loopback port nothing listens on (bound, read, released). */
    protected static function freePort(): int
    {
        $s = stream_socket_server('tcp://127.0.0.1:0', $errno, $error);
        self::assertNotFalse($s, $error);
        $name = stream_socket_get_name($s, false);
        fclose($s);
        return (int) substr($name, strrpos($name, ':') + 1);
    }

    /** Polls `$condition` until it holds, failing the test after `$seconds`. */
    protected static function waitFor(string $what, callable $condition, float $seconds = 15.0): void
    {
        $deadline = microtime(true) + $seconds;
        while (!$condition()) {
            if (microtime(true) > $deadline) {
                self::fail("timed out after {$seconds}s waiting for $what");
            }
            usleep(20_000);
        }
    }
}
