//! gguf reader (being written).
