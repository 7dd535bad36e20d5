-- The first schema: accounts, sessions, API tokens, functions, releases and the audit log.
-- Timestamps are seconds since the Unix epoch; states are lowercase words.

CREATE TABLE users (
    id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name          TEXT    NOT NULL UNIQUE,
    password_hash TEXT    NOT NULL,
    role          TEXT    NOT NULL CHECK (role IN ('admin', 'member')),
    state         TEXT    NOT NULL CHECK (state IN ('active', 'disabled')),
    created_at    BIGINT  NOT NULL,
    updated_at    BIGINT  NOT NULL
);

CREATE TABLE sessions (
    id_hash      TEXT    PRIMARY KEY,
    user_id      BIGINT  NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    csrf_token   TEXT    NOT NULL,
    created_at   BIGINT  NOT NULL,
    last_seen_at BIGINT  NOT NULL,
    expires_at   BIGINT  NOT NULL
);
CREATE INDEX sessions_user ON sessions (user_id);

CREATE TABLE api_tokens (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id      BIGINT  NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    label        TEXT    NOT NULL,
    token_hash   TEXT    NOT NULL UNIQUE,
    created_at   BIGINT  NOT NULL,
    last_used_at BIGINT 
);
CREATE INDEX api_tokens_user ON api_tokens (user_id);

CREATE TABLE functions (
    id                 BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name               TEXT    NOT NULL UNIQUE,
    owner_id           BIGINT  REFERENCES users (id) ON DELETE SET NULL,
    desired_replicas   BIGINT  NOT NULL DEFAULT 1,
    current_release_id BIGINT ,
    created_at         BIGINT  NOT NULL,
    updated_at         BIGINT  NOT NULL
);

CREATE TABLE releases (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    function_id BIGINT  NOT NULL REFERENCES functions (id) ON DELETE CASCADE,
    number      BIGINT  NOT NULL,
    commit_id   TEXT    NOT NULL,
    image       TEXT,
    digest      TEXT,
    config      TEXT    NOT NULL DEFAULT '{}',
    status      TEXT    NOT NULL,
    pusher_id   BIGINT  REFERENCES users (id) ON DELETE SET NULL,
    timings     TEXT    NOT NULL DEFAULT '{}',
    build_log   TEXT    NOT NULL DEFAULT '',
    error       TEXT,
    created_at  BIGINT  NOT NULL,
    finished_at BIGINT ,
    UNIQUE (function_id, number)
);

CREATE TABLE audit_log (
    id     BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at     BIGINT  NOT NULL,
    actor  TEXT    NOT NULL,
    action TEXT    NOT NULL,
    target TEXT    NOT NULL,
    source TEXT    NOT NULL
);
CREATE INDEX audit_log_at ON audit_log (at);
