<?php

declare(strict_types=1);

namespace Sessiond;

/** 404: the session does not exist (or has expired). */
class NotFoundException extends SessiondException
{
}
