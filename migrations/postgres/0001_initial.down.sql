DROP TABLE audit_log;
DROP TABLE releases;
DROP TABLE functions;
DROP TABLE api_tokens;
DROP TABLE sessions;
DROP TABLE users;
