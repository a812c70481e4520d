<?php

declare(strict_types=1);

namespace Sessiond\Tests;

/** A child `php` running tests/bin/session.php: one real session_start() … session_write_close(). */
final class PhpProcess
{
    /** @var resource */
    private $proc;
    /** @var array<int, resource> */
    private array $pipes = [];

    /**
     * @param array<string, string> $ini -d settings
     * @param array<string, string> $env extra environment (SESSIOND_CHILD_ID, …)
     */
    public function __construct(array $ini = [], array $env = [])
    {
        $cmd = [PHP_BINARY, '-n'];
        foreach (self::extensions() as $ext) {
            array_push($cmd, '-d', "extension=$ext");
        }
        foreach ($ini + ['error_reporting' => '-1', 'display_errors' => 'stderr'] as $k => $v) {
            array_push($cmd, '-d', "$k=$v");
        }
        $cmd[] = __DIR__ . '/bin/session.php';
        $this->proc = proc_open($cmd, [0 => ['pipe', 'r'], 1 => ['pipe', 'w'], 2 => ['pipe', 'w']], $this->pipes, null, $env + getenv());
        if (!is_resource($this->proc)) {
            throw new \RuntimeException('could not start php');
        }
    }

    /** What the child saw right after session_start(). */
    public function started(): array
    {
        return $this->line();
    }

    /** Sends the operations, lets the child end its session, returns what it saw then. */
    public function finish(array $ops = []): array
    {
        fwrite($this->pipes[0], json_encode((object) $ops) . "\n");
        fclose($this->pipes[0]);
        $out = $this->line();
        $stderr = stream_get_contents($this->pipes[2]);
        $rc = proc_close($this->proc);
        if ($rc !== 0 || $stderr !== '') {
            throw new \RuntimeException("child php failed ($rc): $stderr");
        }
        return $out;
    }

    /** Runs one whole request. */
    public static function request(array $ini = [], array $env = [], array $ops = []): array
    {
        $p = new self($ini, $env);
        $start = $p->started();
        return [$start, $p->finish($ops)];
    }

    private function line(): array
    {
        $line = fgets($this->pipes[1]);
        if ($line === false) {
            $stderr = stream_get_contents($this->pipes[2]);
            throw new \RuntimeException("child php said nothing: $stderr");
        }
        return json_decode($line, true, 512, JSON_THROW_ON_ERROR);
    }

    /**
     * The shared extensions the handler needs (Debian builds curl as one),
     * so the child runs with -n: no php.ini settings leak into the tests,
     * and nothing beyond ext-curl is there.
     *
     * @return list<string>
     */
    public static function extensions(): array
    {
        $dir = (string) ini_get('extension_dir');
        $out = [];
        foreach (['curl', 'session', 'json', 'random'] as $ext) {
            if (is_file("$dir/$ext.so")) {
                $out[] = $ext;
            }
        }
        return $out;
    }
}
