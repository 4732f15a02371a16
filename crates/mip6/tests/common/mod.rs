//! Shared harness for the home agent tests: a home link 2001:db8:1::/64
//! with the home agent at ::1, a mobile node with home address ::200 and
//! care-of address 2001:db8:2::5, one RFC 4285 SA; Binding Updates built
//! as real bytes with the wire crate.
#![allow(dead_code)]

use std::net::Ipv6Addr;
use std::time::Duration;

use v6edge_core::{Instant, KernelOp, Received};
use v6edge_mip6::auth::{self, MnHaKey, NtpTimestamp, Principal, ReplayMode, SecurityAssociation};
use v6edge_mip6::dataplane::BindingOp;
use v6edge_mip6::ha::{
    ApplyTicket, HaConfig, HaOutput, HomeAgent, HomeLink, MhReceived, Security, ServedPrefix,
};
use v6edge_wire::mh::{
    BindingAck, BuFlags, FourSeconds, MhBody, MhOption, MhOptions, MnIdSubtype, MobilityHeader,
    auth as mh_auth, fill_checksum, verify_checksum,
};

pub const HOME_IF: u32 = 2;
pub const OUTSIDE_IF: u32 = 3;
pub const TUN_IF: u32 = 9;
pub const SPI: u32 = 1000;
pub const KEY: [u8; 16] = *b"0123456789abcdef";
pub const HA_LLA: [u8; 6] = [0x02, 0, 0, 0, 0, 0x01];
/// NTP time at instant 0 (some day in 2025).
pub const T0_NTP: u64 = 0xeb00_0000_0000_0000;

pub fn ip(s: &str) -> Ipv6Addr {
    s.parse().unwrap()
}
pub fn ha_addr() -> Ipv6Addr {
    ip("2001:db8:1::1")
}
pub fn hoa() -> Ipv6Addr {
    ip("2001:db8:1::200")
}
pub fn coa() -> Ipv6Addr {
    ip("2001:db8:2::5")
}

pub fn secs(s: f64) -> Instant {
    Instant::from_micros((s * 1e6) as u64)
}

/// The NTP timestamp of `at` on the harness's wall clock.
pub fn ntp_at(at: Instant) -> u64 {
    NtpTimestamp(T0_NTP)
        .after(Duration::from_micros(at.as_micros()))
        .0
}

pub fn sa(spi: u32, key: [u8; 16], home: Ipv6Addr) -> SecurityAssociation {
    SecurityAssociation {
        spi,
        key: MnHaKey::new(key),
        principal: Principal::HomeAddress(home),
        replay: ReplayMode::default(),
    }
}

pub fn config() -> HaConfig {
    HaConfig {
        home_links: vec![HomeLink {
            ifindex: HOME_IF,
            address: ha_addr(),
            link_layer_address: Some(HA_LLA.to_vec()),
            prefixes: vec![ServedPrefix::infinite("2001:db8:1::/64".parse().unwrap())],
            preference: 10,
            peers: Vec::new(),
        }],
        security: Security::Rfc4285,
        security_associations: vec![sa(SPI, KEY, hoa())],
        tunnel_ifindex: Some(TUN_IF),
        ..HaConfig::default()
    }
}

pub fn agent_with(config: HaConfig) -> HomeAgent {
    let mut ha = HomeAgent::new(config, 7, Instant::ZERO).expect("valid config");
    ha.set_wall_clock(Instant::ZERO, NtpTimestamp(T0_NTP));
    ha
}

pub fn agent() -> HomeAgent {
    agent_with(config())
}

pub fn drain(ha: &mut HomeAgent) -> Vec<HaOutput> {
    std::iter::from_fn(|| ha.poll_output()).collect()
}

/// A Binding Update as a mobile node away from home sends it.
#[derive(Debug, Clone)]
pub struct Bu {
    pub sequence: u16,
    /// 4-second units.
    pub lifetime: u16,
    pub flags: BuFlags,
    pub src: Ipv6Addr,
    pub dst: Ipv6Addr,
    pub hao: Option<Ipv6Addr>,
    pub rh2: Option<Ipv6Addr>,
    pub alt_coa: Option<Ipv6Addr>,
    pub replay: Option<u64>,
    pub spi: Option<u32>,
    pub key: [u8; 16],
    pub mn_id: Option<Vec<u8>>,
    /// Options placed before the others.
    pub extra: Vec<MhOption>,
    pub corrupt_authenticator: bool,
}

impl Bu {
    /// A home registration (A, H), sequence `sequence`, `lifetime` units,
    /// replay timestamp of `now`, authenticated with the harness SA.
    pub fn new(sequence: u16, lifetime: u16, now: Instant) -> Bu {
        Bu {
            sequence,
            lifetime,
            flags: BuFlags::home_registration(),
            src: coa(),
            dst: ha_addr(),
            hao: Some(hoa()),
            rh2: None,
            alt_coa: Some(coa()),
            replay: Some(ntp_at(now)),
            spi: Some(SPI),
            key: KEY,
            mn_id: None,
            extra: Vec::new(),
            corrupt_authenticator: false,
        }
    }

    pub fn home_address(&self) -> Ipv6Addr {
        self.hao.unwrap_or(self.src)
    }

    pub fn care_of(&self) -> Ipv6Addr {
        self.alt_coa.unwrap_or(self.src)
    }

    pub fn message(&self) -> MobilityHeader {
        let mut m = MobilityHeader::new(v6edge_wire::mh::BindingUpdate {
            sequence: self.sequence,
            flags: self.flags,
            lifetime: FourSeconds(self.lifetime),
        });
        for o in &self.extra {
            m.push_option(o.clone());
        }
        if let Some(id) = &self.mn_id {
            m.push_option(MhOption::MnIdentifier {
                subtype: MnIdSubtype::Nai,
                id: id.clone(),
            });
        }
        if let Some(a) = self.alt_coa {
            m.push_option(MhOption::AlternateCareOf(a));
        }
        if let Some(r) = self.replay {
            m.push_option(MhOption::ReplayProtection(r));
        }
        if let Some(spi) = self.spi {
            m.push_option(MhOption::mn_ha_placeholder(spi));
        }
        m
    }

    /// The bytes on the wire: authenticator (RFC 4285 §5.1) then checksum
    /// (RFC 6275 §6.1.1, over the home address).
    pub fn bytes(&self) -> Vec<u8> {
        let mut bytes = self.message().to_bytes();
        sign(&mut bytes, self.care_of(), self.home_address(), &self.key);
        if self.corrupt_authenticator {
            let n = bytes.len();
            // The authenticator ends the last option before padding: flip
            // the octet before the trailing padding, if any.
            let at =
                mh_auth::mobility_message_auth_input(self.care_of(), self.home_address(), &bytes)
                    .ok()
                    .flatten()
                    .map_or(n - 1, |i| i.authenticator.end - 1);
            bytes[at] ^= 0x01;
        }
        fill_checksum(self.home_address(), self.dst, &mut bytes);
        bytes
    }

    pub fn feed(&self, ha: &mut HomeAgent, now: Instant) -> Vec<HaOutput> {
        feed_bytes(ha, now, self, &self.bytes())
    }
}

/// Fills the MN-HA authenticator of `bytes`, if it has the option.
pub fn sign(bytes: &mut [u8], care_of: Ipv6Addr, home: Ipv6Addr, key: &[u8; 16]) {
    if let Ok(Some(input)) = mh_auth::mobility_message_auth_input(care_of, home, bytes) {
        let mac = auth::authenticator(&MnHaKey::new(*key), &input.data);
        input.fill(bytes, &mac);
    }
}

pub fn feed_bytes(ha: &mut HomeAgent, now: Instant, bu: &Bu, bytes: &[u8]) -> Vec<HaOutput> {
    ha.handle_mh(
        now,
        &MhReceived {
            ifindex: OUTSIDE_IF,
            src: bu.src,
            dst: bu.dst,
            hao: bu.hao,
            rh2: bu.rh2,
            bytes,
        },
    );
    drain(ha)
}

/// A BA seen on the way out, its checksum checked.
#[derive(Debug, Clone)]
pub struct SeenBa {
    pub ba: BindingAck,
    pub options: MhOptions,
    pub src: Ipv6Addr,
    pub dst: Ipv6Addr,
    pub rh2: Option<Ipv6Addr>,
    pub bytes: Vec<u8>,
}

impl SeenBa {
    pub fn status(&self) -> u8 {
        self.ba.status.into()
    }

    /// RFC 4285 §5.1 over the BA with the harness key.
    pub fn authenticates(&self, care_of: Ipv6Addr, home: Ipv6Addr, key: &[u8; 16]) -> bool {
        match mh_auth::mobility_message_auth_input(care_of, home, &self.bytes) {
            Ok(Some(input)) => auth::verify(
                &MnHaKey::new(*key),
                &input.data,
                input.received(&self.bytes),
            ),
            _ => false,
        }
    }
}

/// The BAs among `outputs`, each checked: checksum right for the final
/// destination (RFC 6275 §6.1.1).
pub fn bas(outputs: &[HaOutput]) -> Vec<SeenBa> {
    outputs
        .iter()
        .filter_map(|o| match o {
            HaOutput::Mh(t) => {
                let m = MobilityHeader::parse(&t.payload).expect("our MH parses");
                let MhBody::BindingAck(ba) = m.body else {
                    return None;
                };
                assert!(
                    verify_checksum(t.src, t.rh2.unwrap_or(t.dst), &t.payload),
                    "BA checksum over src and final destination"
                );
                Some(SeenBa {
                    ba,
                    options: m.options,
                    src: t.src,
                    dst: t.dst,
                    rh2: t.rh2,
                    bytes: t.payload.clone(),
                })
            }
            _ => None,
        })
        .collect()
}

/// The one BA among `outputs`.
pub fn ba(outputs: &[HaOutput]) -> SeenBa {
    let all = bas(outputs);
    assert_eq!(all.len(), 1, "exactly one BA in {outputs:#?}");
    all.into_iter().next().unwrap()
}

/// Whether anything in `outputs` installs state (proxy, route, address,
/// data-plane binding).
pub fn installs(outputs: &[HaOutput]) -> bool {
    outputs.iter().any(|o| match o {
        HaOutput::Kernel(op) => matches!(
            op,
            KernelOp::SetProxyNeighbour(_)
                | KernelOp::SetRoute(_)
                | KernelOp::SetAddress(_)
                | KernelOp::SetRule(_)
                | KernelOp::SetRoute4(_)
                | KernelOp::SetAddress4(_)
                | KernelOp::SetTun(_)
        ),
        HaOutput::DataPlane(BindingOp::Upsert { .. }) => true,
        _ => false,
    })
}

pub fn barrier(outputs: &[HaOutput]) -> ApplyTicket {
    let tickets: Vec<_> = outputs
        .iter()
        .filter_map(|o| match o {
            HaOutput::Barrier(t) => Some(*t),
            _ => None,
        })
        .collect();
    assert_eq!(tickets.len(), 1, "one barrier in {outputs:#?}");
    tickets[0]
}

/// Registers `bu` fully at `now`: BU, proxy DAD (1 s), kernel changes
/// confirmed; returns the BA and the instant it left.
pub fn register(ha: &mut HomeAgent, bu: &Bu, now: Instant) -> (SeenBa, Instant) {
    let out = bu.feed(ha, now);
    assert!(bas(&out).is_empty(), "BA held during DAD: {out:#?}");
    let at = now + Duration::from_secs(1);
    ha.handle_timeout(at);
    let out = drain(ha);
    let ticket = barrier(&out);
    ha.handle_applied(at, ticket, true);
    let out = drain(ha);
    (ba(&out), at)
}

/// A received ICMPv6 message.
pub fn icmp6(
    ifindex: u32,
    src: Ipv6Addr,
    dst: Ipv6Addr,
    hop_limit: u8,
    bytes: &[u8],
) -> Received<'_> {
    Received {
        ifindex,
        src,
        dst,
        hop_limit,
        bytes,
    }
}
