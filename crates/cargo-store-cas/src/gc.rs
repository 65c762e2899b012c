//! The garbage collection planner: which units and objects go.
//!
//! Planning is a pure function of the index's contents ([`GcInputs`]) and a [`GcPolicy`], so
//! it can be tested and benchmarked without a filesystem. The order follows cargo's global
//! cache tracker: first what is both unreferenced and old, then, while the store is over its
//! size budget, the least recently used, whatever references it (a worktree keeps its own
//! links, so evicting a unit it references costs it nothing until its next checkout).
//!
//! One rule holds throughout: a unit is never kept while a unit it depends on goes. Such a unit
//! could never be checked out fresh again, so evicting a unit evicts its dependents with it,
//! and an old unreferenced unit whose dependent must stay is kept.

use std::collections::HashMap;

use rusqlite::params;

use crate::ObjectId;
use crate::index::{IndexTransaction, to_u64};

/// A unit as the planner sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GcUnit {
    /// Row id.
    pub id: i64,
    /// Its key (which names its manifest file).
    pub key: String,
    /// When an ingest or checkout last used it, seconds.
    pub last_used: i64,
    /// Whether a root references it.
    pub referenced: bool,
}

/// An object as the planner sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GcObject {
    /// Row id.
    pub id: i64,
    /// Its identity (and so its path).
    pub object: ObjectId,
    /// Its size.
    pub size: u64,
}

/// Everything the planner needs from the index.
#[derive(Debug, Clone, Default)]
pub struct GcInputs {
    /// Every unit.
    pub units: Vec<GcUnit>,
    /// `(unit, dependency)` pairs.
    pub dependencies: Vec<(i64, i64)>,
    /// `(unit, object)` pairs, one per non-empty file.
    pub files: Vec<(i64, i64)>,
    /// Every object.
    pub objects: Vec<GcObject>,
}

/// The limits a collection enforces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GcPolicy {
    /// The current time, seconds.
    pub now: i64,
    /// Unreferenced units unused for longer than this many seconds go.
    pub max_age: i64,
    /// Then least recently used units go while the objects take more than this many bytes.
    pub max_size: u64,
}

/// Why a unit is evicted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Eviction {
    /// Unreferenced and unused for longer than the maximum age.
    Age,
    /// Least recently used while the store was over its size budget.
    Size,
    /// A unit it depends on was evicted.
    Dependency,
}

/// What a collection will delete.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GcPlan {
    /// Units to evict, with the reason.
    pub units: Vec<(i64, Eviction)>,
    /// Objects no remaining unit lists.
    pub objects: Vec<GcObject>,
    /// Bytes of all objects before.
    pub bytes_before: u64,
    /// Bytes of the objects that remain.
    pub bytes_after: u64,
}

/// Plans a collection.
pub fn plan(inputs: &GcInputs, policy: &GcPolicy) -> GcPlan {
    let unit_index: HashMap<i64, usize> =
        inputs.units.iter().enumerate().map(|(index, unit)| (unit.id, index)).collect();
    let object_index: HashMap<i64, usize> =
        inputs.objects.iter().enumerate().map(|(index, object)| (object.id, index)).collect();
    let mut dependents: Vec<Vec<usize>> = vec![Vec::new(); inputs.units.len()];
    for (unit, dependency) in &inputs.dependencies {
        if let (Some(&unit), Some(&dependency)) = (unit_index.get(unit), unit_index.get(dependency)) {
            dependents[dependency].push(unit);
        }
    }
    let mut files: Vec<Vec<usize>> = vec![Vec::new(); inputs.units.len()];
    let mut references = vec![0u32; inputs.objects.len()];
    for (unit, object) in &inputs.files {
        if let (Some(&unit), Some(&object)) = (unit_index.get(unit), object_index.get(object)) {
            files[unit].push(object);
            references[object] += 1;
        }
    }
    let bytes_before: u64 = inputs.objects.iter().map(|object| object.size).sum();
    let mut size: u64 =
        inputs.objects.iter().zip(&references).filter(|(_, count)| **count > 0).map(|(object, _)| object.size).sum();
    let mut evicted: Vec<Option<Eviction>> = vec![None; inputs.units.len()];
    let mut evict = |start: usize, reason: Eviction, evicted: &mut Vec<Option<Eviction>>, size: &mut u64| {
        let mut stack = vec![(start, reason)];
        while let Some((unit, reason)) = stack.pop() {
            if evicted[unit].is_some() {
                continue;
            }
            evicted[unit] = Some(reason);
            for &object in &files[unit] {
                references[object] -= 1;
                if references[object] == 0 {
                    *size -= inputs.objects[object].size;
                }
            }
            // In the age phase a dependent is old and unreferenced too (the candidates are
            // closed under dependents); in the size phase it goes only because of this unit.
            let inherited = if reason == Eviction::Age { Eviction::Age } else { Eviction::Dependency };
            stack.extend(dependents[unit].iter().map(|&dependent| (dependent, inherited)));
        }
    };

    // Old and unreferenced, unless something that stays depends on it.
    let cutoff = policy.now.saturating_sub(policy.max_age);
    let mut candidate: Vec<bool> =
        inputs.units.iter().map(|unit| !unit.referenced && unit.last_used < cutoff).collect();
    loop {
        let mut changed = false;
        for unit in 0..inputs.units.len() {
            if candidate[unit] && dependents[unit].iter().any(|&dependent| !candidate[dependent]) {
                candidate[unit] = false;
                changed = true;
            }
        }
        if !changed {
            break;
        }
    }
    for (unit, _) in candidate.iter().enumerate().filter(|(_, candidate)| **candidate) {
        evict(unit, Eviction::Age, &mut evicted, &mut size);
    }

    // Then least recently used first while over budget.
    if size > policy.max_size {
        let mut order: Vec<usize> = (0..inputs.units.len()).filter(|&unit| evicted[unit].is_none()).collect();
        order.sort_by_key(|&unit| (inputs.units[unit].last_used, inputs.units[unit].id));
        for unit in order {
            if size <= policy.max_size {
                break;
            }
            evict(unit, Eviction::Size, &mut evicted, &mut size);
        }
    }

    GcPlan {
        units: evicted
            .iter()
            .enumerate()
            .filter_map(|(unit, reason)| reason.map(|reason| (inputs.units[unit].id, reason)))
            .collect(),
        objects: inputs
            .objects
            .iter()
            .zip(&references)
            .filter(|(_, count)| **count == 0)
            .map(|(object, _)| *object)
            .collect(),
        bytes_before,
        bytes_after: size,
    }
}

impl IndexTransaction<'_> {
    /// Reads what the planner needs.
    pub fn gc_inputs(&self) -> crate::Result<GcInputs> {
        let error = self.error();
        let query = |sql: &str| self.transaction.prepare_cached(sql).map_err(&error);
        let units =
            query("SELECT id, key, last_used, EXISTS (SELECT 1 FROM root_units WHERE unit_id = units.id) FROM units")?
                .query_map([], |row| {
                    Ok(GcUnit { id: row.get(0)?, key: row.get(1)?, last_used: row.get(2)?, referenced: row.get(3)? })
                })
                .map_err(&error)?
                .collect::<Result<_, _>>()
                .map_err(&error)?;
        let dependencies = query("SELECT unit_id, dependency_id FROM unit_dependencies")?
            .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))
            .map_err(&error)?
            .collect::<Result<_, _>>()
            .map_err(&error)?;
        let files = query("SELECT unit_id, object_id FROM unit_files WHERE object_id IS NOT NULL")?
            .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))
            .map_err(&error)?
            .collect::<Result<_, _>>()
            .map_err(&error)?;
        let objects = query("SELECT id, hash, executable, size FROM objects")?
            .query_map([], |row| {
                let hash: Vec<u8> = row.get(1)?;
                Ok(GcObject {
                    id: row.get(0)?,
                    object: ObjectId { hash: <[u8; 32]>::try_from(hash).unwrap_or([0; 32]), executable: row.get(2)? },
                    size: to_u64(row.get(3)?),
                })
            })
            .map_err(&error)?
            .collect::<Result<_, _>>()
            .map_err(&error)?;
        Ok(GcInputs { units, dependencies, files, objects })
    }

    /// Deletes the rows of a plan: references to the evicted units, the units with their
    /// manifests and dependency edges, then the objects. The database refuses (ON DELETE
    /// RESTRICT) to delete an object that a remaining unit still lists.
    pub fn delete_planned(&self, plan: &GcPlan) -> crate::Result<()> {
        let error = self.error();
        let mut references =
            self.transaction.prepare_cached("DELETE FROM root_units WHERE unit_id = ?1").map_err(&error)?;
        let mut edges =
            self.transaction.prepare_cached("DELETE FROM unit_dependencies WHERE unit_id = ?1").map_err(&error)?;
        for (unit, _) in &plan.units {
            references.execute([unit]).map_err(&error)?;
            edges.execute([unit]).map_err(&error)?;
        }
        let mut units = self.transaction.prepare_cached("DELETE FROM units WHERE id = ?1").map_err(&error)?;
        for (unit, _) in &plan.units {
            units.execute([unit]).map_err(&error)?;
        }
        let mut objects = self.transaction.prepare_cached("DELETE FROM objects WHERE id = ?1").map_err(&error)?;
        for object in &plan.objects {
            objects.execute([object.id]).map_err(&error)?;
        }
        Ok(())
    }

    /// The bytes of all objects.
    pub fn object_bytes(&self) -> crate::Result<u64> {
        let error = self.error();
        let bytes: i64 = self
            .transaction
            .prepare_cached("SELECT coalesce(sum(size), 0) FROM objects")
            .map_err(&error)?
            .query_row([], |row| row.get(0))
            .map_err(&error)?;
        Ok(to_u64(bytes))
    }

    /// A value from the settings table.
    pub fn setting(&self, name: &str) -> crate::Result<Option<i64>> {
        let error = self.error();
        let mut statement =
            self.transaction.prepare_cached("SELECT value FROM settings WHERE name = ?1").map_err(&error)?;
        let mut rows = statement.query([name]).map_err(&error)?;
        match rows.next().map_err(&error)? {
            Some(row) => row.get(0).map_err(&error),
            None => Ok(None),
        }
    }

    /// Sets a value in the settings table.
    pub fn set_setting(&self, name: &str, value: i64) -> crate::Result<()> {
        let error = self.error();
        self.transaction
            .prepare_cached(
                "INSERT INTO settings (name, value) VALUES (?1, ?2) ON CONFLICT (name) DO UPDATE SET value = ?2",
            )
            .map_err(&error)?
            .execute(params![name, value])
            .map_err(&error)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn object(id: i64, size: u64) -> GcObject {
        GcObject { id, object: ObjectId { hash: [id as u8; 32], executable: false }, size }
    }

    /// Units 1 <- 2 <- 3 (3 depends on 2, 2 on 1), and 4 alone; one object of 100 bytes each,
    /// plus object 50 listed by nobody.
    fn inputs(referenced: [bool; 4], last_used: [i64; 4]) -> GcInputs {
        GcInputs {
            units: (0..4)
                .map(|i| GcUnit {
                    id: i + 1,
                    key: format!("unit-{i}"),
                    last_used: last_used[i as usize],
                    referenced: referenced[i as usize],
                })
                .collect(),
            dependencies: vec![(2, 1), (3, 2)],
            files: (1..=4).map(|unit| (unit, unit * 10)).collect(),
            objects: vec![object(10, 100), object(20, 100), object(30, 100), object(40, 100), object(50, 7)],
        }
    }

    fn evicted(plan: &GcPlan) -> Vec<(i64, Eviction)> {
        let mut units = plan.units.clone();
        units.sort();
        units
    }

    #[test]
    fn old_unreferenced_units_go_unless_a_kept_unit_depends_on_them() {
        // Everything old; only unit 3 is referenced, so 1 and 2 (its dependencies) stay.
        let plan = plan(
            &inputs([false, false, true, false], [0; 4]),
            &GcPolicy { now: 1000, max_age: 10, max_size: u64::MAX },
        );
        assert_eq!(evicted(&plan), vec![(4, Eviction::Age)]);
        let objects: Vec<i64> = plan.objects.iter().map(|object| object.id).collect();
        assert_eq!(objects, vec![40, 50]);
        assert_eq!(plan.bytes_before, 407);
        assert_eq!(plan.bytes_after, 300);
    }

    #[test]
    fn recent_units_stay_even_when_unreferenced() {
        let plan = plan(&inputs([false; 4], [995; 4]), &GcPolicy { now: 1000, max_age: 10, max_size: u64::MAX });
        assert!(plan.units.is_empty());
        assert_eq!(plan.objects.iter().map(|object| object.id).collect::<Vec<_>>(), vec![50]);
    }

    #[test]
    fn size_budget_evicts_least_recently_used_with_dependents() {
        // All referenced and recent; over a 250-byte budget. Unit 1 is least recently used:
        // evicting it takes 2 and 3 along (they depend on it), which is enough; 4 stays.
        let plan = plan(&inputs([true; 4], [1, 4, 3, 2]), &GcPolicy { now: 10, max_age: 100, max_size: 250 });
        assert_eq!(evicted(&plan), vec![(1, Eviction::Size), (2, Eviction::Dependency), (3, Eviction::Dependency)]);
        assert_eq!(plan.bytes_after, 100);
    }

    #[test]
    fn size_budget_stops_as_soon_as_it_is_met() {
        // Unit 4 (no dependents) is least recently used and enough to get under 350 bytes.
        let plan = plan(&inputs([true; 4], [5, 6, 7, 1]), &GcPolicy { now: 10, max_age: 100, max_size: 350 });
        assert_eq!(evicted(&plan), vec![(4, Eviction::Size)]);
        assert_eq!(plan.bytes_after, 300);
    }

    #[test]
    fn a_shared_object_is_kept_while_one_unit_lists_it() {
        let mut inputs = inputs([false, false, false, true], [0; 4]);
        inputs.files.push((4, 10)); // unit 4 also lists unit 1's object
        let plan = plan(&inputs, &GcPolicy { now: 1000, max_age: 10, max_size: u64::MAX });
        assert_eq!(evicted(&plan), vec![(1, Eviction::Age), (2, Eviction::Age), (3, Eviction::Age)]);
        let objects: Vec<i64> = plan.objects.iter().map(|object| object.id).collect();
        assert_eq!(objects, vec![20, 30, 50]);
    }
}
