<?php

declare(strict_types=1);

namespace Sessiond;

/**
 * Base of every error the client raises: the daemon's problem+json
 * (`status`, `title`, `detail`), or a transport failure (status 0).
 */
class SessiondException extends \RuntimeException
{
    public function __construct(
        string $detail,
        public readonly int $status = 0,
        public readonly ?string $title = null,
        ?\Throwable $previous = null,
    ) {
        parent::__construct($detail, $status, $previous);
    }

    public function detail(): string
    {
        return $this->getMessage();
    }
}
