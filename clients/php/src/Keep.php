<?php

declare(strict_types=1);

namespace Sessiond;

/**
 * The default of `Client::replace()`'s `ttl`, `user` and `device`: leave the
 * member out of the PUT so the daemon keeps the current value, which `null`
 * cannot say (null means "daemon default" for ttl, "none" for user/device).
 */
enum Keep
{
    case Current;
}
