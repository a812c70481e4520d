<?php

declare(strict_types=1);

namespace Sessiond\Tests;

/** A sessiond a test starts itself (special flags), on a free loopback port, stopped by its own pid. */
final class Daemon
{
    /** @param resource $proc */
    private function __construct(public readonly string $url, private $proc, private readonly string $log)
    {
    }

    /** @param list<string> $flags extra flags; `--redis` defaults to the harness's Redis */
    public static function start(array $flags, bool $waitReady = true): self
    {
        $bin = (string) getenv('SESSIOND_BIN');
        if (!in_array('--redis', $flags, true)) {
            array_push($flags, '--redis', 'redis://127.0.0.1:' . getenv('SESSIOND_TEST_REDIS_PORT') . '/0');
        }
        $s = stream_socket_server('tcp://127.0.0.1:0');
        $name = stream_socket_get_name($s, false);
        fclose($s);
        $log = tempnam(sys_get_temp_dir(), 'sessiond-php-daemon-');
        $proc = proc_open(
            [$bin, '--listen', $name, ...$flags],
            [0 => ['file', '/dev/null', 'r'], 1 => ['file', $log, 'w'], 2 => ['file', $log, 'w']],
            $pipes,
        );
        if (!is_resource($proc)) {
            throw new \RuntimeException("could not start $bin");
        }
        $daemon = new self("http://$name", $proc, $log);
        $probe = $waitReady ? '/readyz' : '/healthz';
        $deadline = microtime(true) + 20;
        while (@file_get_contents("http://$name$probe", false, stream_context_create(['http' => ['timeout' => 1, 'ignore_errors' => true]])) === false) {
            if (!proc_get_status($proc)['running'] || microtime(true) > $deadline) {
                $daemon->stop();
                throw new \RuntimeException("sessiond did not come up on $name: " . file_get_contents($log));
            }
            usleep(20_000);
        }
        return $daemon;
    }

    public function stop(): void
    {
        if (is_resource($this->proc)) {
            proc_terminate($this->proc, 15);
            proc_close($this->proc);
        }
        @unlink($this->log);
    }
}
