//! `linux.seccomp` compiled to BPF in-process with libseccomp, and loaded right before
//! the user's program runs; [`default_profile`] is the profile for CRI RuntimeDefault.

mod default;

use libseccomp::{
    ScmpAction, ScmpArch, ScmpArgCompare, ScmpCompareOp, ScmpFilterContext, ScmpSyscall,
};
use oci_spec::runtime::{
    Arch, LinuxSeccomp, LinuxSeccompAction, LinuxSeccompOperator, LinuxSyscall,
};

pub use default::default_profile;

/// A seccomp profile that cannot be compiled or loaded.
#[derive(Debug, thiserror::Error)]
pub enum SeccompError {
    /// libseccomp refused a step.
    #[error("seccomp: {what}: {source}")]
    Lib {
        /// What we asked for.
        what: String,
        /// The cause.
        source: libseccomp::error::SeccompError,
    },
    /// The profile asks for something we do not support.
    #[error("seccomp: {0}")]
    Unsupported(String),
}

fn lib(what: impl Into<String>) -> impl FnOnce(libseccomp::error::SeccompError) -> SeccompError {
    let what = what.into();
    move |source| SeccompError::Lib { what, source }
}

/// A compiled filter, ready to load.
pub struct Filter(ScmpFilterContext);

impl std::fmt::Debug for Filter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Filter")
    }
}

/// Compiles a spec profile. Syscall names this architecture lacks are skipped.
pub fn compile(spec: &LinuxSeccomp) -> Result<Filter, SeccompError> {
    let default = action(spec.default_action(), spec.default_errno_ret())?;
    let mut ctx = ScmpFilterContext::new(default).map_err(lib("create filter"))?;
    // no_new_privs is the spec's choice (process.noNewPrivileges), not libseccomp's.
    ctx.set_ctl_nnp(false).map_err(lib("disable nnp"))?;
    for arch in spec.architectures().iter().flatten() {
        if let Some(a) = arch_of(*arch) {
            ctx.add_arch(a).map_err(lib(format!("add arch {arch:?}")))?;
        }
    }
    for rule in spec.syscalls().iter().flatten() {
        add_rule(&mut ctx, rule, default)?;
    }
    Ok(Filter(ctx))
}

fn add_rule(
    ctx: &mut ScmpFilterContext,
    rule: &LinuxSyscall,
    default: ScmpAction,
) -> Result<(), SeccompError> {
    let act = action(rule.action(), rule.errno_ret())?;
    if act == default {
        return Ok(());
    }
    let conds: Vec<ScmpArgCompare> = rule
        .args()
        .iter()
        .flatten()
        .map(|a| {
            let op = match a.op() {
                LinuxSeccompOperator::ScmpCmpNe => ScmpCompareOp::NotEqual,
                LinuxSeccompOperator::ScmpCmpLt => ScmpCompareOp::Less,
                LinuxSeccompOperator::ScmpCmpLe => ScmpCompareOp::LessOrEqual,
                LinuxSeccompOperator::ScmpCmpEq => ScmpCompareOp::Equal,
                LinuxSeccompOperator::ScmpCmpGe => ScmpCompareOp::GreaterEqual,
                LinuxSeccompOperator::ScmpCmpGt => ScmpCompareOp::Greater,
                LinuxSeccompOperator::ScmpCmpMaskedEq => ScmpCompareOp::MaskedEqual(a.value()),
            };
            let datum = if matches!(op, ScmpCompareOp::MaskedEqual(_)) {
                a.value_two().unwrap_or(0)
            } else {
                a.value()
            };
            ScmpArgCompare::new(u32::try_from(a.index()).unwrap_or(u32::MAX), op, datum)
        })
        .collect();
    for name in rule.names() {
        let Ok(sys) = ScmpSyscall::from_name(name) else {
            tracing::debug!(
                name,
                "seccomp: syscall unknown on this architecture, skipped"
            );
            continue;
        };
        if conds.is_empty() {
            ctx.add_rule(act, sys)
        } else {
            ctx.add_rule_conditional(act, sys, &conds)
        }
        .map_err(lib(format!("rule for {name}")))?;
    }
    Ok(())
}

fn action(a: LinuxSeccompAction, errno: Option<u32>) -> Result<ScmpAction, SeccompError> {
    let errno = i32::try_from(errno.unwrap_or(libc::EPERM as u32)).unwrap_or(libc::EPERM);
    Ok(match a {
        LinuxSeccompAction::ScmpActKill | LinuxSeccompAction::ScmpActKillThread => {
            ScmpAction::KillThread
        }
        LinuxSeccompAction::ScmpActKillProcess => ScmpAction::KillProcess,
        LinuxSeccompAction::ScmpActTrap => ScmpAction::Trap,
        LinuxSeccompAction::ScmpActErrno => ScmpAction::Errno(errno),
        LinuxSeccompAction::ScmpActTrace => ScmpAction::Trace(u16::try_from(errno).unwrap_or(0)),
        LinuxSeccompAction::ScmpActLog => ScmpAction::Log,
        LinuxSeccompAction::ScmpActAllow => ScmpAction::Allow,
        LinuxSeccompAction::ScmpActNotify => {
            return Err(SeccompError::Unsupported(
                "SCMP_ACT_NOTIFY needs a listener, which is not supported".into(),
            ))
        }
    })
}

fn arch_of(a: Arch) -> Option<ScmpArch> {
    Some(match a {
        Arch::ScmpArchX86 => ScmpArch::X86,
        Arch::ScmpArchX86_64 => ScmpArch::X8664,
        Arch::ScmpArchX32 => ScmpArch::X32,
        Arch::ScmpArchAarch64 => ScmpArch::Aarch64,
        Arch::ScmpArchArm => ScmpArch::Arm,
        _ => return None,
    })
}

impl Filter {
    /// The BPF program, for a caller that loads it itself (with `prctl`, in a child
    /// that may not allocate).
    pub(crate) fn program(&self) -> Result<Vec<libc::sock_filter>, SeccompError> {
        use std::io::{Read, Seek};
        let io = |what: &str, e: std::io::Error| SeccompError::Unsupported(format!("{what}: {e}"));
        let flags = nix::sys::memfd::MFdFlags::MFD_CLOEXEC;
        let fd = nix::sys::memfd::memfd_create(c"seccomp-bpf", flags)
            .map_err(|e| io("memfd", e.into()))?;
        self.0.export_bpf(&fd).map_err(lib("export filter"))?;
        let mut file = std::fs::File::from(fd);
        let mut bytes = Vec::new();
        file.rewind()
            .and_then(|()| file.read_to_end(&mut bytes))
            .map_err(|e| io("read the exported filter", e))?;
        Ok(bytes
            .chunks_exact(8)
            .map(|c| libc::sock_filter {
                code: u16::from_ne_bytes([c[0], c[1]]),
                jt: c[2],
                jf: c[3],
                k: u32::from_ne_bytes([c[4], c[5], c[6], c[7]]),
            })
            .collect())
    }
}

/// Loads a compiled filter into the calling process.
pub(crate) fn load(filter: &Filter) -> Result<(), SeccompError> {
    filter.0.load().map_err(lib("load filter"))
}
