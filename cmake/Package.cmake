# `cmake --install` and CPack's .deb (docs/deployment.md). Installed: the six programs, the
# migrations with the script that applies them, the alert rules and dashboard, the docs.
# scripts/check-package.sh builds the .deb from a Release build without tests and proves
# every program runs from where the package puts it.
include(GNUInstallDirs)
set(RECONCILER_DATA_DIR ${CMAKE_INSTALL_DATADIR}/instance-reconciler)
# The package's name, not the CMake project's (instance_reconciler): Debian's policy.
set(RECONCILER_DOC_DIR ${CMAKE_INSTALL_DATADIR}/doc/instance-reconciler)

install(TARGETS reconciler-producer reconciler-checker reconciler-actuator reconciler-audit
                reconciler-topics fleet-sim
        RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
# migrate.sh finds the migrations at ../migrations from itself, as in the source tree.
install(DIRECTORY migrations/ DESTINATION ${RECONCILER_DATA_DIR}/migrations
        PATTERN fixtures EXCLUDE)
install(PROGRAMS scripts/migrate.sh DESTINATION ${RECONCILER_DATA_DIR}/scripts)
install(DIRECTORY ops/ DESTINATION ${RECONCILER_DATA_DIR}/ops)
install(FILES README.md DESTINATION ${RECONCILER_DOC_DIR})
install(DIRECTORY docs/ DESTINATION ${RECONCILER_DOC_DIR})

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME instance-reconciler)
set(CPACK_PACKAGE_VERSION ${RECONCILER_VERSION})
set(CPACK_PACKAGE_VENDOR "instance-reconciler")
set(CPACK_PACKAGE_CONTACT "instance-reconciler maintainers <reconciler@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY
    "Reconciles a workspace registry with the control plane's instances (Kafka, PostgreSQL)")
set(CPACK_PACKAGE_INSTALL_DIRECTORY instance-reconciler)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION net)
# The runtime libraries (librdkafka, libpq, libcurl, jansson, libmicrohttpd, libuuid) as
# dpkg-shlibdeps derives them from the binaries, with the versions they were linked against.
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
# migrate.sh runs psql; the programs do not need it.
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "postgresql-client")
set(CPACK_STRIP_FILES ON)
include(CPack)
