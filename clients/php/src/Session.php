<?php

declare(strict_types=1);

namespace Sessiond;

/**
 * A session as the daemon returned it. `fields` holds the whole JSON
 * document, so members this client does not know yet still reach the caller.
 */
final class Session
{
    public readonly string $id;
    /** @var array<string, mixed> JSON objects decode to associative arrays. */
    public readonly array $data;
    public readonly ?int $ttl;
    public readonly ?int $expiresIn;
    public readonly ?string $expiresAt;
    public readonly ?string $createdAt;
    public readonly ?string $user;
    /** @var array<string, mixed>|null */
    public readonly ?array $device;
    public readonly ?string $lastSeenAt;

    /**
     * @param array<string, mixed> $fields the decoded response body
     * @param ?string $etag the `ETag` header (`"3"`); null in user listings
     * @param bool $created whether the response was `201` (a PUT that created)
     */
    public function __construct(
        public readonly array $fields,
        public readonly ?string $etag = null,
        public readonly bool $created = false,
    ) {
        $this->id = (string) ($fields['id'] ?? '');
        $this->data = is_array($fields['data'] ?? null) ? $fields['data'] : [];
        $this->ttl = isset($fields['ttl']) ? (int) $fields['ttl'] : null;
        $this->expiresIn = isset($fields['expires_in']) ? (int) $fields['expires_in'] : null;
        $this->expiresAt = isset($fields['expires_at']) ? (string) $fields['expires_at'] : null;
        $this->createdAt = isset($fields['created_at']) ? (string) $fields['created_at'] : null;
        $this->user = isset($fields['user']) ? (string) $fields['user'] : null;
        $this->device = is_array($fields['device'] ?? null) ? $fields['device'] : null;
        $this->lastSeenAt = isset($fields['last_seen_at']) ? (string) $fields['last_seen_at'] : null;
    }

    /** The version from the ETag (`"3"` → 3), for If-Match. */
    public function version(): ?int
    {
        if ($this->etag !== null && preg_match('/^"(\d+)"$/', $this->etag, $m)) {
            return (int) $m[1];
        }
        return null;
    }
}
