//! Containers with a StartContainer in progress: a second start, or a remove, of the
//! same container must not race the monitor being started.

use std::collections::HashSet;
use std::sync::Mutex;

use crate::cri::Error;

/// The ids of the containers being started.
#[derive(Debug, Default)]
pub(super) struct Busy {
    ids: Mutex<HashSet<String>>,
}

/// Held while container `id` is being started; releases it on drop.
#[derive(Debug)]
pub(super) struct Claim<'a> {
    busy: &'a Busy,
    id: String,
}

impl Busy {
    fn ids(&self) -> std::sync::MutexGuard<'_, HashSet<String>> {
        self.ids.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Marks `id` as being started; fails if it already is.
    pub(super) fn claim(&self, id: &str) -> Result<Claim<'_>, Error> {
        if !self.ids().insert(id.to_owned()) {
            return Err(Error::FailedPrecondition(format!(
                "container {id} is being started"
            )));
        }
        Ok(Claim {
            busy: self,
            id: id.to_owned(),
        })
    }

    /// Fails if `id` is being started.
    pub(super) fn check(&self, id: &str) -> Result<(), Error> {
        if self.ids().contains(id) {
            return Err(Error::FailedPrecondition(format!(
                "container {id} is being started"
            )));
        }
        Ok(())
    }
}

impl Drop for Claim<'_> {
    fn drop(&mut self) {
        self.busy.ids().remove(&self.id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_container_is_started_once_at_a_time() {
        let busy = Busy::default();
        let claim = busy.claim("a").unwrap();
        assert!(busy.claim("a").is_err());
        assert!(busy.check("a").is_err());
        assert!(busy.check("b").is_ok());
        drop(claim);
        assert!(busy.check("a").is_ok());
        assert!(busy.claim("a").is_ok());
    }
}
