# RECONCILER_REVISION: the git commit this build was configured from ("unknown" outside a
# git checkout, e.g. a source tarball), printed by --version and exported as the revision
# label of reconciler_build_info. Read at configure time; the HEAD files are configure
# dependencies, so a commit or checkout re-runs the configure step on the next build.
#
# -DRECONCILER_REVISION=<commit> sets it where there is no .git (a container build given the
# commit as a build argument).
set(RECONCILER_REVISION "" CACHE STRING "git revision to report; empty = ask git")
set(revision_given "${RECONCILER_REVISION}")
set(RECONCILER_REVISION "unknown")
if(NOT revision_given STREQUAL "")
  set(RECONCILER_REVISION "${revision_given}")
endif()
find_package(Git QUIET)
if(GIT_FOUND AND revision_given STREQUAL "")
  execute_process(COMMAND ${GIT_EXECUTABLE} rev-parse --short=12 HEAD
    WORKING_DIRECTORY ${PROJECT_SOURCE_DIR}
    OUTPUT_VARIABLE revision OUTPUT_STRIP_TRAILING_WHITESPACE
    RESULT_VARIABLE revision_status ERROR_QUIET)
  if(revision_status EQUAL 0 AND NOT revision STREQUAL "")
    set(RECONCILER_REVISION "${revision}")
    foreach(head HEAD logs/HEAD)
      execute_process(COMMAND ${GIT_EXECUTABLE} rev-parse --path-format=absolute --git-path ${head}
        WORKING_DIRECTORY ${PROJECT_SOURCE_DIR}
        OUTPUT_VARIABLE head_path OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
      if(EXISTS "${head_path}")
        set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS "${head_path}")
      endif()
    endforeach()
  endif()
endif()
message(STATUS "instance-reconciler ${RECONCILER_VERSION}, revision ${RECONCILER_REVISION}")
