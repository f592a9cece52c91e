//! The terminal: rustyline on its own thread (it blocks), with history kept in the user's
//! data folder, and the REPL loop that evaluates what it reads and prints through the one
//! output path of `screen`. Continued lines are read one readline at a time with the
//! `...(N)>` prompt, as iex does.

use std::sync::{Arc, Mutex};

use owo_colors::OwoColorize;
use rustyline::error::ReadlineError;
use rustyline::history::DefaultHistory;
use rustyline::{Editor, ExternalPrinter};
use tokio::sync::mpsc;

use crate::runtime::term::BoxFuture;

use super::context::Ctx;
use super::helper::{Known, Reprompt, ShellHelper, history_path};
use super::parser::{self, Completeness};
use super::replay::{MAX_LINE, MAX_PENDING};
use super::screen::{QuietEcho, Screen, erase_prompt, prompt_width, terminal_columns};
use super::session::{Interrupt, Session, banner};

/// A full-screen view the REPL hands the terminal to when `observe` asks: the live
/// observer, which sits above the shell, so `main.rs` supplies it. It runs until the person
/// closes it, and answers an error line if it could not take the terminal.
pub type FullScreen = Arc<dyn Fn(Arc<Ctx>) -> BoxFuture<'static, Option<String>> + Send + Sync>;

enum FromEditor {
    Input(String),
    Interrupted,
    Eof,
    Printer(Box<dyn ExternalPrinter + Send>),
}

/// Runs the interactive REPL until Ctrl-D or `exit`.
pub async fn repl(mut session: Session, color: bool, view: Option<FullScreen>) {
    session
        .ctx
        .can_observe
        .store(view.is_some(), std::sync::atomic::Ordering::Relaxed);
    let known = Arc::new(Mutex::new(Known::default()));
    let quiet = QuietEcho::new();
    // SIGINT's handler goes in now, before the editor's first read: rustyline puts its own
    // handler in for each read and restores the one it found, so tokio's must already be
    // there, or the first read would restore the default one and a later Ctrl-C during an
    // evaluation would end the program.
    //
    // The handler runs its actions in the order they were registered, so the one that
    // classifies the signal goes in before tokio's, which wakes the task that reads the
    // classification: registered after it, the task on another core could read it first.
    // SAFETY: the action only loads and stores atomics, which is async-signal-safe.
    let _ = unsafe { signal_hook_registry::register(nix::libc::SIGINT, Interrupt::delivered) };
    let sigint = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt());
    let (to_editor, prompts) = std::sync::mpsc::channel::<Option<u32>>();
    let (editor_tx, mut from_editor) = mpsc::unbounded_channel::<FromEditor>();
    let helper_known = known.clone();
    let reprompt = Arc::new(Reprompt::default());
    let editor_reprompt = reprompt.clone();
    let editor_interrupt = session.canceller();
    let editor_ctx = session.ctx.clone();
    std::thread::spawn(move || {
        editor_thread(
            editor_ctx,
            helper_known,
            color,
            editor_reprompt,
            editor_interrupt,
            prompts,
            editor_tx,
        )
    });

    let canceller = session.canceller();
    let ours = reprompt.clone();
    tokio::spawn(async move {
        let Ok(mut sigint) = sigint else { return };
        while sigint.recv().await.is_some() {
            let for_evaluation = Interrupt::take_delivered();
            // The SIGINT the REPL raised to redraw the prompt, arriving after the editor
            // had already returned: it is not the user's Ctrl-C and cancels nothing.
            if ours.wanted.swap(false, std::sync::atomic::Ordering::SeqCst) {
                continue;
            }
            if for_evaluation {
                canceller.lock().unwrap().fire();
            }
        }
    });

    let screen = Screen::start(session.ctx.recording.clone());
    let mut boot = std::mem::take(&mut session.boot_output);
    boot.push(banner(&session.node));
    screen.print(boot);
    refresh_known(&session, &known);
    screen.flush().await;
    // The number of the prompt on screen, while the editor reads.
    let mut shown = Some(session.counter);
    let _ = to_editor.send(shown);
    loop {
        tokio::select! {
            msg = from_editor.recv() => match msg {
                Some(FromEditor::Printer(p)) => screen.set_printer(p),
                Some(FromEditor::Input(text)) => {
                    if matches!(text.trim(), "exit" | "exit()") {
                        break;
                    }
                    session.set_width(Some(terminal_columns()));
                    screen.print(session.ctx.recording.input(session.counter, &text).into_iter().collect());
                    screen.print(session.eval(&text).await);
                    // The line's immediate consequences (a restart and its `Starting …`
                    // lines, the shell's own crash and its new prompt number) come before
                    // the next prompt, as in iex's transcripts. Later ones print above it.
                    screen.print(session.settle().await);
                    refresh_known(&session, &known);
                    screen.flush().await;
                    if session.ctx.observe.swap(false, std::sync::atomic::Ordering::Relaxed)
                        && let Some(open) = &view
                    {
                        observe(&mut session, &screen, open).await;
                    }
                    shown = Some(session.counter);
                    let _ = to_editor.send(shown);
                }
                Some(FromEditor::Interrupted) => {
                    shown = Some(session.counter);
                    let _ = to_editor.send(shown);
                }
                Some(FromEditor::Eof) | None => break,
            },
            lines = session.next_output() => {
                screen.print(lines);
                if shown.is_some_and(|n| n != session.counter) {
                    // The shell was replaced while the user was at the prompt: its lines
                    // go above the old prompt, then the prompt comes back renumbered.
                    shown = None;
                    screen.flush().await;
                    reprompt.wanted.store(true, std::sync::atomic::Ordering::SeqCst);
                    let _ = nix::sys::signal::kill(nix::unistd::Pid::this(), nix::sys::signal::SIGINT);
                }
            }
        }
    }
    let _ = to_editor.send(None);
    session.shutdown().await;
    screen.flush().await;
    drop(quiet);
}

/// Hands the terminal to the view until it closes. The editor is not reading meanwhile (no
/// prompt has been sent to it) and the screen holds every line back, so nothing else
/// writes to the terminal; what the experiments printed meanwhile comes after, in order.
async fn observe(session: &mut Session, screen: &Screen, open: &FullScreen) {
    screen.flush().await;
    screen.hold(true);
    let shown = open(session.ctx.clone());
    tokio::pin!(shown);
    let failed = loop {
        tokio::select! {
            failed = &mut shown => break failed,
            lines = session.next_output() => screen.print(lines),
        }
    };
    screen.hold(false);
    screen.print(failed.into_iter().collect());
    screen.flush().await;
}

fn refresh_known(session: &Session, known: &Arc<Mutex<Known>>) {
    let mut k = known.lock().unwrap();
    k.vars = session.env.vars.keys().cloned().collect();
    k.names = session
        .node
        .registered()
        .into_iter()
        .map(|(a, _)| a.as_str().to_string())
        .collect();
    k.persist_dir = Some(session.ctx.config().persist_dir.clone());
}

fn editor_thread(
    ctx: Arc<crate::shell::context::Ctx>,
    known: Arc<Mutex<Known>>,
    color: bool,
    reprompt: Arc<Reprompt>,
    interrupt: Arc<Mutex<Interrupt>>,
    prompts: std::sync::mpsc::Receiver<Option<u32>>,
    tx: mpsc::UnboundedSender<FromEditor>,
) {
    // Bracketed paste stays off, as in iex: a pasted block then arrives as typed lines and
    // each one runs in turn at its own prompt, instead of the whole block becoming one
    // input that waits for another Enter. What the editor has read beyond the line it
    // returns is kept for the next read (rustyline's `buffer-redux`), so lines typed ahead
    // or pasted are never dropped between two prompts.
    let config = rustyline::Config::builder().bracketed_paste(false).build();
    let Ok(mut rl) = Editor::<ShellHelper, DefaultHistory>::with_config(config) else {
        let _ = tx.send(FromEditor::Eof);
        return;
    };
    rl.set_helper(Some(ShellHelper {
        known,
        color,
        reprompt: reprompt.clone(),
    }));
    let history = history_path();
    if let Some(h) = &history {
        let _ = std::fs::create_dir_all(h.parent().unwrap());
        let _ = rl.load_history(h);
    }
    if let Ok(p) = rl.create_external_printer() {
        let _ = tx.send(FromEditor::Printer(Box::new(p)));
    }
    while let Ok(Some(n)) = prompts.recv() {
        let mut pending = String::new();
        let outcome = loop {
            let node = ctx.remote().map(|r| r.node());
            let prompt = crate::shell::context::prompt(n, node.as_deref(), !pending.is_empty());
            let prompt = if color {
                prompt.bold().to_string()
            } else {
                prompt
            };
            interrupt.lock().unwrap().set_reading(true);
            let read = rl.readline(&prompt);
            interrupt.lock().unwrap().set_reading(false);
            match read {
                Ok(line) => {
                    if line.trim() == "#iex:break" {
                        break FromEditor::Input("#iex:break".into());
                    }
                    if !pending.is_empty() {
                        pending.push('\n');
                    }
                    pending.push_str(&line);
                    if pending.len() > MAX_PENDING || line.len() > MAX_LINE {
                        break FromEditor::Input(pending.clone());
                    }
                    match parser::completeness(&pending) {
                        Completeness::Incomplete => continue,
                        _ => break FromEditor::Input(pending.clone()),
                    }
                }
                Err(ReadlineError::Interrupted) => {
                    if reprompt
                        .wanted
                        .swap(false, std::sync::atomic::Ordering::SeqCst)
                    {
                        let typed = reprompt.typed.load(std::sync::atomic::Ordering::Relaxed);
                        erase_prompt(prompt_width(n, !pending.is_empty()) + typed);
                    }
                    break FromEditor::Interrupted;
                }
                Err(ReadlineError::Eof) if !pending.is_empty() => {
                    break FromEditor::Input(format!("{pending}\n#iex:eof"));
                }
                Err(_) => break FromEditor::Eof,
            }
        };
        if let FromEditor::Input(text) = &outcome
            && !text.trim().is_empty()
        {
            let _ = rl.add_history_entry(text.as_str());
            if let Some(h) = &history {
                let _ = rl.append_history(h);
            }
        }
        if tx.send(outcome).is_err() {
            break;
        }
    }
}
