//! What every command shares at the process edge: errors as one line or, with `--json`, one
//! JSON object; and a quiet end when the reader of stdout goes away (`tao … | head -1`).

use serde_json::json;

use crate::client::RpcError;
use crate::preflight::Refused;

/// `println!` panics when stdout's reader has gone (`tao … | head -1`): that is the reader's
/// choice, not a failure, so the process ends quietly with status 0 instead of printing a panic.
/// Commands that must outlive their stdout (`tao node`) write without `println!`.
pub(crate) fn end_quietly_on_closed_stdout() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let message = info
            .payload()
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| info.payload().downcast_ref::<&str>().copied())
            .unwrap_or("");
        if is_closed_stdout(message) {
            std::process::exit(0);
        }
        default(info);
    }));
}

/// The message of `println!`'s panic on a closed pipe.
fn is_closed_stdout(panic_message: &str) -> bool {
    // The OS's text ("Broken pipe (os error 32)") or the kind's ("broken pipe").
    panic_message.starts_with("failed printing to stdout")
        && panic_message.to_lowercase().contains("broken pipe")
}

/// Whether the command line asks for JSON (read before parsing, so usage errors follow it too).
pub(crate) fn wants_json() -> bool {
    std::env::args_os().any(|a| a == "--json")
}

/// A command's failure as `{"error": {"code", "message"}}`: code `node` (with the node's
/// `rpc_code`) when the node refused, `refused` (with the contract's `reason` and the `height`
/// it was previewed at) when the preflight refused, `usage` for a bad command line, else `failed`.
pub(crate) fn error_json(error: &anyhow::Error) -> serde_json::Value {
    let message = format!("{error:#}");
    if let Some(refused) = error.downcast_ref::<Refused>() {
        return json!({"error": {"code": "refused", "reason": refused.why, "height": refused.height, "message": message}});
    }
    match error.downcast_ref::<RpcError>() {
        Some(rpc) => json!({"error": {"code": "node", "rpc_code": rpc.code, "message": message}}),
        None => json!({"error": {"code": "failed", "message": message}}),
    }
}

/// A usage error as [`error_json`] would show it.
pub(crate) fn usage_json(error: &clap::Error) -> serde_json::Value {
    json!({"error": {"code": "usage", "message": error.render().to_string().trim_end()}})
}

/// A command's result: `value` for `--json`, else `text`.
pub(crate) fn print(value: &serde_json::Value, json: bool, text: &str) {
    if json {
        println!("{value}");
    } else {
        println!("{text}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_broken_stdout_pipe_ends_quietly() {
        let broken = std::io::Error::from(std::io::ErrorKind::BrokenPipe);
        assert!(is_closed_stdout(&format!("failed printing to stdout: {broken}")));
        assert!(is_closed_stdout("failed printing to stdout: Broken pipe (os error 32)"));
        let full = std::io::Error::from(std::io::ErrorKind::StorageFull);
        assert!(!is_closed_stdout(&format!("failed printing to stdout: {full}")));
        assert!(!is_closed_stdout(&format!("index out of bounds: {broken}")));
    }

    #[test]
    fn node_refusals_keep_the_node_code() {
        let refused = anyhow::Error::new(RpcError { code: 3, message: "nonce too low".into() });
        let shown = error_json(&refused.context("sending the transfer"));
        assert_eq!(shown["error"]["code"], "node");
        assert_eq!(shown["error"]["rpc_code"], 3);
        assert_eq!(shown["error"]["message"], "sending the transfer: node refused (3): nonce too low");
        assert_eq!(error_json(&anyhow::anyhow!("no wallet w"))["error"]["code"], "failed");
    }
}
