//! `sifcri pull|push|images|rmi|image …`: glue to [`crate::image`], with progress
//! bars on stderr.

use std::process::ExitCode;
use std::sync::Mutex;

use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};

use crate::cli::image::{
    ImageArgs, ImageCommand, ImagesArgs, PullArgs, PushArgs, RegistryArgs, RmiArgs, StoreArgs,
};
use crate::image::registry::manifest::Platform;
use crate::image::registry::{Auth, Client, RegistryConfig};
use crate::image::{self, Progress, PullOptions, Store};

fn store(args: &StoreArgs) -> anyhow::Result<Store> {
    let root = args.root.clone().unwrap_or_else(Store::default_root);
    Ok(Store::open(&root)?)
}

fn client(args: &RegistryArgs) -> anyhow::Result<(Client, Auth)> {
    let config: RegistryConfig = match &args.registry_config {
        Some(p) => serde_json::from_slice(
            &std::fs::read(p).with_context(|| format!("reading {}", p.display()))?,
        )
        .with_context(|| format!("parsing {}", p.display()))?,
        None => RegistryConfig::default(),
    };
    let auth = match &args.username {
        Some(u) => Auth::Basic {
            username: u.clone(),
            password: args
                .password
                .clone()
                .or_else(|| std::env::var("SIFCRI_PASSWORD").ok())
                .unwrap_or_default(),
        },
        None => Auth::Anonymous,
    };
    Ok((Client::new(config), auth))
}

/// Runs `sifcri pull`.
pub fn pull(args: PullArgs) -> anyhow::Result<ExitCode> {
    let store = store(&args.store)?;
    let (client, auth) = client(&args.registry)?;
    let platform = args.platform.as_deref().map(parse_platform).transpose()?;
    let bars = Bars(Mutex::new(None), args.quiet);
    let opts = PullOptions {
        auth,
        platform,
        progress: &bars,
    };
    let rec = image::pull(&store, &client, &args.reference, &opts)?;
    if let Some(out) = &args.output {
        store.export(&rec.id, out)?;
    }
    println!("{}", rec.id);
    Ok(ExitCode::SUCCESS)
}

fn parse_platform(s: &str) -> anyhow::Result<Platform> {
    let mut it = s.split('/');
    match (it.next(), it.next(), it.next()) {
        (Some(os), Some(arch), variant) => Ok(Platform {
            os: os.into(),
            architecture: arch.into(),
            variant: variant.map(Into::into),
        }),
        _ => anyhow::bail!("invalid platform {s:?}: want os/arch[/variant]"),
    }
}

/// Runs `sifcri push`.
pub fn push(args: PushArgs) -> anyhow::Result<ExitCode> {
    let (client, auth) = client(&args.registry)?;
    let digest = image::push(&client, &args.file, &args.reference, &auth)?;
    println!("{digest}");
    Ok(ExitCode::SUCCESS)
}

/// Runs `sifcri images`.
pub fn images(args: ImagesArgs) -> anyhow::Result<ExitCode> {
    let list = store(&args.store)?.list()?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&list)?);
        return Ok(ExitCode::SUCCESS);
    }
    println!("{:<50} {:<20} {:>12}", "IMAGE", "ID", "SIZE");
    for rec in list {
        let id = rec.id.get(7..19).unwrap_or(&rec.id);
        let names = if rec.repo_tags.is_empty() {
            rec.repo_digests.clone()
        } else {
            rec.repo_tags.clone()
        };
        for name in names
            .iter()
            .map(String::as_str)
            .chain(names.is_empty().then_some("<none>"))
        {
            println!("{name:<50} {id:<20} {:>12}", rec.size);
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Runs `sifcri rmi`.
pub fn rmi(args: RmiArgs) -> anyhow::Result<ExitCode> {
    let store = store(&args.store)?;
    for name in &args.images {
        let rec = store.remove(name)?;
        println!("removed {name} ({})", rec.id);
    }
    Ok(ExitCode::SUCCESS)
}

/// Runs `sifcri image …`.
pub fn image(args: ImageArgs) -> anyhow::Result<ExitCode> {
    match args.command {
        ImageCommand::Import {
            file,
            name,
            store: s,
        } => println!("{}", store(&s)?.import(&file, name.as_deref())?.id),
        ImageCommand::Export {
            image,
            file,
            store: s,
        } => drop(store(&s)?.export(&image, &file)?),
        ImageCommand::Inspect { image, store: s } => println!(
            "{}",
            serde_json::to_string_pretty(&store(&s)?.lookup(&image)?)?
        ),
    }
    Ok(ExitCode::SUCCESS)
}

/// Progress bars on stderr, one per step.
struct Bars(Mutex<Option<ProgressBar>>, bool);

impl Progress for Bars {
    fn start(&self, what: &str, total: u64) {
        if self.1 {
            return;
        }
        let bar = if total > 0 {
            ProgressBar::new(total)
        } else {
            ProgressBar::new_spinner()
        };
        let style = ProgressStyle::with_template(
            "{msg:14} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec}",
        )
        .map(|s| s.progress_chars("=> "));
        if let (true, Ok(s)) = (total > 0, style) {
            bar.set_style(s);
        }
        bar.set_message(what.to_string());
        *self.0.lock().unwrap_or_else(|p| p.into_inner()) = Some(bar);
    }

    fn advance(&self, n: u64) {
        if let Some(b) = &*self.0.lock().unwrap_or_else(|p| p.into_inner()) {
            b.inc(n);
        }
    }

    fn finish(&self) {
        if let Some(b) = self.0.lock().unwrap_or_else(|p| p.into_inner()).take() {
            b.finish();
        }
    }
}
