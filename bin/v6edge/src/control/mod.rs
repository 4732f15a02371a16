//! The control socket: a Unix stream socket speaking JSON lines.
//!
//! One request object per line, `{"command":"status"}`, answered by one
//! response line, `{"ok":true,"data":{...}}` or `{"ok":false,"error":"..."}`.
//! Several requests may be sent on one connection, one at a time.
//!
//! [`server`] accepts connections (socket mode 0600, peer credentials
//! checked: root or the daemon's own uid) and forwards each request over an
//! mpsc channel, with a oneshot for the answer, to the daemon loop that owns
//! the machines. [`client`] is the blocking side used by the CLI.
//!
//! Panic contract: nothing here panics on any input from a peer.

pub mod client;
pub mod server;

use serde::{Deserialize, Serialize};

/// A command sent to the daemon. Later commands (`leases`, `tree`) become
/// further variants; ones with arguments become struct variants.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "command", rename_all = "kebab-case")]
pub enum Request {
    /// `data` is the status document ([`crate::status::Status`]).
    Status,
    /// Release the uplink's leases and stay idle until `renew`.
    Release,
    /// Restart acquisition (Solicit, or Renew if bound).
    Renew,
    /// Re-read the configuration file, as SIGHUP does.
    Reload,
    /// `data.text` is the Prometheus text exposition.
    Metrics,
    /// `data.leases` lists the leases that pass `filter` (server or
    /// relay), one page of them; `data.total` counts all that pass.
    Leases {
        #[serde(default)]
        filter: LeaseFilter,
    },
    /// `data` is the delegation tree: upstream prefixes, LAN /64s, the
    /// prefixes delegated below with their next hops.
    Tree,
}

/// Which leases `leases` returns, and which page of them: a server with a
/// million leases answers in pages rather than one reply of hundreds of
/// megabytes.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeaseFilter {
    /// Leases inside this prefix (or equal to it), e.g. `2001:db8:100::/40`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub within: Option<String>,
    /// Leases of this client DUID (hex, colons optional).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duid: Option<String>,
    /// `pd` or `na`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// Leases to skip (after filtering, in the daemon's order).
    #[serde(default)]
    pub offset: usize,
    /// At most this many; `None`: all.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<usize>,
}

impl Request {
    /// `leases` with no filter and no paging.
    pub fn all_leases() -> Request {
        Request::Leases {
            filter: LeaseFilter::default(),
        }
    }

    /// Changes nothing: allowed to the `control-group` as well.
    pub fn is_read_only(&self) -> bool {
        matches!(
            self,
            Request::Status | Request::Metrics | Request::Leases { .. } | Request::Tree
        )
    }

    pub fn name(&self) -> &'static str {
        match self {
            Request::Status => "status",
            Request::Release => "release",
            Request::Renew => "renew",
            Request::Reload => "reload",
            Request::Metrics => "metrics",
            Request::Leases { .. } => "leases",
            Request::Tree => "tree",
        }
    }

    /// What must be configured for the command to have something to act
    /// on, for the error when nothing is (the daemon answers the others
    /// itself).
    pub fn needs(&self) -> &'static str {
        match self {
            Request::Release | Request::Renew => "an [uplink]",
            Request::Leases { .. } => "a [server] or [relay]",
            Request::Status | Request::Reload | Request::Metrics | Request::Tree => "nothing more",
        }
    }
}

/// The answer to one request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Response {
    pub ok: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl Response {
    pub fn ok(data: serde_json::Value) -> Response {
        Response {
            ok: true,
            data: Some(data),
            error: None,
        }
    }

    pub fn error(message: impl Into<String>) -> Response {
        Response {
            ok: false,
            data: None,
            error: Some(message.into()),
        }
    }

    /// One JSON line, newline included.
    pub fn to_line(&self) -> String {
        // Serialising a struct of a bool, a Value and a String cannot fail.
        let mut line = serde_json::to_string(self).unwrap_or_else(|e| {
            format!("{{\"ok\":false,\"error\":\"cannot encode response: {e}\"}}")
        });
        line.push('\n');
        line
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_format_matches_contract() {
        let req: Request = serde_json::from_str(r#"{"command":"status"}"#).unwrap();
        assert_eq!(req, Request::Status);
        assert_eq!(
            serde_json::to_string(&Request::Metrics).unwrap(),
            r#"{"command":"metrics"}"#
        );
        assert!(serde_json::from_str::<Request>(r#"{"command":"explode"}"#).is_err());
        assert_eq!(
            Response::error("nope").to_line(),
            "{\"ok\":false,\"error\":\"nope\"}\n"
        );
        assert_eq!(
            Response::ok(serde_json::json!({"text": "x"})).to_line(),
            "{\"ok\":true,\"data\":{\"text\":\"x\"}}\n"
        );
    }
}
