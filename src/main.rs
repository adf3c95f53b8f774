//! The `sifcri` binary: parses the command line and hands each verb to `commands`.

use clap::Parser;

fn main() -> std::process::ExitCode {
    let cli = sifcri::cli::Cli::parse();
    sifcri::logging::init(cli.log_level.as_deref());
    match sifcri::commands::run(cli) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("sifcri: {err:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
