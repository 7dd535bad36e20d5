-- A rollback is a release of its own that runs an earlier release's image and config; it names
-- the release it rolled back to.
ALTER TABLE releases ADD COLUMN rollback_of INTEGER;
