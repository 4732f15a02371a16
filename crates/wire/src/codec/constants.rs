//! Protocol numbers and well-known addresses, in one place, each with the
//! section that assigns it. Other crates use these instead of their own
//! copies (v6edge-sys re-exports the multicast groups).

use std::net::Ipv6Addr;

// ----- IPv6 Next Header values (IANA "Assigned Internet Protocol Numbers") -----

/// UDP (RFC 768).
pub const IPPROTO_UDP: u8 = 17;
/// ICMPv6 (RFC 4443 §1); also the Next Header of its checksum
/// pseudo-header (RFC 8200 §8.1).
pub const IPPROTO_ICMPV6: u8 = 58;
/// No Next Header (RFC 8200 §4.7): what a Mobility Header's Payload Proto
/// must hold (RFC 6275 §6.1.1).
pub const IPPROTO_NONE: u8 = 59;
/// Mobility Header (RFC 6275 §6.1).
pub const IPPROTO_MOBILITY: u8 = 135;

// ----- ICMPv6 types -----

/// Router Solicitation (RFC 4861 §4.1).
pub const ICMPV6_ROUTER_SOLICIT: u8 = 133;
/// Router Advertisement (RFC 4861 §4.2).
pub const ICMPV6_ROUTER_ADVERT: u8 = 134;
/// Neighbor Solicitation (RFC 4861 §4.3).
pub const ICMPV6_NEIGHBOR_SOLICIT: u8 = 135;
/// Neighbor Advertisement (RFC 4861 §4.4).
pub const ICMPV6_NEIGHBOR_ADVERT: u8 = 136;
/// Redirect (RFC 4861 §4.5).
pub const ICMPV6_REDIRECT: u8 = 137;
/// Home Agent Address Discovery Request (RFC 6275 §6.5).
pub const ICMPV6_HAAD_REQUEST: u8 = 144;
/// Home Agent Address Discovery Reply (RFC 6275 §6.6).
pub const ICMPV6_HAAD_REPLY: u8 = 145;
/// Mobile Prefix Solicitation (RFC 6275 §6.7).
pub const ICMPV6_MOBILE_PREFIX_SOLICIT: u8 = 146;
/// Mobile Prefix Advertisement (RFC 6275 §6.8).
pub const ICMPV6_MOBILE_PREFIX_ADVERT: u8 = 147;

/// The hop limit every ND message is sent with and must arrive with
/// (RFC 4861 §6.1.1, §7.1.1).
pub const ND_HOP_LIMIT: u8 = 255;

// ----- UDP ports -----

/// DHCPv6 clients listen here (RFC 8415 §7.2).
pub const DHCP6_CLIENT_PORT: u16 = 546;
/// DHCPv6 servers and relay agents listen here (RFC 8415 §7.2).
pub const DHCP6_SERVER_PORT: u16 = 547;
/// RIPng (RFC 2080 §2).
pub const RIPNG_PORT: u16 = 521;

// ----- Multicast groups -----

/// All-nodes, link scope (RFC 4291 §2.7.1): unsolicited RAs go here.
pub const ALL_NODES: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 1);
/// All-routers, link scope (RFC 4291 §2.7.1): RSs go here.
pub const ALL_ROUTERS: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 2);
/// All-rip-routers, link scope (RFC 2080 §2.5): where RIPng updates go.
pub const ALL_RIP_ROUTERS: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 9);
/// All_DHCP_Relay_Agents_and_Servers, link scope (RFC 8415 §7.1): where
/// clients send.
pub const ALL_DHCP_RELAY_AGENTS_AND_SERVERS: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 1, 2);
/// All_DHCP_Servers, site scope (RFC 8415 §7.1): where a relay agent sends
/// when it has no unicast server addresses.
pub const ALL_DHCP_SERVERS: Ipv6Addr = Ipv6Addr::new(0xff05, 0, 0, 0, 0, 0, 1, 3);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_read_as_the_rfcs_write_them() {
        let text = |a: Ipv6Addr| a.to_string();
        assert_eq!(text(ALL_DHCP_SERVERS), "ff05::1:3");
        assert_eq!(text(ALL_DHCP_RELAY_AGENTS_AND_SERVERS), "ff02::1:2");
        assert_eq!(text(ALL_NODES), "ff02::1");
        assert_eq!(text(ALL_ROUTERS), "ff02::2");
        assert_eq!(text(ALL_RIP_ROUTERS), "ff02::9");
        for group in [
            ALL_DHCP_SERVERS,
            ALL_DHCP_RELAY_AGENTS_AND_SERVERS,
            ALL_NODES,
            ALL_ROUTERS,
            ALL_RIP_ROUTERS,
        ] {
            assert!(group.is_multicast());
        }
    }
}
