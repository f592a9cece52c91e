//! `Enum`: the enumerable functions the seeds use, over lists, ranges and maps. (The file is
//! not `enum.rs` because `enum` is a reserved word of Rust.)

use crate::runtime::{ExitReason, Term};

use super::function::{Function, undefined_function};
use crate::shell::context::{Eval, R, enumerate, int_of, loose_eq, num, ok, raise, to_string};

/// `Enum`'s functions: name, arities, what each does.
pub const ENUM: &[Function] = &[
    ("map", &[2], "applies a function to each element"),
    ("each", &[2], "calls a function on each element; :ok"),
    (
        "filter",
        &[2],
        "the elements for which a function is truthy",
    ),
    ("reduce", &[3], "folds the elements with an accumulator"),
    ("count", &[1], "the number of elements"),
    ("sum", &[1], "the sum of numbers"),
    ("to_list", &[1], "a list of the elements"),
    ("take", &[2], "the first n elements"),
    ("at", &[2], "the element at an index"),
    ("member?", &[2], "whether a value is an element"),
    ("sort", &[1], "the elements in term order"),
    ("max", &[1], "the largest element"),
    ("min", &[1], "the smallest element"),
    ("reverse", &[1], "the elements in reverse order"),
    ("join", &[1, 2], "the elements joined into a string"),
    ("with_index", &[1], "each element with its index"),
    ("empty?", &[1], "whether there are no elements"),
];

/// `Enum.fun(args)` over a list, a range or a map.
pub async fn call(ev: &mut Eval<'_>, fun: &str, args: Vec<Term>) -> R {
    let items = enumerate(&args[0])?;
    match fun {
        "map" => {
            let mut out = Vec::with_capacity(items.len());
            for i in items {
                out.push(ev.apply(&args[1], vec![i]).await?);
            }
            Ok(Term::list(out))
        }
        "each" => {
            for i in items {
                ev.apply(&args[1], vec![i]).await?;
            }
            ok()
        }
        "filter" => {
            let mut out = vec![];
            for i in items {
                if ev.apply(&args[1], vec![i.clone()]).await?.truthy() {
                    out.push(i);
                }
            }
            Ok(Term::list(out))
        }
        "reduce" => {
            let mut acc = args[1].clone();
            for i in items {
                acc = ev.apply(&args[2], vec![i, acc]).await?;
            }
            Ok(acc)
        }
        "count" => Ok(Term::from(items.len())),
        "sum" => items
            .into_iter()
            .try_fold(Term::Int(0), |acc, x| match (acc, x) {
                (Term::Int(a), Term::Int(b)) => a
                    .checked_add(b)
                    .map(Term::Int)
                    .ok_or_else(|| raise("ArithmeticError", "integer overflow")),
                (a, b) => match (num(&a), num(&b)) {
                    (Some(a), Some(b)) => Ok(Term::Float(a + b)),
                    _ => Err(ExitReason::badarith("+", &[&a, &b])),
                },
            }),
        "to_list" => Ok(Term::list(items)),
        "take" => Ok(Term::List(
            items
                .into_iter()
                .take(int_of(&args[1])?.max(0) as usize)
                .collect(),
        )),
        "at" => Ok(items
            .get(int_of(&args[1])?.max(0) as usize)
            .cloned()
            .unwrap_or_else(Term::nil)),
        "member?" => Ok(Term::bool(items.iter().any(|x| loose_eq(x, &args[1])))),
        "sort" => {
            let mut v = items;
            v.sort();
            Ok(Term::list(v))
        }
        "max" => items
            .into_iter()
            .max()
            .ok_or_else(|| raise("Enum.EmptyError", "empty error")),
        "min" => items
            .into_iter()
            .min()
            .ok_or_else(|| raise("Enum.EmptyError", "empty error")),
        "reverse" => Ok(Term::List(items.into_iter().rev().collect())),
        "join" => {
            let sep = args.get(1).map(to_string).unwrap_or_default();
            Ok(Term::str(
                items.iter().map(to_string).collect::<Vec<_>>().join(&sep),
            ))
        }
        "with_index" => Ok(Term::List(
            items
                .into_iter()
                .enumerate()
                .map(|(i, x)| Term::tuple(vec![x, Term::from(i)]))
                .collect(),
        )),
        "empty?" => Ok(Term::bool(items.is_empty())),
        _ => Err(undefined_function("Enum", fun, args.len(), ENUM)),
    }
}
