/* codec_canonical.c — the schema side of the Avro codec: Parsing Canonical Form (PCF) and the
 * CRC-64-AVRO fingerprint, both as the Avro specification defines them ("Parsing Canonical
 * Form for Schemas" and "Schema Fingerprints").
 *
 * The fingerprint in every message header is the CRC-64-AVRO of the writer schema's PCF, so
 * these two functions decide whether any other Avro implementation can recognise our
 * messages. They are written here on top of jansson rather than taken from avro-c because
 * avro-c has no PCF. This file knows nothing about our three record types; codec.c does.
 * Not thread-hostile: no shared state. */
#include "codec.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

/* The spec's fingerprint of the empty input, and the polynomial (reflected) of CRC-64-AVRO. */
#define CODEC_CRC64_AVRO_EMPTY UINT64_C(0xc15d213aa4d7a795)

uint64_t codec_crc64_avro(const void *data, size_t length)
{
    /* Why bit by bit and not the spec's 256-entry table: the codec fingerprints three small
     * schemas once at start-up, so speed does not matter, and a table would be shared state
     * to initialise. This loop is the spec's table construction applied to each byte. */
    const uint8_t *bytes = data;
    uint64_t fingerprint = CODEC_CRC64_AVRO_EMPTY;
    for (size_t index = 0; index < length; index++) {
        uint64_t entry = (fingerprint ^ bytes[index]) & 0xff;
        for (int bit = 0; bit < 8; bit++) {
            entry = (entry >> 1) ^ (CODEC_CRC64_AVRO_EMPTY & (0 - (entry & 1)));
        }
        fingerprint = (fingerprint >> 8) ^ entry;
    }
    return fingerprint;
}

static const char *const codec_primitive_names[] = {
    "null", "boolean", "int", "long", "float", "double", "bytes", "string",
};

static bool codec_is_primitive(const char *name)
{
    for (size_t index = 0; index < sizeof codec_primitive_names / sizeof *codec_primitive_names;
         index++) {
        if (strcmp(name, codec_primitive_names[index]) == 0) {
            return true;
        }
    }
    return false;
}

/* An Avro name part: [A-Za-z_][A-Za-z0-9_]*. */
static bool codec_is_valid_name_part(const char *start, size_t length)
{
    if (length == 0) {
        return false;
    }
    for (size_t index = 0; index < length; index++) {
        char character = start[index];
        bool letter = (character >= 'A' && character <= 'Z') ||
                      (character >= 'a' && character <= 'z') || character == '_';
        bool digit = character >= '0' && character <= '9';
        if (!letter && !(digit && index > 0)) {
            return false;
        }
    }
    return true;
}

/* A full name or namespace: name parts joined by dots. An empty namespace is allowed by the
 * caller where the spec allows it (the null namespace). */
static bool codec_is_valid_dotted_name(const char *name)
{
    const char *part = name;
    for (;;) {
        const char *dot = strchr(part, '.');
        size_t length = dot ? (size_t)(dot - part) : strlen(part);
        if (!codec_is_valid_name_part(part, length)) {
            return false;
        }
        if (!dot) {
            return true;
        }
        part = dot + 1;
    }
}

/* "namespace.name", or just "name" in the null namespace. malloc'd; NULL when out of memory. */
static char *codec_join_name(const char *namespace_name, const char *name)
{
    size_t namespace_length = strlen(namespace_name);
    size_t name_length = strlen(name);
    char *full_name = malloc(namespace_length + 1 + name_length + 1);
    if (!full_name) {
        return NULL;
    }
    if (namespace_length == 0) {
        memcpy(full_name, name, name_length + 1);
    } else {
        memcpy(full_name, namespace_name, namespace_length);
        full_name[namespace_length] = '.';
        memcpy(full_name + namespace_length + 1, name, name_length + 1);
    }
    return full_name;
}

/* A reference to a named type, resolved as the spec's [FULLNAMES] rule says: a name with a dot
 * is already full, otherwise it lives in the enclosing namespace. Returns a new JSON string, or
 * NULL if the name is malformed or names no type defined earlier in the schema. */
static json_t *codec_canonical_reference(const char *name, const char *enclosing_namespace,
                                         json_t *defined_names)
{
    if (!codec_is_valid_dotted_name(name)) {
        return NULL;
    }
    char *full_name = strchr(name, '.') ? strdup(name) : codec_join_name(enclosing_namespace, name);
    if (!full_name) {
        return NULL;
    }
    json_t *result = json_object_get(defined_names, full_name) ? json_string(full_name) : NULL;
    free(full_name);
    return result;
}

static json_t *codec_canonical_schema(json_t *schema, const char *enclosing_namespace,
                                      json_t *defined_names);

/* Resolves a named type's definition (record, enum, fixed): its full name goes into *full_name
 * (malloc'd) and the namespace its children inherit into *child_namespace (malloc'd). The name
 * is registered as defined so later references, and recursive ones inside a record, resolve.
 * false on a malformed or duplicate name, or out of memory; then nothing is left to free. */
static bool codec_define_name(json_t *schema, const char *enclosing_namespace,
                              json_t *defined_names, char **full_name, char **child_namespace)
{
    *full_name = NULL;
    *child_namespace = NULL;
    const char *name = json_string_value(json_object_get(schema, "name"));
    if (!name || !codec_is_valid_dotted_name(name)) {
        return false;
    }
    if (strchr(name, '.')) {
        *full_name = strdup(name);
    } else {
        json_t *namespace_value = json_object_get(schema, "namespace");
        const char *namespace_name = enclosing_namespace;
        if (namespace_value) {
            namespace_name = json_string_value(namespace_value);
            if (!namespace_name ||
                (namespace_name[0] != '\0' && !codec_is_valid_dotted_name(namespace_name))) {
                return false;
            }
        }
        *full_name = codec_join_name(namespace_name, name);
    }
    if (!*full_name) {
        return false;
    }
    const char *last_dot = strrchr(*full_name, '.');
    *child_namespace = last_dot ? strndup(*full_name, (size_t)(last_dot - *full_name)) : strdup("");
    if (!*child_namespace || json_object_get(defined_names, *full_name) ||
        json_object_set_new(defined_names, *full_name, json_true()) != 0) {
        free(*full_name);
        free(*child_namespace);
        *full_name = NULL;
        *child_namespace = NULL;
        return false;
    }
    return true;
}

/* Why json_pack with "o" below: jansson (2.11 and later) releases a value passed with "o" even
 * when packing fails, and json_array_append_new releases it on failure too, so every child is
 * owned by exactly one parent or released, on every path, without per-branch cleanup. Objects
 * are packed in the spec's [ORDER] (name, type, fields, symbols, items, values, size) and
 * jansson keeps insertion order. A NULL child makes json_pack fail ("NULL object"). */

static json_t *codec_canonical_record(json_t *schema, const char *type, const char *full_name,
                                      const char *child_namespace, json_t *defined_names)
{
    json_t *fields = json_object_get(schema, "fields");
    json_t *canonical_fields = json_is_array(fields) ? json_array() : NULL;
    if (!canonical_fields) {
        return NULL;
    }
    size_t index;
    json_t *field;
    json_array_foreach(fields, index, field)
    {
        const char *field_name = json_string_value(json_object_get(field, "name"));
        json_t *field_type = json_object_get(field, "type");
        if (!field_name || !codec_is_valid_name_part(field_name, strlen(field_name)) ||
            !field_type) {
            json_decref(canonical_fields);
            return NULL;
        }
        json_t *canonical_field =
            json_pack("{s:s, s:o}", "name", field_name, "type",
                      codec_canonical_schema(field_type, child_namespace, defined_names));
        if (json_array_append_new(canonical_fields, canonical_field) != 0) {
            json_decref(canonical_fields);
            return NULL;
        }
    }
    return json_pack("{s:s, s:s, s:o}", "name", full_name, "type", type, "fields",
                     canonical_fields);
}

static json_t *codec_canonical_enum(json_t *schema, const char *full_name)
{
    json_t *symbols = json_object_get(schema, "symbols");
    json_t *canonical_symbols = json_is_array(symbols) ? json_array() : NULL;
    if (!canonical_symbols) {
        return NULL;
    }
    size_t index;
    json_t *symbol;
    json_array_foreach(symbols, index, symbol)
    {
        const char *text = json_string_value(symbol);
        if (!text || !codec_is_valid_name_part(text, strlen(text)) ||
            json_array_append_new(canonical_symbols, json_string(text)) != 0) {
            json_decref(canonical_symbols);
            return NULL;
        }
    }
    return json_pack("{s:s, s:s, s:o}", "name", full_name, "type", "enum", "symbols",
                     canonical_symbols);
}

static json_t *codec_canonical_fixed(json_t *schema, const char *full_name)
{
    json_t *size = json_object_get(schema, "size");
    if (!json_is_integer(size) || json_integer_value(size) < 0) {
        return NULL;
    }
    return json_pack("{s:s, s:s, s:I}", "name", full_name, "type", "fixed", "size",
                     json_integer_value(size));
}

/* array and map: {"type": ..., "items"/"values": canonical child}. */
static json_t *codec_canonical_container(json_t *schema, const char *type, const char *child_key,
                                         const char *enclosing_namespace, json_t *defined_names)
{
    json_t *child = json_object_get(schema, child_key);
    if (!child) {
        return NULL;
    }
    return json_pack("{s:s, s:o}", "type", type, child_key,
                     codec_canonical_schema(child, enclosing_namespace, defined_names));
}

/* A schema given as a JSON object: {"type": "...", ...attributes}. */
static json_t *codec_canonical_object(json_t *schema, const char *enclosing_namespace,
                                      json_t *defined_names)
{
    const char *type = json_string_value(json_object_get(schema, "type"));
    if (!type) {
        return NULL;
    }
    /* [PRIMITIVES] and [STRIP]: {"type":"long","logicalType":...} is just "long". */
    if (codec_is_primitive(type)) {
        return json_string(type);
    }
    if (strcmp(type, "array") == 0) {
        return codec_canonical_container(schema, "array", "items", enclosing_namespace,
                                         defined_names);
    }
    if (strcmp(type, "map") == 0) {
        return codec_canonical_container(schema, "map", "values", enclosing_namespace,
                                         defined_names);
    }
    bool is_record = strcmp(type, "record") == 0 || strcmp(type, "error") == 0;
    if (!is_record && strcmp(type, "enum") != 0 && strcmp(type, "fixed") != 0) {
        /* {"type": "SomeName"}: a reference to a named type, written as an object. */
        return codec_canonical_reference(type, enclosing_namespace, defined_names);
    }
    char *full_name;
    char *child_namespace;
    if (!codec_define_name(schema, enclosing_namespace, defined_names, &full_name,
                           &child_namespace)) {
        return NULL;
    }
    json_t *result;
    if (is_record) {
        result = codec_canonical_record(schema, type, full_name, child_namespace, defined_names);
    } else if (strcmp(type, "enum") == 0) {
        result = codec_canonical_enum(schema, full_name);
    } else {
        result = codec_canonical_fixed(schema, full_name);
    }
    free(full_name);
    free(child_namespace);
    return result;
}

/* Returns a new JSON value: the canonical form of one schema node, or NULL if it is not a
 * valid schema (or memory ran out). defined_names is an object used as the set of full names
 * defined so far, in document order, as the spec requires for references. */
static json_t *codec_canonical_schema(json_t *schema, const char *enclosing_namespace,
                                      json_t *defined_names)
{
    if (json_is_string(schema)) {
        const char *name = json_string_value(schema);
        if (codec_is_primitive(name)) {
            return json_string(name);
        }
        return codec_canonical_reference(name, enclosing_namespace, defined_names);
    }
    if (json_is_array(schema)) {
        /* A union: each branch in canonical form, order kept (it is part of the encoding). */
        json_t *result = json_array();
        size_t index;
        json_t *branch;
        json_array_foreach(schema, index, branch)
        {
            json_t *canonical_branch =
                result ? codec_canonical_schema(branch, enclosing_namespace, defined_names) : NULL;
            if (!canonical_branch || json_array_append_new(result, canonical_branch) != 0) {
                json_decref(result);
                return NULL;
            }
        }
        return result;
    }
    if (json_is_object(schema)) {
        return codec_canonical_object(schema, enclosing_namespace, defined_names);
    }
    return NULL;
}

char *codec_parsing_canonical_form(const char *schema_json)
{
    if (!schema_json) {
        return NULL;
    }
    json_error_t parse_error;
    json_t *schema =
        json_loads(schema_json, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &parse_error);
    if (!schema) {
        return NULL;
    }
    json_t *defined_names = json_object();
    json_t *canonical = defined_names ? codec_canonical_schema(schema, "", defined_names) : NULL;
    /* [ORDER] holds because every object above is built in canonical attribute order and
     * jansson keeps insertion order; JSON_COMPACT gives [WHITESPACE]; jansson writes non-ASCII
     * as raw UTF-8 and never quotes integers, which is [STRINGS] and [INTEGERS]. */
    char *text = canonical
                     ? json_dumps(canonical, JSON_COMPACT | JSON_ENCODE_ANY | JSON_PRESERVE_ORDER)
                     : NULL;
    json_decref(canonical);
    json_decref(defined_names);
    json_decref(schema);
    return text;
}
