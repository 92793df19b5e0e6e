//! What `inspect` shows of an SBOM, read without keeping the SBOM.
//!
//! An SBOM entry may be as large as [`ReadLimits::max_sbom_bytes`], and a
//! bundle may hold [`ReadLimits::max_artifacts`] of them; `inspect` keeps a
//! summary of each until it prints. So the summary is bounded, not the SBOM:
//! the document is parsed as a stream from the bundle file (never read
//! whole, never built into a JSON tree), and only its `bomFormat`,
//! `specVersion` and the first [`MAX_COMPONENTS_SHOWN`] component names are
//! kept, each cut to [`MAX_SHOWN_CHARS`] characters (docs/bundle-format.md,
//! "Reader limits").
//!
//! [`ReadLimits::max_sbom_bytes`]: super::ReadLimits::max_sbom_bytes
//! [`ReadLimits::max_artifacts`]: super::ReadLimits::max_artifacts

use std::fmt;
use std::io::Read;

use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Serialize};

/// Component names kept per SBOM.
pub const MAX_COMPONENTS_SHOWN: usize = 4;
/// Characters kept of each text an SBOM summary shows.
pub const MAX_SHOWN_CHARS: usize = 64;

/// What one SBOM says, in brief (untrusted).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SbomSummary {
    /// The SBOM entry.
    pub path: String,
    /// Its size.
    pub size: u64,
    /// `bomFormat` and `specVersion`, when present.
    pub format: Option<String>,
    /// Names of the first described components (at most
    /// [`MAX_COMPONENTS_SHOWN`], each cut to [`MAX_SHOWN_CHARS`] characters).
    pub components: Vec<String>,
    /// How many components the SBOM describes.
    pub component_count: u64,
}

/// Summarise the SBOM `reader` yields (its entry `path` of `size` bytes).
/// Bytes that are not a JSON object give a summary with no format and no
/// components, as before: `inspect` reports, it does not judge.
pub fn summarise(path: &str, size: u64, reader: impl Read) -> SbomSummary {
    let mut de = serde_json::Deserializer::from_reader(std::io::BufReader::new(reader));
    let head = Head::deserialize(&mut de)
        .ok()
        .filter(|_| de.end().is_ok())
        .unwrap_or_default();
    let format = head.bom_format.map(|f| match head.spec_version {
        Some(v) => format!("{f} {v}"),
        None => f,
    });
    SbomSummary {
        path: path.to_owned(),
        size,
        format,
        components: head.components.names,
        component_count: head.components.count,
    }
}

/// The fields a summary shows; everything else is skipped unread.
#[derive(Default, Deserialize)]
struct Head {
    #[serde(rename = "bomFormat", default, deserialize_with = "shown")]
    bom_format: Option<String>,
    #[serde(rename = "specVersion", default, deserialize_with = "shown")]
    spec_version: Option<String>,
    #[serde(default)]
    components: Components,
}

/// A string cut to [`MAX_SHOWN_CHARS`]; any other value is `None`.
fn shown<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    d.deserialize_any(ShownVisitor)
}

struct ShownVisitor;

impl<'de> Visitor<'de> for ShownVisitor {
    type Value = Option<String>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Some(v.chars().take(MAX_SHOWN_CHARS).collect()))
    }
    fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(None)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(None)
    }
}

/// The first component names and the count of all components.
#[derive(Default)]
struct Components {
    names: Vec<String>,
    count: u64,
}

impl<'de> Deserialize<'de> for Components {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(ComponentsVisitor)
    }
}

struct ComponentsVisitor;

impl<'de> Visitor<'de> for ComponentsVisitor {
    type Value = Components;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a list of components")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Components, A::Error> {
        let mut out = Components::default();
        while let Some(c) = seq.next_element::<Component>()? {
            out.count = out.count.saturating_add(1);
            if let Some(name) = c.name
                && out.names.len() < MAX_COMPONENTS_SHOWN
            {
                out.names.push(name);
            }
        }
        Ok(out)
    }
    // Anything but a list describes no component.
    fn visit_str<E>(self, _: &str) -> Result<Components, E> {
        Ok(Components::default())
    }
    fn visit_bool<E>(self, _: bool) -> Result<Components, E> {
        Ok(Components::default())
    }
    fn visit_i64<E>(self, _: i64) -> Result<Components, E> {
        Ok(Components::default())
    }
    fn visit_u64<E>(self, _: u64) -> Result<Components, E> {
        Ok(Components::default())
    }
    fn visit_f64<E>(self, _: f64) -> Result<Components, E> {
        Ok(Components::default())
    }
    fn visit_unit<E>(self) -> Result<Components, E> {
        Ok(Components::default())
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Components, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(Components::default())
    }
}

/// One component: its name if it is an object with a string `name`.
struct Component {
    name: Option<String>,
}

impl<'de> Deserialize<'de> for Component {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(ComponentVisitor)
    }
}

struct ComponentVisitor;

impl<'de> Visitor<'de> for ComponentVisitor {
    type Value = Component;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a component")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Component, A::Error> {
        let mut name = None;
        while let Some(key) = map.next_key::<KeyName>()? {
            match key {
                KeyName::Name if name.is_none() => name = map.next_value_seed(Shown)?,
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(Component { name })
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Component, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Component { name: None })
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<Component, E> {
        Ok(Component { name: None })
    }
    fn visit_bool<E>(self, _: bool) -> Result<Component, E> {
        Ok(Component { name: None })
    }
    fn visit_i64<E>(self, _: i64) -> Result<Component, E> {
        Ok(Component { name: None })
    }
    fn visit_u64<E>(self, _: u64) -> Result<Component, E> {
        Ok(Component { name: None })
    }
    fn visit_f64<E>(self, _: f64) -> Result<Component, E> {
        Ok(Component { name: None })
    }
    fn visit_unit<E>(self) -> Result<Component, E> {
        Ok(Component { name: None })
    }
}

/// A component's key: `name` or another (whose text is not kept).
enum KeyName {
    Name,
    Other,
}

impl<'de> Deserialize<'de> for KeyName {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl Visitor<'_> for KeyVisitor {
            type Value = KeyName;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a key")
            }
            fn visit_str<E>(self, v: &str) -> Result<KeyName, E> {
                Ok(if v == "name" {
                    KeyName::Name
                } else {
                    KeyName::Other
                })
            }
        }
        d.deserialize_str(KeyVisitor)
    }
}

/// [`shown`] as a seed, for `next_value_seed`.
/// A string value cut to [`MAX_SHOWN_CHARS`], any other value skipped
/// unkept (`None`).
pub(crate) struct Shown;

impl<'de> de::DeserializeSeed<'de> for Shown {
    type Value = Option<String>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        shown(d)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn of(text: &str) -> SbomSummary {
        summarise("sboms/a.cdx.json", text.len() as u64, text.as_bytes())
    }

    #[test]
    fn keeps_format_and_the_first_component_names() {
        let s = of(
            r#"{"bomFormat":"CycloneDX","specVersion":"1.5","metadata":{"x":[1,2]},
               "components":[{"type":"m","name":"llama"},{"name":"b"},{"x":1},{"name":"c"},{"name":"d"},{"name":"e"}]}"#,
        );
        assert_eq!(s.format.as_deref(), Some("CycloneDX 1.5"));
        assert_eq!(s.components, ["llama", "b", "c", "d"]);
        assert_eq!(s.component_count, 6);
    }

    /// Whatever the SBOM holds, the summary keeps at most a few short
    /// texts: long strings are cut, non-strings are dropped, and bytes that
    /// are not JSON give an empty summary, never an error.
    #[test]
    fn the_summary_is_bounded_whatever_the_sbom() {
        let long = "n".repeat(100_000);
        let s = of(&format!(
            r#"{{"bomFormat":"{long}","specVersion":7,"components":[{{"name":"{long}"}},{{"name":["x"]}}]}}"#
        ));
        assert_eq!(s.format.as_deref().map(str::len), Some(MAX_SHOWN_CHARS));
        assert_eq!(s.components.first().map(String::len), Some(MAX_SHOWN_CHARS));
        assert_eq!(s.component_count, 2);
        for junk in [
            "",
            "not json",
            "[1,2]",
            r#"{"components":{"name":"x"}}"#,
            "{} {}",
        ] {
            let s = of(junk);
            assert_eq!((s.format, s.components.len()), (None, 0), "{junk:?}");
        }
    }
}
