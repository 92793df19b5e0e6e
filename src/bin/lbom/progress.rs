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

/// The line of one medium's bar, under the overall one.
const MEDIUM_TEMPLATE: &str = "  {msg} [{bar:30}] {bytes}/{total_bytes} {percent}%";

/// Up to this many media, a finished medium's bar stays on the screen;
/// past it, only the media being read or written are shown.
const MEDIA_KEPT: usize = 32;

/// One bar for the whole work and one per medium under it (split, pack
/// --split, verify-parts, repair, join), or nothing in a pipe or with
/// `--quiet`. A medium's bar appears when its first byte is done.
pub struct MediaBars {
    multi: Option<indicatif::MultiProgress>,
    overall: Option<ProgressBar>,
    /// Whether the media's bytes are the overall bar's (else the caller
    /// feeds it with [`MediaBars::advance`]).
    overall_is_media: bool,
    media: std::sync::Mutex<Vec<(String, u64, Option<ProgressBar>)>>,
}

impl MediaBars {
    /// The overall bar counts the media's bytes.
    pub fn new(quiet: bool, message: &str) -> Self {
        Self::with_overall(quiet, message, None)
    }

    /// The overall bar, of `total` bytes, is fed by the caller.
    pub fn fed(quiet: bool, message: &str, total: u64) -> Self {
        Self::with_overall(quiet, message, Some(total))
    }

    fn with_overall(quiet: bool, message: &str, total: Option<u64>) -> Self {
        let overall = byte_bar(quiet, message, total.unwrap_or(0));
        // `add` draws the bar through the multi's target from then on.
        let multi = overall
            .as_ref()
            .map(|_| indicatif::MultiProgress::with_draw_target(ProgressDrawTarget::stderr()));
        let overall = match (&multi, overall) {
            (Some(m), Some(bar)) => Some(m.add(bar)),
            (_, bar) => bar,
        };
        Self {
            multi,
            overall,
            overall_is_media: total.is_none(),
            media: std::sync::Mutex::new(Vec::new()),
        }
    }

    /// `bytes` more of the overall work done (a bar made by [`Self::fed`]).
    pub fn advance(&self, bytes: u64) {
        if let Some(bar) = &self.overall {
            bar.inc(bytes);
        }
    }

    /// Remove every bar.
    pub fn finish(&self) {
        if let Ok(media) = self.media.lock() {
            for (_, _, bar) in media.iter() {
                if let Some(bar) = bar {
                    bar.finish_and_clear();
                }
            }
        }
        if let Some(bar) = &self.overall {
            bar.finish_and_clear();
        }
        if let Some(multi) = &self.multi {
            let _ = multi.clear();
        }
    }
}

impl lbom::split_media::MediaProgress for MediaBars {
    fn media(&self, media: &[(String, u64)]) {
        if self.multi.is_none() {
            return;
        }
        if let (true, Some(bar)) = (self.overall_is_media, &self.overall) {
            bar.set_length(media.iter().map(|(_, n)| n).sum());
        }
        if let Ok(mut kept) = self.media.lock() {
            *kept = media.iter().map(|(l, n)| (l.clone(), *n, None)).collect();
        }
    }

    fn advance(&self, medium: usize, bytes: u64) {
        let Some(multi) = &self.multi else {
            return;
        };
        if self.overall_is_media {
            self.advance(bytes);
        }
        let Ok(mut media) = self.media.lock() else {
            return;
        };
        let count = media.len();
        // Bars appear in medium order whatever order the media start in
        // (verify-parts reads them all at once): after the nearest earlier
        // medium's bar, else right under the overall one.
        let before = media
            .get(..medium)
            .and_then(|earlier| earlier.iter().rev().find_map(|(_, _, b)| b.clone()))
            .or_else(|| self.overall.clone());
        let Some((label, total, bar)) = media.get_mut(medium) else {
            return;
        };
        let bar = bar.get_or_insert_with(|| {
            let new = ProgressBar::new(*total);
            let bar = match &before {
                Some(after) => multi.insert_after(after, new),
                None => multi.add(new),
            };
            if let Ok(style) = ProgressStyle::with_template(MEDIUM_TEMPLATE) {
                bar.set_style(style.progress_chars("=> "));
            }
            bar.set_message(label.clone());
            bar
        });
        bar.inc(bytes);
        if bar.position() >= *total {
            if count <= MEDIA_KEPT {
                bar.finish();
            } else {
                bar.finish_and_clear();
            }
        }
    }
}
