//! The tree pane: each supervisor with its strategy and intensity, its children below it in
//! the order they first started (a restarted child keeps its place, with its new pid), each
//! with its registered name, restarts and mailbox, and the tables it owns hanging under it
//! with their heirs. A child just restarted is highlighted, marked and told why.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::render::{FLASH_MARK, Theme, pane_block};
use super::view::{Pane, View};
use super::{Snapshot, TreeRow};
use crate::runtime::Pid;

/// The text of one row, without the highlight.
pub fn text(r: &TreeRow) -> String {
    let mut out = format!("{}{}", r.prefix, r.label);
    if r.pid != 0 {
        out.push_str(&format!(" {}", Pid(r.pid)));
    }
    if let Some(n) = &r.name {
        out.push_str(&format!(" {n}"));
    }
    if r.pid != 0 {
        out.push_str(&format!("  restarts: {}", r.restarts));
    }
    if r.queue > 0 {
        out.push_str(&format!("  mailbox: {}", r.queue));
    }
    if let Some(s) = &r.strategy {
        out.push_str(&format!("  {s}"));
    }
    out
}

/// The drawing under a row for its tables: the branch continued, then the table.
fn table_prefix(prefix: &str) -> String {
    let stem: String = prefix
        .chars()
        .map(|c| match c {
            '├' | '│' => '│',
            _ => ' ',
        })
        .collect();
    format!("{stem}  ")
}

pub fn render(frame: &mut Frame, area: Rect, snap: &Snapshot, view: &View, theme: Theme) {
    let focused = view.focus == Pane::Tree;
    let block = pane_block("supervision tree", focused);
    let rows = usize::from(area.height.saturating_sub(2));
    let mut lines: Vec<Line> = vec![];
    if snap.tree.is_empty() {
        lines.push(Line::raw(
            "no supervisor is running (start the to-do system with `start`)",
        ));
    }
    // Only the rows that fit are drawn: the tree is already bounded per supervisor.
    for (i, r) in snap.tree.iter().enumerate().skip(view.tree_offset) {
        if lines.len() >= rows {
            break;
        }
        let mut spans = vec![];
        let body = text(r);
        match &r.flash {
            Some(why) => {
                spans.push(Span::styled(format!("{FLASH_MARK} {body}"), theme.flash()));
                spans.push(Span::styled(format!("  ◀ {why}"), theme.flash()));
            }
            None => spans.push(Span::raw(format!("  {body}"))),
        }
        let mut line = Line::from(spans);
        if focused && i == view.tree_selected {
            line = line.style(theme.selected());
        }
        lines.push(line);
        for t in &r.tables {
            if lines.len() >= rows {
                break;
            }
            lines.push(Line::raw(format!("  {}{t}", table_prefix(&r.prefix))));
        }
    }
    frame.render_widget(Paragraph::new(lines).block(block), area);
}
