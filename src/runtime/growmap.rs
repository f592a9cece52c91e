//! A hash map that grows a little at a time, for the maps that grow with a user's system: an
//! ETS table's rows, the registry's names, the chapter 7 cache's servers.
//!
//! A `std` map doubles all at once when it is 7/8 full, re-hashing every key in one insert.
//! With a million to-do lists that insert re-hashed 917,504 keys, each behind a pointer (a
//! list's name in its own allocation) and each through SipHash: `bench loadtest-chapter`'s
//! last 100k interval cost twice the first, and perf put a fifth of that interval in
//! `reserve_rehash` and SipHash. The BEAM's ETS tables and maps never stop for that long:
//! a hash table splits one bucket at a time, and every term in it keeps its hash value.
//!
//! This map does both. Each slot keeps its key's hash, so moving a slot never reads the key.
//! When the table is full a new one of twice the room takes its place, and every later insert
//! moves the slots of the next few buckets of the old table into the new one, so the old
//! table is empty long before the new one fills. Lookups and removals look in both tables
//! while slots are moving.

use std::borrow::Borrow;
use std::hash::{BuildHasher, Hash, RandomState};

use hashbrown::HashTable;

/// Buckets of the old table an insert empties into the new one. The old table has 8/7 as
/// many buckets as it had slots, and the new one has room for as many inserts again as the
/// old one held, so two empty it after 4/7 of those inserts, before the next growth. Fewer
/// moves an insert spread the growth further, as a BEAM hash table splits a bucket an
/// insert: every table of a load test doubles at the same count of lists (the registry, the
/// caches, the tables), and the inserts that follow pay for all of their moves at once.
/// perf of a million lists' ETS load test put a sixth of its last 100k interval in moving
/// slots with sixteen; four still made the intervals after a doubling the slowest. Two do
/// not keep the old tables longer where it is measured: at a million lists the old tables of
/// the doubling at 917,504 are held with four as with two.
const MOVES_PER_INSERT: usize = 2;

/// The room of the first table, once something is inserted.
const FIRST_ROOM: usize = 4;

struct Slot<K, V> {
    hash: u64,
    key: K,
    value: V,
}

/// A hash map whose growth is spread over the inserts that follow it (see the module's
/// comment). Iteration order is unspecified, as a `HashMap`'s.
pub struct GrowMap<K, V, S = RandomState> {
    table: HashTable<Slot<K, V>>,
    /// The table being emptied into `table` since the last growth; empty otherwise.
    old: HashTable<Slot<K, V>>,
    /// The next bucket of `old` to move.
    next: usize,
    hasher: S,
}

impl<K, V, S: Default> Default for GrowMap<K, V, S> {
    fn default() -> Self {
        GrowMap {
            table: HashTable::new(),
            old: HashTable::new(),
            next: 0,
            hasher: S::default(),
        }
    }
}

impl<K: Hash + Eq, V, S: BuildHasher + Default> GrowMap<K, V, S> {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn len(&self) -> usize {
        self.table.len() + self.old.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn find<Q>(&self, key: &Q) -> Option<&Slot<K, V>>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let hash = self.hasher.hash_one(key);
        let eq = |s: &Slot<K, V>| s.hash == hash && s.key.borrow() == key;
        match self.table.find(hash, eq) {
            Some(slot) => Some(slot),
            None if self.old.is_empty() => None,
            None => self.old.find(hash, eq),
        }
    }

    pub fn get<Q>(&self, key: &Q) -> Option<&V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.find(key).map(|s| &s.value)
    }

    pub fn get_key_value<Q>(&self, key: &Q) -> Option<(&K, &V)>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.find(key).map(|s| (&s.key, &s.value))
    }

    /// The map's hash of `key`, for [`GrowMap::get_hashed`].
    pub fn hash_of<Q: Hash + ?Sized>(&self, key: &Q) -> u64 {
        self.hasher.hash_one(key)
    }

    /// The entry of hash `hash` (the map's hash of its key, [`GrowMap::hash_of`]) whose key
    /// `eq` accepts: a lookup by a value of another type than the key, such as an ETS key's
    /// text without the term that would hold it (which would be an allocation a lookup).
    pub fn get_hashed(&self, hash: u64, eq: impl Fn(&K) -> bool) -> Option<(&K, &V)> {
        let eq = |s: &Slot<K, V>| s.hash == hash && eq(&s.key);
        match self.table.find(hash, eq) {
            Some(slot) => Some(slot),
            None if self.old.is_empty() => None,
            None => self.old.find(hash, eq),
        }
        .map(|s| (&s.key, &s.value))
    }

    pub fn contains_key<Q>(&self, key: &Q) -> bool
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.find(key).is_some()
    }

    pub fn get_mut<Q>(&mut self, key: &Q) -> Option<&mut V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let hash = self.hasher.hash_one(key);
        let eq = |s: &Slot<K, V>| s.hash == hash && s.key.borrow() == key;
        let table = if self.table.find(hash, eq).is_some() {
            &mut self.table
        } else {
            &mut self.old
        };
        table.find_mut(hash, eq).map(|s| &mut s.value)
    }

    /// Inserts `key => value`, returning the value it replaced.
    pub fn insert(&mut self, key: K, value: V) -> Option<V> {
        let hash = self.hasher.hash_one(&key);
        let eq = |s: &Slot<K, V>| s.hash == hash && s.key == key;
        if let Some(slot) = self.table.find_mut(hash, eq) {
            return Some(std::mem::replace(&mut slot.value, value));
        }
        if let Some(slot) = self.old.find_mut(hash, eq) {
            return Some(std::mem::replace(&mut slot.value, value));
        }
        self.insert_new(hash, key, value);
        None
    }

    /// Inserts `key => value`, replacing the key too when it is there (a set's row is its own
    /// key: an ETS `:set` replaces the whole row), and returning what it replaced.
    pub fn replace(&mut self, key: K, value: V) -> Option<(K, V)> {
        let hash = self.hasher.hash_one(&key);
        let eq = |s: &Slot<K, V>| s.hash == hash && s.key == key;
        let found = match self.table.find_mut(hash, eq) {
            Some(slot) => Some(slot),
            None => self.old.find_mut(hash, eq),
        };
        if let Some(slot) = found {
            let key = std::mem::replace(&mut slot.key, key);
            return Some((key, std::mem::replace(&mut slot.value, value)));
        }
        self.insert_new(hash, key, value);
        None
    }

    fn insert_new(&mut self, hash: u64, key: K, value: V) {
        if self.table.len() == self.table.capacity() {
            self.grow();
        }
        self.move_some(MOVES_PER_INSERT);
        self.table
            .insert_unique(hash, Slot { hash, key, value }, |s| s.hash);
    }

    /// Starts a new table with room for twice the slots in use (removals leave tombstones that
    /// fill a table without adding slots, so a table that churns is renewed at its size).
    fn grow(&mut self) {
        // The old table is empty by now (see MOVES_PER_INSERT); emptied here should a change
        // of that arithmetic ever leave slots in it.
        self.move_some(usize::MAX);
        let room = (self.table.len() * 2).max(FIRST_ROOM);
        self.old = std::mem::replace(&mut self.table, HashTable::with_capacity(room));
        self.next = 0;
    }

    /// Moves the slots of up to `buckets` buckets of the old table into the new one, and frees
    /// the old table once it is empty.
    fn move_some(&mut self, buckets: usize) {
        if self.old.is_empty() {
            return;
        }
        let end = self
            .next
            .saturating_add(buckets)
            .min(self.old.num_buckets());
        while self.next < end && !self.old.is_empty() {
            if let Ok(entry) = self.old.get_bucket_entry(self.next) {
                let (slot, _) = entry.remove();
                self.table.insert_unique(slot.hash, slot, |s| s.hash);
            }
            self.next += 1;
        }
        if self.old.is_empty() {
            self.old = HashTable::new();
        }
    }

    pub fn remove<Q>(&mut self, key: &Q) -> Option<V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.remove_entry(key).map(|(_, v)| v)
    }

    pub fn remove_entry<Q>(&mut self, key: &Q) -> Option<(K, V)>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let hash = self.hasher.hash_one(key);
        let eq = |s: &Slot<K, V>| s.hash == hash && s.key.borrow() == key;
        let found = match self.table.find_entry(hash, eq) {
            Ok(entry) => Some(entry.remove().0),
            Err(_) => self.old.find_entry(hash, eq).ok().map(|e| e.remove().0),
        };
        found.map(|s| (s.key, s.value))
    }

    pub fn clear(&mut self) {
        self.table = HashTable::new();
        self.old = HashTable::new();
        self.next = 0;
    }

    pub fn iter(&self) -> impl Iterator<Item = (&K, &V)> {
        self.table
            .iter()
            .chain(self.old.iter())
            .map(|s| (&s.key, &s.value))
    }

    pub fn keys(&self) -> impl Iterator<Item = &K> {
        self.iter().map(|(k, _)| k)
    }

    pub fn values(&self) -> impl Iterator<Item = &V> {
        self.iter().map(|(_, v)| v)
    }

    pub fn values_mut(&mut self) -> impl Iterator<Item = &mut V> {
        self.table
            .iter_mut()
            .chain(self.old.iter_mut())
            .map(|s| &mut s.value)
    }

    /// Keeps the entries for which `keep` is true.
    pub fn retain(&mut self, mut keep: impl FnMut(&K, &mut V) -> bool) {
        self.table.retain(|s| keep(&s.key, &mut s.value));
        self.old.retain(|s| keep(&s.key, &mut s.value));
    }

    /// How many slots sit in the old table, still to move (for the tests of the growth).
    #[cfg(test)]
    fn moving(&self) -> usize {
        self.old.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_every_key_while_it_grows_and_after() {
        let mut m: GrowMap<String, usize> = GrowMap::new();
        for i in 0..10_000 {
            assert_eq!(m.insert(format!("k{i}"), i), None);
            assert_eq!(m.len(), i + 1);
            // Every key so far, wherever its slot is now.
            if i % 997 == 0 {
                for j in 0..=i {
                    assert_eq!(m.get(format!("k{j}").as_str()), Some(&j), "k{j} at {i}");
                }
            }
        }
        assert_eq!(m.insert("k7".into(), 70), Some(7));
        assert_eq!(m.len(), 10_000);
        assert_eq!(m.iter().count(), 10_000);
        assert_eq!(m.values().sum::<usize>(), (0..10_000).sum::<usize>() + 63);
    }

    #[test]
    fn an_insert_moves_a_few_slots_and_the_old_table_empties_before_the_next_growth() {
        let mut m: GrowMap<u64, ()> = GrowMap::new();
        let mut grew_at = vec![];
        let mut before = 0;
        for i in 0..200_000u64 {
            m.insert(i, ());
            let moving = m.moving();
            if moving > before {
                // A growth: everything but the slots of the first few buckets is still old.
                assert!(
                    moving + MOVES_PER_INSERT + 1 >= i as usize,
                    "{moving} at {i}"
                );
                grew_at.push(i);
            } else {
                assert!(moving == 0 || before - moving <= MOVES_PER_INSERT, "{i}");
            }
            before = moving;
        }
        // The tables doubled at 7, 14, 28, ... 114,688 (7/8 of 2^17) slots.
        let doublings: Vec<u64> = (0..15).map(|k| 7 << k).collect();
        assert_eq!(grew_at, doublings);
        assert!(grew_at.contains(&114_688), "{grew_at:?}");
    }

    #[test]
    fn removes_and_replaces_in_either_table() {
        let mut m: GrowMap<u32, u32> = GrowMap::new();
        for i in 0..1_000 {
            m.insert(i, i);
        }
        // Just past a growth, most slots are in the old table.
        while m.moving() == 0 {
            let n = m.len() as u32;
            m.insert(n, n);
        }
        let n = m.len() as u32;
        for i in (0..n).step_by(2) {
            assert_eq!(m.remove(&i), Some(i));
        }
        for i in (1..n).step_by(2) {
            *m.get_mut(&i).unwrap() += 1;
            assert_eq!(m.get(&i), Some(&(i + 1)));
        }
        assert_eq!(m.len(), n as usize / 2);
        assert_eq!(m.remove(&0), None);
        assert_eq!(m.replace(1, 7), Some((1, 2)));
        m.retain(|k, _| *k < 10);
        assert_eq!(m.len(), 5);
        m.clear();
        assert!(m.is_empty() && m.get(&1).is_none());
    }

    #[test]
    fn a_map_that_churns_stays_at_its_size() {
        let mut m: GrowMap<u64, u64> = GrowMap::new();
        for i in 0..1_000_000u64 {
            m.insert(i, i);
            if i >= 100 {
                assert_eq!(m.remove(&(i - 100)), Some(i - 100));
            }
        }
        assert_eq!(m.len(), 100);
        assert!(m.table.capacity() < 1_000, "{}", m.table.capacity());
    }
}
