# syntax=docker/dockerfile:1
# orchestratord on Debian 12 slim. Not built in CI (no Docker engine there); build with
#   docker build -t orchestrator/orchestratord:0.1.0 .
# and deploy with the chart in helm/orchestrator.

# ---- build: the same dependency script and cmake build that CI runs --------------------------
FROM debian:12-slim AS build
ENV DEBIAN_FRONTEND=noninteractive
WORKDIR /src
COPY . .
# scripts/deps.sh installs the build (and test) packages CI installs, as root, with apt.
RUN scripts/deps.sh && rm -rf /var/lib/apt/lists/*
# scripts/run.sh and scripts/test.sh: cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo,
# then cmake --build. The tests are not needed in the image.
RUN cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DORCH_TESTS=OFF \
 && cmake --build build -j"$(nproc)" --target orchestratord orchctl \
 && mkdir -p /out \
 && objcopy --strip-debug build/server/orchestratord /out/orchestratord \
 && objcopy --strip-debug build/client/orchctl /out/orchctl

# ---- runtime: only the shared libraries the binaries link --------------------------------------
FROM debian:12-slim
ENV DEBIAN_FRONTEND=noninteractive
RUN apt-get update -q \
 && apt-get install -y -q --no-install-recommends \
      libgrpc29 libprotobuf-c1 libpq5 libjansson4 libuuid1 libjwt0 libmicrohttpd12 libssl3 \
      ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 orchestrator \
 && useradd --system --uid 10001 --gid 10001 --no-create-home --home-dir /nonexistent \
      --shell /usr/sbin/nologin orchestrator
COPY --from=build /out/orchestratord /out/orchctl /usr/local/bin/
# Numeric, so that Kubernetes' runAsNonRoot can verify it.
USER 10001:10001
ENV ORCH_LISTEN=0.0.0.0:50051 \
    ORCH_LOG_FORMAT=json
EXPOSE 50051
ENTRYPOINT ["/usr/local/bin/orchestratord"]
