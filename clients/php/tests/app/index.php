<?php

declare(strict_types=1);

// A tiny app on PHP's built-in server, for EndToEndTest: sessions in sessiond.

spl_autoload_register(static function (string $class): void {
    if (str_starts_with($class, 'Sessiond\\')) {
        require dirname(__DIR__, 2) . '/src/' . str_replace('\\', '/', substr($class, 9)) . '.php';
    }
});

ini_set('session.serialize_handler', getenv('APP_SERIALIZE_HANDLER') ?: 'php_serialize');
(new Sessiond\SessionHandler((string) getenv('SESSIOND_TEST_URL')))->register();

header('Content-Type: application/json');
$path = parse_url($_SERVER['REQUEST_URI'], PHP_URL_PATH);
if (!session_start()) {
    http_response_code(503);
    echo json_encode(['error' => 'no session']);
    return;
}
switch ($path) {
    case '/count':
        $_SESSION['count'] = ($_SESSION['count'] ?? 0) + 1;
        break;
    case '/login':
        // Session fixation defence: a new id on privilege change.
        session_regenerate_id(true);
        $_SESSION['user'] = (string) ($_GET['user'] ?? 'anon');
        break;
    case '/logout':
        $id = session_id();
        $_SESSION = [];
        session_destroy();
        setcookie(session_name(), '', ['expires' => 1, 'path' => '/']);
        echo json_encode(['destroyed' => $id]);
        return;
    case '/peek':
        break;
    default:
        http_response_code(404);
}
echo json_encode(['id' => session_id(), 'session' => $_SESSION]);
