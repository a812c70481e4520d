package io.sessiond;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.math.BigDecimal;
import java.math.BigInteger;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The package-private JSON reader and writer, on their own (no daemon). */
class JsonTest {

    @Test
    void readsEveryKindOfValue() {
        Object v = Json.parse(" {\"s\":\"x\",\"i\":42,\"n\":-7,\"d\":2.5,\"e\":1E3,\"t\":true,\"f\":false,"
                + "\"z\":null,\"a\":[1,[],{}],\"o\":{\"k\":\"v\"}} \n");
        Map<?, ?> m = assertInstanceOf(LinkedHashMap.class, v);
        assertEquals(List.of("s", "i", "n", "d", "e", "t", "f", "z", "a", "o"), new ArrayList<>(m.keySet()), "order kept");
        assertEquals("x", m.get("s"));
        assertEquals(42L, m.get("i"));
        assertEquals(-7L, m.get("n"));
        assertEquals(2.5, m.get("d"));
        assertEquals(1000.0, m.get("e"));
        assertEquals(Boolean.TRUE, m.get("t"));
        assertEquals(Boolean.FALSE, m.get("f"));
        assertTrue(m.containsKey("z"));
        assertNull(m.get("z"));
        assertInstanceOf(ArrayList.class, m.get("a"));
        assertEquals(Arrays.asList(1L, List.of(), Map.of()), m.get("a"));
        assertEquals(Map.of("k", "v"), m.get("o"));
    }

    @Test
    void integersStayExactAcrossTheLongRange() {
        assertEquals(Long.MAX_VALUE, Json.parse("9223372036854775807"));
        assertEquals(Long.MIN_VALUE, Json.parse("-9223372036854775808"));
        assertEquals(new BigInteger("9223372036854775808"), Json.parse("9223372036854775808"));
        assertEquals(new BigInteger("-123456789012345678901234567890"), Json.parse("-123456789012345678901234567890"));
        assertEquals(0L, Json.parse("0"));
        assertEquals(-0.0, Json.parse("-0.0"));
        assertEquals(0.1, Json.parse("0.1"));
        assertEquals(1.5e-7, Json.parse("1.5e-7"));
        assertEquals(new BigDecimal("1e400"), Json.parse("1e400"), "out of double range: BigDecimal, not Infinity");
    }

    @Test
    void readsEscapesAndSurrogatePairs() {
        assertEquals("\"\\/\b\f\n\r\t", Json.parse("\"\\\"\\\\\\/\\b\\f\\n\\r\\t\""));
        assertEquals("é€", Json.parse("\"\\u00e9\\u20AC\""));
        assertEquals("😀", Json.parse("\"\\ud83d\\ude00\""));
        assertEquals("😀 raw", Json.parse("\"😀 raw\""));
        assertEquals("", Json.parse("\"\""));
    }

    @ParameterizedTest
    @ValueSource(strings = {
        "", " ", "{", "}", "[", "[1,]", "[,1]", "{\"a\":1,}", "{,}", "{\"a\" 1}", "{a:1}", "{'a':1}", "{\"a\":1 \"b\":2}",
        "[1 2]", "01", "-", "-01", "1.", ".5", "1e", "1e+", "+1", "0x10", "NaN", "Infinity", "-Infinity",
        "tru", "truex", "nul", "True", "\"abc", "\"a\\x\"", "\"\\u12\"", "\"\\u12G4\"", "\"tab\there\"",
        "\"nl\nhere\"", "\"\\ud800\"", "\"\\udc00\"", "\"\\ud800\\u0041\"", "1 2", "{} {}", "[1]]", "\uFEFF1",
        "{\"a\":1,\"a\":2}", "\u00a01", "\"\\u０１２３\"",
    })
    void refusesWhatRfc8259Refuses(String text) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Json.parse(text), text);
        assertTrue(e.getMessage().startsWith("invalid JSON at offset "), e.getMessage());
    }

    @Test
    void refusesUnpairedSurrogatesInRawText() {
        assertThrows(IllegalArgumentException.class, () -> Json.parse("\"\uD800x\""));
        assertThrows(IllegalArgumentException.class, () -> Json.parse("\"\uDC00\""));
        assertThrows(IllegalArgumentException.class, () -> Json.parse(null));
    }

    @Test
    void limitsNestingSoTheStackNeverOverflows() {
        String ok = "[".repeat(Json.MAX_DEPTH) + "]".repeat(Json.MAX_DEPTH);
        Json.parse(ok);
        String deep = "[".repeat(Json.MAX_DEPTH + 1) + "]".repeat(Json.MAX_DEPTH + 1);
        assertThrows(IllegalArgumentException.class, () -> Json.parse(deep));
        String bomb = "{\"a\":".repeat(100_000);
        assertThrows(IllegalArgumentException.class, () -> Json.parse(bomb));
    }

    @Test
    void writesCompactJson() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("s", "q\"b\\n\n\u0001\u2028/é😀");
        m.put("l", 1L);
        m.put("i", 2);
        m.put("d", 3.0);
        m.put("f", 0.5f);
        m.put("b", false);
        m.put("z", null);
        m.put("a", new Object[] {"x", List.of(1, 2)});
        m.put("big", new BigInteger("123456789012345678901234567890"));
        m.put("dec", new BigDecimal("1.25"));
        assertEquals("{\"s\":\"q\\\"b\\\\n\\n\\u0001\\u2028/é😀\",\"l\":1,\"i\":2,\"d\":3.0,\"f\":0.5,\"b\":false,"
                + "\"z\":null,\"a\":[\"x\",[1,2]],\"big\":123456789012345678901234567890,\"dec\":1.25}", Json.write(m));
    }

    @Test
    void roundTripsWhatItReads() {
        String text = "{\"a\":[1,2.5,-3.0E-5,\"x\\u0000y\",true,null,{\"b\":{}}],\"c\":9223372036854775807}";
        Object v = Json.parse(text);
        assertEquals(v, Json.parse(Json.write(v)));
        assertEquals(3.0, Json.parse(Json.write(3.0)), "a double reads back as a double, not a long");
        assertEquals(1e20, Json.parse(Json.write(1e20)));
    }

    @Test
    void refusesToWriteWhatIsNotJson() {
        assertThrows(IllegalArgumentException.class, () -> Json.write(Double.NaN));
        assertThrows(IllegalArgumentException.class, () -> Json.write(Double.POSITIVE_INFINITY));
        assertThrows(IllegalArgumentException.class, () -> Json.write(Float.NEGATIVE_INFINITY));
        assertThrows(IllegalArgumentException.class, () -> Json.write(Map.of(1, "x")));
        assertThrows(IllegalArgumentException.class, () -> Json.write(new Object()));
        assertThrows(IllegalArgumentException.class, () -> Json.write("\uD800"));
        List<Object> cycle = new ArrayList<>();
        cycle.add(cycle);
        assertThrows(IllegalArgumentException.class, () -> Json.write(cycle));
    }
}
