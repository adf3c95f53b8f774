//! The `sifcri` binary: parses the command line and hands each verb to `commands`.

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
