//! The tensor infos of a GGUF header: each name checked against the ones
//! before it as ggml compares them (C strings), then its shape and type.

use std::io::Read;

use super::{MAX_DIMS, MAX_DIMS_KEPT, Parser, Stop, TensorInfo, element_count, ggml_type};
use crate::inspect::facts::Finding;
use crate::inspect::keys::{Clash, KeyCheck, KeySet, shown};
use crate::safe::visible;

/// ggml.h `GGML_MAX_NAME`: a tensor name must be shorter (it is kept in a
/// `char[GGML_MAX_NAME]` with its terminating NUL).
pub(crate) const GGML_MAX_NAME: usize = 64;

impl<R: Read> Parser<'_, R> {
    pub(super) fn read_tensor_infos(&mut self) -> Result<(), Stop> {
        let count = self.header.tensor_count.unwrap_or(0);
        let mut names = KeySet::default();
        for _ in 0..count {
            let (info, check, name_len) = self.read_tensor_info(&mut names)?;
            let name = visible(&info.name);
            if name_len >= GGML_MAX_NAME {
                // gguf.cpp: `name.length() >= GGML_MAX_NAME` refuses the file.
                self.findings.push(Finding::error(
                    "gguf.tensor_name_too_long",
                    format!("gguf tensor name '{name}' is {name_len} bytes; llama.cpp refuses names of {GGML_MAX_NAME} bytes or more (GGML_MAX_NAME)"),
                ));
            }
            if check.nul {
                self.findings.push(Finding::error(
                    "key.nul",
                    format!("gguf tensor name '{name}' holds a NUL byte: ggml keeps tensor names as C strings and cuts it there"),
                ));
            }
            match check.clash {
                None => {}
                // ggml_set_name keeps the C string and gguf.cpp refuses two
                // tensors whose names strcmp equal.
                Some(Clash::Exact | Clash::SameCString { .. }) => {
                    self.findings.push(Finding::error(
                        "gguf.duplicate_tensor",
                        format!("gguf tensor '{name}' appears more than once in the tensor table (names compared as C strings, as llama.cpp does; it refuses the file)"),
                    ));
                }
                Some(Clash::Confusable { earlier }) => {
                    self.findings.push(Finding::error(
                        "key.confusable",
                        format!("gguf tensor name '{name}' looks the same as the earlier tensor name '{}' after Unicode normalisation (NFKC, invisible characters removed), but loaders read each only by its exact bytes", shown(&earlier)),
                    ));
                }
            }
            self.header.tensors.push(info);
        }
        Ok(())
    }

    pub(super) fn read_tensor_info(
        &mut self,
        names: &mut KeySet,
    ) -> Result<(TensorInfo, KeyCheck, usize), Stop> {
        let name_bytes = self.string("tensor name")?;
        let name_len = name_bytes.len();
        // Kept twice more: in the tensor table and in the duplicate check.
        self.keep(2 * name_bytes.len() as u64, "tensor name")?;
        let name = self.lossy(&name_bytes, "a tensor name");
        let check = names.add(&name_bytes);
        self.recycle(name_bytes);
        Ok((self.read_tensor_shape(name)?, check, name_len))
    }

    /// The rest of a tensor info, after its name.
    pub(super) fn read_tensor_shape(&mut self, name: String) -> Result<TensorInfo, Stop> {
        let n_dims = self.u32("tensor dimension count")?;
        self.need(
            u64::from(n_dims).saturating_mul(self.len_size()),
            "tensor dimensions",
        )?;
        let mut dims = Vec::with_capacity(MAX_DIMS_KEPT.min(n_dims as usize));
        for _ in 0..n_dims {
            let d = self.len("tensor dimension")?;
            if dims.len() < MAX_DIMS_KEPT {
                dims.push(d);
            }
        }
        let type_id = self.u32("tensor type")?;
        let offset = self.u64("tensor offset")?;

        let mut info = TensorInfo {
            name,
            dims,
            type_id,
            offset,
            elements: None,
            size: None,
        };
        if n_dims == 0 || n_dims > MAX_DIMS {
            self.findings.push(Finding::error(
                "gguf.bad_dims",
                format!(
                    "gguf tensor '{}' has {n_dims} dimensions; ggml allows 1 to {MAX_DIMS}",
                    info.name
                ),
            ));
            return Ok(info);
        }
        info.elements = element_count(&info.dims);
        let Some(elements) = info.elements else {
            self.findings.push(Finding::error(
                "gguf.bad_dims",
                format!(
                    "gguf tensor '{}' has shape {:?} whose element count overflows",
                    info.name, info.dims
                ),
            ));
            return Ok(info);
        };
        let Some(ty) = ggml_type(type_id) else {
            // gguf.cpp refuses a type outside ggml's enum; its bytes are
            // claimed by no tensor, so they are scanned for hidden content
            // (docs/findings.md, "Bytes no tensor claims").
            self.findings.push(Finding::error(
                "gguf.unknown_tensor_type",
                format!("gguf tensor '{}' has unknown ggml type id {type_id}: llama.cpp refuses the file, and its bytes are claimed by no tensor", info.name),
            ));
            return Ok(info);
        };
        let row = info.dims.first().copied().unwrap_or(1);
        if row % ty.block_size != 0 {
            self.findings.push(Finding::error(
                "gguf.tensor_size_mismatch",
                format!(
                    "gguf tensor '{}' of type {} has {row} elements per row, not a multiple of the block size {}",
                    info.name, ty.name, ty.block_size
                ),
            ));
            return Ok(info);
        }
        info.size = (elements / ty.block_size).checked_mul(ty.type_size);
        if info.size.is_none() {
            self.findings.push(Finding::error(
                "gguf.bad_dims",
                format!("gguf tensor '{}' has a byte size that overflows", info.name),
            ));
        }
        Ok(info)
    }
}
