//! `prune` (docs/store.md, "Prune"): the newest N and `current` stay, the
//! history records what went, audit and rollback read a pruned version as
//! gone on purpose, an interrupted prune is finished by the next writer, and
//! nothing it removes is ever followed through a link.

use super::*;

/// `n` releases of channel `stable`, each naming the one before, imported
/// in order into `dir/store`.
fn store_with(dir: &Path, n: u64) -> Result<(PathBuf, Store), BoxError> {
    let root = dir.join("store");
    let mut previous: Option<PathBuf> = None;
    for seq in 1..=n {
        let weights = vec![u8::try_from(seq).unwrap_or(0); 4000 + usize::try_from(seq)?];
        let bundle = make_bundle(
            dir,
            &format!("v{seq}"),
            &[("config.json", b"{\"a\":1}"), ("sub/weights.bin", &weights)],
            seq,
            previous.as_deref(),
        )?;
        committed(run_import(&bundle, &root)?)?;
        previous = Some(bundle);
    }
    let store = Store::open(&root)?;
    Ok((root, store))
}

fn version_folders(root: &Path) -> Result<Vec<u64>, BoxError> {
    let mut out: Vec<u64> = fs::read_dir(root.join("stable"))?
        .filter_map(Result::ok)
        .filter_map(|e| e.file_name().to_str().and_then(|n| n.parse().ok()))
        .collect();
    out.sort_unstable();
    Ok(out)
}

/// Append to channel `stable`'s history the line a prune of `removed`
/// writes (dated at version `seq`), without removing anything: what a
/// crash right after that line leaves, or a line lbom never writes.
fn append_prune_line(root: &Path, store: &Store, seq: u64, removed: Vec<u64>) -> R {
    let (record, record_sha256) = store.record("stable", seq)?;
    let line = HistoryEntry::prune(&record, record_sha256, removed, jiff::Timestamp::UNIX_EPOCH);
    let mut bytes = serde_json::to_vec(&line)?;
    bytes.push(b'\n');
    fs::OpenOptions::new()
        .append(true)
        .open(root.join("stable/history.jsonl"))?
        .write_all(&bytes)?;
    Ok(())
}

/// Audit of every kept version: no problem and no note.
fn audit_is_clean(store: &Store) -> R {
    let report = audit(store, Some("stable"), true)?;
    assert!(report.passed(), "{}", report.render_text());
    let notes: Vec<&String> = report
        .notes
        .iter()
        .chain(report.channels.iter().flat_map(|c| c.notes.iter()))
        .collect();
    assert!(notes.is_empty(), "{}", report.render_text());
    Ok(())
}

#[test]
fn prune_keeps_the_newest_n_and_records_what_it_removed() -> R {
    let dir = tempfile::tempdir()?;
    let (root, store) = store_with(dir.path(), 4)?;
    let now = jiff::Timestamp::UNIX_EPOCH;
    let done = prune(&store.lock()?, "stable", 2, now)?;
    assert_eq!((done.kept, done.removed), (vec![3, 4], vec![1, 2]));
    assert_eq!(version_folders(&root)?, [3, 4]);
    assert!(staging_is_empty(&root)?);
    assert_eq!(store.current("stable")?, Some(4));
    let history = store.history("stable")?;
    assert_eq!(history.len(), 5);
    let last = history.last().ok_or("no history")?;
    assert_eq!(
        (
            last.action,
            last.sequence,
            last.from,
            last.removed.as_slice()
        ),
        (HistoryAction::Prune, 4, Some(4), &[1, 2][..])
    );
    // The line is in the store's history format: one compact JSON line
    // naming the action and the removed sequences.
    let text = fs::read_to_string(root.join("stable/history.jsonl"))?;
    let line = text.lines().last().ok_or("no line")?;
    assert!(line.contains(r#""action":"prune""#), "{line}");
    assert!(line.contains(r#""removed":[1,2]"#), "{line}");
    // Import lines stay as they were: no `removed` field.
    assert!(!text.lines().next().unwrap_or_default().contains("removed"));
    audit_is_clean(&store)?;
    // Nothing more to remove: no line, nothing changed.
    let again = prune(&store.lock()?, "stable", 2, now)?;
    assert!(again.removed.is_empty());
    assert_eq!(store.history("stable")?.len(), 5);
    Ok(())
}

#[test]
fn prune_never_removes_current_even_after_a_rollback() -> R {
    let dir = tempfile::tempdir()?;
    let (root, store) = store_with(dir.path(), 4)?;
    let now = jiff::Timestamp::UNIX_EPOCH;
    let locked = store.lock()?;
    rollback(&locked, "stable", 1, now)?;
    let done = prune(&locked, "stable", 1, now)?;
    assert_eq!((done.kept, done.removed), (vec![1, 4], vec![2, 3]));
    assert_eq!(store.current("stable")?, Some(1));
    assert_eq!(version_folders(&root)?, [1, 4]);
    // Keep 0: only current stays.
    let done = prune(&locked, "stable", 0, now)?;
    assert_eq!((done.kept, done.removed), (vec![1], vec![4]));
    assert_eq!(version_folders(&root)?, [1]);
    drop(locked);
    audit_is_clean(&store)?;
    Ok(())
}

#[test]
fn rollback_to_a_pruned_version_is_refused_with_a_clear_error() -> R {
    let dir = tempfile::tempdir()?;
    let (_root, store) = store_with(dir.path(), 3)?;
    let now = jiff::Timestamp::UNIX_EPOCH;
    let locked = store.lock()?;
    prune(&locked, "stable", 1, now)?;
    let refused = rollback(&locked, "stable", 1, now);
    match &refused {
        Err(e) if e.kind() == StoreErrorKind::Refused => {
            let message = e.to_string();
            assert!(message.contains("version 1"), "{message}");
            assert!(message.contains("pruned"), "{message}");
            assert!(message.contains("kept: 3"), "{message}");
        }
        other => panic!("rollback to a pruned version: {other:?}"),
    }
    assert_eq!(store.current("stable")?, Some(3));
    Ok(())
}

/// A version folder replaced by a link (to a folder outside, with a file
/// to lose): prune refuses the store as damaged before it records or moves
/// anything, and the outside is untouched.
#[test]
fn a_version_folder_replaced_by_a_link_is_refused_never_followed() -> R {
    let dir = tempfile::tempdir()?;
    let (root, store) = store_with(dir.path(), 3)?;
    let outside = dir.path().join("outside");
    fs::create_dir(&outside)?;
    fs::write(outside.join("canary"), b"keep me")?;
    let version = root.join("stable/1");
    fs::set_permissions(&version, fs::Permissions::from_mode(0o755))?;
    fs::rename(&version, dir.path().join("moved-away"))?;
    std::os::unix::fs::symlink(&outside, &version)?;
    let before = store.history("stable")?;
    let refused = prune(&store.lock()?, "stable", 1, jiff::Timestamp::UNIX_EPOCH);
    assert!(
        matches!(&refused, Err(e) if e.kind() == StoreErrorKind::Damaged),
        "{refused:?}"
    );
    assert_eq!(fs::read(outside.join("canary"))?, b"keep me");
    assert!(fs::symlink_metadata(&version)?.file_type().is_symlink());
    assert_eq!(store.history("stable")?, before);
    assert_eq!(version_folders(&root)?, [1, 2, 3]);
    Ok(())
}

/// A link inside a removed version (where its content sits) is removed as
/// the entry it is: what it points at survives.
#[test]
fn a_link_inside_a_pruned_version_is_removed_not_followed() -> R {
    let dir = tempfile::tempdir()?;
    let (root, store) = store_with(dir.path(), 2)?;
    let outside = dir.path().join("outside");
    fs::create_dir(&outside)?;
    fs::write(outside.join("canary"), b"keep me")?;
    let files = root.join("stable/1/files");
    fs::set_permissions(&files, fs::Permissions::from_mode(0o755))?;
    let sub = files.join("sub");
    fs::set_permissions(&sub, fs::Permissions::from_mode(0o755))?;
    fs::remove_dir_all(&sub)?;
    std::os::unix::fs::symlink(&outside, &sub)?;
    let done = prune(&store.lock()?, "stable", 1, jiff::Timestamp::UNIX_EPOCH)?;
    assert_eq!(done.removed, [1]);
    assert_eq!(version_folders(&root)?, [2]);
    assert_eq!(fs::read(outside.join("canary"))?, b"keep me");
    assert!(staging_is_empty(&root)?);
    Ok(())
}

/// A crash after the prune line and before the folders went: audit notes
/// it (not a problem: the history says the version was pruned), and the
/// next writer's recovery removes the folder.
#[test]
fn an_interrupted_prune_is_finished_by_the_next_writer() -> R {
    let dir = tempfile::tempdir()?;
    let (root, store) = store_with(dir.path(), 3)?;
    append_prune_line(&root, &store, 3, vec![1])?;
    let report = audit(&store, Some("stable"), true)?;
    assert!(report.passed(), "{}", report.render_text());
    assert!(
        report.render_text().contains("interrupted prune"),
        "{}",
        report.render_text()
    );
    store.lock()?.recover()?;
    assert_eq!(version_folders(&root)?, [2, 3]);
    audit_is_clean(&store)?;
    Ok(())
}

/// A history line that claims `current` was pruned (lbom never writes one)
/// makes the next writer refuse the store, not delete the current version.
#[test]
fn a_history_that_prunes_current_is_refused_not_obeyed() -> R {
    let dir = tempfile::tempdir()?;
    let (root, store) = store_with(dir.path(), 2)?;
    append_prune_line(&root, &store, 2, vec![2])?;
    let refused = store.lock()?.recover();
    assert!(
        matches!(&refused, Err(e) if e.kind() == StoreErrorKind::Damaged),
        "{refused:?}"
    );
    assert_eq!(version_folders(&root)?, [1, 2]);
    Ok(())
}
