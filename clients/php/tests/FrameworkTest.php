<?php

declare(strict_types=1);

namespace Sessiond\Tests;

use Sessiond\SessionHandler;

/**
 * The README's recipes for Symfony (NativeSessionStorage) and Laravel
 * (SessionManager::extend, i.e. Session::extend), on Debian's packages of
 * symfony/http-foundation and illuminate/session.
 */
final class FrameworkTest extends TestCase
{
    public function testSymfonyNativeSessionStorage(): void
    {
        self::need('Symfony/Component/HttpFoundation/autoload.php');
        $first = self::symfony();
        self::assertSame(1, $first['n']);
        self::assertSame(3600, self::client()->getExpiry($first['id'])['ttl']);
        self::assertArrayHasKey('_sf2_attributes', self::redisData($first['id']), 'one data key per Symfony bag');
        self::assertSame(2, self::symfony(['SESSIOND_CHILD_ID' => $first['id']])['n']);

        $forged = 'forged' . bin2hex(random_bytes(8));
        $r = self::symfony(['SESSIOND_CHILD_ID' => $forged]);
        self::assertNotSame($forged, $r['id'], 'strict mode through SessionHandlerProxy::validateId');
        self::assertSame(1, $r['n']);
        self::assertFalse(self::client()->exists($forged));

        $out = self::symfony(['SESSIOND_CHILD_ID' => $first['id'], 'SESSIOND_CHILD_OP' => 'invalidate']);
        self::assertNotSame($first['id'], $out['id']);
        self::assertFalse(self::client()->exists($first['id']), 'invalidate() destroyed the old session');
    }

    public function testLaravelCustomDriver(): void
    {
        foreach (['Illuminate/Session/autoload.php', 'Illuminate/Container/autoload.php', 'Illuminate/Config/autoload.php'] as $f) {
            self::need($f);
        }
        $store = self::laravel()->driver();
        $store->start();
        $store->put('user', 'ann');
        $store->put('cart', [1, 2]);
        $store->save();
        $id = $store->getId();
        $stored = self::redisData($id);
        self::assertSame('"ann"', $stored['user']);
        self::assertSame('[1,2]', $stored['cart']);
        self::assertArrayHasKey('_token', $stored);
        self::assertSame(7200, self::client()->getExpiry($id)['ttl'], "the driver's lifetime");

        // Two requests on the session, each changing its own key.
        $a = self::laravel()->driver();
        $a->setId($id);
        $a->start();
        $b = self::laravel()->driver();
        $b->setId($id);
        $b->start();
        self::assertSame('ann', $b->get('user'));
        $a->push('cart', 3);
        $b->put('theme', 'dark');
        $a->save();
        $b->save();
        $stored = self::redisData($id);
        self::assertSame('[1,2,3]', $stored['cart']);
        self::assertSame('"dark"', $stored['theme']);

        // Login / logout: migrate() writes a new id it never read.
        $c = self::laravel()->driver();
        $c->setId($id);
        $c->start();
        $c->migrate(true);
        $c->save();
        self::assertNotSame($id, $c->getId());
        self::assertFalse(self::client()->exists($id));
        self::assertSame('"ann"', self::redisData($c->getId())['user']);
        $c->invalidate();
        $c->save();
        self::assertArrayNotHasKey('user', self::redisData($c->getId()));
    }

    private static function laravel(): \Illuminate\Session\SessionManager
    {
        $app = new \Illuminate\Container\Container();
        $app->instance('config', new \Illuminate\Config\Repository(['session' => [
            'driver' => 'sessiond', 'cookie' => 'laravel_session', 'lifetime' => 120, 'encrypt' => false,
        ]]));
        $manager = new \Illuminate\Session\SessionManager($app);
        // What a service provider's boot() does with Session::extend().
        $manager->extend('sessiond', static fn ($app) => new SessionHandler(
            self::url(),
            encoding: SessionHandler::ENCODING_PER_KEY,
            ttl: $app['config']['session.lifetime'] * 60,
            throwOnError: true,
        ));
        return $manager;
    }

    private static function symfony(array $env = []): array
    {
        $cmd = [PHP_BINARY, '-n'];
        foreach (PhpProcess::extensions() as $ext) {
            array_push($cmd, '-d', "extension=$ext");
        }
        array_push($cmd, '-d', 'error_reporting=-1', '-d', 'display_errors=stderr', __DIR__ . '/bin/symfony.php');
        $p = proc_open($cmd, [1 => ['pipe', 'w'], 2 => ['pipe', 'w']], $pipes, null, $env + getenv());
        $out = stream_get_contents($pipes[1]);
        $err = stream_get_contents($pipes[2]);
        self::assertSame(0, proc_close($p), $err);
        self::assertSame('', $err);
        return json_decode($out, true, 512, JSON_THROW_ON_ERROR);
    }

    private static function need(string $file): void
    {
        if (stream_resolve_include_path($file) === false) {
            self::markTestSkipped("$file is not installed (clients/php/test installs it)");
        }
        require_once $file;
    }
}
