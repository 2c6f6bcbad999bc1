# syntax=docker/dockerfile:1
# sohbet: one Rust binary plus the static/ folder it serves from disk.
#   docker build -t sohbet .
#   docker run -p 5000:5000 \
#     -e SECRET_KEY="$(openssl rand -base64 48)" -e ADMIN_PASSWORD='choose-one' \
#     -v sohbet-data:/app/data -v sohbet-uploads:/app/uploads sohbet
# (the image runs with APP_ENV=production, which refuses to start without
# SECRET_KEY or with the default admin password; keep SECRET_KEY stable
# across restarts, e.g. in an --env-file, or everyone is logged out).

# ---- build ------------------------------------------------------------------
# The crate needs Rust 1.94+; rust:1-bookworm follows the newest stable 1.x.
FROM rust:1-bookworm AS builder
WORKDIR /src

# 1. Dependencies only, cached until Cargo.toml/Cargo.lock change: build them
#    against a dummy crate, then drop the dummy's own artefacts. The
#    workspace names the benchmark (`bench/`: its manifest and a dummy main
#    are enough, it is not built) and the patched engineioxide (`vendor/`,
#    built as a dependency).
COPY Cargo.toml Cargo.lock ./
COPY bench/Cargo.toml bench/Cargo.toml
COPY vendor/ vendor/
RUN mkdir -p src bench/src \
 && echo 'fn main() {}' > src/main.rs \
 && echo 'fn main() {}' > bench/src/main.rs \
 && touch src/lib.rs \
 && cargo build --release --locked --bin sohbet \
 && rm -rf src target/release/.fingerprint/sohbet-* \
           target/release/deps/sohbet-* target/release/deps/libsohbet-*

# 2. The crate itself. askama templates and sqlx migrations are compiled into
#    the binary, so templates/ and migrations/ are needed here.
COPY src/ src/
COPY templates/ templates/
COPY migrations/ migrations/
COPY static/ static/
RUN cargo build --release --locked --bin sohbet \
 && cp target/release/sohbet /usr/local/bin/sohbet

# ---- run --------------------------------------------------------------------
FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 sohbet \
 && useradd --system --uid 10001 --gid 10001 --home-dir /app \
            --no-create-home --shell /usr/sbin/nologin sohbet

# The server serves static/ and resolves data/ and uploads/ relative to its
# working directory. Mount volumes on /app/data (SQLite) and /app/uploads
# (local media) to keep them across deploys; with Postgres and Cloudinary
# nothing on disk needs to persist.
WORKDIR /app
COPY --from=builder /usr/local/bin/sohbet /app/sohbet
COPY --from=builder /src/static /app/static
RUN mkdir -p /app/data /app/uploads && chown 10001:10001 /app/data /app/uploads

USER 10001:10001
ENV APP_ENV=production \
    HOST=0.0.0.0 \
    PORT=5000 \
    RUST_LOG=info,sohbet=info
EXPOSE 5000

# The binary asks GET /health/ready of its own port (503 until migrations ran
# and the database answers): exit 0 healthy, 1 not. Platforms may also probe
# /health/ready and /health/live over HTTP.
HEALTHCHECK --interval=30s --timeout=10s --start-period=30s --retries=3 \
    CMD ["/app/sohbet", "healthcheck"]
CMD ["/app/sohbet"]
