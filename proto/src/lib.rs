//! CRI v1 bindings (re-exported from `k8s-cri`) and, later, the shim's own protocol.

pub use k8s_cri::v1 as cri;
