//! Property tests of the home agent: hostile bytes never panic and never
//! install anything without a valid RFC 4285 authenticator; the binding
//! cache holds one entry per home address and matches the kernel state
//! its outputs build; a BA 0 never precedes its data-plane entry (HA-20);
//! restore(bindings()) reproduces the cache.

mod common;

use common::*;
use proptest::prelude::*;
use std::collections::{BTreeMap, BTreeSet};
use std::net::{IpAddr, Ipv6Addr};
use std::time::Duration;
use v6edge_core::{Instant, KernelOp};
use v6edge_mip6::auth::{self, MnHaKey};
use v6edge_mip6::dataplane::BindingOp;
use v6edge_mip6::ha::{BindingState, HaConfig, HaOutput, HomeAgent, MhReceived, Security};
use v6edge_wire::mh::{MobilityHeader, auth as mh_auth};
use v6edge_wire::nd::{NdMessage, NeighborAdvert};

fn addr_choice() -> impl Strategy<Value = Ipv6Addr> {
    prop_oneof![
        Just(hoa()),
        Just(coa()),
        Just(ha_addr()),
        Just(Ipv6Addr::UNSPECIFIED),
        Just(ip("ff02::1")),
        Just(ip("fe80::1")),
        any::<u128>().prop_map(Ipv6Addr::from),
    ]
}

/// Whether `bytes`, as a BU from `src` with `hao`, carries an authenticator
/// valid under the harness key.
fn validly_signed(bytes: &[u8], src: Ipv6Addr, hao: Option<Ipv6Addr>) -> bool {
    let Ok(m) = MobilityHeader::parse(bytes) else {
        return false;
    };
    let care_of = m.options.alternate_care_of().unwrap_or(src);
    let home = hao.unwrap_or(src);
    match mh_auth::mobility_message_auth_input(care_of, home, bytes) {
        Ok(Some(input)) => auth::verify(&MnHaKey::new(KEY), &input.data, input.received(bytes)),
        _ => false,
    }
}

/// Feeds the input, then runs the machine to rest as a driver that
/// applies everything would: DAD ends, barriers confirmed.
fn run_to_rest(ha: &mut HomeAgent, now: Instant) -> Vec<HaOutput> {
    let mut all = drain(ha);
    let later = now + Duration::from_secs(2);
    ha.handle_timeout(later);
    all.extend(drain(ha));
    let tickets: Vec<_> = all
        .iter()
        .filter_map(|o| match o {
            HaOutput::Barrier(t) => Some(*t),
            _ => None,
        })
        .collect();
    for t in tickets {
        ha.handle_applied(later, t, true);
        all.extend(drain(ha));
    }
    all
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn arbitrary_bytes_never_panic_nor_install(
        bytes in proptest::collection::vec(any::<u8>(), 0..300),
        src in addr_choice(),
        dst in addr_choice(),
        hao in proptest::option::of(addr_choice()),
        rh2 in proptest::option::of(addr_choice()),
        mh_shaped in any::<bool>(),
        hop_limit in any::<u8>(),
    ) {
        let mut cfg = config();
        cfg.reply_rate = v6edge_core::limit::Rate::UNLIMITED;
        let mut ha = agent_with(cfg);
        let mut bytes = bytes;
        if mh_shaped && bytes.len() >= 8 {
            // Payload Proto 59, a consistent Header Len, a BU, a checksum
            // that verifies: past HA-1, into the BU checks.
            bytes.truncate(bytes.len() / 8 * 8);
            bytes[0] = 59;
            bytes[1] = (bytes.len() / 8 - 1) as u8;
            bytes[2] = 5;
            v6edge_wire::mh::fill_checksum(hao.unwrap_or(src), rh2.unwrap_or(dst), &mut bytes);
        }
        ha.handle_mh(Instant::ZERO, &MhReceived { ifindex: OUTSIDE_IF, src, dst, hao, rh2, bytes: &bytes });
        ha.handle_icmp6(Instant::ZERO, &icmp6(HOME_IF, src, dst, hop_limit, &bytes));
        let out = run_to_rest(&mut ha, Instant::ZERO);
        prop_assert!(!installs(&out), "{out:#?}");
        prop_assert!(ha.status(Instant::ZERO).bindings.is_empty());
    }

    #[test]
    fn mutated_bu_installs_only_with_a_valid_authenticator(
        mutations in proptest::collection::vec((any::<usize>(), 1u8..=255), 1..4),
        lab in any::<bool>(),
    ) {
        let mut cfg = config();
        if lab {
            cfg.security = Security::InsecureLabMode;
        }
        let mut ha = agent_with(cfg);
        let bu = Bu::new(1, 150, Instant::ZERO);
        let mut bytes = bu.bytes();
        for (at, x) in mutations {
            let n = bytes.len();
            bytes[at % n] ^= x;
        }
        let out = feed_bytes(&mut ha, Instant::ZERO, &bu, &bytes);
        let mut all = out;
        all.extend(run_to_rest(&mut ha, Instant::ZERO));
        if installs(&all) {
            prop_assert!(validly_signed(&bytes, bu.src, bu.hao), "installed without a valid authenticator");
        }
    }
}

/// The kernel and data plane as the outputs build them.
#[derive(Default, Debug)]
struct Model {
    proxies: BTreeSet<IpAddr>,
    routes: BTreeSet<String>,
    dataplane: BTreeMap<Ipv6Addr, Ipv6Addr>,
}

impl Model {
    /// Applies `outputs` in order; checks that an accepting BA never
    /// leaves before its binding forwards to the care-of address (HA-20).
    fn apply(&mut self, outputs: &[HaOutput]) -> Result<(), TestCaseError> {
        for o in outputs {
            match o {
                HaOutput::Kernel(KernelOp::SetProxyNeighbour(p)) => {
                    self.proxies.insert(p.addr);
                }
                HaOutput::Kernel(KernelOp::DelProxyNeighbour(p)) => {
                    self.proxies.remove(&p.addr);
                }
                HaOutput::Kernel(KernelOp::SetRoute(r)) => {
                    self.routes.insert(r.dst.to_string());
                }
                HaOutput::Kernel(KernelOp::DelRoute(r)) => {
                    self.routes.remove(&r.dst.to_string());
                }
                HaOutput::DataPlane(BindingOp::Upsert { hoa, care_of, .. }) => {
                    self.dataplane.insert(*hoa, *care_of);
                }
                HaOutput::DataPlane(BindingOp::Remove { hoa }) => {
                    self.dataplane.remove(hoa);
                }
                HaOutput::Mh(t) => {
                    let seen = bas(std::slice::from_ref(o));
                    if let Some(b) = seen.first()
                        && b.ba.status.is_accepted()
                        && b.ba.lifetime.0 > 0
                    {
                        let home = t.rh2.unwrap_or(t.dst);
                        prop_assert!(
                            self.dataplane.contains_key(&home),
                            "BA 0 before its binding"
                        );
                        prop_assert!(self.proxies.contains(&IpAddr::V6(home)));
                    }
                }
                HaOutput::Kernel(other) => prop_assert!(false, "unexpected {other:?}"),
                _ => {}
            }
        }
        Ok(())
    }

    /// Every bound entry is installed, and nothing else is.
    fn matches(&self, ha: &HomeAgent, now: Instant) -> Result<(), TestCaseError> {
        let st = ha.status(now);
        let homes: Vec<_> = st.bindings.iter().map(|b| b.home_address).collect();
        let unique: BTreeSet<_> = homes.iter().collect();
        prop_assert_eq!(unique.len(), homes.len(), "one entry per home address");
        let mut want_dp = BTreeMap::new();
        let mut want_proxies = BTreeSet::new();
        for b in &st.bindings {
            if b.state == BindingState::Bound {
                want_dp.insert(b.home_address, b.care_of);
                want_proxies.insert(IpAddr::V6(b.home_address));
                if b.link_local {
                    let iid = u128::from(b.home_address) & u128::from(u64::MAX);
                    want_proxies.insert(IpAddr::V6(Ipv6Addr::from((0xfe80u128 << 112) | iid)));
                }
            }
            prop_assert!(b.care_of != b.home_address);
        }
        prop_assert_eq!(&self.dataplane, &want_dp);
        prop_assert_eq!(&self.proxies, &want_proxies);
        prop_assert_eq!(self.routes.len(), want_dp.len());
        Ok(())
    }
}

/// Three mobile nodes with their own SAs.
fn three_nodes() -> (HaConfig, Vec<(Ipv6Addr, u32, [u8; 16])>) {
    let nodes = vec![
        (hoa(), SPI, KEY),
        (ip("2001:db8:1::300"), 2000, [3; 16]),
        (ip("2001:db8:1::400"), 3000, [4; 16]),
    ];
    let mut cfg = config();
    cfg.security_associations = nodes.iter().map(|(h, s, k)| sa(*s, *k, *h)).collect();
    (cfg, nodes)
}

#[derive(Debug, Clone)]
enum Step {
    Bu {
        node: usize,
        seq: u16,
        lifetime: u16,
        coa: u8,
        ll: bool,
    },
    Wait {
        millis: u32,
    },
    Conflict {
        node: usize,
    },
    Confirm {
        ok: bool,
    },
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        4 => (0..3usize, 0..6u16, prop_oneof![Just(0u16), 1..4u16, Just(150)], 0..3u8, any::<bool>())
            .prop_map(|(node, seq, lifetime, coa, ll)| Step::Bu { node, seq, lifetime, coa, ll }),
        2 => (0..20_000u32).prop_map(|millis| Step::Wait { millis }),
        1 => (0..3usize).prop_map(|node| Step::Conflict { node }),
        2 => any::<bool>().prop_map(|ok| Step::Confirm { ok }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn cache_matches_the_kernel_it_built_and_restores(steps in proptest::collection::vec(step(), 1..40)) {
        let (cfg, nodes) = three_nodes();
        let mut ha = agent_with(cfg.clone());
        let mut model = Model::default();
        let mut now = Instant::ZERO;
        let mut pending = Vec::new();
        let mut seqs = [0u16; 3];
        for s in steps {
            now += Duration::from_millis(10);
            match s {
                Step::Bu { node, seq, lifetime, coa, ll } => {
                    let (home, spi, key) = nodes[node];
                    seqs[node] = seqs[node].wrapping_add(seq);
                    let mut bu = Bu::new(seqs[node], lifetime, now);
                    bu.hao = Some(home);
                    bu.spi = Some(spi);
                    bu.key = key;
                    bu.flags.link_local_compat = ll;
                    let care_of = Ipv6Addr::new(0x2001, 0xdb8, 2, 0, 0, 0, 0, u16::from(coa) + 1);
                    bu.src = care_of;
                    bu.alt_coa = Some(care_of);
                    let out = bu.feed(&mut ha, now);
                    model.apply(&out)?;
                    pending.extend(out.iter().filter_map(|o| match o { HaOutput::Barrier(t) => Some(*t), _ => None }));
                }
                Step::Wait { millis } => {
                    now += Duration::from_millis(u64::from(millis));
                    if ha.poll_timeout().is_some_and(|t| t <= now) {
                        ha.handle_timeout(now);
                    }
                    let out = drain(&mut ha);
                    model.apply(&out)?;
                    pending.extend(out.iter().filter_map(|o| match o { HaOutput::Barrier(t) => Some(*t), _ => None }));
                }
                Step::Conflict { node } => {
                    let na = NdMessage::NeighborAdvert(NeighborAdvert::new(nodes[node].0, false, false, true)).to_bytes();
                    ha.handle_icmp6(now, &icmp6(HOME_IF, ip("fe80::99"), ip("ff02::1"), 255, &na));
                    let out = drain(&mut ha);
                    prop_assert!(!installs(&out));
                    model.apply(&out)?;
                }
                Step::Confirm { ok } => {
                    if !pending.is_empty() {
                        let t = pending.remove(0);
                        ha.handle_applied(now, t, ok);
                        let out = drain(&mut ha);
                        model.apply(&out)?;
                    }
                }
            }
            // At rest (no ticket outstanding) the kernel equals the cache.
            if pending.is_empty() {
                model.matches(&ha, now)?;
            }
        }
        // restore(bindings()) reproduces the bound part of the cache.
        let records = ha.bindings();
        let mut restarted = agent_with(cfg);
        let adopted = restarted.restore(records.clone(), now);
        prop_assert_eq!(adopted, records.len());
        prop_assert_eq!(restarted.bindings(), records);
        let mut fresh = Model::default();
        fresh.apply(&drain(&mut restarted))?;
        fresh.matches(&restarted, now)?;
    }
}
