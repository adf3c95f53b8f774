//! The CRI v1 services the daemon serves: [`Runtime`] implements RuntimeService over
//! the pod store ([`crate::pod`]); the ImageService lives next to the image store.
//!
//! Input: decoded gRPC requests from [`crate::daemon`]. Output: responses, or a
//! `tonic::Status` whose code says what went wrong (see [`Error`]).

mod container;
pub mod ctl;
mod error;
mod events;
mod images;
mod info;
mod runtime;
mod stream;

pub use error::Error;
pub use runtime::Runtime;
