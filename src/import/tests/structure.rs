//! The store's structure (docs/store.md §4, §6, §8): staged folders moved
//! only when they are the import's own, recovery against the history, the
//! channel registry, and the documented problem codes.

use super::*;

fn info() -> ImportInfo {
    ImportInfo {
        bundle_file: "v.lbom".into(),
        bundle_bytes: 1,
        policy_file: "station.toml".into(),
        policy_sha256: Sha256Digest::of(b"policy"),
        accepted_drift: Vec::new(),
        time: jiff::Timestamp::UNIX_EPOCH,
    }
}

/// docs/store.md [S3]: a folder swapped in for the staged one between
/// staging and the rename is not committed.
#[test]
fn a_staged_folder_swapped_before_its_rename_is_refused() -> R {
    let dir = tempfile::tempdir()?;
    let (v1, _) = two_versions(dir.path())?;
    let root = dir.path().join("store");
    let locked = Store::open_or_create(&root)?;
    locked.recover()?;
    let mut sink = locked.stage(Some("stable"))?;
    let verified = stream(&v1, &mut sink)?;
    let (staged, written) = sink.into_staged();
    written?;
    let path = staged.dir().to_path_buf();
    fs::rename(&path, dir.path().join("moved-away"))?;
    fs::create_dir(&path)?;
    fs::write(path.join("forged"), b"not what was verified")?;
    let err = commit(&locked, staged, &verified, &info(), None)
        .err()
        .ok_or("committed a folder it did not stage")?;
    assert_eq!(err.kind(), StoreErrorKind::Damaged, "{err}");
    assert!(
        err.to_string()
            .contains("is no longer the folder this import staged"),
        "{err}"
    );
    assert_eq!(locked.current("stable")?, None);
    assert!(!root.join("stable/1").exists());
    Ok(())
}

/// docs/store.md [S4]: recovery completes a switch the history records
/// and refuses a `current` the history does not explain.
#[test]
fn recovery_completes_a_recorded_switch_and_refuses_a_current_the_history_does_not_explain() -> R {
    let dir = tempfile::tempdir()?;
    let (v1, v2) = two_versions(dir.path())?;
    let root = dir.path().join("store");
    committed(run_import(&v1, &root)?)?;
    FAULT.with(|f| f.set(Some(FaultPoint::Recorded)));
    let crashed = run_import(&v2, &root);
    FAULT.with(|f| f.set(None));
    assert!(crashed.is_err());
    let store = Store::open(&root)?;
    assert_eq!(store.current("stable")?, Some(1));
    store.lock()?.recover()?;
    assert_eq!(store.current("stable")?, Some(2));
    assert_eq!(seqs(&store.history("stable")?), [1, 2]);

    // `current` pointed at a version the history never made current.
    let current = root.join("stable/current");
    fs::remove_file(&current)?;
    std::os::unix::fs::symlink("7", &current)?;
    let err = store
        .lock()?
        .recover()
        .err()
        .ok_or("recovered a forged current")?;
    assert_eq!(err.kind(), StoreErrorKind::Damaged);
    assert!(err.to_string().contains("made version 2 current"), "{err}");
    let report = audit(&store, None, false)?;
    assert!(
        report
            .problems()
            .any(|p| p.kind == ProblemKind::Current && p.path == "stable/current"),
        "{}",
        report.render_text()
    );
    // Nothing was recorded for it.
    assert_eq!(seqs(&store.history("stable")?), [1, 2]);
    Ok(())
}

/// docs/store.md [S10]: a deleted channel and a planted one are refused by
/// every command; an empty unregistered folder (a crash between creating
/// and registering a channel) is removed by the next writer.
#[test]
fn a_deleted_or_planted_channel_is_refused_and_an_empty_unregistered_one_removed() -> R {
    let dir = tempfile::tempdir()?;
    let (v1, v2) = two_versions(dir.path())?;
    let root = dir.path().join("store");
    committed(run_import(&v1, &root)?)?;
    let store = Store::open(&root)?;

    fs::create_dir(root.join("empty"))?;
    committed(run_import(&v2, &root)?)?;
    assert!(!root.join("empty").exists());

    fs::create_dir_all(root.join("planted/1"))?;
    for result in [
        history(&store, "stable").map(|_| ()),
        store.channel_state("stable").map(|_| ()),
        run_import(&v2, &root).map(|_| ()),
    ] {
        let err = result.err().ok_or("a planted channel was accepted")?;
        assert_eq!(err.kind(), StoreErrorKind::Damaged);
        assert!(
            err.to_string().contains("planted: store is damaged"),
            "{err}"
        );
    }
    fs::remove_dir_all(root.join("planted"))?;

    for d in ["stable", "stable/1", "stable/2"] {
        fs::set_permissions(root.join(d), fs::Permissions::from_mode(0o755))?;
    }
    let mut todo = vec![root.join("stable")];
    while let Some(d) = todo.pop() {
        for e in fs::read_dir(&d)? {
            let p = e?.path();
            if fs::symlink_metadata(&p)?.is_dir() {
                fs::set_permissions(&p, fs::Permissions::from_mode(0o755))?;
                todo.push(p);
            }
        }
    }
    fs::remove_dir_all(root.join("stable"))?;
    let err = history(&store, "stable")
        .err()
        .ok_or("a deleted channel was invisible")?;
    assert!(
        err.to_string()
            .contains("stable: store is damaged: registered in .channels"),
        "{err}"
    );
    let report = audit(&store, None, false)?;
    assert!(
        report
            .problems()
            .any(|p| p.kind == ProblemKind::ChannelMissing && p.path == "stable")
    );
    // An import into the deleted channel would start it over at version 1,
    // without the history that stops a rollback: refused.
    assert_eq!(
        run_import(&v1, &root).err().map(|e| e.kind()),
        Some(StoreErrorKind::Damaged)
    );
    Ok(())
}

/// docs/store.md [S5]: the table of problem codes is exactly the codes
/// `audit` reports, each once.
#[test]
fn every_problem_code_is_documented_once() -> R {
    let doc = include_str!("../../../docs/store.md");
    let section = doc
        .split("### Problem codes")
        .nth(1)
        .and_then(|s| s.split("\n## ").next())
        .ok_or("no problem code table in docs/store.md")?;
    let documented: Vec<&str> = section
        .lines()
        .filter_map(|l| l.strip_prefix("| `"))
        .filter_map(|l| l.split('`').next())
        .collect();
    let codes: Vec<&str> = ProblemKind::ALL.iter().map(|k| k.code()).collect();
    assert_eq!(documented, codes);
    for kind in ProblemKind::ALL {
        let json = serde_json::to_value(kind)?;
        assert_eq!(json.as_str(), Some(kind.code()));
    }
    Ok(())
}

/// docs/store.md [S7]: a creator that saw no marker, while another one
/// finished creating the store and began importing into it, uses that
/// store; it does not call the folder "not empty, not a store" (exit 2).
#[test]
fn a_store_finished_by_another_creator_between_two_reads_is_used_not_refused() -> R {
    fn finish_elsewhere(path: &Path) {
        // What the winner has done by then: the marker renamed in, then
        // its import's first folders.
        let _ = fs::write(path.join(layout::MARKER), layout::MARKER_CONTENT);
        let _ = fs::create_dir(path.join(layout::STAGING));
        let _ = fs::write(path.join(crate::import::paths::REGISTRY), b"");
    }
    let dir = tempfile::tempdir()?;
    let root = dir.path().join("store");
    super::super::lock::BETWEEN_READS.with(|h| h.set(Some(finish_elsewhere)));
    let opened = Store::open_or_create(&root);
    super::super::lock::BETWEEN_READS.with(|h| h.set(None));
    let locked = opened?;
    assert!(root.join(layout::MARKER).is_file());
    drop(locked);
    Ok(())
}
