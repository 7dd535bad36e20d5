DROP TABLE secret_grants;
DROP TABLE secret_owners;
