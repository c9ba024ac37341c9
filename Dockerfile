# One image for every Hearth service: the web client is built with Node,
# embedded into the Go binary, and shipped on a distroless base.
#   docker build -t hearth .
#   docker run -p 8080:8080 -p 7882:7882/udp hearth
# (deploy/compose.yaml runs the services split, with PostgreSQL, Redis,
# Prometheus, Grafana and Tempo.)

FROM node:20-bookworm AS web
WORKDIR /src
COPY package.json package-lock.json ./
COPY packages/shared/package.json packages/shared/
COPY apps/web/package.json apps/web/
RUN npm ci --no-audit --no-fund
COPY packages/shared packages/shared
COPY apps/web apps/web
RUN npm run build -w apps/web

FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
COPY --from=web /src/apps/web/dist apps/web/dist
ARG VERSION=dev
RUN CGO_ENABLED=0 go build -trimpath -tags webembed \
      -ldflags "-s -w -X github.com/hearth-space/hearth/internal/version.Version=${VERSION}" \
      -o /out/hearth ./cmd/hearth

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/hearth /usr/local/bin/hearth
WORKDIR /var/lib/hearth
ENV HEARTH_DATA_DIR=/var/lib/hearth
# HTTP (API, WebSockets, web client, /metrics); voice media on one UDP port,
# ICE-TCP fallback, and the optional embedded TURN server.
EXPOSE 8080 7882/udp 7881 3478/udp
USER nonroot
ENTRYPOINT ["/usr/local/bin/hearth"]
CMD ["serve"]
