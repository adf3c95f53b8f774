//! The five capability sets of `process.capabilities`: the bounding set is dropped
//! before the uid changes, the other sets are applied after it (keepcaps on).

use std::collections::HashSet;
use std::str::FromStr;

use caps::{CapSet, Capability, CapsHashSet};
use oci_spec::runtime::{Capabilities, LinuxCapabilities};

use crate::process::SetupError;

/// Converts a spec capability set to the `caps` crate's.
pub(crate) fn convert(set: Option<&Capabilities>) -> CapsHashSet {
    set.into_iter()
        .flatten()
        .filter_map(|c| serde_json::to_value(c).ok())
        .filter_map(|v| v.as_str().and_then(|s| Capability::from_str(s).ok()))
        .collect::<HashSet<_>>()
}

/// Drops every capability not in the bounding set (no-op without a capabilities object).
pub(crate) fn drop_bounding(spec: Option<&LinuxCapabilities>) -> Result<(), SetupError> {
    let Some(spec) = spec else { return Ok(()) };
    let keep = convert(spec.bounding().as_ref());
    for cap in caps::all() {
        if !keep.contains(&cap) && caps::has_cap(None, CapSet::Bounding, cap).unwrap_or(false) {
            caps::drop(None, CapSet::Bounding, cap)?;
        }
    }
    Ok(())
}

/// Sets the inheritable, effective, permitted and ambient sets, in an order the
/// kernel accepts (a set may only shrink below the ones it depends on last).
pub(crate) fn apply(spec: Option<&LinuxCapabilities>) -> Result<(), SetupError> {
    let Some(spec) = spec else { return Ok(()) };
    let supported = supported();
    let only = |s: Option<&Capabilities>| -> CapsHashSet {
        convert(s).intersection(&supported).copied().collect()
    };
    caps::set(
        None,
        CapSet::Inheritable,
        &only(spec.inheritable().as_ref()),
    )?;
    caps::set(None, CapSet::Effective, &only(spec.effective().as_ref()))?;
    caps::set(None, CapSet::Permitted, &only(spec.permitted().as_ref()))?;
    caps::clear(None, CapSet::Ambient)?;
    // The kernel only lets a capability into the ambient set when it is both permitted
    // and inheritable; like runc, the others are left out rather than failing the start.
    let allowed: CapsHashSet = only(spec.permitted().as_ref())
        .intersection(&only(spec.inheritable().as_ref()))
        .copied()
        .collect();
    for cap in only(spec.ambient().as_ref()).intersection(&allowed) {
        caps::raise(None, CapSet::Ambient, *cap)?;
    }
    Ok(())
}

/// The highest capability number this kernel knows.
pub(crate) fn last_cap() -> u8 {
    std::fs::read_to_string("/proc/sys/kernel/cap_last_cap")
        .ok()
        .and_then(|s| s.trim().parse::<u8>().ok())
        .unwrap_or(40)
        .min(63)
}

/// The capabilities this kernel knows.
fn supported() -> CapsHashSet {
    let last = last_cap();
    caps::all()
        .into_iter()
        .filter(|c| c.index() <= last)
        .collect()
}
