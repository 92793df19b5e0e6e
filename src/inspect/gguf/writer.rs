//! Test-only GGUF writer: builds byte vectors for v1, v2 and v3, little- and
//! big-endian, including deliberately broken ones.

use super::layout::align_up;
use super::types::{ggml_type, value_type as vt};

pub(super) struct Writer {
    pub version: u32,
    pub big: bool,
    /// Padding used between the tensor infos and the data, and between tensors.
    pub alignment: u64,
    pub magic: [u8; 4],
    /// Written instead of `version` when set (hostile versions).
    pub raw_version: Option<u32>,
    pub kv_count_override: Option<u64>,
    pub tensor_count_override: Option<u64>,
    /// Bytes appended after the data section.
    pub trailing: Vec<u8>,
    kvs: Vec<u8>,
    n_kv: u64,
    infos: Vec<u8>,
    n_tensors: u64,
    data: Vec<u8>,
}

impl Writer {
    pub fn new(version: u32, big: bool) -> Self {
        Self {
            version,
            big,
            alignment: 32,
            magic: *b"GGUF",
            raw_version: None,
            kv_count_override: None,
            tensor_count_override: None,
            trailing: Vec::new(),
            kvs: Vec::new(),
            n_kv: 0,
            infos: Vec::new(),
            n_tensors: 0,
            data: Vec::new(),
        }
    }

    // ---- encoders ------------------------------------------------------

    pub fn u16(&self, v: u16) -> Vec<u8> {
        if self.big {
            v.to_be_bytes().to_vec()
        } else {
            v.to_le_bytes().to_vec()
        }
    }
    pub fn u32(&self, v: u32) -> Vec<u8> {
        if self.big {
            v.to_be_bytes().to_vec()
        } else {
            v.to_le_bytes().to_vec()
        }
    }
    pub fn u64(&self, v: u64) -> Vec<u8> {
        if self.big {
            v.to_be_bytes().to_vec()
        } else {
            v.to_le_bytes().to_vec()
        }
    }
    /// A count or length: u32 in v1, u64 after.
    pub fn len(&self, v: u64) -> Vec<u8> {
        if self.version == 1 {
            self.u32(v as u32)
        } else {
            self.u64(v)
        }
    }
    pub fn string(&self, s: &[u8]) -> Vec<u8> {
        let mut out = self.len(s.len() as u64);
        out.extend_from_slice(s);
        out
    }
    pub fn array(&self, elem: u32, items: &[Vec<u8>]) -> Vec<u8> {
        let mut out = self.u32(elem);
        out.extend(self.len(items.len() as u64));
        for item in items {
            out.extend_from_slice(item);
        }
        out
    }

    // ---- key/values ----------------------------------------------------

    /// A key/value with an already encoded value.
    pub fn kv_raw(&mut self, key: &[u8], value_type: u32, value: &[u8]) -> &mut Self {
        let mut entry = self.string(key);
        entry.extend(self.u32(value_type));
        entry.extend_from_slice(value);
        self.kvs.extend(entry);
        self.n_kv += 1;
        self
    }
    pub fn kv_u8(&mut self, key: &str, v: u8) -> &mut Self {
        self.kv_raw(key.as_bytes(), vt::UINT8, &[v])
    }
    pub fn kv_u16(&mut self, key: &str, v: u16) -> &mut Self {
        let b = self.u16(v);
        self.kv_raw(key.as_bytes(), vt::UINT16, &b)
    }
    pub fn kv_u32(&mut self, key: &str, v: u32) -> &mut Self {
        let b = self.u32(v);
        self.kv_raw(key.as_bytes(), vt::UINT32, &b)
    }
    pub fn kv_i32(&mut self, key: &str, v: i32) -> &mut Self {
        let b = self.u32(v as u32);
        self.kv_raw(key.as_bytes(), vt::INT32, &b)
    }
    pub fn kv_u64(&mut self, key: &str, v: u64) -> &mut Self {
        let b = self.u64(v);
        self.kv_raw(key.as_bytes(), vt::UINT64, &b)
    }
    pub fn kv_i64(&mut self, key: &str, v: i64) -> &mut Self {
        let b = self.u64(v as u64);
        self.kv_raw(key.as_bytes(), vt::INT64, &b)
    }
    pub fn kv_f32(&mut self, key: &str, v: f32) -> &mut Self {
        let b = self.u32(v.to_bits());
        self.kv_raw(key.as_bytes(), vt::FLOAT32, &b)
    }
    pub fn kv_f64(&mut self, key: &str, v: f64) -> &mut Self {
        let b = self.u64(v.to_bits());
        self.kv_raw(key.as_bytes(), vt::FLOAT64, &b)
    }
    pub fn kv_bool(&mut self, key: &str, v: bool) -> &mut Self {
        self.kv_raw(key.as_bytes(), vt::BOOL, &[u8::from(v)])
    }
    pub fn kv_str(&mut self, key: &str, v: &str) -> &mut Self {
        let b = self.string(v.as_bytes());
        self.kv_raw(key.as_bytes(), vt::STRING, &b)
    }
    pub fn kv_strs(&mut self, key: &str, items: &[&str]) -> &mut Self {
        let items: Vec<Vec<u8>> = items.iter().map(|s| self.string(s.as_bytes())).collect();
        let b = self.array(vt::STRING, &items);
        self.kv_raw(key.as_bytes(), vt::ARRAY, &b)
    }
    pub fn kv_f32s(&mut self, key: &str, items: &[f32]) -> &mut Self {
        let items: Vec<Vec<u8>> = items.iter().map(|v| self.u32(v.to_bits())).collect();
        let b = self.array(vt::FLOAT32, &items);
        self.kv_raw(key.as_bytes(), vt::ARRAY, &b)
    }
    pub fn kv_i32s(&mut self, key: &str, items: &[i32]) -> &mut Self {
        let items: Vec<Vec<u8>> = items.iter().map(|v| self.u32(*v as u32)).collect();
        let b = self.array(vt::INT32, &items);
        self.kv_raw(key.as_bytes(), vt::ARRAY, &b)
    }

    // ---- tensors -------------------------------------------------------

    /// A tensor info with explicit fields; no data is added.
    pub fn tensor_info(
        &mut self,
        name: &str,
        n_dims: u32,
        dims: &[u64],
        type_id: u32,
        offset: u64,
    ) -> &mut Self {
        let mut info = self.string(name.as_bytes());
        info.extend(self.u32(n_dims));
        for &d in dims {
            info.extend(self.len(d));
        }
        info.extend(self.u32(type_id));
        info.extend(self.u64(offset));
        self.infos.extend(info);
        self.n_tensors += 1;
        self
    }

    /// A well-formed tensor placed after the previous one (aligned), with
    /// its data (a repeating byte pattern).
    pub fn tensor(&mut self, name: &str, dims: &[u64], type_id: u32) -> &mut Self {
        let ty = ggml_type(type_id);
        let elements: u64 = dims.iter().product();
        let size = ty.map_or(elements, |t| elements / t.block_size * t.type_size);
        let offset = align_up(self.data.len() as u64, self.alignment).unwrap_or(0);
        self.tensor_info(name, dims.len() as u32, dims, type_id, offset);
        self.data.resize(offset as usize, 0);
        self.data.extend((0..size).map(|i| (i % 251) as u8));
        self
    }

    /// Add raw bytes to the data section.
    pub fn data(&mut self, bytes: &[u8]) -> &mut Self {
        self.data.extend_from_slice(bytes);
        self
    }

    /// Length of the header (up to the end of the tensor infos).
    pub fn header_len(&self) -> usize {
        4 + 4 + 2 * self.len(0).len() + self.kvs.len() + self.infos.len()
    }

    pub fn build(&self) -> Vec<u8> {
        let mut out = self.magic.to_vec();
        out.extend(self.u32(self.raw_version.unwrap_or(self.version)));
        out.extend(self.len(self.tensor_count_override.unwrap_or(self.n_tensors)));
        out.extend(self.len(self.kv_count_override.unwrap_or(self.n_kv)));
        out.extend_from_slice(&self.kvs);
        out.extend_from_slice(&self.infos);
        let padded = align_up(out.len() as u64, self.alignment).unwrap_or(0) as usize;
        if self.n_tensors > 0 {
            out.resize(padded, 0);
        }
        out.extend_from_slice(&self.data);
        out.extend_from_slice(&self.trailing);
        out
    }
}
