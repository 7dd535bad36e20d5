-- Secrets get owners: a secret with a row here belongs to that user; one without is the
-- administrators' (every secret set before owners existed). A grant lets one more user's
-- functions use a secret.
CREATE TABLE secret_owners (
    name       TEXT    PRIMARY KEY,
    owner_id   BIGINT  NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at BIGINT  NOT NULL
);

CREATE TABLE secret_grants (
    name       TEXT    NOT NULL,
    user_id    BIGINT  NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at BIGINT  NOT NULL,
    PRIMARY KEY (name, user_id)
);
