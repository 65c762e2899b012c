-- The first schema of the store index. Migrations are append-only: never edit a released
-- file, add the next one. Each runs once, in order, keyed by PRAGMA user_version.

-- One row per object file under objects/: its identity (blake3 hash and executable bit) and
-- what its file looked like when it was written (size, mtime, inode), for the quick check.
CREATE TABLE objects (
    id INTEGER PRIMARY KEY,
    hash BLOB NOT NULL,
    executable INTEGER NOT NULL,
    size INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL,
    inode INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    UNIQUE (hash, executable)
);

-- One row per stored build unit. `key` is its full identity (see cargo-store-target's UnitKey).
CREATE TABLE units (
    id INTEGER PRIMARY KEY,
    key TEXT NOT NULL UNIQUE,
    toolchain TEXT NOT NULL,
    layout TEXT NOT NULL,
    place TEXT NOT NULL,
    name TEXT NOT NULL,
    kind TEXT NOT NULL,
    target TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    package_name TEXT NOT NULL,
    package_version TEXT NOT NULL,
    package_source TEXT NOT NULL,
    bytes INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    last_used INTEGER NOT NULL
);
CREATE INDEX units_by_package ON units (toolchain, package_name, package_version, package_source);

-- The manifest of each unit: its files, relative to the unit's place. Empty files have no
-- object. Files of one unit with the same link_group were one inode (hard links cargo made).
CREATE TABLE unit_files (
    unit_id INTEGER NOT NULL REFERENCES units (id) ON DELETE CASCADE,
    path BLOB NOT NULL,
    object_id INTEGER REFERENCES objects (id) ON DELETE RESTRICT,
    size INTEGER NOT NULL,
    mode INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL,
    class INTEGER NOT NULL,
    link_group INTEGER,
    PRIMARY KEY (unit_id, path)
) WITHOUT ROWID;
CREATE INDEX unit_files_by_object ON unit_files (object_id);

-- The dependency graph between stored units, so that a unit is never kept without the units
-- it was built against.
CREATE TABLE unit_dependencies (
    unit_id INTEGER NOT NULL REFERENCES units (id) ON DELETE CASCADE,
    dependency_id INTEGER NOT NULL REFERENCES units (id) ON DELETE RESTRICT,
    PRIMARY KEY (unit_id, dependency_id)
) WITHOUT ROWID;
CREATE INDEX unit_dependencies_by_dependency ON unit_dependencies (dependency_id);

-- Registered build directories, and the units each holds.
CREATE TABLE roots (
    id INTEGER PRIMARY KEY,
    path BLOB NOT NULL UNIQUE,
    device INTEGER NOT NULL,
    inode INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    last_used INTEGER NOT NULL,
    missing_since INTEGER
);

CREATE TABLE root_units (
    root_id INTEGER NOT NULL REFERENCES roots (id) ON DELETE CASCADE,
    unit_id INTEGER NOT NULL REFERENCES units (id) ON DELETE RESTRICT,
    PRIMARY KEY (root_id, unit_id)
) WITHOUT ROWID;
CREATE INDEX root_units_by_unit ON root_units (unit_id);

-- Small facts about the store itself (for example when gc last ran).
CREATE TABLE settings (
    name TEXT PRIMARY KEY,
    value ANY
) WITHOUT ROWID;
