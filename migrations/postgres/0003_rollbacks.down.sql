ALTER TABLE releases DROP COLUMN rollback_of;
