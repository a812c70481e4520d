<?php

declare(strict_types=1);

namespace Sessiond\Tests;

/**
 * PHP's own session module driving the handler: each request is a child
 * `php -n` (only the extensions the handler needs) running
 * session_start() … session_write_close() with real ini settings.
 */
final class RealSessionTest extends TestCase
{
    private const PER_KEY = ['session.serialize_handler' => 'php_serialize', 'session.use_strict_mode' => '1'];
    private const OPAQUE = ['session.serialize_handler' => 'php', 'session.use_strict_mode' => '1'];

    public function testGcMaxlifetimeIsTheTtl(): void
    {
        [$start, $end] = PhpProcess::request(self::PER_KEY + ['session.gc_maxlifetime' => '901'], [], ['set' => ['a' => 1]]);
        self::assertTrue($start['started']);
        self::assertTrue($end['ended']);
        self::assertSame(901, self::client()->getExpiry($end['id'])['ttl']);
        self::assertEqualsWithDelta(901, self::redisTtl($end['id']), 3);
    }

    public function testNewIdsAreMadeByCreateSid(): void
    {
        [$start] = PhpProcess::request(self::PER_KEY, [], ['set' => ['a' => 1]]);
        self::assertMatchesRegularExpression('/^[a-z0-9]{32}$/', $start['id']);
    }

    public function testStrictModeNeverAdoptsAForgedId(): void
    {
        foreach ([[self::PER_KEY, []], [['session.serialize_handler' => 'php_serialize'], ['SESSIOND_CHILD_REGISTER' => '1']]] as [$ini, $env]) {
            $forged = 'forged' . bin2hex(random_bytes(8));
            [$start, $end] = PhpProcess::request($ini, $env + ['SESSIOND_CHILD_ID' => $forged], ['set' => ['n' => 1]]);
            self::assertNotSame($forged, $start['id']);
            self::assertSame([], $start['session']);
            self::assertFalse(self::client()->exists($forged), 'nothing was stored under the forged id');
            self::assertSame(['n' => '1'], self::redisData($end['id']));

            // A live id is adopted, with its data.
            [$again] = PhpProcess::request($ini, $env + ['SESSIOND_CHILD_ID' => $end['id']]);
            self::assertSame($end['id'], $again['id']);
            self::assertSame(['n' => 1], $again['session']);
        }
    }

    public function testWithoutStrictModeAnUnknownIdIsAdopted(): void
    {
        // What strict mode prevents: PHP's default keeps the client's id.
        $chosen = 'chosen' . bin2hex(random_bytes(8));
        [$start] = PhpProcess::request(['session.serialize_handler' => 'php_serialize'], ['SESSIOND_CHILD_ID' => $chosen], ['set' => ['n' => 1]]);
        self::assertSame($chosen, $start['id']);
        self::assertTrue(self::client()->exists($chosen));
    }

    public function testLazyWriteSlidesTheTtlAndLeavesTheDataAlone(): void
    {
        foreach ([self::PER_KEY, self::OPAQUE] as $ini) {
            $ini += ['session.gc_maxlifetime' => '1500', 'session.lazy_write' => '1'];
            [, $end] = PhpProcess::request($ini, [], ['set' => ['a' => 1, 'b' => ['c' => true]]]);
            $id = $end['id'];
            $before = self::redis('HGETALL', self::redisKey($id));
            $etag = self::client()->get($id, touch: false)->etag;
            self::redis('EXPIRE', self::redisKey($id), '60');

            [$start] = PhpProcess::request($ini, ['SESSIOND_CHILD_ID' => $id]);
            self::assertSame(['a' => 1, 'b' => ['c' => true]], $start['session']);
            self::assertGreaterThan(1490, self::redisTtl($id), 'the TTL slid back to gc_maxlifetime');
            self::assertSame($before, self::redis('HGETALL', self::redisKey($id)), 'data and version untouched');
            self::assertSame($etag, self::client()->get($id, touch: false)->etag);
        }
    }

    public function testPhpSerializeStoresOneDataKeyPerSessionKey(): void
    {
        [, $end] = PhpProcess::request(self::PER_KEY, [], ['set' => ['user' => 'ann', 'cart' => [3, 4], 'prefs' => ['dark' => true]]]);
        $id = $end['id'];
        self::assertSame(['cart' => '[3,4]', 'prefs' => '{"dark":true}', 'user' => '"ann"'], self::redisData($id));

        // Another language changes a key; PHP sees it, and its own change removes another.
        self::client()->setKey($id, 'locale', 'de');
        [$start] = PhpProcess::request(self::PER_KEY, ['SESSIOND_CHILD_ID' => $id], ['unset' => ['cart']]);
        self::assertSame('de', $start['session']['locale']);
        self::assertSame(['locale' => '"de"', 'prefs' => '{"dark":true}', 'user' => '"ann"'], self::redisData($id));
    }

    public function testThePhpSerializeHandlerStoresOneOpaqueValue(): void
    {
        [, $end] = PhpProcess::request(self::OPAQUE, [], ['set' => ['user' => 'ann', 'n' => 2]]);
        self::assertSame(['php' => json_encode('user|s:3:"ann";n|i:2;')], self::redisData($end['id']));
        [$again] = PhpProcess::request(self::OPAQUE, ['SESSIOND_CHILD_ID' => $end['id']]);
        self::assertSame(['user' => 'ann', 'n' => 2], $again['session']);
    }

    public function testConcurrentRequestsChangingDifferentKeysBothKeepTheirChange(): void
    {
        [, $end] = PhpProcess::request(self::PER_KEY, [], ['set' => ['cart' => [], 'theme' => 'light']]);
        $id = $end['id'];
        $a = new PhpProcess(self::PER_KEY, ['SESSIOND_CHILD_ID' => $id]);
        $b = new PhpProcess(self::PER_KEY, ['SESSIOND_CHILD_ID' => $id]);
        // Both have read before either writes.
        self::assertSame(['cart' => [], 'theme' => 'light'], $a->started()['session']);
        self::assertSame(['cart' => [], 'theme' => 'light'], $b->started()['session']);
        $a->finish(['set' => ['cart' => ['book']]]);
        $b->finish(['set' => ['theme' => 'dark']]);
        self::assertSame(['cart' => '["book"]', 'theme' => '"dark"'], self::redisData($id));
    }

    public function testConcurrentOpaqueRequestsAreLastWriterWins(): void
    {
        // Documented: the default serialize handler stores one value, so the later write replaces it.
        [, $end] = PhpProcess::request(self::OPAQUE, [], ['set' => ['cart' => 0, 'theme' => 'light']]);
        $id = $end['id'];
        $a = new PhpProcess(self::OPAQUE, ['SESSIOND_CHILD_ID' => $id]);
        $b = new PhpProcess(self::OPAQUE, ['SESSIOND_CHILD_ID' => $id]);
        $a->started();
        $b->started();
        $a->finish(['set' => ['cart' => 1]]);
        $b->finish(['set' => ['theme' => 'dark']]);
        [$read] = PhpProcess::request(self::OPAQUE, ['SESSIOND_CHILD_ID' => $id]);
        self::assertSame(['cart' => 0, 'theme' => 'dark'], $read['session']);
    }

    public function testRegenerateMovesTheDataToANewId(): void
    {
        [, $end] = PhpProcess::request(self::PER_KEY, [], ['set' => ['a' => 1]]);
        [$start, $after] = PhpProcess::request(self::PER_KEY, ['SESSIOND_CHILD_ID' => $end['id']], ['regenerate' => true, 'set' => ['b' => 2]]);
        self::assertSame($end['id'], $start['id']);
        self::assertNotSame($end['id'], $after['id']);
        self::assertFalse(self::client()->exists($end['id']));
        self::assertSame(['a' => '1', 'b' => '2'], self::redisData($after['id']));
    }

    public function testSessionDestroyDeletes(): void
    {
        [, $end] = PhpProcess::request(self::PER_KEY, [], ['set' => ['a' => 1]]);
        PhpProcess::request(self::PER_KEY, ['SESSIOND_CHILD_ID' => $end['id']], ['destroy' => true]);
        self::assertFalse(self::client()->exists($end['id']));
    }

    public function testADaemonThatIsDownFailsSessionStart(): void
    {
        $p = new PhpProcess(self::PER_KEY + ['display_errors' => '0', 'log_errors' => '0'], [
            'SESSIOND_CHILD_URL' => 'http://127.0.0.1:' . self::freePort(),
            'SESSIOND_CHILD_ID' => self::newId(),
        ]);
        $start = $p->started();
        self::assertFalse($start['started']);
        $p->finish();
    }
}
