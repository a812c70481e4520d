<?php

declare(strict_types=1);

/*
 * One request through Symfony's NativeSessionStorage with the handler (run by
 * FrameworkTest as a child php, so no output has been sent): counts visits,
 * or with SESSIOND_CHILD_OP=invalidate logs out, and prints {"id", "n"}.
 */

require dirname(__DIR__) . '/bootstrap.php';
require_once 'Symfony/Component/HttpFoundation/autoload.php';

use Symfony\Component\HttpFoundation\Session\Session;
use Symfony\Component\HttpFoundation\Session\Storage\NativeSessionStorage;

$storage = new NativeSessionStorage(
    ['use_strict_mode' => 1, 'serialize_handler' => 'php_serialize', 'gc_maxlifetime' => 3600],
    new Sessiond\SessionHandler((string) getenv('SESSIOND_TEST_URL')),
);
$session = new Session($storage);
if (($id = getenv('SESSIOND_CHILD_ID')) !== false && $id !== '') {
    $session->setId($id);
}
$session->start();
if (getenv('SESSIOND_CHILD_OP') === 'invalidate') {
    $session->invalidate();
} else {
    $session->set('n', $session->get('n', 0) + 1);
}
$session->save();
fwrite(STDOUT, json_encode(['id' => $session->getId(), 'n' => $session->get('n')]) . "\n");
