//! The documents the daemon keeps in its state directory, and the one place
//! where machine time ([`v6edge_core::Instant`]) meets wall-clock time.
//!
//! Machines count time from an arbitrary origin; a document that must
//! survive a reboot stores absolute Unix times (or a save time plus
//! remaining lifetimes) and is converted back with the clock of the new run.
//!
//! | document | what | why |
//! |---|---|---|
//! | `binding.json` | the DHCPv6 client's binding: server, prefixes, addresses, remaining lifetimes at `saved_at` | restart with Rebind instead of a new Solicit (RFC 8415 §18.2.5) |
//! | `hints.json` | the last prefix held per IA_PD IAID | ask for it again as a hint after a restart, even once it expired (RFC 8415 §18.2.1) |
//! | `lans.json` | per LAN: the subnet index and the prefixes advertised, with their valid-until time | LPD-3 stable subnets; RFC 9096 §3.5 stale prefixes after a crash |

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use v6edge_core::Instant;
use v6edge_dhcp6::client::{StoredAddress, StoredBinding, StoredPrefix};
use v6edge_prefix::Prefix;
use v6edge_router::{AdvertisedRecord, Persisted};
use v6edge_wire::Lifetime;
use v6edge_wire::dhcp6::Duid;

pub const BINDING_DOC: &str = "binding";
pub const HINTS_DOC: &str = "hints";
pub const LANS_DOC: &str = "lans";

/// Machine time: microseconds since `origin`, the daemon's start (every
/// unit of one daemon shares it).
pub fn machine_now(origin: tokio::time::Instant) -> Instant {
    Instant::from_micros(u64::try_from(origin.elapsed().as_micros()).unwrap_or(u64::MAX))
}

/// The tokio instant of a machine instant, for timers.
pub fn tokio_instant(origin: tokio::time::Instant, t: Instant) -> tokio::time::Instant {
    origin + Duration::from_micros(t.as_micros())
}

/// Maps machine instants to Unix seconds and back, for this run.
#[derive(Debug, Clone, Copy)]
pub struct WallClock {
    /// Unix time (seconds, fractional) at machine instant zero.
    origin_unix: f64,
}

impl WallClock {
    /// `now` is the machine time that corresponds to `wall`.
    pub fn new(now: Instant, wall: SystemTime) -> WallClock {
        let unix = wall
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs_f64();
        WallClock {
            origin_unix: unix - now.as_micros() as f64 / 1e6,
        }
    }

    pub fn to_unix(&self, t: Instant) -> u64 {
        (self.origin_unix + t.as_micros() as f64 / 1e6).max(0.0) as u64
    }

    /// The machine instant of a Unix time; times before this run's origin
    /// map to instant zero (already past).
    pub fn from_unix(&self, unix: u64) -> Instant {
        let secs = unix as f64 - self.origin_unix;
        if secs <= 0.0 {
            Instant::ZERO
        } else {
            Instant::from_micros((secs * 1e6) as u64)
        }
    }

    pub fn unix_now(&self, now: Instant) -> u64 {
        self.to_unix(now)
    }
}

fn lifetime_doc(l: Lifetime) -> Option<u32> {
    match l {
        Lifetime::Infinite => None,
        Lifetime::Finite(s) => Some(s),
    }
}

fn lifetime_from_doc(v: Option<u32>, elapsed: Duration) -> Lifetime {
    match v {
        None => Lifetime::Infinite,
        Some(s) => Lifetime::Finite(s).saturating_sub(elapsed),
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BindingDoc {
    /// Unix seconds when the remaining lifetimes below were read.
    pub saved_at: u64,
    pub server_duid: Option<String>,
    pub prefixes: Vec<PrefixDoc>,
    pub addresses: Vec<AddressDoc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PrefixDoc {
    pub iaid: u32,
    pub prefix: String,
    /// Remaining seconds at `saved_at`; null = infinite.
    pub preferred: Option<u32>,
    pub valid: Option<u32>,
    pub exclude: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AddressDoc {
    pub iaid: u32,
    pub address: std::net::Ipv6Addr,
    pub preferred: Option<u32>,
    pub valid: Option<u32>,
}

impl BindingDoc {
    pub fn from_binding(b: &StoredBinding, saved_at: u64) -> BindingDoc {
        BindingDoc {
            saved_at,
            server_duid: b.server_duid.as_ref().map(|d| hex(d.as_bytes())),
            prefixes: b
                .prefixes
                .iter()
                .map(|p| PrefixDoc {
                    iaid: p.iaid,
                    prefix: p.prefix.to_string(),
                    preferred: lifetime_doc(p.preferred),
                    valid: lifetime_doc(p.valid),
                    exclude: p.exclude.map(|x| x.to_string()),
                })
                .collect(),
            addresses: b
                .addresses
                .iter()
                .map(|a| AddressDoc {
                    iaid: a.iaid,
                    address: a.addr,
                    preferred: lifetime_doc(a.preferred),
                    valid: lifetime_doc(a.valid),
                })
                .collect(),
        }
    }

    /// The binding as it stands at `unix_now`: lifetimes reduced by the time
    /// since it was saved, expired entries dropped. `None` if nothing is left.
    pub fn to_binding(&self, unix_now: u64) -> Option<StoredBinding> {
        let elapsed = Duration::from_secs(unix_now.saturating_sub(self.saved_at));
        let prefixes: Vec<StoredPrefix> = self
            .prefixes
            .iter()
            .filter_map(|p| {
                let valid = lifetime_from_doc(p.valid, elapsed);
                (!valid.is_zero()).then_some(())?;
                Some(StoredPrefix {
                    iaid: p.iaid,
                    prefix: p.prefix.parse().ok()?,
                    preferred: lifetime_from_doc(p.preferred, elapsed),
                    valid,
                    exclude: p.exclude.as_deref().and_then(|x| x.parse().ok()),
                })
            })
            .collect();
        let addresses: Vec<StoredAddress> = self
            .addresses
            .iter()
            .filter_map(|a| {
                let valid = lifetime_from_doc(a.valid, elapsed);
                (!valid.is_zero()).then_some(StoredAddress {
                    iaid: a.iaid,
                    addr: a.address,
                    preferred: lifetime_from_doc(a.preferred, elapsed),
                    valid,
                })
            })
            .collect();
        if prefixes.is_empty() && addresses.is_empty() {
            return None;
        }
        let server_duid = self
            .server_duid
            .as_deref()
            .and_then(unhex)
            .and_then(|b| Duid::from_bytes(&b).ok());
        Some(StoredBinding {
            server_duid,
            prefixes,
            addresses,
        })
    }
}

/// IAID (as text, JSON keys are strings) → last prefix held.
pub type HintsDoc = BTreeMap<String, String>;

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct LansDoc {
    pub subnet_ids: BTreeMap<String, u64>,
    pub advertised: Vec<AdvertisedDoc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdvertisedDoc {
    pub lan: String,
    pub prefix: String,
    /// Unix seconds; null = infinite.
    pub valid_until: Option<u64>,
}

impl LansDoc {
    pub fn from_persisted(p: &Persisted, clock: &WallClock) -> LansDoc {
        LansDoc {
            subnet_ids: p
                .subnet_ids
                .iter()
                .map(|(k, v)| (k.clone(), *v as u64))
                .collect(),
            advertised: p
                .advertised
                .iter()
                .map(|a| AdvertisedDoc {
                    lan: a.lan.clone(),
                    prefix: a.prefix.to_string(),
                    valid_until: a.valid_until.map(|t| clock.to_unix(t)),
                })
                .collect(),
        }
    }

    pub fn to_persisted(&self, clock: &WallClock) -> Persisted {
        Persisted {
            subnet_ids: self
                .subnet_ids
                .iter()
                .map(|(k, v)| (k.clone(), u128::from(*v)))
                .collect(),
            advertised: self
                .advertised
                .iter()
                .filter_map(|a| {
                    Some(AdvertisedRecord {
                        lan: a.lan.clone(),
                        prefix: a.prefix.parse::<Prefix>().ok()?,
                        valid_until: a.valid_until.map(|u| clock.from_unix(u)),
                    })
                })
                .collect(),
        }
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

fn unhex(text: &str) -> Option<Vec<u8>> {
    text.split(':')
        .map(|h| u8::from_str_radix(h, 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wall_clock_round_trip() {
        let wall = UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        let clock = WallClock::new(Instant::from_secs(100), wall);
        assert_eq!(clock.to_unix(Instant::from_secs(160)), 1_800_000_060);
        assert_eq!(clock.from_unix(1_800_000_060), Instant::from_secs(160));
        assert_eq!(clock.from_unix(1_000), Instant::ZERO);
    }

    #[test]
    fn binding_lifetimes_shrink_by_the_downtime() {
        let b = StoredBinding {
            server_duid: Some(Duid::new_ll(1, &[2, 0, 0, 0, 0, 1])),
            prefixes: vec![
                StoredPrefix {
                    iaid: 7,
                    prefix: "2001:db8:1200::/56".parse().unwrap(),
                    preferred: Lifetime::Finite(100),
                    valid: Lifetime::Finite(200),
                    exclude: None,
                },
                StoredPrefix {
                    iaid: 8,
                    prefix: "2001:db8:1300::/56".parse().unwrap(),
                    preferred: Lifetime::Finite(10),
                    valid: Lifetime::Finite(20),
                    exclude: None,
                },
            ],
            addresses: vec![],
        };
        let doc = BindingDoc::from_binding(&b, 1000);
        let text = serde_json::to_string(&doc).unwrap();
        let doc: BindingDoc = serde_json::from_str(&text).unwrap();
        let back = doc.to_binding(1050).unwrap();
        assert_eq!(back.server_duid, b.server_duid);
        assert_eq!(
            back.prefixes.len(),
            1,
            "the prefix with 20 s valid expired during the downtime"
        );
        assert_eq!(back.prefixes[0].preferred, Lifetime::Finite(50));
        assert_eq!(back.prefixes[0].valid, Lifetime::Finite(150));
        assert!(doc.to_binding(5000).is_none());
    }

    #[test]
    fn lans_doc_round_trip() {
        let clock = WallClock::new(Instant::ZERO, UNIX_EPOCH + Duration::from_secs(1_000_000));
        let p = Persisted {
            subnet_ids: [("lan0".to_string(), 3u128)].into(),
            advertised: vec![AdvertisedRecord {
                lan: "lan0".into(),
                prefix: "2001:db8:1200:3::/64".parse().unwrap(),
                valid_until: Some(Instant::from_secs(500)),
            }],
        };
        let doc = LansDoc::from_persisted(&p, &clock);
        assert_eq!(doc.advertised[0].valid_until, Some(1_000_500));
        // A later run whose instant zero is 100 s later.
        let later = WallClock::new(Instant::ZERO, UNIX_EPOCH + Duration::from_secs(1_000_100));
        let back = doc.to_persisted(&later);
        assert_eq!(
            back.advertised[0].valid_until,
            Some(Instant::from_secs(400))
        );
        assert_eq!(back.subnet_ids, p.subnet_ids);
    }
}
