<?php

declare(strict_types=1);

namespace Sessiond;

/**
 * JSON text sent as is, for a value (or a whole data object) that is
 * already encoded: the daemon stores exactly the text it receives.
 */
final class RawJson
{
    public function __construct(public readonly string $json)
    {
    }
}
