//! `sifcri sif`: glue from the parsed command line to `crate::sif`.

use std::fs::File;
use std::io::Write;
use std::process::ExitCode;

use anyhow::{bail, Context};

use crate::cli::sif::{AddArgs, NewArgs, SifArgs, SifCommand};
use crate::sif::{
    self, siftool, CreateOptions, CryptoMessageInfo, DataType, DeleteOptions, DescriptorId,
    ModifyOptions, ObjectInput, PartitionInfo, Sif, SignatureInfo,
};

/// Runs `sifcri sif`.
pub fn run(args: SifArgs) -> anyhow::Result<ExitCode> {
    let out = |bytes: Vec<u8>| std::io::stdout().lock().write_all(&bytes);
    match args.command {
        SifCommand::New(a) => new(a)?,
        SifCommand::Add(a) => add(a)?,
        SifCommand::Del(a) => {
            let opts = DeleteOptions {
                time: a.time,
                zero: a.zero,
                compact: a.compact,
            };
            Sif::open_rw(&a.sif)?.delete(DescriptorId(a.id), &opts)?;
        }
        SifCommand::Setprim(a) => {
            let opts = ModifyOptions { time: a.time };
            Sif::open_rw(&a.sif)?.set_primary(DescriptorId(a.id), &opts)?;
        }
        SifCommand::List(a) => out(siftool::list(&Sif::open(&a.sif)?))?,
        SifCommand::Header(a) => out(siftool::header(&Sif::open(&a.sif)?))?,
        SifCommand::Info(a) => {
            let image = Sif::open(&a.sif)?;
            out(siftool::info(image.find(DescriptorId(a.id))?)?)?;
        }
        SifCommand::Dump(a) => {
            let image = Sif::open(&a.sif)?;
            let d = image.find(DescriptorId(a.id))?;
            image.copy_object(d, &mut std::io::stdout().lock())?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn new(a: NewArgs) -> anyhow::Result<()> {
    let mut opts = if a.deterministic {
        CreateOptions::deterministic()
    } else {
        CreateOptions::default()
    };
    if let Some(u) = &a.uuid {
        opts.uuid = Some(sif::parse_uuid(u)?);
    }
    opts.time = a.time.or(opts.time);
    opts.launch_script = a.launch_script.unwrap_or_default().into_bytes();
    opts.descriptor_capacity = a.descriptors;
    sif::create(&a.sif, &opts, Vec::new())?;
    Ok(())
}

fn add(a: AddArgs) -> anyhow::Result<()> {
    let file = File::open(&a.object).with_context(|| format!("opening {}", a.object.display()))?;
    let mut input = ObjectInput::new(a.datatype, file);
    input = if a.groupid == 0 {
        input.no_group()
    } else {
        input.group(a.groupid)
    };
    if let Some(id) = a.link {
        input = input.link(id);
    }
    if let Some(id) = a.linkgroup {
        input = input.link_group(id);
    }
    if let Some(n) = a.alignment {
        input = input.alignment(u64::try_from(n).unwrap_or(0));
    }
    if let Some(name) = &a.filename {
        input = input.name(name.as_bytes());
    }
    input = typed_metadata(input, &a)?;
    Sif::open_rw(&a.sif)?.add(input, &ModifyOptions { time: a.time })?;
    Ok(())
}

/// The type-specific flags, required as `siftool` requires them.
fn typed_metadata<'a>(input: ObjectInput<'a>, a: &AddArgs) -> anyhow::Result<ObjectInput<'a>> {
    Ok(match a.datatype {
        DataType::Partition => {
            let (Some(part), Some(fs), Some(arch)) = (a.parttype, a.partfs, a.partarch) else {
                bail!(
                    "with partition datatype, --partfs, --parttype and --partarch must be passed"
                );
            };
            input.partition(PartitionInfo { fs, part, arch })
        }
        DataType::Signature => {
            let entity = a.signentity.as_deref().unwrap_or("");
            let fp = decode_hex(entity).context("failed to decode signing entity fingerprint")?;
            let hash = a.signhash.context("invalid hash type: 0")?;
            if fp.len() != 20 {
                bail!(
                    "invalid signing entity fingerprint length: got {}, want 20",
                    fp.len()
                );
            }
            input.signature(SignatureInfo::new(hash, &fp))
        }
        DataType::CryptoMessage => match (a.msgformat, a.msgtype) {
            (Some(format), Some(message)) => {
                input.crypto_message(CryptoMessageInfo { format, message })
            }
            _ => input,
        },
        DataType::Sbom => input.sbom(
            a.sbomformat
                .context("with SBOM datatype, --sbomformat must be passed")?,
        ),
        _ => input,
    })
}

fn decode_hex(s: &str) -> anyhow::Result<Vec<u8>> {
    if s.len() % 2 != 0 || !s.bytes().all(|b| b.is_ascii_hexdigit()) {
        bail!("invalid hex string {s:?}");
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).context("invalid hex"))
        .collect()
}
