//! Processes (placeholder while the runtime is written).
pub struct Process;
