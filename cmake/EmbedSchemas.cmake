# Turns schemas/*.avsc into a C source file at build time, so the .avsc files stay the
# single source of truth: editing one rebuilds every binary that embeds it.
# reconciler_embed_schemas() must be called from the directory whose target compiles the
# generated file (a custom command's output is only known in its own directory).
set(RECONCILER_SCHEMA_FILES
  ${PROJECT_SOURCE_DIR}/schemas/check_request.avsc
  ${PROJECT_SOURCE_DIR}/schemas/verdict.avsc
  ${PROJECT_SOURCE_DIR}/schemas/action.avsc)
# Every released version of each schema (docs/schemas.md): the codec reads all of them.
file(GLOB RECONCILER_SCHEMA_HISTORY_FILES CONFIGURE_DEPENDS
  ${PROJECT_SOURCE_DIR}/schemas/history/*/v*.avsc)
list(SORT RECONCILER_SCHEMA_HISTORY_FILES)
set(RECONCILER_EMBEDDED_SCHEMAS_C ${PROJECT_BINARY_DIR}/generated/schemas_embedded.c)

function(reconciler_embed_schemas)
  # A list would be split into separate command arguments: pass it '|'-separated.
  string(REPLACE ";" "|" inputs "${RECONCILER_SCHEMA_FILES}")
  string(REPLACE ";" "|" history "${RECONCILER_SCHEMA_HISTORY_FILES}")
  add_custom_command(
    OUTPUT ${RECONCILER_EMBEDDED_SCHEMAS_C}
    COMMAND ${CMAKE_COMMAND} -DOUTPUT=${RECONCILER_EMBEDDED_SCHEMAS_C}
            "-DINPUTS=${inputs}" "-DHISTORY=${history}"
            -P ${PROJECT_SOURCE_DIR}/cmake/embed_schemas_script.cmake
    DEPENDS ${RECONCILER_SCHEMA_FILES} ${RECONCILER_SCHEMA_HISTORY_FILES}
           ${PROJECT_SOURCE_DIR}/cmake/embed_schemas_script.cmake
    COMMENT "Embedding Avro schemas"
    VERBATIM)
endfunction()
