//! Daemon side of the control socket.
//!
//! [`ControlServer::bind`] prepares the socket file: a stale one left by a
//! crashed daemon is removed, a live one (something answers) is an error, as
//! is any other kind of file in the way. [`ControlServer::serve`] then runs
//! forever, one task per connection; the daemon loop answers the
//! [`ControlRequest`]s it receives. Dropping the server removes the socket
//! file, provided it is still the one we created.

use std::io;
use std::os::unix::fs::{FileTypeExt as _, MetadataExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context as _, bail};
use tokio::io::{AsyncBufReadExt as _, AsyncReadExt as _, AsyncWriteExt as _, BufReader};
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::{mpsc, oneshot};

use super::{Request, Response};

/// Longest request line accepted; requests are tiny objects.
const MAX_REQUEST_LINE: u64 = 64 * 1024;
/// A connection that sends nothing for this long is closed.
const IDLE_TIMEOUT: Duration = Duration::from_secs(30);

/// One request on its way to the daemon loop, with the way back.
#[derive(Debug)]
pub struct ControlRequest {
    pub request: Request,
    pub reply: oneshot::Sender<Response>,
}

/// The bound control socket.
#[derive(Debug)]
pub struct ControlServer {
    listener: UnixListener,
    path: PathBuf,
    /// Device and inode of the socket file we created, to remove only that one.
    identity: (u64, u64),
    /// Peers allowed besides root: the daemon's effective uid.
    own_uid: u32,
    /// A `control-group` opened the socket to its members (0660), for the
    /// read-only commands.
    group: bool,
}

impl ControlServer {
    /// Binds `path` with mode 0600, or 0660 and group `group` when one is
    /// given (its members get the read-only commands). Must be called
    /// within a tokio runtime.
    pub fn bind(path: &Path, group: Option<&str>) -> anyhow::Result<ControlServer> {
        let gid = match group {
            Some(name) => Some(
                nix::unistd::Group::from_name(name)
                    .with_context(|| format!("cannot look up control-group `{name}`"))?
                    .with_context(|| format!("control-group `{name}` does not exist"))?
                    .gid,
            ),
            None => None,
        };
        remove_stale(path)?;
        let listener = UnixListener::bind(path)
            .with_context(|| format!("cannot bind control socket {}", path.display()))?;
        // Peers are also checked by credentials, so the short window before
        // the mode is tightened grants nobody anything.
        let mode = if gid.is_some() { 0o660 } else { 0o600 };
        if let Some(gid) = gid {
            nix::unistd::chown(path, None, Some(gid)).with_context(|| {
                format!("cannot give {} to control-group {gid}", path.display())
            })?;
        }
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
            .with_context(|| format!("cannot set mode {mode:o} on {}", path.display()))?;
        let meta =
            std::fs::symlink_metadata(path).with_context(|| format!("{}", path.display()))?;
        Ok(ControlServer {
            listener,
            path: path.to_owned(),
            identity: (meta.dev(), meta.ino()),
            own_uid: nix::unistd::geteuid().as_raw(),
            group: gid.is_some(),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Accepts connections until `requests` is closed by the daemon loop.
    pub async fn serve(self, requests: mpsc::Sender<ControlRequest>) {
        loop {
            tokio::select! {
                () = requests.closed() => return,
                accepted = self.listener.accept() => match accepted {
                    Ok((stream, _)) => {
                        let requests = requests.clone();
                        let own_uid = self.own_uid;
                        let group = self.group;
                        tokio::spawn(async move {
                            if let Err(e) = connection(stream, own_uid, group, requests).await {
                                tracing::debug!(error = %e, "control connection ended");
                            }
                        });
                    }
                    Err(e) => {
                        // EMFILE and friends: back off instead of spinning.
                        tracing::warn!(error = %e, "control socket accept failed");
                        tokio::time::sleep(Duration::from_millis(100)).await;
                    }
                },
            }
        }
    }
}

impl Drop for ControlServer {
    fn drop(&mut self) {
        // Another instance may have replaced the file; leave that one alone.
        if let Ok(meta) = std::fs::symlink_metadata(&self.path)
            && (meta.dev(), meta.ino()) == self.identity
        {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

fn remove_stale(path: &Path) -> anyhow::Result<()> {
    let meta = match std::fs::symlink_metadata(path) {
        Ok(meta) => meta,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e).with_context(|| format!("{}", path.display())),
    };
    if !meta.file_type().is_socket() {
        bail!(
            "{} exists and is not a socket; not removing it",
            path.display()
        );
    }
    match std::os::unix::net::UnixStream::connect(path) {
        Ok(_) => bail!(
            "{} is in use: another v6edge daemon is running",
            path.display()
        ),
        Err(e) if e.kind() == io::ErrorKind::ConnectionRefused => {
            tracing::info!(path = %path.display(), "removing stale control socket");
            std::fs::remove_file(path)
                .with_context(|| format!("cannot remove stale {}", path.display()))
        }
        Err(e) => {
            Err(e).with_context(|| format!("cannot probe existing socket {}", path.display()))
        }
    }
}

async fn connection(
    stream: UnixStream,
    own_uid: u32,
    group: bool,
    requests: mpsc::Sender<ControlRequest>,
) -> io::Result<()> {
    let cred = stream.peer_cred()?;
    let (read, mut write) = stream.into_split();
    let full = cred.uid() == 0 || cred.uid() == own_uid;
    // Anyone else got through the socket file's 0660: a control-group
    // member (the kernel checked the supplementary groups we cannot see).
    if !full && !group {
        tracing::warn!(uid = cred.uid(), pid = ?cred.pid(), "control connection refused");
        let line = Response::error(format!("permission denied for uid {}", cred.uid())).to_line();
        write.write_all(line.as_bytes()).await?;
        return Ok(());
    }
    let mut reader = BufReader::new(read);
    let mut line = Vec::new();
    loop {
        line.clear();
        let n = match tokio::time::timeout(
            IDLE_TIMEOUT,
            (&mut reader)
                .take(MAX_REQUEST_LINE + 1)
                .read_until(b'\n', &mut line),
        )
        .await
        {
            Ok(result) => result?,
            Err(_) => return Ok(()),
        };
        if n == 0 {
            return Ok(());
        }
        if line.last() != Some(&b'\n') && n as u64 > MAX_REQUEST_LINE {
            let response = Response::error(format!("request longer than {MAX_REQUEST_LINE} bytes"));
            write.write_all(response.to_line().as_bytes()).await?;
            return Ok(());
        }
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let response = match serde_json::from_slice::<Request>(&line) {
            Ok(request) if !full && !request.is_read_only() => {
                tracing::warn!(
                    uid = cred.uid(),
                    command = request.name(),
                    "control command refused to a control-group member"
                );
                Response::error(format!(
                    "permission denied: `{}` is for root and the daemon's user; control-group members may use status, leases, tree and metrics",
                    request.name()
                ))
            }
            Ok(request) => forward(request, &requests).await,
            Err(e) => Response::error(format!("bad request: {e}")),
        };
        write.write_all(response.to_line().as_bytes()).await?;
    }
}

async fn forward(request: Request, requests: &mpsc::Sender<ControlRequest>) -> Response {
    let (reply, answer) = oneshot::channel();
    if requests
        .send(ControlRequest { request, reply })
        .await
        .is_err()
    {
        return Response::error("the daemon is shutting down");
    }
    answer
        .await
        .unwrap_or_else(|_| Response::error("the daemon dropped the request"))
}
