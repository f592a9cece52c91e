//! A shell session: the shell process, the bindings, the prompt counter and the node's event
//! stream, turned into lines of output. The REPL, `otplab run/check` and piped input all go
//! through [`Session::eval`], so they print the same things in the same order.
//!
//! The shell is itself a process (`self()`), so messages, DOWNs and trapped exits land in its
//! mailbox for `flush()`, and a linked process that dies takes it down as in iex: the session
//! prints `** (EXIT from #PID<…>) shell process exited with reason: …`, starts a new shell
//! process with a new pid, resets the prompt counter and keeps the bindings.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{broadcast, mpsc, oneshot};

use crate::runtime::{Event, Events, ExitReason, Node, NodeConfig, Pid, Process, SpawnOpts, Term};
use crate::todo::Config;

use super::ast::{Command, CommandName, Line, Span};
use super::context::{Ctx, Env, Eval, Results, at_prompt, warning_text};
use super::printer::Style;
use super::report::{self, Level};
use super::{commands, parser, printer, system};

/// The longest a line's consequences are waited for before the next prompt. Restarts and
/// their `Starting …` lines take a few milliseconds; the limit only matters when some
/// process keeps running, and then the line must not take longer than its own work.
pub const SETTLE_LIMIT: Duration = Duration::from_millis(200);

/// Ctrl-C, as the REPL hands it to the evaluation in progress.
///
/// Ctrl-C raises SIGINT only while the line editor is not reading (while it reads, the key
/// is the editor's): while a line is evaluated, or in the moment between the Enter that
/// ends a line and the start of its evaluation. A Ctrl-C in that moment is meant for the
/// line just entered, so it is kept for a short while and cancels that evaluation as soon
/// as it starts. A SIGINT sent from outside while the editor reads cancels nothing.
///
/// Whether the editor was reading is decided when the signal is delivered
/// ([`Interrupt::delivered`], run in the signal handler), not when the REPL's task gets
/// round to it: by then the editor may have read the next line, and a signal sent at an
/// idle prompt would cancel a line typed after it.
#[derive(Default)]
pub struct Interrupt {
    armed: Option<oneshot::Sender<()>>,
    early: Option<std::time::Instant>,
}

/// Whether the line editor is reading, for the signal handler.
static EDITOR_READING: AtomicBool = AtomicBool::new(false);
/// A SIGINT was delivered while the editor was not reading, and no task has taken it yet.
static SIGINT_FOR_EVALUATION: AtomicBool = AtomicBool::new(false);

/// How long a Ctrl-C that came before its evaluation started still counts for it.
const EARLY_INTERRUPT: Duration = Duration::from_millis(250);

impl Interrupt {
    /// Runs inside the SIGINT handler, so it touches nothing but two atomics (which are
    /// async-signal-safe): it notes whether the signal is meant for an evaluation.
    pub fn delivered() {
        if !EDITOR_READING.load(Ordering::SeqCst) {
            SIGINT_FOR_EVALUATION.store(true, Ordering::SeqCst);
        }
    }

    /// Takes the note [`Interrupt::delivered`] left: whether a SIGINT since the last call
    /// came while the editor was not reading.
    pub fn take_delivered() -> bool {
        SIGINT_FOR_EVALUATION.swap(false, Ordering::SeqCst)
    }

    /// A Ctrl-C meant for an evaluation: cancels the one in progress, or the one about to
    /// start.
    pub fn fire(&mut self) {
        match self.armed.take() {
            Some(tx) => {
                let _ = tx.send(());
            }
            None => self.early = Some(std::time::Instant::now()),
        }
    }

    /// Whether the line editor is reading: set by the editor itself, around each read.
    pub fn set_reading(&mut self, reading: bool) {
        EDITOR_READING.store(reading, Ordering::SeqCst);
        if reading {
            self.early = None;
        }
    }

    fn arm(&mut self, tx: oneshot::Sender<()>) {
        if self
            .early
            .take()
            .is_some_and(|at| at.elapsed() < EARLY_INTERRUPT)
        {
            let _ = tx.send(());
        } else {
            self.armed = Some(tx);
        }
    }

    fn disarm(&mut self) {
        self.armed = None;
        self.early = None;
    }
}

/// How a session starts.
#[derive(Clone, Debug)]
pub struct Options {
    pub color: bool,
    /// Start with nothing running (no to-do system).
    pub bare: bool,
    pub config: Config,
    pub speed: f64,
    pub level: Level,
    pub max_processes: usize,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            color: false,
            bare: false,
            config: Config::default(),
            speed: 1.0,
            level: Level::Short,
            max_processes: crate::runtime::process::DEFAULT_MAX_PROCESSES,
        }
    }
}

type Outcome = Result<Term, ExitReason>;

struct Job {
    seq: u64,
    line: Line,
    env: Env,
    reply: oneshot::Sender<(Env, Outcome)>,
    cancel: oneshot::Receiver<()>,
}

pub struct Session {
    pub node: Node,
    pub ctx: Arc<Ctx>,
    pub env: Env,
    shell: Pid,
    jobs: mpsc::UnboundedSender<Job>,
    events: Events,
    /// The `N` of `iex(N)>`.
    pub counter: u32,
    style: Style,
    /// Set by a Ctrl-C: cancels the evaluation in progress.
    cancel: Arc<Mutex<Interrupt>>,
    seq: u64,
    /// The evaluation after which a settle last found the node quiet. A second settle for the
    /// same evaluation (an error settles before its lines, and the front end after them)
    /// needs one more quiet look, not three: nothing of the shell ran between the two.
    settled: Option<u64>,
    /// What booting the system printed, before the first prompt.
    pub boot_output: Vec<String>,
}

/// What the banner says, as iex's first line.
pub fn banner(node: &Node) -> String {
    let speed = node.speed();
    let scale = if speed != 1.0 {
        format!(", sleeps scaled {speed}x faster")
    } else {
        String::new()
    };
    format!(
        "Interactive otplab ({}) - an iex for supervised processes{scale} (type help ENTER for help)",
        env!("CARGO_PKG_VERSION")
    )
}

impl Session {
    /// A new node with the to-do system booted (unless `bare`) and a shell process.
    pub async fn start(opts: Options) -> Session {
        let node = Node::new(NodeConfig {
            max_processes: opts.max_processes,
            ..Default::default()
        });
        node.set_speed(opts.speed);
        let events = node.events();
        let ctx = Arc::new(Ctx {
            node: node.clone(),
            config: Mutex::new(Arc::new(opts.config.clone())),
            system: Mutex::new(None),
            level: Mutex::new(opts.level),
            trace: Mutex::new(Default::default()),
            history: Mutex::new(vec![]),
            results: Mutex::new(Results::default()),
            warnings: Mutex::new(vec![]),
            color: opts.color,
            width: Default::default(),
            recording: Default::default(),
            shell: Default::default(),
            can_observe: Default::default(),
            observe: Default::default(),
            remote: Default::default(),
        });
        let (jobs, shell) = spawn_shell(&node, ctx.clone());
        let mut session = Session {
            node,
            ctx,
            env: Env::default(),
            shell,
            jobs,
            events,
            counter: 1,
            style: Style { color: opts.color },
            cancel: Arc::new(Mutex::new(Interrupt::default())),
            seq: 0,
            settled: None,
            boot_output: vec![],
        };
        if !opts.bare {
            let config = Arc::new(opts.config);
            if let Ok(pid) = crate::todo::supervisor::start(&session.node, config).await {
                *session.ctx.system.lock().unwrap() = Some(pid);
            }
            session.boot_output = session.settle().await;
        }
        session
    }

    pub fn shell_pid(&self) -> Pid {
        self.shell
    }

    /// The terminal's columns that what the next lines print must fit in (`None`: no limit).
    pub fn set_width(&self, columns: Option<usize>) {
        self.ctx.set_width(columns);
    }

    /// A handle a Ctrl-C handler uses to cancel the evaluation in progress.
    pub fn canceller(&self) -> Arc<Mutex<Interrupt>> {
        self.cancel.clone()
    }

    /// Evaluates one input (possibly several lines) and returns everything it printed, in
    /// order: process output and reports that happened during it, then the result or error.
    pub async fn eval(&mut self, text: &str) -> Vec<String> {
        self.ctx.history.lock().unwrap().push(text.to_string());
        let mut out = self.drain();
        if let Some(gone) = commands::remote::went_down(&self.ctx) {
            out.extend(self.error_lines(&gone));
        }
        if let Some(remote) = self.ctx.remote() {
            // On a node, a line that is not a command is the node's Elixir, sent as typed:
            // the node's parser is the judge, not otplab's subset.
            if !commands::remote::is_command(text) {
                if text.trim().is_empty() {
                    return out;
                }
                let result = commands::remote::eval_text(&self.ctx, &remote, text).await;
                // What the line printed (its group leader is otplab) comes before its value.
                out.extend(self.drain());
                match result {
                    Ok(value) => {
                        out.extend(
                            printer::inspect(&value, &self.style)
                                .lines()
                                .map(str::to_string),
                        );
                        self.counter += 1;
                    }
                    // A line cut short by the node going away says that, once.
                    Err(reason) => {
                        let reason = commands::remote::went_down(&self.ctx).unwrap_or(reason);
                        out.extend(self.error_lines(&reason));
                    }
                }
                return out;
            }
        }
        let line = match parser::parse_line(text) {
            Ok(line) => line,
            Err(e) => {
                out.push(printer::parse_error(&e, text, self.counter, &self.style));
                return out;
            }
        };
        if line == Line::Empty {
            return out;
        }
        let (reply_tx, reply_rx) = oneshot::channel();
        let (cancel_tx, cancel_rx) = oneshot::channel();
        self.cancel.lock().unwrap().arm(cancel_tx);
        // A warning left by a line that ended without an answer (the shell died) is not this
        // line's.
        self.ctx.warnings.lock().unwrap().clear();
        self.seq += 1;
        let job = Job {
            seq: self.seq,
            line,
            env: self.env.clone(),
            reply: reply_tx,
            cancel: cancel_rx,
        };
        let answer = match self.jobs.send(job) {
            Ok(()) => reply_rx.await.ok(),
            Err(_) => None,
        };
        self.cancel.lock().unwrap().disarm();
        self.write_warnings();
        match answer {
            Some((env, Ok(value))) => {
                let (now, logged) = self.drain_to_mark_split(self.seq);
                out.extend(now);
                self.env = env;
                if value != commands::silent() {
                    out.extend(
                        printer::inspect(&value, &self.style)
                            .lines()
                            .map(str::to_string),
                    );
                }
                out.extend(logged);
                self.ctx.results.lock().unwrap().push(value);
                self.counter += 1;
            }
            Some((_, Err(reason))) if reason == ExitReason::atom("respawn") => {
                self.respawn();
                out.extend(self.drain());
            }
            Some((_, Err(reason))) => {
                out.extend(self.drain_to_mark(self.seq));
                // An error is often the echo of a crash (a call to a server that died): its
                // consequences (the supervisor's restart) print first, as in iex's transcript,
                // and every time in the same order.
                out.extend(self.settle().await);
                out.extend(self.error_lines(&at_prompt(reason, self.counter)));
            }
            None => {
                // The shell process died during the evaluation: its exit is among the events.
                self.wait_for_exit_event().await;
                out.extend(self.drain());
            }
        }
        out
    }

    /// Lets asynchronous consequences of the last input (restarts, `Starting …` prints)
    /// happen before the next prompt, and returns what they printed. It ends as soon as no
    /// process is runnable, and in any case after [`SETTLE_LIMIT`]: a process that keeps
    /// running (a busy loop, a flood being drained) prints what it prints later, when it
    /// happens, and never holds up the prompt.
    pub async fn settle(&mut self) -> Vec<String> {
        let deadline = tokio::time::Instant::now() + SETTLE_LIMIT;
        let mut quiet = if self.settled == Some(self.seq) { 2 } else { 0 };
        self.settled = None;
        while tokio::time::Instant::now() < deadline {
            // Three quiet looks in a row, a yield apart: every process that can run gets to
            // run between two looks. [`Node::quiescent`] sees an exit signal on its way (the
            // shell's own death included), so no timer round is needed to let one arrive; the
            // old 2 ms looks after each line cost about 6 ms, most of the wall time from
            // start to the prompt.
            if self.node.quiescent(self.shell) {
                quiet += 1;
                if quiet >= 3 {
                    self.settled = Some(self.seq);
                    break;
                }
                tokio::task::yield_now().await;
            } else {
                quiet = 0;
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
        }
        self.drain()
    }

    /// Waits for the next event and returns what it prints (possibly nothing), for the REPL's
    /// live output above the prompt.
    pub async fn next_output(&mut self) -> Vec<String> {
        match self.events.recv().await {
            Ok(event) => self.handle(event),
            Err(broadcast::error::RecvError::Lagged(n)) => vec![format!(
                "[{n} events were not shown: the node was busier than the terminal]"
            )],
            Err(broadcast::error::RecvError::Closed) => {
                std::future::pending::<()>().await;
                vec![]
            }
        }
    }

    /// What was published before the shell marked the end of evaluation `seq`.
    fn drain_to_mark(&mut self, seq: u64) -> Vec<String> {
        let (mut out, logged) = self.drain_to_mark_split(seq);
        out.extend(logged);
        out
    }

    /// [`Session::drain_to_mark`] in two parts: what the processes printed, and the logger's
    /// crash reports ([`report::from_logger`]), which come after the line's answer.
    fn drain_to_mark_split(&mut self, seq: u64) -> (Vec<String>, Vec<String>) {
        let mut out = vec![];
        let mut logged = vec![];
        let level = *self.ctx.level.lock().unwrap();
        loop {
            match self.events.try_recv() {
                Ok(Event::Mark { seq: s, .. }) if s == seq => break,
                Ok(event) if report::from_logger(&event, level) => {
                    logged.extend(self.handle(event))
                }
                Ok(event) => out.extend(self.handle(event)),
                Err(broadcast::error::TryRecvError::Lagged(n)) => {
                    out.push(format!("[{n} events were not shown]"))
                }
                Err(_) => break,
            }
        }
        (out, logged)
    }

    /// Everything already published, formatted.
    pub fn drain(&mut self) -> Vec<String> {
        let mut out = vec![];
        loop {
            match self.events.try_recv() {
                Ok(event) => out.extend(self.handle(event)),
                Err(broadcast::error::TryRecvError::Lagged(n)) => {
                    out.push(format!("[{n} events were not shown]"))
                }
                Err(_) => break,
            }
        }
        out
    }

    fn handle(&mut self, event: Event) -> Vec<String> {
        if let Event::Trace(t) = &event {
            commands::record_trace(&self.ctx, t);
        }
        if let Event::Exited(e) = &event
            && e.pid == self.shell
        {
            let (pid, reason) = (e.pid, &e.reason);
            let mut lines = vec![];
            let words = report::describe_exit(reason);
            lines.push(format!(
                "** (EXIT from {pid}) shell process exited with reason: {words}"
            ));
            lines.extend(system::start_link_hint(reason).map(str::to_string));
            self.respawn();
            lines.push(String::new());
            lines.push(banner(&self.node));
            return lines;
        }
        let level = *self.ctx.level.lock().unwrap();
        report::format(&event, level, self.style.color)
    }

    /// iex's new shell after the old one died: a new evaluator, so the bindings, aliases and
    /// results of the old one are gone and the prompt counts from 1 again.
    fn respawn(&mut self) {
        self.env = Env::default();
        self.ctx.results.lock().unwrap().clear();
        let (jobs, shell) = spawn_shell(&self.node, self.ctx.clone());
        self.jobs = jobs;
        self.shell = shell;
        self.counter = 1;
    }

    async fn wait_for_exit_event(&mut self) {
        let old = self.shell;
        for _ in 0..10_000 {
            if !self.node.alive(old) && self.node.tasks() == self.node.count() {
                return;
            }
            tokio::task::yield_now().await;
        }
    }

    /// iex's error block for an evaluation that raised or exited.
    /// Writes the compiler warnings of the input just evaluated on standard error, where iex
    /// writes them, so a terminal shows them above the input's error and a transcript (standard
    /// output, as iex's is compared) does not hold them.
    fn write_warnings(&self) {
        let warnings = std::mem::take(&mut *self.ctx.warnings.lock().unwrap());
        let mut stderr = std::io::stderr().lock();
        for message in warnings {
            let text = warning_text(&message, self.counter, self.style.color);
            let _ = std::io::Write::write_all(&mut stderr, text.as_bytes());
        }
    }

    fn error_lines(&self, reason: &ExitReason) -> Vec<String> {
        report::error_block(reason)
            .iter()
            .map(|line| {
                let line = crate::runtime::term::escape_text(line);
                if self.style.color && !line.is_empty() {
                    owo_colors::OwoColorize::red(&line).to_string()
                } else {
                    line
                }
            })
            .collect()
    }

    /// The prompt for the next input.
    pub fn prompt(&self) -> String {
        let node = self.ctx.remote().map(|r| r.node());
        crate::shell::context::prompt(self.counter, node.as_deref(), false)
    }

    /// Stops the system in order and the shell, for a clean exit.
    pub async fn shutdown(mut self) {
        let (tx, rx) = oneshot::channel();
        let line = Line::Command(Command {
            name: CommandName::Stop,
            args: vec![],
            span: Span::new(0, 0),
        });
        let (_c, cancel) = oneshot::channel();
        if self
            .jobs
            .send(Job {
                seq: 0,
                line,
                env: self.env.clone(),
                reply: tx,
                cancel,
            })
            .is_ok()
        {
            let _ = rx.await;
        }
        self.node.exit(self.shell, self.shell, ExitReason::Kill);
        let _ = self.drain();
    }
}

/// Spawns a shell process serving evaluation jobs; returns its job queue and pid.
fn spawn_shell(node: &Node, ctx: Arc<Ctx>) -> (mpsc::UnboundedSender<Job>, Pid) {
    let (tx, mut rx) = mpsc::unbounded_channel::<Job>();
    let shell_slot = ctx.shell.clone();
    let pid = node
        .spawn(SpawnOpts { label: Some(Arc::from("IEx.Evaluator")), ..Default::default() }, move |p: &mut Process| {
            Box::pin(async move {
                while let Some(job) = rx.recv().await {
                    let Job { seq, line, env, reply, cancel } = job;
                    let mut ev = Eval { p: &mut *p, ctx: &ctx, env };
                    let outcome = tokio::select! {
                        r = run_line(&mut ev, &line) => r,
                        _ = cancel => Err(ExitReason::exception("Interrupted", "the evaluation was cancelled with Ctrl-C; the system keeps running")),
                    };
                    // iex's evaluator prints its answer itself, a request to its group
                    // leader that waits for the reply; an exit signal that arrives meanwhile
                    // (a linked process that crashed during the line) kills it before
                    // anything is printed. Yielding here is that wait: a shell killed by then
                    // is aborted and sends no answer.
                    tokio::task::yield_now().await;
                    let env = ev.env;
                    let node = p.node().clone();
                    node.publish(Event::Mark { pid: p.pid(), seq });
                    let _ = reply.send((env, outcome));
                }
                ExitReason::Normal
            })
        })
        .expect("the shell process starts");
    shell_slot.store(pid.0, std::sync::atomic::Ordering::Relaxed);
    (tx, pid)
}

async fn run_line(ev: &mut Eval<'_>, line: &Line) -> Outcome {
    match line {
        Line::Empty => Ok(commands::silent()),
        Line::Expr(e) => ev.eval(e).await,
        Line::Command(c) => commands::run(ev, c).await,
        Line::Bind { var, command, .. } => {
            let v = commands::run(ev, command).await?;
            // On a node the variable is the node's, for the Elixir lines that follow.
            if let Some(remote) = ev.ctx.remote() {
                if let Some(w) = crate::dist::wire(&v) {
                    let mut b = remote.bindings.lock().unwrap();
                    b.retain(|(k, _)| k != var);
                    b.push((var.clone(), w));
                }
            }
            ev.env.vars.insert(var.clone(), v.clone());
            Ok(v)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A SIGINT delivered at a reading prompt stays the editor's even when the REPL's task
    /// only sees it after the editor has returned the next line: the classification is the
    /// one made at delivery.
    #[test]
    fn a_sigint_at_a_reading_prompt_cancels_no_later_line() {
        let mut interrupt = Interrupt::default();
        interrupt.set_reading(true);
        Interrupt::delivered();
        interrupt.set_reading(false);
        assert!(!Interrupt::take_delivered());
        let (tx, mut rx) = oneshot::channel();
        interrupt.arm(tx);
        assert!(
            rx.try_recv().is_err(),
            "the next evaluation is not cancelled"
        );

        // After the Enter, before the evaluation starts, the signal is the evaluation's.
        interrupt.disarm();
        Interrupt::delivered();
        assert!(Interrupt::take_delivered());
        interrupt.fire();
        let (tx, mut rx) = oneshot::channel();
        interrupt.arm(tx);
        assert!(
            rx.try_recv().is_ok(),
            "the evaluation about to start is cancelled"
        );
    }
}
