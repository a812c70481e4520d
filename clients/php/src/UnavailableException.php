<?php

declare(strict_types=1);

namespace Sessiond;

/**
 * Retryable: 503/504 (Redis down or slow), any other 5xx, a connection that
 * failed or a timeout. Nothing is known to have been written.
 */
class UnavailableException extends SessiondException
{
    public function __construct(
        string $detail,
        int $status = 0,
        ?string $title = null,
        /** Seconds, from `Retry-After`, when the daemon sent one. */
        public readonly ?float $retryAfter = null,
        ?\Throwable $previous = null,
    ) {
        parent::__construct($detail, $status, $title, $previous);
    }
}
