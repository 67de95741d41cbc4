# firecredit: multi-stage build, --locked release binary, slim non-root runtime.
FROM rust:1.95-slim-bookworm AS build
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
COPY pipeline pipeline
COPY models models
COPY sql sql
COPY tests tests
COPY benches benches
RUN cargo build --release --locked -p firecredit --bin firecredit

FROM debian:bookworm-slim AS runtime
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --create-home --uid 10001 firecredit
COPY --from=build /src/target/release/firecredit /usr/local/bin/firecredit
USER firecredit
WORKDIR /home/firecredit
ENTRYPOINT ["firecredit"]
CMD ["--help"]
