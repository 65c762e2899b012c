# >>> cargo-store >>>
# Added by `cargo store hook install`; `cargo store hook uninstall` removes it.
# After `git worktree add` (old revision all zeros, flag 1) of a Cargo project, lay the
# stored dependency build units into the new worktree's target directory. Never fails.
case "${1-}" in
'' | *[!0]*) ;;
*)
    if [ "${3-}" = 1 ]; then
        cargo_store_worktree=$(git rev-parse --show-toplevel 2>/dev/null) || cargo_store_worktree=$PWD
        if [ -f "$cargo_store_worktree/Cargo.toml" ]; then
            (
                unset GIT_DIR GIT_WORK_TREE GIT_INDEX_FILE GIT_COMMON_DIR GIT_PREFIX
                exec @COMMAND@ --manifest-path "$cargo_store_worktree/Cargo.toml" </dev/null
            ) || printf '%s\n' "cargo-store: could not check out stored dependencies into $cargo_store_worktree (the worktree itself is fine); run \`cargo store checkout\` there to see why" >&2
        fi
        unset cargo_store_worktree
    fi
    ;;
esac
# <<< cargo-store <<<
