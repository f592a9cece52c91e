//! otplab: an interactive shell that looks and feels like Elixir's `iex`, hosting a live,
//! supervised actor system, so that the crash and restart experiments of "Elixir in Action"
//! chapters 7 to 9 (and a talk on GenServer bottlenecks) can be reproduced line by line.
//!
//! # Crate map
//!
//! ```text
//! line ──► shell::parser ──► shell::ast::Line ──► shell::session ──► shell::commands ──► shell::eval
//!                                                                      │  (inside the shell process)
//!                                                                      ▼
//!                               shell::builtins ──► shell::system ──► todo::*, counter::*, profiler ──► runtime
//! terminal ◄── shell::printer / shell::report ◄── values and runtime::events::Event
//! ```
//!
//! - [`runtime`]: a small OTP on tokio. `node` (spawn, names, info),
//!   `signal` (exit signals, links, monitors), `call` (send, cast, call, reply, timers),
//!   `process` (the handle a process body holds), `task` (the one exit path), `mailbox`,
//!   `peers` (a process's links and monitors), `census` (the cheap walk of the process
//!   table and the supervisors' noted flags that a live view redraws from),
//!   `reply` (the `from` of a call, late replies dropped as on OTP 24+), `gen_server`,
//!   `supervisor`, `table` (ETS; its `:set` rows in `table::row`), `events`, `term` (the
//!   one value type), `term_map` (a map term's sorted pairs), `date` (a date term), `exit`
//!   (exit reasons, call and start errors), `pid`, `growmap` (the hash map of ETS rows and
//!   the registry's names, which grows a few buckets an insert instead of all at once),
//!   `liveness` (which pids are alive, by pid number, for `alive?` without the process table),
//!   `proctable` (the process table: an entry a pid number, in an array preallocated at the
//!   process limit as the BEAM's).
//! - [`todo`]: the to-do system of the book, one module a file as in `lib/todo/`: `list`,
//!   `persist` (the file format of lists and of any term, the atomic write protocol, and the
//!   lock that gives a folder one owner), `process_registry`, `database`,
//!   `database_worker`, `server`, `cache`, `server_supervisor`, `system_supervisor`,
//!   `supervisor`, `chapter7` (the unsupervised cache and server of chapter 7.2), and
//!   `chaos` (the chaos monkey of the shell's `chaos`, with its witness of acknowledged
//!   entries).
//! - [`counter`]: the talk's `Counter`, `SlowCounter`, `SlowButReponsiveCounter`,
//!   `ContIncrementer`, and iex's `Crasher`.
//! - [`profiler`]: `Profiler.run(fun, operations, concurrency)`, and in `profiler::cache` the
//!   cache workloads (seed 001's profile, the chapter's load pass) that the shell's `profile`
//!   and `loadtest` and the benchmarks share.
//! - [`bench`]: the benchmarks of issue 7 (`otplab bench NAME`), one file per
//!   `scripts/beam/*.exs` they mirror (`cache`, `loadtest`, `entries`, `primitives`, `flood`,
//!   `recovery`), and `floor` (the same work as `call`, `cast` and `spawn` with bare tokio),
//!   returning figures for the caller to print.
//! - [`observer`]: the live view (`observe`, `otplab observe`): `sampler` takes snapshots
//!   from the runtime's introspection and event stream, never calling a process; `view`
//!   (the person's choices and keys), the panes `header`, `tree`, `procs`, `tables`,
//!   `messages` and `render` draw a snapshot with ratatui and do no I/O; `actions` carries a
//!   key's action out on the node; `terminal` runs the view on a terminal; `socket` is the
//!   attach protocol (length-prefixed bincode frames over a Unix socket, bounded both ways);
//!   `node` is the source of the view while connected to a real node, which takes its own
//!   snapshots in one rex call each.
//! - [`dist`]: the Erlang distribution, for `connect NAME@HOST` and `otplab --connect`:
//!   otplab as a hidden node of a real BEAM node, through erl_dist (EPMD, the OTP 23+
//!   handshake, the control messages) and eetf (the terms). `cookie` (never shown), `name`,
//!   `error` (`DistError`, one line per fault), `frame` (bounded frames, and the check of a
//!   frame's terms before the crate decodes them), `conn` (one connection: its reader and
//!   writer tasks, `rex` calls, sends, exits, monitors, subscribed local pids, node-down and
//!   silence detection) and `convert` (wire terms to the runtime's and back; another node's
//!   pids travel as `Foreign` inside `Term::Opaque`, with the text that node shows), and
//!   `trace` (the relay `trace on` starts on the node, `trace/relay.exs`, and its records
//!   read back as the local trace's events). The node the tests and the README's
//!   walk-through connect to, the book's to-do system of chapter 9, is `scripts/beam/node/`.
//! - [`shell`]: everything a person sees, in layers, each importing only those before it:
//!   `ast` (the `commands!` table that feeds the parser, `help`, hints and completion) and
//!   `suggest` (the one did-you-mean); `parser` (`mod`, `token`, `lexer`, `expr`, `block`,
//!   `command`);
//!   `context` (`Ctx` with the attached node, `Env`, `Eval`, term conversions, the shell's call timeout, the prompt); `system`
//!   (the to-do tree the shell drives, the well-known process names); `builtins` (one file per
//!   module group, each with its table); `eval` (the Elixir subset); `commands` (typed
//!   arguments in `args`, one file per group of commands; `connect` and `remote` run them on a real node); `session` (the shell process,
//!   bindings, events turned into lines); then the front ends: `screen` (the REPL's one
//!   output path to the terminal, which ends every line and prints above the prompt),
//!   `helper` (completion, hints, colour of the line being typed), `replay` (scripts and
//!   piped input, answered line by line as it arrives) and `editor` (rustyline and the REPL).
//!   `printer` (iex's inspect with colour), `report` (crash and restart reports) and `script`
//!   (the transcript format of `run` and `check`, the step matcher, `check`'s report, and the
//!   `#beam` lines that tests/fidelity.rs reads) are pure; `record` writes a session's recording and reads transcripts within a size limit.
//!
//! # Layering rules
//!
//! - `runtime` imports nothing of this crate but itself: it knows nothing of to-do lists,
//!   counters, the shell, the observer or the distribution.
//! - `dist` imports only `runtime` (for `Term`); `shell` imports `dist` (the `connect` and
//!   `remote` commands, the context's connection, the printer's foreign terms).
//! - `observer` imports `runtime` and `shell` (how `trace show` names a process, the reason
//!   parser, the keys of `help observe`, the Elixir `tree` runs on a node) and `dist` (the
//!   wire pids the view of a node acts on); `shell` never imports `observer`: the REPL opens
//!   the view through a hook (`editor::FullScreen`) that `main.rs` hands it. `bench`
//!   imports `observer` for the redraw figures, never `shell`.
//! - `todo`, `counter` and `profiler` import `runtime` (and `profiler` the `todo` API it
//!   loads); they never import `shell` or `bench`. `bench` imports `runtime`, `todo` and
//!   `profiler`, never `shell`; `shell` never imports `bench`.
//! - Inside `shell`: `ast`, `suggest` ◄ `parser`; `record` ◄ `context` ◄ `system` ◄
//!   `builtins` ◄ `eval` ◄ `commands` ◄ `session` ◄ `screen`, `helper`, `replay` ◄ `editor`,
//!   with no import the other way. `printer`, `report` and `script` do no I/O.
//!   `tests/docs.rs` checks these rules, and that no source file is over 800 lines.
//! - Only `shell` (and `main.rs`) write to the terminal. Processes "print" by publishing
//!   `Event::Output` on the node's event stream.
//!
//! # Invariants
//!
//! - A process ends through one path (`runtime::task::Task`'s drop): names are freed before
//!   any link or monitor hears of the death (S16), then tables, monitors, links, the mailbox.
//! - A call's reply never enters the caller's mailbox; a late reply is dropped and counted.
//! - A persisted list is written atomically (temp file, fsync, rename, fsync of the folder)
//!   and read back only after its header, checksum and name are checked; user text never
//!   becomes a path.
//! - Everything printed of a user's or a file's text goes through `term::inspect_str` or
//!   `term::escape_text`.

// `if let … { if … }` is kept where the two conditions read as two steps of the rule.
#![allow(clippy::collapsible_if)]
// `counter::counter` mirrors the book's one-module-a-file layout (`Counter` in `counter.rs`).
#![allow(clippy::module_inception)]
// A module with submodules is `foo/mod.rs`, never `foo.rs` beside a `foo/` folder.
#![deny(clippy::self_named_module_files)]

pub mod bench;
pub mod counter;
pub mod dist;
pub mod observer;
pub mod profiler;
pub mod runtime;
pub mod shell;
pub mod todo;
