//! Property tests of the mobile node: hostile bytes (random, or a genuine
//! BA mutated) never panic and never produce a kernel or data-plane
//! change before an authenticated BA 0; the real BA still works after
//! the noise.

mod common;

use common::*;
use proptest::prelude::*;
use std::net::Ipv6Addr;
use v6edge_core::Instant;
use v6edge_mip6::auth::{MnHaKey, NtpTimestamp, ReplayMode};
use v6edge_mip6::ha::{HaConfig, HaOutput, MhReceived};
use v6edge_mip6::mn::{LinkEvent, MnConfig, MnOutput, MnReceived, MnSecurity, MobileNode, Notice};

const WIFI: u32 = 3;

fn addr_choice() -> impl Strategy<Value = Ipv6Addr> {
    prop_oneof![
        Just(hoa()),
        Just(coa()),
        Just(ha_addr()),
        Just(Ipv6Addr::UNSPECIFIED),
        Just(ip("fe80::1")),
        any::<u128>().prop_map(Ipv6Addr::from),
    ]
}

/// A node away at `coa()` with its first BU sent, and the home agent's
/// genuine answer to that BU (a BA 0 to the care-of address with RH2).
fn away_with_answer() -> (MobileNode, v6edge_mip6::ha::MhTransmit) {
    let mn_config = MnConfig::new(
        hoa(),
        "2001:db8:1::/64".parse().unwrap(),
        Some(ha_addr()),
        vec![WIFI],
        20,
        MnSecurity {
            spi: SPI,
            key: MnHaKey::new(KEY),
            replay: ReplayMode::default(),
        },
    );
    let mut mn = MobileNode::new(mn_config, 5, Instant::ZERO).unwrap();
    mn.set_wall_clock(Instant::ZERO, NtpTimestamp(T0_NTP));
    mn.handle_link(
        Instant::ZERO,
        LinkEvent::Address {
            ifindex: WIFI,
            addr: coa(),
            prefix_len: 64,
            tentative: false,
            temporary: false,
            deprecated: false,
            valid_lifetime: None,
        },
    );
    mn.handle_link(
        Instant::ZERO,
        LinkEvent::DefaultRouter {
            ifindex: WIFI,
            router: Some(ip("fe80::1")),
        },
    );
    let bu = std::iter::from_fn(|| mn.poll_output())
        .find_map(|o| match o {
            MnOutput::Mh(t) => Some(t),
            _ => None,
        })
        .unwrap();
    let mut ha = agent_with(HaConfig {
        dad_delay: None,
        ..config()
    });
    ha.handle_mh(
        Instant::ZERO,
        &MhReceived {
            ifindex: OUTSIDE_IF,
            src: bu.src,
            dst: bu.dst,
            hao: bu.hao,
            rh2: None,
            bytes: &bu.payload,
        },
    );
    let mut answer = None;
    while let Some(o) = ha.poll_output() {
        match o {
            HaOutput::Barrier(t) => ha.handle_applied(Instant::ZERO, t, true),
            HaOutput::Mh(t) => answer = Some(t),
            _ => {}
        }
    }
    (mn, answer.unwrap())
}

fn touches_kernel(out: &[MnOutput]) -> bool {
    out.iter()
        .any(|o| matches!(o, MnOutput::Kernel(_) | MnOutput::DataPlane(_)))
}

fn feed(
    mn: &mut MobileNode,
    src: Ipv6Addr,
    dst: Ipv6Addr,
    rh2: Option<Ipv6Addr>,
    bytes: &[u8],
) -> Vec<MnOutput> {
    mn.handle_mh(
        Instant::ZERO,
        &MnReceived {
            src,
            dst,
            hao: None,
            rh2,
            bytes,
        },
    );
    std::iter::from_fn(|| mn.poll_output()).collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn random_bytes_never_install(
        bytes in proptest::collection::vec(any::<u8>(), 0..120),
        src in addr_choice(),
        dst in addr_choice(),
        rh2 in proptest::option::of(addr_choice()),
        icmp in proptest::collection::vec(any::<u8>(), 0..120),
    ) {
        let (mut mn, answer) = away_with_answer();
        let out = feed(&mut mn, src, dst, rh2, &bytes);
        prop_assert!(!touches_kernel(&out), "{out:?}");
        mn.handle_icmp6(Instant::ZERO, &icmp6(WIFI, src, dst, 64, &icmp));
        let out: Vec<_> = std::iter::from_fn(|| mn.poll_output()).collect();
        prop_assert!(!touches_kernel(&out), "{out:?}");
        // The genuine BA still registers unless the noise stopped us
        // (only an awaited 146 or a home agent without MIP6 can).
        let stopped = mn.status(Instant::ZERO).stopped.is_some();
        let out = feed(&mut mn, answer.src, answer.dst, answer.rh2, &answer.payload);
        prop_assert_eq!(touches_kernel(&out), !stopped);
    }

    #[test]
    fn mutated_ba_never_installs(
        flips in proptest::collection::vec((any::<prop::sample::Index>(), 1u8..=255), 1..4),
        truncate in proptest::option::of(any::<prop::sample::Index>()),
    ) {
        let (mut mn, answer) = away_with_answer();
        let mut bytes = answer.payload.clone();
        for (at, mask) in &flips {
            let i = at.index(bytes.len());
            bytes[i] ^= mask;
        }
        if let Some(t) = truncate {
            bytes.truncate(t.index(bytes.len()));
        }
        // The checksum made right again, so only the authenticator (or
        // the parser) can refuse it.
        v6edge_wire::mh::fill_checksum(answer.src, hoa(), &mut bytes);
        let out = feed(&mut mn, answer.src, answer.dst, answer.rh2, &bytes);
        let registered = out.iter().any(|o| matches!(o, MnOutput::Notice(Notice::Registered { .. })));
        // A flip may only land in the checksum field, which is refilled.
        let same = bytes == answer.payload;
        prop_assert_eq!(touches_kernel(&out), same, "{:?}", out);
        prop_assert_eq!(registered, same);
    }
}
