-- Which repository each registered build directory belongs to (the common git directory of
-- its worktree) and a digest of the files that decide what it builds (lock file, manifests),
-- and which of the units a root holds its current builds use: a new worktree of the same
-- repository with the same digest prefers those variants over the other ones the store holds.
ALTER TABLE roots ADD COLUMN repository BLOB;
ALTER TABLE roots ADD COLUMN build_inputs TEXT;
ALTER TABLE root_units ADD COLUMN current INTEGER NOT NULL DEFAULT 0;
CREATE INDEX roots_by_repository ON roots (repository);
