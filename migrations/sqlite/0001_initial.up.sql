-- The first schema: accounts, sessions, API tokens, functions, releases and the audit log.
-- Timestamps are seconds since the Unix epoch; states are lowercase words.

CREATE TABLE users (
    id            INTEGER PRIMARY KEY,
    name          TEXT    NOT NULL UNIQUE,
    password_hash TEXT    NOT NULL,
    role          TEXT    NOT NULL CHECK (role IN ('admin', 'member')),
    state         TEXT    NOT NULL CHECK (state IN ('active', 'disabled')),
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL
);

CREATE TABLE sessions (
    id_hash      TEXT    PRIMARY KEY,
    user_id      INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    csrf_token   TEXT    NOT NULL,
    created_at   INTEGER NOT NULL,
    last_seen_at INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL
);
CREATE INDEX sessions_user ON sessions (user_id);

CREATE TABLE api_tokens (
    id           INTEGER PRIMARY KEY,
    user_id      INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    label        TEXT    NOT NULL,
    token_hash   TEXT    NOT NULL UNIQUE,
    created_at   INTEGER NOT NULL,
    last_used_at INTEGER
);
CREATE INDEX api_tokens_user ON api_tokens (user_id);

CREATE TABLE functions (
    id                 INTEGER PRIMARY KEY,
    name               TEXT    NOT NULL UNIQUE,
    owner_id           INTEGER REFERENCES users (id) ON DELETE SET NULL,
    desired_replicas   INTEGER NOT NULL DEFAULT 1,
    current_release_id INTEGER,
    created_at         INTEGER NOT NULL,
    updated_at         INTEGER NOT NULL
);

CREATE TABLE releases (
    id          INTEGER PRIMARY KEY,
    function_id INTEGER NOT NULL REFERENCES functions (id) ON DELETE CASCADE,
    number      INTEGER NOT NULL,
    commit_id   TEXT    NOT NULL,
    image       TEXT,
    digest      TEXT,
    config      TEXT    NOT NULL DEFAULT '{}',
    status      TEXT    NOT NULL,
    pusher_id   INTEGER REFERENCES users (id) ON DELETE SET NULL,
    timings     TEXT    NOT NULL DEFAULT '{}',
    build_log   TEXT    NOT NULL DEFAULT '',
    error       TEXT,
    created_at  INTEGER NOT NULL,
    finished_at INTEGER,
    UNIQUE (function_id, number)
);

CREATE TABLE audit_log (
    id     INTEGER PRIMARY KEY,
    at     INTEGER NOT NULL,
    actor  TEXT    NOT NULL,
    action TEXT    NOT NULL,
    target TEXT    NOT NULL,
    source TEXT    NOT NULL
);
CREATE INDEX audit_log_at ON audit_log (at);
