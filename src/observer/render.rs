//! The whole frame: the header line, the panes shown, and the footer with the keys (or the
//! reason being typed), with the last action's answer over the panes until dismissed. Where
//! each goes is decided by [`areas`], which the terminal loop also asks how many rows of the
//! process table to sample. Small terminals get smaller panes, never a panic.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::Line;
use ratatui::widgets::{Block, Clear, Paragraph, Wrap};

use super::view::{KEYS, Pane, View};
use super::{Snapshot, header, messages, procs, tables, tree};

/// At this width and wider, the tree and the processes (and the tables and the messages)
/// stand side by side; narrower, one above the other.
const SIDE_BY_SIDE: u16 = 100;

/// Where each part of the frame goes; a pane not shown has no area.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Areas {
    pub header: Rect,
    pub tree: Option<Rect>,
    pub procs: Option<Rect>,
    pub tables: Option<Rect>,
    pub messages: Option<Rect>,
    pub footer: Rect,
}

impl Areas {
    /// The rows of process table inside its pane (borders and the column titles excluded).
    pub fn proc_rows(&self) -> usize {
        self.procs
            .map_or(1, |a| usize::from(a.height.saturating_sub(3)))
    }

    pub fn tree_rows(&self) -> usize {
        self.tree
            .map_or(1, |a| usize::from(a.height.saturating_sub(2)))
    }
}

pub fn areas(area: Rect, view: &View) -> Areas {
    let [header, body, footer] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Fill(1),
        Constraint::Length(1),
    ])
    .areas(area);
    let top: Vec<Pane> = [Pane::Tree, Pane::Procs]
        .into_iter()
        .filter(|p| view.is_shown(*p))
        .collect();
    let bottom: Vec<Pane> = [Pane::Tables, Pane::Messages]
        .into_iter()
        .filter(|p| view.is_shown(*p))
        .collect();
    let groups: Vec<(Vec<Pane>, Rect)> = match (top.is_empty(), bottom.is_empty()) {
        (false, false) => {
            let [a, b] =
                Layout::vertical([Constraint::Percentage(62), Constraint::Fill(1)]).areas(body);
            vec![(top, a), (bottom, b)]
        }
        (false, true) => vec![(top, body)],
        _ => vec![(bottom, body)],
    };
    let mut out = Areas {
        header,
        footer,
        ..Areas::default()
    };
    for (panes, rect) in groups {
        let split = if rect.width >= SIDE_BY_SIDE {
            Layout::horizontal(vec![Constraint::Fill(1); panes.len()])
        } else {
            Layout::vertical(vec![Constraint::Fill(1); panes.len()])
        };
        for (pane, r) in panes.iter().zip(split.split(rect).iter()) {
            let slot = match pane {
                Pane::Tree => &mut out.tree,
                Pane::Procs => &mut out.procs,
                Pane::Tables => &mut out.tables,
                Pane::Messages => &mut out.messages,
            };
            *slot = Some(*r);
        }
    }
    out
}

/// How highlights look: with colours, or (NO_COLOR) by reverse video and bold only.
#[derive(Clone, Copy, Debug)]
pub struct Theme {
    pub color: bool,
}

impl Theme {
    /// A process that was just restarted.
    pub fn flash(self) -> Style {
        if self.color {
            Style::new()
                .fg(Color::Black)
                .bg(Color::Yellow)
                .add_modifier(Modifier::BOLD)
        } else {
            Style::new().add_modifier(Modifier::REVERSED | Modifier::BOLD)
        }
    }

    /// The selected row.
    pub fn selected(self) -> Style {
        if self.color {
            Style::new().bg(Color::Blue).fg(Color::White)
        } else {
            Style::new().add_modifier(Modifier::REVERSED)
        }
    }

    pub fn bar(self) -> Style {
        if self.color {
            Style::new().bg(Color::DarkGray).fg(Color::White)
        } else {
            Style::new().add_modifier(Modifier::REVERSED)
        }
    }

    pub fn dim(self) -> Style {
        if self.color {
            Style::new().fg(Color::DarkGray)
        } else {
            Style::new()
        }
    }
}

/// A pane's frame, its title marked when it has the focus.
pub fn pane_block(title: &str, focused: bool) -> Block<'static> {
    let title = if focused {
        format!(" ▶ {title} ")
    } else {
        format!(" {title} ")
    };
    Block::bordered().title(title)
}

/// The marker drawn before a highlighted row, so that a highlight shows without colour and
/// in a screen read as text.
pub const FLASH_MARK: &str = "●";

pub fn draw(frame: &mut Frame, snap: &Snapshot, view: &View) {
    let theme = Theme { color: view.color };
    let a = areas(frame.area(), view);
    frame.render_widget(
        Paragraph::new(header::line(&snap.header)).style(theme.bar()),
        a.header,
    );
    if let Some(r) = a.tree {
        tree::render(frame, r, snap, view, theme);
    }
    if let Some(r) = a.procs {
        procs::render(frame, r, snap, view, theme);
    }
    if let Some(r) = a.tables {
        tables::render(frame, r, snap, theme);
    }
    if let Some(r) = a.messages {
        messages::render(frame, r, snap, theme);
    }
    let footer = match &view.input {
        Some((pid, reason)) => {
            format!("exit #PID<0.{pid}.0> with reason: {reason}▏ (Enter sends, Esc cancels)")
        }
        None => KEYS.to_string(),
    };
    frame.render_widget(Paragraph::new(footer).style(theme.bar()), a.footer);
    if let Some(notice) = view.notice(snap) {
        notice_box(frame, notice, theme);
    }
}

/// The last action's answer, over the lower part of the panes.
fn notice_box(frame: &mut Frame, notice: &str, theme: Theme) {
    let area = frame.area();
    let lines: Vec<Line> = notice.lines().map(Line::raw).collect();
    let height = (lines.len() as u16 + 2).min(area.height.saturating_sub(2) / 2 + 2);
    let height = height.min(area.height.saturating_sub(2));
    if height < 3 {
        return;
    }
    let rect = Rect {
        x: area.x,
        y: area.y + area.height - 1 - height,
        width: area.width,
        height,
    };
    frame.render_widget(Clear, rect);
    frame.render_widget(
        Paragraph::new(lines).wrap(Wrap { trim: false }).block(
            Block::bordered()
                .title(" answer (Esc closes) ")
                .border_style(theme.dim()),
        ),
        rect,
    );
}
