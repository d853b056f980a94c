/* codec_internal.h — what codec.c (reading and writing bytes) and codec_resolve.c (planning
 * how one schema version maps onto the C structs) share. Not for the programs: they use
 * codec.h only.
 *
 * The C structs are the reader's schema: the field layout tables in codec.c say which Avro
 * field fills which member. Every other schema version of a record type (older, newer, or
 * learned at run time) gets a plan, built once at codec_init: for decoding, one step per
 * field the writer wrote (fill a member, or skip the bytes) plus the defaults of the members
 * the writer did not write; for encoding, one step per field of that version (a member's
 * value, or the version's default bytes). That is Avro schema resolution (writer schema ->
 * reader schema) compiled ahead, so the per-record cost is one table walk. */
#ifndef RECONCILER_CODEC_INTERNAL_H
#define RECONCILER_CODEC_INTERNAL_H

#include "codec.h"

#include <jansson.h>

typedef enum {
    CODEC_FIELD_STRING,          /* "string"; char *, NULL written as "" */
    CODEC_FIELD_LONG,            /* "long"; int64_t */
    CODEC_FIELD_INT,             /* "int"; int32_t */
    CODEC_FIELD_BOOLEAN,         /* "boolean"; bool */
    CODEC_FIELD_ENUM,            /* an enum; a C enum of int size */
    CODEC_FIELD_NULLABLE_STRING, /* ["null","string"]; char *, NULL = null */
    CODEC_FIELD_NULLABLE_INT,    /* ["null","int"]; int32_t plus a bool "has" flag */
} codec_field_kind;

typedef struct {
    const char *full_name; /* e.g. "reconciler.v1.Liveness" */
    const char *const *symbols;
    size_t symbol_count;
} codec_enum_layout;

typedef struct {
    const char *name; /* the Avro field name, which is also the C member's name */
    codec_field_kind kind;
    size_t offset;            /* of the member in the C struct */
    size_t present_offset;    /* CODEC_FIELD_NULLABLE_INT: of the bool saying "not null" */
    const char *logical_type; /* expected "logicalType" in the .avsc, or NULL */
    bool non_empty;           /* "" is CODEC_ERROR_BAD_VALUE both ways */
    const codec_enum_layout *enumeration; /* CODEC_FIELD_ENUM only */
} codec_field_layout;

typedef struct {
    const char *full_name;   /* e.g. "reconciler.v1.Verdict" */
    const char *record_name; /* the history directory: "Verdict" */
    const char *file_name;   /* for messages: "verdict.avsc" */
    const char *schema_json;
    size_t struct_size;
    const codec_field_layout *fields;
    size_t field_count;
} codec_record_layout;

/* How to step over a value of a writer-only field: the writer schema compiled to a tree. */
typedef enum {
    CODEC_SKIP_NULL,
    CODEC_SKIP_BOOLEAN,
    CODEC_SKIP_VARINT, /* int, long, enum */
    CODEC_SKIP_FLOAT,
    CODEC_SKIP_DOUBLE,
    CODEC_SKIP_BYTES, /* bytes, string */
    CODEC_SKIP_FIXED,
    CODEC_SKIP_UNION,
    CODEC_SKIP_RECORD,
    CODEC_SKIP_ARRAY,
    CODEC_SKIP_MAP,
} codec_skip_kind;

typedef struct codec_skip {
    codec_skip_kind kind;
    size_t size;        /* CODEC_SKIP_FIXED */
    size_t child_count; /* union branches, record fields, 1 for array items / map values */
    struct codec_skip *children;
} codec_skip;

/* One field as the writer wrote it. */
typedef struct {
    int member;                 /* index into the layout's fields, or -1: skip it */
    codec_skip skip;            /* member < 0 */
    bool writer_union;          /* the writer wrote a union index before the value */
    int null_branch;            /* writer union: the index of "null", or -1 */
    int value_branch;           /* writer union: the index of the value's type, or -1 */
    int *enum_map;              /* writer symbol index -> reader symbol index (-1: none) */
    size_t writer_symbol_count; /* entries in enum_map */
} codec_read_step;

/* A member the writer did not write: the reader schema's default goes in. */
typedef struct {
    int member;
    const char *text; /* string kinds; NULL = null */
    int64_t number;   /* long, int, boolean (0/1), enum index */
} codec_default;

/* One field of a version being written: a member's value, or fixed default bytes. */
typedef struct {
    int member; /* -1: write default_bytes */
    uint8_t *default_bytes;
    size_t default_length;
} codec_write_step;

typedef struct {
    codec_record_type type;
    int version;
    char *origin;      /* the file it came from, for messages */
    char *schema_json; /* the writer schema as written (what a registry is given) */
    char *canonical_form;
    uint64_t fingerprint;
    bool is_reader_schema; /* identical to the C structs: decoded without a plan */
    codec_read_step *read_steps;
    size_t read_step_count;
    codec_default *defaults;
    size_t default_count;
    codec_write_step *write_steps;
    size_t write_step_count;
} codec_version;

/* Builds the plans of `version` (type, version, origin already set) from the writer schema
 * text: against the layout (the C structs) and the reader schema's raw JSON (its defaults).
 * Fills canonical_form and fingerprint. false with a one-line reason in error when the two
 * schemas cannot be resolved (a member with no default the writer lacks, a type change Avro
 * does not promote); then nothing is left to free. */
bool codec_version_build(codec_version *version, const codec_record_layout *layout,
                         const char *writer_schema_json, char *error, size_t error_size);
void codec_version_free(codec_version *version);

/* Does one canonical field type (from the PCF) match what the layout encodes exactly? */
bool codec_field_type_matches(const codec_field_layout *field, json_t *type, char *error,
                              size_t error_size);

#endif
