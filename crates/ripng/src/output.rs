//! The output process's packing (RFC 2080 §2.5, §2.1.1): entries grouped
//! by the next hop listeners should use, a next-hop RTE in front of each
//! group that is not "the sender", and as many packets as the MTU needs.

use std::net::Ipv6Addr;

use v6edge_wire::ripng::{Command, RipngMessage, Rte, max_entries};

use crate::MIN_MTU;

/// An entry to advertise, and the next hop listeners should use for it
/// (`None`: us, the sender).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Advert {
    pub(crate) next_hop: Option<Ipv6Addr>,
    pub(crate) rte: Rte,
}

/// The Response payloads carrying `adverts` on a link of `mtu` octets
/// (at least the IPv6 minimum). A next-hop RTE holds until the end of its
/// packet (§2.1.1), so every packet starts with "the sender" and a group
/// split across packets gets its next-hop RTE again.
pub(crate) fn pack(mut adverts: Vec<Advert>, mtu: usize) -> Vec<Vec<u8>> {
    // Stable: within a next hop the caller's (prefix) order stays.
    adverts.sort_by_key(|a| a.next_hop);
    let room = max_entries(mtu.max(MIN_MTU));
    let mut packets = Vec::new();
    let mut entries: Vec<Rte> = Vec::new();
    let mut current: Option<Ipv6Addr> = None;
    for advert in adverts {
        let needs_next_hop = advert.next_hop != current;
        let want = if needs_next_hop { 2 } else { 1 };
        if entries.len() + want > room {
            packets.push(
                RipngMessage::new(Command::Response, std::mem::take(&mut entries)).to_bytes(),
            );
            current = None;
        }
        if advert.next_hop != current {
            entries.push(Rte::next_hop(
                advert.next_hop.unwrap_or(Ipv6Addr::UNSPECIFIED),
            ));
            current = advert.next_hop;
        }
        entries.push(advert.rte);
    }
    if !entries.is_empty() {
        packets.push(RipngMessage::new(Command::Response, entries).to_bytes());
    }
    packets
}

#[cfg(test)]
mod tests {
    use super::*;

    fn advert(i: u16, next_hop: Option<Ipv6Addr>) -> Advert {
        Advert {
            next_hop,
            rte: Rte::route(Ipv6Addr::new(0x2001, 0xdb8, i, 0, 0, 0, 0, 0), 48, 0, 1),
        }
    }

    #[test]
    fn rfc2080_2_1_1_next_hop_groups_repeat_in_each_packet() {
        let gw: Ipv6Addr = "fe80::7".parse().unwrap();
        let mut adverts: Vec<Advert> = (0..100).map(|i| advert(i, Some(gw))).collect();
        adverts.push(advert(500, None));
        let packets = pack(adverts, 1280);
        let parsed: Vec<RipngMessage> = packets
            .iter()
            .map(|p| RipngMessage::parse(p).unwrap())
            .collect();
        assert_eq!(parsed.len(), 2);
        assert!(packets.iter().all(|p| p.len() + 48 <= 1280));
        // Our own route first, needing no next-hop RTE; then the group.
        let first = parsed[0].entries();
        assert_eq!(first.len(), 61);
        assert_eq!(first[0], advert(500, None).rte);
        assert_eq!(first[1], Rte::next_hop(gw));
        assert_eq!(parsed[1].entries()[0], Rte::next_hop(gw));
        let routes: usize = parsed
            .iter()
            .flat_map(|m| m.entries())
            .filter(|r| r.metric != 0xff)
            .count();
        assert_eq!(routes, 101);
    }

    #[test]
    fn rfc2080_2_1_packets_fill_the_mtu() {
        let adverts: Vec<Advert> = (0..200).map(|i| advert(i, None)).collect();
        let packets = pack(adverts, 1500);
        let sizes: Vec<usize> = packets.iter().map(Vec::len).collect();
        assert_eq!(sizes, [4 + 72 * 20, 4 + 72 * 20, 4 + 56 * 20]);
        assert!(pack(Vec::new(), 1500).is_empty());
    }
}
