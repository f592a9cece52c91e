//! The syntax tree of one shell input: either a short command (`kill registry`) or an expression
//! of the Elixir subset that the seeds' iex sessions use. It exists so the parser, the evaluator
//! and the tests share one precise, span-carrying description of what was typed, and so the
//! evaluator never has to look at text again.
//!
//! Every node carries a [`Span`]: char offsets (not bytes) into the parsed text, so errors found
//! later (an unbound variable, a bad argument) can still point at a column.
//!
//! `sexp()` renders a node in a compact, fully bracketed notation used by the parser's tests and
//! for debugging: calls and special forms are `(head arg …)`, literals and containers are written
//! as Elixir writes them (`{:ok, x}`, `[1, 2]`, `%{:k => v}`), commands are `(cmd name arg …)`.

use std::fmt::Write as _;

use crate::runtime::term::{format_float, inspect_atom, inspect_str};
use crate::runtime::{Date, Pid};

/// A range of chars in the parsed text: `start` inclusive, `end` exclusive, both 0-based char
/// offsets from the start of the whole input (which may span several lines).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Default)]
pub struct Span {
    pub start: usize,
    pub end: usize,
}

impl Span {
    pub fn new(start: usize, end: usize) -> Span {
        Span { start, end }
    }
    /// The smallest span covering both.
    pub fn to(self, other: Span) -> Span {
        Span {
            start: self.start.min(other.start),
            end: self.end.max(other.end),
        }
    }
}

/// One parsed input.
#[derive(Clone, Debug, PartialEq)]
pub enum Line {
    /// Nothing but blanks and comments.
    Empty,
    /// A command of the short command language: `kill registry`.
    Command(Command),
    /// `bobs_list = server_process "Bob's list"`: a command whose result is bound to a variable.
    Bind {
        var: String,
        var_span: Span,
        command: Command,
    },
    /// Elixir: one expression, or a [`ExprKind::Block`] for `a; b` and multi-line input.
    Expr(Expr),
}

/// A command line: a known command word and its space-separated arguments.
#[derive(Clone, Debug, PartialEq)]
pub struct Command {
    pub name: CommandName,
    pub args: Vec<Arg>,
    /// From the command word to the end of the last argument.
    pub span: Span,
}

/// One argument of a command.
#[derive(Clone, Debug, PartialEq)]
pub struct Arg {
    pub kind: ArgKind,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub enum ArgKind {
    /// `"Bob's list"`, escapes decoded.
    Str(String),
    /// `42`, `100_000`, `-1`.
    Int(i64),
    /// `0.5`.
    Float(f64),
    /// `~D[2023-12-19]` or a bare `2023-12-19`.
    Date(Date),
    /// `#PID<0.142.0>`.
    Pid(Pid),
    /// `:kill` (the text without the colon).
    Atom(String),
    /// A bare identifier (`registry`, `bobs_list`, `on`, `mailbox`) or an alias (`Todo.Cache`):
    /// the evaluator decides whether it is a variable or a well-known name.
    Word(String),
    /// `--flat`, `--sort mailbox`, `--clients=10`. The name is without the dashes.
    Flag {
        name: String,
        value: Option<Box<Arg>>,
    },
    /// A bracketed Elixir term: `(1 + 2)`, `{:hello, 1}`, `[1, 2]`, `%{a: 1}`, or a string
    /// with interpolation.
    Expr(Expr),
}

/// How many positional arguments a command takes and which flags it knows.
#[derive(Clone, Copy, Debug)]
pub struct Signature {
    pub min: usize,
    pub max: usize,
    pub flags: &'static [FlagSpec],
    /// When set, the first argument must be one of these words.
    pub choices: Option<&'static [&'static str]>,
}

#[derive(Clone, Copy, Debug)]
pub struct FlagSpec {
    pub name: &'static str,
    pub takes_value: bool,
}

macro_rules! commands {
    ($($variant:ident $word:literal ($min:expr, $max:expr) $flags:expr, $choices:expr, $usage:literal, $summary:literal;)*) => {
        /// The command words of the short command language.
        #[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, PartialOrd, Ord)]
        pub enum CommandName { $($variant),* }

        impl CommandName {
            /// Every command, in the order `help` lists them.
            pub const ALL: &'static [CommandName] = &[$(CommandName::$variant),*];

            /// The word typed at the prompt.
            pub fn word(self) -> &'static str {
                match self { $(CommandName::$variant => $word),* }
            }

            /// The command spelled `word`, if any.
            pub fn from_word(word: &str) -> Option<CommandName> {
                match word { $($word => Some(CommandName::$variant),)* _ => None }
            }

            /// `add_entry LIST DATE TITLE`: the synopsis `help` shows.
            pub fn usage(self) -> &'static str {
                match self { $(CommandName::$variant => $usage),* }
            }

            /// One line saying what the command does.
            pub fn summary(self) -> &'static str {
                match self { $(CommandName::$variant => $summary),* }
            }

            /// Arity, flags and choices, checked by the parser.
            pub fn signature(self) -> Signature {
                match self {
                    $(CommandName::$variant => Signature {
                        min: $min, max: $max, flags: $flags, choices: $choices,
                    }),*
                }
            }
        }
    };
}

const NO_FLAGS: &[FlagSpec] = &[];
const PS_FLAGS: &[FlagSpec] = &[FlagSpec {
    name: "sort",
    takes_value: true,
}];
const START_FLAGS: &[FlagSpec] = &[
    FlagSpec {
        name: "flat",
        takes_value: false,
    },
    FlagSpec {
        name: "ets-cache",
        takes_value: false,
    },
    FlagSpec {
        name: "pool",
        takes_value: false,
    },
    FlagSpec {
        name: "single-db",
        takes_value: false,
    },
    FlagSpec {
        name: "spawn-db",
        takes_value: false,
    },
    FlagSpec {
        name: "bypass-db",
        takes_value: false,
    },
    FlagSpec {
        name: "init-load",
        takes_value: false,
    },
    FlagSpec {
        name: "coalesce",
        takes_value: false,
    },
    FlagSpec {
        name: "slow-db",
        takes_value: true,
    },
    FlagSpec {
        name: "no-fsync",
        takes_value: false,
    },
];
const FLOOD_FLAGS: &[FlagSpec] = &[
    FlagSpec {
        name: "call",
        takes_value: false,
    },
    FlagSpec {
        name: "cast",
        takes_value: false,
    },
    FlagSpec {
        name: "clients",
        takes_value: true,
    },
];
const CHAOS_FLAGS: &[FlagSpec] = &[
    FlagSpec {
        name: "for",
        takes_value: true,
    },
    FlagSpec {
        name: "only",
        takes_value: true,
    },
];
const TRACE_FLAGS: &[FlagSpec] = &[FlagSpec {
    name: "wide",
    takes_value: false,
}];
const TRACE_CHOICES: &[&str] = &["on", "off", "show", "mermaid"];
const REPORT_CHOICES: &[&str] = &["short", "iex", "sasl"];

commands! {
    ServerProcess "server_process" (1, 1) NO_FLAGS, None, "server_process LIST",
        "the to-do server of LIST, started on first use";
    AddEntry "add_entry" (3, 3) NO_FLAGS, None, "add_entry LIST DATE TITLE",
        "adds an entry to LIST (a cast)";
    Entries "entries" (2, 2) NO_FLAGS, None, "entries LIST DATE",
        "the entries of LIST on DATE (a call)";
    Restart "restart" (1, 1) NO_FLAGS, None, "restart LIST",
        "stops LIST's server (:shutdown) and starts a new one, which loads the list from disk";
    UpdateEntry "update_entry" (3, 3) NO_FLAGS, None, "update_entry LIST ID TITLE",
        "renames entry ID of LIST";
    DeleteEntry "delete_entry" (2, 2) NO_FLAGS, None, "delete_entry LIST ID",
        "deletes entry ID of LIST";
    Kill "kill" (1, 2) NO_FLAGS, None,
        "kill registry|cache|database|worker N|LIST|PID|VAR",
        "sends the untrappable :kill exit signal";
    Exit "exit" (2, 2) NO_FLAGS, None, "exit PID REASON", "sends an exit signal with REASON";
    Crash "crash" (1, 1) NO_FLAGS, None, "crash NAME", "makes a process raise, as a bug would";
    Whereis "whereis" (1, 1) NO_FLAGS, None, "whereis NAME", "the pid registered under NAME";
    Alive "alive?" (1, 1) NO_FLAGS, None, "alive? PID", "whether PID is alive";
    Info "info" (1, 8) NO_FLAGS, None, "info PID [KEY…]", "Process.info of PID";
    Send "send" (2, 2) NO_FLAGS, None, "send PID TERM", "sends TERM to PID";
    Flush "flush" (0, 0) NO_FLAGS, None, "flush", "prints and empties the shell's mailbox";
    Sleep "sleep" (1, 1) NO_FLAGS, None, "sleep MS", "waits MS milliseconds";
    Ps "ps" (0, 0) PS_FLAGS, None, "ps [--sort mailbox|memory]", "lists the processes (memory in bytes)";
    Tree "tree" (0, 1) NO_FLAGS, None, "tree [SUPERVISOR]", "draws the supervision tree";
    Observe "observe" (0, 0) NO_FLAGS, None, "observe",
        "the live observer: tree, processes, tables and messages, redrawn as they change (q closes)";
    State "state" (1, 1) NO_FLAGS, None, "state PID", "the state of a GenServer (:sys.get_state)";
    Trace "trace" (1, 64) TRACE_FLAGS, Some(TRACE_CHOICES),
        "trace on|off|show|mermaid [PID…] [--wide]",
        "records and shows the messages between processes (--wide: not cut to the terminal)";
    Start "start" (0, 0) START_FLAGS, None,
        "start [--flat] [--ets-cache] [--pool|--single-db|--spawn-db|--bypass-db] [--init-load] [--coalesce] [--slow-db MS] [--no-fsync]",
        "starts the to-do system";
    Stop "stop" (0, 0) NO_FLAGS, None, "stop", "stops the to-do system";
    Help "help" (0, 1) NO_FLAGS, None, "help [COMMAND]", "this help";
    History "history" (0, 0) NO_FLAGS, None, "history", "the lines typed so far";
    Clear "clear" (0, 0) NO_FLAGS, None, "clear", "clears the screen";
    Quarantine "quarantine" (1, 1) NO_FLAGS, None, "quarantine LIST",
        "moves an unreadable persist file of LIST aside";
    Speed "speed" (1, 1) NO_FLAGS, None, "speed FACTOR", "scales the virtual clock";
    Flood "flood" (2, 2) FLOOD_FLAGS, None, "flood TARGET N [--call|--cast] [--clients C]",
        "sends N requests to TARGET and watches its mailbox";
    Profile "profile" (1, 3) NO_FLAGS, None, "profile cache N C",
        "Profiler.run on the cache: N operations by C clients";
    Loadtest "loadtest" (1, 1) NO_FLAGS, None, "loadtest N", "the chapter's put/get load test";
    Chaos "chaos" (1, 1) CHAOS_FLAGS, None,
        "chaos RATE [--for DURATION] [--only registry|workers|servers|cache] | chaos off",
        "kills random processes of the to-do tree, RATE a second, and reports the damage";
    Report "report" (1, 1) NO_FLAGS, Some(REPORT_CHOICES), "report short|iex|sasl",
        "how crashes and restarts are shown: one line each, as iex, or with SASL reports";
    Record "record" (1, 1) NO_FLAGS, None, "record \"FILE\"|off",
        "records the session as a transcript for `otplab check` (off stops)";
    Connect "connect" (1, 1) NO_FLAGS, None, "connect NAME@HOST",
        "attaches to a running Erlang or Elixir node: commands and Elixir lines run there";
    Disconnect "disconnect" (0, 0) NO_FLAGS, None, "disconnect", "back to otplab's own system";
}

/// An expression of the Elixir subset.
#[derive(Clone, Debug, PartialEq)]
pub struct Expr {
    pub kind: ExprKind,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub enum ExprKind {
    Int(i64),
    Float(f64),
    /// `:kill`, `:"quoted"`, `true`, `false`, `nil` (text without the colon).
    Atom(String),
    /// `Todo.Cache`, `GenServer`: the dot-separated segments.
    Alias(Vec<String>),
    /// A string; a single `Lit` part when there is no interpolation.
    Str(Vec<StrPart>),
    Date(Date),
    Pid(Pid),
    /// A variable, including `_` and `_name`. A bare identifier that is not bound is, as in
    /// iex, a call of a zero-arity local function (`flush`, `self`): the evaluator decides.
    Var(String),
    /// `^x`, in patterns.
    Pin(String),
    /// `[1, 2]`, `[h | t]`. A keyword list `[a: 1]` is a list of `{:a, 1}` tuples.
    List {
        items: Vec<Expr>,
        tail: Option<Box<Expr>>,
    },
    Tuple(Vec<Expr>),
    /// `%{date: d}` (the key is an atom expression) or `%{"k" => v}`.
    Map(Vec<(Expr, Expr)>),
    /// `%{map | k: v}`.
    MapUpdate {
        base: Box<Expr>,
        pairs: Vec<(Expr, Expr)>,
    },
    /// `first..last`.
    Range(Box<Expr>, Box<Expr>),
    /// `pattern = expr`.
    Match(Box<Expr>, Box<Expr>),
    Unary(UnOp, Box<Expr>),
    Binary(BinOp, Box<Expr>, Box<Expr>),
    /// `self()`, `spawn(fn -> … end)`, `h Todo.Cache` (`parens: false`).
    LocalCall {
        name: String,
        args: Vec<Expr>,
        parens: bool,
    },
    /// `Todo.Cache.server_process(c, "x")`, `:ets.new(:t, [])`, `Process.alive? pid`,
    /// `Todo.Supervisor.start_link`, and `module.fun(args)` with a variable module.
    RemoteCall {
        module: Box<Expr>,
        fun: String,
        args: Vec<Expr>,
        parens: bool,
    },
    /// `state.count`: a map field.
    Field(Box<Expr>, String),
    /// `f.(args)`.
    Apply {
        fun: Box<Expr>,
        args: Vec<Expr>,
    },
    /// `fn clauses end`.
    Fn(Vec<Clause>),
    /// `if`/`else`; each branch is a single expression or a block.
    If {
        cond: Box<Expr>,
        then: Box<Expr>,
        otherwise: Option<Box<Expr>>,
    },
    Case {
        subject: Box<Expr>,
        clauses: Vec<Clause>,
    },
    /// `receive do clauses [after timeout -> body] end`.
    Receive {
        clauses: Vec<Clause>,
        after: Option<(Box<Expr>, Box<Expr>)>,
    },
    /// `for x <- list, filter, do: body`.
    For {
        qualifiers: Vec<Qualifier>,
        body: Box<Expr>,
    },
    /// `alias Todo.Cache`, `alias Todo.{Cache, Supervisor}`, `alias Todo.Cache, as: C`.
    AliasDirective(Vec<AliasEntry>),
    /// Expressions run in order, the value of the last one is the result (`a; b`, or lines).
    Block(Vec<Expr>),
}

#[derive(Clone, Debug, PartialEq)]
pub enum StrPart {
    Lit(String),
    Interp(Expr),
}

/// One clause of `fn`, `case` or `receive`: `params [when guard] -> body`.
#[derive(Clone, Debug, PartialEq)]
pub struct Clause {
    pub params: Vec<Expr>,
    pub guard: Option<Expr>,
    pub body: Expr,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Qualifier {
    /// `pattern <- source`.
    Generator { pattern: Expr, source: Expr },
    /// Any other expression: elements for which it is falsy are skipped.
    Filter(Expr),
}

/// One name made available by `alias`: `Todo.Cache` reachable as `Cache`.
#[derive(Clone, Debug, PartialEq)]
pub struct AliasEntry {
    pub module: Vec<String>,
    pub as_name: String,
    pub span: Span,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum UnOp {
    /// `-x`
    Neg,
    /// `+x`
    Plus,
    /// `not x` (strict boolean)
    Not,
    /// `!x` (truthiness)
    Bang,
}

impl UnOp {
    pub fn text(self) -> &'static str {
        match self {
            UnOp::Neg => "-",
            UnOp::Plus => "+",
            UnOp::Not => "not",
            UnOp::Bang => "!",
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum BinOp {
    Add,
    Sub,
    Mul,
    Div,
    Eq,
    Ne,
    StrictEq,
    StrictNe,
    Lt,
    Gt,
    Le,
    Ge,
    /// `and` (strict boolean)
    And,
    /// `or` (strict boolean)
    Or,
    /// `&&`
    AndAnd,
    /// `||`
    OrOr,
    /// `<>`
    Concat,
    /// `++`
    ListConcat,
    /// `--`
    ListSub,
    In,
    NotIn,
    /// `|>`: the left value becomes the first argument of the call on the right.
    Pipe,
}

impl BinOp {
    pub fn text(self) -> &'static str {
        match self {
            BinOp::Add => "+",
            BinOp::Sub => "-",
            BinOp::Mul => "*",
            BinOp::Div => "/",
            BinOp::Eq => "==",
            BinOp::Ne => "!=",
            BinOp::StrictEq => "===",
            BinOp::StrictNe => "!==",
            BinOp::Lt => "<",
            BinOp::Gt => ">",
            BinOp::Le => "<=",
            BinOp::Ge => ">=",
            BinOp::And => "and",
            BinOp::Or => "or",
            BinOp::AndAnd => "&&",
            BinOp::OrOr => "||",
            BinOp::Concat => "<>",
            BinOp::ListConcat => "++",
            BinOp::ListSub => "--",
            BinOp::In => "in",
            BinOp::NotIn => "not in",
            BinOp::Pipe => "|>",
        }
    }
}

impl Line {
    /// The test notation of the whole line.
    pub fn sexp(&self) -> String {
        match self {
            Line::Empty => "(empty)".to_string(),
            Line::Command(c) => c.sexp(),
            Line::Bind { var, command, .. } => format!("(bind {var} {})", command.sexp()),
            Line::Expr(e) => e.sexp(),
        }
    }
}

impl Command {
    pub fn sexp(&self) -> String {
        let mut out = format!("(cmd {}", self.name.word());
        for a in &self.args {
            out.push(' ');
            out.push_str(&a.sexp());
        }
        out.push(')');
        out
    }
}

impl Arg {
    pub fn sexp(&self) -> String {
        match &self.kind {
            ArgKind::Str(s) => inspect_str(s),
            ArgKind::Int(i) => i.to_string(),
            ArgKind::Float(f) => format_float(*f),
            ArgKind::Date(d) => d.to_string(),
            ArgKind::Pid(p) => p.to_string(),
            ArgKind::Atom(a) => inspect_atom(a),
            ArgKind::Word(w) => w.clone(),
            ArgKind::Flag { name, value: None } => format!("--{name}"),
            ArgKind::Flag {
                name,
                value: Some(v),
            } => format!("--{name}={}", v.sexp()),
            ArgKind::Expr(e) => format!("(expr {})", e.sexp()),
        }
    }
}

impl Expr {
    pub fn new(kind: ExprKind, span: Span) -> Expr {
        Expr { kind, span }
    }

    /// The test notation of this expression.
    pub fn sexp(&self) -> String {
        let mut out = String::new();
        self.write_sexp(&mut out);
        out
    }

    fn write_sexp(&self, out: &mut String) {
        use ExprKind::*;
        match &self.kind {
            Int(i) => {
                let _ = write!(out, "{i}");
            }
            Float(f) => out.push_str(&format_float(*f)),
            Atom(a) => out.push_str(&inspect_atom(a)),
            Alias(parts) => out.push_str(&parts.join(".")),
            Str(parts) => match parts.as_slice() {
                [] => out.push_str("\"\""),
                [StrPart::Lit(s)] => out.push_str(&inspect_str(s)),
                _ => {
                    out.push_str("(str");
                    for p in parts {
                        out.push(' ');
                        match p {
                            StrPart::Lit(s) => out.push_str(&inspect_str(s)),
                            StrPart::Interp(e) => e.write_sexp(out),
                        }
                    }
                    out.push(')');
                }
            },
            Date(d) => {
                let _ = write!(out, "{d}");
            }
            Pid(p) => {
                let _ = write!(out, "{p}");
            }
            Var(v) => out.push_str(v),
            Pin(v) => {
                let _ = write!(out, "^{v}");
            }
            List { items, tail } => {
                out.push('[');
                seq(out, items);
                if let Some(t) = tail {
                    out.push_str(" | ");
                    t.write_sexp(out);
                }
                out.push(']');
            }
            Tuple(items) => {
                out.push('{');
                seq(out, items);
                out.push('}');
            }
            Map(pairs) => {
                out.push_str("%{");
                pairs_sexp(out, pairs);
                out.push('}');
            }
            MapUpdate { base, pairs } => {
                out.push_str("%{");
                base.write_sexp(out);
                out.push_str(" | ");
                pairs_sexp(out, pairs);
                out.push('}');
            }
            Range(a, b) => form(out, "..", &[a, b]),
            Match(a, b) => form(out, "=", &[a, b]),
            Unary(op, e) => form(out, op.text(), &[e]),
            Binary(op, a, b) => form(out, op.text(), &[a, b]),
            LocalCall { name, args, .. } => {
                out.push('(');
                out.push_str(name);
                for a in args {
                    out.push(' ');
                    a.write_sexp(out);
                }
                out.push(')');
            }
            RemoteCall {
                module, fun, args, ..
            } => {
                out.push('(');
                match &module.kind {
                    Alias(_) | Atom(_) => {
                        module.write_sexp(out);
                        out.push('.');
                        out.push_str(fun);
                    }
                    _ => {
                        out.push_str(". ");
                        module.write_sexp(out);
                        out.push(' ');
                        out.push_str(fun);
                    }
                }
                for a in args {
                    out.push(' ');
                    a.write_sexp(out);
                }
                out.push(')');
            }
            Field(e, name) => {
                out.push_str("(.field ");
                e.write_sexp(out);
                out.push(' ');
                out.push_str(name);
                out.push(')');
            }
            Apply { fun, args } => {
                out.push_str("(.() ");
                fun.write_sexp(out);
                for a in args {
                    out.push(' ');
                    a.write_sexp(out);
                }
                out.push(')');
            }
            Fn(clauses) => {
                out.push_str("(fn");
                clauses_sexp(out, clauses);
                out.push(')');
            }
            If {
                cond,
                then,
                otherwise,
            } => {
                out.push_str("(if ");
                cond.write_sexp(out);
                out.push(' ');
                then.write_sexp(out);
                if let Some(e) = otherwise {
                    out.push(' ');
                    e.write_sexp(out);
                }
                out.push(')');
            }
            Case { subject, clauses } => {
                out.push_str("(case ");
                subject.write_sexp(out);
                clauses_sexp(out, clauses);
                out.push(')');
            }
            Receive { clauses, after } => {
                out.push_str("(receive");
                clauses_sexp(out, clauses);
                if let Some((t, body)) = after {
                    out.push_str(" (after ");
                    t.write_sexp(out);
                    out.push(' ');
                    body.write_sexp(out);
                    out.push(')');
                }
                out.push(')');
            }
            For { qualifiers, body } => {
                out.push_str("(for");
                for q in qualifiers {
                    out.push(' ');
                    match q {
                        Qualifier::Generator { pattern, source } => {
                            form(out, "<-", &[pattern, source]);
                        }
                        Qualifier::Filter(e) => {
                            out.push_str("(filter ");
                            e.write_sexp(out);
                            out.push(')');
                        }
                    }
                }
                out.push(' ');
                body.write_sexp(out);
                out.push(')');
            }
            AliasDirective(entries) => {
                out.push_str("(alias");
                for e in entries {
                    let _ = write!(out, " {} as {}", e.module.join("."), e.as_name);
                }
                out.push(')');
            }
            Block(items) => {
                out.push_str("(block");
                for e in items {
                    out.push(' ');
                    e.write_sexp(out);
                }
                out.push(')');
            }
        }
    }
}

fn seq(out: &mut String, items: &[Expr]) {
    for (i, e) in items.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        e.write_sexp(out);
    }
}

fn pairs_sexp(out: &mut String, pairs: &[(Expr, Expr)]) {
    for (i, (k, v)) in pairs.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        k.write_sexp(out);
        out.push_str(" => ");
        v.write_sexp(out);
    }
}

fn form(out: &mut String, head: &str, args: &[&Expr]) {
    out.push('(');
    out.push_str(head);
    for a in args {
        out.push(' ');
        a.write_sexp(out);
    }
    out.push(')');
}

fn clauses_sexp(out: &mut String, clauses: &[Clause]) {
    for c in clauses {
        out.push_str(" (");
        seq(out, &c.params);
        if let Some(g) = &c.guard {
            out.push_str(" when ");
            g.write_sexp(out);
        }
        if !c.params.is_empty() || c.guard.is_some() {
            out.push(' ');
        }
        out.push_str("-> ");
        c.body.write_sexp(out);
        out.push(')');
    }
}
