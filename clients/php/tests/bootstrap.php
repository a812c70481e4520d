<?php

declare(strict_types=1);

// PSR-4 for Sessiond\ and Sessiond\Tests\ without Composer (CI has no Packagist).
spl_autoload_register(static function (string $class): void {
    foreach (['Sessiond\\Tests\\' => __DIR__ . '/', 'Sessiond\\' => dirname(__DIR__) . '/src/'] as $prefix => $dir) {
        if (str_starts_with($class, $prefix)) {
            $file = $dir . str_replace('\\', '/', substr($class, strlen($prefix))) . '.php';
            if (is_file($file)) {
                require $file;
            }
            return;
        }
    }
});

foreach (['SESSIOND_TEST_URL', 'SESSIOND_TEST_REDIS_PORT'] as $name) {
    if (getenv($name) === false) {
        fwrite(STDERR, "$name is not set: run the suite through clients/php/test (tests/harness/with_daemon.py)\n");
        exit(2);
    }
}
