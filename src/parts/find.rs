//! Which files of the paths given belong to a part set: index copies,
//! data parts and parity parts, by name (docs/bundle-format.md, section
//! 13, "File names"). A path is a file or a folder; a folder is searched
//! two levels deep (a medium, or the folder `split` wrote).

use std::path::{Path, PathBuf};

use super::{Error, io_err};

/// Most files of part-set names considered among the paths.
pub const MAX_FILES: usize = 65_536;

/// What a file's name says it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Named {
    /// `NAME.index.dsse.json`.
    Index(String),
    /// `NAME.partNNNN`.
    Data(String, u32),
    /// `NAME.parityNNNN`.
    Parity(String, u32),
}

/// What a file name says, if it is one of a part set's.
pub fn classify(file_name: &str) -> Option<Named> {
    if let Some(name) = file_name.strip_suffix(".index.dsse.json") {
        return Some(Named::Index(name.to_owned()));
    }
    let (name, tail) = file_name.rsplit_once('.')?;
    let number = |digits: &str| -> Option<u32> {
        (digits.len() >= 4 && digits.bytes().all(|b| b.is_ascii_digit()))
            .then(|| digits.parse().ok())
            .flatten()
    };
    if let Some(n) = tail.strip_prefix("parity").and_then(number) {
        return Some(Named::Parity(name.to_owned(), n));
    }
    if let Some(n) = tail.strip_prefix("part").and_then(number) {
        return Some(Named::Data(name.to_owned(), n));
    }
    None
}

/// Every file of a part-set name under `paths`, with what it is named.
pub fn find(paths: &[PathBuf]) -> Result<Vec<(PathBuf, Named)>, Error> {
    let mut found = Vec::new();
    for path in paths {
        walk(path, 2, &mut found)?;
    }
    found.sort_by(|a, b| a.0.cmp(&b.0));
    found.dedup_by(|a, b| a.0 == b.0);
    Ok(found)
}

fn walk(path: &Path, depth: u32, found: &mut Vec<(PathBuf, Named)>) -> Result<(), Error> {
    let meta = std::fs::metadata(path).map_err(io_err(path))?;
    if meta.is_dir() {
        if depth == 0 {
            return Ok(());
        }
        for entry in std::fs::read_dir(path).map_err(io_err(path))? {
            let entry = entry.map_err(io_err(path))?;
            let child = entry.path();
            // Folders are entered only as themselves, never through a link.
            let is_dir = entry.file_type().map_err(io_err(&child))?.is_dir();
            if is_dir {
                walk(&child, depth - 1, found)?;
            } else {
                add(&child, found)?;
            }
        }
        return Ok(());
    }
    add(path, found)
}

fn add(path: &Path, found: &mut Vec<(PathBuf, Named)>) -> Result<(), Error> {
    let Some(named) = path.file_name().and_then(|n| n.to_str()).and_then(classify) else {
        return Ok(());
    };
    if found.len() >= MAX_FILES {
        return Err(Error::Option(format!(
            "more than {MAX_FILES} part files among the paths"
        )));
    }
    found.push((path.to_path_buf(), named));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_classify_as_index_data_parity_or_nothing() {
        assert_eq!(
            classify("m-ab.index.dsse.json"),
            Some(Named::Index("m-ab".into()))
        );
        assert_eq!(
            classify("m-ab.part0012"),
            Some(Named::Data("m-ab".into(), 12))
        );
        assert_eq!(
            classify("m.ab.parity0001"),
            Some(Named::Parity("m.ab".into(), 1))
        );
        for other in [
            "m.part12",
            "m.partx001",
            "m.lbom",
            "part0001",
            "m.part0001.tmp",
        ] {
            assert_eq!(classify(other), None, "{other}");
        }
    }
}
