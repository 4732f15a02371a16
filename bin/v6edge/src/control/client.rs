//! Blocking client of the control socket, used by `v6edge status` & co.
//! One request, one response line, everything within a deadline.

use std::io::{self, BufRead as _, BufReader, Read as _, Write as _};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::{Request, Response};

/// How long the CLI waits for the daemon.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);
/// Metrics text can be long, but not this long.
const MAX_RESPONSE_LINE: u64 = 16 * 1024 * 1024;

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ClientError {
    // The source follows through the error chain (`{:#}` in main): not
    // repeated in the message.
    #[error("cannot connect to {} (is the daemon running?)", path.display())]
    NotRunning { path: PathBuf, source: io::Error },
    #[error("cannot connect to {}: permission denied (the control socket is for root and the daemon's user)", path.display())]
    PermissionDenied { path: PathBuf },
    #[error("no answer from {} within {} s", path.display(), timeout.as_secs())]
    Timeout { path: PathBuf, timeout: Duration },
    #[error("{}: the daemon closed the connection without answering", path.display())]
    Closed { path: PathBuf },
    #[error("{}: invalid response: {reason}", path.display())]
    BadResponse { path: PathBuf, reason: String },
    #[error("{}", path.display())]
    Io { path: PathBuf, source: io::Error },
}

/// Sends `request` to the daemon at `socket` and returns its response.
pub fn request(
    socket: &Path,
    request: Request,
    timeout: Duration,
) -> Result<Response, ClientError> {
    let path = socket.to_owned();
    let deadline = Instant::now() + timeout;
    let stream = UnixStream::connect(socket).map_err(|source| match source.kind() {
        io::ErrorKind::PermissionDenied => ClientError::PermissionDenied { path: path.clone() },
        _ => ClientError::NotRunning {
            path: path.clone(),
            source,
        },
    })?;
    let io_err = |source: io::Error| match source.kind() {
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => ClientError::Timeout {
            path: path.clone(),
            timeout,
        },
        _ => ClientError::Io {
            path: path.clone(),
            source,
        },
    };
    let remaining = || {
        // A zero timeout means "block forever" to the socket API; keep it positive.
        deadline
            .saturating_duration_since(Instant::now())
            .max(Duration::from_millis(1))
    };
    stream
        .set_write_timeout(Some(remaining()))
        .map_err(io_err)?;
    // Serialising a fieldless tagged enum cannot fail.
    let mut line = serde_json::to_vec(&request).unwrap_or_default();
    line.push(b'\n');
    (&stream).write_all(&line).map_err(io_err)?;
    let mut reader = BufReader::new((&stream).take(MAX_RESPONSE_LINE));
    let mut answer = Vec::new();
    loop {
        if Instant::now() >= deadline {
            return Err(ClientError::Timeout {
                path: path.clone(),
                timeout,
            });
        }
        stream.set_read_timeout(Some(remaining())).map_err(io_err)?;
        match reader.read_until(b'\n', &mut answer) {
            Ok(0) => break,
            Ok(_) if answer.last() == Some(&b'\n') => break,
            Ok(_) => continue,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(io_err(e)),
        }
    }
    if answer.is_empty() {
        return Err(ClientError::Closed { path });
    }
    serde_json::from_slice(&answer).map_err(|e| ClientError::BadResponse {
        path,
        reason: e.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::control::server::{ControlRequest, ControlServer};
    use std::sync::atomic::{AtomicU32, Ordering};
    use tokio::sync::mpsc;

    fn socket_path(tag: &str) -> PathBuf {
        static N: AtomicU32 = AtomicU32::new(0);
        std::env::temp_dir().join(format!(
            "v6edge-ctl-{tag}-{}-{}.sock",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ))
    }

    /// A daemon loop stand-in: answers status with a marker, everything
    /// else with an error naming the command.
    async fn answer(mut rx: mpsc::Receiver<ControlRequest>) {
        while let Some(ControlRequest { request, reply }) = rx.recv().await {
            let response = match request {
                Request::Status => Response::ok(serde_json::json!({"marker": 42})),
                other => Response::error(format!("{} refused", other.name())),
            };
            let _ = reply.send(response);
        }
    }

    #[test]
    fn round_trip_over_socket() {
        let path = socket_path("rt");
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let server = ControlServer::bind(&path).unwrap();
            let mode = std::fs::metadata(&path).unwrap().permissions();
            assert_eq!(
                std::os::unix::fs::PermissionsExt::mode(&mode) & 0o777,
                0o600
            );
            let (tx, rx) = mpsc::channel(4);
            let serve = tokio::spawn(server.serve(tx));
            let loop_task = tokio::spawn(answer(rx));
            let p = path.clone();
            let (status, release) = tokio::task::spawn_blocking(move || {
                (
                    request(&p, Request::Status, DEFAULT_TIMEOUT),
                    request(&p, Request::Release, DEFAULT_TIMEOUT),
                )
            })
            .await
            .unwrap();
            let status = status.unwrap();
            assert!(status.ok);
            assert_eq!(status.data.unwrap()["marker"], 42);
            let release = release.unwrap();
            assert!(!release.ok);
            assert_eq!(release.error.as_deref(), Some("release refused"));
            // A malformed line gets an error line, and the connection stays usable.
            let p = path.clone();
            let lines = tokio::task::spawn_blocking(move || {
                let mut s = UnixStream::connect(&p).unwrap();
                s.set_read_timeout(Some(DEFAULT_TIMEOUT)).unwrap();
                s.write_all(b"{\"command\":\"explode\"}\n{\"command\":\"status\"}\n")
                    .unwrap();
                let mut r = BufReader::new(s);
                let (mut a, mut b) = (String::new(), String::new());
                r.read_line(&mut a).unwrap();
                r.read_line(&mut b).unwrap();
                (a, b)
            })
            .await
            .unwrap();
            assert!(
                lines.0.starts_with(
                    "{\"ok\":false,\"error\":\"bad request: unknown variant `explode`"
                ),
                "{}",
                lines.0
            );
            assert_eq!(lines.1, "{\"ok\":true,\"data\":{\"marker\":42}}\n");
            // The daemon loop ends: the server stops and removes its socket.
            loop_task.abort();
            let _ = loop_task.await;
            tokio::time::timeout(DEFAULT_TIMEOUT, serve)
                .await
                .unwrap()
                .unwrap();
        });
        assert!(!path.exists(), "socket file left behind");
    }

    #[test]
    fn not_running_message() {
        let path = socket_path("none");
        let err = request(&path, Request::Status, DEFAULT_TIMEOUT).unwrap_err();
        let text = err.to_string();
        assert!(
            text.starts_with(&format!(
                "cannot connect to {} (is the daemon running?)",
                path.display()
            )),
            "{text}"
        );
    }

    #[test]
    fn silent_daemon_times_out() {
        let path = socket_path("silent");
        let listener = std::os::unix::net::UnixListener::bind(&path).unwrap();
        let start = Instant::now();
        let err = request(&path, Request::Status, Duration::from_millis(300)).unwrap_err();
        assert!(matches!(err, ClientError::Timeout { .. }), "{err}");
        assert!(start.elapsed() < Duration::from_secs(3));
        drop(listener);
        let _ = std::fs::remove_file(&path);
    }

    #[test]
    fn stale_socket_is_replaced_live_one_is_not() {
        let path = socket_path("stale");
        // A socket file nobody listens on: what a crashed daemon leaves.
        drop(std::os::unix::net::UnixListener::bind(&path).unwrap());
        assert!(path.exists());
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let server = ControlServer::bind(&path).unwrap();
            let err = ControlServer::bind(&path).unwrap_err().to_string();
            assert!(err.contains("another v6edge daemon is running"), "{err}");
            drop(server);
        });
        assert!(!path.exists());
        // A regular file is never removed.
        std::fs::write(&path, b"x").unwrap();
        rt.block_on(async {
            let err = ControlServer::bind(&path).unwrap_err().to_string();
            assert!(err.contains("is not a socket"), "{err}");
        });
        std::fs::remove_file(&path).unwrap();
    }
}
