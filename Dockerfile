# The server as a small container image: build a static binary with the Go
# toolchain, then copy it alone into a base image with no shell and no
# package manager.
#
#	docker build -t gosessions .
#	docker run --rm -p 8080:8080 -v sessions-data:/data gosessions
#
# Or `docker compose up`, which does the same from docker-compose.yml.

# --- build ---
# The Go version matches the go directive in go.mod (a test checks that).
FROM golang:1.26-bookworm AS build
WORKDIR /src

# Dependencies first, in a layer of their own: it is rebuilt only when go.mod
# or go.sum change, not on every edit to the code.
COPY go.mod go.sum ./
RUN go mod download

COPY . .
# modernc.org/sqlite is pure Go, so the binary needs no cgo and no C library:
# it runs on an image that has nothing else in it. -trimpath keeps this
# machine's paths out of the binary; -s -w drop the debug tables.
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/server ./cmd/server

# The runtime image has no shell to create the data folder in, so it is made
# here and copied over with its owner.
RUN mkdir -p /out/data

# --- run ---
# distroless/static: CA certificates, time zones and /etc/passwd with a
# nonroot user (uid 65532), and nothing else.
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/server /server
COPY --from=build --chown=65532:65532 /out/data /data

# The database lives in /data: mount a volume there to keep sessions and
# orders across containers. Listening on all interfaces is what a container
# needs; the port is published by `docker run -p` or compose.
ENV ADDR=:8080 \
    DB_PATH=/data/sessions.db
EXPOSE 8080

# Numeric, so that a runtime can tell it is not root without reading
# /etc/passwd.
USER 65532:65532

# There is no curl in this image: the binary checks its own /healthz.
HEALTHCHECK --interval=30s --timeout=5s --start-period=5s --retries=3 \
    CMD ["/server", "-healthcheck"]

ENTRYPOINT ["/server"]
