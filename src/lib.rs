//! sifcri: a Kubernetes CRI runtime for Singularity/Apptainer SIF images.
//!
//! The binary's verbs live in [`cli`] (argument structs) and [`commands`] (glue);
//! the behaviour lives in the library modules below them.

pub mod bench;
pub mod cli;
pub mod commands;
pub mod config;
pub mod cri;
pub mod daemon;
pub mod image;
pub mod logging;
pub mod mount;
pub mod network;
pub mod pod;
pub mod shim;
pub mod sif;
pub mod state;
pub mod streaming;
#[allow(unsafe_code)]
mod sys;
