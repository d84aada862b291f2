# One image for every Banter target: `banter serve --target users|friends|chat|
# notifications|all`, plus `loadgen` and `slo`. compose.yml builds it once and
# runs each service from it with its own BANTER_TARGET.
#
#   docker build -t banter .
#   docker run --rm -p 8000:8000 -e BANTER_HOST=0.0.0.0 banter

# --- build: the release binaries -------------------------------------------------
FROM rust:1.95-slim-bookworm AS build
WORKDIR /src
# The commit for build_info{git_sha}; .git is not in the build context.
ARG GIT_SHA=unknown
ENV BANTER_GIT_SHA=${GIT_SHA} CARGO_TERM_COLOR=never
# librdkafka (the Kafka client) and libsodium (password hashing) are built from
# their bundled sources with configure + make.
RUN apt-get update \
 && apt-get install -y --no-install-recommends make \
 && rm -rf /var/lib/apt/lists/*
COPY . .
# Cache mounts keep the registry and target dir between builds (BuildKit).
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked -p banter -p banter-loadgen -p banter-slo \
 && mkdir -p /out \
 && cp target/release/banter target/release/loadgen target/release/slo /out/
# The binaries carry no debug info ([profile.release] strip in Cargo.toml).

# --- runtime: small, non-root ------------------------------------------------------
FROM debian:bookworm-slim AS runtime
# ca-certificates: HTTPS to Loki/OTLP endpoints; curl: container healthchecks.
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates curl \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --home-dir /data --create-home banter
COPY --from=build /out/ /usr/local/bin/
USER 10001:10001
WORKDIR /data
ENV BANTER_HOST=0.0.0.0 \
    BANTER_DATA_DIR=/data \
    BANTER_LOG_FORMAT=json
EXPOSE 8000 8002 8003 8004 8005
# Healthchecks are per target (each listens on its own port): see compose.yml.
ENTRYPOINT ["banter"]
CMD ["serve"]
