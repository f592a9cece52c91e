//! The tables pane: every ETS table with its kind, access, owner, heir and size.

use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::widgets::{Row, Table};

use super::Snapshot;
use super::render::{Theme, pane_block};

pub fn render(frame: &mut Frame, area: Rect, snap: &Snapshot, theme: Theme) {
    let rows = usize::from(area.height.saturating_sub(3));
    let body: Vec<Row> = snap
        .tables
        .iter()
        .take(rows)
        .map(|t| {
            Row::new(vec![
                t.id.clone(),
                t.kind.clone(),
                t.access.clone(),
                t.owner.clone(),
                t.heir.clone(),
                t.size.to_string(),
            ])
        })
        .collect();
    let widths = [
        Constraint::Fill(2),
        Constraint::Length(12),
        Constraint::Length(10),
        Constraint::Fill(3),
        Constraint::Fill(3),
        Constraint::Length(8),
    ];
    let title = format!("tables ({})", snap.tables.len());
    let table = Table::new(body, widths)
        .header(Row::new(["TABLE", "KIND", "ACCESS", "OWNER", "HEIR", "SIZE"]).style(theme.dim()))
        .block(pane_block(&title, false));
    frame.render_widget(table, area);
}
