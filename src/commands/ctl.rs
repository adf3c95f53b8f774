//! Glue for `sifcri ctl`: one async runtime, one connection, one verb.

use std::process::ExitCode;

use crate::cli::ctl::{CtlArgs, CtlCommand};
use crate::cri::ctl::Ctl;

/// Runs a `ctl` verb.
pub fn ctl(args: CtlArgs) -> anyhow::Result<ExitCode> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(async move {
        let mut ctl = Ctl::connect(&args.endpoint).await?;
        let code = match args.command {
            CtlCommand::Run { rm, image, command } => ctl.run(&image, command, rm).await?,
            CtlCommand::Ps => ctl.ps().await.map(|()| 0)?,
            CtlCommand::Logs { id } => ctl.logs(&id).await.map(|()| 0)?,
            CtlCommand::Exec {
                id,
                timeout,
                command,
            } => ctl.exec(&id, command, timeout).await?,
            CtlCommand::Rm { ids } => ctl.rm(&ids).await.map(|()| 0)?,
        };
        Ok(ExitCode::from(u8::try_from(code).unwrap_or(1)))
    })
}
