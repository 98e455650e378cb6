//! The browser wallet's files, served by the node at its RPC address (GET and HEAD requests
//! that are not WebSocket upgrades), so one URL gives the wallet and the node it talks to. Files are read
//! once at start into memory; only those names are ever served, so a request path can never
//! reach the file system.

use std::collections::BTreeMap;
use std::future::Future;
use std::path::Path;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use jsonrpsee::server::{HttpBody, HttpRequest, HttpResponse};

/// Largest wallet bundle loaded, in bytes.
pub const MAX_BYTES: u64 = 64 << 20;

type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Files by URL path (`index.html` also answers `/`), with their content type.
#[derive(Debug, Clone, Default)]
pub struct WalletFiles(Arc<BTreeMap<String, (&'static str, Vec<u8>)>>);

impl WalletFiles {
    /// Loads the files of `dir` and of its direct subdirectories.
    pub fn load(dir: &Path) -> std::io::Result<WalletFiles> {
        let mut files = BTreeMap::new();
        let mut total = 0u64;
        let mut dirs = vec![(dir.to_path_buf(), String::new())];
        while let Some((path, prefix)) = dirs.pop() {
            for entry in std::fs::read_dir(&path)? {
                let entry = entry?;
                let name = format!("{prefix}{}", entry.file_name().to_string_lossy());
                if entry.file_type()?.is_dir() {
                    if prefix.is_empty() {
                        dirs.push((entry.path(), format!("{name}/")));
                    }
                    continue;
                }
                total += entry.metadata()?.len();
                if total > MAX_BYTES {
                    return Err(std::io::Error::other(format!(
                        "{} holds more than {MAX_BYTES} bytes",
                        dir.display()
                    )));
                }
                files.insert(name.clone(), (content_type(&name), std::fs::read(entry.path())?));
            }
        }
        Ok(WalletFiles(Arc::new(files)))
    }

    /// How many files are served.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether no file is served.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    fn response(&self, request: &HttpRequest) -> Option<HttpResponse> {
        let head = request.method() == http::Method::HEAD;
        if !(head || request.method() == http::Method::GET)
            || request.headers().contains_key(http::header::UPGRADE)
        {
            return None;
        }
        let path = request.uri().path().trim_start_matches('/');
        let (mime, body) = self.0.get(if path.is_empty() { "index.html" } else { path })?;
        http::Response::builder()
            .header(http::header::CONTENT_TYPE, *mime)
            .header(http::header::CACHE_CONTROL, "no-cache")
            // The wallet holds keys: no other site may frame it (clickjacking), and browsers
            // must not guess types.
            .header(http::header::X_FRAME_OPTIONS, "DENY")
            .header(http::header::CONTENT_SECURITY_POLICY, "frame-ancestors 'none'")
            .header(http::header::X_CONTENT_TYPE_OPTIONS, "nosniff")
            .header(http::header::CONTENT_LENGTH, body.len())
            .body(HttpBody::from(if head { Vec::new() } else { body.clone() }))
            .ok()
    }
}

fn content_type(name: &str) -> &'static str {
    match name.rsplit('.').next() {
        Some("html") => "text/html; charset=utf-8",
        Some("js") => "text/javascript",
        Some("wasm") => "application/wasm",
        Some("css") => "text/css",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        Some("json") => "application/json",
        _ => "application/octet-stream",
    }
}

impl<S> tower::Layer<S> for WalletFiles {
    type Service = WalletService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        WalletService { inner, files: self.clone() }
    }
}

/// Answers wallet file requests; passes everything else (JSON-RPC, WebSocket) on.
#[derive(Debug, Clone)]
pub struct WalletService<S> {
    inner: S,
    files: WalletFiles,
}

impl<S> tower::Service<HttpRequest> for WalletService<S>
where
    S: tower::Service<HttpRequest, Response = HttpResponse>,
    S::Error: Into<BoxError>,
    S::Future: Send + 'static,
{
    type Response = HttpResponse;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<HttpResponse, BoxError>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        self.inner.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, request: HttpRequest) -> Self::Future {
        if let Some(response) = self.files.response(&request) {
            return Box::pin(std::future::ready(Ok(response)));
        }
        let future = self.inner.call(request);
        Box::pin(async move { future.await.map_err(Into::into) })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]

    use super::*;

    fn request(method: &str, path: &str, upgrade: bool) -> HttpRequest {
        let mut builder = http::Request::builder().method(method).uri(path);
        if upgrade {
            builder = builder.header(http::header::UPGRADE, "websocket");
        }
        builder.body(HttpBody::from("")).unwrap()
    }

    #[test]
    fn serves_only_the_loaded_files_and_passes_rpc_on() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("index.html"), "<html>").unwrap();
        std::fs::write(dir.path().join("tao_web_bg.wasm"), [0, 97, 115, 109]).unwrap();
        std::fs::create_dir(dir.path().join("icons")).unwrap();
        std::fs::write(dir.path().join("icons/tau.svg"), "<svg/>").unwrap();
        let files = WalletFiles::load(dir.path()).unwrap();
        assert_eq!(files.len(), 3);
        let content_type =
            |r: &HttpResponse| r.headers()[http::header::CONTENT_TYPE].to_str().unwrap().to_string();
        let index = files.response(&request("GET", "/", false)).unwrap();
        assert_eq!(content_type(&index), "text/html; charset=utf-8");
        assert_eq!(index.headers()[http::header::X_FRAME_OPTIONS], "DENY", "never framed");
        let wasm = files.response(&request("GET", "/tao_web_bg.wasm", false)).unwrap();
        assert_eq!(content_type(&wasm), "application/wasm");
        assert!(files.response(&request("GET", "/icons/tau.svg", false)).is_some());
        let head = files.response(&request("HEAD", "/tao_web_bg.wasm", false)).unwrap();
        assert_eq!(head.headers()[http::header::CONTENT_LENGTH], "4");
        for (method, path, upgrade) in [
            ("POST", "/", false),
            ("GET", "/", true),
            ("GET", "/missing.js", false),
            ("GET", "/../index.html", false),
            ("GET", "/icons/../index.html", false),
        ] {
            assert!(files.response(&request(method, path, upgrade)).is_none(), "{method} {path} {upgrade}");
        }
    }
}
