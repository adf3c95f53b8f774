//! The SIF of a converted image: object 1 the squashfs as primary system partition
//! (architecture from the config), object 2 the OCI image config as generic JSON
//! named [`CONFIG_OBJECT_NAME`], object 3 the config's labels (`JSON.Labels`) when it
//! has any. Nil UUID and Go's zero time, as `siftool`'s deterministic mode.

use std::fs::File;
use std::path::Path;

use crate::image::Error;
use crate::sif::{self, Arch, DataType, FsType, ObjectInput, PartType, PartitionInfo, Sif};

/// The name of the object holding the OCI image config.
pub const CONFIG_OBJECT_NAME: &str = "oci-config.json";

/// Writes the SIF at `out` from the squashfs at `sqfs` and `config`.
pub(crate) fn write(sqfs: &Path, config: &[u8], out: &Path) -> Result<(), Error> {
    let doc: serde_json::Value =
        serde_json::from_slice(config).map_err(|e| Error::InvalidManifest {
            what: "image config".into(),
            why: e.to_string(),
        })?;
    let arch = doc
        .get("architecture")
        .and_then(|a| a.as_str())
        .and_then(Arch::from_go_name)
        .unwrap_or_else(Arch::host);
    let part = PartitionInfo {
        fs: FsType::Squashfs,
        part: PartType::PrimarySystem,
        arch,
    };
    let f = File::open(sqfs).map_err(|e| Error::io("opening", sqfs, e))?;
    let labels = doc
        .pointer("/config/Labels")
        .filter(|l| l.as_object().is_some_and(|m| !m.is_empty()));
    let labels = labels.map(|l| serde_json::to_vec(l).unwrap_or_default());
    let mut inputs = vec![
        ObjectInput::new(DataType::Partition, f).partition(part),
        ObjectInput::new(DataType::GenericJson, config).name(CONFIG_OBJECT_NAME),
    ];
    if let Some(l) = &labels {
        inputs.push(ObjectInput::new(DataType::Labels, l.as_slice()));
    }
    sif::create(out, &sif::CreateOptions::deterministic(), inputs)?;
    Ok(())
}

/// The OCI config stored in a converted image's SIF, if it has one.
pub fn read_config(sif: &Sif) -> Result<Option<serde_json::Value>, Error> {
    let Some(d) = sif.descriptors().find(|d| {
        d.datatype() == DataType::GenericJson && d.name() == CONFIG_OBJECT_NAME.as_bytes()
    }) else {
        return Ok(None);
    };
    let bytes = sif.read_object(d)?;
    serde_json::from_slice(&bytes)
        .map(Some)
        .map_err(|e| Error::InvalidManifest {
            what: "image config in the SIF".into(),
            why: e.to_string(),
        })
}
