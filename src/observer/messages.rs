//! The messages pane: the live trace of the processes traced from the view (`t`), newest at
//! the bottom: CALL, CAST, REPLY, INFO, EXIT and DOWN, named as `trace show` names them.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::Line;
use ratatui::widgets::Paragraph;

use super::Snapshot;
use super::render::{Theme, pane_block};

pub fn render(frame: &mut Frame, area: Rect, snap: &Snapshot, theme: Theme) {
    let rows = usize::from(area.height.saturating_sub(2));
    let lines: Vec<Line> = if snap.messages.is_empty() {
        let hint = if snap.traced.is_empty() {
            "select a process and press t to trace its messages"
        } else {
            "no messages yet"
        };
        vec![Line::styled(hint, theme.dim())]
    } else {
        let skip = snap.messages.len().saturating_sub(rows);
        snap.messages[skip..]
            .iter()
            .map(|m| Line::raw(m.as_str()))
            .collect()
    };
    let title = format!("messages ({} traced)", snap.traced.len());
    frame.render_widget(Paragraph::new(lines).block(pane_block(&title, false)), area);
}
