//! The last steps before `execve`, shared by a container's init and by `exec`:
//! seccomp, user and groups, capabilities, no_new_privs, umask, cwd, environment.

use std::convert::Infallible;
use std::ffi::CString;
use std::path::{Path, PathBuf};

use nix::sys::stat::Mode;
use nix::unistd::{access, AccessFlags, Gid, Uid};
use oci_spec::runtime::{LinuxSeccomp, Process, User};

use super::SetupError;

/// Applies the process's identity and restrictions, then executes it.
pub(crate) fn exec_user(
    process: &Process,
    seccomp: Option<&LinuxSeccomp>,
) -> Result<Infallible, SetupError> {
    // Before seccomp, which may forbid rt_sigaction.
    crate::sys::reset_signals().map_err(SetupError::sys("reset signal dispositions"))?;
    let exe = resolve_executable(process)?;
    let nnp = process.no_new_privileges().unwrap_or(false);
    let filter = seccomp.map(crate::seccomp::compile).transpose()?;
    if let (false, Some(f)) = (nnp, &filter) {
        crate::seccomp::load(f)?;
    }
    let caps = process.capabilities().as_ref();
    crate::capabilities::drop_bounding(caps)?;
    set_user(process.user())?;
    crate::capabilities::apply(caps)?;
    if nnp {
        nix::sys::prctl::set_no_new_privs().map_err(SetupError::sys("set no_new_privs"))?;
        if let Some(f) = &filter {
            crate::seccomp::load(f)?;
        }
    }
    if let Some(mask) = process.user().umask() {
        nix::sys::stat::umask(Mode::from_bits_truncate(mask));
    }
    let cwd = process.cwd();
    nix::unistd::chdir(cwd).map_err(SetupError::path("chdir", cwd))?;
    crate::sys::cloexec_from(3).map_err(SetupError::sys("close_range"))?;
    let args = cstrings(process.args().as_deref().unwrap_or_default())?;
    let env = cstrings(process.env().as_deref().unwrap_or_default())?;
    let exe_c = cstring(exe.as_os_str().as_encoded_bytes())?;
    nix::unistd::execve(&exe_c, &args, &env).map_err(SetupError::path("execve", &exe))
}

/// Sets groups, gid and uid, keeping capabilities for [`crate::capabilities::apply`].
fn set_user(user: &User) -> Result<(), SetupError> {
    nix::sys::prctl::set_keepcaps(true).map_err(SetupError::sys("prctl keepcaps"))?;
    let groups: Vec<Gid> = user
        .additional_gids()
        .iter()
        .flatten()
        .map(|g| Gid::from_raw(*g))
        .collect();
    match nix::unistd::setgroups(&groups) {
        Ok(()) => {}
        // setgroups is denied in a user namespace with a single gid mapping.
        Err(nix::Error::EPERM) if groups.is_empty() || setgroups_denied() => {}
        Err(e) => {
            return Err(SetupError::Sys {
                op: "setgroups",
                source: e,
            })
        }
    }
    let gid = Gid::from_raw(user.gid());
    nix::unistd::setresgid(gid, gid, gid)
        .map_err(SetupError::sys("setresgid (is the gid mapped?)"))?;
    let uid = Uid::from_raw(user.uid());
    nix::unistd::setresuid(uid, uid, uid)
        .map_err(SetupError::sys("setresuid (is the uid mapped?)"))?;
    nix::sys::prctl::set_keepcaps(false).map_err(SetupError::sys("prctl keepcaps"))
}

fn setgroups_denied() -> bool {
    std::fs::read_to_string("/proc/self/setgroups").is_ok_and(|s| s.trim() == "deny")
}

/// Finds the program to run: a path with a slash as is, else through `PATH` of the
/// process's environment.
pub(crate) fn resolve_executable(process: &Process) -> Result<PathBuf, SetupError> {
    let arg0 = process
        .args()
        .as_ref()
        .and_then(|a| a.first())
        .map_or("", String::as_str);
    if arg0.contains('/') {
        let path = process.cwd().join(arg0);
        return executable(&path)
            .then_some(path)
            .ok_or_else(|| not_found(arg0));
    }
    let env = process.env().as_deref().unwrap_or_default();
    let path_var = env
        .iter()
        .rev()
        .find_map(|e| e.strip_prefix("PATH="))
        .unwrap_or("/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
    path_var
        .split(':')
        .map(|dir| Path::new(dir).join(arg0))
        .find(|p| executable(p))
        .ok_or_else(|| not_found(arg0))
}

fn executable(path: &Path) -> bool {
    path.is_file() && access(path, AccessFlags::X_OK).is_ok()
}

fn not_found(arg0: &str) -> SetupError {
    SetupError::Other(format!(
        "process.args[0]: executable {arg0:?} not found in the container (checked PATH)"
    ))
}

fn cstrings(items: &[String]) -> Result<Vec<CString>, SetupError> {
    items.iter().map(|s| cstring(s.as_bytes())).collect()
}

fn cstring(bytes: &[u8]) -> Result<CString, SetupError> {
    CString::new(bytes)
        .map_err(|_| SetupError::Other("argument or environment contains a NUL byte".into()))
}
