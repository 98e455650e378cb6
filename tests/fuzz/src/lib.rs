//! Fuzzing on stable Rust: no libFuzzer, no nightly. Each [`Harness`] takes raw bytes (read
//! through [`arbitrary::Unstructured`] where it needs structure) and reports a broken property
//! as an `Err`; a panic is a finding too. [`fuzz`] first replays the kept cases
//! (`tests/fuzz/cases/<harness>/`) and the harness's seeds (valid encodings), then feeds
//! pseudo-random and mutated inputs from a fixed seed until its time or iteration budget ends.
//! Inputs that break a property are written to the findings directory; once the bug is fixed
//! they are kept as cases and replayed on every run. See docs/fuzzing.md.

pub mod harness;
mod mutate;

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub use harness::{Harness, NAMES, harness};
pub use mutate::Rng;

/// Why a run could not start or report.
#[derive(Debug, thiserror::Error)]
pub enum FuzzError {
    /// No harness has this name.
    #[error("no harness `{0}` (harnesses: {names})", names = NAMES.join(", "))]
    UnknownHarness(String),
    /// A harness could not set up what it runs against.
    #[error("setting up `{harness}`: {why}")]
    Setup {
        /// The harness.
        harness: &'static str,
        /// What failed.
        why: String,
    },
    /// Reading cases or writing findings failed.
    #[error("{path}: {error}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The error.
        error: std::io::Error,
    },
}

/// How long and from where one harness runs.
#[derive(Debug, Clone)]
pub struct Options {
    /// Stop generating inputs after this long (cases and seeds are always replayed).
    pub time: Duration,
    /// Stop after this many generated inputs, if given.
    pub iterations: Option<u64>,
    /// Seed of the input generator: the same seed gives the same sequence of inputs.
    pub seed: u64,
    /// Where inputs that break a property are written.
    pub findings: PathBuf,
    /// An input running longer than this is reported as a hang (and the process exits).
    pub hang: Duration,
    /// Print a progress line this often (`None`: only the summary).
    pub progress: Option<Duration>,
}

/// What one run did.
#[derive(Debug, Clone, Default)]
pub struct Report {
    /// Kept cases replayed.
    pub cases: usize,
    /// Seeds replayed.
    pub seeds: usize,
    /// Generated inputs run.
    pub iterations: u64,
    /// Files written for inputs that broke a property.
    pub findings: Vec<PathBuf>,
    /// Wall time of the run, in milliseconds.
    pub elapsed_ms: u128,
}

/// Most findings written per run: after that the harness stops, the first ones are the news.
const MAX_FINDINGS: usize = 8;

/// The kept cases of `harness`: every file under `cases/<harness>/`, sorted by name.
pub fn cases(harness: &str) -> Result<Vec<(PathBuf, Vec<u8>)>, FuzzError> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("cases").join(harness);
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |error| FuzzError::Io { path, error }
    };
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(&dir) else { return Ok(out) };
    for entry in entries {
        let path = entry.map_err(io(&dir))?.path();
        if path.is_file() {
            out.push((path.clone(), std::fs::read(&path).map_err(io(&path))?));
        }
    }
    out.sort();
    Ok(out)
}

/// Runs `input` through `harness`, turning a panic into an error naming it.
pub fn run_one(harness: &mut dyn Harness, input: &[u8]) -> Result<(), String> {
    match catch_unwind(AssertUnwindSafe(|| harness.run(input))) {
        Ok(result) => result,
        Err(payload) => Err(format!("panic: {}", panic_message(&payload))),
    }
}

fn panic_message(payload: &Box<dyn std::any::Any + Send>) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".into())
}

/// A name for an input: the hex of its FNV-1a hash.
fn input_id(input: &[u8]) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in input {
        h = (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3);
    }
    format!("{h:016x}")
}

/// Writes `input` as a finding of `harness` and returns its path.
fn save(dir: &Path, kind: &str, input: &[u8]) -> Result<PathBuf, FuzzError> {
    std::fs::create_dir_all(dir).map_err(|error| FuzzError::Io { path: dir.to_path_buf(), error })?;
    let path = dir.join(format!("{kind}-{}", input_id(input)));
    std::fs::write(&path, input).map_err(|error| FuzzError::Io { path: path.clone(), error })?;
    Ok(path)
}

/// The input being run and since when, for the hang watchdog.
type Current = Arc<Mutex<Option<(Instant, Vec<u8>)>>>;

/// Exits the process with a `hang-*` finding when one input runs longer than `limit`.
#[allow(
    clippy::disallowed_methods,
    reason = "the fuzz driver's watchdog measures wall time; not consensus code"
)]
fn watchdog(current: Current, limit: Duration, dir: PathBuf, name: &'static str) {
    std::thread::spawn(move || {
        loop {
            std::thread::sleep(Duration::from_millis(500));
            let Ok(guard) = current.lock() else { return };
            if let Some((since, input)) = guard.as_ref()
                && since.elapsed() > limit
            {
                let saved = save(&dir, "hang", input).map(|p| p.display().to_string());
                eprintln!(
                    "[{name}] HANG: one input ran over {}s; saved as {}",
                    limit.as_secs(),
                    saved.unwrap_or_else(|e| e.to_string())
                );
                std::process::exit(3);
            }
        }
    });
}

/// Replays `harness`'s kept cases and seeds, then fuzzes it as `options` say.
#[allow(clippy::disallowed_methods, reason = "the fuzz driver budgets wall time; not consensus code")]
pub fn fuzz(harness: &mut dyn Harness, options: &Options) -> Result<Report, FuzzError> {
    let name = harness.name();
    let started = Instant::now();
    let dir = options.findings.join(name);
    let current: Current = Arc::new(Mutex::new(None));
    watchdog(current.clone(), options.hang, dir.clone(), name);
    let mut report = Report::default();
    let kept = cases(name)?;
    let seeds = harness.seeds();
    // Quiet panics while fuzzing: each one is reported as a finding with its message.
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let mut check = |input: &[u8], report: &mut Report| -> Result<bool, FuzzError> {
        if let Ok(mut c) = current.lock() {
            *c = Some((Instant::now(), input.to_vec()));
        }
        let result = run_one(harness, input);
        if let Ok(mut c) = current.lock() {
            *c = None;
        }
        if let Err(why) = result {
            let path = save(&dir, "crash", input)?;
            eprintln!("[{name}] FINDING {}: {why}", path.display());
            report.findings.push(path);
        }
        Ok(report.findings.len() < MAX_FINDINGS)
    };
    let mut corpus: Vec<Vec<u8>> = Vec::with_capacity(kept.len() + seeds.len());
    for (_, input) in &kept {
        check(input, &mut report)?;
        report.cases += 1;
        corpus.push(input.clone());
    }
    for input in &seeds {
        check(input, &mut report)?;
        report.seeds += 1;
        corpus.push(input.clone());
    }
    let mut rng = Rng::new(options.seed);
    let mut last_progress = Instant::now();
    while started.elapsed() < options.time
        && options.iterations.is_none_or(|n| report.iterations < n)
        && report.findings.len() < MAX_FINDINGS
    {
        let input = mutate::next_input(&mut rng, &corpus);
        report.iterations += 1;
        if !check(&input, &mut report)? {
            break;
        }
        if let Some(every) = options.progress
            && last_progress.elapsed() >= every
        {
            last_progress = Instant::now();
            println!(
                "[{name}] {}s: {} inputs, {} findings",
                started.elapsed().as_secs(),
                report.iterations,
                report.findings.len()
            );
        }
    }
    std::panic::set_hook(hook);
    report.elapsed_ms = started.elapsed().as_millis();
    Ok(report)
}
