package io.sessiond.jetty;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.NotSerializableException;
import java.io.Serializable;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.UUID;
import org.junit.jupiter.api.Test;

/** Attribute values to sessiond data values and back. */
class AttributeCodecTest {
    private static final ClassLoader LOADER = AttributeCodecTest.class.getClassLoader();

    /** A user's own Serializable class, as web apps keep in sessions. */
    static final class Cart implements Serializable {
        private static final long serialVersionUID = 1L;
        final List<String> items = new ArrayList<>();

        @Override
        public boolean equals(Object o) {
            return o instanceof Cart && ((Cart) o).items.equals(items);
        }

        @Override
        public int hashCode() {
            return items.hashCode();
        }
    }

    private static Object roundTrip(Object v) throws Exception {
        return AttributeCodec.decode(AttributeCodec.encode(v), LOADER);
    }

    @Test
    void jsonValuesStayPlainJson() throws Exception {
        assertEquals("x", AttributeCodec.encode("x"));
        assertEquals(7L, AttributeCodec.encode(7L));
        assertEquals(2.5, AttributeCodec.encode(2.5));
        assertEquals(true, AttributeCodec.encode(true));
        assertEquals(List.of("a", 1L), AttributeCodec.encode(new ArrayList<>(List.of("a", 1L))));
        assertEquals(Map.of("k", List.of(true)), AttributeCodec.encode(new HashMap<>(Map.of("k", List.of(true)))));
        assertEquals(List.of("a"), AttributeCodec.encode(Collections.unmodifiableList(List.of("a"))));
        assertEquals(List.of("a", "b"), AttributeCodec.encode(Arrays.asList("a", "b")));
    }

    @Test
    void typesRoundTrip() throws Exception {
        assertEquals("é😀", roundTrip("é😀"));
        assertEquals(Long.MAX_VALUE, roundTrip(Long.MAX_VALUE));
        assertEquals(3.0, roundTrip(3.0));
        assertEquals(false, roundTrip(false));
        assertEquals(42, roundTrip(42));
        assertInstanceOf(Integer.class, roundTrip(42), "an Integer stays an Integer");
        assertInstanceOf(Long.class, roundTrip(42L));
        assertEquals(Double.NaN, roundTrip(Double.NaN));
        assertEquals((short) 3, roundTrip((short) 3));
        assertEquals(1.5f, roundTrip(1.5f));
        Instant now = Instant.now();
        assertEquals(now, roundTrip(now));
        UUID uuid = UUID.randomUUID();
        assertEquals(uuid, roundTrip(uuid));
        Cart cart = new Cart();
        cart.items.add("book");
        assertEquals(cart, roundTrip(cart));
        TreeMap<String, Integer> sorted = new TreeMap<>(Map.of("b", 2, "a", 1));
        assertInstanceOf(TreeMap.class, roundTrip(sorted), "a map class JSON would lose is serialized");
        assertArrayEquals(new byte[] {1, 2}, (byte[]) roundTrip(new byte[] {1, 2}));
        Map<Integer, String> intKeys = new HashMap<>(Map.of(1, "one"));
        assertEquals(intKeys, roundTrip(intKeys));
    }

    @Test
    void containersRoundTripWithTaggedElements() throws Exception {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("count", 3);
        m.put("when", Instant.EPOCH);
        m.put("list", new ArrayList<>(Arrays.asList(1, "x", null)));
        Object encoded = AttributeCodec.encode(m);
        Map<?, ?> e = (Map<?, ?>) encoded;
        assertEquals(Map.of("$int", 3L), e.get("count"));
        assertTrue(((Map<?, ?>) e.get("when")).containsKey("$java"));
        assertEquals(Arrays.asList(Map.of("$int", 1L), "x", null), e.get("list"));
        assertEquals(m, AttributeCodec.decode(encoded, LOADER));
    }

    @Test
    void mapsThatLookLikeTagsAreEscaped() throws Exception {
        Map<String, Object> tricky = new HashMap<>(Map.of("$java", "not base64 at all"));
        Object encoded = AttributeCodec.encode(tricky);
        assertEquals(Map.of("$map", Map.of("$java", "not base64 at all")), encoded);
        assertEquals(tricky, AttributeCodec.decode(encoded, LOADER));
        Map<String, Object> nested = new HashMap<>(Map.of("$map", new HashMap<>(Map.of("$int", "x"))));
        assertEquals(nested, roundTrip(nested));
        Map<String, Object> two = new LinkedHashMap<>(Map.of("$a", 1L, "$b", 2L));
        assertEquals(two, AttributeCodec.encode(two), "only one-member maps can be taken for tags");
    }

    @Test
    void valuesWithNoEncodingAreRefused() {
        assertThrows(NotSerializableException.class, () -> AttributeCodec.encode(new Object()));
        assertThrows(NotSerializableException.class, () -> AttributeCodec.encode(new ArrayList<>(List.of(new Object()))));
    }

    @Test
    void damagedValuesAreReadErrors() {
        assertThrows(IOException.class, () -> AttributeCodec.decode(Map.of("$java", "!!!"), LOADER));
        assertThrows(IOException.class, () -> AttributeCodec.decode(Map.of("$java", "AAAA"), LOADER));
        assertThrows(IOException.class, () -> AttributeCodec.decode(Map.of("$java", 5L), LOADER));
        assertThrows(IOException.class, () -> AttributeCodec.decode(Map.of("$int", 1L << 40), LOADER));
        assertThrows(IOException.class, () -> AttributeCodec.decode(Map.of("$int", "1"), LOADER));
        assertThrows(IOException.class, () -> AttributeCodec.decode(Map.of("$map", List.of()), LOADER));
        assertThrows(IOException.class, () -> AttributeCodec.decode(Map.of("$what", 1L), LOADER));
        assertThrows(IOException.class, () -> AttributeCodec.decode(List.of(Map.of("$what", 1L)), LOADER));
    }
}
