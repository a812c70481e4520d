<?php

declare(strict_types=1);

namespace Sessiond;

/** 412: If-Match / If-None-Match did not hold (changed meanwhile, taken id, or gone). */
class PreconditionFailedException extends SessiondException
{
}
