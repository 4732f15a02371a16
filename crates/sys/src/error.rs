//! The one error type of the Linux layer. Every variant says what was being
//! done and to what (interface, address, route), so a log line is enough to
//! act on.

use std::io;
use std::path::PathBuf;

/// A failure talking to the kernel.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SysError {
    /// The rtnetlink socket could not be opened or bound.
    #[error("opening rtnetlink socket ({what}): {source}")]
    Connect {
        what: &'static str,
        #[source]
        source: io::Error,
    },
    /// The kernel refused a netlink request (NLMSG_ERROR with an errno).
    #[error("netlink {op} {target}: {source}")]
    Netlink {
        /// The operation, e.g. "add address".
        op: &'static str,
        /// What it applied to, e.g. "2001:db8::1/64 dev #3".
        target: String,
        #[source]
        source: io::Error,
    },
    /// The netlink exchange itself failed: the connection task is gone or
    /// the kernel answered something unexpected.
    #[error("netlink {op} {target}: {detail}")]
    Protocol {
        op: &'static str,
        target: String,
        detail: String,
    },
    /// Creating, configuring or binding a socket failed.
    #[error("{op} ({target}): {source}")]
    Socket {
        /// The step that failed, e.g. "SO_BINDTODEVICE".
        op: &'static str,
        /// Which socket, e.g. `udp [::]:547 dev eth0`.
        target: String,
        #[source]
        source: io::Error,
    },
    /// Writing a sysctl failed.
    #[error("writing {value:?} to {}: {source}", path.display())]
    Sysctl {
        path: PathBuf,
        value: String,
        #[source]
        source: io::Error,
    },
    /// An interface name or sysctl key that cannot be a path component.
    #[error("invalid {what} {name:?}")]
    InvalidName { what: &'static str, name: String },
}

impl SysError {
    /// The errno behind this error, when the kernel gave one.
    pub fn errno(&self) -> Option<i32> {
        match self {
            SysError::Connect { source, .. }
            | SysError::Netlink { source, .. }
            | SysError::Socket { source, .. }
            | SysError::Sysctl { source, .. } => source.raw_os_error(),
            SysError::Protocol { .. } | SysError::InvalidName { .. } => None,
        }
    }
}
