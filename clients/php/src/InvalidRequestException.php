<?php

declare(strict_types=1);

namespace Sessiond;

/** 400 / 413: the daemon refused the request (bad id, key, JSON, limit). */
class InvalidRequestException extends SessiondException
{
}
