//! RFC 4285 MN-HA authentication: security associations, the HMAC-SHA1
//! authenticator, and replay protection (mobility.md §1.5, AU-1…AU-3).
//!
//! - An SA is an SPI (256 and up: 0-255 are reserved, RFC 4285 §5), a
//!   16-octet key, the principal it authenticates (a home address or an
//!   MN Identifier, AU-3) and a replay mode.
//! - Authenticator = First(96, HMAC_SHA1(key, Mobility Data)), Mobility
//!   Data = care-of address | home address | the Mobility Header from
//!   Payload Proto up to and including the SPI, checksum 0 (RFC 4285
//!   §5.1; the octets are found by `v6edge_wire::mh::auth`).
//! - Replay protection (RFC 4285 §6): the Mobility Message Replay
//!   Protection option carries a 64-bit NTP-format timestamp. The home
//!   agent accepts it within a window of its own clock and only if it is
//!   newer than the last one accepted on the SA (a replay inside the
//!   window is dropped). \[R\] Outside the window it answers status 144 with
//!   a timestamp whose high 32 bits are its own seconds and whose low 32
//!   bits are copied from the request, so the mobile node can match the
//!   answer and resynchronise (the Mobile IPv4 rule RFC 4285 borrows; the
//!   RFC text could not be checked when this was written). A sequence
//!   mode (the value only has to grow) serves mobile nodes without a
//!   synchronised clock.
//!
//! Keys never appear in `Debug` output.
//!
//! Panic contract: nothing here panics.

use std::fmt;
use std::net::Ipv6Addr;
use std::time::Duration;

use hmac::{Hmac, KeyInit, Mac};
use sha1::Sha1;

/// The smallest SPI an SA may have (RFC 4285 §5: 0-255 reserved).
pub const MIN_SPI: u32 = 256;

/// RFC 4285 §5.1: 96-bit authenticators.
pub const AUTHENTICATOR_LEN: usize = v6edge_wire::mh::auth::AUTHENTICATOR_LEN;

/// RFC 4285 §6 default timestamp window (mobility.md §1.4: 7 s, and more
/// than 3 s).
pub const DEFAULT_WINDOW: Duration = Duration::from_secs(7);

/// A 16-octet MN-HA key (AU-3). `Debug` shows no key material.
#[derive(Clone, PartialEq, Eq)]
pub struct MnHaKey([u8; 16]);

impl MnHaKey {
    pub fn new(octets: [u8; 16]) -> MnHaKey {
        MnHaKey(octets)
    }

    /// A key from a slice that must be exactly 16 octets.
    pub fn from_slice(octets: &[u8]) -> Option<MnHaKey> {
        octets.try_into().ok().map(MnHaKey)
    }
}

impl fmt::Debug for MnHaKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("MnHaKey(<redacted>)")
    }
}

/// Who an SA speaks for (AU-3: one SA per home address or MN-ID).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    /// The Binding Update's home address must be this one.
    HomeAddress(Ipv6Addr),
    /// The Binding Update must carry this MN Identifier (RFC 4283, subtype
    /// NAI); its home address is then any one of the served prefixes.
    MnId(Vec<u8>),
}

/// How replayed messages are told apart (RFC 4285 §6).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplayMode {
    /// An NTP-format timestamp within `window` of the home agent's clock.
    Timestamp { window: Duration },
    /// A value that only has to grow from one accepted message to the next.
    Sequence,
}

impl Default for ReplayMode {
    fn default() -> ReplayMode {
        ReplayMode::Timestamp {
            window: DEFAULT_WINDOW,
        }
    }
}

/// One MN-HA security association.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecurityAssociation {
    pub spi: u32,
    pub key: MnHaKey,
    pub principal: Principal,
    pub replay: ReplayMode,
}

/// Why a set of SAs was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SaError {
    #[error("SPI {spi} is reserved (RFC 4285 §5: use 256 or more)")]
    ReservedSpi { spi: u32 },
    #[error("SPI {spi} is configured twice")]
    DuplicateSpi { spi: u32 },
    #[error("two SAs for the same {what} (AU-3: one SA per home address or MN-ID)")]
    DuplicatePrincipal { what: String },
    #[error("timestamp window {secs} s: RFC 4285 §6 wants more than 3 s")]
    WindowTooSmall { secs: u64 },
}

/// Checks a configured set of SAs (AU-3).
pub fn validate(sas: &[SecurityAssociation]) -> Result<(), SaError> {
    for (i, sa) in sas.iter().enumerate() {
        if sa.spi < MIN_SPI {
            return Err(SaError::ReservedSpi { spi: sa.spi });
        }
        if let ReplayMode::Timestamp { window } = sa.replay
            && window <= Duration::from_secs(3)
        {
            return Err(SaError::WindowTooSmall {
                secs: window.as_secs(),
            });
        }
        for other in &sas[..i] {
            if other.spi == sa.spi {
                return Err(SaError::DuplicateSpi { spi: sa.spi });
            }
            if other.principal == sa.principal {
                return Err(SaError::DuplicatePrincipal {
                    what: match &sa.principal {
                        Principal::HomeAddress(a) => format!("home address {a}"),
                        Principal::MnId(id) => {
                            format!("MN-ID {}", String::from_utf8_lossy(id))
                        }
                    },
                });
            }
        }
    }
    Ok(())
}

/// First(96, HMAC_SHA1(key, data)) (RFC 4285 §5.1).
pub fn authenticator(key: &MnHaKey, data: &[u8]) -> [u8; AUTHENTICATOR_LEN] {
    // new_from_slice fails only for key lengths a MAC cannot take; HMAC
    // takes any, so the fallback is never used, and no path panics.
    let mut mac = <Hmac<Sha1> as KeyInit>::new_from_slice(&key.0)
        .unwrap_or_else(|_| <Hmac<Sha1> as KeyInit>::new(&Default::default()));
    mac.update(data);
    let full = mac.finalize().into_bytes();
    let mut out = [0u8; AUTHENTICATOR_LEN];
    for (o, b) in out.iter_mut().zip(full.iter()) {
        *o = *b;
    }
    out
}

/// Whether `received` is the authenticator of `data` under `key`, compared
/// in constant time over the 12 octets.
pub fn verify(key: &MnHaKey, data: &[u8], received: &[u8]) -> bool {
    if received.len() != AUTHENTICATOR_LEN {
        return false;
    }
    let want = authenticator(key, data);
    want.iter()
        .zip(received)
        .fold(0u8, |acc, (a, b)| acc | (a ^ b))
        == 0
}

/// A 64-bit NTP timestamp: seconds since 1900 in the high 32 bits, the
/// fraction of a second in the low 32 (RFC 5905 §6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct NtpTimestamp(pub u64);

impl NtpTimestamp {
    pub fn seconds(self) -> u32 {
        (self.0 >> 32) as u32
    }

    /// `self` plus `d`, wrapping like the NTP era does.
    pub fn after(self, d: Duration) -> NtpTimestamp {
        let frac = (u64::from(d.subsec_nanos()) << 32) / 1_000_000_000;
        NtpTimestamp(self.0.wrapping_add(d.as_secs() << 32).wrapping_add(frac))
    }

    /// |self - other| in NTP units, as a duration (saturating).
    pub fn distance(self, other: NtpTimestamp) -> Duration {
        let diff = self.0.wrapping_sub(other.0) as i64;
        let units = diff.unsigned_abs();
        let secs = units >> 32;
        let nanos = ((units & 0xffff_ffff) * 1_000_000_000) >> 32;
        Duration::new(secs, nanos as u32)
    }
}

/// Why a replay protection value was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplayVerdict {
    Fresh,
    /// Status 144: outside the window; answer with this timestamp.
    OutOfWindow {
        ha_timestamp: NtpTimestamp,
    },
    /// Not newer than the last accepted value on this SA: a replay, dropped.
    Replayed,
    /// Timestamp mode without a wall clock at the home agent: refused.
    NoClock,
}

/// RFC 4285 §6: judges `value` against the mode, the last accepted value
/// on the SA and, in timestamp mode, the home agent's clock.
pub fn check_replay(
    mode: ReplayMode,
    value: u64,
    last_accepted: Option<u64>,
    ha_clock: Option<NtpTimestamp>,
) -> ReplayVerdict {
    match mode {
        ReplayMode::Sequence => {
            if last_accepted.is_some_and(|last| value <= last) {
                ReplayVerdict::Replayed
            } else {
                ReplayVerdict::Fresh
            }
        }
        ReplayMode::Timestamp { window } => {
            let Some(now) = ha_clock else {
                return ReplayVerdict::NoClock;
            };
            if NtpTimestamp(value).distance(now) > window {
                // [R]: high 32 bits ours, low 32 bits the request's.
                let ha_timestamp = NtpTimestamp((now.0 & !0xffff_ffff) | (value & 0xffff_ffff));
                return ReplayVerdict::OutOfWindow { ha_timestamp };
            }
            // Within the window: strictly newer than the last accepted,
            // compared as a signed distance so an NTP era change passes.
            match last_accepted {
                Some(last) if (value.wrapping_sub(last) as i64) <= 0 => ReplayVerdict::Replayed,
                _ => ReplayVerdict::Fresh,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_is_not_in_debug_output() {
        let sa = SecurityAssociation {
            spi: 300,
            key: MnHaKey::new([0xab; 16]),
            principal: Principal::HomeAddress(Ipv6Addr::LOCALHOST),
            replay: ReplayMode::default(),
        };
        let shown = format!("{sa:?} {sa:#?}");
        assert!(!shown.to_lowercase().contains("ab, "), "{shown}");
        assert!(!shown.contains("171"), "{shown}");
        assert!(shown.contains("redacted"));
    }

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    /// HMAC-SHA1 truncated to 96 bits, computed independently:
    /// python3 -c "import hmac,hashlib; print(hmac.new(bytes(range(16)),
    ///   b'Mobility Data', hashlib.sha1).hexdigest()[:24])"
    #[test]
    fn au_authenticator_is_hmac_sha1_96() {
        let key = MnHaKey::new(core::array::from_fn(|i| i as u8));
        assert_eq!(
            authenticator(&key, b"Mobility Data").to_vec(),
            hex("28ae1da5463ce149e959e495")
        );
    }

    /// RFC 4285 §5.1 over a whole Binding Update: CoA | HoA | the MH from
    /// Payload Proto to the SPI, checksum 0. The BU (seq 7, A|H, 600 s,
    /// Alt-CoA, replay 0xeb00000012345678, SPI 1000) is laid out by hand
    /// here and built with the wire crate below; the expected value from
    ///   python3 -c "import hmac,hashlib,ipaddress as i; c=i.IPv6Address(
    ///   '2001:db8:2::5').packed; h=i.IPv6Address('2001:db8:1::200').packed;
    ///   m=bytes.fromhex('<the MH hex below>'); print(hmac.new(
    ///   bytes(range(16)), c+h+m, hashlib.sha1).hexdigest()[:24])"
    #[test]
    fn au_authenticator_over_a_binding_update_matches_python() {
        use v6edge_wire::mh::{BindingUpdate, BuFlags, FourSeconds, MhOption, MobilityHeader};
        let coa: Ipv6Addr = "2001:db8:2::5".parse().unwrap();
        let hoa: Ipv6Addr = "2001:db8:1::200".parse().unwrap();
        let bu = MobilityHeader::new(BindingUpdate {
            sequence: 7,
            flags: BuFlags::home_registration(),
            lifetime: FourSeconds(150),
        })
        .with_option(MhOption::AlternateCareOf(coa))
        .with_option(MhOption::ReplayProtection(0xeb00_0000_1234_5678))
        .with_option(MhOption::mn_ha_placeholder(1000));
        let mut bytes = bu.to_bytes();
        let mh_to_spi = hex(
            "3b07050000000007c00000960100031020010db800020000000000000000000501000a08eb0000001234567800091101000003e8",
        );
        assert_eq!(bytes[..52], mh_to_spi[..], "layout as written by hand");
        let input = v6edge_wire::mh::auth::mobility_message_auth_input(coa, hoa, &bytes)
            .unwrap()
            .unwrap();
        let key = MnHaKey::new(core::array::from_fn(|i| i as u8));
        let mac = authenticator(&key, &input.data);
        assert_eq!(mac.to_vec(), hex("c5cde918e03417309157b32d"));
        input.fill(&mut bytes, &mac);
        assert!(verify(&key, &input.data, input.received(&bytes)));
        assert!(!verify(
            &MnHaKey::new([0; 16]),
            &input.data,
            input.received(&bytes)
        ));
        assert!(!verify(&key, &input.data, &mac[..11]));
    }

    #[test]
    fn ntp_arithmetic() {
        let t = NtpTimestamp(100 << 32);
        assert_eq!(
            t.after(Duration::from_millis(1500)).0,
            (101 << 32) | (1 << 31)
        );
        assert_eq!(
            t.distance(t.after(Duration::from_secs(8))),
            Duration::from_secs(8)
        );
        assert_eq!(
            t.after(Duration::from_secs(8)).distance(t),
            Duration::from_secs(8)
        );
    }

    #[test]
    fn validate_refuses_reserved_and_duplicate() {
        let sa = |spi, a: &str| SecurityAssociation {
            spi,
            key: MnHaKey::new([1; 16]),
            principal: Principal::HomeAddress(a.parse().unwrap()),
            replay: ReplayMode::default(),
        };
        assert_eq!(
            validate(&[sa(255, "2001:db8::1")]),
            Err(SaError::ReservedSpi { spi: 255 })
        );
        assert_eq!(
            validate(&[sa(256, "2001:db8::1"), sa(256, "2001:db8::2")]),
            Err(SaError::DuplicateSpi { spi: 256 })
        );
        assert!(matches!(
            validate(&[sa(256, "2001:db8::1"), sa(257, "2001:db8::1")]),
            Err(SaError::DuplicatePrincipal { .. })
        ));
        assert_eq!(
            validate(&[sa(256, "2001:db8::1"), sa(257, "2001:db8::2")]),
            Ok(())
        );
    }
}
