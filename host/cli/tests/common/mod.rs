//! Helpers the CLI's integration-test binaries share.

use std::io::{Read, Write};
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

/// One JSON-RPC call to `addr` (`host:port` or `http://host:port`): the whole reply, `result` or
/// `error`.
#[allow(dead_code, reason = "not every test binary calls the node itself")]
pub fn rpc(addr: &str, method: &str, params: serde_json::Value) -> serde_json::Value {
    post(
        addr,
        &serde_json::json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params}).to_string(),
    )
}

/// POSTs `body` to `addr` over one plain HTTP/1.1 connection and returns the JSON reply as sent:
/// raw on purpose, so tests aim exactly the bytes they mean at a node or a proxy.
#[allow(dead_code, reason = "not every test binary calls the node itself")]
pub fn post(addr: &str, body: &str) -> serde_json::Value {
    let addr = addr.trim_start_matches("http://");
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    write!(
        stream,
        "POST / HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    serde_json::from_str(response.split_once("\r\n\r\n").unwrap().1).unwrap()
}
