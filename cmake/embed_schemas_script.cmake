# cmake -P script: writes OUTPUT, a C file with one NUL-terminated byte array per input
# schema, named reconciler_schema_<basename>_json (e.g. reconciler_schema_verdict_json).
set(content "/* Generated from the schemas directory (.avsc files) by cmake/embed_schemas_script.cmake. Do not edit. */\n")
string(REPLACE "|" ";" INPUTS "${INPUTS}")
foreach(input ${INPUTS})
  get_filename_component(base ${input} NAME_WE)
  file(READ ${input} hex HEX)
  string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," hex "${hex}")
  string(APPEND content "const char reconciler_schema_${base}_json[] = {${hex}0x00};\n")
endforeach()
file(WRITE ${OUTPUT}.tmp "${content}")
file(COPY_FILE ${OUTPUT}.tmp ${OUTPUT} ONLY_IF_DIFFERENT)
file(REMOVE ${OUTPUT}.tmp)
