//! Progress bars on stderr, only when stderr is a terminal and not `--quiet`.
//! Their messages are lbom's own words and counts, never input.
//!
//! Every bar shows the same things: the bytes done and the total, the
//! percentage, the rate and the time left.
// stderr() only to ask whether it is a terminal; indicatif draws the bars.
#![allow(clippy::disallowed_methods)]

use std::io::IsTerminal;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

const TEMPLATE: &str =
    "{msg} [{bar:30}] {bytes}/{total_bytes} {percent}% {bytes_per_sec} eta {eta}";

/// A bar of `total` bytes, or nothing in a pipe or with `--quiet`.
fn byte_bar(quiet: bool, message: &str, total: u64) -> Option<ProgressBar> {
    if quiet || !std::io::stderr().is_terminal() {
        return None;
    }
    let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
    if let Ok(style) = ProgressStyle::with_template(TEMPLATE) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_message(message.to_owned());
    Some(bar)
}

/// A byte-count progress bar for a scan, or nothing.
pub struct ScanBar(Option<ProgressBar>);

impl ScanBar {
    /// A bar when stderr is a terminal and the user did not ask for quiet.
    pub fn new(quiet: bool) -> Self {
        Self(byte_bar(quiet, "scanning", 0))
    }

    /// Remove the bar from the screen.
    pub fn finish(&self) {
        if let Some(bar) = &self.0 {
            bar.finish_and_clear();
        }
    }
}

impl lbom::Progress for ScanBar {
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

/// A bar fed by the caller (pack reports each chunk it reads), or nothing.
pub struct ByteBar(Option<ProgressBar>);

impl ByteBar {
    /// A bar of `total` bytes when stderr is a terminal.
    pub fn new(quiet: bool, message: &'static str, total: u64) -> Self {
        Self(byte_bar(quiet, message, total))
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

/// A bar that follows the bytes this process reads (the kernel's count,
/// `lbom::process_bytes_read`), for commands whose reading is
/// inside the library: verify, import, audit. Polled on a thread of its
/// own; stopped and cleared by [`ReadBar::finish`] or on drop.
pub struct ReadBar {
    bar: Option<ProgressBar>,
    stop: Arc<AtomicBool>,
    poller: Option<std::thread::JoinHandle<()>>,
}

impl ReadBar {
    /// Start a bar of `total` bytes, when stderr is a terminal, not quiet,
    /// and the kernel counts this process's reads.
    pub fn start(quiet: bool, message: &str, total: u64) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let start = lbom::process_bytes_read();
        let (Some(bar), Some(start)) = (byte_bar(quiet, message, total), start) else {
            return Self {
                bar: None,
                stop,
                poller: None,
            };
        };
        let (polled, stopped) = (bar.clone(), Arc::clone(&stop));
        let poller = std::thread::Builder::new()
            .name("lbom-progress".into())
            .spawn(move || {
                while !stopped.load(Ordering::Relaxed) {
                    if let Some(now) = lbom::process_bytes_read() {
                        let done = now.saturating_sub(start);
                        polled.set_position(done.min(polled.length().unwrap_or(done)));
                    }
                    std::thread::sleep(Duration::from_millis(100));
                }
            })
            .ok();
        Self {
            bar: Some(bar),
            stop,
            poller,
        }
    }

    /// Stop polling and remove the bar, before the report is printed.
    pub fn finish(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(poller) = self.poller.take() {
            let _ = poller.join();
        }
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
    }
}

impl Drop for ReadBar {
    fn drop(&mut self) {
        self.finish();
    }
}
