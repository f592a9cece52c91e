//! iex's helpers: `h` (the documentation of the built-ins, read from their tables), `i` (what
//! a value is, in iex's sections) and `recompile`.

use crate::runtime::{Term, atom};
use crate::shell::ast::{BinOp, Expr, ExprKind};
use crate::shell::context::{Eval, R, silent};

use super::{MODULES, module_functions};

/// The topic of `h` when its argument names one, as iex's `h` macro reads its argument
/// without evaluating it: `Todo.Cache`, `:ets`, `Process.info`, `Process.info/2`. `None` for
/// any other expression, which is evaluated and its value taken as the topic.
pub fn help_topic(expr: &Expr) -> Option<String> {
    match &expr.kind {
        ExprKind::Alias(parts) => Some(parts.join(".")),
        ExprKind::Atom(a) => Some(format!(":{a}")),
        ExprKind::RemoteCall {
            module,
            fun,
            args,
            parens: false,
        } if args.is_empty() => Some(format!("{}.{fun}", help_topic(module)?)),
        ExprKind::Binary(BinOp::Div, left, right) => match &right.kind {
            ExprKind::Int(arity) => Some(format!("{}/{arity}", help_topic(left)?)),
            _ => None,
        },
        _ => None,
    }
}

/// `h`, `h Module`, `h Module.fun`, `h Module.fun/arity`: the documentation of the built-ins.
pub fn help_text(topic: Option<&str>) -> String {
    let Some(topic) = topic.map(|t| t.trim_start_matches("Elixir.")) else {
        let mut out = String::from("Built-in modules (h Module for its functions):\n");
        for (m, funs) in MODULES {
            if !funs.is_empty() {
                out.push_str(&format!("  {m}\n"));
            }
        }
        return out.trim_end().to_string();
    };
    if let Some(funs) = module_functions(topic) {
        let mut out = format!("{topic}\n");
        for (f, arities, doc) in funs {
            let ar: Vec<String> = arities.iter().map(|a| a.to_string()).collect();
            out.push_str(&format!("  {f}/{}  {doc}\n", ar.join(",")));
        }
        return out.trim_end().to_string();
    }
    let (name, arity) = match topic.rsplit_once('/') {
        Some((name, n)) if n.parse::<usize>().is_ok() => (name, n.parse::<usize>().ok()),
        _ => (topic, None),
    };
    let Some((module, fun)) = name.rsplit_once('.') else {
        return not_loaded(topic);
    };
    let Some(funs) = module_functions(module) else {
        return not_loaded(module);
    };
    let found = funs
        .iter()
        .find(|(f, arities, _)| *f == fun && arity.is_none_or(|n| arities.contains(&n)));
    match found {
        Some((f, arities, doc)) => {
            let shown: Vec<String> = arities
                .iter()
                .filter(|a| arity.is_none_or(|n| n == **a))
                .map(|a| a.to_string())
                .collect();
            format!("{module}.{f}/{}\n  {doc}", shown.join(","))
        }
        None => format!("No documentation for {topic} was found"),
    }
}

/// iex's answer for a module it cannot find.
fn not_loaded(module: &str) -> String {
    format!("Could not load module {module}, got: nofile")
}

/// `i(term)`: prints what the value is, in iex's sections, and shows no result.
pub fn i(ev: &mut Eval<'_>, term: &Term) -> R {
    let text = describe(ev, term)
        .into_iter()
        .map(|(title, body)| {
            let body: Vec<String> = body.lines().map(|l| format!("  {l}")).collect();
            format!("{title}\n{}", body.join("\n"))
        })
        .collect::<Vec<_>>()
        .join("\n");
    ev.p.puts(text);
    Ok(silent())
}

/// The sections of `i` for a value, as iex 1.14's `IEx.Info` gives them.
fn describe(ev: &Eval<'_>, t: &Term) -> Vec<(&'static str, String)> {
    let mut out = vec![("Term", t.to_string())];
    let mut add = |title: &'static str, body: String| out.push((title, body));
    match t {
        Term::Int(_) | Term::Float(_) | Term::Atom(_) => {
            let kind = match t {
                Term::Int(_) => "Integer",
                Term::Float(_) => "Float",
                _ => "Atom",
            };
            add("Data type", kind.into());
            add("Reference modules", kind.into());
            add("Implemented protocols", SCALAR_PROTOCOLS.into());
        }
        Term::Str(s) => {
            add("Data type", "BitString".into());
            add("Byte size", s.len().to_string());
            add(
                "Description",
                "This is a string: a UTF-8 encoded binary. It's printed surrounded by\n\"double quotes\" because all UTF-8 encoded code points in it are printable.".into(),
            );
            let bytes: Vec<String> = s.bytes().map(|b| b.to_string()).collect();
            add("Raw representation", format!("<<{}>>", bytes.join(", ")));
            add("Reference modules", "String, :binary".into());
            add("Implemented protocols", STRING_PROTOCOLS.into());
        }
        Term::Binary(b) => {
            add("Data type", "BitString".into());
            add("Byte size", b.len().to_string());
            add("Reference modules", "String, :binary".into());
            add("Implemented protocols", STRING_PROTOCOLS.into());
        }
        Term::List(items) => {
            add("Data type", "List".into());
            let keyword = !items.is_empty()
                && items
                    .iter()
                    .all(|x| matches!(x.as_tuple(), Some([Term::Atom(_), _])));
            if keyword {
                add(
                    "Description",
                    "This is what is referred to as a \"keyword list\". A keyword list is a list\nof two-element tuples where the first element of each tuple is an atom.".into(),
                );
                add("Reference modules", "Keyword, List".into());
            } else {
                add("Reference modules", "List".into());
            }
            add("Implemented protocols", LIST_PROTOCOLS.into());
        }
        Term::Tuple(_) => {
            add("Data type", "Tuple".into());
            add("Reference modules", "Tuple".into());
            add("Implemented protocols", "IEx.Info, Inspect".into());
        }
        Term::Map(_) => {
            add("Data type", "Map".into());
            add("Reference modules", "Map".into());
            add(
                "Implemented protocols",
                "Collectable, Enumerable, IEx.Info, Inspect".into(),
            );
        }
        Term::Struct(s) => {
            let name = s.name.as_str().trim_start_matches("Elixir.").to_string();
            add("Data type", name.clone());
            add(
                "Description",
                "This is a struct. Structs are maps with a __struct__ key.".into(),
            );
            // Which protocols a struct implements depends on its module: not listed.
            add("Reference modules", format!("{name}, Map"));
        }
        Term::Date(d) => {
            add("Data type", "Date".into());
            add(
                "Description",
                "This is a struct representing a date. It is commonly\nrepresented using the `~D` sigil syntax, that is\ndefined in the `Kernel.sigil_D/2` macro.".into(),
            );
            add(
                "Raw representation",
                format!(
                    "%Date{{year: {}, month: {}, day: {}, calendar: Calendar.ISO}}",
                    d.year, d.month, d.day
                ),
            );
            add("Reference modules", "Date, Calendar, Map".into());
            add(
                "Implemented protocols",
                "IEx.Info, Inspect, String.Chars".into(),
            );
        }
        Term::Pid(pid) => {
            add("Data type", "PID".into());
            match ev.ctx.node.info(*pid) {
                Some(info) => {
                    add("Alive", "true".into());
                    add(
                        "Name",
                        info.registered_name
                            .map(|n| Term::Atom(n).to_string())
                            .unwrap_or_else(|| "not registered".into()),
                    );
                    let links: Vec<String> = info.links.iter().map(|p| p.to_string()).collect();
                    add(
                        "Links",
                        if links.is_empty() {
                            "none".into()
                        } else {
                            links.join(", ")
                        },
                    );
                    add("Message queue length", info.message_queue_len.to_string());
                }
                None => add("Alive", "false".into()),
            }
            add(
                "Description",
                "Use Process.info/1 to get more info about this process".into(),
            );
            add("Reference modules", "Process, Node".into());
            add("Implemented protocols", "IEx.Info, Inspect".into());
        }
        Term::Ref(_) => {
            add("Data type", "Reference".into());
            add("Implemented protocols", "IEx.Info, Inspect".into());
        }
        Term::Fun(f) => {
            add("Data type", "Function".into());
            add("Type", "local".into());
            add("Arity", f.arity().to_string());
            add("Description", "This is an anonymous function.".into());
            add(
                "Implemented protocols",
                "Enumerable, IEx.Info, Inspect".into(),
            );
        }
        Term::Opaque(_) => add("Data type", "Opaque".into()),
    }
    out
}

/// The protocols Elixir implements for atoms and numbers.
const SCALAR_PROTOCOLS: &str = "IEx.Info, Inspect, List.Chars, String.Chars";
const STRING_PROTOCOLS: &str = "Collectable, IEx.Info, Inspect, List.Chars, String.Chars";
const LIST_PROTOCOLS: &str = "Collectable, Enumerable, IEx.Info, Inspect, List.Chars, String.Chars";

/// `recompile`: iex's answer outside a Mix project, which the shell always is.
pub fn recompile(ev: &mut Eval<'_>) -> R {
    ev.p.puts("Mix is not running. Please start IEx with: iex -S mix");
    Ok(atom("error"))
}
