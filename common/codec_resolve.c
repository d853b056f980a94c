/* codec_resolve.c — Avro schema resolution, planned once per schema version at codec_init
 * (Avro specification, "Schema Resolution"): which member each field the writer wrote fills,
 * which writer fields are skipped and how, which members take the reader schema's default,
 * and how enum symbols map. codec.c runs the plans; this file only builds them, from the
 * schemas' text, so nothing here is on the per-record path.
 *
 * What resolves (everything a FULL_TRANSITIVE-compatible evolution of our schemas needs): a
 * field added or removed (with a default), int promoted to long, string read from bytes, a
 * value read into a ["null", T] union, a union whose branches are null and T, enum symbols
 * matched by name with the reader enum's default for an unknown one. Anything else is refused
 * here with a reason, never guessed at run time. */
#include "codec_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Deeper nesting than this in a field we skip is refused (and recursive types end here). */
#define CODEC_SKIP_MAX_DEPTH 16

/* Named types of the writer's canonical form, by full name: references are plain strings. */
static json_t *codec_named_type(json_t *type, json_t *names)
{
    if (json_is_string(type)) {
        json_t *named = json_object_get(names, json_string_value(type));
        return named ? named : type;
    }
    return type;
}

static void codec_collect_names(json_t *type, json_t *names)
{
    if (json_is_array(type)) {
        size_t index;
        json_t *branch;
        json_array_foreach(type, index, branch)
        {
            codec_collect_names(branch, names);
        }
        return;
    }
    if (!json_is_object(type)) {
        return;
    }
    const char *name = json_string_value(json_object_get(type, "name"));
    if (name) {
        json_object_set(names, name, type);
    }
    json_t *fields = json_object_get(type, "fields");
    size_t index;
    json_t *field;
    json_array_foreach(fields, index, field)
    {
        codec_collect_names(json_object_get(field, "type"), names);
    }
    codec_collect_names(json_object_get(type, "items"), names);
    codec_collect_names(json_object_get(type, "values"), names);
}

static void codec_skip_free(codec_skip *skip)
{
    for (size_t index = 0; index < skip->child_count; index++) {
        codec_skip_free(&skip->children[index]);
    }
    free(skip->children);
    memset(skip, 0, sizeof *skip);
}

static bool codec_skip_compile(json_t *type, json_t *names, int depth, codec_skip *out);

static bool codec_skip_compile_children(json_t *types, json_t *names, int depth, codec_skip *out)
{
    out->child_count = json_array_size(types);
    out->children = calloc(out->child_count ? out->child_count : 1, sizeof *out->children);
    if (!out->children) {
        return false;
    }
    for (size_t index = 0; index < out->child_count; index++) {
        if (!codec_skip_compile(json_array_get(types, index), names, depth + 1,
                                &out->children[index])) {
            return false;
        }
    }
    return true;
}

/* Compiles how to step over one value of `type`; false (out partly built: free it) when the
 * type is malformed or nests deeper than CODEC_SKIP_MAX_DEPTH. */
static bool codec_skip_compile(json_t *type, json_t *names, int depth, codec_skip *out)
{
    static const struct {
        const char *name;
        codec_skip_kind kind;
    } primitives[] = {
        {"null", CODEC_SKIP_NULL},   {"boolean", CODEC_SKIP_BOOLEAN}, {"int", CODEC_SKIP_VARINT},
        {"long", CODEC_SKIP_VARINT}, {"float", CODEC_SKIP_FLOAT},     {"double", CODEC_SKIP_DOUBLE},
        {"bytes", CODEC_SKIP_BYTES}, {"string", CODEC_SKIP_BYTES},
    };
    memset(out, 0, sizeof *out);
    if (depth > CODEC_SKIP_MAX_DEPTH) {
        return false;
    }
    type = codec_named_type(type, names);
    if (json_is_string(type)) {
        for (size_t index = 0; index < sizeof primitives / sizeof *primitives; index++) {
            if (strcmp(json_string_value(type), primitives[index].name) == 0) {
                out->kind = primitives[index].kind;
                return true;
            }
        }
        return false;
    }
    if (json_is_array(type)) {
        out->kind = CODEC_SKIP_UNION;
        return codec_skip_compile_children(type, names, depth, out);
    }
    const char *kind = json_string_value(json_object_get(type, "type"));
    if (!kind) {
        return false;
    }
    if (strcmp(kind, "enum") == 0) {
        out->kind = CODEC_SKIP_VARINT;
        return true;
    }
    if (strcmp(kind, "fixed") == 0) {
        out->kind = CODEC_SKIP_FIXED;
        out->size = (size_t)json_integer_value(json_object_get(type, "size"));
        return true;
    }
    if (strcmp(kind, "record") == 0 || strcmp(kind, "error") == 0) {
        json_t *types = json_array();
        size_t index;
        json_t *field;
        json_array_foreach(json_object_get(type, "fields"), index, field)
        {
            json_array_append(types, json_object_get(field, "type"));
        }
        out->kind = CODEC_SKIP_RECORD;
        bool ok = codec_skip_compile_children(types, names, depth, out);
        json_decref(types);
        return ok;
    }
    bool is_array = strcmp(kind, "array") == 0;
    if (!is_array && strcmp(kind, "map") != 0) {
        return false;
    }
    out->kind = is_array ? CODEC_SKIP_ARRAY : CODEC_SKIP_MAP;
    out->child_count = 1;
    out->children = calloc(1, sizeof *out->children);
    return out->children && codec_skip_compile(json_object_get(type, is_array ? "items" : "values"),
                                               names, depth + 1, out->children);
}

static bool codec_is_type_named(json_t *type, const char *name)
{
    return json_is_string(type) && strcmp(json_string_value(type), name) == 0;
}

/* The Avro type a member's value has on the wire, ignoring nullability. */
static const char *codec_value_type_name(codec_field_kind kind)
{
    switch (kind) {
    case CODEC_FIELD_STRING:
    case CODEC_FIELD_NULLABLE_STRING:
        return "string";
    case CODEC_FIELD_LONG:
        return "long";
    case CODEC_FIELD_INT:
    case CODEC_FIELD_NULLABLE_INT:
        return "int";
    case CODEC_FIELD_BOOLEAN:
        return "boolean";
    case CODEC_FIELD_ENUM:
        return "enum";
    }
    return "?";
}

/* Can a writer value of (non-union) `type` be read into a member of this kind? Avro's
 * promotions that matter here: int -> long, bytes -> string. */
static bool codec_value_resolves(const codec_field_layout *member, json_t *type)
{
    switch (member->kind) {
    case CODEC_FIELD_STRING:
    case CODEC_FIELD_NULLABLE_STRING:
        return codec_is_type_named(type, "string") || codec_is_type_named(type, "bytes");
    case CODEC_FIELD_LONG:
        return codec_is_type_named(type, "long") || codec_is_type_named(type, "int");
    case CODEC_FIELD_INT:
    case CODEC_FIELD_NULLABLE_INT:
        return codec_is_type_named(type, "int");
    case CODEC_FIELD_BOOLEAN:
        return codec_is_type_named(type, "boolean");
    case CODEC_FIELD_ENUM: {
        /* Names match unqualified, as the specification allows. */
        const char *kind = json_string_value(json_object_get(type, "type"));
        const char *name = json_string_value(json_object_get(type, "name"));
        const char *writer_short = name ? strrchr(name, '.') : NULL;
        const char *reader_short = strrchr(member->enumeration->full_name, '.');
        writer_short = writer_short ? writer_short + 1 : name;
        reader_short = reader_short ? reader_short + 1 : member->enumeration->full_name;
        return kind && strcmp(kind, "enum") == 0 && writer_short &&
               strcmp(writer_short, reader_short) == 0;
    }
    }
    return false;
}

static int codec_reader_symbol_index(const codec_enum_layout *enumeration, const char *symbol)
{
    for (size_t index = 0; symbol && index < enumeration->symbol_count; index++) {
        if (strcmp(enumeration->symbols[index], symbol) == 0) {
            return (int)index;
        }
    }
    return -1;
}

/* The raw (not canonical) field of a schema, by name: defaults live only there. */
static json_t *codec_raw_field(json_t *raw_schema, const char *name)
{
    size_t index;
    json_t *field;
    json_array_foreach(json_object_get(raw_schema, "fields"), index, field)
    {
        const char *field_name = json_string_value(json_object_get(field, "name"));
        if (field_name && strcmp(field_name, name) == 0) {
            return field;
        }
    }
    return NULL;
}

static bool codec_build_read_step(codec_read_step *step, const codec_field_layout *member,
                                  json_t *writer_type, json_t *raw_reader, char *error,
                                  size_t error_size)
{
    bool nullable =
        member->kind == CODEC_FIELD_NULLABLE_STRING || member->kind == CODEC_FIELD_NULLABLE_INT;
    step->null_branch = -1;
    step->value_branch = -1;
    json_t *value_type = writer_type;
    if (json_is_array(writer_type)) {
        /* Every branch must resolve: null into a nullable member, the other into its value. */
        step->writer_union = true;
        size_t index;
        json_t *branch;
        json_array_foreach(writer_type, index, branch)
        {
            if (codec_is_type_named(branch, "null") && nullable && step->null_branch < 0) {
                step->null_branch = (int)index;
            } else if (step->value_branch < 0 && codec_value_resolves(member, branch)) {
                step->value_branch = (int)index;
                value_type = branch;
            } else {
                snprintf(error, error_size,
                         "field \"%s\": the writer's union does not resolve to %s", member->name,
                         codec_value_type_name(member->kind));
                return false;
            }
        }
        if (step->value_branch < 0) {
            return true; /* a union of only null: always null */
        }
    } else if (!codec_value_resolves(member, writer_type)) {
        snprintf(error, error_size, "field \"%s\": the writer's type does not resolve to %s",
                 member->name, codec_value_type_name(member->kind));
        return false;
    }
    if (member->kind != CODEC_FIELD_ENUM) {
        return true;
    }
    /* Writer symbol -> reader symbol, by name; an unknown one takes the reader enum's default. */
    json_t *symbols = json_object_get(value_type, "symbols");
    json_t *raw_member = codec_raw_field(raw_reader, member->name);
    const char *fallback =
        json_string_value(json_object_get(json_object_get(raw_member, "type"), "default"));
    step->writer_symbol_count = json_array_size(symbols);
    step->enum_map = calloc(step->writer_symbol_count ? step->writer_symbol_count : 1, sizeof(int));
    if (!step->enum_map) {
        snprintf(error, error_size, "out of memory");
        return false;
    }
    for (size_t index = 0; index < step->writer_symbol_count; index++) {
        int mapped = codec_reader_symbol_index(member->enumeration,
                                               json_string_value(json_array_get(symbols, index)));
        step->enum_map[index] =
            mapped >= 0 ? mapped : codec_reader_symbol_index(member->enumeration, fallback);
    }
    return true;
}

/* The reader schema's default of a member the writer did not write. */
static bool codec_build_default(codec_default *out, int member_index,
                                const codec_field_layout *member, json_t *raw_reader, char *error,
                                size_t error_size)
{
    json_t *raw_member = codec_raw_field(raw_reader, member->name);
    json_t *value = json_object_get(raw_member, "default");
    out->member = member_index;
    bool ok = false;
    switch (member->kind) {
    case CODEC_FIELD_STRING:
        ok = json_is_string(value);
        out->text = json_string_value(value);
        break;
    case CODEC_FIELD_NULLABLE_STRING:
    case CODEC_FIELD_NULLABLE_INT:
        ok = json_is_null(value); /* ["null", T]: a default names the first branch */
        break;
    case CODEC_FIELD_LONG:
    case CODEC_FIELD_INT:
        ok = json_is_integer(value);
        out->number = json_integer_value(value);
        break;
    case CODEC_FIELD_BOOLEAN:
        ok = json_is_boolean(value);
        out->number = json_is_true(value);
        break;
    case CODEC_FIELD_ENUM:
        out->number = codec_reader_symbol_index(member->enumeration, json_string_value(value));
        ok = out->number >= 0;
        break;
    }
    if (!ok) {
        snprintf(error, error_size,
                 "field \"%s\": the writer lacks it and the reader schema gives it no usable "
                 "default",
                 member->name);
    }
    return ok;
}

/* ---- encoding a version's default values ---------------------------------------------- */

typedef struct {
    uint8_t bytes[256];
    size_t length;
    bool overflow;
} codec_default_buffer;

static void codec_default_put(codec_default_buffer *buffer, const void *data, size_t count)
{
    if (buffer->length + count > sizeof buffer->bytes) {
        buffer->overflow = true;
        return;
    }
    memcpy(buffer->bytes + buffer->length, data, count);
    buffer->length += count;
}

static void codec_default_put_long(codec_default_buffer *buffer, int64_t value)
{
    uint64_t encoded = ((uint64_t)value << 1) ^ (value < 0 ? UINT64_MAX : 0);
    while (encoded >= 0x80) {
        uint8_t byte = (uint8_t)(encoded | 0x80);
        codec_default_put(buffer, &byte, 1);
        encoded >>= 7;
    }
    uint8_t last = (uint8_t)encoded;
    codec_default_put(buffer, &last, 1);
}

/* The Avro binary encoding of a JSON default of `type` (the spec's default-value mapping),
 * for the primitive, enum and union types a field we do not hold can have. */
static bool codec_encode_default(json_t *type, json_t *value, json_t *names,
                                 codec_default_buffer *buffer)
{
    type = codec_named_type(type, names);
    if (json_is_array(type)) {
        codec_default_put_long(buffer, 0); /* a union's default is of its first branch */
        return codec_encode_default(json_array_get(type, 0), value, names, buffer);
    }
    if (codec_is_type_named(type, "null")) {
        return json_is_null(value);
    }
    if (codec_is_type_named(type, "boolean")) {
        uint8_t byte = json_is_true(value) ? 1 : 0;
        codec_default_put(buffer, &byte, 1);
        return json_is_boolean(value);
    }
    if (codec_is_type_named(type, "int") || codec_is_type_named(type, "long")) {
        codec_default_put_long(buffer, json_integer_value(value));
        return json_is_integer(value);
    }
    if (codec_is_type_named(type, "string")) {
        const char *text = json_string_value(value);
        size_t length = text ? strlen(text) : 0;
        codec_default_put_long(buffer, (int64_t)length);
        codec_default_put(buffer, text, length);
        return text != NULL;
    }
    const char *kind = json_string_value(json_object_get(type, "type"));
    if (kind && strcmp(kind, "enum") == 0) {
        json_t *symbols = json_object_get(type, "symbols");
        size_t index;
        json_t *symbol;
        json_array_foreach(symbols, index, symbol)
        {
            if (json_is_string(value) && json_equal(symbol, value)) {
                codec_default_put_long(buffer, (int64_t)index);
                return true;
            }
        }
    }
    return false; /* float, double, bytes, fixed, record, array, map defaults: not needed */
}

/* ---- the plan of one version -------------------------------------------------------------- */

static int codec_member_index(const codec_record_layout *layout, const char *name)
{
    for (size_t index = 0; name && index < layout->field_count; index++) {
        if (strcmp(layout->fields[index].name, name) == 0) {
            return (int)index;
        }
    }
    return -1;
}

/* A version can be written when every field it shares with the C structs has exactly the
 * members' type and every other field has a default we can encode. Otherwise it is only read. */
static bool codec_build_write_steps(codec_version *version, const codec_record_layout *layout,
                                    json_t *fields, json_t *raw_writer, json_t *names)
{
    size_t count = json_array_size(fields);
    version->write_steps = calloc(count ? count : 1, sizeof *version->write_steps);
    if (!version->write_steps) {
        return false;
    }
    version->write_step_count = count;
    for (size_t index = 0; index < count; index++) {
        json_t *field = json_array_get(fields, index);
        const char *name = json_string_value(json_object_get(field, "name"));
        codec_write_step *step = &version->write_steps[index];
        step->member = codec_member_index(layout, name);
        char ignored[128];
        if (step->member >= 0) {
            if (!codec_field_type_matches(&layout->fields[step->member],
                                          json_object_get(field, "type"), ignored,
                                          sizeof ignored)) {
                return false;
            }
            continue;
        }
        json_t *raw_field = codec_raw_field(raw_writer, name);
        codec_default_buffer buffer = {.length = 0};
        if (!json_object_get(raw_field, "default") ||
            !codec_encode_default(json_object_get(field, "type"),
                                  json_object_get(raw_field, "default"), names, &buffer) ||
            buffer.overflow) {
            return false;
        }
        step->default_bytes = malloc(buffer.length ? buffer.length : 1);
        if (!step->default_bytes) {
            return false;
        }
        memcpy(step->default_bytes, buffer.bytes, buffer.length);
        step->default_length = buffer.length;
    }
    return true;
}

static bool codec_build_read_steps(codec_version *version, const codec_record_layout *layout,
                                   json_t *fields, json_t *raw_reader, json_t *names, char *error,
                                   size_t error_size)
{
    size_t count = json_array_size(fields);
    version->read_steps = calloc(count ? count : 1, sizeof *version->read_steps);
    version->defaults = calloc(layout->field_count, sizeof *version->defaults);
    if (!version->read_steps || !version->defaults) {
        snprintf(error, error_size, "out of memory");
        return false;
    }
    version->read_step_count = count;
    bool written[64] = {false};
    if (layout->field_count > sizeof written / sizeof *written) {
        snprintf(error, error_size, "too many fields");
        return false;
    }
    for (size_t index = 0; index < count; index++) {
        json_t *field = json_array_get(fields, index);
        json_t *type = codec_named_type(json_object_get(field, "type"), names);
        codec_read_step *step = &version->read_steps[index];
        step->member =
            codec_member_index(layout, json_string_value(json_object_get(field, "name")));
        if (step->member < 0) {
            if (!codec_skip_compile(type, names, 0, &step->skip)) {
                snprintf(error, error_size, "field %zu: a type the codec cannot step over", index);
                return false;
            }
            continue;
        }
        if (json_is_array(type)) {
            /* Union branches may be references too: resolve each for matching. */
            json_t *branches = json_array();
            size_t branch_index;
            json_t *branch;
            json_array_foreach(type, branch_index, branch)
            {
                json_array_append(branches, codec_named_type(branch, names));
            }
            bool ok = codec_build_read_step(step, &layout->fields[step->member], branches,
                                            raw_reader, error, error_size);
            json_decref(branches);
            if (!ok) {
                return false;
            }
        } else if (!codec_build_read_step(step, &layout->fields[step->member], type, raw_reader,
                                          error, error_size)) {
            return false;
        }
        written[step->member] = true;
    }
    for (size_t member = 0; member < layout->field_count; member++) {
        if (!written[member] &&
            !codec_build_default(&version->defaults[version->default_count++], (int)member,
                                 &layout->fields[member], raw_reader, error, error_size)) {
            return false;
        }
    }
    return true;
}

bool codec_version_build(codec_version *version, const codec_record_layout *layout,
                         const char *writer_schema_json, char *error, size_t error_size)
{
    json_t *raw_writer = json_loads(writer_schema_json, JSON_REJECT_DUPLICATES, NULL);
    json_t *raw_reader = json_loads(layout->schema_json, JSON_REJECT_DUPLICATES, NULL);
    version->canonical_form = codec_parsing_canonical_form(writer_schema_json);
    json_t *canonical =
        version->canonical_form ? json_loads(version->canonical_form, 0, NULL) : NULL;
    json_t *names = json_object();
    bool ok = false;
    if (!raw_writer || !raw_reader || !canonical || !names) {
        snprintf(error, error_size, "not a valid Avro schema");
        goto done;
    }
    version->fingerprint =
        codec_crc64_avro(version->canonical_form, strlen(version->canonical_form));
    const char *name = json_string_value(json_object_get(canonical, "name"));
    if (!name || strcmp(name, layout->full_name) != 0) {
        snprintf(error, error_size, "expected record %s, the schema defines %s", layout->full_name,
                 name ? name : "no named record");
        goto done;
    }
    codec_collect_names(canonical, names);
    json_t *fields = json_object_get(canonical, "fields");
    if (!codec_build_read_steps(version, layout, fields, raw_reader, names, error, error_size)) {
        goto done;
    }
    if (!codec_build_write_steps(version, layout, fields, raw_writer, names)) {
        /* Readable, not writable: codec_init refuses it as a write version. */
        for (size_t index = 0; index < version->write_step_count; index++) {
            free(version->write_steps[index].default_bytes);
        }
        free(version->write_steps);
        version->write_steps = NULL;
        version->write_step_count = 0;
    }
    version->schema_json = strdup(writer_schema_json);
    ok = version->schema_json != NULL;
done:
    json_decref(names);
    json_decref(canonical);
    json_decref(raw_reader);
    json_decref(raw_writer);
    if (!ok) {
        codec_version_free(version);
    }
    return ok;
}

void codec_version_free(codec_version *version)
{
    for (size_t index = 0; index < version->read_step_count; index++) {
        codec_skip_free(&version->read_steps[index].skip);
        free(version->read_steps[index].enum_map);
    }
    for (size_t index = 0; index < version->write_step_count; index++) {
        free(version->write_steps[index].default_bytes);
    }
    free(version->read_steps);
    free(version->defaults);
    free(version->write_steps);
    free(version->canonical_form);
    free(version->schema_json);
    free(version->origin);
    codec_record_type type = version->type;
    int number = version->version;
    memset(version, 0, sizeof *version);
    version->type = type;
    version->version = number;
}
