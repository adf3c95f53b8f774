//! `linux.resources.hugepageLimits`: the hugetlb controller, a v1 hierarchy of its own
//! (`hugetlb.<size>.limit_in_bytes`) or the cgroup2 tree (`hugetlb.<size>.max`), which
//! on hybrid hosts may hold it while the other controllers are v1.
//!
//! Input: the limits and the container's cgroup path. Output: the limit files written;
//! a warning when the host has no hugetlb controller at all.

use std::path::{Path, PathBuf};

use oci_spec::runtime::LinuxHugepageLimit;

use super::{enable_controllers, make_dir, mounts, own_cgroup, read, resolve, write, CgroupError};

/// Where a hybrid host keeps hugetlb, if in its cgroup2 tree: the container's
/// directory there (made, with the controller enabled down to it).
pub(super) fn hybrid_dir(rel: &Path) -> Result<Option<PathBuf>, CgroupError> {
    let Some((_, at, _)) = mounts().into_iter().find(|(fs, _, _)| fs == "cgroup2") else {
        return Ok(None);
    };
    let has = read(&at.join("cgroup.controllers"))
        .is_some_and(|c| c.split_whitespace().any(|c| c == "hugetlb"));
    if !has {
        return Ok(None);
    }
    let dir = resolve(&at, &own_cgroup(""), rel);
    make_dir(&dir)?;
    enable_controllers(&at, &dir, &["hugetlb"]);
    Ok(Some(dir))
}

/// Writes each limit to `dir` (`v2`: the cgroup2 file names).
pub(super) fn limits(
    dir: &Path,
    v2: bool,
    limits: &[LinuxHugepageLimit],
) -> Result<(), CgroupError> {
    for l in limits {
        let size = l.page_size();
        if size.is_empty() || !size.chars().all(|c| c.is_ascii_alphanumeric()) {
            return Err(CgroupError::Invalid(format!(
                "linux.resources.hugepageLimits: page size {size:?} is not like 2MB"
            )));
        }
        let file = if v2 {
            dir.join(format!("hugetlb.{size}.max"))
        } else {
            dir.join(format!("hugetlb.{size}.limit_in_bytes"))
        };
        if !file.exists() {
            return Err(CgroupError::Invalid(format!(
                "linux.resources.hugepageLimits: this kernel has no {size} huge pages ({} missing)",
                file.display()
            )));
        }
        write(&file, &l.limit().max(0).to_string())?;
    }
    Ok(())
}

/// The warning when limits are asked for and the container has no hugetlb cgroup.
pub(super) fn absent() -> String {
    "linux.resources.hugepageLimits: no hugetlb cgroup for this container (the host has no \
     hugetlb controller, or the container was created without hugepage limits): not limited"
        .into()
}
