//! `update`: new cgroup limits for a created or running container (`runc update`,
//! the CRI's UpdateContainerResources).

use oci_spec::runtime::LinuxResources;

use super::{Container, Status};
use crate::Error;

impl Container {
    /// Writes `resources` to the container's cgroups. Only the limits `resources`
    /// names change; the container must be created or running.
    pub fn update(&self, resources: &LinuxResources) -> Result<(), Error> {
        if !matches!(self.status(), Status::Created | Status::Running) {
            return Err(self.wrong("update"));
        }
        Ok(self.state.cgroup.update(resources)?)
    }
}
