//! Images: references, the on-disk store, the registry client, and the conversion
//! of OCI layers into reproducible SIF files.
//!
//! Input: docker references (from kubelet or the CLI), local SIF files, registry
//! content. Output: SIF files in the [`Store`], each with an image id and names, for
//! `sifcri mount`, the runtime and the CRI ImageService.

pub mod convert;
mod cri;
mod digest;
mod error;
mod pull;
mod push;
mod reference;
pub mod registry;
mod store;

pub use cri::{status, to_cri, ImageServer};
pub use digest::{Digest, ImageId};
pub use error::{Error, ErrorKind};
pub use pull::{pull, NoProgress, Progress, PullOptions};
pub use push::push;
pub use reference::{Reference, DEFAULT_REGISTRY};
pub use store::{ImageKind, ImageRecord, PullGuard, Store, TempDir};
