/* codec.c — Avro single-object encoding and strict decoding of CheckRequest, Verdict and
 * Action (docs/contracts.md §6), plus the stable names of the codec's enums.
 *
 * Each record type is described once, by a field layout table below: field name, Avro type and
 * where the value lives in the C struct. One table-driven encoder and one table-driven decoder
 * serve all three types, so the table is the only place the wire layout is written down in C.
 * codec_init checks every table against the schema embedded from its .avsc file in schemas/ (names,
 * order, types, enum symbols, logical types) and refuses to start on any difference: a schema edit
 * the code does not follow fails loudly instead of silently writing bytes the schema does not
 * describe.
 *
 * The decoder treats its input as hostile: every length is checked before it is used, varints
 * are bounded, strings must be valid UTF-8, and nothing it rejects leaves memory behind.
 * Schema canonicalisation and fingerprints live in codec_canonical.c. */
#include "codec_internal.h"
#include "log.h"

#include <dirent.h>
#include <errno.h>

#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Generated into the build directory by cmake/embed_schemas_script.cmake. */
extern const char reconciler_schema_check_request_json[];
extern const char reconciler_schema_verdict_json[];
extern const char reconciler_schema_action_json[];
extern const struct reconciler_schema_history_row {
    const char *record_name;
    int version;
    const char *path;
    const char *json;
} reconciler_schema_history[];

#define CODEC_MAGIC_FIRST 0xC3
#define CODEC_MAGIC_SECOND 0x01
#define CODEC_HEADER_LENGTH 10 /* magic (2) + fingerprint (8) */
#define CODEC_CONFLUENT_MAGIC 0x00
#define CODEC_CONFLUENT_HEADER_LENGTH 5 /* magic (1) + big-endian schema id (4) */
#define CODEC_VARINT_MAX_BYTES 10

/* ---- names ------------------------------------------------------------------------------ */

const char *codec_error_name(codec_error error)
{
    switch (error) {
    case CODEC_OK:
        return "ok";
    case CODEC_ERROR_TOO_SHORT:
        return "too_short";
    case CODEC_ERROR_BAD_MAGIC:
        return "bad_magic";
    case CODEC_ERROR_UNKNOWN_FINGERPRINT:
        return "unknown_fingerprint";
    case CODEC_ERROR_TRUNCATED:
        return "truncated";
    case CODEC_ERROR_TRAILING_BYTES:
        return "trailing_bytes";
    case CODEC_ERROR_BAD_VARINT:
        return "bad_varint";
    case CODEC_ERROR_NEGATIVE_LENGTH:
        return "negative_length";
    case CODEC_ERROR_OVERSIZED_LENGTH:
        return "oversized_length";
    case CODEC_ERROR_BAD_ENUM_INDEX:
        return "bad_enum_index";
    case CODEC_ERROR_BAD_UNION_INDEX:
        return "bad_union_index";
    case CODEC_ERROR_INVALID_UTF8:
        return "invalid_utf8";
    case CODEC_ERROR_BAD_VALUE:
        return "bad_value";
    case CODEC_ERROR_SCHEMA_UNAVAILABLE:
        return "schema_unavailable";
    case CODEC_ERROR_INTERNAL:
        return "internal";
    }
    return "unknown_codec_error";
}

/* The symbol lists are the C side of the schemas' enums; codec_init checks them against the
 * .avsc symbols, in order, because the symbol index is what goes on the wire. */
static const char *const codec_liveness_symbols[] = {"UNKNOWN", "RUNNING", "NOT_RUNNING"};

static const char *const codec_action_outcome_symbols[] = {
    "UNSPECIFIED",
    "FLIPPED_RESTART_REQUESTED",
    "RESTART_ACCEPTED",
    "RESTART_RETRIED",
    "RESTART_FAILED",
    "SKIPPED_STALE",
    "SKIPPED_INSTANCE_CHANGED",
    "SKIPPED_NOT_ONLINE",
    "SKIPPED_OUT_OF_SCOPE",
    "SKIPPED_ROW_MISSING",
    "SKIPPED_BREAKER_OPEN",
    "SKIPPED_DRY_RUN",
    "SKIPPED_STATUS_CHANGED",
};

#define CODEC_COUNT_OF(array) (sizeof(array) / sizeof *(array))

_Static_assert(CODEC_COUNT_OF(codec_liveness_symbols) == LIVENESS_NOT_RUNNING + 1,
               "one Liveness symbol per liveness value");
_Static_assert(CODEC_COUNT_OF(codec_action_outcome_symbols) == ACTION_OUTCOME_COUNT,
               "one ActionOutcome symbol per action_outcome value");
/* The generic encoder reads and writes enum fields as int-sized values (see codec_get_enum). */
_Static_assert(sizeof(liveness) == sizeof(int), "liveness is int-sized");
_Static_assert(sizeof(action_outcome) == sizeof(int), "action_outcome is int-sized");

const char *liveness_name(liveness value)
{
    if ((unsigned)value >= CODEC_COUNT_OF(codec_liveness_symbols)) {
        return "INVALID";
    }
    return codec_liveness_symbols[value];
}

const char *action_outcome_name(action_outcome value)
{
    if ((unsigned)value >= CODEC_COUNT_OF(codec_action_outcome_symbols)) {
        return "INVALID";
    }
    return codec_action_outcome_symbols[value];
}

bool action_outcome_parse(const char *symbol, action_outcome *out)
{
    if (!symbol || !out) {
        return false;
    }
    for (size_t index = 0; index < CODEC_COUNT_OF(codec_action_outcome_symbols); index++) {
        if (strcmp(symbol, codec_action_outcome_symbols[index]) == 0) {
            *out = (action_outcome)index;
            return true;
        }
    }
    return false;
}

/* ---- field layout tables ---------------------------------------------------------------- */

static const codec_enum_layout codec_liveness_layout = {
    "reconciler.v1.Liveness", codec_liveness_symbols, CODEC_COUNT_OF(codec_liveness_symbols)};
static const codec_enum_layout codec_action_outcome_layout = {
    "reconciler.v1.ActionOutcome", codec_action_outcome_symbols,
    CODEC_COUNT_OF(codec_action_outcome_symbols)};

/* Why macros: each expands #member into the Avro field name, so the C member and the Avro
 * field cannot drift apart by a typo; the compiler checks the member exists. */
#define CODEC_STRING(type, member)                                                                 \
    {                                                                                              \
        .name = #member, .kind = CODEC_FIELD_STRING, .offset = offsetof(type, member)              \
    }
#define CODEC_ID(type, member)                                                                     \
    {                                                                                              \
        .name = #member, .kind = CODEC_FIELD_STRING, .offset = offsetof(type, member),             \
        .non_empty = true                                                                          \
    }
#define CODEC_LONG(type, member)                                                                   \
    {                                                                                              \
        .name = #member, .kind = CODEC_FIELD_LONG, .offset = offsetof(type, member)                \
    }
#define CODEC_TIMESTAMP(type, member)                                                              \
    {                                                                                              \
        .name = #member, .kind = CODEC_FIELD_LONG, .offset = offsetof(type, member),               \
        .logical_type = "timestamp-millis"                                                         \
    }
#define CODEC_INT(type, member)                                                                    \
    {                                                                                              \
        .name = #member, .kind = CODEC_FIELD_INT, .offset = offsetof(type, member)                 \
    }
#define CODEC_BOOLEAN(type, member)                                                                \
    {                                                                                              \
        .name = #member, .kind = CODEC_FIELD_BOOLEAN, .offset = offsetof(type, member)             \
    }
#define CODEC_ENUM(type, member, layout)                                                           \
    {                                                                                              \
        .name = #member, .kind = CODEC_FIELD_ENUM, .offset = offsetof(type, member),               \
        .enumeration = &(layout)                                                                   \
    }
#define CODEC_NULLABLE_STRING(type, member)                                                        \
    {                                                                                              \
        .name = #member, .kind = CODEC_FIELD_NULLABLE_STRING, .offset = offsetof(type, member)     \
    }
#define CODEC_NULLABLE_INT(type, member, present_member)                                           \
    {                                                                                              \
        .name = #member, .kind = CODEC_FIELD_NULLABLE_INT, .offset = offsetof(type, member),       \
        .present_offset = offsetof(type, present_member)                                           \
    }

/* Field order here IS the wire order; it must equal the order in schemas/check_request.avsc. */
static const codec_field_layout codec_check_request_fields[] = {
    CODEC_ID(check_request, workspace_id),       CODEC_STRING(check_request, instance_id),
    CODEC_STRING(check_request, sweep_id),       CODEC_LONG(check_request, sweep_size),
    CODEC_TIMESTAMP(check_request, enqueued_at), CODEC_TIMESTAMP(check_request, deadline),
    CODEC_STRING(check_request, producer_id),
};

/* Same for schemas/verdict.avsc. */
static const codec_field_layout codec_verdict_fields[] = {
    CODEC_ID(verdict, workspace_id),
    CODEC_STRING(verdict, instance_id),
    CODEC_STRING(verdict, sweep_id),
    CODEC_LONG(verdict, sweep_size),
    CODEC_ENUM(verdict, liveness, codec_liveness_layout),
    CODEC_NULLABLE_STRING(verdict, cp_state),
    CODEC_NULLABLE_INT(verdict, http_status, has_http_status),
    CODEC_NULLABLE_STRING(verdict, reason),
    CODEC_TIMESTAMP(verdict, checked_at),
    CODEC_LONG(verdict, latency_ms),
    CODEC_STRING(verdict, checker_id),
    CODEC_TIMESTAMP(verdict, enqueued_at),
};

/* Same for schemas/action.avsc. */
static const codec_field_layout codec_action_fields[] = {
    CODEC_ID(action, workspace_id),
    CODEC_STRING(action, instance_id),
    CODEC_STRING(action, verdict_topic),
    CODEC_INT(action, verdict_partition),
    CODEC_LONG(action, verdict_offset),
    CODEC_ENUM(action, outcome, codec_action_outcome_layout),
    CODEC_NULLABLE_STRING(action, reason),
    CODEC_TIMESTAMP(action, acted_at),
    CODEC_BOOLEAN(action, dry_run),
    CODEC_STRING(action, sweep_id),
    CODEC_TIMESTAMP(action, verdict_checked_at),
    CODEC_INT(action, attempt),
    CODEC_STRING(action, actuator_id),
};

/* Indexed by codec_record_type. */
static const codec_record_layout codec_record_layouts[] = {
    [CODEC_RECORD_CHECK_REQUEST] = {"reconciler.v1.CheckRequest", "CheckRequest",
                                    "check_request.avsc", reconciler_schema_check_request_json,
                                    sizeof(check_request), codec_check_request_fields,
                                    CODEC_COUNT_OF(codec_check_request_fields)},
    [CODEC_RECORD_VERDICT] = {"reconciler.v1.Verdict", "Verdict", "verdict.avsc",
                              reconciler_schema_verdict_json, sizeof(verdict), codec_verdict_fields,
                              CODEC_COUNT_OF(codec_verdict_fields)},
    [CODEC_RECORD_ACTION] = {"reconciler.v1.Action", "Action", "action.avsc",
                             reconciler_schema_action_json, sizeof(action), codec_action_fields,
                             CODEC_COUNT_OF(codec_action_fields)},
};

#define CODEC_RECORD_TYPE_COUNT CODEC_COUNT_OF(codec_record_layouts)

static const codec_record_layout *codec_layout_of(codec_record_type type)
{
    if ((unsigned)type >= CODEC_RECORD_TYPE_COUNT) {
        return NULL;
    }
    return &codec_record_layouts[type];
}

/* ---- checking a layout table against a schema ------------------------------------------- */

static const char *codec_field_kind_description(codec_field_kind kind)
{
    switch (kind) {
    case CODEC_FIELD_STRING:
        return "\"string\"";
    case CODEC_FIELD_LONG:
        return "\"long\"";
    case CODEC_FIELD_INT:
        return "\"int\"";
    case CODEC_FIELD_BOOLEAN:
        return "\"boolean\"";
    case CODEC_FIELD_ENUM:
        return "an enum";
    case CODEC_FIELD_NULLABLE_STRING:
        return "[\"null\",\"string\"]";
    case CODEC_FIELD_NULLABLE_INT:
        return "[\"null\",\"int\"]";
    }
    return "?";
}

static bool codec_is_union_of_null_and(json_t *type, const char *branch)
{
    return json_is_array(type) && json_array_size(type) == 2 &&
           json_is_string(json_array_get(type, 0)) &&
           strcmp(json_string_value(json_array_get(type, 0)), "null") == 0 &&
           json_is_string(json_array_get(type, 1)) &&
           strcmp(json_string_value(json_array_get(type, 1)), branch) == 0;
}

static bool codec_is_plain_type(json_t *type, const char *name)
{
    return json_is_string(type) && strcmp(json_string_value(type), name) == 0;
}

bool codec_field_type_matches(const codec_field_layout *field, json_t *type, char *error,
                              size_t error_size)
{
    switch (field->kind) {
    case CODEC_FIELD_STRING:
        return codec_is_plain_type(type, "string");
    case CODEC_FIELD_LONG:
        return codec_is_plain_type(type, "long");
    case CODEC_FIELD_INT:
        return codec_is_plain_type(type, "int");
    case CODEC_FIELD_BOOLEAN:
        return codec_is_plain_type(type, "boolean");
    case CODEC_FIELD_NULLABLE_STRING:
        return codec_is_union_of_null_and(type, "string");
    case CODEC_FIELD_NULLABLE_INT:
        return codec_is_union_of_null_and(type, "int");
    case CODEC_FIELD_ENUM: {
        const codec_enum_layout *enumeration = field->enumeration;
        const char *kind = json_string_value(json_object_get(type, "type"));
        const char *name = json_string_value(json_object_get(type, "name"));
        json_t *symbols = json_object_get(type, "symbols");
        if (!kind || strcmp(kind, "enum") != 0 || !name ||
            strcmp(name, enumeration->full_name) != 0 || !json_is_array(symbols)) {
            snprintf(error, error_size, "field \"%s\": expected enum %s", field->name,
                     enumeration->full_name);
            return false;
        }
        if (json_array_size(symbols) != enumeration->symbol_count) {
            snprintf(error, error_size, "enum %s: schema has %zu symbols, the codec knows %zu",
                     enumeration->full_name, json_array_size(symbols), enumeration->symbol_count);
            return false;
        }
        for (size_t index = 0; index < enumeration->symbol_count; index++) {
            const char *symbol = json_string_value(json_array_get(symbols, index));
            if (!symbol || strcmp(symbol, enumeration->symbols[index]) != 0) {
                snprintf(error, error_size,
                         "enum %s: symbol %zu is \"%s\", the codec expects \"%s\"",
                         enumeration->full_name, index, symbol ? symbol : "?",
                         enumeration->symbols[index]);
                return false;
            }
        }
        return true;
    }
    }
    return false;
}

/* The logicalType the raw (not canonical) schema gives a field, or NULL if none. The PCF strips
 * logical types, so this is read from the original text: a field switching from
 * timestamp-millis to timestamp-micros keeps its fingerprint but changes its meaning. */
static const char *codec_raw_logical_type(json_t *raw_field)
{
    json_t *type = json_object_get(raw_field, "type");
    return json_string_value(json_object_get(type, "logicalType"));
}

static bool codec_optional_strings_equal(const char *left, const char *right)
{
    if (!left || !right) {
        return left == right;
    }
    return strcmp(left, right) == 0;
}

/* Checks the schema against the layout; on success *canonical_form_out gets the PCF
 * (malloc'd). On failure writes a one-line reason into error and leaves nothing to free. */
static bool codec_check_layout(const codec_record_layout *layout, const char *schema_json,
                               char **canonical_form_out, char *error, size_t error_size)
{
    *canonical_form_out = NULL;
    json_error_t parse_error;
    json_t *raw = json_loads(schema_json ? schema_json : "", JSON_REJECT_DUPLICATES, &parse_error);
    if (!raw) {
        snprintf(error, error_size, "not valid JSON: line %d: %s", parse_error.line,
                 parse_error.text);
        return false;
    }
    char *canonical_form = codec_parsing_canonical_form(schema_json);
    json_t *canonical = canonical_form ? json_loads(canonical_form, 0, NULL) : NULL;
    bool ok = false;
    if (!canonical) {
        snprintf(error, error_size, "not a valid Avro schema (no Parsing Canonical Form)");
        goto done;
    }
    const char *name = json_string_value(json_object_get(canonical, "name"));
    const char *type = json_string_value(json_object_get(canonical, "type"));
    if (!type || strcmp(type, "record") != 0 || !name || strcmp(name, layout->full_name) != 0) {
        snprintf(error, error_size, "expected record %s, schema defines %s %s", layout->full_name,
                 type ? type : "a non-record", name ? name : "");
        goto done;
    }
    json_t *fields = json_object_get(canonical, "fields");
    json_t *raw_fields = json_object_get(raw, "fields");
    if (json_array_size(fields) != layout->field_count) {
        snprintf(error, error_size, "schema has %zu fields, the codec encodes %zu",
                 json_array_size(fields), layout->field_count);
        goto done;
    }
    for (size_t index = 0; index < layout->field_count; index++) {
        const codec_field_layout *expected = &layout->fields[index];
        json_t *field = json_array_get(fields, index);
        const char *field_name = json_string_value(json_object_get(field, "name"));
        if (!field_name || strcmp(field_name, expected->name) != 0) {
            snprintf(error, error_size, "field %zu is \"%s\", the codec expects \"%s\"", index,
                     field_name ? field_name : "?", expected->name);
            goto done;
        }
        error[0] = '\0';
        if (!codec_field_type_matches(expected, json_object_get(field, "type"), error,
                                      error_size)) {
            if (error[0] == '\0') {
                snprintf(error, error_size, "field \"%s\": the codec expects type %s",
                         expected->name, codec_field_kind_description(expected->kind));
            }
            goto done;
        }
        const char *logical_type = codec_raw_logical_type(json_array_get(raw_fields, index));
        if (!codec_optional_strings_equal(logical_type, expected->logical_type)) {
            snprintf(error, error_size, "field \"%s\": logicalType is %s, the codec expects %s",
                     expected->name, logical_type ? logical_type : "none",
                     expected->logical_type ? expected->logical_type : "none");
            goto done;
        }
    }
    ok = true;
    *canonical_form_out = canonical_form;
    canonical_form = NULL; /* now owned by the caller */
done:
    free(canonical_form);
    json_decref(canonical);
    json_decref(raw);
    return ok;
}

bool codec_schema_matches_layout(codec_record_type type, const char *schema_json, char *error,
                                 size_t error_size)
{
    char ignored_error[256];
    if (!error || error_size == 0) {
        error = ignored_error;
        error_size = sizeof ignored_error;
    }
    const codec_record_layout *layout = codec_layout_of(type);
    if (!layout) {
        snprintf(error, error_size, "unknown record type %d", (int)type);
        return false;
    }
    char *canonical_form;
    if (!codec_check_layout(layout, schema_json, &canonical_form, error, error_size)) {
        return false;
    }
    free(canonical_form);
    return true;
}

/* ---- start-up state --------------------------------------------------------------------- */

/* Every schema version a process knows: the embedded history plus SCHEMA_DIR. */
#define CODEC_MAX_VERSIONS 64

/* Written only by codec_init/codec_shutdown; read-only (so thread-safe) in between. */
static struct {
    bool initialised;
    char *canonical_forms[CODEC_RECORD_TYPE_COUNT];
    uint64_t fingerprints[CODEC_RECORD_TYPE_COUNT]; /* of the reader schemas (schemas/\*.avsc) */
    const codec_version *writing[CODEC_RECORD_TYPE_COUNT];     /* what each encoder writes */
    codec_write_choice write_choices[CODEC_RECORD_TYPE_COUNT]; /* and why */
    codec_version versions[CODEC_MAX_VERSIONS];
    size_t version_count;
    bool confluent[CODEC_RECORD_TYPE_COUNT]; /* the encoder writes 00 + confluent_ids[type] */
    uint32_t confluent_ids[CODEC_RECORD_TYPE_COUNT];
} codec_state;

/* Schema ids learned from the registry: written by any decoding thread, so behind a lock (the
 * single-object path never takes it). An id maps to a known version, to a version built from
 * the registry's schema (owned), or to NULL: the registry said it does not exist. */
#define CODEC_MAX_REGISTRY_IDS 256

typedef struct {
    uint32_t id;
    const codec_version *version;
    codec_version *owned;
} codec_registry_entry;

static struct {
    pthread_mutex_t lock;
    codec_schema_fetcher fetch;
    void *context;
    void (*release)(void *);
    codec_registry_entry entries[CODEC_MAX_REGISTRY_IDS];
    size_t count;
} codec_registry = {.lock = PTHREAD_MUTEX_INITIALIZER};

void codec_set_registry(codec_schema_fetcher fetch, void *context, void (*release)(void *))
{
    codec_registry.fetch = fetch;
    codec_registry.context = context;
    codec_registry.release = release;
}

void codec_set_confluent_id(codec_record_type type, uint32_t schema_id)
{
    if (codec_layout_of(type)) {
        codec_state.confluent[type] = true;
        codec_state.confluent_ids[type] = schema_id;
    }
}

const char *codec_write_schema_json(codec_record_type type)
{
    if (!codec_state.initialised || !codec_layout_of(type)) {
        return NULL;
    }
    return codec_state.writing[type]->schema_json;
}

static void codec_registry_shutdown(void)
{
    for (size_t index = 0; index < codec_registry.count; index++) {
        if (codec_registry.entries[index].owned) {
            codec_version_free(codec_registry.entries[index].owned);
            free(codec_registry.entries[index].owned);
        }
    }
    if (codec_registry.release) {
        codec_registry.release(codec_registry.context);
    }
    codec_registry.fetch = NULL;
    codec_registry.context = NULL;
    codec_registry.release = NULL;
    codec_registry.count = 0;
}

/* The version a registry schema is: one we know by fingerprint, or one built from its text
 * (for whichever record type its name is). NULL when it is none of ours or does not resolve;
 * *owned is then NULL too. */
static const codec_version *codec_registry_resolve(uint32_t id, const char *schema_json,
                                                   codec_version **owned)
{
    *owned = NULL;
    char *canonical_form = codec_parsing_canonical_form(schema_json);
    bool parsed = canonical_form != NULL;
    uint64_t fingerprint = parsed ? codec_crc64_avro(canonical_form, strlen(canonical_form)) : 0;
    free(canonical_form);
    for (size_t index = 0; parsed && index < codec_state.version_count; index++) {
        if (codec_state.versions[index].fingerprint == fingerprint) {
            return &codec_state.versions[index];
        }
    }
    for (size_t index = 0; index < CODEC_RECORD_TYPE_COUNT; index++) {
        codec_version *version = calloc(1, sizeof *version);
        char error[512] = "";
        if (!version) {
            return NULL;
        }
        version->type = (codec_record_type)index;
        if (codec_version_build(version, &codec_record_layouts[index], schema_json, error,
                                sizeof error)) {
            version->origin = strdup("schema registry");
            *owned = version;
            return version;
        }
        free(version);
        if (strstr(error, "expected record") != error) {
            log_error("registry schema does not resolve against ours", "{s:I, s:s, s:s}",
                      "schema_id", (json_int_t)id, "record", codec_record_layouts[index].full_name,
                      "error", error);
        }
    }
    return NULL;
}

static codec_error codec_registry_version(uint32_t id, const codec_version **out)
{
    pthread_mutex_lock(&codec_registry.lock);
    for (size_t index = 0; index < codec_registry.count; index++) {
        if (codec_registry.entries[index].id == id) {
            *out = codec_registry.entries[index].version;
            pthread_mutex_unlock(&codec_registry.lock);
            return *out ? CODEC_OK : CODEC_ERROR_UNKNOWN_FINGERPRINT;
        }
    }
    pthread_mutex_unlock(&codec_registry.lock);
    if (!codec_registry.fetch) {
        return CODEC_ERROR_UNKNOWN_FINGERPRINT;
    }
    /* Fetched outside the lock: another thread may fetch the same id meanwhile, which costs
     * one request and is harmless (the first answer stored wins). */
    bool unavailable = false;
    char *schema_json = codec_registry.fetch(codec_registry.context, id, &unavailable);
    if (!schema_json && unavailable) {
        return CODEC_ERROR_SCHEMA_UNAVAILABLE; /* nothing cached: asked again next time */
    }
    codec_version *owned = NULL;
    const codec_version *version =
        schema_json ? codec_registry_resolve(id, schema_json, &owned) : NULL;
    free(schema_json);
    pthread_mutex_lock(&codec_registry.lock);
    bool stored = false;
    for (size_t index = 0; index < codec_registry.count && !stored; index++) {
        if (codec_registry.entries[index].id == id) {
            version = codec_registry.entries[index].version;
            stored = true;
        }
    }
    if (!stored && codec_registry.count < CODEC_MAX_REGISTRY_IDS) {
        codec_registry.entries[codec_registry.count++] = (codec_registry_entry){id, version, owned};
        owned = NULL;
    }
    pthread_mutex_unlock(&codec_registry.lock);
    if (owned) {
        /* Not stored (a full cache, or another thread was first): decode this record with it
         * would need it to outlive the call, so ask for a retry of the lookup instead. */
        codec_version_free(owned);
        free(owned);
        return stored ? (version ? CODEC_OK : CODEC_ERROR_UNKNOWN_FINGERPRINT)
                      : CODEC_ERROR_INTERNAL;
    }
    *out = version;
    return version ? CODEC_OK : CODEC_ERROR_UNKNOWN_FINGERPRINT;
}

void codec_shutdown(void)
{
    for (size_t index = 0; index < CODEC_RECORD_TYPE_COUNT; index++) {
        free(codec_state.canonical_forms[index]);
    }
    for (size_t index = 0; index < codec_state.version_count; index++) {
        codec_version_free(&codec_state.versions[index]);
    }
    codec_registry_shutdown();
    memset(&codec_state, 0, sizeof codec_state);
}

/* Adds one version of a record type; a second copy of a known schema (SCHEMA_DIR repeating
 * the history) is ignored, a different schema under a known version number is refused. */
static bool codec_add_version(const codec_record_layout *layout, int number, const char *origin,
                              const char *schema_json)
{
    codec_record_type type = (codec_record_type)(layout - codec_record_layouts);
    char error[512] = "";
    codec_version version = {.type = type, .version = number};
    if (codec_state.version_count == CODEC_MAX_VERSIONS) {
        snprintf(error, sizeof error, "more than %d schema versions", CODEC_MAX_VERSIONS);
    } else if (number < 1) {
        snprintf(error, sizeof error, "the version number must be 1 or more");
    } else if (!codec_version_build(&version, layout, schema_json, error, sizeof error)) {
        /* error says why */
    } else {
        for (size_t index = 0; index < codec_state.version_count; index++) {
            const codec_version *known = &codec_state.versions[index];
            bool same_schema = known->fingerprint == version.fingerprint;
            if (known->type != type || (!same_schema && known->version != number)) {
                continue;
            }
            if (!same_schema || known->version != number) {
                snprintf(error, sizeof error, "conflicts with %s (version %d)", known->origin,
                         known->version);
            }
            codec_version_free(&version);
            if (error[0] == '\0') {
                return true; /* the same version again */
            }
            break;
        }
    }
    if (error[0] != '\0') {
        log_error("schema version refused", "{s:s, s:s}", "schema", origin, "error", error);
        return false;
    }
    version.origin = strdup(origin);
    version.is_reader_schema = version.fingerprint == codec_state.fingerprints[type];
    codec_state.versions[codec_state.version_count++] = version;
    return true;
}

static bool codec_load_history(void)
{
    for (size_t row = 0; reconciler_schema_history[row].json; row++) {
        const struct reconciler_schema_history_row *entry = &reconciler_schema_history[row];
        for (size_t index = 0; index < CODEC_RECORD_TYPE_COUNT; index++) {
            if (strcmp(codec_record_layouts[index].record_name, entry->record_name) == 0 &&
                !codec_add_version(&codec_record_layouts[index], entry->version, entry->path,
                                   entry->json)) {
                return false;
            }
        }
    }
    return true;
}

static char *codec_read_file(const char *path)
{
    FILE *file = fopen(path, "rb");
    char *text = file ? calloc(1, CODEC_MAX_STRING * 4 + 1) : NULL;
    size_t length = text ? fread(text, 1, CODEC_MAX_STRING * 4, file) : 0;
    bool ok = text && !ferror(file) && feof(file);
    if (file) {
        fclose(file);
    }
    if (!ok) {
        free(text);
        return NULL;
    }
    text[length] = '\0';
    return text;
}

/* SCHEMA_DIR: <dir>/<RecordName>/v<N>.avsc, the layout of schemas/history/. */
static bool codec_load_schema_dir(const char *directory)
{
    for (size_t index = 0; index < CODEC_RECORD_TYPE_COUNT; index++) {
        const codec_record_layout *layout = &codec_record_layouts[index];
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", directory, layout->record_name);
        DIR *listing = opendir(path);
        if (!listing) {
            if (errno == ENOENT) {
                continue; /* no versions of this record type here */
            }
            log_error("schema directory unreadable", "{s:s, s:s}", "path", path, "error",
                      strerror(errno));
            return false;
        }
        bool ok = true;
        struct dirent *entry;
        while (ok && (entry = readdir(listing)) != NULL) {
            int number = 0;
            char tail[8] = "";
            if (sscanf(entry->d_name, "v%d.avs%1s", &number, tail) != 2 || strcmp(tail, "c") != 0) {
                continue;
            }
            char file_path[4096 + 256];
            snprintf(file_path, sizeof file_path, "%s/%s", path, entry->d_name);
            char *text = codec_read_file(file_path);
            if (!text) {
                log_error("schema file unreadable", "{s:s}", "path", file_path);
                ok = false;
            } else {
                ok = codec_add_version(layout, number, file_path, text);
            }
            free(text);
        }
        closedir(listing);
        if (!ok) {
            return false;
        }
    }
    return true;
}

static const codec_version *codec_find_version(codec_record_type type, int number)
{
    for (size_t index = 0; index < codec_state.version_count; index++) {
        const codec_version *version = &codec_state.versions[index];
        if (version->type == type &&
            (number == 0 ? version->is_reader_schema : version->version == number)) {
            return version;
        }
    }
    return NULL;
}

codec_write_choice codec_select_write_version(const int *known, size_t known_count, int built_in,
                                              int explicit_version, int *chosen)
{
    bool knows_explicit = false;
    bool knows_previous = false;
    for (size_t index = 0; index < known_count; index++) {
        knows_explicit =
            knows_explicit || (explicit_version != 0 && known[index] == explicit_version);
        knows_previous = knows_previous || known[index] == built_in - 1;
    }
    if (explicit_version != 0) {
        if (!knows_explicit) {
            return CODEC_WRITE_UNKNOWN_VERSION;
        }
        *chosen = explicit_version;
        return CODEC_WRITE_EXPLICIT;
    }
    /* Single-object readers decode only versions they already know: the previous release
     * knows N-1 but not N, so N is written only when the operator says every reader knows it. */
    *chosen = knows_previous ? built_in - 1 : built_in;
    return knows_previous ? CODEC_WRITE_DEFAULT_PREVIOUS : CODEC_WRITE_DEFAULT_FIRST_VERSION;
}

const char *codec_write_choice_name(codec_write_choice choice)
{
    switch (choice) {
    case CODEC_WRITE_DEFAULT_FIRST_VERSION:
        return "default-first-version";
    case CODEC_WRITE_DEFAULT_PREVIOUS:
        return "default-previous";
    case CODEC_WRITE_EXPLICIT:
        return "explicit";
    case CODEC_WRITE_UNKNOWN_VERSION:
        break;
    }
    return "unknown-version";
}

const char *codec_record_name(codec_record_type type)
{
    const codec_record_layout *layout = codec_layout_of(type);
    return layout ? layout->record_name : NULL;
}

codec_write_choice codec_write_reason(codec_record_type type)
{
    if (!codec_state.initialised || !codec_layout_of(type)) {
        return CODEC_WRITE_UNKNOWN_VERSION;
    }
    return codec_state.write_choices[type];
}

/* SCHEMA_WRITE_VERSIONS, "Verdict=2,CheckRequest=2", into one explicit version per record
 * type (0 = not named). */
static bool codec_parse_write_versions(const char *text, int *explicit_versions)
{
    const char *cursor = text ? text : "";
    while (*cursor != '\0') {
        char name[64] = "";
        int number = 0;
        int consumed = 0;
        if (sscanf(cursor, " %63[A-Za-z_] = %d %n", name, &number, &consumed) != 2) {
            log_error("SCHEMA_WRITE_VERSIONS: expected Name=version[,Name=version...]", "{s:s}",
                      "value", text);
            return false;
        }
        cursor += consumed;
        cursor += *cursor == ',' ? 1 : 0;
        size_t index = 0;
        while (index < CODEC_RECORD_TYPE_COUNT &&
               strcmp(codec_record_layouts[index].record_name, name) != 0) {
            index++;
        }
        if (index == CODEC_RECORD_TYPE_COUNT || number < 1) {
            log_error("SCHEMA_WRITE_VERSIONS names a version this process cannot write",
                      "{s:s, s:i, s:s}", "record", name, "version", number, "detail",
                      "unknown record type or version");
            return false;
        }
        explicit_versions[index] = number;
    }
    return true;
}

/* What each encoder writes: codec_select_write_version over the versions this process knows. */
static bool codec_choose_write_versions(const char *text)
{
    int explicit_versions[CODEC_RECORD_TYPE_COUNT] = {0};
    if (!codec_parse_write_versions(text, explicit_versions)) {
        return false;
    }
    for (size_t index = 0; index < CODEC_RECORD_TYPE_COUNT; index++) {
        codec_record_type type = (codec_record_type)index;
        int known[CODEC_MAX_VERSIONS];
        size_t known_count = 0;
        for (size_t at = 0; at < codec_state.version_count; at++) {
            if (codec_state.versions[at].type == type) {
                known[known_count++] = codec_state.versions[at].version;
            }
        }
        const char *record = codec_record_layouts[index].record_name;
        int number = 0;
        codec_write_choice choice =
            codec_select_write_version(known, known_count, codec_find_version(type, 0)->version,
                                       explicit_versions[index], &number);
        const codec_version *chosen =
            choice == CODEC_WRITE_UNKNOWN_VERSION ? NULL : codec_find_version(type, number);
        if (!chosen || !chosen->write_steps) {
            log_error("SCHEMA_WRITE_VERSIONS names a version this process cannot write",
                      "{s:s, s:i, s:s, s:s}", "record", record, "version",
                      chosen ? number : explicit_versions[index], "reason",
                      codec_write_choice_name(choice), "detail",
                      chosen ? "a field it shares with the structs changed type"
                             : "unknown version (not in schemas/history/ nor SCHEMA_DIR)");
            return false;
        }
        codec_state.writing[index] = chosen;
        codec_state.write_choices[index] = choice;
        log_info("schema write version", "{s:s, s:i, s:i, s:s}", "record", record, "version",
                 number, "built_in_version", codec_find_version(type, 0)->version, "reason",
                 codec_write_choice_name(choice));
    }
    return true;
}

bool codec_init(void)
{
    return codec_init_with(NULL);
}

bool codec_init_with(const codec_options *options)
{
    if (codec_state.initialised) {
        return true;
    }
    for (size_t index = 0; index < CODEC_RECORD_TYPE_COUNT; index++) {
        const codec_record_layout *layout = &codec_record_layouts[index];
        char error[512];
        char *canonical_form;
        if (!codec_check_layout(layout, layout->schema_json, &canonical_form, error,
                                sizeof error)) {
            log_error("Avro schema does not match the codec's field layout; refusing to start",
                      "{s:s, s:s}", "schema", layout->file_name, "error", error);
            codec_shutdown();
            return false;
        }
        codec_state.canonical_forms[index] = canonical_form;
        codec_state.fingerprints[index] = codec_crc64_avro(canonical_form, strlen(canonical_form));
    }
    const char *schema_dir = options ? options->schema_dir : NULL;
    bool ok = codec_load_history() &&
              (!schema_dir || schema_dir[0] == '\0' || codec_load_schema_dir(schema_dir));
    /* The schema the structs follow must be a released version, so what this build writes is
     * always in the history that every later build reads. */
    for (size_t index = 0; ok && index < CODEC_RECORD_TYPE_COUNT; index++) {
        if (!codec_find_version((codec_record_type)index, 0)) {
            log_error("schema is not a released version: copy it to schemas/history/ as the "
                      "next version",
                      "{s:s, s:s}", "schema", codec_record_layouts[index].file_name, "record",
                      codec_record_layouts[index].record_name);
            ok = false;
        }
    }
    ok = ok && codec_choose_write_versions(options ? options->write_versions : NULL);
    if (!ok) {
        codec_shutdown();
        return false;
    }
    codec_state.initialised = true;
    return true;
}

int codec_write_version(codec_record_type type)
{
    if (!codec_state.initialised || !codec_layout_of(type)) {
        return 0;
    }
    return codec_state.writing[type]->version;
}

uint64_t codec_fingerprint(codec_record_type type)
{
    if (!codec_state.initialised || !codec_layout_of(type)) {
        return 0;
    }
    return codec_state.fingerprints[type];
}

const char *codec_schema_json(codec_record_type type)
{
    const codec_record_layout *layout = codec_layout_of(type);
    return layout ? layout->schema_json : NULL;
}

/* ---- UTF-8 ------------------------------------------------------------------------------ */

/* Strict UTF-8 (RFC 3629): no overlong forms, no UTF-16 surrogates (U+D800..U+DFFF), nothing
 * above U+10FFFF, no stray or missing continuation bytes. */
static bool codec_is_valid_utf8(const uint8_t *text, size_t length)
{
    size_t index = 0;
    while (index < length) {
        uint8_t lead = text[index];
        if (lead < 0x80) {
            index++;
            continue;
        }
        size_t continuation_count;
        uint8_t second_min = 0x80;
        uint8_t second_max = 0xBF;
        if (lead >= 0xC2 && lead <= 0xDF) {
            continuation_count = 1; /* C0, C1 would be overlong */
        } else if (lead >= 0xE0 && lead <= 0xEF) {
            continuation_count = 2;
            if (lead == 0xE0) {
                second_min = 0xA0; /* below is overlong */
            } else if (lead == 0xED) {
                second_max = 0x9F; /* above is a surrogate */
            }
        } else if (lead >= 0xF0 && lead <= 0xF4) {
            continuation_count = 3;
            if (lead == 0xF0) {
                second_min = 0x90; /* below is overlong */
            } else if (lead == 0xF4) {
                second_max = 0x8F; /* above is beyond U+10FFFF */
            }
        } else {
            return false; /* a continuation byte as lead, C0, C1, F5..FF */
        }
        if (length - index - 1 < continuation_count) {
            return false;
        }
        if (text[index + 1] < second_min || text[index + 1] > second_max) {
            return false;
        }
        for (size_t offset = 2; offset <= continuation_count; offset++) {
            if ((text[index + offset] & 0xC0) != 0x80) {
                return false;
            }
        }
        index += continuation_count + 1;
    }
    return true;
}

/* ---- reading and writing struct members ------------------------------------------------- */

/* Mutable member pointers, for the decoder. */
static char **codec_string_member(void *record, const codec_field_layout *field)
{
    return (char **)((char *)record + field->offset);
}

static int64_t *codec_long_member(void *record, const codec_field_layout *field)
{
    return (int64_t *)((char *)record + field->offset);
}

static int32_t *codec_int_member(void *record, const codec_field_layout *field)
{
    return (int32_t *)((char *)record + field->offset);
}

static bool *codec_bool_member(void *record, size_t offset)
{
    return (bool *)((char *)record + offset);
}

/* Member values, for the encoder. */
static const char *codec_get_string(const void *record, const codec_field_layout *field)
{
    return *(char *const *)((const char *)record + field->offset);
}

static int64_t codec_get_long(const void *record, const codec_field_layout *field)
{
    return *(const int64_t *)((const char *)record + field->offset);
}

static int32_t codec_get_int(const void *record, const codec_field_layout *field)
{
    return *(const int32_t *)((const char *)record + field->offset);
}

static bool codec_get_bool(const void *record, size_t offset)
{
    return *(const bool *)((const char *)record + offset);
}

/* Why memcpy: the member is a C enum (liveness, action_outcome); its integer type is the
 * compiler's choice, so it is copied as an int of the same size (asserted above). */
static int codec_get_enum(const void *record, const codec_field_layout *field)
{
    int value;
    memcpy(&value, (const char *)record + field->offset, sizeof value);
    return value;
}

static void codec_set_enum(void *record, const codec_field_layout *field, int value)
{
    memcpy((char *)record + field->offset, &value, sizeof value);
}

/* ---- encoding --------------------------------------------------------------------------- */

/* With data == NULL the writer only counts, so one pass measures and a second pass writes
 * into a buffer of exactly that size: no reallocation and no failure in the middle. */
typedef struct {
    uint8_t *data;
    size_t length;
} codec_writer;

static void codec_write_bytes(codec_writer *writer, const void *bytes, size_t count)
{
    if (writer->data && count > 0) {
        memcpy(writer->data + writer->length, bytes, count);
    }
    writer->length += count;
}

static void codec_write_long(codec_writer *writer, int64_t value)
{
    /* Zig-zag: 0, -1, 1, -2 ... map to 0, 1, 2, 3 ..., computed in unsigned arithmetic so no
     * signed shift or overflow is involved. */
    uint64_t encoded = ((uint64_t)value << 1) ^ (value < 0 ? UINT64_MAX : 0);
    uint8_t bytes[CODEC_VARINT_MAX_BYTES];
    size_t count = 0;
    while (encoded >= 0x80) {
        bytes[count++] = (uint8_t)(encoded | 0x80);
        encoded >>= 7;
    }
    bytes[count++] = (uint8_t)encoded;
    codec_write_bytes(writer, bytes, count);
}

static void codec_write_string(codec_writer *writer, const char *text)
{
    size_t length = text ? strlen(text) : 0;
    codec_write_long(writer, (int64_t)length);
    codec_write_bytes(writer, text, length);
}

/* Checks a string the encoder is about to write, so the codec never writes what it would
 * refuse to read. */
static codec_error codec_check_string_for_encoding(const char *text, bool non_empty)
{
    size_t length = text ? strlen(text) : 0;
    if (non_empty && length == 0) {
        return CODEC_ERROR_BAD_VALUE;
    }
    if (length > CODEC_MAX_STRING) {
        return CODEC_ERROR_OVERSIZED_LENGTH;
    }
    if (!codec_is_valid_utf8((const uint8_t *)text, length)) {
        return CODEC_ERROR_INVALID_UTF8;
    }
    return CODEC_OK;
}

static codec_error codec_check_record_for_encoding(const codec_record_layout *layout,
                                                   const void *record)
{
    for (size_t index = 0; index < layout->field_count; index++) {
        const codec_field_layout *field = &layout->fields[index];
        codec_error error = CODEC_OK;
        if (field->kind == CODEC_FIELD_STRING || field->kind == CODEC_FIELD_NULLABLE_STRING) {
            error =
                codec_check_string_for_encoding(codec_get_string(record, field), field->non_empty);
        } else if (field->kind == CODEC_FIELD_ENUM) {
            int value = codec_get_enum(record, field);
            if (value < 0 || (size_t)value >= field->enumeration->symbol_count) {
                error = CODEC_ERROR_BAD_VALUE;
            }
        }
        if (error != CODEC_OK) {
            return error;
        }
    }
    return CODEC_OK;
}

static void codec_write_field(codec_writer *writer, const codec_field_layout *field,
                              const void *record)
{
    switch (field->kind) {
    case CODEC_FIELD_STRING:
        codec_write_string(writer, codec_get_string(record, field));
        break;
    case CODEC_FIELD_LONG:
        codec_write_long(writer, codec_get_long(record, field));
        break;
    case CODEC_FIELD_INT:
        codec_write_long(writer, codec_get_int(record, field));
        break;
    case CODEC_FIELD_BOOLEAN: {
        uint8_t byte = codec_get_bool(record, field->offset) ? 1 : 0;
        codec_write_bytes(writer, &byte, 1);
        break;
    }
    case CODEC_FIELD_ENUM:
        codec_write_long(writer, codec_get_enum(record, field));
        break;
    case CODEC_FIELD_NULLABLE_STRING: {
        const char *text = codec_get_string(record, field);
        codec_write_long(writer, text ? 1 : 0); /* union branch: 0 = null, 1 = string */
        if (text) {
            codec_write_string(writer, text);
        }
        break;
    }
    case CODEC_FIELD_NULLABLE_INT: {
        bool present = codec_get_bool(record, field->present_offset);
        codec_write_long(writer, present ? 1 : 0); /* union branch: 0 = null, 1 = int */
        if (present) {
            codec_write_long(writer, codec_get_int(record, field));
        }
        break;
    }
    }
}

static void codec_write_record(codec_writer *writer, codec_record_type type,
                               const codec_record_layout *layout, const void *record)
{
    const codec_version *version = codec_state.writing[type];
    if (codec_state.confluent[type]) {
        uint32_t id = codec_state.confluent_ids[type];
        const uint8_t header[CODEC_CONFLUENT_HEADER_LENGTH] = {
            CODEC_CONFLUENT_MAGIC, (uint8_t)(id >> 24), (uint8_t)(id >> 16), (uint8_t)(id >> 8),
            (uint8_t)id};
        codec_write_bytes(writer, header, sizeof header);
    } else {
        const uint8_t magic[2] = {CODEC_MAGIC_FIRST, CODEC_MAGIC_SECOND};
        codec_write_bytes(writer, magic, sizeof magic);
        uint8_t fingerprint[8];
        for (int index = 0; index < 8; index++) {
            fingerprint[index] = (uint8_t)(version->fingerprint >> (8 * index));
        }
        codec_write_bytes(writer, fingerprint, sizeof fingerprint);
    }
    if (version->is_reader_schema) {
        for (size_t index = 0; index < layout->field_count; index++) {
            codec_write_field(writer, &layout->fields[index], record);
        }
        return;
    }
    /* Another version (SCHEMA_WRITE_VERSIONS): its fields in its order; those the structs do
     * not hold get the version's default. */
    for (size_t index = 0; index < version->write_step_count; index++) {
        const codec_write_step *step = &version->write_steps[index];
        if (step->member >= 0) {
            codec_write_field(writer, &layout->fields[step->member], record);
        } else {
            codec_write_bytes(writer, step->default_bytes, step->default_length);
        }
    }
}

static codec_error codec_encode(codec_record_type type, const void *record, uint8_t **out,
                                size_t *out_length)
{
    if (out) {
        *out = NULL;
    }
    if (out_length) {
        *out_length = 0;
    }
    const codec_record_layout *layout = codec_layout_of(type);
    if (!record || !out || !out_length || !layout || !codec_state.initialised) {
        return CODEC_ERROR_INTERNAL;
    }
    codec_error error = codec_check_record_for_encoding(layout, record);
    if (error != CODEC_OK) {
        return error;
    }
    codec_writer counter = {NULL, 0};
    codec_write_record(&counter, type, layout, record);
    codec_writer writer = {malloc(counter.length), 0};
    if (!writer.data) {
        return CODEC_ERROR_INTERNAL;
    }
    codec_write_record(&writer, type, layout, record);
    *out = writer.data;
    *out_length = writer.length;
    return CODEC_OK;
}

codec_error codec_encode_check_request(const check_request *record, uint8_t **out,
                                       size_t *out_length)
{
    return codec_encode(CODEC_RECORD_CHECK_REQUEST, record, out, out_length);
}

codec_error codec_encode_verdict(const verdict *record, uint8_t **out, size_t *out_length)
{
    return codec_encode(CODEC_RECORD_VERDICT, record, out, out_length);
}

codec_error codec_encode_action(const action *record, uint8_t **out, size_t *out_length)
{
    return codec_encode(CODEC_RECORD_ACTION, record, out, out_length);
}

/* ---- decoding --------------------------------------------------------------------------- */

typedef struct {
    const uint8_t *cursor;
    const uint8_t *end;
} codec_reader;

static size_t codec_remaining(const codec_reader *reader)
{
    return (size_t)(reader->end - reader->cursor);
}

/* Reads one zig-zag varint (Avro int or long). At most 10 bytes, and the 10th may carry only
 * the 64th bit: anything longer or larger cannot be a 64-bit value. */
static codec_error codec_read_long(codec_reader *reader, int64_t *out)
{
    uint64_t encoded = 0;
    for (int index = 0; index < CODEC_VARINT_MAX_BYTES; index++) {
        if (reader->cursor == reader->end) {
            return CODEC_ERROR_TRUNCATED;
        }
        uint8_t byte = *reader->cursor++;
        if (index == CODEC_VARINT_MAX_BYTES - 1 && byte > 1) {
            return CODEC_ERROR_BAD_VARINT;
        }
        encoded |= (uint64_t)(byte & 0x7F) << (7 * index);
        if ((byte & 0x80) == 0) {
            /* Undo zig-zag without signed overflow: (encoded >> 1) fits in int64_t, and the
             * low bit selects between it and its bitwise complement. */
            int64_t magnitude = (int64_t)(encoded >> 1);
            *out = (encoded & 1) ? ~magnitude : magnitude;
            return CODEC_OK;
        }
    }
    return CODEC_ERROR_BAD_VARINT; /* unreachable: the 10th byte above cannot continue */
}

static codec_error codec_read_int(codec_reader *reader, int32_t *out)
{
    int64_t value;
    codec_error error = codec_read_long(reader, &value);
    if (error != CODEC_OK) {
        return error;
    }
    if (value < INT32_MIN || value > INT32_MAX) {
        return CODEC_ERROR_BAD_VALUE;
    }
    *out = (int32_t)value;
    return CODEC_OK;
}

/* Reads the union branch index of a ["null", X] union: false for null, true for X. */
static codec_error codec_read_union_branch(codec_reader *reader, bool *present)
{
    int64_t branch;
    codec_error error = codec_read_long(reader, &branch);
    if (error != CODEC_OK) {
        return error;
    }
    if (branch != 0 && branch != 1) {
        return CODEC_ERROR_BAD_UNION_INDEX;
    }
    *present = branch == 1;
    return CODEC_OK;
}

/* Reads a string into a new NUL-terminated copy. Checks, in order: the length is not
 * negative, not above CODEC_MAX_STRING, not beyond the input; the bytes are UTF-8 and hold no
 * NUL (which a C string could not carry: "ab\0cd" would silently read as "ab"). */
static codec_error codec_read_string(codec_reader *reader, bool non_empty, char **out)
{
    int64_t length;
    codec_error error = codec_read_long(reader, &length);
    if (error != CODEC_OK) {
        return error;
    }
    if (length < 0) {
        return CODEC_ERROR_NEGATIVE_LENGTH;
    }
    if (length > CODEC_MAX_STRING) {
        return CODEC_ERROR_OVERSIZED_LENGTH;
    }
    if ((uint64_t)length > codec_remaining(reader)) {
        return CODEC_ERROR_TRUNCATED;
    }
    size_t size = (size_t)length;
    if (!codec_is_valid_utf8(reader->cursor, size)) {
        return CODEC_ERROR_INVALID_UTF8;
    }
    if (memchr(reader->cursor, '\0', size) || (non_empty && size == 0)) {
        return CODEC_ERROR_BAD_VALUE;
    }
    char *text = malloc(size + 1);
    if (!text) {
        return CODEC_ERROR_INTERNAL;
    }
    memcpy(text, reader->cursor, size);
    text[size] = '\0';
    reader->cursor += size;
    *out = text;
    return CODEC_OK;
}

static codec_error codec_read_field(codec_reader *reader, const codec_field_layout *field,
                                    void *record)
{
    codec_error error = CODEC_OK;
    switch (field->kind) {
    case CODEC_FIELD_STRING:
        return codec_read_string(reader, field->non_empty, codec_string_member(record, field));
    case CODEC_FIELD_LONG:
        return codec_read_long(reader, codec_long_member(record, field));
    case CODEC_FIELD_INT:
        return codec_read_int(reader, codec_int_member(record, field));
    case CODEC_FIELD_BOOLEAN:
        if (reader->cursor == reader->end) {
            return CODEC_ERROR_TRUNCATED;
        }
        if (*reader->cursor > 1) {
            return CODEC_ERROR_BAD_VALUE;
        }
        *codec_bool_member(record, field->offset) = *reader->cursor++ == 1;
        return CODEC_OK;
    case CODEC_FIELD_ENUM: {
        int64_t index;
        error = codec_read_long(reader, &index);
        if (error != CODEC_OK) {
            return error;
        }
        if (index < 0 || (uint64_t)index >= field->enumeration->symbol_count) {
            return CODEC_ERROR_BAD_ENUM_INDEX;
        }
        codec_set_enum(record, field, (int)index);
        return CODEC_OK;
    }
    case CODEC_FIELD_NULLABLE_STRING: {
        bool present;
        error = codec_read_union_branch(reader, &present);
        if (error != CODEC_OK || !present) {
            return error;
        }
        return codec_read_string(reader, false, codec_string_member(record, field));
    }
    case CODEC_FIELD_NULLABLE_INT: {
        bool present;
        error = codec_read_union_branch(reader, &present);
        if (error != CODEC_OK || !present) {
            return error;
        }
        *codec_bool_member(record, field->present_offset) = true;
        return codec_read_int(reader, codec_int_member(record, field));
    }
    }
    return CODEC_ERROR_INTERNAL;
}

/* Frees every string member and zeroes the whole struct. */
static void codec_free_record(const codec_record_layout *layout, void *record)
{
    if (!record) {
        return;
    }
    for (size_t index = 0; index < layout->field_count; index++) {
        const codec_field_layout *field = &layout->fields[index];
        if (field->kind == CODEC_FIELD_STRING || field->kind == CODEC_FIELD_NULLABLE_STRING) {
            free(*codec_string_member(record, field));
        }
    }
    memset(record, 0, layout->struct_size);
}

/* Steps over one value the writer wrote and the reader does not keep. Every length is
 * checked like a kept value's, so a skipped field is no way around the bounds. */
static codec_error codec_skip_value(codec_reader *reader, const codec_skip *skip)
{
    int64_t value;
    codec_error error = CODEC_OK;
    switch (skip->kind) {
    case CODEC_SKIP_NULL:
        return CODEC_OK;
    case CODEC_SKIP_VARINT:
        return codec_read_long(reader, &value);
    case CODEC_SKIP_BOOLEAN:
    case CODEC_SKIP_FLOAT:
    case CODEC_SKIP_DOUBLE:
    case CODEC_SKIP_FIXED: {
        size_t size = skip->kind == CODEC_SKIP_BOOLEAN  ? 1
                      : skip->kind == CODEC_SKIP_FLOAT  ? 4
                      : skip->kind == CODEC_SKIP_DOUBLE ? 8
                                                        : skip->size;
        if (size > codec_remaining(reader)) {
            return CODEC_ERROR_TRUNCATED;
        }
        reader->cursor += size;
        return CODEC_OK;
    }
    case CODEC_SKIP_BYTES:
        error = codec_read_long(reader, &value);
        if (error == CODEC_OK && value < 0) {
            error = CODEC_ERROR_NEGATIVE_LENGTH;
        } else if (error == CODEC_OK && (uint64_t)value > codec_remaining(reader)) {
            error = CODEC_ERROR_TRUNCATED;
        } else if (error == CODEC_OK) {
            reader->cursor += value;
        }
        return error;
    case CODEC_SKIP_UNION:
        error = codec_read_long(reader, &value);
        if (error == CODEC_OK && (value < 0 || (uint64_t)value >= skip->child_count)) {
            error = CODEC_ERROR_BAD_UNION_INDEX;
        }
        return error == CODEC_OK ? codec_skip_value(reader, &skip->children[value]) : error;
    case CODEC_SKIP_RECORD:
        for (size_t index = 0; index < skip->child_count && error == CODEC_OK; index++) {
            error = codec_skip_value(reader, &skip->children[index]);
        }
        return error;
    case CODEC_SKIP_ARRAY:
    case CODEC_SKIP_MAP:
        /* Blocks of items until a zero count; a negative count is followed by the block's
         * byte size, which we do not need. Each item consumes at least... nothing (null
         * items), so the item count is bounded by the input length to stop a 2^62 loop. */
        for (;;) {
            error = codec_read_long(reader, &value);
            if (error != CODEC_OK || value == 0) {
                return error;
            }
            if (value < 0) {
                int64_t ignored_size;
                error = codec_read_long(reader, &ignored_size);
                value = value == INT64_MIN ? INT64_MAX : -value;
            }
            if (error == CODEC_OK && (uint64_t)value > codec_remaining(reader) + 1) {
                error = CODEC_ERROR_BAD_VALUE;
            }
            for (int64_t item = 0; item < value && error == CODEC_OK; item++) {
                if (skip->kind == CODEC_SKIP_MAP) {
                    codec_skip key = {.kind = CODEC_SKIP_BYTES};
                    error = codec_skip_value(reader, &key);
                }
                if (error == CODEC_OK) {
                    error = codec_skip_value(reader, &skip->children[0]);
                }
            }
            if (error != CODEC_OK) {
                return error;
            }
        }
    }
    return CODEC_ERROR_INTERNAL;
}

/* One field of another schema version into its member, as the version's plan says. */
static codec_error codec_read_resolved_field(codec_reader *reader, const codec_read_step *step,
                                             const codec_field_layout *field, void *record)
{
    if (step->writer_union) {
        int64_t branch;
        codec_error error = codec_read_long(reader, &branch);
        if (error != CODEC_OK) {
            return error;
        }
        if (branch == step->null_branch) {
            return CODEC_OK; /* the member stays NULL / not present */
        }
        if (branch != step->value_branch) {
            return CODEC_ERROR_BAD_UNION_INDEX;
        }
    }
    switch (field->kind) {
    case CODEC_FIELD_NULLABLE_STRING:
        return codec_read_string(reader, false, codec_string_member(record, field));
    case CODEC_FIELD_NULLABLE_INT:
        *codec_bool_member(record, field->present_offset) = true;
        return codec_read_int(reader, codec_int_member(record, field));
    case CODEC_FIELD_ENUM: {
        int64_t index;
        codec_error error = codec_read_long(reader, &index);
        if (error != CODEC_OK) {
            return error;
        }
        if (index < 0 || (uint64_t)index >= step->writer_symbol_count ||
            step->enum_map[index] < 0) {
            return CODEC_ERROR_BAD_ENUM_INDEX;
        }
        codec_set_enum(record, field, step->enum_map[index]);
        return CODEC_OK;
    }
    default:
        /* Same wire form as the member's own: int read as long is the same varint. */
        return codec_read_field(reader, field, record);
    }
}

static codec_error codec_apply_default(const codec_default *value, const codec_field_layout *field,
                                       void *record)
{
    switch (field->kind) {
    case CODEC_FIELD_STRING:
        *codec_string_member(record, field) = strdup(value->text);
        return *codec_string_member(record, field) ? CODEC_OK : CODEC_ERROR_INTERNAL;
    case CODEC_FIELD_LONG:
        *codec_long_member(record, field) = value->number;
        return CODEC_OK;
    case CODEC_FIELD_INT:
        *codec_int_member(record, field) = (int32_t)value->number;
        return CODEC_OK;
    case CODEC_FIELD_BOOLEAN:
        *codec_bool_member(record, field->offset) = value->number != 0;
        return CODEC_OK;
    case CODEC_FIELD_ENUM:
        codec_set_enum(record, field, (int)value->number);
        return CODEC_OK;
    case CODEC_FIELD_NULLABLE_STRING:
    case CODEC_FIELD_NULLABLE_INT:
        return CODEC_OK; /* null: already zeroed */
    }
    return CODEC_ERROR_INTERNAL;
}

static codec_error codec_read_resolved(codec_reader *reader, const codec_version *version,
                                       const codec_record_layout *layout, void *record)
{
    codec_error error = CODEC_OK;
    for (size_t index = 0; index < version->read_step_count && error == CODEC_OK; index++) {
        const codec_read_step *step = &version->read_steps[index];
        error = step->member < 0 ? codec_skip_value(reader, &step->skip)
                                 : codec_read_resolved_field(reader, step,
                                                             &layout->fields[step->member], record);
    }
    for (size_t index = 0; index < version->default_count && error == CODEC_OK; index++) {
        const codec_default *value = &version->defaults[index];
        error = codec_apply_default(value, &layout->fields[value->member], record);
    }
    return error;
}

/* Checks the header, in either framing; *version gets the schema version it names and
 * *header_length its size. */
static codec_error codec_read_header(const void *data, size_t length, const codec_version **version,
                                     size_t *header_length)
{
    *version = NULL; /* whatever the outcome, never an uninitialised pointer to the caller */
    *header_length = 0;
    if (!codec_state.initialised) {
        return CODEC_ERROR_INTERNAL;
    }
    const uint8_t *bytes = data;
    if (data && length >= CODEC_CONFLUENT_HEADER_LENGTH && bytes[0] == CODEC_CONFLUENT_MAGIC) {
        *header_length = CODEC_CONFLUENT_HEADER_LENGTH;
        uint32_t id = (uint32_t)bytes[1] << 24 | (uint32_t)bytes[2] << 16 |
                      (uint32_t)bytes[3] << 8 | (uint32_t)bytes[4];
        return codec_registry_version(id, version);
    }
    if (!data || length < CODEC_HEADER_LENGTH) {
        return CODEC_ERROR_TOO_SHORT;
    }
    if (bytes[0] != CODEC_MAGIC_FIRST || bytes[1] != CODEC_MAGIC_SECOND) {
        return CODEC_ERROR_BAD_MAGIC;
    }
    *header_length = CODEC_HEADER_LENGTH;
    uint64_t fingerprint = 0;
    for (int index = 0; index < 8; index++) {
        fingerprint |= (uint64_t)bytes[2 + index] << (8 * index);
    }
    for (size_t index = 0; index < codec_state.version_count; index++) {
        if (codec_state.versions[index].fingerprint == fingerprint) {
            *version = &codec_state.versions[index];
            return CODEC_OK;
        }
    }
    return CODEC_ERROR_UNKNOWN_FINGERPRINT;
}

codec_error codec_peek_type(const void *data, size_t length, codec_record_type *type)
{
    const codec_version *found;
    size_t header_length;
    codec_error error = codec_read_header(data, length, &found, &header_length);
    if (error == CODEC_OK && type) {
        *type = found->type;
    }
    return error;
}

int codec_peek_version(const void *data, size_t length)
{
    const codec_version *found;
    size_t header_length;
    return codec_read_header(data, length, &found, &header_length) == CODEC_OK ? found->version : 0;
}

static codec_error codec_decode(codec_record_type type, const void *data, size_t length,
                                void *record)
{
    const codec_record_layout *layout = codec_layout_of(type);
    if (!record || !layout) {
        return CODEC_ERROR_INTERNAL;
    }
    /* Zeroed first, so a failure part-way frees exactly the strings read so far. */
    memset(record, 0, layout->struct_size);
    const codec_version *found;
    size_t header_length = 0;
    codec_error error = codec_read_header(data, length, &found, &header_length);
    if (error == CODEC_OK && found->type != type) {
        error = CODEC_ERROR_UNKNOWN_FINGERPRINT; /* another of our record types */
    }
    if (error != CODEC_OK) {
        return error;
    }
    codec_reader reader = {(const uint8_t *)data + header_length, (const uint8_t *)data + length};
    if (found->is_reader_schema) {
        for (size_t index = 0; index < layout->field_count && error == CODEC_OK; index++) {
            error = codec_read_field(&reader, &layout->fields[index], record);
        }
    } else {
        error = codec_read_resolved(&reader, found, layout, record);
    }
    if (error == CODEC_OK && reader.cursor != reader.end) {
        error = CODEC_ERROR_TRAILING_BYTES;
    }
    if (error != CODEC_OK) {
        codec_free_record(layout, record);
    }
    return error;
}

codec_error codec_decode_check_request(const void *data, size_t length, check_request *record)
{
    return codec_decode(CODEC_RECORD_CHECK_REQUEST, data, length, record);
}

codec_error codec_decode_verdict(const void *data, size_t length, verdict *record)
{
    return codec_decode(CODEC_RECORD_VERDICT, data, length, record);
}

codec_error codec_decode_action(const void *data, size_t length, action *record)
{
    return codec_decode(CODEC_RECORD_ACTION, data, length, record);
}

void check_request_free(check_request *record)
{
    codec_free_record(&codec_record_layouts[CODEC_RECORD_CHECK_REQUEST], record);
}

void verdict_free(verdict *record)
{
    codec_free_record(&codec_record_layouts[CODEC_RECORD_VERDICT], record);
}

void action_free(action *record)
{
    codec_free_record(&codec_record_layouts[CODEC_RECORD_ACTION], record);
}
