//! `sifcri sif …`: arguments of the SIF verbs, named and ordered like the reference
//! `siftool` (`add <sif> <object>`, `del|info|dump|setprim <id> <sif>`). Type flags
//! take `siftool`'s numbers or names (`--datatype 4` or `--datatype partition`).

use std::path::PathBuf;

use clap::{Args, Subcommand};

use crate::sif::{Arch, DataType, FormatType, FsType, HashType, MessageType, PartType, SbomFormat};

/// Arguments of `sifcri sif`.
#[derive(Debug, Args)]
pub struct SifArgs {
    /// The SIF verb.
    #[command(subcommand)]
    pub command: SifCommand,
}

/// The SIF verbs.
#[derive(Debug, Subcommand)]
pub enum SifCommand {
    /// Create a new, empty SIF image.
    New(NewArgs),
    /// Add a data object to a SIF image.
    Add(AddArgs),
    /// Delete a data object from a SIF image.
    Del(DelArgs),
    /// List data objects of a SIF image.
    List(PathArgs),
    /// Display info about a data object of a SIF image.
    Info(IdArgs),
    /// Write a data object of a SIF image to stdout.
    Dump(IdArgs),
    /// Display the global header of a SIF image.
    Header(PathArgs),
    /// Set the primary system partition of a SIF image.
    Setprim(SetprimArgs),
}

/// A SIF image path.
#[derive(Debug, Args)]
pub struct PathArgs {
    /// The SIF image.
    pub sif: PathBuf,
}

/// An object id and a SIF image path.
#[derive(Debug, Args)]
pub struct IdArgs {
    /// The data object id.
    pub id: u32,
    /// The SIF image.
    pub sif: PathBuf,
}

/// Arguments of `sifcri sif new`.
#[derive(Debug, Args)]
pub struct NewArgs {
    /// The SIF image to create (replaced atomically if it exists).
    pub sif: PathBuf,
    /// Nil UUID and zero times, for byte-reproducible images.
    #[arg(long)]
    pub deterministic: bool,
    /// Image UUID (default: random, or nil with --deterministic).
    #[arg(long)]
    pub uuid: Option<String>,
    /// Image time in seconds since the epoch (default: now, or zero with --deterministic).
    #[arg(long, allow_hyphen_values = true)]
    pub time: Option<i64>,
    /// Launch script (under 32 bytes).
    #[arg(long)]
    pub launch_script: Option<String>,
    /// Number of descriptor slots.
    #[arg(long, default_value_t = 48)]
    pub descriptors: u32,
}

/// Arguments of `sifcri sif add`.
#[derive(Debug, Args)]
pub struct AddArgs {
    /// The SIF image to modify.
    pub sif: PathBuf,
    /// The file holding the object's data.
    pub object: PathBuf,
    /// Type of data: 1-Deffile, 2-EnvVar, 3-Labels, 4-Partition, 5-Signature, 6-GenericJSON,
    /// 7-Generic, 8-CryptoMessage, 9-SBOM, 10-OCI.RootIndex, 11-OCI.Blob (number or name).
    #[arg(long, value_parser = parse_with(DataType::from_name, "datatype"))]
    pub datatype: DataType,
    /// Partition type (with partition): 1-System, 2-PrimSys, 3-Data, 4-Overlay.
    #[arg(long, value_parser = parse_with(PartType::from_name, "partition type"))]
    pub parttype: Option<PartType>,
    /// Partition file system (with partition): 1-Squash, 2-Ext3, 3-ImmuObj, 4-Raw, 5-EncryptedSquashfs.
    #[arg(long, value_parser = parse_with(FsType::from_name, "file system type"))]
    pub partfs: Option<FsType>,
    /// Partition architecture (with partition): 1-386, 2-amd64, 3-arm, 4-arm64, 5-ppc64,
    /// 6-ppc64le, 7-mips, 8-mipsle, 9-mips64, 10-mips64le, 11-s390x, 12-riscv64, 13-loong64.
    #[arg(long, value_parser = parse_with(Arch::from_name, "architecture"))]
    pub partarch: Option<Arch>,
    /// Signature hash (with signature): 1-SHA256, 2-SHA384, 3-SHA512, 4-BLAKE2s_256, 5-BLAKE2b_256.
    #[arg(long, value_parser = parse_with(HashType::from_name, "hash type"))]
    pub signhash: Option<HashType>,
    /// Signing entity fingerprint, 40 hex digits (with signature).
    #[arg(long)]
    pub signentity: Option<String>,
    /// SBOM format (with SBOM): cyclonedx-json, cyclonedx-xml, github-json, spdx-json,
    /// spdx-rdf, spdx-tag-value, spdx-yaml, syft-json.
    #[arg(long, value_parser = parse_with(SbomFormat::from_name, "SBOM format"))]
    pub sbomformat: Option<SbomFormat>,
    /// Message format (with crypto message): openpgp, pem.
    #[arg(long, requires = "msgtype", value_parser = parse_with(FormatType::from_name, "message format"))]
    pub msgformat: Option<FormatType>,
    /// Message type (with crypto message): clear-signature, rsa-oaep.
    #[arg(long, requires = "msgformat", value_parser = parse_with(MessageType::from_name, "message type"))]
    pub msgtype: Option<MessageType>,
    /// Object group (0: none).
    #[arg(long, default_value_t = 0)]
    pub groupid: u32,
    /// Link to this object id.
    #[arg(long, alias = "linkid")]
    pub link: Option<u32>,
    /// Link to this object group.
    #[arg(long, conflicts_with = "link")]
    pub linkgroup: Option<u32>,
    /// Alignment in bytes (default: 4096 for partitions, none otherwise; 0 or less: none).
    #[arg(long, allow_hyphen_values = true)]
    pub alignment: Option<i64>,
    /// Object name (at most 128 bytes).
    #[arg(long)]
    pub filename: Option<String>,
    /// Modification time in seconds since the epoch (default: now, or zero for a
    /// deterministic image).
    #[arg(long, allow_hyphen_values = true)]
    pub time: Option<i64>,
}

/// Arguments of `sifcri sif del`.
#[derive(Debug, Args)]
pub struct DelArgs {
    /// The data object id.
    pub id: u32,
    /// The SIF image.
    pub sif: PathBuf,
    /// Overwrite the object's data with zeros.
    #[arg(long)]
    pub zero: bool,
    /// Truncate the file after the last remaining object.
    #[arg(long)]
    pub compact: bool,
    /// Modification time in seconds since the epoch.
    #[arg(long, allow_hyphen_values = true)]
    pub time: Option<i64>,
}

/// Arguments of `sifcri sif setprim`.
#[derive(Debug, Args)]
pub struct SetprimArgs {
    /// The partition's object id.
    pub id: u32,
    /// The SIF image.
    pub sif: PathBuf,
    /// Modification time in seconds since the epoch.
    #[arg(long, allow_hyphen_values = true)]
    pub time: Option<i64>,
}

/// A clap value parser from a `from_name` function.
fn parse_with<T>(
    f: fn(&str) -> Option<T>,
    what: &'static str,
) -> impl Fn(&str) -> Result<T, String> + Clone {
    move |s| f(s).ok_or_else(|| format!("invalid {what} {s:?}"))
}
