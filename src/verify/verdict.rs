//! What one check found, and a stage's result: the types every stage of
//! `verify` returns and the runner records (docs/policy.md, "Checks and
//! exit codes").

use super::report::{Failure, Outcome};

/// What one check found: its outcome and one sentence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Verdict {
    pub outcome: Outcome,
    pub detail: String,
}

impl Verdict {
    pub fn pass(detail: impl Into<String>) -> Self {
        Self {
            outcome: Outcome::Pass,
            detail: detail.into(),
        }
    }

    pub fn warn(detail: impl Into<String>) -> Self {
        Self {
            outcome: Outcome::Warn,
            detail: detail.into(),
        }
    }

    pub fn fail(failure: Failure, detail: impl Into<String>) -> Self {
        Self {
            outcome: Outcome::Fail(failure),
            detail: detail.into(),
        }
    }
}

/// A stage's result: a value for later stages and a passing verdict, or a
/// failing verdict that stops the run.
pub(crate) type Step<T> = Result<(T, Verdict), Verdict>;

impl Verdict {
    /// A verdict computed earlier, as a stage result.
    pub(crate) fn into_step(self) -> Step<()> {
        match self.outcome {
            Outcome::Fail(_) => Err(self),
            _ => Ok(((), self)),
        }
    }
}
