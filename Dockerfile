# firecredit: multi-stage build, --locked release binary, slim non-root runtime.
# Targets: `runtime` (the default: the CLI), `scheduler` and `executor` (a Ballista cluster
# from the same binary). The image is built with S3 and Ballista support; pass
# `--build-arg FEATURES=` for a local-only binary.
#   docker build -t firecredit .
#   docker build --target scheduler -t firecredit-scheduler .
#   docker build --target executor -t firecredit-executor .
FROM rust:1.95-slim-bookworm AS build
ARG FEATURES="s3 ballista"
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
# Every workspace member (Cargo.toml `members`) and what their sources include.
COPY contract contract
COPY pipeline pipeline
COPY models models
COPY generate generate
COPY sql sql
COPY tests tests
COPY benches benches
RUN cargo build --release --locked -p firecredit --bin firecredit --features "$FEATURES"

FROM debian:bookworm-slim AS base
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --create-home --uid 10001 firecredit
COPY --from=build /src/target/release/firecredit /usr/local/bin/firecredit
USER firecredit
WORKDIR /home/firecredit

# Ballista has no authentication: whoever reaches these ports runs SQL with the lake's
# credentials. The images listen where the operator says (FIRECREDIT_BIND_HOST), loopback by
# default; publish the ports on a private network only, e.g.
#   docker run -e FIRECREDIT_BIND_HOST=0.0.0.0 -p 10.0.0.5:50050:50050 firecredit-scheduler

# Ballista scheduler: clients (`--engine ballista://HOST:50050`) and executors connect here.
FROM base AS scheduler
ENV FIRECREDIT_BIND_HOST=127.0.0.1
EXPOSE 50050
ENTRYPOINT ["sh", "-c", "exec firecredit scheduler --bind-host \"$FIRECREDIT_BIND_HOST\" \"$@\"", "--"]

# Ballista executor: give it the scheduler (`--scheduler-host`) and, for an S3 lake, `--lake`
# and the AWS_* environment; 50051 is Arrow Flight, 50052 gRPC.
FROM base AS executor
ENV FIRECREDIT_BIND_HOST=127.0.0.1
EXPOSE 50051 50052
ENTRYPOINT ["sh", "-c", "exec firecredit executor --bind-host \"$FIRECREDIT_BIND_HOST\" \"$@\"", "--"]

FROM base AS runtime
ENTRYPOINT ["firecredit"]
CMD ["--help"]
