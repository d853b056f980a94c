/* schema_registry.h — start-up of the codec with the program's schema settings, and the
 * optional Confluent-API schema registry (SCHEMA_REGISTRY_URL; docs/schemas.md, "Schema
 * registry").
 *
 * Without SCHEMA_REGISTRY_URL (the default) this is codec_init_with(SCHEMA_DIR,
 * SCHEMA_WRITE_VERSIONS) and records are written in Avro single-object encoding. With it, the
 * schema each program writes is registered under "<topic>-value" (TopicNameStrategy) and
 * written in the Confluent framing (00 + 4-byte schema id); readers accept both framings and
 * fetch an unknown schema id from the registry once. While the registry cannot answer, a
 * reader waits and retries (it never dead-letters a record because of it). */
#ifndef RECONCILER_SCHEMA_REGISTRY_H
#define RECONCILER_SCHEMA_REGISTRY_H

#include "codec.h"
#include "config.h"

#include <stdbool.h>
#include <stdio.h>

/* codec_init_with the common settings, then, in registry mode, the registry client and the
 * registration of the schema of the record type the program writes (`writes`; NULL = none)
 * under "<its topic>-value", the topic taken from the common settings. false, with an error
 * line logged ("schema registry refused the schema", ...), when the process must not start;
 * the codec is then shut down again. */
bool schema_setup(const common_settings *common, const codec_record_type *writes);

/* --check-config's schema lines, "schema-write:Verdict=1 (default-previous)" per record type,
 * from the codec as codec_init_with the common settings left it. */
void schema_print_write_versions(FILE *out);

/* "single-object" or "schema-registry": the wire format this process writes. */
const char *schema_mode_name(const common_settings *common);

#endif
