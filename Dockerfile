# sessiond container image.
#   docker build -t sessiond .
#   docker run --rm -p 127.0.0.1:8080:8080 sessiond --redis redis://redis-host:6379/0 --listen 0.0.0.0:8080
# The image has no redis-server: always pass --redis (or SESSIOND_REDIS), see docker-compose.yml.

# ---- build ---------------------------------------------------------------------
# Any Swift 6.x bookworm image works (the package needs tools 6.0); override with
#   docker build --build-arg SWIFT_IMAGE=swift:6.0-bookworm .
ARG SWIFT_IMAGE=swift:6.2-bookworm
FROM ${SWIFT_IMAGE} AS build

# hiredis for the CHiredis system library; jemalloc, which the daemon links.
RUN export DEBIAN_FRONTEND=noninteractive \
    && apt-get -q update \
    && apt-get -q install -y --no-install-recommends libhiredis-dev libjemalloc-dev \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /build
# Package.resolved is not copied (see .dockerignore): dependencies resolve afresh
# from Package.swift. Tests/ is needed because Package.swift declares its targets.
COPY Package.swift ./
COPY Sources ./Sources
COPY Tests ./Tests
COPY scripts/build-release ./scripts/
RUN mkdir -p /staging \
    && cp "$(scripts/build-release)" /staging/ \
    && strip /staging/sessiond

# ---- runtime -------------------------------------------------------------------
FROM debian:bookworm-slim

RUN export DEBIAN_FRONTEND=noninteractive \
    && apt-get -q update \
    && apt-get -q install -y --no-install-recommends libhiredis0.14 libjemalloc2 ca-certificates libstdc++6 tzdata \
    && rm -rf /var/lib/apt/lists/*

# The Swift runtime (stdlib, Concurrency, Dispatch, Foundation) from the build image.
COPY --from=build /usr/lib/swift/linux/*.so* /usr/lib/swift/linux/
RUN echo /usr/lib/swift/linux > /etc/ld.so.conf.d/swift.conf && ldconfig

COPY --from=build /staging/sessiond /usr/local/bin/sessiond

# Run as an unprivileged user.
RUN useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin --uid 10001 sessiond
USER 10001:10001

EXPOSE 8080
ENTRYPOINT ["sessiond"]
CMD ["--listen", "0.0.0.0:8080"]
