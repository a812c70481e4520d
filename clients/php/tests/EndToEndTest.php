<?php

declare(strict_types=1);

namespace Sessiond\Tests;

/**
 * tests/app on PHP's built-in server (`php -S` on a free loopback port),
 * driven by the curl command line with a cookie jar, like a browser.
 */
final class EndToEndTest extends TestCase
{
    /** @var resource|null */
    private static $server = null;
    private static string $base = '';
    private static string $log = '';
    private string $jar = '';

    public static function setUpBeforeClass(): void
    {
        $port = self::freePort();
        self::$base = "http://127.0.0.1:$port";
        self::$log = (string) tempnam(sys_get_temp_dir(), 'sessiond-php-server-');
        $cmd = [PHP_BINARY, '-n'];
        foreach (PhpProcess::extensions() as $ext) {
            array_push($cmd, '-d', "extension=$ext");
        }
        array_push($cmd, '-S', "127.0.0.1:$port", '-t', __DIR__ . '/app', __DIR__ . '/app/index.php');
        self::$server = proc_open($cmd, [0 => ['file', '/dev/null', 'r'], 1 => ['file', self::$log, 'w'], 2 => ['file', self::$log, 'w']], $pipes);
        self::assertIsResource(self::$server);
        self::waitFor('php -S to listen', static function () use ($port): bool {
            $s = @stream_socket_client("tcp://127.0.0.1:$port", $errno, $error, 1);
            if ($s === false) {
                self::assertTrue(proc_get_status(self::$server)['running'], 'php -S exited: ' . file_get_contents(self::$log));
                return false;
            }
            fclose($s);
            return true;
        });
    }

    public static function tearDownAfterClass(): void
    {
        if (is_resource(self::$server)) {
            proc_terminate(self::$server, 15);
            proc_close(self::$server);
        }
        @unlink(self::$log);
    }

    protected function setUp(): void
    {
        $this->jar = (string) tempnam(sys_get_temp_dir(), 'sessiond-php-jar-');
    }

    protected function tearDown(): void
    {
        @unlink($this->jar);
    }

    public function testACounterAcrossRequests(): void
    {
        $first = $this->get('/count');
        self::assertSame(1, $first['body']['session']['count']);
        self::assertSame($first['body']['id'], $first['cookie'], 'the id went out as the cookie');
        for ($n = 2; $n <= 4; $n++) {
            $r = $this->get('/count');
            self::assertSame($n, $r['body']['session']['count']);
            self::assertSame($first['body']['id'], $r['body']['id']);
            self::assertNull($r['cookie'], 'a known session sends no new cookie');
        }
        self::assertSame(['count' => '4'], self::redisData($first['body']['id']));
    }

    public function testADestroyedSessionStartsFresh(): void
    {
        $old = $this->get('/count')['body']['id'];
        $this->get('/count');
        $bye = $this->get('/logout');
        self::assertSame($old, $bye['body']['destroyed']);
        self::assertFalse(self::client()->exists($old));
        $fresh = $this->get('/count');
        self::assertSame(1, $fresh['body']['session']['count']);
        self::assertNotSame($old, $fresh['body']['id']);
    }

    public function testAStaleCookieOfADestroyedSessionIsNotAdopted(): void
    {
        $old = $this->get('/count')['body']['id'];
        self::client()->delete($old); // e.g. "log out everywhere" from another app
        $r = $this->get('/count');
        self::assertNotSame($old, $r['body']['id']);
        self::assertSame(1, $r['body']['session']['count']);
        self::assertFalse(self::client()->exists($old), 'the late request did not bring it back');
    }

    public function testAForgedIdIsNotAdopted(): void
    {
        $forged = 'forged' . bin2hex(random_bytes(10));
        $r = $this->get('/count', "PHPSESSID=$forged");
        self::assertNotSame($forged, $r['body']['id']);
        self::assertSame($r['body']['id'], $r['cookie'], 'a new id went out');
        self::assertSame(1, $r['body']['session']['count']);
        self::assertFalse(self::client()->exists($forged));
        self::assertTrue(self::client()->exists($r['body']['id']));
    }

    public function testLoginGetsANewId(): void
    {
        $before = $this->get('/count')['body']['id'];
        $r = $this->get('/login?user=ann');
        self::assertNotSame($before, $r['body']['id']);
        self::assertSame($r['body']['id'], $r['cookie']);
        self::assertSame(['count' => 1, 'user' => 'ann'], $r['body']['session']);
        self::assertFalse(self::client()->exists($before));
        self::assertSame(['count' => 1, 'user' => 'ann'], $this->get('/peek')['body']['session']);
    }

    /**
     * One request through the jar (or with `$cookie` instead of it).
     *
     * @return array{body: array, cookie: ?string} cookie: the PHPSESSID the response set
     */
    private function get(string $path, ?string $cookie = null): array
    {
        $cmd = ['curl', '-sS', '--max-time', '10', '-D', '-', '-c', $this->jar, '-b', $cookie ?? $this->jar, self::$base . $path];
        $p = proc_open($cmd, [1 => ['pipe', 'w'], 2 => ['pipe', 'w']], $pipes);
        $out = stream_get_contents($pipes[1]);
        $err = stream_get_contents($pipes[2]);
        self::assertSame(0, proc_close($p), "curl failed: $err");
        [$head, $body] = explode("\r\n\r\n", $out, 2);
        self::assertStringStartsWith('HTTP/1.1 200', $head, $out . "\n" . file_get_contents(self::$log));
        $set = preg_match('/^Set-Cookie: PHPSESSID=([^;\r\n]*)/mi', $head, $m) ? $m[1] : null;
        return ['body' => json_decode($body, true, 512, JSON_THROW_ON_ERROR), 'cookie' => $set];
    }
}
