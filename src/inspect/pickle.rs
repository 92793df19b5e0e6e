//! pickle reader (being written).
