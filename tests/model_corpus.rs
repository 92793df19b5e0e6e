//! The committed hostile model corpus (tests/vectors/models/, made by its
//! make.sh from tests/tools/hostile.py): every malformed GGUF, safetensors
//! and pickle class must give its indexed error finding, within the time and
//! address-space bounds, without Python. A later lbom, or a second
//! implementation, is held to the same files.

mod common;

use std::time::Duration;

use common::{TestResult, repo};

#[test]
fn every_committed_hostile_model_gives_its_indexed_finding() -> TestResult {
    let dir = repo().join("tests/vectors/models");
    let cases = common::hostile_models::check(&dir, Duration::from_secs(10))?;
    // Every class hostile.py writes but the three large ones (index "skipped").
    assert!(cases >= 79, "only {cases} committed cases");
    Ok(())
}
