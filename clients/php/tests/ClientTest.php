<?php

declare(strict_types=1);

namespace Sessiond\Tests;

use Sessiond\AuthenticationException;
use Sessiond\Client;
use Sessiond\InvalidRequestException;
use Sessiond\KeyNotFoundException;
use Sessiond\NotFoundException;
use Sessiond\PreconditionFailedException;
use Sessiond\RawJson;
use Sessiond\UnavailableException;

/** Every route of the API through Sessiond\Client, checked against Redis where it matters. */
final class ClientTest extends TestCase
{
    public function testCreateLetsTheDaemonPickTheId(): void
    {
        $c = self::client();
        $s = $c->create(['cart' => [1, 2], 'n' => 1], ttl: 600, user: 'alice-' . self::newId());
        self::assertMatchesRegularExpression('/^[a-z0-9]{32}$/', $s->id);
        self::assertTrue($s->created);
        self::assertSame(['cart' => [1, 2], 'n' => 1], $s->data);
        self::assertSame(600, $s->ttl);
        self::assertSame(1, $s->version());
        self::assertSame('"1"', $s->etag);
        self::assertNotNull($s->createdAt);
        self::assertNotNull($s->expiresAt);
        self::assertArrayHasKey('expires_in', $s->fields);
        self::assertSame(['cart' => '[1,2]', 'n' => '1'], self::redisData($s->id));
        self::assertGreaterThan(590, self::redisTtl($s->id));
    }

    public function testCreateWithAnEmptyBodyTakesTheDefaults(): void
    {
        $s = self::client()->create();
        self::assertSame([], $s->data);
        self::assertSame(1209600, $s->ttl);
        self::assertNull($s->user);
    }

    public function testCreateWithAnIdIsCreateOnly(): void
    {
        $c = self::client();
        $id = self::newId();
        $s = $c->create(['a' => 1], id: $id);
        self::assertSame($id, $s->id);
        $this->expectException(PreconditionFailedException::class);
        $c->create(['a' => 2], id: $id);
    }

    public function testGetSlidesUnlessTouchIsFalse(): void
    {
        $c = self::client();
        $s = $c->create(['a' => 1], ttl: 1000);
        self::redis('EXPIRE', self::redisKey($s->id), '100');
        $read = $c->get($s->id, touch: false);
        self::assertSame(['a' => 1], $read->data);
        self::assertLessThanOrEqual(100, self::redisTtl($s->id));
        $c->get($s->id);
        self::assertGreaterThan(900, self::redisTtl($s->id));
    }

    public function testGetOfAMissingSessionIsNotFound(): void
    {
        $this->expectException(NotFoundException::class);
        self::client()->get(self::newId());
    }

    public function testExistsIsAHead(): void
    {
        $c = self::client();
        $s = $c->create(['a' => 1], ttl: 1000);
        self::redis('EXPIRE', self::redisKey($s->id), '100');
        self::assertTrue($c->exists($s->id, touch: false));
        self::assertLessThanOrEqual(100, self::redisTtl($s->id));
        self::assertTrue($c->exists($s->id, touch: true));
        self::assertGreaterThan(900, self::redisTtl($s->id));
        self::assertFalse($c->exists(self::newId()));
    }

    public function testReplaceWithPreconditions(): void
    {
        $c = self::client();
        $s = $c->create(['a' => 1], ttl: 700, user: 'u-' . self::newId());
        $r = $c->replace($s->id, ['b' => 2], ifMatch: $s->etag);
        self::assertSame(['b' => 2], $r->data);
        self::assertFalse($r->created);
        self::assertSame(700, $r->ttl, 'ttl left out is kept');
        self::assertSame($s->user, $r->user, 'user left out is kept');
        try {
            $c->replace($s->id, ['c' => 3], ifMatch: $s->etag);
            self::fail('a stale If-Match must fail');
        } catch (PreconditionFailedException $e) {
            self::assertSame(412, $e->status);
        }
        self::assertSame(['b' => 2], $c->get($s->id)->data);
        $r = $c->replace($s->id, ['c' => 3], ifMatch: $r->version());
        self::assertSame(['c' => 3], $r->data);

        $r = $c->replace($s->id, null, ttl: null, user: null);
        self::assertSame([], $r->data);
        self::assertSame(1209600, $r->ttl);
        self::assertNull($r->user);
    }

    public function testReplaceOnlyNeverCreatesAndCreateOnlyNeverReplaces(): void
    {
        $c = self::client();
        $id = self::newId();
        try {
            $c->replace($id, ['a' => 1], ifMatch: '*');
            self::fail('If-Match: * on an absent session must fail');
        } catch (PreconditionFailedException) {
        }
        self::assertFalse($c->exists($id));
        $r = $c->replace($id, ['a' => 1], ttl: 300);
        self::assertTrue($r->created);
        self::assertSame(300, $r->ttl);
        $this->expectException(PreconditionFailedException::class);
        $c->replace($id, ['a' => 2], ifNoneMatch: '*');
    }

    public function testPatchSetsAndDeletesAtomically(): void
    {
        $c = self::client();
        $s = $c->create(['a' => 1, 'b' => 2]);
        $p = $c->patch($s->id, set: ['c' => ['x' => null], 'a' => 'one'], delete: ['b']);
        self::assertSame(['a' => 'one', 'c' => ['x' => null]], self::sorted($p->data));
        self::assertSame(2, $p->version());
        try {
            $c->patch($s->id, set: ['d' => 1], ifMatch: $s->etag);
            self::fail('a stale If-Match must fail');
        } catch (PreconditionFailedException) {
        }
        $this->expectException(NotFoundException::class);
        $c->patch(self::newId(), set: ['a' => 1]);
    }

    public function testDeleteAlsoWhenAbsent(): void
    {
        $c = self::client();
        $s = $c->create(['a' => 1]);
        $c->delete($s->id);
        self::assertFalse($c->exists($s->id));
        self::assertSame([], self::redis('EXISTS', self::redisKey($s->id)) === ['0'] ? [] : ['still there']);
        $c->delete($s->id);
        $this->addToAssertionCount(1);
    }

    public function testDataKeyRoutes(): void
    {
        $c = self::client();
        $s = $c->create(['a' => 1]);
        $key = 'path/with spaces?&é';
        $etag = $c->setKey($s->id, $key, ['deep' => [true, 1.5]]);
        self::assertSame('"2"', $etag);
        self::assertSame(['deep' => [true, 1.5]], $c->getKey($s->id, $key));
        self::assertSame('{"deep":[true,1.5]}', self::redisField($s->id, 'data:' . $key));

        try {
            $c->getKey($s->id, 'missing');
            self::fail('a missing key must throw');
        } catch (KeyNotFoundException $e) {
            self::assertSame(404, $e->status);
        }
        self::assertSame('dflt', $c->getKeyOr($s->id, 'missing', 'dflt'));
        try {
            $c->getKey(self::newId(), 'a');
            self::fail('a missing session must throw');
        } catch (NotFoundException $e) {
            self::assertNotInstanceOf(KeyNotFoundException::class, $e);
        }

        self::assertSame('"3"', $c->deleteKey($s->id, $key));
        self::assertNull(self::redisField($s->id, 'data:' . $key));
        $c->deleteKey($s->id, 'never-there');
        try {
            $c->setKey($s->id, 'x', 1, ifMatch: '"1"');
            self::fail('a stale If-Match must fail');
        } catch (PreconditionFailedException) {
        }
        $c->clear($s->id);
        self::assertSame([], $c->get($s->id)->data);
        self::assertTrue($c->exists($s->id));

        $this->expectException(NotFoundException::class);
        $c->setKey(self::newId(), 'a', 1);
    }

    public function testValuesAreStoredAsTheJsonTextSent(): void
    {
        $c = self::client();
        $s = $c->create(['big' => PHP_INT_MAX, 'neg' => PHP_INT_MIN]);
        $c->setKey($s->id, 'raw', new RawJson('{"b": 1,  "a": [1.0]}'));
        self::assertSame('{"b": 1,  "a": [1.0]}', self::redisField($s->id, 'data:raw'));
        self::assertSame((string) PHP_INT_MAX, self::redisField($s->id, 'data:big'));
        $data = $c->get($s->id)->data;
        self::assertSame(PHP_INT_MAX, $data['big']);
        self::assertSame(PHP_INT_MIN, $data['neg']);
        self::assertSame(['b' => 1, 'a' => [1.0]], $data['raw']);
        $c->setKey($s->id, 'f', 1.0);
        self::assertSame('1.0', self::redisField($s->id, 'data:f'));
        $c->setKey($s->id, 'beyond', new RawJson('123456789012345678901234567890'));
        self::assertSame('123456789012345678901234567890', $c->getKey($s->id, 'beyond'), 'big integers come back as strings');
    }

    public function testNonJsonValuesAreRefusedBeforeSending(): void
    {
        $s = self::client()->create();
        $this->expectException(\InvalidArgumentException::class);
        self::client()->setKey($s->id, 'nan', NAN);
    }

    public function testExpiryRoutes(): void
    {
        $c = self::client();
        $s = $c->create(['a' => 1], ttl: 100);
        $e = $c->getExpiry($s->id);
        self::assertSame(100, $e['ttl']);
        self::assertArrayHasKey('expires_at', $e);
        $e = $c->setExpiry($s->id, 5000);
        self::assertSame(5000, $e['ttl']);
        self::assertGreaterThan(4900, self::redisTtl($s->id));
        $e = $c->setExpiry($s->id, null);
        self::assertSame(1209600, $e['ttl']);

        $at = new \DateTimeImmutable('+1 hour');
        $e = $c->setExpiresAt($s->id, $at);
        self::assertEqualsWithDelta(3600, $e['expires_in'], 5);
        $c->get($s->id);
        self::assertLessThanOrEqual(3600, self::redisTtl($s->id), 'a fixed expiry stops sliding');
        $e = $c->setExpiresAt($s->id, gmdate('Y-m-d\TH:i:s\Z', time() + 7200));
        self::assertEqualsWithDelta(7200, $e['expires_in'], 5);

        try {
            $c->setExpiry($s->id, 0);
            self::fail('ttl 0 is out of range');
        } catch (InvalidRequestException $e) {
            self::assertSame(400, $e->status);
        }
        $this->expectException(NotFoundException::class);
        $c->getExpiry(self::newId());
    }

    public function testCycleGivesANewIdWithTheSameData(): void
    {
        $c = self::client();
        $s = $c->create(['a' => 1], ttl: 800, user: 'cy-' . self::newId());
        $n = $c->cycle($s->id);
        self::assertNotSame($s->id, $n->id);
        self::assertTrue($n->created);
        self::assertSame(['a' => 1], $n->data);
        self::assertSame(800, $n->ttl);
        self::assertSame($s->user, $n->user);
        self::assertFalse($c->exists($s->id));
        $this->expectException(NotFoundException::class);
        $c->cycle($s->id);
    }

    public function testUserRoutes(): void
    {
        $c = self::client();
        $user = 'user/' . self::newId();
        $a = $c->create(['n' => 1], user: $user);
        $b = $c->create(['n' => 2], user: $user);
        $c->create(['n' => 3]);
        $ids = array_map(static fn ($s) => $s->id, $c->userSessions($user));
        sort($ids);
        $want = [$a->id, $b->id];
        sort($want);
        self::assertSame($want, $ids);
        self::assertSame($user, $c->userSessions($user)[0]->user);
        self::assertSame(1, $c->deleteUserSessions($user, except: $b->id));
        self::assertFalse($c->exists($a->id));
        self::assertTrue($c->exists($b->id));
        self::assertSame(1, $c->deleteUserSessions($user));
        self::assertSame([], $c->userSessions($user));
        self::assertSame(0, $c->deleteUserSessions($user));
    }

    public function testDeleteAllNeedsConfirmation(): void
    {
        // Run on a private prefix: the harness's daemons share one Redis with the other tests.
        $daemon = Daemon::start(['--key-prefix', 'php-flush-' . bin2hex(random_bytes(4)) . ':']);
        try {
            $c = new Client($daemon->url);
            $c->create(['a' => 1]);
            $c->create(['a' => 2]);
            $keep = self::client()->create(['a' => 3]);
            try {
                $c->deleteAll(false);
                self::fail('deleteAll(false) must refuse');
            } catch (\InvalidArgumentException) {
            }
            self::assertSame(2, $c->deleteAll(true));
            self::assertSame(0, $c->deleteAll(true));
            self::assertTrue(self::client()->exists($keep->id), 'other prefixes are untouched');
        } finally {
            $daemon->stop();
        }
    }

    public function testProbesMetricsAndOpenapi(): void
    {
        $c = self::client();
        self::assertTrue($c->healthy());
        self::assertTrue($c->ready());
        self::assertStringContainsString('# TYPE ', $c->metrics());
        self::assertStringStartsWith('openapi: 3.1', $c->openapi());
    }

    public function testMalformedIdsAreRefused(): void
    {
        try {
            self::client()->get('short');
            self::fail('a 5-character id must be refused');
        } catch (InvalidRequestException $e) {
            self::assertSame(400, $e->status);
            self::assertStringContainsString('invalid session id', $e->getMessage());
        }
        $this->expectException(InvalidRequestException::class);
        self::client()->get('has,comma12');
    }

    public function testUnknownFieldsPassThrough(): void
    {
        $c = self::client();
        $s = $c->create(['a' => 1]);
        foreach (array_keys($s->fields) as $field) {
            self::assertArrayHasKey($field, $c->get($s->id)->fields);
        }
        try {
            $d = $c->create(['a' => 1], user: 'dev-' . self::newId(), device: ['user_agent' => 'phpunit', 'ip' => '127.0.0.1']);
        } catch (InvalidRequestException $e) {
            self::assertStringContainsString('device', $e->getMessage());
            return; // this daemon predates devices
        }
        self::assertSame('phpunit', $d->device['user_agent'] ?? null);
    }

    public function testTokenIsSentAsBearer(): void
    {
        $url = (string) getenv('SESSIOND_TEST_TOKEN_URL');
        $token = (string) getenv('SESSIOND_TEST_TOKEN');
        $good = new Client($url, $token);
        $s = $good->create(['a' => 1]);
        self::assertSame(['a' => 1], $good->get($s->id)->data);

        foreach ([new Client($url), new Client($url, 'wrong-token')] as $bad) {
            try {
                $bad->get($s->id);
                self::fail('no or a wrong token must be 401');
            } catch (AuthenticationException $e) {
                self::assertSame(401, $e->status);
            }
            self::assertTrue($bad->healthy(), '/healthz stays open');
            self::assertTrue($bad->ready(), '/readyz stays open');
        }
    }

    public function testUnixSocket(): void
    {
        $sock = (string) getenv('SESSIOND_TEST_SOCKET');
        foreach (["unix://$sock", "unix:$sock"] as $url) {
            $c = new Client($url);
            $s = $c->create(['over' => 'unix']);
            self::assertSame(['over' => 'unix'], $c->get($s->id)->data);
            $c->setKey($s->id, 'k', 'v');
            self::assertSame('v', self::client()->getKey($s->id, 'k'), 'the same Redis behind both');
            self::assertTrue($c->ready());
            $c->delete($s->id);
            self::assertFalse($c->exists($s->id));
        }
    }

    public function testOneConnectionIsKeptAlive(): void
    {
        $c = self::client();
        $s = $c->create(['a' => 1]);
        for ($i = 0; $i < 20; $i++) {
            $c->get($s->id);
            $c->exists($s->id);
            $c->setKey($s->id, 'i', $i);
        }
        self::assertSame(1, $c->connects());
        $c->close();
        $c->get($s->id);
        self::assertSame(2, $c->connects());
    }

    public function testConnectionRefusedIsUnavailable(): void
    {
        $c = new Client('http://127.0.0.1:' . self::freePort(), timeout: 1.0);
        try {
            $c->get(self::newId());
            self::fail('nothing listens there');
        } catch (UnavailableException $e) {
            self::assertSame(0, $e->status);
        }
        self::assertFalse($c->healthy());
        $this->expectException(UnavailableException::class);
        (new Client('unix:///nonexistent/sessiond.sock'))->get(self::newId());
    }

    public function testADaemonThatNeverAnswersTimesOut(): void
    {
        $server = stream_socket_server('tcp://127.0.0.1:0', $errno, $error);
        self::assertNotFalse($server, $error);
        $c = new Client('http://' . stream_socket_get_name($server, false), timeout: 0.3);
        $t = microtime(true);
        try {
            $c->get(self::newId());
            self::fail('the server never answers');
        } catch (UnavailableException $e) {
            self::assertStringContainsString('timed out', $e->getMessage());
        } finally {
            fclose($server);
        }
        self::assertLessThan(2.0, microtime(true) - $t);
    }

    public function testRedisDownIs503WithRetryAfter(): void
    {
        $daemon = Daemon::start(['--redis', 'redis://127.0.0.1:' . self::freePort() . '/0'], waitReady: false);
        try {
            $c = new Client($daemon->url);
            self::assertTrue($c->healthy());
            self::assertFalse($c->ready());
            try {
                $c->create(['a' => 1]);
                self::fail('no Redis, no write');
            } catch (UnavailableException $e) {
                self::assertContains($e->status, [503, 504]);
                self::assertSame(1.0, $e->retryAfter);
            }
        } finally {
            $daemon->stop();
        }
    }

    public function testBadUrls(): void
    {
        $this->expectException(\InvalidArgumentException::class);
        new Client('ftp://example.org');
    }

    private static function sorted(array $a): array
    {
        ksort($a);
        return $a;
    }
}
