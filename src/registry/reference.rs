//! `oci://HOST[:PORT]/REPO[:TAG|@sha256:HEX]` (docs/registry.md,
//! "References"): checked strictly, as the OCI distribution spec names
//! repositories and tags, so that no part of it can inject a path segment,
//! a query or a header into a request.

use super::error::RegistryError;
use crate::io::digest::Sha256Digest;

/// What a reference names in its repository.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// A tag (`:latest`).
    Tag(String),
    /// A manifest digest (`@sha256:…`).
    Digest(Sha256Digest),
}

/// A parsed `oci://` reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reference {
    /// `HOST` or `HOST:PORT`, as written.
    pub authority: String,
    /// The host alone (for the loopback rule and the credentials lookup).
    pub host: String,
    /// The repository (`models/llama`).
    pub repository: String,
    /// Tag or digest; `None` when the reference names neither.
    pub target: Option<Target>,
}

impl std::fmt::Display for Reference {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "oci://{}/{}", self.authority, self.repository)?;
        match &self.target {
            Some(Target::Tag(t)) => write!(f, ":{t}"),
            Some(Target::Digest(d)) => write!(f, "@sha256:{}", d.to_hex()),
            None => Ok(()),
        }
    }
}

/// Whether `s` is a repository path component: `[a-z0-9]+` runs joined by
/// one `.`, one or two `_`, or any number of `-`.
fn is_component(s: &str) -> bool {
    let b = s.as_bytes();
    let alnum = |c: u8| c.is_ascii_lowercase() || c.is_ascii_digit();
    if b.is_empty()
        || !b.first().copied().is_some_and(alnum)
        || !b.last().copied().is_some_and(alnum)
    {
        return false;
    }
    let mut i = 0;
    while i < b.len() {
        let c = b.get(i).copied().unwrap_or(0);
        if alnum(c) {
            i += 1;
            continue;
        }
        let run = b
            .get(i..)
            .unwrap_or_default()
            .iter()
            .take_while(|&&x| !alnum(x))
            .count();
        let sep = b.get(i..i + run).unwrap_or_default();
        let ok = sep == b"." || sep == b"_" || sep == b"__" || sep.iter().all(|&x| x == b'-');
        if !ok {
            return false;
        }
        i += run;
    }
    true
}

/// Whether `s` is a tag: `[A-Za-z0-9_][A-Za-z0-9._-]{0,127}`.
pub fn is_tag(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b.len() <= 128
        && b.first()
            .is_some_and(|c| c.is_ascii_alphanumeric() || *c == b'_')
        && b.iter()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'.' | b'_' | b'-'))
}

fn is_host(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 253
        && s.bytes()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'.' | b'-'))
        && !s.starts_with(['.', '-'])
}

impl Reference {
    /// Parse `oci://…`.
    pub fn parse(text: &str) -> Result<Reference, RegistryError> {
        let bad = |why: &str| {
            RegistryError::Reference(format!(
                "{}: not an OCI reference ({why}); write oci://HOST[:PORT]/REPOSITORY[:TAG|@sha256:HEX]",
                crate::safe::visible(text)
            ))
        };
        let rest = text
            .strip_prefix("oci://")
            .ok_or_else(|| bad("it must start with oci://"))?;
        let (authority, path) = rest.split_once('/').ok_or_else(|| bad("no repository"))?;
        let host = if authority == "[::1]" || authority.starts_with("[::1]:") {
            "[::1]".to_owned()
        } else {
            authority.split(':').next().unwrap_or_default().to_owned()
        };
        let port = authority.strip_prefix(&host).unwrap_or_default();
        if !(host == "[::1]" || is_host(&host)) {
            return Err(bad("the host is not a host name or address"));
        }
        if !port.is_empty() {
            let digits = port.strip_prefix(':').unwrap_or_default();
            if digits.is_empty() || digits.len() > 5 || !digits.bytes().all(|c| c.is_ascii_digit())
            {
                return Err(bad("the port is not a number"));
            }
        }
        let (repo, target) = if let Some((repo, digest)) = path.split_once('@') {
            let hex = digest
                .strip_prefix("sha256:")
                .ok_or_else(|| bad("only sha256 digests are accepted"))?;
            let d = hex
                .parse::<Sha256Digest>()
                .ok()
                .ok_or_else(|| bad("the digest is not 64 lowercase hex digits"))?;
            (repo, Some(Target::Digest(d)))
        } else {
            let last = path.rsplit('/').next().unwrap_or_default();
            match last.split_once(':') {
                Some((_, tag)) => {
                    if !is_tag(tag) {
                        return Err(bad("the tag has characters a tag cannot hold"));
                    }
                    let cut = path.len() - tag.len() - 1;
                    (
                        path.get(..cut).unwrap_or_default(),
                        Some(Target::Tag(tag.to_owned())),
                    )
                }
                None => (path, None),
            }
        };
        if repo.is_empty() || repo.len() > 255 || !repo.split('/').all(is_component) {
            return Err(bad("the repository is not lowercase path components"));
        }
        Ok(Reference {
            authority: authority.to_owned(),
            host,
            repository: repo.to_owned(),
            target,
        })
    }

    /// Whether the host is this machine (plain HTTP is allowed there
    /// without `--insecure-http`).
    pub fn is_loopback(&self) -> bool {
        self.host == "localhost"
            || self.host == "[::1]"
            || self
                .host
                .parse::<std::net::Ipv4Addr>()
                .is_ok_and(|ip| ip.is_loopback())
    }

    /// The tag, or the one `push` uses when none is given.
    pub fn tag_or(&self, default: &str) -> String {
        match &self.target {
            Some(Target::Tag(t)) => t.clone(),
            _ => default.to_owned(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_parse_strictly() {
        let r = Reference::parse("oci://127.0.0.1:5000/models/llama:v1").ok();
        assert_eq!(
            r.as_ref()
                .map(|r| (r.host.as_str(), r.repository.as_str(), r.target.clone())),
            Some(("127.0.0.1", "models/llama", Some(Target::Tag("v1".into()))))
        );
        assert!(r.is_some_and(|r| r.is_loopback()));
        let hex = "ab".repeat(32);
        let d = Reference::parse(&format!("oci://reg.example:443/m@sha256:{hex}")).ok();
        assert!(d.is_some_and(|d| matches!(d.target, Some(Target::Digest(_))) && !d.is_loopback()));
        for bad in [
            "http://h/m",
            "oci://h",
            "oci://h/M",
            "oci://h/m/../x",
            "oci://h/m:bad?tag",
            "oci://h/m@sha256:XY",
            "oci://h:port/m",
            "oci://h/m:t%0d",
            "oci://h/a//b",
            "oci://h/a--_b",
            "oci://-h/m",
        ] {
            assert!(Reference::parse(bad).is_err(), "{bad} parsed");
        }
        assert!(Reference::parse("oci://h/a__b/c-d.e:_t.1-x").is_ok());
    }
}

#[cfg(test)]
mod props {
    use super::*;
    use proptest::prelude::*;
    use proptest::test_runner::{Config, TestRunner};

    /// What a parsed reference may hold: the grammar, nothing more.
    fn within_grammar(text: &str, r: &Reference) -> Result<(), TestCaseError> {
        prop_assert_eq!(r.to_string(), text.to_owned());
        let forbidden = |s: &str| {
            s.chars()
                .any(|c| matches!(c, '?' | '#' | '%' | ' ' | '\n' | '\r' | '@'))
        };
        prop_assert!(!forbidden(&r.authority) && !forbidden(&r.repository));
        prop_assert!(
            !r.repository
                .split('/')
                .any(|c| c.is_empty() || c == "." || c == "..")
        );
        prop_assert!(r.repository.chars().all(|c| c.is_ascii_lowercase()
            || c.is_ascii_digit()
            || matches!(c, '.' | '_' | '-' | '/')));
        if let Some(Target::Tag(t)) = &r.target {
            prop_assert!(is_tag(t));
        }
        Ok(())
    }

    /// No reference that parses can carry anything into a URL but what the
    /// distribution spec's grammar allows: references built from hosts,
    /// paths and suffixes with slashes, dots, queries, fragments, spaces,
    /// percent signs and line breaks mixed in either fail to parse or print
    /// back as given with every part inside the grammar; and enough of them
    /// parse that the property says something.
    #[test]
    fn what_parses_is_exactly_the_grammar() {
        let strategy = (
            "[a-z0-9.-]{1,10}(:[0-9]{1,5})?",
            r"[a-z0-9._/-]{1,16}([A-Z?#% \n]|\.\.)?[a-z0-9._/-]{0,6}",
            "(:[A-Za-z0-9._%?# -]{0,12}|@sha256:[0-9a-f]{64}|@sha256:[0-9a-fA-F]{10})?",
        );
        let parsed = std::cell::Cell::new(0usize);
        let mut runner = TestRunner::new(Config {
            cases: 4000,
            failure_persistence: None,
            ..Config::default()
        });
        let result = runner.run(&strategy, |(host, repo, suffix)| {
            let text = format!("oci://{host}/{repo}{suffix}");
            if let Ok(r) = Reference::parse(&text) {
                parsed.set(parsed.get() + 1);
                within_grammar(&text, &r)?;
            }
            Ok(())
        });
        assert!(result.is_ok(), "{result:?}");
        assert!(
            parsed.get() > 100,
            "only {} of 4000 references parsed",
            parsed.get()
        );
    }
}
