//! otplab (crate map written as the modules land).
pub mod runtime;
pub mod shell;
