//! The metadata key/values of a GGUF header: each key checked against the
//! ones before it (docs/findings.md, "Key shadowing"), its value read and
//! recorded under the C string llama.cpp reads it by.

use std::io::Read;

use serde_json::Value as Json;

use super::{Mode, Parser, Stop, TOKENIZER_KEYS, ValueFlags, is_template_key, vt};
use crate::inspect::facts::Finding;
use crate::inspect::keys::{Clash, KeyCheck, c_string, fold, shown};
use crate::inspect::template::template_findings;
use crate::io::digest::Hasher;
use crate::safe::visible;

impl<R: Read> Parser<'_, R> {
    pub(super) fn read_kvs(&mut self) -> Result<(), Stop> {
        let count = self.header.kv_count.unwrap_or(0);
        for _ in 0..count {
            self.read_kv()?;
        }
        Ok(())
    }

    pub(super) fn read_kv(&mut self) -> Result<(), Stop> {
        let key_bytes = self.string("metadata key")?;
        let raw_key = self.lossy(&key_bytes, "a metadata key");
        // llama.cpp looks keys up as C strings: this is the name it reads
        // this entry by (docs/findings.md, "Key shadowing").
        let key = String::from_utf8_lossy(c_string(&key_bytes)).into_owned();
        let check = self.keys.add(&key_bytes);
        let shown_key = shown(&key_bytes);
        // Case is folded here only: scanning more text costs nothing.
        let template_like =
            is_template_key(&key) || is_template_key(&fold(&key_bytes).to_lowercase());
        self.recycle(key_bytes);
        let value_type = self.u32("metadata value type")?;

        let shadowed = self.report_key_clash(&check, &shown_key, &key);
        let tokenizer_key = TOKENIZER_KEYS
            .iter()
            .copied()
            .find(|k| *k == key)
            .filter(|_| !shadowed);
        if tokenizer_key.is_some() {
            self.flush();
            let mut h = Hasher::new();
            h.update(&value_type.to_le_bytes());
            self.tokenizer = Some(h);
        }
        // Every template-like string is scanned, the shadowed ones too: the
        // loader reads one, a person or another reader may read the other.
        self.capture_string = value_type == vt::STRING && template_like;
        self.captured = None;
        self.last_array_count = None;
        self.flags = ValueFlags::default();

        let value = self.value(value_type, 0, Mode::Json, &raw_key);
        self.capture_string = false;
        self.flush();
        let tokenizer = self.tokenizer.take();
        let value = value?.unwrap_or(Json::Null);
        self.report_flags(&raw_key);
        if let Some(raw) = self.captured.take() {
            let source = if shadowed {
                format!("metadata key '{shown_key}' (shadowed: llama.cpp never reads it)")
            } else {
                format!("metadata key '{shown_key}'")
            };
            let text = String::from_utf8_lossy(&raw);
            let findings = template_findings(&source, &text, self.limits);
            self.header.template_findings.extend(findings);
            if key == "tokenizer.chat_template" && !shadowed {
                self.header.chat_template = Some(raw);
            }
        }
        if shadowed {
            return Ok(());
        }

        if let (Some(name), Some(h)) = (tokenizer_key, tokenizer) {
            self.header.tokenizer_parts.insert(name, h.finish());
        }
        if key == "tokenizer.ggml.tokens" {
            self.header.token_count = self.last_array_count;
        }
        if key == "general.alignment" {
            self.header.alignment_type = Some(value_type);
        }
        // Lossy decoding can merge two invalid keys: the first stays.
        self.header.metadata.entry(key).or_insert(value);
        Ok(())
    }

    /// Report how a metadata key collides with an earlier one; `true` when
    /// llama.cpp never reads this entry (an earlier key has its C string).
    pub(super) fn report_key_clash(
        &mut self,
        check: &KeyCheck,
        shown_key: &str,
        key: &str,
    ) -> bool {
        if check.nul {
            self.findings.push(Finding::error(
                "key.nul",
                format!("gguf metadata key '{shown_key}' holds a NUL byte: llama.cpp compares keys as C strings and reads it as '{}'", visible(key)),
            ));
        }
        match &check.clash {
            None => false,
            Some(Clash::Exact) => {
                self.findings.push(Finding::error(
                    "gguf.duplicate_key",
                    format!("gguf metadata: key '{shown_key}' appears more than once; llama.cpp and gguf-py refuse to load the file, lbom describes the first value"),
                ));
                true
            }
            Some(Clash::SameCString { earlier }) => {
                self.findings.push(Finding::error(
                    "key.shadowed",
                    format!("gguf metadata key '{shown_key}' and the earlier key '{}' are both '{}' to llama.cpp, which reads only the earlier one: this value is never used", shown(earlier), visible(key)),
                ));
                true
            }
            Some(Clash::Confusable { earlier }) => {
                self.findings.push(Finding::error(
                    "key.confusable",
                    format!("gguf metadata key '{shown_key}' looks the same as the earlier key '{}' after Unicode normalisation (NFKC, invisible characters removed), but llama.cpp reads each only by its exact bytes", shown(earlier)),
                ));
                false
            }
        }
    }

    pub(super) fn report_flags(&mut self, key: &str) {
        let flags = std::mem::take(&mut self.flags);
        if flags.non_finite {
            self.findings.push(Finding::info(
                "gguf.non_finite_float",
                format!(
                    "gguf metadata: key '{key}' holds a NaN or infinite float, reported as a string"
                ),
            ));
        }
        if flags.invalid_utf8 {
            self.findings.push(Finding::warning(
                "gguf.invalid_utf8",
                format!("gguf metadata: key '{key}' holds a string that is not valid UTF-8 (converted lossily)"),
            ));
        }
        if flags.bad_bool {
            self.findings.push(Finding::warning(
                "gguf.bad_bool",
                format!(
                    "gguf metadata: key '{key}' holds a bool byte other than 0 or 1, read as true"
                ),
            ));
        }
    }
}
