//! `sifcri oci`: glue to the `rootless` library, one small function per verb
//! (`bundle` holds `oci mount`/`oci umount`).

mod bundle;

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use rootless::{Container, CreateOptions, ExecOptions};

use crate::cli::oci::{CreateArgs, ExecArgs, ListArgs, OciArgs, OciCommand, UpdateArgs};

/// rootless errors already carry their cause in their message: hand anyhow the text
/// only, so `{:#}` does not print the cause twice.
trait Flat<T> {
    fn flat(self) -> anyhow::Result<T>;
}

impl<T> Flat<T> for Result<T, rootless::Error> {
    fn flat(self) -> anyhow::Result<T> {
        self.map_err(|e| anyhow::Error::msg(e.to_string()))
    }
}

/// Runs `sifcri oci`.
pub fn run(args: OciArgs) -> anyhow::Result<ExitCode> {
    let root = args.root.unwrap_or_else(rootless::default_state_root);
    let code = match args.command {
        OciCommand::Create(a) => Container::create(&create_options(root, a))
            .flat()
            .map(|_| ExitCode::SUCCESS)?,
        OciCommand::Start(a) => Container::load(&root, &a.id)
            .flat()?
            .start()
            .flat()
            .map(|()| ExitCode::SUCCESS)?,
        OciCommand::State(a) => {
            let state = Container::load(&root, &a.id).flat()?.state();
            println!("{}", serde_json::to_string_pretty(&state)?);
            ExitCode::SUCCESS
        }
        OciCommand::Kill(a) => {
            let signal = rootless::parse_signal(&a.signal).flat()?;
            Container::load(&root, &a.id)
                .flat()?
                .kill(signal, a.all)
                .flat()?;
            ExitCode::SUCCESS
        }
        OciCommand::Delete(a) => Container::load(&root, &a.id)
            .flat()?
            .delete(a.force)
            .flat()
            .map(|()| ExitCode::SUCCESS)?,
        OciCommand::Run(a) => exit_code(Container::run(&create_options(root, a)).flat()?),
        OciCommand::List(a) => list(&root, &a)?,
        OciCommand::Exec(a) => exec(&root, a)?,
        OciCommand::Mount(a) => bundle::mount(&a.image, &a.bundle)?,
        OciCommand::Umount(a) => bundle::umount(&a.bundle)?,
        OciCommand::Update(a) => update(&root, &a)?,
    };
    Ok(code)
}

fn create_options(root: PathBuf, a: CreateArgs) -> CreateOptions {
    CreateOptions {
        root,
        id: a.id,
        bundle: a.bundle,
        console_socket: a.console_socket,
        pid_file: a.pid_file,
    }
}

fn exit_code(code: i32) -> ExitCode {
    ExitCode::from(u8::try_from(code).unwrap_or(255))
}

fn list(root: &std::path::Path, a: &ListArgs) -> anyhow::Result<ExitCode> {
    let all = Container::list(root).flat()?;
    if a.quiet {
        all.iter().for_each(|c| println!("{}", c.id()));
    } else if a.format == "json" {
        let docs: Vec<_> = all.iter().map(Container::state).collect();
        println!("{}", serde_json::to_string_pretty(&docs)?);
    } else {
        println!(
            "{:<24} {:<8} {:<10} {:<12} BUNDLE",
            "ID", "PID", "STATUS", "CREATED"
        );
        for c in &all {
            let pid = c.pid().map_or("-".into(), |p| p.to_string());
            println!(
                "{:<24} {:<8} {:<10} {:<12} {}",
                c.id(),
                pid,
                c.status(),
                c.created(),
                c.bundle().display()
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn exec(root: &std::path::Path, a: ExecArgs) -> anyhow::Result<ExitCode> {
    let user = a.user.as_deref().map(parse_user).transpose()?;
    let opts = ExecOptions {
        args: a.command,
        env: a.env,
        cwd: a.cwd,
        user,
        tty: a.tty,
        console_socket: a.console_socket,
    };
    let container = Container::load(root, &a.id).flat()?;
    if !a.detach && a.pid_file.is_none() {
        return Ok(exit_code(container.exec(&opts).flat()?));
    }
    let pid = container.exec_spawn(&opts).flat()?;
    if let Some(path) = &a.pid_file {
        std::fs::write(path, pid.to_string())
            .with_context(|| format!("write {}", path.display()))?;
    }
    if a.detach {
        return Ok(ExitCode::SUCCESS);
    }
    Ok(exit_code(rootless::wait_code(pid).flat()?))
}

fn update(root: &std::path::Path, a: &UpdateArgs) -> anyhow::Result<ExitCode> {
    let text = if a.resources.as_os_str() == "-" {
        std::io::read_to_string(std::io::stdin()).context("read resources from stdin")?
    } else {
        std::fs::read_to_string(&a.resources)
            .with_context(|| format!("read {}", a.resources.display()))?
    };
    let resources: rootless::oci_spec::runtime::LinuxResources = serde_json::from_str(&text)
        .context("invalid resources JSON (runtime spec linux.resources)")?;
    Container::load(root, &a.id)
        .flat()?
        .update(&resources)
        .flat()?;
    Ok(ExitCode::SUCCESS)
}

fn parse_user(text: &str) -> anyhow::Result<(u32, Option<u32>)> {
    let (uid, gid) = text
        .split_once(':')
        .map_or((text, None), |(u, g)| (u, Some(g)));
    let uid = uid
        .parse()
        .with_context(|| format!("--user {text:?}: uid must be a number"))?;
    let gid = gid
        .map(str::parse)
        .transpose()
        .with_context(|| format!("--user {text:?}: gid must be a number"))?;
    Ok((uid, gid))
}
