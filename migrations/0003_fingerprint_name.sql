-- The name of a unit's fingerprint hash file (`lib-serde`, `build-script-build-script-build`)
-- was the column `target`, a word that already means the target directory and the target
-- triple. Manifests on disk keep the field `target`.
ALTER TABLE units RENAME COLUMN target TO fingerprint_name;
