-- Which repository each registered build directory belongs to (the common git directory of
-- its worktree) and a digest of the files that decide what it builds (lock file, manifests),
-- and which of the units a root holds its current builds use: a new worktree of the same
-- repository with the same digest prefers those variants over the other ones the store holds.
ALTER TABLE roots ADD COLUMN repository BLOB;
-- The workspace whose build directory the root is, so that the timer can ingest it.
ALTER TABLE roots ADD COLUMN workspace BLOB;
ALTER TABLE roots ADD COLUMN build_inputs TEXT;
ALTER TABLE root_units ADD COLUMN current INTEGER NOT NULL DEFAULT 0;
CREATE INDEX roots_by_repository ON roots (repository);

-- A unit's bytes count each inode once: the two names cargo gives a build script's
-- executable (one link group) are one file.
UPDATE units SET bytes = (
    SELECT coalesce(sum(size), 0) FROM (
        SELECT size FROM unit_files WHERE unit_id = units.id AND link_group IS NULL
        UNION ALL
        SELECT max(size) FROM unit_files WHERE unit_id = units.id AND link_group IS NOT NULL GROUP BY link_group
    )
);
