<?php

declare(strict_types=1);

namespace Sessiond;

/**
 * A reader of PHP's serialize() format that only finds where values start
 * and end: it never builds a value, so it cannot instantiate a class, and it
 * gives each session key's exact bytes (re-serializing an incomplete class
 * is not always byte-exact, e.g. ArrayObject's integer keys).
 *
 * @internal
 */
final class SerializedText
{
    /**
     * Splits a serialized array into its entries.
     *
     * @return list<array{key: int|string, text: string, refs: bool}> `refs`: the
     *         value holds r:/R: back-references, whose numbers count from the
     *         start of the whole string, so its text is not valid on its own
     * @throws \UnexpectedValueException when `$s` is not one well-formed serialized array
     */
    public static function splitArray(string $s): array
    {
        $pos = 0;
        if (!str_starts_with($s, 'a:')) {
            throw new \UnexpectedValueException('session data is not a serialized array');
        }
        $pos = 2;
        $n = self::int($s, $pos, ':');
        self::expect($s, $pos, '{');
        $out = [];
        for ($i = 0; $i < $n; $i++) {
            $keyStart = $pos;
            $kind = $s[$pos] ?? '';
            if ($kind !== 'i' && $kind !== 's') {
                throw new \UnexpectedValueException("array key at byte $pos is neither i: nor s:");
            }
            $refs = false;
            self::skip($s, $pos, $refs);
            $key = $kind === 'i'
                ? (int) substr($s, $keyStart + 2, $pos - $keyStart - 3)
                : self::stringBody(substr($s, $keyStart, $pos - $keyStart));
            $valueStart = $pos;
            $refs = false;
            self::skip($s, $pos, $refs);
            $out[] = ['key' => $key, 'text' => substr($s, $valueStart, $pos - $valueStart), 'refs' => $refs];
        }
        self::expect($s, $pos, '}');
        if ($pos !== strlen($s)) {
            throw new \UnexpectedValueException("trailing bytes after the serialized array at byte $pos");
        }
        return $out;
    }

    /** Whether `$s` is exactly one well-formed value; `$refs` says whether it holds back-references. */
    public static function isValue(string $s, ?bool &$refs = null): bool
    {
        $refs = false;
        $pos = 0;
        try {
            self::skip($s, $pos, $refs);
        } catch (\UnexpectedValueException) {
            return false;
        }
        return $pos === strlen($s);
    }

    private static function skip(string $s, int &$pos, bool &$refs, int $depth = 0): void
    {
        if ($depth > 512) {
            throw new \UnexpectedValueException('serialized data nested too deep');
        }
        $kind = $s[$pos] ?? '';
        switch ($kind) {
            case 'N':
                $pos++;
                self::expect($s, $pos, ';');
                return;
            case 'b':
            case 'i':
            case 'd':
            case 'r':
            case 'R':
                if ($kind === 'r' || $kind === 'R') {
                    $refs = true;
                }
                $pos++;
                self::expect($s, $pos, ':');
                $end = strpos($s, ';', $pos);
                if ($end === false || !preg_match('/^[-+0-9.eEINAF]+$/D', substr($s, $pos, $end - $pos))) {
                    throw new \UnexpectedValueException("malformed $kind: at byte $pos");
                }
                $pos = $end + 1;
                return;
            case 's':
                $pos++;
                self::expect($s, $pos, ':');
                self::quoted($s, $pos);
                self::expect($s, $pos, ';');
                return;
            case 'E':
                $pos++;
                self::expect($s, $pos, ':');
                self::quoted($s, $pos);
                self::expect($s, $pos, ';');
                return;
            case 'a':
                $pos++;
                self::expect($s, $pos, ':');
                $n = self::int($s, $pos, ':');
                self::expect($s, $pos, '{');
                for ($i = 0; $i < 2 * $n; $i++) {
                    self::skip($s, $pos, $refs, $depth + 1);
                }
                self::expect($s, $pos, '}');
                return;
            case 'O':
            case 'C':
                $pos++;
                self::expect($s, $pos, ':');
                self::quoted($s, $pos);
                self::expect($s, $pos, ':');
                $n = self::int($s, $pos, ':');
                self::expect($s, $pos, '{');
                if ($kind === 'C') {
                    // Serializable::serialize()'s own bytes.
                    if ($pos + $n > strlen($s)) {
                        throw new \UnexpectedValueException("truncated C: payload at byte $pos");
                    }
                    $pos += $n;
                } else {
                    for ($i = 0; $i < 2 * $n; $i++) {
                        self::skip($s, $pos, $refs, $depth + 1);
                    }
                }
                self::expect($s, $pos, '}');
                return;
            default:
                throw new \UnexpectedValueException("unexpected '$kind' at byte $pos");
        }
    }

    /** `LEN:"bytes"` */
    private static function quoted(string $s, int &$pos): void
    {
        $len = self::int($s, $pos, ':');
        self::expect($s, $pos, '"');
        if ($pos + $len > strlen($s)) {
            throw new \UnexpectedValueException("truncated string at byte $pos");
        }
        $pos += $len;
        self::expect($s, $pos, '"');
    }

    private static function int(string $s, int &$pos, string $then): int
    {
        $end = strpos($s, $then, $pos);
        $digits = $end === false ? '' : substr($s, $pos, $end - $pos);
        if (!preg_match('/^[0-9]{1,18}$/D', $digits)) {
            throw new \UnexpectedValueException("expected a length at byte $pos");
        }
        $pos = $end + 1;
        return (int) $digits;
    }

    private static function expect(string $s, int &$pos, string $char): void
    {
        if (($s[$pos] ?? '') !== $char) {
            throw new \UnexpectedValueException("expected '$char' at byte $pos");
        }
        $pos++;
    }

    /** The bytes of a whole `s:LEN:"…";` token. */
    private static function stringBody(string $token): string
    {
        $colon = strpos($token, ':', 2);
        return substr($token, $colon + 2, -2);
    }
}
