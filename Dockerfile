# Chronik Stream: the broker and the admin CLI as one compiled binary on a small base image.
#   docker build -t chronik .
#   docker run -p 9092:9092 -p 8080:8080 -e CHRONIK_ADVERTISED_HOST=<host clients use> -v chronik-data:/var/lib/chronik chronik
# Configure with CHRONIK_<NAME> variables (CHRONIK_NUM_PARTITIONS=3), a mounted server.properties
# (CHRONIK_CONFIG_FILE=/etc/chronik/server.properties) or arguments after the image name.

# 1. Build: bun compiles adapters/bun.ts and its dependencies into one executable.
FROM oven/bun:1 AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN bun install --production --ignore-scripts
COPY mod.ts ./
COPY src ./src
COPY adapters ./adapters
RUN bun build --compile --bytecode --format=esm adapters/bun.ts --outfile /out/chronik \
  && mkdir -p /out/data

# 2. Run: glibc and nothing else (no shell, no package manager), as a non-root user.
FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=build /out/chronik /usr/local/bin/chronik
COPY --from=build --chown=65532:65532 /out/data /var/lib/chronik
USER 65532:65532
ENV CHRONIK_HOST=0.0.0.0 \
    CHRONIK_PORT=9092 \
    CHRONIK_DATA_DIR=/var/lib/chronik \
    CHRONIK_HTTP_PORT=8080 \
    CHRONIK_HTTP_HOST=0.0.0.0
VOLUME /var/lib/chronik
EXPOSE 9092 8080
# `chronik health` asks http://127.0.0.1:$CHRONIK_HTTP_PORT/health (no curl in the image).
HEALTHCHECK --interval=10s --timeout=5s --start-period=10s --retries=3 CMD ["/usr/local/bin/chronik", "health"]
# SIGTERM (docker stop) closes the broker cleanly; give it time to flush.
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/chronik"]
CMD ["start"]
