//! What the person chose in the view (the panes shown, the focused one, the selection, the
//! sort, a reason being typed) and the keys that change it. Pure: a key and the snapshot on
//! screen in, an [`Outcome`] out; the terminal loop carries the outcome out.

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::{Action, Snapshot, Window};

/// The panes, in the order of their keys `1` to `4`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pane {
    Tree,
    Procs,
    Tables,
    Messages,
}

pub const PANES: [Pane; 4] = [Pane::Tree, Pane::Procs, Pane::Tables, Pane::Messages];

/// The keys, as the footer and `help observe` list them (one constant, the shell's).
pub use crate::shell::commands::OBSERVE_KEYS as KEYS;

#[derive(Clone, Debug)]
pub struct View {
    pub shown: [bool; 4],
    pub focus: Pane,
    /// The process table's window: sort, first row shown, rows that fit.
    pub window: Window,
    /// The selected row of the process table, counted from the top of the sorted table.
    pub selected: usize,
    /// The selected row of the tree.
    pub tree_selected: usize,
    /// The first tree row shown.
    pub tree_offset: usize,
    /// The exit reason being typed after `x`, and for whom.
    pub input: Option<(u64, String)>,
    /// The notice the person dismissed, so it stays hidden until another comes.
    pub dismissed: Option<String>,
    /// Colours; without them (NO_COLOR) highlights are reverse video and markers.
    pub color: bool,
}

/// What a key asks of the loop.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    Redraw,
    Quit,
    Act(Action),
}

impl View {
    pub fn new(color: bool) -> View {
        View {
            shown: [true; 4],
            focus: Pane::Procs,
            window: Window::default(),
            selected: 0,
            tree_selected: 0,
            tree_offset: 0,
            input: None,
            dismissed: None,
            color,
        }
    }

    pub fn is_shown(&self, pane: Pane) -> bool {
        self.shown[pane as usize]
    }

    /// The pid of the selected row of the focused pane, in the snapshot on screen.
    pub fn selected_pid(&self, snap: &Snapshot) -> Option<u64> {
        match self.focus {
            Pane::Tree => snap
                .tree
                .get(self.tree_selected)
                .map(|r| r.pid)
                .filter(|p| *p != 0),
            _ => snap
                .procs
                .rows
                .get(self.selected.checked_sub(snap.procs.offset)?)
                .map(|r| r.pid),
        }
    }

    /// The notice to show: the last answer, unless dismissed.
    pub fn notice<'a>(&self, snap: &'a Snapshot) -> Option<&'a str> {
        snap.notice
            .as_deref()
            .filter(|n| self.dismissed.as_deref() != Some(*n))
    }

    pub fn key(&mut self, key: KeyEvent, snap: &Snapshot) -> Outcome {
        if let Some((pid, reason)) = &mut self.input {
            match key.code {
                KeyCode::Esc => self.input = None,
                KeyCode::Enter => {
                    let action = Action::Exit(*pid, reason.trim().to_string());
                    self.input = None;
                    return Outcome::Act(action);
                }
                KeyCode::Backspace => {
                    reason.pop();
                }
                KeyCode::Char(c) if reason.len() < 200 => reason.push(c),
                _ => {}
            }
            return Outcome::Redraw;
        }
        if key.modifiers.contains(KeyModifiers::CONTROL) && key.code == KeyCode::Char('c') {
            return Outcome::Quit;
        }
        if let Some(n) = self.notice(snap).map(str::to_string)
            && matches!(key.code, KeyCode::Esc | KeyCode::Enter)
        {
            self.dismissed = Some(n);
            return Outcome::Redraw;
        }
        let pid = self.selected_pid(snap);
        match key.code {
            KeyCode::Char('q') | KeyCode::Esc => return Outcome::Quit,
            KeyCode::Char(c @ '1'..='4') => {
                let i = c as usize - '1' as usize;
                self.shown[i] = !self.shown[i];
                if !self.shown.iter().any(|s| *s) {
                    self.shown[i] = true;
                }
                if !self.is_shown(self.focus) {
                    self.focus_next();
                }
            }
            KeyCode::Tab | KeyCode::BackTab => self.focus_next(),
            KeyCode::Up => self.move_by(snap, -1),
            KeyCode::Down => self.move_by(snap, 1),
            KeyCode::PageUp => self.move_by(snap, -(self.window.rows.max(1) as isize)),
            KeyCode::PageDown => self.move_by(snap, self.window.rows.max(1) as isize),
            KeyCode::Home => self.move_by(snap, isize::MIN / 2),
            KeyCode::End => self.move_by(snap, isize::MAX / 2),
            KeyCode::Char('o') => {
                self.window.sort = self.window.sort.next();
                self.window.descending = self.window.sort == super::SortBy::Mailbox;
            }
            KeyCode::Char('r') => self.window.descending = !self.window.descending,
            KeyCode::Char('k') => {
                return pid.map_or(Outcome::Redraw, |p| Outcome::Act(Action::Kill(p)));
            }
            KeyCode::Char('x') => {
                if let Some(p) = pid {
                    self.input = Some((p, String::new()));
                }
            }
            KeyCode::Char('s') => {
                return pid.map_or(Outcome::Redraw, |p| Outcome::Act(Action::State(p)));
            }
            KeyCode::Char('i') => {
                return pid.map_or(Outcome::Redraw, |p| Outcome::Act(Action::Info(p)));
            }
            KeyCode::Char('t') => {
                return pid.map_or(Outcome::Redraw, |p| Outcome::Act(Action::Trace(p)));
            }
            _ => {}
        }
        Outcome::Redraw
    }

    /// Focus moves between the panes that have a selection: the tree and the processes.
    fn focus_next(&mut self) {
        let order = [Pane::Tree, Pane::Procs];
        let at = order.iter().position(|p| *p == self.focus).unwrap_or(0);
        for k in 1..=order.len() {
            let p = order[(at + k) % order.len()];
            if self.is_shown(p) {
                self.focus = p;
                return;
            }
        }
    }

    fn move_by(&mut self, snap: &Snapshot, by: isize) {
        let (at, len) = match self.focus {
            Pane::Tree => (&mut self.tree_selected, snap.tree.len()),
            _ => (&mut self.selected, snap.procs.total),
        };
        let last = len.saturating_sub(1) as isize;
        *at = (*at as isize).saturating_add(by).clamp(0, last.max(0)) as usize;
        self.scroll();
    }

    /// Keeps the selection inside the window of rows that fit.
    pub fn scroll(&mut self) {
        let rows = self.window.rows.max(1);
        if self.selected < self.window.offset {
            self.window.offset = self.selected;
        } else if self.selected >= self.window.offset + rows {
            self.window.offset = self.selected + 1 - rows;
        }
    }

    /// Sets the rows of the process table and the tree that fit on screen.
    pub fn fit(&mut self, proc_rows: usize, tree_rows: usize) {
        self.window.rows = proc_rows.max(1);
        self.scroll();
        let rows = tree_rows.max(1);
        if self.tree_selected < self.tree_offset {
            self.tree_offset = self.tree_selected;
        } else if self.tree_selected >= self.tree_offset + rows {
            self.tree_offset = self.tree_selected + 1 - rows;
        }
    }
}
