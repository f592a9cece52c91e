//! ETS-like tables: term storage owned by a process, read and written by any process the
//! access rules allow, without passing through the owner's mailbox. Reads take a read lock
//! only, so they run in parallel across threads (the point of the ETS cache of seed 001).
//! A table dies with its owner unless it has an heir, who then receives
//! `{:"ETS-TRANSFER", table, old_owner, heir_data}` (the remedy of seed 000's last question).
//!
//! Every table is created with what the BEAM calls `read_concurrency`: the index of tables
//! and each table's rows sit behind a sharded reader-writer lock (crossbeam's `ShardedLock`),
//! where a reader marks only its own thread's shard. A plain `RwLock` makes every read an
//! atomic write to one shared word, and with clients on both cores that cache line bounced
//! between them on each lookup: the ETS cache profile spent half its time there. Writers lock
//! every shard, which costs a few more atomics per insert; tables here are read far more
//! often than written.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use crossbeam_utils::sync::ShardedLock;
use rustc_hash::FxBuildHasher;

use super::exit::ExitReason;
use super::node::{Dest, Node};
use super::pid::{Pid, Ref};
use super::term::{Atom, Term, atom};

mod row;
mod rows;

use row::Row;
use rows::Rows;

/// `:set`, `:ordered_set`, `:bag`, `:duplicate_bag`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Set,
    OrderedSet,
    Bag,
    DuplicateBag,
}

/// `:protected` (default: the owner writes, everyone reads), `:public`, `:private`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    Public,
    Protected,
    Private,
}

/// Options of `:ets.new/2`.
#[derive(Clone, Debug)]
pub struct TableOpts {
    pub kind: Kind,
    pub access: Access,
    pub named: bool,
    pub heir: Option<(Pid, Term)>,
    /// 1-based position of the key in each tuple.
    pub keypos: usize,
}

impl Default for TableOpts {
    fn default() -> Self {
        TableOpts {
            kind: Kind::Set,
            access: Access::Protected,
            named: false,
            heir: None,
            keypos: 1,
        }
    }
}

/// Rows and the index hash with rustc's Fx hash (the `rustc-hash` crate) instead of SipHash,
/// which the profile of the ETS cache showed at a fifth of each lookup (three hashes: the name,
/// the id, the key). The BEAM's ETS hash is unkeyed too; a table's keys are its own session's
/// terms, and a flood of colliding keys would only slow the session that typed them.
type FastMap<K, V> = HashMap<K, V, FxBuildHasher>;

enum Data {
    /// A `:set` keyed by the first element, the usual case: each row is stored once, as its
    /// elements in one allocation ([`Row`]), and found by its key ([`Rows`]). Storing the key
    /// beside the tuple doubled the room of a slot (and a hash table keeps up to half its
    /// slots empty). The rows grow a little at a time, as an ETS hash table does.
    Rows(Rows),
    /// A `:set` keyed by another element.
    Set(FastMap<Term, Term>),
    Ordered(BTreeMap<Term, Term>),
    Bag(FastMap<Term, Vec<Term>>),
}

struct Inner {
    id: u64,
    name: Atom,
    named: bool,
    kind: Kind,
    access: Access,
    keypos: usize,
    owner: AtomicU64,
    heir: Mutex<Option<(Pid, Term)>>,
    deleted: AtomicBool,
    data: ShardedLock<Data>,
}

/// A handle on a table. Operations check the access rules against the calling pid.
#[derive(Clone)]
pub struct Table {
    inner: Arc<Inner>,
}

/// Every table of a node, by id and by name.
#[derive(Default)]
pub struct Tables {
    index: ShardedLock<Index>,
}

#[derive(Default)]
struct Index {
    by_id: FastMap<u64, Table>,
    /// A named table by its name, as a second handle on it rather than its id: a lookup by
    /// name (every read of the ETS cache) is one map lookup, not two.
    by_name: FastMap<Atom, Table>,
}

impl Index {
    fn get(&self, id: &Term) -> Option<&Table> {
        match id {
            Term::Atom(a) => self.by_name.get(a),
            Term::Ref(r) => self.by_id.get(&r.0),
            _ => None,
        }
    }
}

/// The BEAM's `ArgumentError` for a built-in's bad argument, `what` naming the argument
/// (`1st argument: …`); its message ends with a line break, as Erlang's does.
#[cold]
pub fn badarg(what: &str) -> ExitReason {
    ExitReason::exception(
        "ArgumentError",
        format!("errors were found at the given arguments:\n\n  * {what}\n"),
    )
}

#[cold]
pub fn no_table() -> ExitReason {
    badarg("1st argument: the table identifier does not refer to an existing ETS table")
}

impl Tables {
    /// `:ets.new(name, opts)` by `owner`.
    pub fn create(
        &self,
        node: &Node,
        owner: Pid,
        name: Atom,
        opts: TableOpts,
    ) -> Result<Table, ExitReason> {
        let entry = node
            .entry(owner)
            .ok_or_else(|| badarg("the calling process is not alive"))?;
        let id = node.make_ref().0;
        let data = match opts.kind {
            Kind::Set if opts.keypos <= 1 => Data::Rows(Rows::default()),
            Kind::Set => Data::Set(FastMap::default()),
            Kind::OrderedSet => Data::Ordered(BTreeMap::new()),
            Kind::Bag | Kind::DuplicateBag => Data::Bag(FastMap::default()),
        };
        let table = Table {
            inner: Arc::new(Inner {
                id,
                name,
                named: opts.named,
                kind: opts.kind,
                access: opts.access,
                keypos: opts.keypos.max(1),
                owner: AtomicU64::new(owner.0),
                heir: Mutex::new(opts.heir),
                deleted: AtomicBool::new(false),
                data: ShardedLock::new(data),
            }),
        };
        let mut index = self.index.write().unwrap();
        if opts.named {
            if index.by_name.contains_key(&name) {
                return Err(badarg("1st argument: table name already exists"));
            }
            index.by_name.insert(name, table.clone());
        }
        index.by_id.insert(id, table.clone());
        drop(index);
        entry.state.lock().unwrap().held().tables.push(id);
        Ok(table)
    }

    /// A table by its identifier term: a name (atom) or a reference.
    pub fn get(&self, id: &Term) -> Option<Table> {
        self.index.read().unwrap().get(id).cloned()
    }

    /// Runs `f` on a table by its identifier term without taking a handle on it: the hot
    /// path of the ETS cache, which would otherwise bump and drop the table's shared
    /// reference count (another cache line written by every reader) on each lookup. `f` runs
    /// under the index's read lock, so it must not create or delete a table.
    pub fn with<R>(&self, id: &Term, f: impl FnOnce(&Table) -> R) -> Option<R> {
        self.index.read().unwrap().get(id).map(f)
    }

    /// Every live table.
    pub fn all(&self) -> Vec<Table> {
        let mut v: Vec<Table> = self.index.read().unwrap().by_id.values().cloned().collect();
        v.sort_by_key(|t| t.inner.id);
        v
    }

    /// Tables owned by `pid`.
    pub fn owned_by(&self, pid: Pid) -> Vec<Table> {
        self.all()
            .into_iter()
            .filter(|t| t.owner() == pid)
            .collect()
    }

    /// `:ets.delete(table)` by `caller`.
    pub fn delete(&self, node: &Node, caller: Pid, table: &Table) -> Result<(), ExitReason> {
        if table.owner() != caller && table.inner.access != Access::Public {
            return Err(badarg(
                "1st argument: the table identifier refers to an ETS table with insufficient access rights",
            ));
        }
        if let Some(e) = node.entry(table.owner()) {
            if let Some(h) = &mut e.state.lock().unwrap().held {
                h.tables.retain(|t| *t != table.inner.id);
            }
        }
        self.remove(table);
        Ok(())
    }

    /// `:ets.give_away(table, pid, gift)`: only the owner may, to a live other process.
    pub fn give_away(
        &self,
        node: &Node,
        caller: Pid,
        table: &Table,
        to: Pid,
        gift: Term,
    ) -> Result<(), ExitReason> {
        table.live()?;
        if table.owner() != caller {
            return Err(badarg("1st argument: not the owner of the table"));
        }
        if to == caller || !self.transfer(node, table, to) {
            return Err(badarg(
                "2nd argument: not a pid of an existing process other than the owner",
            ));
        }
        if let Some(e) = node.entry(caller) {
            if let Some(h) = &mut e.state.lock().unwrap().held {
                h.tables.retain(|t| *t != table.inner.id);
            }
        }
        node.send(
            Some(caller),
            &Dest::Pid(to),
            transfer_message(table, caller, gift),
        );
        Ok(())
    }

    /// Sets or clears the heir (`:ets.setopts(table, {:heir, pid, data})`).
    pub fn set_heir(
        &self,
        caller: Pid,
        table: &Table,
        heir: Option<(Pid, Term)>,
    ) -> Result<(), ExitReason> {
        table.live()?;
        if table.owner() != caller {
            return Err(badarg("1st argument: not the owner of the table"));
        }
        *table.inner.heir.lock().unwrap() = heir;
        Ok(())
    }

    /// The owner died: the heir inherits the table, or it is deleted (S32).
    pub(crate) fn owner_died(&self, node: &Node, id: u64, owner: Pid) {
        let Some(table) = self.index.read().unwrap().by_id.get(&id).cloned() else {
            return;
        };
        let heir = table.inner.heir.lock().unwrap().clone();
        if let Some((heir, data)) = heir
            && heir != owner
            && self.transfer(node, &table, heir)
        {
            node.send(
                Some(owner),
                &Dest::Pid(heir),
                transfer_message(&table, owner, data),
            );
            return;
        }
        self.remove(&table);
    }

    fn transfer(&self, node: &Node, table: &Table, to: Pid) -> bool {
        let Some(entry) = node.entry(to) else {
            return false;
        };
        let mut s = entry.state.lock().unwrap();
        if s.dead {
            return false;
        }
        s.held().tables.push(table.inner.id);
        table.inner.owner.store(to.0, Ordering::Release);
        true
    }

    fn remove(&self, table: &Table) {
        table.inner.deleted.store(true, Ordering::Release);
        let mut index = self.index.write().unwrap();
        index.by_id.remove(&table.inner.id);
        if table.inner.named
            && index.by_name.get(&table.inner.name).map(|t| t.inner.id) == Some(table.inner.id)
        {
            index.by_name.remove(&table.inner.name);
        }
    }
}

/// The keys of `:ets.info/1`, in the order OTP 25 lists them.
pub const INFO_KEYS: &[&str] = &[
    "id",
    "decentralized_counters",
    "read_concurrency",
    "write_concurrency",
    "compressed",
    "memory",
    "owner",
    "heir",
    "name",
    "size",
    "node",
    "named_table",
    "type",
    "keypos",
    "protection",
];

/// The node's name as `node()` gives it: otplab's node is not distributed.
pub const NODE_NAME: &str = "nonode@nohost";

/// The bytes a term takes: its own slot and what it points to.
fn term_bytes(term: &Term) -> usize {
    let slot = std::mem::size_of::<Term>();
    slot + match term {
        Term::Tuple(v) | Term::List(v) => v.iter().map(term_bytes).sum(),
        Term::Map(m) => m.iter().map(|(k, v)| term_bytes(k) + term_bytes(v)).sum(),
        Term::Struct(s) => s.fields.iter().map(|(_, v)| slot + term_bytes(v)).sum(),
        Term::Str(s) => s.len(),
        Term::Binary(b) => b.len(),
        _ => 0,
    }
}

/// The default row of `update_counter/4` for a missing key: a tuple with room for the key
/// and the counter, its key field replaced by the key.
fn default_row(default: Option<Term>, key: &Term, keypos: usize) -> Result<Term, ExitReason> {
    let missing = || badarg("2nd argument: not a key that exists in the table");
    match default.ok_or_else(missing)? {
        Term::Tuple(mut fields) if fields.len() >= keypos.max(2) => {
            fields[keypos - 1] = key.clone();
            Ok(Term::Tuple(fields))
        }
        _ => Err(badarg(
            "4th argument: the default object is not a tuple large enough",
        )),
    }
}

/// The counter of a `{key, integer}` row, moved by `incr`.
fn bump(row: &mut Term, incr: i64) -> Result<i64, ExitReason> {
    let Term::Tuple(fields) = row else {
        return Err(badarg("the object is not a tuple"));
    };
    bump_fields(fields, incr)
}

/// The counter of a row's elements, moved by `incr`.
fn bump_fields(fields: &mut [Term], incr: i64) -> Result<i64, ExitReason> {
    let Some(Term::Int(v)) = fields.get_mut(1) else {
        return Err(badarg("3rd argument: the element is not an integer"));
    };
    *v = v
        .checked_add(incr)
        .ok_or_else(|| badarg("3rd argument: integer overflow"))?;
    Ok(*v)
}

fn transfer_message(table: &Table, from: Pid, data: Term) -> Term {
    Term::tuple(vec![
        atom("ETS-TRANSFER"),
        table.id_term(),
        Term::Pid(from),
        data,
    ])
}

impl Table {
    /// What `:ets.new` returns: the name for a named table, a reference otherwise.
    pub fn id_term(&self) -> Term {
        if self.inner.named {
            Term::Atom(self.inner.name)
        } else {
            Term::Ref(Ref(self.inner.id))
        }
    }

    pub fn name(&self) -> Atom {
        self.inner.name
    }

    pub fn owner(&self) -> Pid {
        Pid(self.inner.owner.load(Ordering::Acquire))
    }

    pub fn kind(&self) -> Kind {
        self.inner.kind
    }

    pub fn access(&self) -> Access {
        self.inner.access
    }

    pub fn heir(&self) -> Option<Pid> {
        self.inner.heir.lock().unwrap().as_ref().map(|(p, _)| *p)
    }

    pub fn is_deleted(&self) -> bool {
        self.inner.deleted.load(Ordering::Acquire)
    }

    /// `:ets.insert/2`: one tuple or a list of tuples. `:set` is last-write-wins.
    pub fn insert(&self, caller: Pid, objects: Term) -> Result<(), ExitReason> {
        self.can_write(caller)?;
        let objects = match objects {
            Term::List(v) => v.into_vec(),
            t => vec![t],
        };
        let keyed: Vec<(Term, Term)> = objects
            .into_iter()
            .map(|o| Ok((self.key_of(&o)?, o)))
            .collect::<Result<_, ExitReason>>()?;
        let mut data = self.inner.data.write().unwrap();
        for (key, obj) in keyed {
            match &mut *data {
                Data::Rows(rows) => rows.replace(Row::new(obj)),
                Data::Set(m) => {
                    m.insert(key, obj);
                }
                Data::Ordered(m) => {
                    m.insert(key, obj);
                }
                Data::Bag(m) => {
                    let bucket = m.entry(key).or_default();
                    if self.inner.kind == Kind::DuplicateBag || !bucket.contains(&obj) {
                        bucket.push(obj);
                    }
                }
            }
        }
        Ok(())
    }

    /// `:ets.insert_new/2`: `false` if the key exists.
    pub fn insert_new(&self, caller: Pid, object: Term) -> Result<bool, ExitReason> {
        self.can_write(caller)?;
        let key = self.key_of(&object)?;
        let mut data = self.inner.data.write().unwrap();
        let exists = match &*data {
            Data::Rows(rows) => rows.contains_key(&key),
            Data::Set(m) => m.contains_key(&key),
            Data::Ordered(m) => m.contains_key(&key),
            Data::Bag(m) => m.contains_key(&key),
        };
        if exists {
            return Ok(false);
        }
        match &mut *data {
            Data::Rows(rows) => rows.replace(Row::new(object)),
            Data::Set(m) => drop(m.insert(key, object)),
            Data::Ordered(m) => drop(m.insert(key, object)),
            Data::Bag(m) => m.entry(key).or_default().push(object),
        }
        Ok(true)
    }

    /// `:ets.lookup/2`: never passes through the owner.
    pub fn lookup(&self, caller: Pid, key: &Term) -> Result<Vec<Term>, ExitReason> {
        self.can_read(caller)?;
        let data = self.inner.data.read().unwrap();
        Ok(match &*data {
            Data::Rows(rows) => rows.get(key).map(Row::to_term).into_iter().collect(),
            Data::Set(m) => m.get(key).cloned().into_iter().collect(),
            Data::Ordered(m) => m.get(key).cloned().into_iter().collect(),
            Data::Bag(m) => m.get(key).cloned().unwrap_or_default(),
        })
    }

    /// The value of a `{key, value}` row of a set, the fast path of the ETS cache.
    pub fn lookup_value(&self, caller: Pid, key: &Term) -> Result<Option<Term>, ExitReason> {
        self.can_read(caller)?;
        let data = self.inner.data.read().unwrap();
        let row = match &*data {
            Data::Rows(rows) => return Ok(rows.get(key).and_then(Row::value)),
            Data::Set(m) => m.get(key),
            Data::Ordered(m) => m.get(key),
            Data::Bag(m) => m.get(key).and_then(|b| b.first()),
        };
        Ok(row
            .and_then(|r| r.as_tuple())
            .and_then(|t| t.get(1))
            .cloned())
    }

    /// [`Table::lookup_value`] of the string key `key`, found by its text: making the term of
    /// it first was an allocation and its release in every read of the ETS cache.
    pub fn lookup_str_value(&self, caller: Pid, key: &str) -> Result<Option<Term>, ExitReason> {
        self.can_read(caller)?;
        if let Data::Rows(rows) = &*self.inner.data.read().unwrap() {
            return Ok(rows.get_str(key).and_then(Row::value));
        }
        self.lookup_value(caller, &Term::str(key))
    }

    /// `:ets.delete/2`.
    pub fn delete_key(&self, caller: Pid, key: &Term) -> Result<(), ExitReason> {
        self.can_write(caller)?;
        match &mut *self.inner.data.write().unwrap() {
            Data::Rows(rows) => drop(rows.remove(key)),
            Data::Set(m) => drop(m.remove(key)),
            Data::Ordered(m) => drop(m.remove(key)),
            Data::Bag(m) => drop(m.remove(key)),
        }
        Ok(())
    }

    /// `:ets.update_counter(table, key, incr)` on `{key, integer}` rows; atomic under the lock.
    pub fn update_counter(
        &self,
        caller: Pid,
        key: &Term,
        incr: i64,
        default: Option<Term>,
    ) -> Result<i64, ExitReason> {
        self.can_write(caller)?;
        let mut data = self.inner.data.write().unwrap();
        // A missing key takes the default row, its key field set to the key (as on the
        // BEAM), and only once the counter in it could be moved.
        let keypos = self.inner.keypos;
        let fresh = |default: Option<Term>| -> Result<(Term, i64), ExitReason> {
            let mut row = default_row(default, key, keypos)?;
            let value = bump(&mut row, incr)?;
            Ok((row, value))
        };
        match &mut *data {
            Data::Rows(rows) => match rows.get_mut(key) {
                Some(row) => bump_fields(row.fields_mut(), incr),
                None => {
                    let (row, value) = fresh(default)?;
                    rows.replace(Row::new(row));
                    Ok(value)
                }
            },
            Data::Set(m) => match m.get_mut(key) {
                Some(row) => bump(row, incr),
                None => {
                    let (row, value) = fresh(default)?;
                    m.insert(key.clone(), row);
                    Ok(value)
                }
            },
            Data::Ordered(m) => match m.get_mut(key) {
                Some(row) => bump(row, incr),
                None => {
                    let (row, value) = fresh(default)?;
                    m.insert(key.clone(), row);
                    Ok(value)
                }
            },
            Data::Bag(_) => Err(badarg("1st argument: the table is a bag")),
        }
    }

    /// `:ets.tab2list/1`, in key order for ordered sets.
    pub fn to_list(&self, caller: Pid) -> Result<Vec<Term>, ExitReason> {
        self.can_read(caller)?;
        let data = self.inner.data.read().unwrap();
        Ok(match &*data {
            Data::Rows(rows) => {
                let mut v: Vec<Term> = rows.iter().map(Row::to_term).collect();
                v.sort();
                v
            }
            Data::Set(m) => {
                let mut v: Vec<Term> = m.values().cloned().collect();
                v.sort();
                v
            }
            Data::Ordered(m) => m.values().cloned().collect(),
            Data::Bag(m) => {
                let mut v: Vec<Term> = m.values().flatten().cloned().collect();
                v.sort();
                v
            }
        })
    }

    pub fn size(&self) -> usize {
        match &*self.inner.data.read().unwrap() {
            Data::Rows(rows) => rows.len(),
            Data::Set(m) => m.len(),
            Data::Ordered(m) => m.len(),
            Data::Bag(m) => m.values().map(Vec::len).sum(),
        }
    }

    /// `:ets.info/1`: the keyword list of OTP 25, its keys in its order ([`INFO_KEYS`]).
    pub fn info(&self) -> Term {
        Term::keyword(
            INFO_KEYS
                .iter()
                .filter_map(|k| Some((*k, self.info_item(k)?)))
                .collect(),
        )
    }

    /// `:ets.info/2`: one item, `None` for a key ETS does not know (or, for `:stats`, one
    /// otplab does not keep).
    pub fn info_item(&self, key: &str) -> Option<Term> {
        Some(match key {
            // The reference the table has whether or not it is named, as on OTP 20+.
            "id" => Term::Ref(Ref(self.inner.id)),
            // Every table is read-optimised (see the module's comment); writers lock it whole.
            "read_concurrency" => Term::bool(true),
            "decentralized_counters" | "write_concurrency" | "compressed" => Term::bool(false),
            "memory" => Term::Int(self.memory_words() as i64),
            "owner" => Term::Pid(self.owner()),
            "heir" => self.heir().map(Term::Pid).unwrap_or_else(|| atom("none")),
            "name" => Term::Atom(self.inner.name),
            "size" => Term::Int(self.size() as i64),
            "node" => atom(NODE_NAME),
            "named_table" => Term::bool(self.inner.named),
            "type" => atom(match self.inner.kind {
                Kind::Set => "set",
                Kind::OrderedSet => "ordered_set",
                Kind::Bag => "bag",
                Kind::DuplicateBag => "duplicate_bag",
            }),
            "keypos" => Term::Int(self.inner.keypos as i64),
            "protection" => atom(match self.inner.access {
                Access::Public => "public",
                Access::Protected => "protected",
                Access::Private => "private",
            }),
            // otplab has no `safe_fixtable`: a table is never fixed.
            "fixed" | "safe_fixed" | "safe_fixed_monotonic_time" => Term::bool(false),
            _ => return None,
        })
    }

    /// The table's size in 8-byte words, as ETS counts `memory`: the table's own record and
    /// each row's term with what it points to. An estimate (a hash table's empty slots are
    /// not counted), as otplab's `Process.info(pid, :memory)` is.
    fn memory_words(&self) -> usize {
        let rows: usize = match &*self.inner.data.read().unwrap() {
            Data::Rows(rows) => rows.iter().map(Row::bytes).sum(),
            Data::Set(m) => m.iter().map(|(k, v)| term_bytes(k) + term_bytes(v)).sum(),
            Data::Ordered(m) => m.iter().map(|(k, v)| term_bytes(k) + term_bytes(v)).sum(),
            Data::Bag(m) => m
                .iter()
                .map(|(k, v)| term_bytes(k) + v.iter().map(term_bytes).sum::<usize>())
                .sum(),
        };
        (std::mem::size_of::<Inner>() + rows).div_ceil(8)
    }

    #[inline]
    fn live(&self) -> Result<(), ExitReason> {
        if self.is_deleted() {
            Err(no_table())
        } else {
            Ok(())
        }
    }

    #[inline]
    fn can_read(&self, caller: Pid) -> Result<(), ExitReason> {
        self.live()?;
        if self.inner.access == Access::Private && caller != self.owner() {
            return Err(badarg(
                "1st argument: the table identifier refers to an ETS table with insufficient access rights",
            ));
        }
        Ok(())
    }

    fn can_write(&self, caller: Pid) -> Result<(), ExitReason> {
        self.live()?;
        if self.inner.access != Access::Public && caller != self.owner() {
            return Err(badarg(
                "1st argument: the table identifier refers to an ETS table with insufficient access rights",
            ));
        }
        Ok(())
    }

    fn key_of(&self, object: &Term) -> Result<Term, ExitReason> {
        match object {
            Term::Tuple(t) if t.len() >= self.inner.keypos => Ok(t[self.inner.keypos - 1].clone()),
            _ => Err(badarg(
                "2nd argument: not a tuple (or too small for the key position)",
            )),
        }
    }
}
