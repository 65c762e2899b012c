//! Which git repository a workspace belongs to, so that worktrees of one repository can learn
//! from each other's builds.

use std::fs;
use std::path::{Path, PathBuf};

use crate::Workspace;

/// A digest of the files that decide which variants of its dependencies a workspace builds:
/// `Cargo.lock`, the manifests of the workspace and its members, and the workspace's own
/// `.cargo/config.toml`. Two worktrees with the same digest build the same units when built
/// the same way; with different digests (a branch that changed features or a profile), what
/// one built says little about the other.
pub fn build_inputs_digest(workspace: &Workspace) -> String {
    let mut files = vec![PathBuf::from("Cargo.lock"), PathBuf::from("Cargo.toml"), PathBuf::from(".cargo/config.toml")];
    files.extend(
        workspace
            .packages
            .iter()
            .filter(|package| package.member)
            .filter_map(|package| package.root.strip_prefix(&workspace.root).ok())
            .map(|relative| relative.join("Cargo.toml")),
    );
    files.sort();
    files.dedup();
    let mut hasher = blake3::Hasher::new();
    for file in files {
        hasher.update(file.as_os_str().as_encoded_bytes());
        hasher.update(&[0]);
        match fs::read(workspace.root.join(&file)) {
            Ok(bytes) => {
                hasher.update(&(bytes.len() as u64).to_le_bytes());
                hasher.update(&bytes);
            }
            Err(_) => {
                hasher.update(b"absent");
            }
        }
    }
    hasher.finalize().to_hex().to_string()
}

/// The common git directory of the repository that `directory` is in (the `.git` directory of
/// its main worktree), the same for every worktree of the repository; `None` outside git.
/// Read from `.git` and `commondir` files, as git lays them out, without running git.
pub fn repository_of(directory: &Path) -> Option<PathBuf> {
    for ancestor in directory.ancestors() {
        let dot_git = ancestor.join(".git");
        let Ok(metadata) = fs::symlink_metadata(&dot_git) else { continue };
        if metadata.is_dir() {
            return dot_git.canonicalize().ok();
        }
        // A linked worktree: `.git` is a file `gitdir: <the worktree's git directory>`, and
        // that directory's `commondir` names the repository's.
        let text = fs::read_to_string(&dot_git).ok()?;
        let git_directory = ancestor.join(text.strip_prefix("gitdir:")?.trim());
        let common = match fs::read_to_string(git_directory.join("commondir")) {
            Ok(common) => git_directory.join(common.trim()),
            Err(_) => git_directory,
        };
        return common.canonicalize().ok();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn linked_worktrees_share_the_main_worktree_repository() {
        let directory = tempfile::tempdir().expect("tempdir");
        let main = directory.path().join("main");
        let linked = directory.path().join("linked");
        fs::create_dir_all(main.join(".git/worktrees/linked")).expect("mkdir");
        fs::create_dir_all(linked.join("sub")).expect("mkdir");
        fs::write(main.join(".git/worktrees/linked/commondir"), "../..\n").expect("write");
        let gitdir = format!("gitdir: {}\n", main.join(".git/worktrees/linked").display());
        fs::write(linked.join(".git"), gitdir).expect("write");
        let expected = main.join(".git").canonicalize().expect("canonicalize");
        assert_eq!(repository_of(&main), Some(expected.clone()));
        assert_eq!(repository_of(&linked.join("sub")), Some(expected));
        assert_eq!(repository_of(Path::new("/")), None);
    }
}
