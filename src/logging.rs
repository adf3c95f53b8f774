//! Logging set-up: `tracing` to stderr, filtered by `--log-level` or `SIFCRI_LOG`.

use tracing_subscriber::EnvFilter;

/// Installs the global subscriber. `level` wins over the `SIFCRI_LOG` variable;
/// without either, warnings and errors are shown.
pub fn init(level: Option<&str>) {
    let filter = match level {
        Some(l) => EnvFilter::new(l),
        None => EnvFilter::try_from_env("SIFCRI_LOG").unwrap_or_else(|_| EnvFilter::new("warn")),
    };
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}
