//! `:ets`: tables of the node with their kinds, access, heirs and counters.

use crate::runtime::table::{Access, Kind as TableKind, TableOpts, badarg, no_table};
use crate::runtime::{Term, atom};

use super::function::{Function, undefined_function};
use crate::shell::context::{Eval, R, arg_error, enumerate, int_of, pid_of};

/// `:ets`'s functions: name, arities, what each does.
pub const ETS: &[Function] = &[
    (
        "new",
        &[2],
        "a table owned by the calling process: kinds :set, :ordered_set, :bag, :duplicate_bag; :public/:protected/:private; :named_table; {:heir, pid, data}",
    ),
    ("insert", &[2], "inserts a tuple or a list of tuples"),
    ("insert_new", &[2], "inserts unless the key exists"),
    (
        "lookup",
        &[2],
        "the rows with a key (never passes through the owner)",
    ),
    ("delete", &[1, 2], "deletes a table, or the rows of a key"),
    ("tab2list", &[1], "every row"),
    (
        "info",
        &[1, 2],
        "the table's settings and size, or one of them (:owner, :size, :heir, …); :undefined once it is gone",
    ),
    ("give_away", &[3], "makes another process the owner"),
    ("setopts", &[2], "sets {:heir, pid, data} or {:heir, :none}"),
    (
        "update_counter",
        &[3, 4],
        "adds to the integer of a {key, n} row",
    ),
];

/// `:ets.fun(args)`, on the node's tables.
pub fn call(ev: &mut Eval<'_>, fun: &str, args: Vec<Term>) -> R {
    let node = ev.ctx.node.clone();
    let me = ev.p.pid();
    if fun == "new" {
        let name = args[0]
            .as_atom()
            .ok_or_else(|| arg_error("the table name must be an atom"))?;
        let mut opts = TableOpts::default();
        for o in enumerate(&args[1])? {
            match &o {
                t if t.is_atom("set") => opts.kind = TableKind::Set,
                t if t.is_atom("ordered_set") => opts.kind = TableKind::OrderedSet,
                t if t.is_atom("bag") => opts.kind = TableKind::Bag,
                t if t.is_atom("duplicate_bag") => opts.kind = TableKind::DuplicateBag,
                t if t.is_atom("public") => opts.access = Access::Public,
                t if t.is_atom("protected") => opts.access = Access::Protected,
                t if t.is_atom("private") => opts.access = Access::Private,
                t if t.is_atom("named_table") => opts.named = true,
                Term::Tuple(t) if t.len() == 3 && t[0].is_atom("heir") => {
                    opts.heir = Some((pid_of(&t[1])?, t[2].clone()))
                }
                Term::Tuple(t) if t.len() == 2 && t[0].is_atom("keypos") => {
                    opts.keypos = int_of(&t[1])?.max(1) as usize
                }
                _ => {}
            }
        }
        return Ok(node.tables().create(&node, me, name, opts)?.id_term());
    }
    if fun == "info" {
        return info(ev, &args);
    }
    let table = node.tables().get(&args[0]).ok_or_else(no_table)?;
    match fun {
        "insert" => table.insert(me, args[1].clone()).map(|()| Term::bool(true)),
        "insert_new" => table.insert_new(me, args[1].clone()).map(Term::bool),
        "lookup" => table.lookup(me, &args[1]).map(Term::list),
        "delete" if args.len() == 1 => node
            .tables()
            .delete(&node, me, &table)
            .map(|()| Term::bool(true)),
        "delete" => table.delete_key(me, &args[1]).map(|()| Term::bool(true)),
        "tab2list" => table.to_list(me).map(Term::list),
        "give_away" => node
            .tables()
            .give_away(&node, me, &table, pid_of(&args[1])?, args[2].clone())
            .map(|()| Term::bool(true)),
        "setopts" => {
            let heir = match args[1].as_tuple() {
                Some([h, who, data]) if h.is_atom("heir") => Some((pid_of(who)?, data.clone())),
                Some([h, none]) if h.is_atom("heir") && none.is_atom("none") => None,
                _ => {
                    return Err(arg_error(
                        "only {:heir, pid, data} and {:heir, :none} are supported",
                    ));
                }
            };
            node.tables()
                .set_heir(me, &table, heir)
                .map(|()| Term::bool(true))
        }
        "update_counter" => table
            .update_counter(me, &args[1], int_of(&args[2])?, args.get(3).cloned())
            .map(Term::Int),
        _ => Err(undefined_function(":ets", fun, args.len(), ETS)),
    }
}

/// `:ets.info(table)` and `:ets.info(table, item)`: `:undefined` for a table that is gone, as
/// ETS answers rather than raising.
fn info(ev: &Eval<'_>, args: &[Term]) -> R {
    if !matches!(args[0], Term::Atom(_) | Term::Ref(_)) {
        return Err(badarg("1st argument: not an atom or a table identifier"));
    }
    let table = ev.ctx.node.tables().get(&args[0]);
    match (table, args.get(1)) {
        (None, _) => Ok(atom("undefined")),
        (Some(table), None) => Ok(table.info()),
        (Some(_), Some(item)) if item.is_atom("stats") => Err(badarg(
            "2nd argument: otplab's tables keep no hash statistics (:stats)",
        )),
        (Some(table), Some(item)) => item
            .as_atom()
            .and_then(|a| table.info_item(a.as_str()))
            .ok_or_else(|| badarg("2nd argument: not a valid info item")),
    }
}
