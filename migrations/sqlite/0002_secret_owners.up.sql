-- Secrets get owners: a secret with a row here belongs to that user; one without is the
-- administrators' (every secret set before owners existed). A grant lets one more user's
-- functions use a secret.
CREATE TABLE secret_owners (
    name       TEXT    PRIMARY KEY,
    owner_id   INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL
);

CREATE TABLE secret_grants (
    name       TEXT    NOT NULL,
    user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (name, user_id)
);
