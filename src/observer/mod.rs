//! The live observer: a full-screen view of the running node, redrawn several times a
//! second, as Erlang's observer shows it: the supervision tree, the process table sorted by
//! mailbox, the ETS tables and the traced messages, with actions on the selected process.
//! `observe` opens it in the shell; `otplab observe` shows the same view from a second
//! terminal, attached over a Unix socket the running instance owns.
//!
//! The view never calls into a process. [`sampler`] takes each [`Snapshot`] from the
//! runtime's introspection (`Node::census`, the tables, the event stream), so a process
//! stuck in a ten-second `handle_call` still shows, its mailbox growing. A snapshot is plain
//! data (serde, sent as it is to an attached viewer); drawing it is pure: [`view`] holds what
//! the person chose (panes, selection, sort) and turns keys into [`Action`]s, and the panes
//! ([`header`], [`tree`], [`procs`], [`tables`], [`messages`]) draw a snapshot into a ratatui
//! buffer, which the tests read through `TestBackend`. [`actions`] carries an action out on
//! the node, [`terminal`] runs the loop on a real terminal, and [`socket`] is the attach
//! protocol: length-prefixed bincode frames, bounded both ways. While the shell is connected
//! to a real BEAM node, [`node`] is the source instead: the node takes its own snapshots, in
//! one rex call each, and the view's actions run there.

pub mod actions;
pub mod header;
pub mod messages;
pub mod node;
pub mod procs;
pub mod render;
pub mod sampler;
pub mod socket;
pub mod tables;
pub mod terminal;
pub mod tree;
pub mod view;

use serde::{Deserialize, Serialize};

pub use render::draw;
pub use sampler::Sampler;
pub use view::View;

/// How often the view is redrawn and a snapshot taken.
pub const REFRESH: std::time::Duration = std::time::Duration::from_millis(250);
/// How long a restarted process stays highlighted.
pub const FLASH: std::time::Duration = std::time::Duration::from_secs(1);
/// Samples of each mailbox kept for its sparkline (five seconds at [`REFRESH`]).
pub const SPARK_SAMPLES: usize = 20;
/// Traced messages kept for the messages pane.
pub const MESSAGES_KEPT: usize = 200;

/// One moment of the node, everything a pane draws.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Snapshot {
    pub header: Header,
    pub tree: Vec<TreeRow>,
    pub procs: ProcPage,
    pub tables: Vec<TableRow>,
    /// The traced messages, oldest first, each already named as `trace show` names them.
    pub messages: Vec<String>,
    /// Which pids are traced from the view.
    pub traced: Vec<u64>,
    /// What the last action answered (`info`, `state`, an error), for the notice line.
    pub notice: Option<String>,
}

/// The header line's figures.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Header {
    pub processes: usize,
    pub limit: usize,
    pub messages_per_second: u64,
    pub restarts_5s: usize,
    pub speed: f64,
    pub persist: String,
}

/// One row of the supervision tree.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct TreeRow {
    /// The branch drawing before the row (`│  ├─ `).
    pub prefix: String,
    pub pid: u64,
    /// The module, with the key of its via name (`Todo.DatabaseWorker 1`).
    pub label: String,
    /// The registered name (`:todo_cache`).
    pub name: Option<String>,
    pub restarts: u32,
    /// `(one_for_one, 3 restarts in 5 s)` for a supervisor.
    pub strategy: Option<String>,
    pub queue: usize,
    /// Set while the row is highlighted: what happened (`restarted, was #PID<0.102.0>`).
    pub flash: Option<String>,
    /// The tables it owns, each with its heir, hanging under it.
    pub tables: Vec<String>,
}

/// The rows of the process table the view shows: a window of the sorted table, so that an
/// attached viewer receives a screenful whatever the number of processes.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ProcPage {
    /// Processes in the whole table.
    pub total: usize,
    /// The position of the first row in the sorted table.
    pub offset: usize,
    pub rows: Vec<ProcRow>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ProcRow {
    pub pid: u64,
    /// The registered name, or the module with its via key.
    pub name: String,
    pub queue: usize,
    /// The queue's length over the last samples, oldest first.
    pub spark: Vec<u32>,
    /// `running`, `waiting`, `sleeping`, or `waiting: call :todo_cache`.
    pub status: String,
    pub memory: usize,
    pub restarts: u32,
    pub flash: bool,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct TableRow {
    /// What `:ets.new` returned: the name of a named table, a reference otherwise.
    pub id: String,
    pub kind: String,
    pub access: String,
    pub owner: String,
    pub heir: String,
    pub size: usize,
}

/// The columns the process table sorts by.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum SortBy {
    Pid,
    Name,
    #[default]
    Mailbox,
    Status,
    Memory,
    Restarts,
}

impl SortBy {
    pub const ALL: [SortBy; 6] = [
        SortBy::Pid,
        SortBy::Name,
        SortBy::Mailbox,
        SortBy::Status,
        SortBy::Memory,
        SortBy::Restarts,
    ];

    pub fn next(self) -> SortBy {
        let i = SortBy::ALL.iter().position(|s| *s == self).unwrap_or(0);
        SortBy::ALL[(i + 1) % SortBy::ALL.len()]
    }
}

/// What a viewer asks of each snapshot: which window of the process table, sorted how.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Window {
    pub sort: SortBy,
    /// Largest first (the default for the mailbox).
    pub descending: bool,
    pub offset: usize,
    pub rows: usize,
}

impl Default for Window {
    fn default() -> Self {
        Window {
            sort: SortBy::Mailbox,
            descending: true,
            offset: 0,
            rows: 40,
        }
    }
}

/// What the person asked for with a key, carried out on the node by [`actions`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Action {
    /// `k`: the untrappable `:kill`.
    Kill(u64),
    /// `x`: an exit signal with the reason typed in.
    Exit(u64, String),
    /// `s`: `:sys.get_state`, answered in the notice line when the process answers.
    State(u64),
    /// `i`: `Process.info`.
    Info(u64),
    /// `t`: traces the process's messages into the messages pane, or stops.
    Trace(u64),
}
