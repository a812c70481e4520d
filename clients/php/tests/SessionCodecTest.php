<?php

declare(strict_types=1);

namespace Sessiond\Tests;

use Sessiond\SessionCodec;

final class CodecProbe
{
    public int $n = 7;
    protected string $bin = "\xff\x00";
    private array $list = [1, 2];
}

final class WakeProbe
{
    public static int $woken = 0;

    public function __wakeup(): void
    {
        self::$woken++;
    }
}

enum CodecSuit: string
{
    case Hearts = 'h';
}

/** The php_serialize ↔ data-key mapping, without a daemon. */
final class SessionCodecTest extends TestCase
{
    public function testJsonValuesBecomeJson(): void
    {
        $session = [
            'n' => 1, 'f' => 1.0, 'g' => 0.1, 's' => 'héllo/"', 'b' => false, 'z' => null,
            'list' => [1, 2, 3], 'map' => ['x' => ['y' => []]], 'sparse' => [5 => 'a', 9 => 'b'],
            7 => 'int key', 'big' => PHP_INT_MAX,
        ];
        $keys = SessionCodec::encodeSession(serialize($session));
        self::assertSame([
            'n' => '1', 'f' => '1.0', 'g' => '0.1', 's' => '"héllo/\""', 'b' => 'false', 'z' => 'null',
            'list' => '[1,2,3]', 'map' => '{"x":{"y":[]}}', 'sparse' => '{"5":"a","9":"b"}',
            '7' => '"int key"', 'big' => (string) PHP_INT_MAX,
        ], $keys);
        self::assertSame(serialize($session), SessionCodec::decodeSession(self::decode($keys)));
    }

    public function testValuesJsonCannotCarryAreTaggedSerializations(): void
    {
        $session = [
            'obj' => new CodecProbe(), 'enum' => CodecSuit::Hearts, 'inf' => INF, 'nan' => NAN,
            'bin' => "\xff\xfe", 'nested' => ['ok' => 1, 'o' => new \ArrayObject([1])],
        ];
        $text = serialize($session);
        $keys = SessionCodec::encodeSession($text);
        self::assertSame(['$php' => serialize(CodecSuit::Hearts)], json_decode($keys['enum'], true));
        self::assertArrayHasKey('$php_base64', json_decode($keys['obj'], true), 'its serialization holds a NUL/0xff byte');
        self::assertSame(['$php' => 'd:INF;'], json_decode($keys['inf'], true));
        self::assertSame(['$php_base64' => base64_encode(serialize("\xff\xfe"))], json_decode($keys['bin'], true));
        self::assertArrayHasKey('$php', json_decode($keys['nested'], true));
        // Byte for byte back, though nothing was instantiated on the way.
        self::assertSame($text, SessionCodec::decodeSession(self::decode($keys)));
    }

    public function testAnArrayThatLooksTaggedIsTaggedItself(): void
    {
        $session = ['trap' => ['$php' => 'O:8:"stdClass":0:{}'], 'trap2' => ['$php_base64' => 'eA==']];
        $keys = SessionCodec::encodeSession(serialize($session));
        self::assertSame(serialize($session), SessionCodec::decodeSession(self::decode($keys)));
    }

    public function testMalformedTagsFromOtherWritersReadAsPlainValues(): void
    {
        $data = ['x' => ['$php' => 'not serialized'], 'y' => ['$php_base64' => '!!!']];
        self::assertSame(serialize($data), SessionCodec::decodeSession($data));
    }

    public function testSerializableObjectsAreKeptAsTheirBytes(): void
    {
        $text = 'a:2:{s:1:"c";C:3:"Foo":2:{zz}s:1:"n";i:1;}';
        $keys = SessionCodec::encodeSession($text);
        self::assertSame(['$php' => 'C:3:"Foo":2:{zz}'], json_decode($keys['c'], true));
        self::assertSame($text, SessionCodec::decodeSession(self::decode($keys)));
    }

    public function testReferencesBecomeCopiesButStayValid(): void
    {
        $shared = new \stdClass();
        $shared->v = 1;
        $inner = new \stdClass();
        $session = ['a' => $shared, 'b' => $shared, 'c' => [$inner, $inner], 'n' => 2];
        $keys = SessionCodec::encodeSession(serialize($session));
        $back = unserialize(SessionCodec::decodeSession(self::decode($keys)));
        self::assertEquals($shared, $back['a']);
        self::assertEquals($shared, $back['b']);
        self::assertNotSame($back['a'], $back['b'], 'identity across keys is not kept');
        self::assertSame($back['c'][0], $back['c'][1], 'identity within one key is');
        self::assertSame(2, $back['n']);
    }

    public function testDecodingNeverInstantiates(): void
    {
        WakeProbe::$woken = 0;
        $keys = SessionCodec::encodeSession(serialize(['o' => new WakeProbe(), 'list' => [new WakeProbe()]]));
        SessionCodec::decodeSession(self::decode($keys));
        self::assertSame(0, WakeProbe::$woken);
        self::assertArrayHasKey('$php', json_decode($keys['o'], true));
    }

    public function testKeysSessiondCannotHoldAreRefused(): void
    {
        foreach (['', str_repeat('k', 257), "tab\there", "\xff"] as $bad) {
            try {
                SessionCodec::encodeSession(serialize([$bad => 1]));
                self::fail('key ' . json_encode($bad, JSON_INVALID_UTF8_SUBSTITUTE) . ' must be refused');
            } catch (\UnexpectedValueException) {
                $this->addToAssertionCount(1);
            }
        }
    }

    public function testDataThatIsNotASerializedArrayIsRefused(): void
    {
        foreach (['a|i:1;', 's:1:"x";', 'a:1:{s:1:"c";i:1;', 'a:2:{s:1:"c";i:1;}', 'a:1:{s:1:"c";s:5:"ab";}'] as $bad) {
            try {
                SessionCodec::encodeSession($bad);
                self::fail("'$bad' must be refused");
            } catch (\UnexpectedValueException) {
                $this->addToAssertionCount(1);
            }
        }
        self::assertSame([], SessionCodec::encodeSession(''));
        self::assertSame([], SessionCodec::encodeSession('a:0:{}'));
    }

    public function testOpaqueValues(): void
    {
        self::assertSame('"a|i:1;"', SessionCodec::encodeOpaque('a|i:1;'));
        self::assertSame('a|i:1;', SessionCodec::decodeOpaque('a|i:1;'));
        $bin = "b|s:2:\"\xff\x00\";";
        self::assertSame($bin, SessionCodec::decodeOpaque(json_decode(SessionCodec::encodeOpaque($bin), true)));
        self::assertSame('', SessionCodec::decodeOpaque(null));
        self::assertSame('', SessionCodec::decodeOpaque(['other' => 1]));
    }

    /** What the daemon would hand back: each stored JSON text, decoded. */
    private static function decode(array $keys): array
    {
        $out = [];
        foreach ($keys as $k => $json) {
            $out[$k] = json_decode($json, true, 512, JSON_BIGINT_AS_STRING | JSON_THROW_ON_ERROR);
        }
        return $out;
    }
}
