# Multi-stage image of the six programs on Debian 12 (docs/containers.md).
#   build:    the -dev packages, CMake, the sources -> /out/bin (stripped), /out/debug
#   debug:    only the split-off debug info (/usr/lib/debug/.build-id/...), FROM scratch
#   base:     the shared libraries the programs link, the programs, a non-root user
#   init:     base + psql, the migrations and the init scripts (compose's one-shot `init`)
#   runtime:  base, nothing else: the default target, what every long-running service runs
# compose.yaml builds `runtime` as instance-reconciler:dev and `init` as
# instance-reconciler-init:dev; each service picks its program with `command:`.
#
# BASE_IMAGE / RUNTIME_BASE_IMAGE: where a registry is reachable, pin them by digest
# (--build-arg RUNTIME_BASE_IMAGE=debian:12-slim@sha256:...) so a rebuild gets the same bytes;
# here scripts/containers.sh makes them locally with debootstrap.
# VERSION / REVISION / SOURCE: the OCI labels (tests/containers/test_compose.sh passes git's).
ARG BASE_IMAGE=debian:12
ARG RUNTIME_BASE_IMAGE=debian:12-slim

FROM ${BASE_IMAGE} AS build
# No Check, no avro-c: the image builds no tests (RECONCILER_BUILD_TESTS=OFF below).
RUN apt-get update && apt-get install -y --no-install-recommends \
      build-essential cmake pkg-config \
      librdkafka-dev libpq-dev libcurl4-openssl-dev libjansson-dev libjemalloc-dev \
      libmicrohttpd-dev uuid-dev \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
# Only what the build reads: a `COPY . .` would also send .cache/ (the Kafka jars, the test
# virtualenv) and any local build directory, and would rebuild on every test-only change.
COPY CMakeLists.txt ./
COPY cmake cmake
COPY schemas schemas
COPY common common
COPY producer producer
COPY checker checker
COPY actuator actuator
COPY tools tools
# RelWithDebInfo: Release's optimisation (-O2, NDEBUG) plus -g, so that the debug info can be
# split off: the shipped programs are stripped, and a core dump or perf profile of them is
# symbolised with the `debug` stage's files, found by build id (gdb, eu-stack, perf).
# There is no .git in the build context: the revision that --version and reconciler_build_info
# report comes from the same build argument as the image's OCI revision label.
ARG REVISION=unknown
RUN cmake -S . -B /build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DRECONCILER_WERROR=ON \
      -DRECONCILER_BUILD_TESTS=OFF -DRECONCILER_REVISION="${REVISION}" \
    && cmake --build /build -j"$(nproc)" \
    && mkdir -p /out/bin \
    && cp /build/producer/reconciler-producer /build/checker/reconciler-checker \
          /build/actuator/reconciler-actuator /build/tools/audit/reconciler-audit \
          /build/tools/fleet-sim/fleet-sim /build/tools/topics/reconciler-topics /out/bin/ \
    && for program in /out/bin/*; do \
         build_id=$(readelf -n "$program" | sed -n 's/^ *Build ID: *//p'); \
         [ -n "$build_id" ] || { echo "no build id in $program" >&2; exit 1; }; \
         debug="/out/debug/usr/lib/debug/.build-id/${build_id%"${build_id#??}"}/${build_id#??}.debug"; \
         mkdir -p "$(dirname "$debug")"; \
         objcopy --only-keep-debug --compress-debug-sections "$program" "$debug"; \
         strip --strip-debug --strip-unneeded "$program"; \
         objcopy --add-gnu-debuglink="$debug" "$program"; \
       done

# The debug info alone: `podman build --target debug -t instance-reconciler-debug:dev .`, then
# copy /usr/lib/debug out of it (or mount it) next to a core dump.
FROM scratch AS debug
COPY --from=build /out/debug/ /

FROM ${RUNTIME_BASE_IMAGE} AS base
# Only the libraries the programs link (readelf -d: librdkafka, libpq, libcurl, libjansson,
# libmicrohttpd, libuuid, jemalloc for the checker; avro-c is only used by a unit test),
# ca-certificates for an https CP or workspace server, and curl for the health checks
# (compose.yaml; it adds only its binary, libcurl4 is needed anyway).
RUN apt-get update && apt-get install -y --no-install-recommends \
      librdkafka1 libpq5 libcurl4 libjansson4 libmicrohttpd12 libuuid1 libjemalloc2 \
      ca-certificates curl \
    && rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin /var/log/apt /var/log/dpkg.log \
    && groupadd --system --gid 10001 reconciler \
    && useradd --system --uid 10001 --gid 10001 --no-create-home --shell /usr/sbin/nologin reconciler
COPY --from=build /out/bin/ /usr/local/bin/
# Fail the image build, not the first container start, if a linked library is missing.
RUN for program in /usr/local/bin/*; do \
      if ldd "$program" | grep 'not found'; then echo "missing library for $program" >&2; exit 1; fi; \
    done
ARG VERSION=0.1.0
ARG REVISION=unknown
ARG SOURCE=unknown
# podman 4.3's builder keys a cached LABEL step on its text, not on the build arguments in it
# (a new revision would keep the old label); a RUN step is keyed on them, so a changed value
# rebuilds from here on (one empty layer).
RUN : "${VERSION}" "${REVISION}" "${SOURCE}"
LABEL org.opencontainers.image.title="instance-reconciler" \
      org.opencontainers.image.description="Heals workspaces whose cloud instance died underneath them" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.source="${SOURCE}"
# Nothing is written to the image's filesystem at run time (logs go to stderr, state to
# PostgreSQL and Kafka): the containers run with a read-only root filesystem (compose.yaml).
USER 10001:10001

# The one-shot init: psql (and the perl it brings with postgresql-common) stays out of the
# programs' image.
FROM base AS init
USER root
RUN apt-get update && apt-get install -y --no-install-recommends postgresql-client \
    && rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin /var/log/apt /var/log/dpkg.log
COPY migrations /opt/reconciler/migrations
COPY scripts/migrate.sh scripts/container-init.sh /opt/reconciler/scripts/
USER 10001:10001
CMD ["/opt/reconciler/scripts/container-init.sh"]

# Last, so that a plain `docker build .` gives the programs' image.
FROM base AS runtime
# Each service chooses its program with `command:`; the producer is only a default.
CMD ["reconciler-producer"]
