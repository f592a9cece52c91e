//! The links and monitors of one process, kept in key order: a sorted vector while there are
//! few, a B-tree once there are many.
//!
//! Almost every process has one or two peers (its supervisor's link, its registry's monitor),
//! and a B-tree allocates a whole node for its first entry: about 100 bytes for a link and 200
//! for a monitor, which was a tenth of the memory of a to-do list in `bench loadtest-system`.
//! A supervisor of 100,000 children still needs removal without a scan, so past
//! [`SPILL`] entries the vector becomes a tree. Both keep the same order, so what iterates
//! over them (exit signals, `Process.info`) sees no difference.

use std::collections::BTreeMap;

/// Entries above which a vector becomes a tree.
const SPILL: usize = 32;

pub(crate) enum Peers<K, V> {
    Few(Vec<(K, V)>),
    Many(BTreeMap<K, V>),
}

impl<K, V> Default for Peers<K, V> {
    fn default() -> Self {
        Peers::Few(Vec::new())
    }
}

impl<K: Ord, V> Peers<K, V> {
    /// Inserts or replaces; returns the value replaced.
    pub fn insert(&mut self, key: K, value: V) -> Option<V> {
        match self {
            Peers::Few(v) => match v.binary_search_by(|(k, _)| k.cmp(&key)) {
                Ok(i) => Some(std::mem::replace(&mut v[i].1, value)),
                Err(i) if v.len() < SPILL => {
                    // The first entry gets room for exactly one: most processes never get more.
                    if v.capacity() == 0 {
                        v.reserve_exact(1);
                    }
                    v.insert(i, (key, value));
                    None
                }
                Err(_) => {
                    let mut tree: BTreeMap<K, V> = std::mem::take(v).into_iter().collect();
                    tree.insert(key, value);
                    *self = Peers::Many(tree);
                    None
                }
            },
            Peers::Many(t) => t.insert(key, value),
        }
    }

    pub fn remove(&mut self, key: &K) -> Option<V> {
        match self {
            Peers::Few(v) => {
                let i = v.binary_search_by(|(k, _)| k.cmp(key)).ok()?;
                let (_, value) = v.remove(i);
                if v.is_empty() {
                    // Give the room back: a process that had a peer once may have none for long.
                    *v = Vec::new();
                }
                Some(value)
            }
            Peers::Many(t) => t.remove(key),
        }
    }

    pub fn keys(&self) -> Box<dyn Iterator<Item = &K> + '_> {
        match self {
            Peers::Few(v) => Box::new(v.iter().map(|(k, _)| k)),
            Peers::Many(t) => Box::new(t.keys()),
        }
    }

    pub fn values(&self) -> Box<dyn Iterator<Item = &V> + '_> {
        match self {
            Peers::Few(v) => Box::new(v.iter().map(|(_, x)| x)),
            Peers::Many(t) => Box::new(t.values()),
        }
    }
}

impl<K: 'static, V: 'static> IntoIterator for Peers<K, V> {
    type Item = (K, V);
    type IntoIter = Box<dyn Iterator<Item = (K, V)>>;

    fn into_iter(self) -> Self::IntoIter {
        match self {
            Peers::Few(v) => Box::new(v.into_iter()),
            Peers::Many(t) => Box::new(t.into_iter()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(p: &Peers<u64, u64>) -> Vec<u64> {
        p.keys().copied().collect()
    }

    #[test]
    fn stays_sorted_and_spills_into_a_tree_past_the_limit() {
        let mut p = Peers::default();
        for k in (0..SPILL as u64).rev() {
            assert_eq!(p.insert(k, k * 10), None);
        }
        assert!(matches!(p, Peers::Few(_)));
        assert_eq!(keys(&p), (0..SPILL as u64).collect::<Vec<_>>());
        assert_eq!(p.insert(1000, 1), None);
        assert!(matches!(p, Peers::Many(_)));
        assert_eq!(p.keys().count(), SPILL + 1);
        assert_eq!(p.remove(&3), Some(30));
        assert_eq!(p.remove(&3), None);
        assert_eq!(keys(&p)[..4], [0, 1, 2, 4]);
    }

    #[test]
    fn insert_replaces_and_remove_frees_the_last_room() {
        let mut p = Peers::default();
        assert_eq!(p.insert(7, 1), None);
        assert_eq!(p.insert(7, 2), Some(1));
        assert_eq!(p.values().copied().collect::<Vec<_>>(), [2]);
        assert_eq!(p.remove(&7), Some(2));
        match &p {
            Peers::Few(v) => assert_eq!(v.capacity(), 0),
            Peers::Many(_) => panic!("one entry never spills"),
        }
        assert_eq!(p.into_iter().count(), 0);
    }
}
