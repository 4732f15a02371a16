//! Properties of the RIPng machine under any input: nothing panics; the
//! kernel holds exactly the usable learned routes (never one at metric 16
//! or more); and without refreshes every installed route is withdrawn and
//! every learned entry forgotten after timeout plus garbage collection.

mod common;

use std::collections::BTreeMap;
use std::net::Ipv6Addr;
use std::time::Duration;

use common::*;
use proptest::prelude::*;
use v6edge_core::{Instant, KernelOp, Owner, Received, RouteSpec};
use v6edge_prefix::Prefix;
use v6edge_ripng::{OriginatedRoute, Ripng, RipngOutput, RouteState};
use v6edge_wire::ripng::{Command, RipngMessage, Rte};

#[derive(Debug, Clone)]
enum Event {
    Packet {
        ifindex: u32,
        src: Ipv6Addr,
        hop_limit: u8,
        port: u16,
        bytes: Vec<u8>,
    },
    Advance(u64),
    Down(u32),
    Up(u32),
    Originate(Vec<OriginatedRoute>),
}

fn prefixes() -> impl Strategy<Value = (Ipv6Addr, u8)> {
    prop_oneof![
        (0u16..6).prop_map(|i| (Ipv6Addr::new(0x2001, 0xdb8, i, 0, 0, 0, 0, 0), 48)),
        Just((Ipv6Addr::UNSPECIFIED, 0)),
        (any::<u128>(), 0u8..=130).prop_map(|(a, l)| (Ipv6Addr::from(a), l)),
    ]
}

fn rte() -> impl Strategy<Value = Rte> {
    prop_oneof![
        4 => (prefixes(), any::<u16>(), prop_oneof![1u8..=16, Just(0), Just(17), Just(255)])
            .prop_map(|((p, l), tag, m)| Rte::route(p, l, tag, m)),
        1 => prop_oneof![Just(B), Just(C), Just(Ipv6Addr::UNSPECIFIED)].prop_map(Rte::next_hop),
    ]
}

fn event() -> impl Strategy<Value = Event> {
    let packet = (
        prop_oneof![4 => Just(ETH0), 4 => Just(ETH1), 1 => Just(99u32)],
        prop_oneof![4 => Just(B), 4 => Just(C), 1 => Just(OURS0), 1 => Just(ip("2001:db8::b"))],
        prop_oneof![6 => Just(255u8), 1 => any::<u8>()],
        prop_oneof![6 => Just(521u16), 1 => any::<u16>()],
        prop_oneof![
            4 => prop::collection::vec(rte(), 0..8)
                .prop_map(|e| RipngMessage::new(Command::Response, e).to_bytes()),
            1 => prop::collection::vec(rte(), 0..3)
                .prop_map(|e| RipngMessage::new(Command::Request, e).to_bytes()),
            1 => prop::collection::vec(any::<u8>(), 0..64),
        ],
    )
        .prop_map(|(ifindex, src, hop_limit, port, bytes)| Event::Packet {
            ifindex,
            src,
            hop_limit,
            port,
            bytes,
        });
    let originate = prop::collection::vec((0u16..6, 0u8..=16, any::<u16>()), 0..3).prop_map(|v| {
        Event::Originate(
            v.into_iter()
                .map(|(i, metric, tag)| OriginatedRoute {
                    prefix: Prefix::new(Ipv6Addr::new(0x2001, 0xdb8, i, 0, 0, 0, 0, 0), 48)
                        .unwrap(),
                    tag,
                    metric,
                })
                .collect(),
        )
    });
    prop_oneof![
        8 => packet,
        4 => (0u64..120).prop_map(Event::Advance),
        1 => prop_oneof![Just(ETH0), Just(ETH1)].prop_map(Event::Down),
        1 => prop_oneof![Just(ETH0), Just(ETH1)].prop_map(Event::Up),
        1 => originate,
    ]
}

/// Applies the machine's kernel operations to a model of the table.
fn apply(r: &mut Ripng, kernel: &mut BTreeMap<Prefix, RouteSpec>) -> Result<(), TestCaseError> {
    while let Some(o) = r.poll_output() {
        match o {
            RipngOutput::Kernel(KernelOp::SetRoute(s)) => {
                prop_assert_eq!(s.owner, Owner::Ripng);
                kernel.insert(s.dst, s);
            }
            RipngOutput::Kernel(KernelOp::DelRoute(s)) => {
                prop_assert_eq!(kernel.remove(&s.dst), Some(s));
            }
            RipngOutput::Kernel(other) => prop_assert!(false, "unexpected {:?}", other),
            RipngOutput::Transmit(t) => {
                prop_assert!(RipngMessage::parse(&t.payload).is_ok());
                prop_assert!(t.payload.len() + 48 <= 1500);
            }
        }
    }
    Ok(())
}

/// The kernel holds exactly the active learned routes, all below 16.
fn consistent(
    r: &Ripng,
    now: Instant,
    kernel: &BTreeMap<Prefix, RouteSpec>,
) -> Result<(), TestCaseError> {
    let st = r.status(now);
    let usable: BTreeMap<Prefix, _> = st
        .routes
        .iter()
        .filter(|e| e.next_hop.is_some() && e.state == RouteState::Active)
        .map(|e| (e.prefix, e))
        .collect();
    for e in &st.routes {
        prop_assert!(e.metric <= 16);
        prop_assert_eq!(e.state == RouteState::Active, e.metric < 16, "{:?}", e);
    }
    prop_assert_eq!(usable.len(), kernel.len(), "{:?} vs {:?}", usable, kernel);
    for (prefix, spec) in kernel {
        let e = usable.get(prefix);
        prop_assert!(e.is_some(), "{} in the kernel, not usable", prefix);
        let e = e.unwrap();
        prop_assert_eq!(spec.gateway, e.next_hop);
        prop_assert_eq!(spec.ifindex, e.ifindex);
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn no_panic_kernel_in_step_and_everything_ages_out(
        events in prop::collection::vec(event(), 0..60),
    ) {
        let mut now = secs(0);
        let mut r = router(now);
        let mut kernel = BTreeMap::new();
        for ev in events {
            match ev {
                Event::Packet { ifindex, src, hop_limit, port, bytes } => {
                    let rx = Received { ifindex, src, dst: ip("ff02::9"), hop_limit, bytes: &bytes };
                    r.handle_packet(now, &rx, port);
                }
                Event::Advance(s) => {
                    let until = now + Duration::from_secs(s);
                    while let Some(at) = r.poll_timeout().filter(|&at| at <= until) {
                        prop_assert!(at >= now, "deadline in the past: {:?} < {:?}", at, now);
                        now = at;
                        r.handle_timeout(now);
                        apply(&mut r, &mut kernel)?;
                        consistent(&r, now, &kernel)?;
                    }
                    now = until;
                }
                Event::Down(i) => r.handle_interface_down(now, i),
                Event::Up(i) => {
                    let ll = if i == ETH0 { OURS0 } else { OURS1 };
                    r.handle_interface_up(now, i, ll, 1500);
                }
                Event::Originate(routes) => r.set_originated(now, &routes),
            }
            apply(&mut r, &mut kernel)?;
            consistent(&r, now, &kernel)?;
        }
        // Silence: after timeout + garbage collection nothing learned is left.
        let end = now + Duration::from_secs(180 + 120 + 1);
        let out = run_until(&mut r, end);
        for op in out.kernel {
            match op {
                KernelOp::DelRoute(s) => prop_assert!(kernel.remove(&s.dst).is_some()),
                other => prop_assert!(false, "{:?} while silent", other),
            }
        }
        prop_assert!(kernel.is_empty(), "{:?}", kernel);
        let left: Vec<_> = r.status(end).routes.into_iter().filter(|e| e.next_hop.is_some()).collect();
        prop_assert!(left.is_empty(), "{:?}", left);
    }
}
