//! Why cargo built a unit that the store holds other builds of.
//!
//! A new project that uses a stored package version still misses the stored units when it
//! builds that package another way: other features, other `RUSTFLAGS`, other profile settings,
//! or against other builds of its dependencies. Cargo's unit hash mixes all of these into one
//! number, so the only way to say *which* is to compare the fingerprint JSON of the unit cargo
//! built here with that of each stored unit of the same target: the fields are cargo's own
//! inputs to the fingerprint (`features`, `rustflags`, `profile`, `config`, `compile_kind`,
//! `rustc`, the dependencies' fingerprints, and for a build script run the environment it
//! watches). Only fields cargo writes in plain text can be named with their values; the others
//! are hashes, so they are named by what they stand for.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The inputs of a unit's fingerprint, read from its fingerprint JSON.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Variant {
    rustc: u64,
    features: String,
    rustflags: Vec<String>,
    profile: u64,
    config: u64,
    compile_kind: u64,
    target: u64,
    path: u64,
    /// Dependency name → fingerprint.
    dependencies: BTreeMap<String, u64>,
    /// Variables a build script watches (`rerun-if-env-changed`) → their value at the build.
    environment: BTreeMap<String, Option<String>>,
}

/// One way two builds of the same target differ.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Difference {
    /// Built by another compiler.
    Toolchain,
    /// Built for another target platform (`--target`).
    Platform,
    /// Other features enabled: the lists as cargo records them.
    Features {
        /// Enabled for the build here.
        here: String,
        /// Enabled for the stored build.
        stored: String,
    },
    /// Other flags passed to rustc (`RUSTFLAGS`, `build.rustflags`).
    Flags {
        /// The flags of the build here.
        here: Vec<String>,
        /// The flags of the stored build.
        stored: Vec<String>,
    },
    /// Other profile settings (opt-level, debuginfo, codegen options, `[profile]` overrides).
    Profile,
    /// Other settings cargo hashes beside the profile (lints, `check-cfg`).
    Settings,
    /// A variable the build script watches had another value.
    Environment {
        /// The variable.
        variable: String,
    },
    /// Built against other builds of these dependencies.
    Dependencies(Vec<String>),
    /// Built from other sources (another path to the package, or another target of it).
    Source,
    /// No input cargo writes down differs, but the fingerprint does (another cargo, or an
    /// input it only hashes).
    Unrecorded,
}

/// The kind of a [`Difference`], as reports name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum DifferenceKind {
    /// [`Difference::Toolchain`].
    OtherToolchain,
    /// [`Difference::Platform`].
    OtherPlatform,
    /// [`Difference::Features`].
    OtherFeatures,
    /// [`Difference::Flags`].
    OtherFlags,
    /// [`Difference::Profile`].
    OtherProfile,
    /// [`Difference::Settings`].
    OtherSettings,
    /// [`Difference::Environment`].
    OtherEnvironment,
    /// [`Difference::Dependencies`].
    OtherDependencyBuilds,
    /// [`Difference::Source`].
    OtherSource,
    /// [`Difference::Unrecorded`].
    Unrecorded,
}

impl DifferenceKind {
    /// The kebab-case name used in reports.
    pub fn name(self) -> &'static str {
        match self {
            DifferenceKind::OtherToolchain => "other-toolchain",
            DifferenceKind::OtherPlatform => "other-platform",
            DifferenceKind::OtherFeatures => "other-features",
            DifferenceKind::OtherFlags => "other-flags",
            DifferenceKind::OtherProfile => "other-profile",
            DifferenceKind::OtherSettings => "other-settings",
            DifferenceKind::OtherEnvironment => "other-environment",
            DifferenceKind::OtherDependencyBuilds => "other-dependency-builds",
            DifferenceKind::OtherSource => "other-source",
            DifferenceKind::Unrecorded => "unrecorded",
        }
    }
}

impl Difference {
    /// What kind of difference it is.
    pub fn kind(&self) -> DifferenceKind {
        match self {
            Difference::Toolchain => DifferenceKind::OtherToolchain,
            Difference::Platform => DifferenceKind::OtherPlatform,
            Difference::Features { .. } => DifferenceKind::OtherFeatures,
            Difference::Flags { .. } => DifferenceKind::OtherFlags,
            Difference::Profile => DifferenceKind::OtherProfile,
            Difference::Settings => DifferenceKind::OtherSettings,
            Difference::Environment { .. } => DifferenceKind::OtherEnvironment,
            Difference::Dependencies(_) => DifferenceKind::OtherDependencyBuilds,
            Difference::Source => DifferenceKind::OtherSource,
            Difference::Unrecorded => DifferenceKind::Unrecorded,
        }
    }
}

impl std::fmt::Display for Difference {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let flags = |flags: &[String]| if flags.is_empty() { "none".to_owned() } else { flags.join(" ") };
        match self {
            Difference::Toolchain => write!(formatter, "another toolchain"),
            Difference::Platform => write!(formatter, "another target platform"),
            Difference::Features { here, stored } => {
                write!(formatter, "other features: {here} here, {stored} stored")
            }
            Difference::Flags { here, stored } => {
                write!(formatter, "other rustc flags: {} here, {} stored", flags(here), flags(stored))
            }
            Difference::Profile => {
                write!(formatter, "other profile settings (opt-level, debuginfo, [profile] overrides)")
            }
            Difference::Settings => write!(formatter, "other lints or check-cfg settings"),
            Difference::Environment { variable } => {
                write!(formatter, "another value of {variable}, which its build script watches")
            }
            Difference::Dependencies(names) => {
                write!(formatter, "built against other builds of {}", names.join(", "))
            }
            Difference::Source => write!(formatter, "other sources"),
            Difference::Unrecorded => write!(
                formatter,
                "no input cargo writes down differs, but the fingerprint does (another cargo, or an input it only hashes)"
            ),
        }
    }
}

#[derive(Deserialize)]
struct Json {
    #[serde(default)]
    rustc: u64,
    #[serde(default)]
    features: String,
    #[serde(default)]
    rustflags: Vec<String>,
    #[serde(default)]
    profile: u64,
    #[serde(default)]
    config: u64,
    #[serde(default)]
    compile_kind: u64,
    #[serde(default)]
    target: u64,
    #[serde(default)]
    path: u64,
    #[serde(default)]
    deps: Vec<Vec<serde_json::Value>>,
    #[serde(default)]
    local: Vec<serde_json::Value>,
}

impl Variant {
    /// Reads a fingerprint JSON file's contents; `None` if it is not one.
    pub fn parse(bytes: &[u8]) -> Option<Variant> {
        let json: Json = serde_json::from_slice(bytes).ok()?;
        // Each dependency is `[package hash, name, public, fingerprint]`.
        let dependencies = json
            .deps
            .iter()
            .filter_map(|entry| Some((entry.get(1)?.as_str()?.to_owned(), entry.last()?.as_u64()?)))
            .collect();
        let environment = json
            .local
            .iter()
            .filter_map(|local| local.get("RerunIfEnvChanged"))
            .filter_map(|watched| Some((watched.get("var")?.as_str()?.to_owned(), watched.get("val")?)))
            .map(|(variable, value)| (variable, value.as_str().map(str::to_owned)))
            .collect();
        Some(Variant {
            rustc: json.rustc,
            features: json.features,
            rustflags: json.rustflags,
            profile: json.profile,
            config: json.config,
            compile_kind: json.compile_kind,
            target: json.target,
            path: json.path,
            dependencies,
            environment,
        })
    }

    /// How the build `self` (made here) differs from `stored`, the most telling first; empty
    /// when no recorded input differs (if their fingerprints differ all the same, that is
    /// [`Difference::Unrecorded`]).
    pub fn differences(&self, stored: &Variant) -> Vec<Difference> {
        let mut differences = Vec::new();
        if self.rustc != stored.rustc {
            differences.push(Difference::Toolchain);
        }
        if self.compile_kind != stored.compile_kind {
            differences.push(Difference::Platform);
        }
        if self.features != stored.features {
            differences.push(Difference::Features { here: self.features.clone(), stored: stored.features.clone() });
        }
        if self.rustflags != stored.rustflags {
            differences.push(Difference::Flags { here: self.rustflags.clone(), stored: stored.rustflags.clone() });
        }
        if self.profile != stored.profile {
            differences.push(Difference::Profile);
        }
        if self.config != stored.config {
            differences.push(Difference::Settings);
        }
        let variables: std::collections::BTreeSet<&String> =
            self.environment.keys().chain(stored.environment.keys()).collect();
        for variable in variables {
            if self.environment.get(variable) != stored.environment.get(variable) {
                differences.push(Difference::Environment { variable: variable.clone() });
            }
        }
        let names: std::collections::BTreeSet<&String> =
            self.dependencies.keys().chain(stored.dependencies.keys()).collect();
        let other: Vec<String> = names
            .into_iter()
            .filter(|name| self.dependencies.get(*name) != stored.dependencies.get(*name))
            .cloned()
            .collect();
        if !other.is_empty() {
            differences.push(Difference::Dependencies(other));
        }
        if self.target != stored.target || self.path != stored.path {
            differences.push(Difference::Source);
        }
        differences
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIB: &str = r#"{"rustc":1,"features":"[\"default\", \"std\"]","declared_features":"[]","target":2,"profile":3,"path":4,"deps":[[11,"memchr",false,100]],"local":[{"CheckDepInfo":{"dep_info":"x","checksum":false}}],"rustflags":[],"config":5,"compile_kind":0}"#;

    fn variant(text: &str) -> Variant {
        Variant::parse(text.as_bytes()).expect("a fingerprint")
    }

    #[test]
    fn the_same_build_has_no_difference() {
        assert_eq!(variant(LIB).differences(&variant(LIB)), Vec::new());
        assert_eq!(variant(LIB).dependencies.get("memchr"), Some(&100));
    }

    #[test]
    fn features_and_flags_are_named_with_their_values() {
        let here = variant(
            &LIB.replace(r#", \"std\""#, "").replace(r#""rustflags":[]"#, r#""rustflags":["-Ctarget-cpu=native"]"#),
        );
        let differences = here.differences(&variant(LIB));
        assert_eq!(
            differences,
            vec![
                Difference::Features { here: r#"["default"]"#.to_owned(), stored: r#"["default", "std"]"#.to_owned() },
                Difference::Flags { here: vec!["-Ctarget-cpu=native".to_owned()], stored: Vec::new() },
            ]
        );
        assert_eq!(differences[1].to_string(), "other rustc flags: -Ctarget-cpu=native here, none stored");
    }

    #[test]
    fn hashed_inputs_are_named_by_what_they_stand_for() {
        let here = variant(&LIB.replace(r#""profile":3"#, r#""profile":9"#).replace(",false,100]", ",false,101]"));
        let names: Vec<&str> =
            here.differences(&variant(LIB)).iter().map(|difference| difference.kind().name()).collect();
        assert_eq!(names, ["other-profile", "other-dependency-builds"]);
        assert_eq!(here.differences(&variant(LIB))[1].to_string(), "built against other builds of memchr");
    }

    #[test]
    fn a_build_script_run_names_the_variable_that_changed() {
        let run = |value: &str| {
            format!(
                r#"{{"rustc":1,"features":"","target":0,"profile":0,"path":0,"deps":[],"local":[{{"RerunIfEnvChanged":{{"var":"NATIVE_FLAVOR","val":{value}}}}}],"rustflags":[],"config":0,"compile_kind":0}}"#
            )
        };
        let differences = variant(&run(r#""other""#)).differences(&variant(&run("null")));
        assert_eq!(differences, vec![Difference::Environment { variable: "NATIVE_FLAVOR".to_owned() }]);
    }

    #[test]
    fn what_is_not_a_fingerprint_is_refused() {
        assert_eq!(Variant::parse(b"not json"), None);
        assert_eq!(Variant::parse(b"[1, 2]"), None);
    }
}
