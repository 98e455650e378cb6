//! Helpers the CLI's integration-test binaries share.

use std::time::Duration;

/// Polls `done` every 100 ms for up to 30 s; panics naming `what` if it never holds.
#[allow(dead_code, reason = "not every test binary polls")]
pub fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    for _ in 0..300 {
        if done() {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("timed out waiting for {what}");
}

/// `tao node --dev` on a temporary directory, making a block every `block_time`; killed (and
/// its directory removed) when dropped, so a failed assertion leaves no node behind.
#[allow(dead_code, reason = "only some test binaries start their node this way")]
pub struct DevChain {
    child: std::process::Child,
    /// `http://ADDR` of its JSON-RPC.
    pub url: String,
    _dir: tempfile::TempDir,
}

#[allow(dead_code, reason = "only some test binaries start their node this way")]
impl DevChain {
    pub fn start(block_time: &str) -> DevChain {
        use std::io::BufRead;
        let dir = tempfile::tempdir().unwrap();
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_tao"))
            .args(["node", "--dev", "--rpc-addr", "127.0.0.1:0", "--block-time", block_time, "--base-path"])
            .arg(dir.path().join("chain"))
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::inherit())
            .spawn()
            .unwrap();
        let mut lines = std::io::BufReader::new(child.stdout.take().unwrap()).lines();
        let url = loop {
            let line = lines.next().expect("node exited before serving RPC").unwrap();
            if let Some(addr) = line.strip_prefix("rpc listening on ") {
                break addr.to_string();
            }
        };
        // Keep draining stdout so the node never blocks on a full pipe.
        std::thread::spawn(move || lines.for_each(drop));
        DevChain { child, url, _dir: dir }
    }
}

impl Drop for DevChain {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
