//! otplab (crate map written as the modules land).
pub mod counter;
pub mod runtime;
pub mod shell;
pub mod todo;
