<?php

declare(strict_types=1);

namespace Sessiond\Tests;

use Sessiond\Client;
use Sessiond\SessionHandler;
use Sessiond\UnavailableException;

/**
 * The handler's interface methods called as PHP's session module calls
 * them (read → write / updateTimestamp → close), against the live daemon.
 */
final class SessionHandlerTest extends TestCase
{
    private static function perKey(?int $ttl = null, ?Client $client = null): SessionHandler
    {
        return new SessionHandler(self::url(), encoding: SessionHandler::ENCODING_PER_KEY, ttl: $ttl, client: $client);
    }

    private static function opaque(?int $ttl = null): SessionHandler
    {
        return new SessionHandler(self::url(), encoding: SessionHandler::ENCODING_OPAQUE, ttl: $ttl);
    }

    public function testImplementsWhatSessionSetSaveHandlerLooksFor(): void
    {
        $h = new SessionHandler();
        self::assertInstanceOf(\SessionHandlerInterface::class, $h);
        self::assertInstanceOf(\SessionUpdateTimestampHandlerInterface::class, $h);
        self::assertInstanceOf(\SessionIdInterface::class, $h);
        self::assertTrue($h->open('', 'PHPSESSID'));
        self::assertTrue($h->close());
        self::assertSame(0, $h->gc(1440));
    }

    public function testCreateSidMakesIdsSessiondAccepts(): void
    {
        $h = new SessionHandler(self::url());
        $ids = [];
        for ($i = 0; $i < 200; $i++) {
            $ids[] = $id = $h->create_sid();
            self::assertMatchesRegularExpression('/^[a-z0-9]{32}$/', $id);
        }
        self::assertCount(200, array_unique($ids));
        self::assertFalse($h->validateId($ids[0]), 'a fresh id is not a session yet');
    }

    public function testReadOfAnUnknownIdIsEmptyAndCreatesNothing(): void
    {
        $h = self::perKey();
        $id = self::newId();
        self::assertSame('', $h->read($id));
        self::assertTrue($h->updateTimestamp($id, ''));
        self::assertTrue($h->write($id, 'a:0:{}'), 'an empty new session');
        self::assertTrue($h->close());
        self::assertFalse(self::client()->exists($id), 'a session PHP put nothing in is not stored');
    }

    public function testValidateIdAsksTheDaemonWithoutSliding(): void
    {
        $c = self::client();
        $s = $c->create(['a' => 1], ttl: 1000);
        self::redis('EXPIRE', self::redisKey($s->id), '100');
        $h = new SessionHandler(self::url());
        self::assertTrue($h->validateId($s->id));
        self::assertLessThanOrEqual(100, self::redisTtl($s->id));
        self::assertFalse($h->validateId(self::newId()), 'an id nobody created');
        self::assertFalse($h->validateId('short'), 'not an id sessiond accepts');
        self::assertFalse($h->validateId('has,comma,0123'), "PHP's 6-bit alphabet has ',' which sessiond does not");
        $c->delete($s->id);
        self::assertFalse($h->validateId($s->id), 'a destroyed session');
    }

    public function testOnlyChangedKeysAreWritten(): void
    {
        $c = self::client();
        $s = $c->create(['keep' => 'x', 'change' => 1, 'drop' => true, 'other-lang' => ['from' => 'python']], ttl: 1440);
        $h = self::perKey(1440);
        $read = $h->read($s->id);
        $session = unserialize($read);
        self::assertSame(['from' => 'python'], $session['other-lang']);
        // Another writer changes "keep" behind this request's back.
        $c->setKey($s->id, 'keep', 'theirs');
        $session['change'] = 2;
        $session['new'] = [1.5, null];
        unset($session['drop']);
        self::assertTrue($h->write($s->id, serialize($session)));
        self::assertSame(
            ['change' => '2', 'keep' => '"theirs"', 'new' => '[1.5,null]', 'other-lang' => '{"from":"python"}'],
            self::redisData($s->id),
            'the untouched key keeps the other writer\'s value',
        );
        self::assertSame(3, $c->get($s->id, touch: false)->version(), 'one PATCH for all of it');
    }

    public function testUpdateTimestampSlidesWithoutRewritingData(): void
    {
        $c = self::client();
        foreach ([[self::perKey(1440), serialize(['a' => 1])], [self::opaque(1440), 'a|i:1;']] as [$h, $data]) {
            $id = self::newId();
            self::assertSame('', $h->read($id));
            self::assertTrue($h->write($id, $data));
            $h->close();

            $before = self::redis('HGETALL', self::redisKey($id));
            $etag = $c->get($id, touch: false)->etag;
            self::redis('EXPIRE', self::redisKey($id), '60');
            self::assertSame($data, $h->read($id));
            self::assertLessThanOrEqual(60, self::redisTtl($id), 'read does not slide');
            self::assertTrue($h->updateTimestamp($id, $data));
            self::assertGreaterThan(1400, self::redisTtl($id), 'updateTimestamp slid the TTL');
            self::assertSame($before, self::redis('HGETALL', self::redisKey($id)), 'and wrote nothing');
            self::assertSame($etag, $c->get($id, touch: false)->etag);
        }
    }

    public function testUpdateTimestampAppliesANewGcMaxlifetime(): void
    {
        $h = self::perKey(1440);
        $id = self::newId();
        $h->read($id);
        $h->write($id, serialize(['a' => 1]));
        $h->close();
        $h2 = self::perKey(300);
        $data = $h2->read($id);
        self::assertTrue($h2->updateTimestamp($id, $data));
        self::assertSame(300, self::client()->getExpiry($id)['ttl']);
        self::assertLessThanOrEqual(300, self::redisTtl($id));
        self::assertSame(['a' => '1'], self::redisData($id));
    }

    public function testUnchangedWriteOnlySlides(): void
    {
        // lazy_write off: PHP calls write() with the data it read.
        $h = self::perKey(1440);
        $id = self::newId();
        $h->read($id);
        $h->write($id, serialize(['a' => 1]));
        $h->close();
        $version = self::client()->get($id, touch: false)->version();
        self::redis('EXPIRE', self::redisKey($id), '60');
        self::assertTrue($h->write($id, $h->read($id)));
        self::assertGreaterThan(1400, self::redisTtl($id));
        self::assertSame($version, self::client()->get($id, touch: false)->version());
    }

    public function testTwoInterleavedRequestsChangingDifferentKeysBothKeepTheirChange(): void
    {
        $c = self::client();
        $s = $c->create(['cart' => [], 'theme' => 'light', 'visits' => 1], ttl: 1440);
        $a = self::perKey(1440);
        $b = self::perKey(1440);
        $sa = unserialize($a->read($s->id));
        $sb = unserialize($b->read($s->id));
        $sa['cart'][] = 'book';
        $sb['theme'] = 'dark';
        self::assertTrue($a->write($s->id, serialize($sa)));
        self::assertTrue($b->write($s->id, serialize($sb)));
        self::assertSame(['cart' => ['book'], 'theme' => 'dark', 'visits' => 1], self::sorted($c->get($s->id)->data));
    }

    public function testOpaqueSessionsAreOneValue(): void
    {
        $c = self::client();
        $h = self::opaque(1440);
        $id = self::newId();
        self::assertSame('', $h->read($id));
        $data = 'user|s:3:"ann";n|i:1;';
        self::assertTrue($h->write($id, $data));
        self::assertSame(['php' => json_encode($data)], self::redisData($id));
        // Other languages' keys next to it are left alone.
        $c->setKey($id, 'lang', 'go');
        $h2 = self::opaque(1440);
        self::assertSame($data, $h2->read($id));
        self::assertTrue($h2->write($id, 'user|s:3:"bob";'));
        self::assertSame(['lang' => '"go"', 'php' => '"user|s:3:\"bob\";"'], self::redisData($id));

        $binary = "b|s:2:\"\xff\x00\";";
        self::assertTrue($h2->write($id, $binary));
        self::assertSame($binary, self::opaque(1440)->read($id));
    }

    public function testObjectsAreStoredTaggedAndComeBack(): void
    {
        $h = self::perKey(1440);
        $id = self::newId();
        $h->read($id);
        $when = new \DateTimeImmutable('2030-01-02T03:04:05Z');
        $this->assertTrue($h->write($id, serialize(['when' => $when, 'n' => 1])));
        $stored = json_decode(self::redisData($id)['when'], true);
        self::assertSame(serialize($when), $stored['$php']);
        $back = unserialize(self::perKey(1440)->read($id));
        self::assertEquals($when, $back['when']);
    }

    public function testDestroy(): void
    {
        $c = self::client();
        $s = $c->create(['a' => 1]);
        $h = new SessionHandler(self::url());
        self::assertTrue($h->destroy($s->id));
        self::assertFalse($c->exists($s->id));
        self::assertTrue($h->destroy($s->id), 'absent is fine');
        self::assertTrue($h->destroy('bad'), 'an id sessiond cannot hold has nothing to destroy');
    }

    public function testAWriteNeverBringsBackADestroyedSession(): void
    {
        $c = self::client();
        foreach ([self::perKey(1440), self::opaque(1440)] as $h) {
            $s = $c->create(['a' => 1], ttl: 1440);
            $data = $h->read($s->id);
            $c->delete($s->id); // a logout in another request
            self::assertTrue($h->write($s->id, $data === '' ? 'x|i:1;' : serialize(['a' => 2])));
            self::assertTrue($h->updateTimestamp($s->id, $data));
            self::assertFalse($c->exists($s->id));
        }
    }

    public function testAWriteWithoutARead(): void
    {
        // Laravel's regenerate writes a new id it never read; a taken id is merged into, not replaced.
        $c = self::client();
        $id = self::newId();
        self::assertTrue(self::perKey(600)->write($id, serialize(['a' => 1])));
        self::assertSame(600, $c->get($id)->ttl);
        $c->setKey($id, 'theirs', true);
        self::assertTrue(self::perKey(600)->write($id, serialize(['a' => 2])));
        self::assertSame(['a' => '2', 'theirs' => 'true'], self::redisData($id));
    }

    public function testUnstorableDataFailsWithAWarning(): void
    {
        $h = self::perKey(1440);
        $id = self::newId();
        $h->read($id);
        $warnings = [];
        set_error_handler(static function (int $no, string $msg) use (&$warnings): bool {
            $warnings[] = $msg;
            return true;
        }, E_USER_WARNING);
        try {
            self::assertFalse($h->write($id, serialize(['' => 'empty key'])));
            self::assertInstanceOf(\UnexpectedValueException::class, $h->lastError());
            self::assertFalse($h->write('bad,id', serialize(['a' => 1])));
            self::assertInstanceOf(\Sessiond\InvalidRequestException::class, $h->lastError());
        } finally {
            restore_error_handler();
        }
        self::assertCount(2, $warnings);
        self::assertStringContainsString('sessiond data key', $warnings[0]);
        self::assertStringContainsString('use_strict_mode', $warnings[1]);
    }

    public function testAnUnreachableDaemonFailsAsPhpExpects(): void
    {
        $url = 'http://127.0.0.1:' . self::freePort();
        $h = new SessionHandler($url, timeout: 0.5);
        $warnings = 0;
        set_error_handler(static function () use (&$warnings): bool {
            $warnings++;
            return true;
        }, E_USER_WARNING);
        try {
            self::assertFalse($h->read(self::newId()));
            self::assertFalse($h->validateId(self::newId()));
            self::assertFalse($h->write(self::newId(), 'a|i:1;'));
            self::assertFalse($h->destroy(self::newId()));
        } finally {
            restore_error_handler();
        }
        self::assertSame(4, $warnings);
        self::assertInstanceOf(UnavailableException::class, $h->lastError());

        $throwing = new SessionHandler($url, timeout: 0.5, throwOnError: true);
        $this->expectException(UnavailableException::class);
        $throwing->read(self::newId());
    }

    public function testRedisDownFailsEveryMethodThatNeedsIt(): void
    {
        $daemon = Daemon::start(['--redis', 'redis://127.0.0.1:' . self::freePort() . '/0'], waitReady: false);
        try {
            $h = new SessionHandler($daemon->url, encoding: SessionHandler::ENCODING_PER_KEY, ttl: 1440);
            $failures = 0;
            set_error_handler(static function () use (&$failures): bool {
                $failures++;
                return true;
            }, E_USER_WARNING);
            try {
                $id = self::newId();
                self::assertFalse($h->validateId($id));
                self::assertFalse($h->read($id));
                self::assertFalse($h->write($id, serialize(['a' => 1])));
                self::assertFalse($h->destroy($id));
            } finally {
                restore_error_handler();
            }
            self::assertSame(4, $failures);
            self::assertInstanceOf(UnavailableException::class, $h->lastError());
            self::assertContains($h->lastError()->status, [503, 504]);
        } finally {
            $daemon->stop();
        }
    }

    public function testTokenAndUnixSocket(): void
    {
        $handlers = [
            new SessionHandler((string) getenv('SESSIOND_TEST_TOKEN_URL'), (string) getenv('SESSIOND_TEST_TOKEN'), encoding: SessionHandler::ENCODING_PER_KEY, ttl: 1440),
            new SessionHandler('unix://' . getenv('SESSIOND_TEST_SOCKET'), encoding: SessionHandler::ENCODING_PER_KEY, ttl: 1440),
        ];
        foreach ($handlers as $h) {
            $id = $h->create_sid();
            self::assertFalse($h->validateId($id));
            self::assertSame('', $h->read($id));
            self::assertTrue($h->write($id, serialize(['via' => 'x'])));
            self::assertTrue($h->validateId($id));
            self::assertSame(['via' => '"x"'], self::redisData($id));
            self::assertTrue($h->destroy($id));
        }
        $noToken = new SessionHandler((string) getenv('SESSIOND_TEST_TOKEN_URL'), throwOnError: true);
        $this->expectException(\Sessiond\AuthenticationException::class);
        $noToken->validateId(self::newId());
    }

    private static function sorted(array $a): array
    {
        ksort($a);
        return $a;
    }
}
