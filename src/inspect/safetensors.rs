//! safetensors reader (being written).
