//! The processes pane, as observer's process tab: pid, registered name or module, mailbox
//! length, a sparkline of the mailbox over the last seconds, status (and whom a process
//! waiting in a call waits for), memory and restarts, sorted by any column (the mailbox by
//! default). The snapshot holds only the rows on screen, so drawing costs the same at a
//! thousand processes as at a hundred thousand.

use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::widgets::{Row, Table, TableState};

use super::render::{FLASH_MARK, Theme, pane_block};
use super::view::{Pane, View};
use super::{ProcRow, Snapshot, SortBy};
use crate::runtime::Pid;

/// The sparkline's width, in samples (the last ones of `SPARK_SAMPLES`).
pub const SPARK_WIDTH: usize = 10;
/// Narrower than this, the sparkline and memory columns are left out.
const NARROW: u16 = 64;
const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];

/// A sparkline of `samples`, scaled to their largest, the newest on the right; an empty
/// mailbox is a blank, so a quiet process draws nothing.
pub fn sparkline(samples: &[u32], width: usize) -> String {
    let tail = &samples[samples.len().saturating_sub(width)..];
    let top = tail.iter().copied().max().unwrap_or(0);
    if top == 0 {
        return String::new();
    }
    tail.iter()
        .map(|&q| {
            if q == 0 {
                ' '
            } else {
                let i = (u64::from(q) * 7).div_ceil(u64::from(top)) as usize;
                BARS[i.min(7)]
            }
        })
        .collect()
}

const COLUMNS: [(SortBy, &str); 6] = [
    (SortBy::Pid, "PID"),
    (SortBy::Name, "NAME"),
    (SortBy::Mailbox, "MSGQ"),
    (SortBy::Status, "STATUS"),
    (SortBy::Memory, "MEMORY"),
    (SortBy::Restarts, "RST"),
];

fn title(sort: SortBy, descending: bool, name: &str) -> String {
    let by = COLUMNS.iter().find(|c| c.1 == name).map(|c| c.0);
    match by {
        Some(s) if s == sort => format!("{name}{}", if descending { "▼" } else { "▲" }),
        _ => name.to_string(),
    }
}

fn cells(r: &ProcRow, wide: bool) -> Vec<String> {
    let mark = if r.flash { FLASH_MARK } else { " " };
    let mut out = vec![
        format!("{mark}{}", Pid(r.pid)),
        r.name.clone(),
        r.queue.to_string(),
    ];
    if wide {
        out.push(sparkline(&r.spark, SPARK_WIDTH));
    }
    out.push(r.status.clone());
    if wide {
        out.push(r.memory.to_string());
    }
    out.push(r.restarts.to_string());
    out
}

pub fn render(frame: &mut Frame, area: Rect, snap: &Snapshot, view: &View, theme: Theme) {
    let focused = view.focus == Pane::Procs;
    let wide = area.width >= NARROW;
    let w = view.window;
    let t = |name: &str| title(w.sort, w.descending, name);
    let mut header = vec![t("PID"), t("NAME"), t("MSGQ")];
    let mut widths = vec![
        Constraint::Length(15),
        Constraint::Fill(1),
        Constraint::Length(7),
    ];
    if wide {
        header.push("RECENT".into());
        widths.push(Constraint::Length(SPARK_WIDTH as u16));
    }
    header.push(t("STATUS"));
    widths.push(Constraint::Length(if wide { 24 } else { 9 }));
    if wide {
        header.push(t("MEMORY"));
        widths.push(Constraint::Length(7));
    }
    header.push(t("RST"));
    widths.push(Constraint::Length(4));
    let rows: Vec<Row> = snap
        .procs
        .rows
        .iter()
        .map(|r| {
            let row = Row::new(cells(r, wide));
            if r.flash {
                row.style(theme.flash())
            } else {
                row
            }
        })
        .collect();
    let title = format!(
        "processes {}-{} of {}",
        (snap.procs.offset + 1).min(snap.procs.total),
        snap.procs.offset + snap.procs.rows.len(),
        snap.procs.total
    );
    let table = Table::new(rows, widths)
        .header(Row::new(header).style(theme.dim()))
        .row_highlight_style(theme.selected())
        .block(pane_block(&title, focused));
    let mut state = TableState::default();
    if focused {
        state.select(view.selected.checked_sub(snap.procs.offset));
    }
    frame.render_stateful_widget(table, area, &mut state);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sparkline_scales_to_its_largest_sample_and_is_blank_when_quiet() {
        assert_eq!(sparkline(&[0, 0, 0], 10), "");
        assert_eq!(sparkline(&[0, 1, 4, 8, 2, 0], 10), " ▂▅█▃ ");
        assert_eq!(sparkline(&[8; 30], 10).chars().count(), 10);
    }
}
