//! fusefs: a lazy squashfs reader and a read-only FUSE filesystem that serves it.
//!
//! The crate never parses SIF: it is handed a file, an offset and a length.

pub mod mount;
#[allow(unsafe_code)]
mod sys;
