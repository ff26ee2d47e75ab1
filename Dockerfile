# syntax=docker/dockerfile:1
#
# articlebot as a container image: built on the official Rust image, run on Debian slim as a
# non-root user. The default command is the HTTP interactions endpoint on port 8080; the
# gateway bot is `serve` (see deploy/compose.yaml). Build from the repository's root:
#
#   docker build -t articlebot .
#   docker run -e DISCORD_PUBLIC_KEY=... -p 8080:8080 -v articlebot-data:/app/data articlebot

ARG RUST_VERSION=1.95
ARG DEBIAN_RELEASE=trixie

FROM rust:${RUST_VERSION}-${DEBIAN_RELEASE} AS builder
WORKDIR /src
# The whole tree: Cargo reads every target the manifest names (benches, tests, the eval
# binary) even to build one. .dockerignore keeps target/ and data/ out.
COPY . .
# The registry and target folders are cache mounts, so a rebuild after a source change
# recompiles articlebot only; the binary is copied out of the cached target folder.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked --bin articlebot \
    && install -m 0755 target/release/articlebot /usr/local/bin/articlebot

FROM debian:${DEBIAN_RELEASE}-slim AS runtime
# git: `git` sources run the system git. ca-certificates: git over https (the bot's own HTTPS
# clients carry their roots). Versions follow the Debian release chosen above.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates git \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --user-group --home-dir /app --no-create-home \
       --shell /usr/sbin/nologin articlebot
WORKDIR /app
COPY --from=builder /usr/local/bin/articlebot /usr/local/bin/articlebot
# The configuration and the sample articles are read-only (owned by root). Relative paths in
# config.toml are resolved against /app: content/ and data/ (index, statistics, sources).
COPY config.toml /app/config.toml
COPY content/ /app/content/
# data/ is the bot's only writable folder; made here, owned by the bot, so that a new named
# volume mounted on it starts with the right owner.
RUN mkdir -p /app/data && chown articlebot:articlebot /app/data && chmod 0700 /app/data
VOLUME ["/app/data", "/app/content"]
# Numeric, so that the runtime can check it is not root without reading /etc/passwd.
USER 10001:10001
ENV NO_COLOR=1
EXPOSE 8080
# serve-http's /healthz, with bash's /dev/tcp (the slim image has no HTTP client). A
# container running `serve` has no HTTP port unless it is given `--metrics ADDR`: compose
# sets its own check (see deploy/compose.yaml).
HEALTHCHECK --interval=30s --timeout=5s --start-period=120s --retries=3 \
    CMD ["bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/8080 && printf 'GET /healthz HTTP/1.0\\r\\n\\r\\n' >&3 && head -n 1 <&3 | grep -q ' 200 '"]
ENTRYPOINT ["articlebot", "--config", "/app/config.toml"]
CMD ["serve-http", "--listen", "0.0.0.0:8080"]
