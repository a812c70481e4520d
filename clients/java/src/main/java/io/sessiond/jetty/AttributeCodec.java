package io.sessiond.jetty;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.NotSerializableException;
import java.io.ObjectOutputStream;
import java.io.Serializable;
import java.io.StreamCorruptedException;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.eclipse.jetty.util.ClassLoadingObjectInputStream;

/**
 * Session attribute values to and from sessiond data values.
 *
 * <p>A value that JSON can carry back as the same Java type is stored as plain JSON, readable by an
 * app in any language: {@link String}, {@link Boolean}, {@link Long}, finite {@link Double}, and
 * {@code ArrayList}s, {@code HashMap}s, {@code LinkedHashMap}s and the JDK's unmodifiable lists and
 * maps ({@code List.of}, {@code Map.of}, {@code Collections.unmodifiable…}) of such values with
 * string keys (they come back as {@code ArrayList} and {@code LinkedHashMap}). Everything else is a
 * one-member tagged object:
 *
 * <ul>
 *   <li>{@code {"$int": 42}}: an {@link Integer} (a bare 42 reads back as a Long);
 *   <li>{@code {"$java": "<base64>"}}: any other {@link Serializable}, Java-serialized, as Jetty's own
 *       stores do;
 *   <li>{@code {"$map": {…}}}: a map that itself has exactly one key starting with {@code $}, escaped
 *       so it is not taken for a tag.
 * </ul>
 *
 * Tags nest: a list of dates is a JSON array of {@code $java} objects.
 */
final class AttributeCodec {
    private static final Base64.Encoder B64 = Base64.getEncoder();
    private static final Base64.Decoder B64D = Base64.getDecoder();

    private AttributeCodec() {
    }

    /** The JSON-ready form of {@code value}; NotSerializableException when it has none. */
    static Object encode(Object value) throws IOException {
        if (value == null || value instanceof String || value instanceof Boolean || value instanceof Long) {
            return value;
        }
        if (value instanceof Double && Double.isFinite((Double) value)) return value;
        if (value instanceof Integer) return Map.of("$int", ((Integer) value).longValue());
        if (value instanceof List && plainList(value.getClass())) {
            List<Object> out = new ArrayList<>();
            for (Object item : (List<?>) value) out.add(encode(item));
            return out;
        }
        if (value instanceof Map && plainMap(value.getClass()) && stringKeys((Map<?, ?>) value)) {
            Map<String, Object> out = new LinkedHashMap<>();
            for (Map.Entry<?, ?> e : ((Map<?, ?>) value).entrySet()) out.put((String) e.getKey(), encode(e.getValue()));
            return looksTagged(out) ? Map.of("$map", out) : out;
        }
        if (!(value instanceof Serializable)) {
            throw new NotSerializableException(value.getClass().getName()
                    + " (session attributes must be JSON values or Serializable)");
        }
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (ObjectOutputStream out = new ObjectOutputStream(bytes)) {
            out.writeObject(value);
        }
        return Map.of("$java", B64.encodeToString(bytes.toByteArray()));
    }

    /**
     * The attribute value of a stored data value. Java-serialized values are resolved with
     * {@code loader} (the web app's). Any damage is an IOException or ClassNotFoundException.
     */
    static Object decode(Object json, ClassLoader loader) throws IOException, ClassNotFoundException {
        if (json instanceof List) {
            List<Object> out = new ArrayList<>();
            for (Object item : (List<?>) json) out.add(decode(item, loader));
            return out;
        }
        if (!(json instanceof Map)) return json;
        Map<?, ?> map = (Map<?, ?>) json;
        if (looksTagged(map)) {
            Map.Entry<?, ?> tag = map.entrySet().iterator().next();
            Object v = tag.getValue();
            switch ((String) tag.getKey()) {
                case "$int":
                    if (v instanceof Long && (Long) v >= Integer.MIN_VALUE && (Long) v <= Integer.MAX_VALUE) {
                        return ((Long) v).intValue();
                    }
                    throw new StreamCorruptedException("$int holds " + v + ", not a 32-bit integer");
                case "$java":
                    if (!(v instanceof String)) throw new StreamCorruptedException("$java holds no base64 string");
                    byte[] bytes;
                    try {
                        bytes = B64D.decode((String) v);
                    } catch (IllegalArgumentException e) {
                        throw new StreamCorruptedException("$java holds invalid base64: " + e.getMessage());
                    }
                    try (ClassLoadingObjectInputStream in = new ClassLoadingObjectInputStream(new ByteArrayInputStream(bytes))) {
                        return in.readObject(loader);
                    }
                case "$map":
                    if (!(v instanceof Map)) throw new StreamCorruptedException("$map holds no object");
                    return decodeEntries((Map<?, ?>) v, loader);
                default:
                    throw new StreamCorruptedException("unknown tag " + tag.getKey());
            }
        }
        return decodeEntries(map, loader);
    }

    private static Map<String, Object> decodeEntries(Map<?, ?> map, ClassLoader loader)
            throws IOException, ClassNotFoundException {
        Map<String, Object> out = new LinkedHashMap<>();
        for (Map.Entry<?, ?> e : map.entrySet()) out.put((String) e.getKey(), decode(e.getValue(), loader));
        return out;
    }

    private static boolean looksTagged(Map<?, ?> map) {
        if (map.size() != 1) return false;
        Object k = map.keySet().iterator().next();
        return k instanceof String && ((String) k).startsWith("$");
    }

    private static boolean stringKeys(Map<?, ?> map) {
        for (Object k : map.keySet()) if (!(k instanceof String)) return false;
        return true;
    }

    /** Lists whose decoded ArrayList is the same class, or serves any cast the original served. */
    private static boolean plainList(Class<?> c) {
        return c == ArrayList.class || jdkUnmodifiable(c) || c.getName().equals("java.util.Arrays$ArrayList");
    }

    private static boolean plainMap(Class<?> c) {
        return c == HashMap.class || c == LinkedHashMap.class || jdkUnmodifiable(c);
    }

    private static boolean jdkUnmodifiable(Class<?> c) {
        String n = c.getName();
        return n.startsWith("java.util.ImmutableCollections$") || n.startsWith("java.util.Collections$Unmodifiable")
                || n.equals("java.util.Collections$EmptyList") || n.equals("java.util.Collections$EmptyMap")
                || n.equals("java.util.Collections$SingletonList") || n.equals("java.util.Collections$SingletonMap");
    }
}
