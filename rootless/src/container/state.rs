//! `state`: the container's status and the runtime-spec state document.

use super::{Container, Status};

impl Container {
    /// The container's status, from init's liveness and the exec fifo.
    pub fn status(&self) -> Status {
        match self.state.pid {
            None => Status::Creating,
            Some(_) if !self.init_alive() => Status::Stopped,
            Some(_) if self.fifo().exists() => Status::Created,
            Some(_) => Status::Running,
        }
    }

    /// The runtime-spec state JSON (`ociVersion`, `id`, `status`, `pid`, `bundle`,
    /// `annotations`).
    pub fn state(&self) -> serde_json::Value {
        let status = self.status();
        let mut doc = serde_json::json!({
            "ociVersion": self.state.oci_version,
            "id": self.state.id,
            "status": status.to_string(),
            "bundle": self.state.bundle,
            "annotations": self.state.annotations,
        });
        if let (Some(pid), true) = (
            self.state.pid,
            matches!(status, Status::Created | Status::Running),
        ) {
            doc["pid"] = pid.into();
        }
        doc
    }
}
