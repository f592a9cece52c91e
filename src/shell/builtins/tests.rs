//! Unit tests of the built-ins.
