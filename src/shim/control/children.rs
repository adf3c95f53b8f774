//! The monitor's table of exec children whose exit status a connection waits for
//! (`super::exec`): `wait_init` hands each status it reaps to [`Children::exited`]; a
//! fork is made under the table's lock ([`Children::spawn`]), so a status reaped at once
//! finds its waiter.

use std::collections::HashMap;
use std::sync::mpsc::Sender;
use std::sync::Mutex;

/// What an exec's waiter hears.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Event {
    /// The process ended with this status.
    Exited(i32),
    /// The client went away.
    Gone,
    /// The container ended: no status will come.
    Lost,
}

/// The exec'd children of the shim whose exit someone waits for.
#[derive(Debug, Default)]
pub struct Children {
    /// `None` once the container has ended: no more execs.
    waiting: Mutex<Option<HashMap<i32, Sender<Event>>>>,
}

impl Children {
    /// An empty, open registry.
    pub fn new() -> Children {
        Children {
            waiting: Mutex::new(Some(HashMap::new())),
        }
    }

    /// Hands the exit status of child `pid` to its waiter; false when nobody waits.
    pub fn exited(&self, pid: i32, code: i32) -> bool {
        let mut w = super::lock(&self.waiting);
        match w.as_mut().and_then(|m| m.remove(&pid)) {
            Some(tx) => tx.send(Event::Exited(code)).is_ok(),
            None => false,
        }
    }

    /// The container ended: every waiter hears that no status will come.
    pub fn close(&self) {
        for tx in super::lock(&self.waiting)
            .take()
            .into_iter()
            .flat_map(|m| m.into_values())
        {
            let _ = tx.send(Event::Lost);
        }
    }

    /// Runs `spawn` under the registry's lock and registers the pid it returns.
    pub(super) fn spawn(
        &self,
        tx: Sender<Event>,
        spawn: impl FnOnce() -> Result<i32, String>,
    ) -> Result<i32, String> {
        let mut w = super::lock(&self.waiting);
        let Some(map) = w.as_mut() else {
            return Err("the container has exited".into());
        };
        let pid = spawn()?;
        map.insert(pid, tx);
        Ok(pid)
    }
}
