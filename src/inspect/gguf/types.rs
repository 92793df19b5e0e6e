//! GGUF lookup tables: metadata value types, ggml tensor types, llama.cpp
//! file types and known architectures.
//!
//! Sources (checked November 2026):
//! - ggml `include/ggml.h` `enum ggml_type` (ids), `src/ggml.c`
//!   `type_traits` (block size) and `src/ggml-common.h` (`sizeof` of each
//!   block struct), ggml-org/ggml commit d99724f2b141 (August 2026). gguf-py's
//!   `GGML_QUANT_SIZES` is not the reference: it says 40 bytes for Q8_1
//!   where ggml has 36, and it lacks `Q2_0` (id 42).
//! - llama.cpp `include/llama.h` `enum llama_ftype`, mirrored by gguf-py
//!   `LlamaFileType`; `MOSTLY_Q2_0 = 41` is in llama.h only so far.
//! - the "main" ggml type of each file type: `llama_model_quantize_impl`
//!   in llama.cpp `src/llama-quant.cpp` (`default_type`).
//! - architectures: gguf-py `MODEL_ARCH_NAMES` and llama.cpp
//!   `src/llama-arch.cpp` `LLM_ARCH_NAMES` (their union).

/// GGUF metadata value type ids (ggml `docs/gguf.md`, `enum gguf_type`).
pub(super) mod value_type {
    pub const UINT8: u32 = 0;
    pub const INT8: u32 = 1;
    pub const UINT16: u32 = 2;
    pub const INT16: u32 = 3;
    pub const UINT32: u32 = 4;
    pub const INT32: u32 = 5;
    pub const FLOAT32: u32 = 6;
    pub const BOOL: u32 = 7;
    pub const STRING: u32 = 8;
    pub const ARRAY: u32 = 9;
    pub const UINT64: u32 = 10;
    pub const INT64: u32 = 11;
    pub const FLOAT64: u32 = 12;

    /// Lowercase name used in array summaries (`"element_type":"string"`).
    pub fn name(id: u32) -> Option<&'static str> {
        Some(match id {
            UINT8 => "uint8",
            INT8 => "int8",
            UINT16 => "uint16",
            INT16 => "int16",
            UINT32 => "uint32",
            INT32 => "int32",
            FLOAT32 => "float32",
            BOOL => "bool",
            STRING => "string",
            ARRAY => "array",
            UINT64 => "uint64",
            INT64 => "int64",
            FLOAT64 => "float64",
            _ => return None,
        })
    }

    /// Size in bytes of a fixed-size value, `None` for strings and arrays.
    pub fn fixed_size(id: u32) -> Option<u64> {
        match id {
            UINT8 | INT8 | BOOL => Some(1),
            UINT16 | INT16 => Some(2),
            UINT32 | INT32 | FLOAT32 => Some(4),
            UINT64 | INT64 | FLOAT64 => Some(8),
            _ => None,
        }
    }
}

/// A ggml tensor type: its name and how its elements are packed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct GgmlType {
    /// Name as ggml prints it (`F32`, `Q4_K`, `IQ4_XS`, …).
    pub name: &'static str,
    /// Elements per block.
    pub block_size: u64,
    /// Bytes per block.
    pub type_size: u64,
}

const fn t(name: &'static str, block_size: u64, type_size: u64) -> Option<GgmlType> {
    Some(GgmlType {
        name,
        block_size,
        type_size,
    })
}

/// `QK_K` in ggml-common.h: elements per K-quant super-block.
const QK_K: u64 = 256;
/// `sizeof(ggml_half)`: ggml-common.h stores block scales as IEEE half (uint16_t).
const HALF: u64 = 2;
/// `K_SCALE_SIZE` in ggml-common.h: packed 6-bit scales and mins of Q4_K/Q5_K.
const K_SCALE_SIZE: u64 = 12;

/// The ggml tensor type with this id, or `None` for an unknown or removed id.
///
/// ggml is the reference, not gguf-py (docs/findings.md, "Tensor sizes"):
/// the block size is ggml's `type_traits[type].blck_size` (ggml/src/ggml.c)
/// and the byte size is `sizeof(block_…)`, written here as the right-hand
/// side of the `static_assert` that pins that struct's size in
/// ggml/src/ggml-common.h, so each row can be compared with it by eye.
/// gguf-py's `GGML_QUANT_SIZES` disagrees on Q8_1 (it says 40 bytes; ggml's
/// `block_q8_1` holds two halves and 32 quants, 36 bytes).
/// `types::tests::ggml_type_sizes_follow_ggml` names the source of each row.
pub fn ggml_type(id: u32) -> Option<GgmlType> {
    match id {
        0 => t("F32", 1, 4),
        1 => t("F16", 1, HALF),
        2 => t("Q4_0", 32, HALF + 32 / 2),
        3 => t("Q4_1", 32, 2 * HALF + 32 / 2),
        // 4 (Q4_2) and 5 (Q4_3): support removed from ggml.
        6 => t("Q5_0", 32, HALF + 4 + 32 / 2),
        7 => t("Q5_1", 32, 2 * HALF + 4 + 32 / 2),
        8 => t("Q8_0", 32, HALF + 32),
        9 => t("Q8_1", 32, 2 * HALF + 32),
        10 => t("Q2_K", QK_K, 2 * HALF + QK_K / 16 + QK_K / 4),
        11 => t("Q3_K", QK_K, HALF + QK_K / 4 + QK_K / 8 + 12),
        12 => t("Q4_K", QK_K, 2 * HALF + K_SCALE_SIZE + QK_K / 2),
        13 => t("Q5_K", QK_K, 2 * HALF + K_SCALE_SIZE + QK_K / 2 + QK_K / 8),
        14 => t("Q6_K", QK_K, HALF + QK_K / 16 + 3 * QK_K / 4),
        15 => t("Q8_K", QK_K, 4 + QK_K + QK_K / 16 * 2),
        16 => t("IQ2_XXS", QK_K, HALF + QK_K / 8 * 2),
        17 => t("IQ2_XS", QK_K, HALF + QK_K / 8 * 2 + QK_K / 32),
        18 => t("IQ3_XXS", QK_K, HALF + 3 * (QK_K / 8)),
        19 => t("IQ1_S", QK_K, HALF + QK_K / 8 + QK_K / 16),
        20 => t("IQ4_NL", 32, HALF + 32 / 2),
        21 => t("IQ3_S", QK_K, HALF + 13 * (QK_K / 32) + QK_K / 64),
        22 => t("IQ2_S", QK_K, HALF + QK_K / 4 + QK_K / 16),
        23 => t("IQ4_XS", QK_K, HALF + 2 + QK_K / 64 + QK_K / 2),
        24 => t("I8", 1, 1),
        25 => t("I16", 1, 2),
        26 => t("I32", 1, 4),
        27 => t("I64", 1, 8),
        28 => t("F64", 1, 8),
        29 => t("IQ1_M", QK_K, QK_K / 8 + QK_K / 16 + QK_K / 32),
        30 => t("BF16", 1, 2),
        // 31-33 (Q4_0_4_4, Q4_0_4_8, Q4_0_8_8): removed from GGUF files.
        34 => t("TQ1_0", QK_K, HALF + QK_K / 64 + (QK_K - 4 * QK_K / 64) / 5),
        35 => t("TQ2_0", QK_K, HALF + QK_K / 4),
        // 36-38 (IQ4_NL_4_4, IQ4_NL_4_8, IQ4_NL_8_8): removed.
        39 => t("MXFP4", 32, 1 + 32 / 2),
        40 => t("NVFP4", 64, (64 / 16) + 64 / 2),
        41 => t("Q1_0", 128, HALF + 128 / 8),
        42 => t("Q2_0", 64, HALF + 64 / 4),
        _ => None,
    }
}

/// The llama.cpp file-type name for a `general.file_type` code, without the
/// `MOSTLY_`/`ALL_` prefix (`15` → `Q4_K_M`, `0` → `F32`).
///
/// Codes that llama.cpp has since removed (4-6, 33-35) keep their old names
/// because files carrying them still exist; `1024` is `GUESSED`.
pub fn file_type_name(code: u64) -> Option<&'static str> {
    file_type(code).map(|(name, _)| name)
}

/// Name and main ggml type id of a file type (the `default_type` llama.cpp's
/// quantizer gives every tensor it does not special-case), when there is one.
pub(super) fn file_type(code: u64) -> Option<(&'static str, Option<u32>)> {
    Some(match code {
        0 => ("F32", Some(0)),
        1 => ("F16", Some(1)),
        2 => ("Q4_0", Some(2)),
        3 => ("Q4_1", Some(3)),
        4 => ("Q4_1_SOME_F16", Some(3)),
        5 => ("Q4_2", None),
        6 => ("Q4_3", None),
        7 => ("Q8_0", Some(8)),
        8 => ("Q5_0", Some(6)),
        9 => ("Q5_1", Some(7)),
        10 => ("Q2_K", Some(10)),
        11 => ("Q3_K_S", Some(11)),
        12 => ("Q3_K_M", Some(11)),
        13 => ("Q3_K_L", Some(11)),
        14 => ("Q4_K_S", Some(12)),
        15 => ("Q4_K_M", Some(12)),
        16 => ("Q5_K_S", Some(13)),
        17 => ("Q5_K_M", Some(13)),
        18 => ("Q6_K", Some(14)),
        19 => ("IQ2_XXS", Some(16)),
        20 => ("IQ2_XS", Some(17)),
        21 => ("Q2_K_S", Some(10)),
        22 => ("IQ3_XS", Some(21)),
        23 => ("IQ3_XXS", Some(18)),
        24 => ("IQ1_S", Some(19)),
        25 => ("IQ4_NL", Some(20)),
        26 => ("IQ3_S", Some(21)),
        27 => ("IQ3_M", Some(21)),
        28 => ("IQ2_S", Some(17)),
        29 => ("IQ2_M", Some(22)),
        30 => ("IQ4_XS", Some(23)),
        31 => ("IQ1_M", Some(29)),
        32 => ("BF16", Some(30)),
        33 => ("Q4_0_4_4", None),
        34 => ("Q4_0_4_8", None),
        35 => ("Q4_0_8_8", None),
        36 => ("TQ1_0", Some(34)),
        37 => ("TQ2_0", Some(35)),
        38 => ("MXFP4_MOE", Some(39)),
        39 => ("NVFP4", Some(40)),
        40 => ("Q1_0", Some(41)),
        41 => ("Q2_0", Some(42)),
        1024 => ("GUESSED", None),
        _ => return None,
    })
}

/// `general.file_type` meaning "not specified in the model file".
pub(super) const FILE_TYPE_GUESSED: u64 = 1024;

/// Every file-type name that can appear as a quant label in a file name,
/// plus common spellings of the float types and gpt-oss's `MXFP4`.
pub(super) const FILENAME_LABELS: &[(&str, &str)] = &[
    ("Q4_1_SOME_F16", "Q4_1_SOME_F16"),
    ("MXFP4_MOE", "MXFP4_MOE"),
    ("Q4_0_4_4", "Q4_0_4_4"),
    ("Q4_0_4_8", "Q4_0_4_8"),
    ("Q4_0_8_8", "Q4_0_8_8"),
    ("IQ2_XXS", "IQ2_XXS"),
    ("IQ3_XXS", "IQ3_XXS"),
    ("Q3_K_S", "Q3_K_S"),
    ("Q3_K_M", "Q3_K_M"),
    ("Q3_K_L", "Q3_K_L"),
    ("Q4_K_S", "Q4_K_S"),
    ("Q4_K_M", "Q4_K_M"),
    ("Q5_K_S", "Q5_K_S"),
    ("Q5_K_M", "Q5_K_M"),
    ("Q2_K_S", "Q2_K_S"),
    ("IQ2_XS", "IQ2_XS"),
    ("IQ3_XS", "IQ3_XS"),
    ("IQ4_NL", "IQ4_NL"),
    ("IQ4_XS", "IQ4_XS"),
    ("IQ1_S", "IQ1_S"),
    ("IQ1_M", "IQ1_M"),
    ("IQ2_S", "IQ2_S"),
    ("IQ2_M", "IQ2_M"),
    ("IQ3_S", "IQ3_S"),
    ("IQ3_M", "IQ3_M"),
    ("MXFP4", "MXFP4_MOE"),
    ("NVFP4", "NVFP4"),
    ("TQ1_0", "TQ1_0"),
    ("TQ2_0", "TQ2_0"),
    ("Q2_K", "Q2_K"),
    ("Q6_K", "Q6_K"),
    ("Q4_0", "Q4_0"),
    ("Q4_1", "Q4_1"),
    ("Q5_0", "Q5_0"),
    ("Q5_1", "Q5_1"),
    ("Q8_0", "Q8_0"),
    ("Q1_0", "Q1_0"),
    ("Q2_0", "Q2_0"),
    ("BF16", "BF16"),
    ("FP16", "F16"),
    ("FP32", "F32"),
    ("F16", "F16"),
    ("F32", "F32"),
];

/// Architectures llama.cpp knows (`general.architecture` values).
pub(super) const KNOWN_ARCHITECTURES: &[&str] = &[
    "afmoe",
    "apertus",
    "arcee",
    "arctic",
    "arwkv7",
    "baichuan",
    "bailingmoe",
    "bailingmoe2",
    "bert",
    "bitnet",
    "bloom",
    "chameleon",
    "chatglm",
    "clip",
    "codeshell",
    "cogvlm",
    "cohere2",
    "cohere2moe",
    "command-r",
    "dbrx",
    "deci",
    "deepseek",
    "deepseek2",
    "deepseek2-ocr",
    "deepseek32",
    "deepseek4",
    "dflash",
    "dots1",
    "dream",
    "eagle3",
    "ernie4_5",
    "ernie4_5-moe",
    "eurobert",
    "exaone",
    "exaone-moe",
    "exaone4",
    "falcon",
    "falcon-h1",
    "gemma",
    "gemma-embedding",
    "gemma2",
    "gemma3",
    "gemma3n",
    "gemma4",
    "gemma4-assistant",
    "glm-dsa",
    "glm4",
    "glm4moe",
    "gpt-oss",
    "gpt2",
    "gptj",
    "gptneox",
    "granite",
    "granitehybrid",
    "granitemoe",
    "grok",
    "grovemoe",
    "hunyuan-dense",
    "hunyuan-moe",
    "hunyuan_vl",
    "hy_v3",
    "internlm2",
    "jais",
    "jais2",
    "jamba",
    "jina-bert-v2",
    "jina-bert-v3",
    "kimi-linear",
    "laguna",
    "lfm2",
    "lfm2moe",
    "llada",
    "llada-moe",
    "llama",
    "llama-embed",
    "llama4",
    "maincoder",
    "mamba",
    "mamba2",
    "mellum",
    "mimo2",
    "minicpm",
    "minicpm3",
    "minimax-m2",
    "mistral3",
    "mistral4",
    "modern-bert",
    "mpt",
    "nemotron",
    "nemotron_h",
    "nemotron_h_moe",
    "neo-bert",
    "nomic-bert",
    "nomic-bert-moe",
    "olmo",
    "olmo2",
    "olmoe",
    "openelm",
    "orion",
    "paddleocr",
    "pangu-embedded",
    "phi2",
    "phi3",
    "phimoe",
    "plamo",
    "plamo2",
    "plamo3",
    "plm",
    "qwen",
    "qwen2",
    "qwen2moe",
    "qwen2vl",
    "qwen3",
    "qwen35",
    "qwen35moe",
    "qwen3moe",
    "qwen3next",
    "qwen3vl",
    "qwen3vlmoe",
    "refact",
    "rnd1",
    "rwkv6",
    "rwkv6qwen2",
    "rwkv7",
    "seed_oss",
    "smallthinker",
    "smollm3",
    "stablelm",
    "starcoder",
    "starcoder2",
    "step35",
    "t5",
    "t5encoder",
    "talkie",
    "wavtokenizer-dec",
    "xverse",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_type_names_follow_llama_h() {
        // Spot checks against llama.h; l-bom got 15 and 7 wrong.
        assert_eq!(file_type_name(15), Some("Q4_K_M"));
        assert_eq!(file_type_name(7), Some("Q8_0"));
        assert_eq!(file_type_name(0), Some("F32"));
        assert_eq!(file_type_name(1), Some("F16"));
        assert_eq!(file_type_name(32), Some("BF16"));
        assert_eq!(file_type_name(30), Some("IQ4_XS"));
        assert_eq!(file_type_name(38), Some("MXFP4_MOE"));
        assert_eq!(file_type_name(41), Some("Q2_0"));
        assert_eq!(file_type_name(1024), Some("GUESSED"));
        assert_eq!(file_type_name(42), None);
        assert_eq!(file_type_name(u64::MAX), None);
    }

    /// Every row of [`ggml_type`] against ggml itself (ggml-org/ggml commit
    /// d99724f2b141, `include/ggml.h` for ids, `src/ggml.c` `type_traits` for
    /// block sizes, `src/ggml-common.h` for the block structs' sizes): id,
    /// name, elements per block, bytes per block, and where each number is
    /// stated. The byte counts are the static_asserts evaluated by hand.
    const GGML_REFERENCE: &[(u32, &str, u64, u64, &str)] = &[
        (
            0,
            "F32",
            1,
            4,
            "ggml.c type_traits[GGML_TYPE_F32]: blck_size 1, sizeof(float)",
        ),
        (
            1,
            "F16",
            1,
            2,
            "ggml.c type_traits[GGML_TYPE_F16]: blck_size 1, sizeof(ggml_fp16_t)",
        ),
        (
            2,
            "Q4_0",
            32,
            18,
            "ggml-common.h QK4_0 32; sizeof(block_q4_0) == sizeof(ggml_half) + QK4_0 / 2",
        ),
        (
            3,
            "Q4_1",
            32,
            20,
            "ggml-common.h QK4_1 32; sizeof(block_q4_1) == 2 * sizeof(ggml_half) + QK4_1 / 2",
        ),
        (
            6,
            "Q5_0",
            32,
            22,
            "ggml-common.h QK5_0 32; sizeof(block_q5_0) == sizeof(ggml_half) + sizeof(uint32_t) + QK5_0 / 2",
        ),
        (
            7,
            "Q5_1",
            32,
            24,
            "ggml-common.h QK5_1 32; sizeof(block_q5_1) == 2 * sizeof(ggml_half) + sizeof(uint32_t) + QK5_1 / 2",
        ),
        (
            8,
            "Q8_0",
            32,
            34,
            "ggml-common.h QK8_0 32; sizeof(block_q8_0) == sizeof(ggml_half) + QK8_0",
        ),
        (
            9,
            "Q8_1",
            32,
            36,
            "ggml-common.h QK8_1 32; sizeof(block_q8_1) == 2*sizeof(ggml_half) + QK8_1 (gguf-py says 40)",
        ),
        (
            10,
            "Q2_K",
            256,
            84,
            "ggml-common.h QK_K 256; sizeof(block_q2_K) == 2*sizeof(ggml_half) + QK_K/16 + QK_K/4",
        ),
        (
            11,
            "Q3_K",
            256,
            110,
            "ggml-common.h sizeof(block_q3_K) == sizeof(ggml_half) + QK_K / 4 + QK_K / 8 + 12",
        ),
        (
            12,
            "Q4_K",
            256,
            144,
            "ggml-common.h sizeof(block_q4_K) == 2*sizeof(ggml_half) + K_SCALE_SIZE (12) + QK_K/2",
        ),
        (
            13,
            "Q5_K",
            256,
            176,
            "ggml-common.h sizeof(block_q5_K) == 2*sizeof(ggml_half) + K_SCALE_SIZE + QK_K/2 + QK_K/8",
        ),
        (
            14,
            "Q6_K",
            256,
            210,
            "ggml-common.h sizeof(block_q6_K) == sizeof(ggml_half) + QK_K / 16 + 3*QK_K/4",
        ),
        (
            15,
            "Q8_K",
            256,
            292,
            "ggml-common.h sizeof(block_q8_K) == sizeof(float) + QK_K + QK_K/16*sizeof(int16_t)",
        ),
        (
            16,
            "IQ2_XXS",
            256,
            66,
            "ggml-common.h sizeof(block_iq2_xxs) == sizeof(ggml_half) + QK_K/8*sizeof(uint16_t)",
        ),
        (
            17,
            "IQ2_XS",
            256,
            74,
            "ggml-common.h sizeof(block_iq2_xs) == sizeof(ggml_half) + QK_K/8*sizeof(uint16_t) + QK_K/32",
        ),
        (
            18,
            "IQ3_XXS",
            256,
            98,
            "ggml-common.h sizeof(block_iq3_xxs) == sizeof(ggml_half) + 3*(QK_K/8)",
        ),
        (
            19,
            "IQ1_S",
            256,
            50,
            "ggml-common.h sizeof(block_iq1_s) == sizeof(ggml_half) + QK_K/8 + QK_K/16",
        ),
        (
            20,
            "IQ4_NL",
            32,
            18,
            "ggml-common.h QK4_NL 32; sizeof(block_iq4_nl) == sizeof(ggml_half) + QK4_NL/2",
        ),
        (
            21,
            "IQ3_S",
            256,
            110,
            "ggml-common.h sizeof(block_iq3_s) == sizeof(ggml_half) + 13*(QK_K/32) + IQ3S_N_SCALE (QK_K/64)",
        ),
        (
            22,
            "IQ2_S",
            256,
            82,
            "ggml-common.h sizeof(block_iq2_s) == sizeof(ggml_half) + QK_K/4 + QK_K/16",
        ),
        (
            23,
            "IQ4_XS",
            256,
            136,
            "ggml-common.h sizeof(block_iq4_xs) == sizeof(ggml_half) + sizeof(uint16_t) + QK_K/64 + QK_K/2",
        ),
        (
            24,
            "I8",
            1,
            1,
            "ggml.c type_traits[GGML_TYPE_I8]: blck_size 1, sizeof(int8_t)",
        ),
        (
            25,
            "I16",
            1,
            2,
            "ggml.c type_traits[GGML_TYPE_I16]: blck_size 1, sizeof(int16_t)",
        ),
        (
            26,
            "I32",
            1,
            4,
            "ggml.c type_traits[GGML_TYPE_I32]: blck_size 1, sizeof(int32_t)",
        ),
        (
            27,
            "I64",
            1,
            8,
            "ggml.c type_traits[GGML_TYPE_I64]: blck_size 1, sizeof(int64_t)",
        ),
        (
            28,
            "F64",
            1,
            8,
            "ggml.c type_traits[GGML_TYPE_F64]: blck_size 1, sizeof(double)",
        ),
        (
            29,
            "IQ1_M",
            256,
            56,
            "ggml-common.h sizeof(block_iq1_m) == QK_K/8 + QK_K/16 + QK_K/32",
        ),
        (
            30,
            "BF16",
            1,
            2,
            "ggml.c type_traits[GGML_TYPE_BF16]: blck_size 1, sizeof(ggml_bf16_t)",
        ),
        (
            34,
            "TQ1_0",
            256,
            54,
            "ggml-common.h sizeof(block_tq1_0) == sizeof(ggml_half) + QK_K / 64 + (QK_K - 4 * QK_K / 64) / 5",
        ),
        (
            35,
            "TQ2_0",
            256,
            66,
            "ggml-common.h sizeof(block_tq2_0) == sizeof(ggml_half) + QK_K / 4",
        ),
        (
            39,
            "MXFP4",
            32,
            17,
            "ggml-common.h QK_MXFP4 32; sizeof(block_mxfp4) == sizeof(uint8_t) + QK_MXFP4/2",
        ),
        (
            40,
            "NVFP4",
            64,
            36,
            "ggml-common.h QK_NVFP4 64; sizeof(block_nvfp4) == sizeof(uint8_t)*(QK_NVFP4/QK_NVFP4_SUB (16)) + QK_NVFP4/2",
        ),
        (
            41,
            "Q1_0",
            128,
            18,
            "ggml-common.h QK1_0 128; sizeof(block_q1_0) == sizeof(ggml_half) + QK1_0 / 8",
        ),
        (
            42,
            "Q2_0",
            64,
            18,
            "ggml-common.h QK2_0 64; sizeof(block_q2_0) == sizeof(ggml_half) + QK2_0 / 4",
        ),
    ];

    #[test]
    fn ggml_type_sizes_follow_ggml() {
        for &(id, name, block, bytes, source) in GGML_REFERENCE {
            assert_eq!(
                ggml_type(id).map(|t| (t.name, t.block_size, t.type_size)),
                Some((name, block, bytes)),
                "ggml type {id}: {source}"
            );
        }
        // Every id ggml.h's `enum ggml_type` does not define (removed ones:
        // 4, 5, 31-33, 36-38; GGML_TYPE_COUNT is 43) is unknown, and so is
        // every id past the enum.
        for id in (0..=1024u32).chain([u32::MAX]) {
            if !GGML_REFERENCE.iter().any(|r| r.0 == id) {
                assert_eq!(ggml_type(id), None, "id {id} is not a ggml type");
            }
        }
    }

    #[test]
    fn q8_1_blocks_are_36_bytes_as_in_ggml_not_40_as_in_gguf_py() {
        // block_q8_1 { ggml_half d; ggml_half s; int8_t qs[QK8_1]; }.
        assert_eq!(ggml_type(9).map(|t| t.type_size), Some(2 + 2 + 32));
    }

    #[test]
    fn every_file_type_main_type_exists() {
        for code in 0..=1024u64 {
            if let Some((_, Some(main))) = file_type(code) {
                assert!(ggml_type(main).is_some(), "file type {code}");
            }
        }
        for (_, canonical) in FILENAME_LABELS {
            assert!(
                (0..=41).any(|c| file_type_name(c) == Some(canonical)),
                "{canonical}"
            );
        }
    }
}
