/// The API as OpenAPI 3.1, served at `GET /openapi.yaml`.
enum OpenAPIDocument {
    static let yaml = #"""
    openapi: 3.1.0
    info:
      title: sessiond
      version: "1.0"
      summary: Session cache daemon — an HTTP API over Redis.
      description: |
        Web apps in any language keep their users' sessions in sessiond over HTTP;
        sessiond keeps them in Redis, one HASH per session, with Redis's own key TTL
        as the expiry (`redis-cli TTL` tells the truth).

        Every write resets the session's TTL to its `ttl`; reads refresh it too
        ("rolling" sessions) unless the server runs with `--no-touch-on-read` or
        the request says `?touch=false`. Every error is an RFC 9457
        `application/problem+json` document. Redis unreachable or failing is `503`
        with `Retry-After` (a Redis timeout is `504`); a write Redis did not
        acknowledge never gets a `2xx`.

        When a token is configured every route except `/healthz` and `/readyz`
        needs `Authorization: Bearer <token>`.
    servers:
      - url: /
    security:
      - bearerAuth: []
    tags:
      - name: sessions
        description: Create, read, replace, patch and delete sessions.
      - name: data
        description: Single values inside a session.
      - name: expiry
        description: Idle timeout and absolute expiry.
      - name: users
        description: Sessions by owner.
      - name: operations
        description: Probes, metrics and this document.

    paths:
      /healthz:
        get:
          operationId: getHealthz
          summary: Liveness probe; the process is alive.
          tags: [operations]
          security: []
          responses:
            "200":
              description: Alive.
              content:
                application/json:
                  schema:
                    $ref: "#/components/schemas/Status"
            "405":
              $ref: "#/components/responses/MethodNotAllowed"
        head:
          operationId: headHealthz
          summary: Liveness probe without a body.
          tags: [operations]
          security: []
          responses:
            "200":
              description: Alive.
            "405":
              $ref: "#/components/responses/MethodNotAllowed"

      /readyz:
        get:
          operationId: getReadyz
          summary: Readiness probe; Redis answers PING, and ROLE says primary (outside a cluster).
          description: |
            Any Redis failure is 503 with Retry-After, a timeout included: refused,
            dropped, frozen, LOADING, authentication refused, TLS failure, a replica.
          tags: [operations]
          security: []
          responses:
            "200":
              description: Redis is reachable.
              content:
                application/json:
                  schema:
                    $ref: "#/components/schemas/Status"
            "405":
              $ref: "#/components/responses/MethodNotAllowed"
            "503":
              $ref: "#/components/responses/ServiceUnavailable"
        head:
          operationId: headReadyz
          summary: Readiness probe without a body.
          tags: [operations]
          security: []
          responses:
            "200":
              description: Redis is reachable.
            "405":
              $ref: "#/components/responses/MethodNotAllowed"
            "503":
              $ref: "#/components/responses/ServiceUnavailable"

      /metrics:
        get:
          operationId: getMetrics
          summary: Metrics in the Prometheus text exposition format.
          tags: [operations]
          responses:
            "200":
              description: Prometheus text format (version 0.0.4).
              content:
                text/plain:
                  schema:
                    type: string
            "401":
              $ref: "#/components/responses/Unauthorized"
            "405":
              $ref: "#/components/responses/MethodNotAllowed"
        head:
          operationId: headMetrics
          summary: Metrics headers without a body.
          tags: [operations]
          responses:
            "200":
              description: Metrics are available.
            "401":
              $ref: "#/components/responses/Unauthorized"
            "405":
              $ref: "#/components/responses/MethodNotAllowed"

      /openapi.yaml:
        get:
          operationId: getOpenAPI
          summary: This API as an OpenAPI 3.1 document.
          tags: [operations]
          responses:
            "200":
              description: The OpenAPI document.
              content:
                application/yaml:
                  schema:
                    type: object
                    required: [openapi, info, paths]
            "401":
              $ref: "#/components/responses/Unauthorized"
            "405":
              $ref: "#/components/responses/MethodNotAllowed"
        head:
          operationId: headOpenAPI
          summary: OpenAPI document headers without a body.
          tags: [operations]
          responses:
            "200":
              description: The OpenAPI document is available.
            "401":
              $ref: "#/components/responses/Unauthorized"
            "405":
              $ref: "#/components/responses/MethodNotAllowed"

      /v1/sessions:
        post:
          operationId: createSession
          summary: Create a session with a server-made id.
          description: |
            The id is 32 characters of `[a-z0-9]` from a CSPRNG. The body is
            optional; an empty (or whitespace-only) body creates an empty session
            with the default ttl.
          tags: [sessions]
          requestBody:
            required: false
            content:
              application/json:
                schema:
                  $ref: "#/components/schemas/SessionInput"
          responses:
            "201":
              description: Created.
              headers:
                Location:
                  $ref: "#/components/headers/Location"
                ETag:
                  $ref: "#/components/headers/ETag"
              content:
                application/json:
                  schema:
                    $ref: "#/components/schemas/Session"
            "400":
              $ref: "#/components/responses/BadRequest"
            "401":
              $ref: "#/components/responses/Unauthorized"
            "405":
              $ref: "#/components/responses/MethodNotAllowed"
            "413":
              $ref: "#/components/responses/PayloadTooLarge"
            "500":
              $ref: "#/components/responses/InternalError"
            "503":
              $ref: "#/components/responses/ServiceUnavailable"
            "504":
              $ref: "#/components/responses/GatewayTimeout"
            "507":
              $ref: "#/components/responses/InsufficientStorage"
        delete:
          operationId: deleteAllSessions
          summary: Drop every session under the key prefix (needs ?confirm=all).
          description: |
            Uses SCAN and UNLINK, never FLUSHDB or KEYS. Without `confirm=all`
            the request is refused with `400`.
          tags: [sessions]
          parameters:
            - $ref: "#/components/parameters/confirm"
          responses:
            "200":
              description: The number of sessions deleted.
              content:
                application/json:
                  schema:
                    $ref: "#/components/schemas/DeletedCount"
            "400":
              $ref: "#/components/responses/BadRequest"
            "401":
              $ref: "#/components/responses/Unauthorized"
            "405":
              $ref: "#/components/responses/MethodNotAllowed"
            "500":
              $ref: "#/components/responses/InternalError"
            "503":
              $ref: "#/components/responses/ServiceUnavailable"
            "504":
              $ref: "#/components/responses/GatewayTimeout"

      /v1/sessions/{id}:
        parameters:
          - $ref: "#/components/parameters/id"
        get:
          operationId: getSession
          summary: Read a whole session.
          tags: [sessions]
          parameters:
            - $ref: "#/components/parameters/touch"
          responses:
            "200":
              description: The session.
              headers:
                ETag:
                  $ref: "#/components/headers/ETag"
              content:
                application/json:
                  schema:
                    $ref: "#/components/schemas/Session"
            "400":
              $ref: "#/components/responses/BadRequest"
            "401":
              $ref: "#/components/responses/Unauthorized"
            "404":
              $ref: "#/components/responses/NotFound"
            "405":
              $ref: "#/components/responses/MethodNotAllowed"
            "500":
              $ref: "#/components/responses/InternalError"
            "503":
              $ref: "#/components/responses/ServiceUnavailable"
            "504":
              $ref: "#/components/responses/GatewayTimeout"
        head:
          operationId: headSession
          summary: Check whether a session exists.
          tags: [sessions]
          parameters:
            - $ref: "#/components/parameters/touch"
          responses:
            "200":
              description: The session exists.
              headers:
                ETag:
                  $ref: "#/components/headers/ETag"
            "400":
              description: Invalid session id (no body on HEAD).
            "401":
              description: Missing or wrong bearer token (no body on HEAD).
            "404":
              description: No such session (no body on HEAD).
            "405":
              $ref: "#/components/responses/MethodNotAllowed"
            "500":
              description: Internal error (no body on HEAD).
            "503":
              $ref: "#/components/responses/ServiceUnavailable"
            "504":
              $ref: "#/components/responses/GatewayTimeout"
        put:
          operationId: replaceSession
          summary: Replace a session's data (and ttl/user if given); creates it when absent.
          description: |
            `If-None-Match: *` creates only; `If-Match: *` replaces only and never
            creates (so a logged-out session is not brought back by a late
            request); `If-Match: <etag>` replaces only if the session is unchanged.
            Any `If-Match` on a missing session is `412`, and nothing is created.
            An empty (or whitespace-only) body means all defaults: `data` absent
            is empty data, `ttl` absent keeps the current ttl (a new session gets
            `--default-ttl`), `user` absent keeps the owner. A `ttl` ends a fixed
            `expires_at`.
          tags: [sessions]
          parameters:
            - $ref: "#/components/parameters/IfMatch"
            - $ref: "#/components/parameters/IfNoneMatch"
          requestBody:
            required: false
            content:
              application/json:
                schema:
                  $ref: "#/components/schemas/SessionInput"
          responses:
            "200":
              description: Replaced.
              headers:
                ETag:
                  $ref: "#/components/headers/ETag"
              content:
                application/json:
                  schema:
                    $ref: "#/components/schemas/Session"
            "201":
              description: Created.
              headers:
                Location:
                  $ref: "#/components/headers/Location"
                ETag:
                  $ref: "#/components/headers/ETag"
              content:
                application/json:
                  schema:
                    $ref: "#/components/schemas/Session"
            "400":
              $ref: "#/components/responses/BadRequest"
            "401":
              $ref: "#/components/responses/Unauthorized"
            "405":
              $ref: "#/components/responses/MethodNotAllowed"
            "412":
              $ref: "#/components/responses/PreconditionFailed"
            "413":
              $ref: "#/components/responses/PayloadTooLarge"
            "500":
              $ref: "#/components/responses/InternalError"
            "503":
              $ref: "#/components/responses/ServiceUnavailable"
            "504":
              $ref: "#/components/responses/GatewayTimeout"
            "507":
              $ref: "#/components/responses/InsufficientStorage"
        patch:
          operationId: patchSession
          summary: Set and delete data keys atomically.
          description: |
            A missing session is `404` whatever `If-Match` says; a key in both
            `set` and `delete`, or more than `--max-keys` keys in the result, is
            `400`.
          tags: [sessions]
          parameters:
            - $ref: "#/components/parameters/IfMatch"
          requestBody:
            required: true
            content:
              application/json:
                schema:
                  $ref: "#/components/schemas/PatchInput"
          responses:
            "200":
              description: The patched session.
              headers:
                ETag:
                  $ref: "#/components/headers/ETag"
              content:
                application/json:
                  schema:
                    $ref: "#/components/schemas/Session"
            "400":
              $ref: "#/components/responses/BadRequest"
            "401":
              $ref: "#/components/responses/Unauthorized"
            "404":
              $ref: "#/components/responses/NotFound"
            "405":
              $ref: "#/components/responses/MethodNotAllowed"
            "412":
              $ref: "#/components/responses/PreconditionFailed"
            "413":
              $ref: "#/components/responses/PayloadTooLarge"
            "500":
              $ref: "#/components/responses/InternalError"
            "503":
              $ref: "#/components/responses/ServiceUnavailable"
            "504":
              $ref: "#/components/responses/GatewayTimeout"
            "507":
              $ref: "#/components/responses/InsufficientStorage"
        delete:
          operationId: deleteSession
          summary: Delete a session and its user-index entry (log out).
          tags: [sessions]
          responses:
            "204":
              description: Deleted, or there was no such session.
            "400":
              $ref: "#/components/responses/BadRequest"
            "401":
              $ref: "#/components/responses/Unauthorized"
            "405":
              $ref: "#/components/responses/MethodNotAllowed"
            "500":
              $ref: "#/components/responses/InternalError"
            "503":
              $ref: "#/components/responses/ServiceUnavailable"
            "504":
              $ref: "#/components/responses/GatewayTimeout"

      /v1/sessions/{id}/data:
        parameters:
          - $ref: "#/components/parameters/id"
        delete:
          operationId: clearSessionData
          summary: Empty a session's data and keep the session.
          tags: [data]
          parameters:
            - $ref: "#/components/parameters/IfMatch"
          responses:
            "204":
              description: Cleared.
              headers:
                ETag:
                  $ref: "#/components/headers/ETag"
            "400":
              $ref: "#/components/responses/BadRequest"
            "401":
              $ref: "#/components/responses/Unauthorized"
            "404":
              $ref: "#/components/responses/NotFound"
            "405":
              $ref: "#/components/responses/MethodNotAllowed"
            "412":
              $ref: "#/components/responses/PreconditionFailed"
            "500":
              $ref: "#/components/responses/InternalError"
            "503":
              $ref: "#/components/responses/ServiceUnavailable"
            "504":
              $ref: "#/components/responses/GatewayTimeout"

      /v1/sessions/{id}/data/{key}:
        parameters:
          - $ref: "#/components/parameters/id"
          - $ref: "#/components/parameters/key"
        get:
          operationId: getSessionValue
          summary: Read one value; the body is the raw JSON value.
          tags: [data]
          parameters:
            - $ref: "#/components/parameters/touch"
          responses:
            "200":
              description: The value, exactly as stored.
              headers:
                ETag:
                  $ref: "#/components/headers/ETag"
              content:
                application/json:
                  schema:
                    $ref: "#/components/schemas/AnyValue"
            "400":
              $ref: "#/components/responses/BadRequest"
            "401":
              $ref: "#/components/responses/Unauthorized"
            "404":
              $ref: "#/components/responses/NotFound"
            "405":
              $ref: "#/components/responses/MethodNotAllowed"
            "500":
              $ref: "#/components/responses/InternalError"
            "503":
              $ref: "#/components/responses/ServiceUnavailable"
            "504":
              $ref: "#/components/responses/GatewayTimeout"
        head:
          operationId: headSessionValue
          summary: Check whether a session has a key.
          tags: [data]
          parameters:
            - $ref: "#/components/parameters/touch"
          responses:
            "200":
              description: The key exists.
              headers:
                ETag:
                  $ref: "#/components/headers/ETag"
            "400":
              description: Invalid session id or key (no body on HEAD).
            "401":
              description: Missing or wrong bearer token (no body on HEAD).
            "404":
              description: No such session or key (no body on HEAD).
            "405":
              $ref: "#/components/responses/MethodNotAllowed"
            "500":
              description: Internal error (no body on HEAD).
            "503":
              $ref: "#/components/responses/ServiceUnavailable"
            "504":
              $ref: "#/components/responses/GatewayTimeout"
        put:
          operationId: setSessionValue
          summary: Set one value; the body is the raw JSON value.
          tags: [data]
          parameters:
            - $ref: "#/components/parameters/IfMatch"
          requestBody:
            required: true
            content:
              application/json:
                schema:
                  $ref: "#/components/schemas/AnyValue"
          responses:
            "204":
              description: Set.
              headers:
                ETag:
                  $ref: "#/components/headers/ETag"
            "400":
              $ref: "#/components/responses/BadRequest"
            "401":
              $ref: "#/components/responses/Unauthorized"
            "404":
              $ref: "#/components/responses/NotFound"
            "405":
              $ref: "#/components/responses/MethodNotAllowed"
            "412":
              $ref: "#/components/responses/PreconditionFailed"
            "413":
              $ref: "#/components/responses/PayloadTooLarge"
            "500":
              $ref: "#/components/responses/InternalError"
            "503":
              $ref: "#/components/responses/ServiceUnavailable"
            "504":
              $ref: "#/components/responses/GatewayTimeout"
            "507":
              $ref: "#/components/responses/InsufficientStorage"
        delete:
          operationId: deleteSessionValue
          summary: Delete one key from a session.
          tags: [data]
          parameters:
            - $ref: "#/components/parameters/IfMatch"
          responses:
            "204":
              description: Deleted (also when the key was absent).
              headers:
                ETag:
                  $ref: "#/components/headers/ETag"
            "400":
              $ref: "#/components/responses/BadRequest"
            "401":
              $ref: "#/components/responses/Unauthorized"
            "404":
              $ref: "#/components/responses/NotFound"
            "405":
              $ref: "#/components/responses/MethodNotAllowed"
            "412":
              $ref: "#/components/responses/PreconditionFailed"
            "500":
              $ref: "#/components/responses/InternalError"
            "503":
              $ref: "#/components/responses/ServiceUnavailable"
            "504":
              $ref: "#/components/responses/GatewayTimeout"

      /v1/sessions/{id}/expiry:
        parameters:
          - $ref: "#/components/parameters/id"
        get:
          operationId: getSessionExpiry
          summary: Read a session's idle timeout and expiry.
          tags: [expiry]
          parameters:
            - $ref: "#/components/parameters/touch"
          responses:
            "200":
              description: The expiry.
              headers:
                ETag:
                  $ref: "#/components/headers/ETag"
              content:
                application/json:
                  schema:
                    $ref: "#/components/schemas/Expiry"
            "400":
              $ref: "#/components/responses/BadRequest"
            "401":
              $ref: "#/components/responses/Unauthorized"
            "404":
              $ref: "#/components/responses/NotFound"
            "405":
              $ref: "#/components/responses/MethodNotAllowed"
            "500":
              $ref: "#/components/responses/InternalError"
            "503":
              $ref: "#/components/responses/ServiceUnavailable"
            "504":
              $ref: "#/components/responses/GatewayTimeout"
        head:
          operationId: headSessionExpiry
          summary: Expiry headers without a body.
          tags: [expiry]
          parameters:
            - $ref: "#/components/parameters/touch"
          responses:
            "200":
              description: The session exists.
              headers:
                ETag:
                  $ref: "#/components/headers/ETag"
            "400":
              description: Invalid session id (no body on HEAD).
            "401":
              description: Missing or wrong bearer token (no body on HEAD).
            "404":
              description: No such session (no body on HEAD).
            "405":
              $ref: "#/components/responses/MethodNotAllowed"
            "500":
              description: Internal error (no body on HEAD).
            "503":
              $ref: "#/components/responses/ServiceUnavailable"
            "504":
              $ref: "#/components/responses/GatewayTimeout"
        put:
          operationId: setSessionExpiry
          summary: Set the idle timeout, restore the default, or fix an absolute expiry.
          description: |
            `{"ttl": N}` sets the idle timeout; `{"ttl": null}` restores the
            server default (`--default-ttl`); `{"expires_at": "RFC 3339"}` fixes an
            absolute expiry and stops sliding for that session. An `expires_at`
            in the past or more than `--max-ttl` seconds away is `400`.
          tags: [expiry]
          requestBody:
            required: true
            content:
              application/json:
                schema:
                  $ref: "#/components/schemas/ExpiryInput"
          responses:
            "200":
              description: The new expiry.
              headers:
                ETag:
                  $ref: "#/components/headers/ETag"
              content:
                application/json:
                  schema:
                    $ref: "#/components/schemas/Expiry"
            "400":
              $ref: "#/components/responses/BadRequest"
            "401":
              $ref: "#/components/responses/Unauthorized"
            "404":
              $ref: "#/components/responses/NotFound"
            "405":
              $ref: "#/components/responses/MethodNotAllowed"
            "413":
              $ref: "#/components/responses/PayloadTooLarge"
            "500":
              $ref: "#/components/responses/InternalError"
            "503":
              $ref: "#/components/responses/ServiceUnavailable"
            "504":
              $ref: "#/components/responses/GatewayTimeout"
            "507":
              $ref: "#/components/responses/InsufficientStorage"

      /v1/sessions/{id}/cycle:
        parameters:
          - $ref: "#/components/parameters/id"
        post:
          operationId: cycleSession
          summary: Move a session to a new id (session-fixation defence); the old id is gone.
          tags: [sessions]
          responses:
            "201":
              description: The session under its new id, with the same data, ttl and user.
              headers:
                Location:
                  $ref: "#/components/headers/Location"
                ETag:
                  $ref: "#/components/headers/ETag"
              content:
                application/json:
                  schema:
                    $ref: "#/components/schemas/Session"
            "400":
              $ref: "#/components/responses/BadRequest"
            "401":
              $ref: "#/components/responses/Unauthorized"
            "404":
              $ref: "#/components/responses/NotFound"
            "405":
              $ref: "#/components/responses/MethodNotAllowed"
            "500":
              $ref: "#/components/responses/InternalError"
            "503":
              $ref: "#/components/responses/ServiceUnavailable"
            "504":
              $ref: "#/components/responses/GatewayTimeout"
            "507":
              $ref: "#/components/responses/InsufficientStorage"

      /v1/users/{user}/sessions:
        parameters:
          - $ref: "#/components/parameters/user"
        get:
          operationId: listUserSessions
          summary: List a user's live sessions.
          tags: [users]
          responses:
            "200":
              description: The user's live sessions (empty when none).
              content:
                application/json:
                  schema:
                    $ref: "#/components/schemas/SessionList"
            "400":
              $ref: "#/components/responses/BadRequest"
            "401":
              $ref: "#/components/responses/Unauthorized"
            "405":
              $ref: "#/components/responses/MethodNotAllowed"
            "500":
              $ref: "#/components/responses/InternalError"
            "503":
              $ref: "#/components/responses/ServiceUnavailable"
            "504":
              $ref: "#/components/responses/GatewayTimeout"
        head:
          operationId: headUserSessions
          summary: User session list headers without a body.
          tags: [users]
          responses:
            "200":
              description: The list is available.
            "400":
              description: Invalid user (no body on HEAD).
            "401":
              description: Missing or wrong bearer token (no body on HEAD).
            "405":
              $ref: "#/components/responses/MethodNotAllowed"
            "500":
              description: Internal error (no body on HEAD).
            "503":
              $ref: "#/components/responses/ServiceUnavailable"
            "504":
              $ref: "#/components/responses/GatewayTimeout"
        delete:
          operationId: deleteUserSessions
          summary: Log a user out everywhere, optionally keeping one session.
          tags: [users]
          parameters:
            - $ref: "#/components/parameters/except"
          responses:
            "200":
              description: The number of sessions deleted.
              content:
                application/json:
                  schema:
                    $ref: "#/components/schemas/DeletedCount"
            "400":
              $ref: "#/components/responses/BadRequest"
            "401":
              $ref: "#/components/responses/Unauthorized"
            "405":
              $ref: "#/components/responses/MethodNotAllowed"
            "500":
              $ref: "#/components/responses/InternalError"
            "503":
              $ref: "#/components/responses/ServiceUnavailable"
            "504":
              $ref: "#/components/responses/GatewayTimeout"

    components:
      securitySchemes:
        bearerAuth:
          type: http
          scheme: bearer
          description: |
            The token from `--auth-token-file`, compared in constant time. Only
            required when a token is configured; `/healthz` and `/readyz` stay open.

      parameters:
        id:
          name: id
          in: path
          required: true
          description: Session id. Anything else is `400` and never reaches Redis.
          schema:
            type: string
            pattern: "^[A-Za-z0-9_-]{8,128}$"
        key:
          name: key
          in: path
          required: true
          description: |
            Data key: 1–256 bytes of UTF-8 without control characters, percent-encoded.
            The path is split on `/` before decoding, so `%2F` is a slash inside the
            key; a malformed `%` escape is `400`.
          schema:
            $ref: "#/components/schemas/Name"
        user:
          name: user
          in: path
          required: true
          description: |
            User: 1–256 bytes of UTF-8 without control characters, percent-encoded
            like data keys (`team%2Fops%20%C3%A9` is `team/ops é`).
          schema:
            $ref: "#/components/schemas/Name"
        touch:
          name: touch
          in: query
          required: false
          description: |
            Whether this read refreshes the session's TTL: `true` or `1` refreshes
            (even under `--no-touch-on-read`), `false` or `0` does not. Absent means
            `true`, or `false` when the server runs with `--no-touch-on-read`. Any
            other value is `400`.
          schema:
            type: string
            enum: ["true", "false", "1", "0"]
        confirm:
          name: confirm
          in: query
          required: true
          description: Must be `all`; without it the request is `400`.
          schema:
            type: string
            enum: [all]
        except:
          name: except
          in: query
          required: false
          description: A session id to keep (typically the current one); an invalid id is `400`.
          schema:
            type: string
            pattern: "^[A-Za-z0-9_-]{8,128}$"
        IfMatch:
          name: If-Match
          in: header
          required: false
          description: |
            `*` (the session must exist) or a comma-separated list of entity tags
            from `ETag` (the session must be unchanged), else `412` and nothing is
            written. Comparison is strong: weak tags (`W/"3"`) never match. A value
            that is neither `*` nor a list of quoted tags is `400`. (The pattern is
            exactly what the server parses, RFC 9110's list of `[W/]"opaque"`
            tags: a comma inside quotes belongs to the tag; empty items are
            skipped; an item `*` decides.)
          schema:
            $ref: "#/components/schemas/EntityTagList"
        IfNoneMatch:
          name: If-None-Match
          in: header
          required: false
          description: |
            `*`: create only, `412` when the session already exists. A list of
            entity tags: `412` when the session's current tag is one of them
            (weak comparison: `W/"3"` matches `"3"`). Same syntax as `If-Match`;
            anything else is `400`.
          schema:
            $ref: "#/components/schemas/EntityTagList"

      headers:
        ETag:
          description: The session's version as a strong entity tag, e.g. `"7"`.
          required: true
          schema:
            type: string
            pattern: '^"[0-9]+"$'
        Location:
          description: The new session's URL, `/v1/sessions/{id}`.
          required: true
          schema:
            type: string
            format: uri-reference
            pattern: "^/v1/sessions/[A-Za-z0-9_-]{8,128}$"
        RetryAfter:
          description: Seconds to wait before retrying.
          required: true
          schema:
            type: integer
            minimum: 0
        Allow:
          description: The methods the route answers.
          required: true
          schema:
            type: string

      responses:
        BadRequest:
          description: Invalid id, key, user, query, header or body, or a broken limit.
          content:
            application/problem+json:
              schema:
                $ref: "#/components/schemas/Problem"
        Unauthorized:
          description: Missing or wrong bearer token.
          headers:
            WWW-Authenticate:
              description: "`Bearer`"
              required: true
              schema:
                type: string
                const: Bearer
          content:
            application/problem+json:
              schema:
                $ref: "#/components/schemas/Problem"
        NotFound:
          description: No such session, or no such key (`detail` says which).
          content:
            application/problem+json:
              schema:
                $ref: "#/components/schemas/Problem"
        MethodNotAllowed:
          description: The route does not answer this method.
          headers:
            Allow:
              $ref: "#/components/headers/Allow"
          content:
            application/problem+json:
              schema:
                $ref: "#/components/schemas/Problem"
        PreconditionFailed:
          description: The session does not match `If-Match` / `If-None-Match`; nothing was written.
          content:
            application/problem+json:
              schema:
                $ref: "#/components/schemas/Problem"
        PayloadTooLarge:
          description: The request body is larger than the limit (`--max-body-bytes`, default 1 MiB).
          content:
            application/problem+json:
              schema:
                $ref: "#/components/schemas/Problem"
        InternalError:
          description: Unexpected error.
          content:
            application/problem+json:
              schema:
                $ref: "#/components/schemas/Problem"
        ServiceUnavailable:
          description: Redis is unreachable or failing; a write was not acknowledged.
          headers:
            Retry-After:
              $ref: "#/components/headers/RetryAfter"
          content:
            application/problem+json:
              schema:
                $ref: "#/components/schemas/Problem"
        GatewayTimeout:
          description: Redis did not answer within `--redis-timeout`.
          headers:
            Retry-After:
              $ref: "#/components/headers/RetryAfter"
          content:
            application/problem+json:
              schema:
                $ref: "#/components/schemas/Problem"
        InsufficientStorage:
          description: Redis out of memory (maxmemory reached with noeviction); nothing was written.
          headers:
            Retry-After:
              $ref: "#/components/headers/RetryAfter"
          content:
            application/problem+json:
              schema:
                $ref: "#/components/schemas/Problem"

      schemas:
        AnyValue:
          description: |
            Any JSON value, stored as the exact JSON text received (numbers of any
            size come back exactly as sent). Nested at most `--max-depth` (64) levels.
        Name:
          type: string
          minLength: 1
          maxLength: 256
          pattern: '^[^\u0000-\u001F\u007F-\u009F]+$'
          description: |
            A data key or user name: 1–256 bytes of UTF-8 without control
            characters (U+0000–U+001F, U+007F–U+009F); anything else is `400`.
            The limit is in bytes, which JSON Schema cannot say (`maxLength`
            counts characters): every name of up to 64 characters fits, and a
            name of more than 64 characters fits when its UTF-8 encoding is at
            most 256 bytes (256 ASCII characters do; 256 `é` do not).
        Data:
          type: object
          description: |
            String keys (see `Name`) to any JSON values, at most `--max-keys`
            (1000) keys in a session.
          maxProperties: 1000
          propertyNames:
            $ref: "#/components/schemas/Name"
          additionalProperties:
            $ref: "#/components/schemas/AnyValue"
        EntityTagList:
          type: string
          description: |
            `*`, or a comma-separated list of entity tags (`"3"`, `W/"3"`).
          pattern: '^[ \t,]*((W/)?"[^"]*"[ \t,]*)*(\*.*)?$'
          examples: ['*', '"3"', '"3", "4"']
        Session:
          type: object
          required: [id, data, ttl, expires_in, expires_at, created_at, user]
          properties:
            id:
              type: string
              pattern: "^[A-Za-z0-9_-]{8,128}$"
            data:
              type: object
              description: String keys to any JSON values.
              additionalProperties: {}
            ttl:
              type: integer
              description: Idle timeout in seconds.
            expires_in:
              type: integer
              description: Seconds left before Redis expires the session.
            expires_at:
              type: string
              format: date-time
            created_at:
              type: string
              format: date-time
            user:
              type: [string, "null"]
              description: The owner, or null.
          example:
            id: 3k9x0c2m4q8w1e7r5t6y0u2i4o6p8a1s
            data: {cart: [1, 2], theme: dark}
            ttl: 1209600
            expires_in: 1209597
            expires_at: "2026-12-05T22:47:19Z"
            created_at: "2026-11-21T22:47:19Z"
            user: null
        SessionList:
          type: object
          required: [sessions]
          properties:
            sessions:
              type: array
              items:
                $ref: "#/components/schemas/Session"
        Expiry:
          type: object
          required: [ttl, expires_in, expires_at]
          properties:
            ttl:
              type: integer
              description: Idle timeout in seconds.
            expires_in:
              type: integer
              description: Seconds left before Redis expires the session.
            expires_at:
              type: string
              format: date-time
        SessionInput:
          type: object
          description: |
            A JSON object; unknown members are `400` (so a typo such as `"tll"` is
            reported, not ignored). The whole body is nested at most `--max-depth`
            (64) levels and at most `--max-body-bytes` (1 MiB, else `413`).
          additionalProperties: false
          properties:
            data:
              $ref: "#/components/schemas/Data"
            ttl:
              $ref: "#/components/schemas/TTL"
            user:
              description: Owner (see `Name`); null for none.
              oneOf:
                - $ref: "#/components/schemas/Name"
                - type: "null"
        TTL:
          type: [integer, "null"]
          minimum: 1
          maximum: 31536000
          description: |
            Idle timeout in whole seconds, `--min-ttl` (1) to `--max-ttl`
            (31536000), else `400`. Written as a plain integer (`3600`, not
            `3600.0`). Null means the server default (`--default-ttl`); absent
            keeps the current ttl (or the default for a new session).
        PatchInput:
          type: object
          description: |
            A JSON object; unknown members are `400`. A key may not be both in
            `set` and in `delete` (`400`; JSON Schema cannot say this), and the
            session may not end up with more than `--max-keys` (1000) keys (`400`).
          additionalProperties: false
          properties:
            set:
              $ref: "#/components/schemas/Data"
            delete:
              type: array
              description: Keys to delete (absent keys are ignored).
              items:
                $ref: "#/components/schemas/Name"
        ExpiryInput:
          description: Exactly one member; anything else is `400`.
          oneOf:
            - type: object
              title: Idle timeout
              required: [ttl]
              additionalProperties: false
              properties:
                ttl:
                  $ref: "#/components/schemas/TTL"
            - type: object
              title: Absolute expiry
              required: [expires_at]
              additionalProperties: false
              properties:
                expires_at:
                  type: string
                  format: date-time
                  description: |
                    RFC 3339 time, in the future and at most `--max-ttl` (31536000)
                    seconds away, else `400` (JSON Schema cannot say this); stops
                    sliding for this session. Fractions of a second are truncated to
                    milliseconds.
        DeletedCount:
          type: object
          required: [deleted]
          properties:
            deleted:
              type: integer
              minimum: 0
        Status:
          type: object
          required: [status]
          properties:
            status:
              type: string
              const: ok
        Problem:
          type: object
          description: RFC 9457 problem details.
          required: [type, title, status, detail]
          properties:
            type:
              type: string
              format: uri-reference
              default: about:blank
            title:
              type: string
            status:
              type: integer
              minimum: 400
              maximum: 599
            detail:
              type: string
    """#
}
