//! An exclusive `flock` that is released explicitly, not by closing.
//!
//! A `flock` belongs to the open file description, not to the descriptor.
//! When another thread of the same process spawns a child, the child holds
//! a copy of every descriptor from `fork` until its `exec` closes them
//! (`O_CLOEXEC` only takes effect at `exec`). Dropping our `File` in that
//! window would leave the lock held by the child, and a signer or importer
//! that runs right after us would be refused as "locked" although nobody
//! holds the lock. This was seen in the test suite under load, where tests
//! sign bundles while others spawn `zstd` and Python. `LOCK_UN` releases
//! the lock for every copy at once, so the guard unlocks before it closes.

use std::fs::{File, TryLockError};
use std::io;
use std::ops::{Deref, DerefMut};

/// A file held under an exclusive lock until this guard is dropped.
#[derive(Debug)]
pub struct ExclusiveLock {
    file: File,
}

impl ExclusiveLock {
    /// Lock `file` exclusively without waiting: `Ok(None)` when another
    /// open file description holds a lock on it.
    pub fn try_new(file: File) -> io::Result<Option<Self>> {
        match file.try_lock() {
            Ok(()) => Ok(Some(Self { file })),
            Err(TryLockError::WouldBlock) => Ok(None),
            Err(TryLockError::Error(e)) => Err(e),
        }
    }
}

impl Deref for ExclusiveLock {
    type Target = File;
    fn deref(&self) -> &File {
        &self.file
    }
}

impl DerefMut for ExclusiveLock {
    fn deref_mut(&mut self) -> &mut File {
        &mut self.file
    }
}

impl Drop for ExclusiveLock {
    fn drop(&mut self) {
        // Nothing useful can be done if unlocking fails: closing the file
        // still releases the lock once every copy of it is closed.
        let _ = self.file.unlock();
    }
}

#[cfg(test)]
mod tests {
    use super::ExclusiveLock;
    use std::fs::OpenOptions;

    #[test]
    fn a_second_description_is_refused_until_the_guard_drops()
    -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("f");
        let open = || {
            OpenOptions::new()
                .create(true)
                .truncate(false)
                .write(true)
                .open(&path)
        };
        let held = ExclusiveLock::try_new(open()?)?.ok_or("first lock refused")?;
        // A duplicate descriptor (what a forked child holds) must not keep
        // the lock alive once the guard is gone.
        let duplicate = held.try_clone()?;
        assert!(ExclusiveLock::try_new(open()?)?.is_none());
        drop(held);
        assert!(ExclusiveLock::try_new(open()?)?.is_some());
        drop(duplicate);
        Ok(())
    }
}
