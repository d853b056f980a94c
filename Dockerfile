# Multi-stage image of the five programs on Debian 12.
#   build:   the -dev packages, CMake, the sources -> /out/bin
#   runtime: only the shared libraries they link, the programs, the migrations, a non-root user
FROM debian:12 AS build
RUN apt-get update && apt-get install -y --no-install-recommends \
      build-essential cmake pkg-config \
      librdkafka-dev libpq-dev libcurl4-openssl-dev libavro-dev check libjansson-dev \
      libmicrohttpd-dev uuid-dev python3 \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN cmake -S . -B /build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DRECONCILER_WERROR=ON \
    && cmake --build /build -j"$(nproc)" \
    && mkdir -p /out/bin \
    && cp /build/producer/reconciler-producer /build/checker/reconciler-checker \
          /build/actuator/reconciler-actuator /build/tools/audit/reconciler-audit \
          /build/tools/fleet-sim/fleet-sim /out/bin/

FROM debian:12-slim AS runtime
RUN apt-get update && apt-get install -y --no-install-recommends \
      librdkafka1 libpq5 libcurl4 libavro23 libjansson4 libmicrohttpd12 libuuid1 \
      ca-certificates postgresql-client curl \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --no-create-home --shell /usr/sbin/nologin reconciler
COPY --from=build /out/bin/ /usr/local/bin/
COPY migrations /opt/reconciler/migrations
COPY scripts/migrate.sh scripts/container-init.sh /opt/reconciler/scripts/
USER reconciler
# Each service chooses its program with `command:`; the producer is only a default.
CMD ["reconciler-producer"]
