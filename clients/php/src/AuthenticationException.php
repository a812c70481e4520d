<?php

declare(strict_types=1);

namespace Sessiond;

/** 401: no bearer token, or the wrong one. */
class AuthenticationException extends SessiondException
{
}
