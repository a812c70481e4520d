<?php

declare(strict_types=1);

namespace Sessiond;

/** 404 on a data-key read where the session exists but the key does not. */
class KeyNotFoundException extends NotFoundException
{
}
