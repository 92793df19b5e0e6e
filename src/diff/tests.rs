//! Unit tests of the drift engine.
