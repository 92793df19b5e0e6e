//! How far each medium's part is read or written, for the CLI's bars (one
//! per medium under the overall one). Decides nothing: a command's result
//! is the same with any `MediaProgress`.

/// What a part set command tells as it reads or writes each medium's part.
/// Called from several threads at once (`verify-parts` reads media in
/// parallel).
pub trait MediaProgress: Sync {
    /// The media about to be read or written, in order: each one's label
    /// (its part's file name) and bytes. Medium `i` of [`Self::advance`] is
    /// the `i`-th of these. Called once, before any `advance`.
    fn media(&self, media: &[(String, u64)]);
    /// `bytes` more bytes of medium `i` read or written.
    fn advance(&self, medium: usize, bytes: u64);
}

/// Tells nothing.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoMediaProgress;

impl MediaProgress for NoMediaProgress {
    fn media(&self, _: &[(String, u64)]) {}
    fn advance(&self, _: usize, _: u64) {}
}

/// Counts, for tests: what each medium was told, and the total.
#[cfg(test)]
#[derive(Debug, Default)]
pub(crate) struct Counted {
    pub(crate) media: std::sync::Mutex<Vec<(String, u64)>>,
    pub(crate) done: std::sync::Mutex<Vec<u64>>,
}

#[cfg(test)]
impl MediaProgress for Counted {
    fn media(&self, media: &[(String, u64)]) {
        if let (Ok(mut m), Ok(mut d)) = (self.media.lock(), self.done.lock()) {
            *m = media.to_vec();
            *d = vec![0; media.len()];
        }
    }
    fn advance(&self, medium: usize, bytes: u64) {
        if let Ok(mut d) = self.done.lock() {
            match d.get_mut(medium) {
                Some(n) => *n += bytes,
                // Told of a medium it was not given: fails the tests' check.
                None => d.push(u64::MAX),
            }
        }
    }
}

#[cfg(test)]
impl Counted {
    /// Whether every medium was told its whole size, and no more.
    pub(crate) fn whole(&self) -> bool {
        match (self.media.lock(), self.done.lock()) {
            (Ok(m), Ok(d)) => {
                !m.is_empty()
                    && m.len() == d.len()
                    && m.iter().zip(d.iter()).all(|((_, want), got)| want == got)
            }
            _ => false,
        }
    }
}
