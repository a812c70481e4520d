<?php

declare(strict_types=1);

/*
 * One PHP request's session, driven over stdin/stdout by RealSessionTest:
 * session_start() with the handler, print {"id", "session"}, wait for one
 * line of operations, apply them, end the session, print {"id", "session"}.
 * Ini settings come as -d flags. Output goes to STDOUT directly, so PHP never
 * counts headers as sent (session_regenerate_id() refuses after that).
 */

require dirname(__DIR__) . '/bootstrap.php';

$url = getenv('SESSIOND_CHILD_URL') ?: getenv('SESSIOND_TEST_URL');
$handler = new Sessiond\SessionHandler($url);
if (getenv('SESSIOND_CHILD_REGISTER') === '1') {
    $handler->register();
} else {
    session_set_save_handler($handler, true);
}
if (($id = getenv('SESSIOND_CHILD_ID')) !== false && $id !== '') {
    session_id($id);
}
$say = static fn (array $what) => fwrite(STDOUT, json_encode($what + ['id' => session_id(), 'session' => $_SESSION ?? null]) . "\n");

$started = session_start();
$say(['started' => $started]);

$ops = json_decode((string) fgets(STDIN), true) ?? [];
foreach ($ops['set'] ?? [] as $k => $v) {
    $_SESSION[$k] = $v;
}
foreach ($ops['unset'] ?? [] as $k) {
    unset($_SESSION[$k]);
}
if ($ops['regenerate'] ?? false) {
    session_regenerate_id(true);
}
if ($ops['destroy'] ?? false) {
    session_destroy();
    $say(['ended' => true]);
    exit(0);
}
$ended = session_write_close();
$say(['ended' => $ended]);
