//! The header line: how many processes of the limit, messages per second, restarts in the
//! last five seconds, the clock's speed and the persist folder.

use super::Header;

pub fn line(h: &Header) -> String {
    format!(
        " otplab observer │ processes {}/{} │ {} msg/s │ restarts (5 s) {} │ speed {}x │ {}",
        h.processes, h.limit, h.messages_per_second, h.restarts_5s, h.speed, h.persist
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_header_names_every_figure() {
        let h = Header {
            processes: 15,
            limit: 1_048_576,
            messages_per_second: 42,
            restarts_5s: 9,
            speed: 10.0,
            persist: "./persist".into(),
        };
        assert_eq!(
            line(&h),
            " otplab observer │ processes 15/1048576 │ 42 msg/s │ restarts (5 s) 9 │ speed 10x │ ./persist"
        );
    }
}
