//! The node under test as a child process, and what `/proc` says about it.

use std::collections::VecDeque;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use anyhow::{Context, Result, anyhow};
use serde_json::Value;
use tao_node::spec::{ChainSpec, dev_key};

use super::lock;

/// Lines of the node's stderr kept to explain its death.
const STDERR_LINES: usize = 20;

/// The node under test: a child `tao node`, killed (and its data directory removed) when this
/// is dropped, whatever ended the bench.
pub(crate) struct NodeProcess {
    child: Child,
    pub(crate) rpc: String,
    stderr: Arc<Mutex<VecDeque<String>>>,
    stderr_reader: Option<std::thread::JoinHandle<()>>,
    _dir: tempfile::TempDir,
}

impl NodeProcess {
    /// Writes `spec`, starts the node on it and waits until it serves RPC.
    pub(crate) fn start(spec: &ChainSpec, block_time_ms: u64) -> Result<NodeProcess> {
        let dir = tempfile::tempdir()?;
        let spec_path = dir.path().join("spec.json");
        std::fs::write(&spec_path, serde_json::to_vec(spec)?)?;
        let mut child = Command::new(std::env::current_exe()?)
            .arg("node")
            .arg("--chain")
            .arg(&spec_path)
            .arg("--base-path")
            .arg(dir.path().join("data"))
            .args(["--rpc-addr", "127.0.0.1:0", "--json", "--block-time"])
            .arg(format!("{block_time_ms}ms"))
            .env("TAO_VALIDATOR_KEY", hex::encode(dev_key("validator").to_bytes()))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .context("starting `tao node`")?;
        let stderr = Arc::new(Mutex::new(VecDeque::with_capacity(STDERR_LINES)));
        let (stdout, errors) = (child.stdout.take(), child.stderr.take());
        let stderr_reader = errors.map(|errors| {
            let tail = stderr.clone();
            std::thread::spawn(move || keep_tail(errors, &tail))
        });
        let mut node = NodeProcess { child, rpc: String::new(), stderr, stderr_reader, _dir: dir };
        let mut lines = BufReader::new(stdout.context("the node's stdout")?).lines();
        node.rpc = loop {
            let Some(line) = lines.next().transpose()? else {
                let _ = node.child.wait();
                return Err(node.explain(anyhow!("the node exited before serving RPC")));
            };
            let event: Value = serde_json::from_str(&line).unwrap_or_default();
            if event["event"] == "started" {
                break event["rpc"].as_str().context("the node's RPC address")?.to_string();
            }
        };
        // Keep reading its block log, so the node never blocks on a full pipe.
        std::thread::spawn(move || lines.for_each(drop));
        Ok(node)
    }

    pub(super) fn pid(&self) -> u32 {
        self.child.id()
    }

    /// `error` with the last lines the node wrote to stderr.
    pub(super) fn explain(&mut self, error: anyhow::Error) -> anyhow::Error {
        // Once the node has exited its stderr is complete: read it to the end first.
        if matches!(self.child.try_wait(), Ok(Some(_)))
            && let Some(reader) = self.stderr_reader.take()
        {
            let _ = reader.join();
        }
        let tail: Vec<String> = lock(&self.stderr).iter().cloned().collect();
        if tail.is_empty() { error } else { error.context(format!("the node said:\n{}", tail.join("\n"))) }
    }
}

impl Drop for NodeProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Keeps the last [`STDERR_LINES`] lines of `from`.
fn keep_tail(from: impl std::io::Read, tail: &Mutex<VecDeque<String>>) {
    for line in BufReader::new(from).lines().map_while(Result::ok) {
        let mut tail = lock(tail);
        if tail.len() == STDERR_LINES {
            tail.pop_front();
        }
        tail.push_back(line);
    }
}

/// The node's resident memory in kB, from `/proc/<pid>/status`.
#[derive(Default, Clone, Copy)]
pub(super) struct Rss {
    pub(super) peak_kb: u64,
    pub(super) last_kb: u64,
}

/// `VmHWM` and `VmRSS` of a `/proc/<pid>/status`; `None` for a process that is gone (a zombie
/// has no memory lines).
pub(super) fn parse_rss(status: &str) -> Option<Rss> {
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
    };
    Some(Rss { peak_kb: field("VmHWM:")?, last_kb: field("VmRSS:")? })
}

/// User plus system CPU ticks of a process (`/proc/<pid>/stat` fields 14 and 15).
pub(super) fn cpu_ticks(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name may hold spaces; fields are counted after its closing parenthesis.
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    Some(fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?)
}

/// Cores the node and the bench kept busy during the load (Linux reports 100 ticks a second).
pub(super) struct Cpu {
    pub(super) node: f64,
    pub(super) bench: f64,
}

impl Cpu {
    pub(super) fn since(
        before: (Option<u64>, Option<u64>),
        after: (Option<u64>, Option<u64>),
        start: Instant,
    ) -> Cpu {
        let secs = start.elapsed().as_secs_f64().max(f64::EPSILON);
        let cores = |b: Option<u64>, a: Option<u64>| match (b, a) {
            (Some(b), Some(a)) => a.saturating_sub(b) as f64 / 100.0 / secs,
            _ => 0.0,
        };
        Cpu { node: cores(before.0, after.0), bench: cores(before.1, after.1) }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]

    use super::*;

    #[test]
    fn memory_is_read_from_proc_status_and_a_zombie_has_none() {
        let status = "Name:\ttao\nVmHWM:\t  204800 kB\nVmRSS:\t  102400 kB\n";
        let rss = parse_rss(status).unwrap();
        assert_eq!((rss.peak_kb, rss.last_kb), (204_800, 102_400));
        assert!(parse_rss("Name:\ttao\nState:\tZ (zombie)\n").is_none());
    }
}
