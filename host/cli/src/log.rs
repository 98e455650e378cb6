//! `tao node`'s log through `tracing`: each event carries its fields (`event`, `height`, …);
//! `--log-format text` prints its message alone, one line per event (the lines scripts and the
//! tests read, such as `rpc listening on …`), `--log-format json` one JSON object per event with
//! `timestamp`, `level`, `message`, `target` and the fields beside them. `RUST_LOG` filters as
//! tracing-subscriber's `EnvFilter` does (default: this binary's events at info and above).
//! Writes to a closed stdout are dropped, never fatal: the chain goes on (`tao node | head`).

use std::fmt;

use tracing::field::{Field, Visit};
use tracing::{Event, Subscriber};
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields, MakeWriter};
use tracing_subscriber::registry::LookupSpan;

/// The filter when `RUST_LOG` is unset: this binary's own events (the engine's and libraries'
/// only when asked for).
const DEFAULT_FILTER: &str = "tao=info";

/// How log events are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum LogFormat {
    /// The message alone, one line per event.
    Text,
    /// One JSON object per line: level, message, target, timestamp and the event's fields.
    Json,
}

/// The filter: `RUST_LOG` if set (an invalid one is an error, not silently ignored).
fn filter() -> anyhow::Result<EnvFilter> {
    match std::env::var("RUST_LOG") {
        Ok(directives) => Ok(EnvFilter::try_new(&directives)
            .map_err(|e| anyhow::anyhow!("RUST_LOG={directives:?} is not a log filter: {e}"))?),
        Err(_) => Ok(EnvFilter::new(DEFAULT_FILTER)),
    }
}

/// A subscriber writing `format` to `writer`, filtered by `filter`.
fn subscriber<W>(format: LogFormat, filter: EnvFilter, writer: W) -> Box<dyn Subscriber + Send + Sync>
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    let builder =
        tracing_subscriber::fmt().with_env_filter(filter).with_writer(writer).log_internal_errors(false);
    match format {
        LogFormat::Text => Box::new(builder.event_format(MessageOnly).finish()),
        LogFormat::Json => Box::new(
            builder.json().flatten_event(true).with_current_span(false).with_span_list(false).finish(),
        ),
    }
}

/// Sends this process's log events to stdout in `format` (once, at `tao node`'s start).
pub(crate) fn init(format: LogFormat) -> anyhow::Result<()> {
    tracing::subscriber::set_global_default(subscriber(format, filter()?, std::io::stdout))
        .map_err(|e| anyhow::anyhow!("the log is already set up: {e}"))
}

/// The text format: the event's message and nothing else.
struct MessageOnly;

impl<S, N> FormatEvent<S, N> for MessageOnly
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        _: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let mut message = Message(String::new());
        event.record(&mut message);
        writeln!(writer, "{}", message.0)
    }
}

/// Collects an event's `message` field.
struct Message(String);

impl Visit for Message {
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        if field.name() == "message" {
            self.0 = format!("{value:?}");
        }
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.0 = value.to_string();
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]

    use std::sync::{Arc, Mutex};

    use super::*;

    /// A writer into a shared buffer, to read back what was logged.
    #[derive(Clone, Default)]
    pub(crate) struct Captured(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Captured {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl Captured {
        /// The lines `during` logged in `format` (at the default filter).
        pub(crate) fn lines(format: LogFormat, during: impl FnOnce()) -> Vec<String> {
            let captured = Captured::default();
            let sink = captured.clone();
            let subscriber = subscriber(format, EnvFilter::new(DEFAULT_FILTER), move || sink.clone());
            tracing::subscriber::with_default(subscriber, during);
            let text = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
            text.lines().map(str::to_string).collect()
        }
    }

    #[test]
    fn text_is_the_message_and_json_has_level_message_and_fields() {
        let log = || tracing::warn!(event = "fault", height = 7u64, "warning: it {}", "broke");
        assert_eq!(Captured::lines(LogFormat::Text, log), ["warning: it broke"]);
        let json = Captured::lines(LogFormat::Json, log);
        let line: serde_json::Value = serde_json::from_str(&json[0]).unwrap();
        assert_eq!(
            (&line["level"], &line["message"], &line["event"], &line["height"]),
            (&"WARN".into(), &"warning: it broke".into(), &"fault".into(), &7.into())
        );
    }

    #[test]
    fn other_crates_stay_quiet_unless_asked_for() {
        let other = || tracing::info!(target: "malachite", "chatter");
        assert!(Captured::lines(LogFormat::Text, other).is_empty());
    }
}
