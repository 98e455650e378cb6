//! Helpers the CLI's integration-test binaries share.

use std::time::Duration;

/// Polls `done` every 100 ms for up to 30 s; panics naming `what` if it never holds.
pub fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    for _ in 0..300 {
        if done() {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("timed out waiting for {what}");
}
