//! A textual manifest of a tree, made by one shell script run as root or as the test
//! user (an ordinary user's FUSE mount is reachable by that user only): types, modes,
//! owners, sizes, mtimes, device numbers, symlink targets, content hashes (sampled for
//! big sparse files), xattrs, and hard-link groups. Two manifests are compared section
//! by section, so a failure names exactly what differs.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use super::Runner;

const SCRIPT: &str = r#"
set -u
cd "$1" || exit 1
echo '#STAT'
find . -printf '%p\t%y\t%#m\t%U\t%G\t%T@\n'
echo '#SIZE'
find . ! -type d -printf '%p\t%s\n'
echo '#NLINK'
find . ! -type d -printf '%p\t%n\n'
echo '#RDEV'
find . \( -type b -o -type c \) -exec stat --printf '%n\t%t:%T\n' {} +
echo '#LINK'
find . -type l -printf '%p\t%l\n'
echo '#HASH'
find . -type f -size -64M -exec sha256sum {} +
echo '#SPARSE'
find . -type f -size +64M | while read -r f; do
  size=$(stat -c %s "$f"); mid=$((size / 2097152))
  h=$({ head -c 2097152 "$f"; tail -c 2097152 "$f"; dd if="$f" bs=2M skip="$mid" count=1 2>/dev/null; } | sha256sum)
  printf '%s\t%s\n' "$f" "$h"
done
echo '#INODE'
find . -type f -links +1 -printf '%i\t%p\n'
echo '#XATTR'
getfattr -R -h -d -m "$2" -e hex . 2>&1 | awk '/^# file: /{f=substr($0,9); next} NF{print f "\t" $0}'
echo '#END'
"#;

/// One tree's manifest: section name → sorted lines.
#[derive(Debug, Default)]
pub struct Manifest {
    sections: BTreeMap<String, BTreeSet<String>>,
}

impl Manifest {
    /// Runs the script on `dir` as `runner`, listing xattrs whose names match the
    /// regex `xattr_pattern`.
    pub fn of(dir: &Path, runner: &Runner, xattr_pattern: &str) -> Manifest {
        let script = runner.scratch_file("manifest.sh", SCRIPT);
        let out = runner.output(&["sh", &script, &dir.to_string_lossy(), xattr_pattern]);
        assert!(
            out.status.success(),
            "manifest of {}: {out:?}",
            dir.display()
        );
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains("#END"), "manifest cut short: {text}");
        let mut m = Manifest::default();
        let mut current = String::new();
        for line in text.lines() {
            if let Some(name) = line
                .strip_prefix('#')
                .filter(|n| n.chars().all(|c| c.is_ascii_uppercase()))
            {
                current = name.to_owned();
                continue;
            }
            m.sections
                .entry(current.clone())
                .or_default()
                .insert(line.to_owned());
        }
        m.sections.remove("END");
        m.sections
            .insert("INODE".into(), link_groups(m.sections.get("INODE")));
        m
    }

    /// Panics with the first differences of every section that differs.
    pub fn assert_same(&self, other: &Manifest, what: &str) {
        let mut report = String::new();
        let names: BTreeSet<_> = self.sections.keys().chain(other.sections.keys()).collect();
        let empty = BTreeSet::new();
        for name in names {
            let a = self.sections.get(name).unwrap_or(&empty);
            let b = other.sections.get(name).unwrap_or(&empty);
            let only_a: Vec<_> = a.difference(b).take(8).map(|l| clip(l)).collect();
            let only_b: Vec<_> = b.difference(a).take(8).map(|l| clip(l)).collect();
            if !only_a.is_empty() || !only_b.is_empty() {
                report.push_str(&format!(
                    "[{name}]\n  expected only: {only_a:#?}\n  got only: {only_b:#?}\n"
                ));
            }
        }
        assert!(report.is_empty(), "{what}: manifests differ\n{report}");
    }

    /// How many entries the STAT section lists (sanity: the walk saw the tree).
    pub fn entries(&self) -> usize {
        self.sections.get("STAT").map_or(0, BTreeSet::len)
    }
}

/// At most 160 characters of a line, for reports.
fn clip(line: &str) -> String {
    match line.char_indices().nth(160) {
        Some((i, _)) => format!("{}…", &line[..i]),
        None => line.to_owned(),
    }
}

/// Replaces "ino\tpath" lines by one line per hard-link group: its sorted paths.
fn link_groups(lines: Option<&BTreeSet<String>>) -> BTreeSet<String> {
    let mut groups: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for line in lines.into_iter().flatten() {
        if let Some((ino, path)) = line.split_once('\t') {
            groups.entry(ino).or_default().push(path);
        }
    }
    groups
        .into_values()
        .map(|mut paths| {
            paths.sort_unstable();
            paths.join(" = ")
        })
        .collect()
}
