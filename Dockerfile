# Multi-stage image of the six programs on Debian 12.
#   build:   the -dev packages, CMake, the sources -> /out/bin
#   runtime: only the shared libraries they link, the programs, psql + curl (init, health
#            checks), the migrations and scripts, a non-root user
# compose.yaml builds it as instance-reconciler:dev; each service picks its program with
# `command:`.
FROM debian:12 AS build
# check: the root CMakeLists.txt looks it up at configure time, although the image builds no
# tests (tests/ and bench/ are not copied, and CMake skips absent parts).
RUN apt-get update && apt-get install -y --no-install-recommends \
      build-essential cmake pkg-config \
      librdkafka-dev libpq-dev libcurl4-openssl-dev libavro-dev check libjansson-dev \
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
RUN cmake -S . -B /build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DRECONCILER_WERROR=ON \
    && cmake --build /build -j"$(nproc)" \
    && mkdir -p /out/bin \
    && cp /build/producer/reconciler-producer /build/checker/reconciler-checker \
          /build/actuator/reconciler-actuator /build/tools/audit/reconciler-audit \
          /build/tools/fleet-sim/fleet-sim /build/tools/topics/reconciler-topics /out/bin/

FROM debian:12-slim AS runtime
# The libraries the programs link (readelf -d: librdkafka, libpq, libcurl, libjansson,
# libmicrohttpd, libuuid; avro-c is only used by a unit test, so libavro23 is not needed),
# ca-certificates for an https CP or workspace server, postgresql-client for migrate.sh,
# curl for the compose health checks.
RUN apt-get update && apt-get install -y --no-install-recommends \
      librdkafka1 libpq5 libcurl4 libjansson4 libmicrohttpd12 libuuid1 \
      ca-certificates postgresql-client curl \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --no-create-home --shell /usr/sbin/nologin reconciler
COPY --from=build /out/bin/ /usr/local/bin/
# Fail the image build, not the first container start, if a linked library is missing.
RUN for program in /usr/local/bin/*; do \
      if ldd "$program" | grep 'not found'; then echo "missing library for $program" >&2; exit 1; fi; \
    done
COPY migrations /opt/reconciler/migrations
COPY scripts/migrate.sh scripts/container-init.sh /opt/reconciler/scripts/
USER reconciler
# Each service chooses its program with `command:`; the producer is only a default.
CMD ["reconciler-producer"]
