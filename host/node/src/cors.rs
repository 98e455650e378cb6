//! Cross-origin access to the RPC: a page may use the node from another origin only if that
//! origin is on the node's allow-list (`tao node --cors-origin`), so an honest node can serve a
//! wallet loaded elsewhere while an arbitrary site cannot drive the node from a visitor's
//! browser. Requests without an `Origin` (the CLI, scripts) and from the node's own origin (the
//! page it serves: `Origin` names the request's `Host`) pass as before.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use http::{HeaderValue, Method, StatusCode, header};
use jsonrpsee::server::{HttpBody, HttpRequest, HttpResponse};

type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// How long a browser may cache a preflight answer, in seconds.
const PREFLIGHT_MAX_AGE: &str = "600";

/// The origins allowed besides the node's own: exact `scheme://host[:port]` strings, or `*`.
#[derive(Debug, Clone, Default)]
pub struct Cors(Arc<Vec<String>>);

/// What to do with a request, by its `Origin`.
#[derive(Debug, PartialEq, Eq)]
enum Verdict {
    /// No `Origin`, or the node's own: no CORS headers needed.
    SameOrigin,
    /// An allowed origin: answer with `Access-Control-Allow-Origin` set to this.
    Allowed(HeaderValue),
    /// Another origin: refused with 403.
    Refused,
}

impl Cors {
    /// Allows `origins` (`*` allows every origin).
    pub fn new(origins: Vec<String>) -> Cors {
        Cors(Arc::new(origins.into_iter().map(|o| o.trim_end_matches('/').to_string()).collect()))
    }

    fn verdict(&self, request: &HttpRequest) -> Verdict {
        let Some(origin) = request.headers().get(header::ORIGIN) else {
            return Verdict::SameOrigin;
        };
        let text = origin.to_str().unwrap_or_default();
        let host = request.headers().get(header::HOST).and_then(|h| h.to_str().ok());
        let own =
            host.is_some_and(|h| text.strip_prefix("http://").or(text.strip_prefix("https://")) == Some(h));
        if own {
            Verdict::SameOrigin
        } else if self.0.iter().any(|o| o == "*") {
            Verdict::Allowed(HeaderValue::from_static("*"))
        } else if self.0.iter().any(|o| o == text) {
            Verdict::Allowed(origin.clone())
        } else {
            Verdict::Refused
        }
    }
}

fn refused() -> HttpResponse {
    let mut response = HttpResponse::new(HttpBody::from("origin not allowed (tao node --cors-origin)\n"));
    *response.status_mut() = StatusCode::FORBIDDEN;
    response
}

fn preflight(allowed: HeaderValue) -> HttpResponse {
    let mut response = HttpResponse::new(HttpBody::from(""));
    *response.status_mut() = StatusCode::NO_CONTENT;
    let headers = response.headers_mut();
    headers.insert(header::ACCESS_CONTROL_ALLOW_METHODS, HeaderValue::from_static("POST, GET, OPTIONS"));
    headers.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, HeaderValue::from_static("content-type"));
    headers.insert(header::ACCESS_CONTROL_MAX_AGE, HeaderValue::from_static(PREFLIGHT_MAX_AGE));
    allow(headers, allowed);
    response
}

fn allow(headers: &mut http::HeaderMap, allowed: HeaderValue) {
    headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, allowed);
    headers.insert(header::VARY, HeaderValue::from_static("Origin"));
}

impl<S> tower::Layer<S> for Cors {
    type Service = CorsService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        CorsService { inner, cors: self.clone() }
    }
}

/// Answers preflights, refuses origins not allowed, and marks answers to allowed ones.
#[derive(Debug, Clone)]
pub struct CorsService<S> {
    inner: S,
    cors: Cors,
}

impl<S> tower::Service<HttpRequest> for CorsService<S>
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
        let verdict = self.cors.verdict(&request);
        let answer = |response| -> Self::Future { Box::pin(std::future::ready(Ok(response))) };
        match verdict {
            Verdict::Refused => return answer(refused()),
            Verdict::Allowed(allowed) if request.method() == Method::OPTIONS => {
                return answer(preflight(allowed));
            }
            _ => {}
        }
        let future = self.inner.call(request);
        Box::pin(async move {
            let mut response = future.await.map_err(Into::into)?;
            if let Verdict::Allowed(allowed) = verdict {
                allow(response.headers_mut(), allowed);
            }
            Ok(response)
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]

    use super::*;

    fn request(origin: Option<&str>) -> HttpRequest {
        let mut builder =
            http::Request::builder().method("POST").uri("/").header(header::HOST, "127.0.0.1:9944");
        if let Some(origin) = origin {
            builder = builder.header(header::ORIGIN, origin);
        }
        builder.body(HttpBody::from("")).unwrap()
    }

    #[test]
    fn origins_are_allowed_only_from_the_list() {
        let cors = Cors::new(vec!["https://wallet.example/".into()]);
        assert_eq!(cors.verdict(&request(None)), Verdict::SameOrigin);
        assert_eq!(cors.verdict(&request(Some("http://127.0.0.1:9944"))), Verdict::SameOrigin);
        assert_eq!(
            cors.verdict(&request(Some("https://wallet.example"))),
            Verdict::Allowed(HeaderValue::from_static("https://wallet.example"))
        );
        for other in ["https://evil.example", "https://wallet.example.evil", "http://127.0.0.1:9945", "null"]
        {
            assert_eq!(cors.verdict(&request(Some(other))), Verdict::Refused, "{other}");
        }
        let any = Cors::new(vec!["*".into()]);
        assert_eq!(
            any.verdict(&request(Some("https://evil.example"))),
            Verdict::Allowed(HeaderValue::from_static("*"))
        );
    }
}
