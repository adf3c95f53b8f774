//! `sifcri-runtime`: the whole runtime. `sifcri` (src/main.rs) hands it every command
//! line but the plain `mount`/`umount` ones; it parses them with clap and hands each verb
//! to `commands`. The daemon, shims and monitors re-execute this binary (`/proc/self/exe`).

use clap::Parser;

fn main() -> std::process::ExitCode {
    let cli = sifcri::cli::Cli::parse();
    // `serve` initialises logging itself, from its config file's log_level.
    if !matches!(cli.command, sifcri::cli::Command::Serve(_)) || cli.log_level.is_some() {
        sifcri::logging::init(cli.log_level.as_deref());
    }
    match sifcri::commands::run(cli) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("sifcri: {err:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
