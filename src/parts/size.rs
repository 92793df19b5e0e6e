//! Part sizes: bytes with an optional suffix, or a medium by name
//! (docs/bundle-format.md, section 13, "Part sizes").

/// Media by name and the part size each takes: the medium's capacity less
/// room for its file system and the index copy, rounded down to an even
/// number (parity stripes pair bytes, [B67]).
pub const MEDIA: &[(&str, u64)] = &[
    // DVD±R: 4,700,372,992 bytes; 16 MiB left for UDF and the index.
    ("dvd", 4_683_595_776),
    // DVD±R DL: 8,543,666,176 bytes.
    ("dvd-dl", 8_526_888_960),
    // BD-R 25: 25,025,314,816 bytes.
    ("bd25", 25_008_537_600),
    // BD-R 50: 50,050,629,632 bytes.
    ("bd50", 50_033_852_416),
    // FAT32: no file of 4 GiB or more; the largest even size below.
    ("fat32", (4 << 30) - 2),
];

/// Parse `4700000000`, `700M`, `4G`, `1.5GiB`-free forms (`K`, `M`, `G`,
/// `T` are powers of 1024, with or without `iB`; `KB`, `MB`, `GB`, `TB`
/// powers of 1000) or a medium's name.
pub fn parse_size(text: &str) -> Result<u64, String> {
    let lower = text.trim().to_ascii_lowercase();
    if let Some((_, size)) = MEDIA.iter().find(|(name, _)| *name == lower) {
        return Ok(*size);
    }
    let digits_end = lower
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(lower.len());
    let (digits, suffix) = lower.split_at(digits_end);
    let number: u64 = digits.parse().map_err(|_| bad(text))?;
    let unit: u64 = match suffix {
        "" | "b" => 1,
        "k" | "kib" => 1 << 10,
        "m" | "mib" => 1 << 20,
        "g" | "gib" => 1 << 30,
        "t" | "tib" => 1 << 40,
        "kb" => 1_000,
        "mb" => 1_000_000,
        "gb" => 1_000_000_000,
        "tb" => 1_000_000_000_000,
        _ => return Err(bad(text)),
    };
    number.checked_mul(unit).ok_or_else(|| bad(text))
}

fn bad(text: &str) -> String {
    let names: Vec<&str> = MEDIA.iter().map(|(n, _)| *n).collect();
    format!(
        "size {:?} is not a number of bytes (with K, M, G, T, KB, MB, GB or TB) nor a medium ({})",
        crate::safe::shorten(text, 40),
        names.join(", ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse_by_number_suffix_and_medium_and_refuse_the_rest() {
        assert_eq!(parse_size("1000"), Ok(1000));
        assert_eq!(parse_size("64K"), Ok(65536));
        assert_eq!(parse_size("700MiB"), Ok(700 << 20));
        assert_eq!(parse_size("2GB"), Ok(2_000_000_000));
        assert_eq!(parse_size("fat32"), Ok((4 << 30) - 2));
        assert_eq!(parse_size("DVD"), Ok(4_683_595_776));
        for bad in ["", "x", "1.5G", "-3", "10Q", "99999999999T", "G"] {
            assert!(parse_size(bad).is_err(), "{bad:?}");
        }
        for (_, size) in MEDIA {
            assert_eq!(size % 2, 0);
        }
    }
}
