//! ABI test module.
