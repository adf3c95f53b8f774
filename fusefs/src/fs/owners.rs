//! Owner mapping: the uids and gids of the image's inodes as reported to the kernel.
//!
//! A FUSE mount made through `fusermount3` belongs to the initial user namespace, so
//! the kernel reads the owners we report as host ids. An ordinary user's container runs
//! in a user namespace mapping its root to the user's own uid (and 1..=N to a
//! subordinate range): reported as they are, the image's root-owned files would be
//! unmapped there (`nobody`), and overlayfs would refuse container root any write
//! into them. With an [`OwnerMap`] the server reports each image id as the host id
//! that namespace maps it to. Input: the caller's ranges; output: the ids in
//! `FileAttr` (see `super::SquashFuse::attr`).

/// `count` image ids from `image` are reported as ids from `host`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IdRange {
    /// The first id as stored in the image (the id inside the container).
    pub image: u32,
    /// The first id reported to the kernel (the id outside).
    pub host: u32,
    /// How many ids.
    pub count: u32,
}

/// How image owners are reported: empty lists report ids as stored (the default).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OwnerMap {
    /// uid ranges.
    pub uids: Vec<IdRange>,
    /// gid ranges.
    pub gids: Vec<IdRange>,
}

impl OwnerMap {
    /// The reported uid of image uid `id`.
    pub fn uid(&self, id: u32) -> u32 {
        translate(&self.uids, id)
    }

    /// The reported gid of image gid `id`.
    pub fn gid(&self, id: u32) -> u32 {
        translate(&self.gids, id)
    }

    /// Whether ids are reported as stored.
    pub fn is_identity(&self) -> bool {
        self.uids.is_empty() && self.gids.is_empty()
    }
}

/// `id` through `ranges`; an id no range holds is reported as image id 0 is (the
/// user's own id: the container's root owns what it could not otherwise see), and
/// with no ranges at all, as it is.
fn translate(ranges: &[IdRange], id: u32) -> u32 {
    let lookup = |id: u32| {
        ranges.iter().find_map(|r| {
            let offset = id.checked_sub(r.image).filter(|o| *o < r.count)?;
            r.host.checked_add(offset)
        })
    };
    match ranges.first() {
        None => id,
        Some(first) => lookup(id).or_else(|| lookup(0)).unwrap_or(first.host),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn range(image: u32, host: u32, count: u32) -> IdRange {
        IdRange { image, host, count }
    }

    #[test]
    fn ids_follow_the_ranges_and_the_rest_fall_back_to_root() {
        let map = OwnerMap {
            uids: vec![range(0, 1001, 1), range(1, 100_000, 65_536)],
            gids: vec![range(0, 1001, 1)],
        };
        assert_eq!(map.uid(0), 1001);
        assert_eq!(map.uid(1), 100_000);
        assert_eq!(map.uid(1000), 100_999);
        assert_eq!(map.uid(65_536), 165_535);
        assert_eq!(map.uid(65_537), 1001, "outside every range");
        assert_eq!(map.gid(50), 1001, "single gid: everything is the user's");
        assert_eq!(map.gid(u32::MAX), 1001);
    }

    #[test]
    fn no_ranges_is_identity_and_overflow_is_not_a_panic() {
        let map = OwnerMap::default();
        assert!(map.is_identity());
        assert_eq!((map.uid(7), map.gid(u32::MAX)), (7, u32::MAX));
        let wrap = OwnerMap {
            uids: vec![range(5, u32::MAX, 10)],
            gids: Vec::new(),
        };
        assert_eq!(wrap.uid(5), u32::MAX);
        assert_eq!(wrap.uid(6), u32::MAX, "overflowing host id falls back");
    }
}
