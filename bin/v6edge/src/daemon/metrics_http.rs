//! `[daemon] metrics-listen`: the Prometheus text exposition over HTTP
//! (`GET /metrics`), for scrapers that do not run on the router.
//!
//! A scrape is a control request like `v6edge metrics`: it goes through
//! the event loop, where the roles compute what counts down (remaining
//! lifetimes) at that moment, and the answer comes back on a oneshot. The
//! listener and its connections live in their own tasks; the loop only
//! answers requests, so a slow or hostile HTTP client costs it nothing.
//! Connections are bounded ([`MAX_CONNECTIONS`]) and so is the time to send
//! a request's headers ([`HEADER_TIMEOUT`]).

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::header::{ALLOW, CONTENT_TYPE};
use hyper::{Method, Request as HttpRequest, Response as HttpResponse, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, mpsc, oneshot};

use crate::control::server::ControlRequest;
use crate::control::{Request, Response};

/// Scrapers connected at once; more wait in the listen backlog.
pub const MAX_CONNECTIONS: usize = 16;
/// A client that has not sent its request headers by then is dropped.
pub const HEADER_TIMEOUT: Duration = Duration::from_secs(5);
/// The exposition format prometheus-client writes (OpenMetrics 1.0), for
/// scrapers that ask for it (Prometheus does).
const CONTENT_TYPE_OPENMETRICS: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";
/// The classic text format, for everyone else (promtool, curl).
const CONTENT_TYPE_CLASSIC: &str = "text/plain; version=0.0.4; charset=utf-8";

/// The bound listener.
#[derive(Debug)]
pub struct MetricsListener {
    listener: TcpListener,
}

impl MetricsListener {
    /// Binds `addr`; a port in use is an error the daemon reports at start.
    pub async fn bind(addr: SocketAddr) -> anyhow::Result<MetricsListener> {
        let listener = TcpListener::bind(addr)
            .await
            .with_context(|| format!("cannot listen for metrics on {addr}"))?;
        Ok(MetricsListener { listener })
    }

    pub fn local_addr(&self) -> Option<SocketAddr> {
        self.listener.local_addr().ok()
    }

    /// Serves until `requests` is closed by the daemon loop.
    pub async fn serve(self, requests: mpsc::Sender<ControlRequest>) {
        let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));
        loop {
            let permit = tokio::select! {
                () = requests.closed() => return,
                p = slots.clone().acquire_owned() => match p {
                    Ok(p) => p,
                    Err(_) => return,
                },
            };
            let accepted = tokio::select! {
                () = requests.closed() => return,
                a = self.listener.accept() => a,
            };
            let (stream, peer) = match accepted {
                Ok(a) => a,
                Err(e) => {
                    // EMFILE and friends: back off instead of spinning.
                    tracing::warn!(error = %e, "metrics listener accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            };
            let requests = requests.clone();
            tokio::spawn(async move {
                let service = hyper::service::service_fn(move |req| {
                    let requests = requests.clone();
                    async move { Ok::<_, Infallible>(answer(req, &requests).await) }
                });
                let served = hyper::server::conn::http1::Builder::new()
                    .timer(TokioTimer::new())
                    .header_read_timeout(HEADER_TIMEOUT)
                    .keep_alive(true)
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
                if let Err(e) = served {
                    tracing::debug!(%peer, error = %e, "metrics connection ended");
                }
                drop(permit);
            });
        }
    }
}

async fn answer(
    req: HttpRequest<Incoming>,
    requests: &mpsc::Sender<ControlRequest>,
) -> HttpResponse<Full<Bytes>> {
    if req.uri().path() != "/metrics" {
        return plain(
            StatusCode::NOT_FOUND,
            "not found: the metrics are at /metrics\n",
        );
    }
    if req.method() != Method::GET && req.method() != Method::HEAD {
        let mut r = plain(StatusCode::METHOD_NOT_ALLOWED, "GET /metrics\n");
        r.headers_mut()
            .insert(ALLOW, "GET, HEAD".parse().expect("static header"));
        return r;
    }
    let openmetrics = req
        .headers()
        .get_all(hyper::header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.contains("application/openmetrics-text"));
    let (reply, answer) = oneshot::channel();
    let sent = requests
        .send(ControlRequest {
            request: Request::Metrics,
            reply,
        })
        .await;
    let response = match sent {
        Ok(()) => answer.await.ok(),
        Err(_) => None,
    };
    match response.and_then(metrics_text) {
        Some(text) => {
            let (text, kind) = if openmetrics {
                (text, CONTENT_TYPE_OPENMETRICS)
            } else {
                (crate::metrics::classic_text(&text), CONTENT_TYPE_CLASSIC)
            };
            let mut r = HttpResponse::new(Full::new(Bytes::from(text)));
            r.headers_mut()
                .insert(CONTENT_TYPE, kind.parse().expect("static header"));
            r
        }
        None => plain(StatusCode::SERVICE_UNAVAILABLE, "the daemon is stopping\n"),
    }
}

fn metrics_text(r: Response) -> Option<String> {
    let data = r.data.filter(|_| r.ok)?;
    Some(data.get("text")?.as_str()?.to_owned())
}

fn plain(status: StatusCode, text: &'static str) -> HttpResponse<Full<Bytes>> {
    let mut r = HttpResponse::new(Full::new(Bytes::from_static(text.as_bytes())));
    *r.status_mut() = status;
    r.headers_mut().insert(
        CONTENT_TYPE,
        "text/plain; charset=utf-8".parse().expect("static header"),
    );
    r
}
