//! OCI hooks (createRuntime, createContainer, startContainer, poststart, poststop): each
//! runs with the container's state JSON on stdin, its own args and env, and a timeout.

use std::io::Write;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use oci_spec::runtime::Hook;

use crate::spec::Plan;

/// A hook failed.
#[derive(Debug, thiserror::Error)]
pub enum HookError {
    /// It could not be started.
    #[error("{kind} hook {path}: {source}")]
    Spawn {
        /// Which hook list.
        kind: &'static str,
        /// The program.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// It exited unsuccessfully or ran past its timeout.
    #[error("{kind} hook {path}: {status}")]
    Failed {
        /// Which hook list.
        kind: &'static str,
        /// The program.
        path: PathBuf,
        /// How it ended.
        status: String,
    },
}

/// The runtime-spec state JSON given to hooks.
pub(crate) fn state_json(plan: &Plan, id: &str, pid: i32, status: &str) -> String {
    serde_json::json!({
        "ociVersion": plan.spec.version(),
        "id": id,
        "status": status,
        "pid": pid,
        "bundle": plan.bundle,
        "annotations": plan.spec.annotations().clone().unwrap_or_default(),
    })
    .to_string()
}

/// Runs each hook in order; stops at the first failure.
pub(crate) fn run_all(kind: &'static str, hooks: &[Hook], state: &str) -> Result<(), HookError> {
    hooks.iter().try_for_each(|h| run(kind, h, state))
}

fn run(kind: &'static str, hook: &Hook, state: &str) -> Result<(), HookError> {
    let path = hook.path().clone();
    let spawn_err = |source| HookError::Spawn {
        kind,
        path: path.clone(),
        source,
    };
    let mut cmd = Command::new(&path);
    if let Some((arg0, rest)) = hook.args().as_deref().and_then(<[String]>::split_first) {
        cmd.arg0(arg0).args(rest);
    }
    cmd.env_clear().envs(
        hook.env()
            .iter()
            .flatten()
            .filter_map(|e| e.split_once('=')),
    );
    cmd.stdin(Stdio::piped());
    let mut child = cmd.spawn().map_err(spawn_err)?;
    if let Some(mut stdin) = child.stdin.take() {
        let _ = stdin.write_all(state.as_bytes());
    }
    let timeout = hook
        .timeout()
        .and_then(|t| u64::try_from(t).ok())
        .map(Duration::from_secs);
    let started = Instant::now();
    loop {
        if let Some(status) = child.try_wait().map_err(spawn_err)? {
            if status.success() {
                return Ok(());
            }
            return Err(HookError::Failed {
                kind,
                path,
                status: status.to_string(),
            });
        }
        if timeout.is_some_and(|t| started.elapsed() > t) {
            let _ = child.kill();
            let _ = child.wait();
            return Err(HookError::Failed {
                kind,
                path,
                status: "timed out".into(),
            });
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}
