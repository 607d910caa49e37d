# The REST gateway with its Kafka request bus, for docker-compose.yml (built from the repository
# root):
#   docker build -f examples/user-service/gateway.Dockerfile -t user-service-gateway .
FROM debian:12 AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends meson ninja-build g++ pkg-config cmake \
      libasio-dev nlohmann-json3-dev libnanopb-dev librdkafka-dev
COPY . /src
RUN meson setup /build /src --buildtype=release --wrap-mode=nodownload -Dtests=disabled \
 && meson compile -C /build examples/user-service/user-service-gateway \
 && cp /build/examples/user-service/user-service-gateway /gateway

FROM debian:12-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends librdkafka++1 \
 && rm -rf /var/lib/apt/lists/*
COPY --from=build /gateway /usr/local/bin/user-service-gateway
EXPOSE 8080
USER nobody
ENTRYPOINT ["/usr/local/bin/user-service-gateway"]
