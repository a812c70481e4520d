<?php

declare(strict_types=1);

namespace Sessiond;

/**
 * How PHP session data maps onto sessiond data keys. Internal to
 * SessionHandler; public only so it can be tested and reused.
 *
 * Per key (`php_serialize`): each top-level session key is one data key
 * holding its value as JSON. A value JSON cannot carry faithfully (objects,
 * enums, NAN/INF, strings that are not UTF-8, arrays nested deeper than
 * the daemon allows) is stored as its PHP serialization, tagged:
 * `{"$php": "O:3:\"Foo\":…"}` (or `{"$php_base64": "…"}` when that text is
 * not UTF-8). Decoding never instantiates a class (`allowed_classes` is
 * false); PHP's own session decoder builds the objects, as it would from
 * any save handler.
 *
 * Opaque (`php` and other handlers): the whole encoded string is one JSON
 * string, or `{"$php_base64": "…"}` when it is not UTF-8.
 *
 * @internal
 */
final class SessionCodec
{
    public const TAG = '$php';
    public const TAG_BASE64 = '$php_base64';

    private const JSON = JSON_UNESCAPED_SLASHES | JSON_UNESCAPED_UNICODE | JSON_PRESERVE_ZERO_FRACTION
        | JSON_THROW_ON_ERROR;
    /** Array depth kept as JSON: below the daemon's nesting limit (64) with room for the PATCH body around it. */
    private const MAX_JSON_DEPTH = 60;

    /**
     * A `php_serialize` string → data key → JSON text.
     *
     * @return array<string, string>
     * @throws \UnexpectedValueException when the string is not a serialized
     *         array, or a key cannot be a sessiond data key
     */
    public static function encodeSession(string $data): array
    {
        if ($data === '') {
            return [];
        }
        $entries = SerializedText::splitArray($data);
        $whole = null;
        $out = [];
        foreach ($entries as $entry) {
            $key = (string) $entry['key'];
            if (!self::validKey($key)) {
                throw new \UnexpectedValueException(sprintf(
                    'session key %s cannot be a sessiond data key (1-256 bytes of UTF-8, no control characters)',
                    json_encode(substr($key, 0, 64), JSON_INVALID_UTF8_SUBSTITUTE)
                ));
            }
            $text = $entry['text'];
            if ($entry['refs']) {
                // Back-references count from the start of the whole string:
                // take the value from it and serialize it on its own.
                $whole ??= self::unserialize($data);
                $value = $whole[$entry['key']];
                $text = serialize($value);
                $decoded = true;
            } else {
                try {
                    $value = self::unserialize($text);
                    $decoded = true;
                } catch (\UnexpectedValueException) {
                    // e.g. a Serializable object of a class not allowed here: kept as its bytes.
                    $value = null;
                    $decoded = false;
                }
            }
            $out[$key] = $decoded && self::jsonable($value, 0) && !(is_array($value) && self::isTagged($value))
                ? json_encode($value, self::JSON)
                : self::tag($text);
        }
        return $out;
    }

    /** One session value → JSON text (tagged PHP serialization when JSON would lose it). */
    public static function encodeValue(mixed $value): string
    {
        if (self::jsonable($value, 0) && !(is_array($value) && self::isTagged($value))) {
            return json_encode($value, self::JSON);
        }
        return self::tag(serialize($value));
    }

    private static function tag(string $serialized): string
    {
        return self::utf8($serialized)
            ? json_encode([self::TAG => $serialized], self::JSON)
            : json_encode([self::TAG_BASE64 => base64_encode($serialized)], self::JSON);
    }

    /**
     * sessiond data (decoded JSON) → the `php_serialize` string PHP decodes.
     * Tagged values go back byte for byte, spliced in by hand; only when one
     * holds back-references (whose numbers would shift) is the array built
     * from values, unserialized without classes, and serialized again.
     *
     * @param array<int|string, mixed> $data
     */
    public static function decodeSession(array $data): string
    {
        $texts = [];
        $spliceable = true;
        foreach ($data as $key => $value) {
            $texts[$key] = self::decodeValue($value, $refs);
            $spliceable = $spliceable && !$refs;
        }
        if (!$spliceable) {
            $values = [];
            foreach ($texts as $key => $text) {
                try {
                    $values[$key] = self::unserialize($text);
                } catch (\UnexpectedValueException) {
                    $values[$key] = $data[$key];
                }
            }
            return serialize($values);
        }
        $out = 'a:' . count($texts) . ':{';
        foreach ($texts as $key => $text) {
            $out .= (is_int($key) ? "i:$key;" : serialize((string) $key)) . $text;
        }
        return $out . '}';
    }

    /** The serialized text of one stored value. */
    private static function decodeValue(mixed $value, ?bool &$refs): string
    {
        $refs = false;
        if (is_array($value) && self::isTagged($value)) {
            $text = isset($value[self::TAG]) ? $value[self::TAG] : base64_decode($value[self::TAG_BASE64], true);
            // Only well-formed serialized text is spliced in: a malformed one
            // (another writer's) would make PHP drop the whole session.
            if (is_string($text) && SerializedText::isValue($text, $refs)) {
                return $text;
            }
            $refs = false;
        }
        return serialize($value);
    }

    /** An opaque session string → JSON text. */
    public static function encodeOpaque(string $data): string
    {
        return self::utf8($data)
            ? json_encode($data, self::JSON)
            : json_encode([self::TAG_BASE64 => base64_encode($data)], self::JSON);
    }

    /** A stored opaque value (decoded JSON) → the session string; anything else reads as empty. */
    public static function decodeOpaque(mixed $value): string
    {
        if (is_string($value)) {
            return $value;
        }
        if (is_array($value) && isset($value[self::TAG_BASE64]) && is_string($value[self::TAG_BASE64])) {
            $raw = base64_decode($value[self::TAG_BASE64], true);
            return $raw === false ? '' : $raw;
        }
        return '';
    }

    /** sessiond's rule for data keys. */
    public static function validKey(string $key): bool
    {
        return $key !== '' && strlen($key) <= 256 && self::utf8($key)
            && !preg_match('/[\x00-\x1f\x7f]/', $key);
    }

    /** PCRE's check, so ext-mbstring is not needed. */
    private static function utf8(string $s): bool
    {
        return preg_match('//u', $s) === 1;
    }

    /** Unserializes without instantiating any class; any warning counts as malformed. */
    private static function unserialize(string $text): mixed
    {
        set_error_handler(static function (int $no, string $msg): bool {
            throw new \UnexpectedValueException("session data cannot be decoded: $msg");
        });
        try {
            $v = unserialize($text, ['allowed_classes' => false]);
        } finally {
            restore_error_handler();
        }
        if ($v === false && $text !== 'b:0;') {
            throw new \UnexpectedValueException('session data cannot be decoded');
        }
        return $v;
    }

    private static function isTagged(array $value): bool
    {
        if (count($value) !== 1) {
            return false;
        }
        return (isset($value[self::TAG]) && is_string($value[self::TAG]))
            || (isset($value[self::TAG_BASE64]) && is_string($value[self::TAG_BASE64]));
    }

    private static function jsonable(mixed $v, int $depth): bool
    {
        if ($v === null || is_bool($v) || is_int($v)) {
            return true;
        }
        if (is_float($v)) {
            return is_finite($v);
        }
        if (is_string($v)) {
            return self::utf8($v);
        }
        if (is_array($v)) {
            if ($depth >= self::MAX_JSON_DEPTH) {
                return false;
            }
            foreach ($v as $k => $item) {
                if ((is_string($k) && !self::utf8($k)) || !self::jsonable($item, $depth + 1)) {
                    return false;
                }
            }
            return true;
        }
        return false;
    }
}
