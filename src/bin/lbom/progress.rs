//! Progress bars on stderr, only when stderr is a terminal and not `--quiet`.
//! Their messages are lbom's own words and counts, never input.
// stderr() only to ask whether it is a terminal; indicatif draws the bars.
#![allow(clippy::disallowed_methods)]

use std::io::IsTerminal;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// A byte-count progress bar for a scan, or nothing.
pub struct ScanBar(Option<ProgressBar>);

impl ScanBar {
    /// A bar when stderr is a terminal and the user did not ask for quiet.
    pub fn new(quiet: bool) -> Self {
        if quiet || !std::io::stderr().is_terminal() {
            return Self(None);
        }
        let bar = ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::stderr());
        if let Ok(style) = ProgressStyle::with_template(
            "{spinner} {msg} {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
        ) {
            bar.set_style(style);
        }
        Self(Some(bar))
    }

    /// Remove the bar from the screen.
    pub fn finish(&self) {
        if let Some(bar) = &self.0 {
            bar.finish_and_clear();
        }
    }
}

impl lbom::inspect::Progress for ScanBar {
    fn begin(&self, files: u64, bytes: u64) {
        if let Some(bar) = &self.0 {
            bar.set_length(bytes);
            bar.set_message(format!("scanning {files} files"));
        }
    }
    fn advance(&self, bytes: u64) {
        if let Some(bar) = &self.0 {
            bar.inc(bytes);
        }
    }
}

/// A byte-count progress bar for pack, or nothing.
pub struct ByteBar(Option<ProgressBar>);

impl ByteBar {
    /// A spinner with a byte count when stderr is a terminal.
    pub fn new(quiet: bool, message: &'static str) -> Self {
        if quiet || !std::io::stderr().is_terminal() {
            return Self(None);
        }
        let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
        if let Ok(style) = ProgressStyle::with_template("{spinner} {msg} {bytes} {bytes_per_sec}") {
            bar.set_style(style);
        }
        bar.set_message(message);
        Self(Some(bar))
    }
    /// `bytes` more bytes were processed.
    pub fn advance(&self, bytes: u64) {
        if let Some(bar) = &self.0 {
            bar.inc(bytes);
        }
    }
    /// Remove the bar.
    pub fn finish(&self) {
        if let Some(bar) = &self.0 {
            bar.finish_and_clear();
        }
    }
}
