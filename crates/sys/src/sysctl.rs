//! Per-interface IPv6 sysctls, written as plain files under
//! `/proc/sys/net/ipv6/conf/<if>/`.
//!
//! A router forwards (RFC 8200 §1 "router"), and with forwarding on the
//! kernel ignores RAs unless `accept_ra` is 2, which the WAN side of a
//! requesting router needs to learn its default route (RFC 7084 W-3).
//! `/proc/sys/net` resolves to the network namespace of the writing thread.

use crate::SysError;
use std::path::{Path, PathBuf};

/// The keys v6edge sets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Ipv6Conf {
    /// `forwarding`: 1 on every interface of a router.
    Forwarding,
    /// `accept_ra`: 2 on the upstream interface of a forwarding router.
    AcceptRa,
    /// `accept_dad`.
    AcceptDad,
    /// `disable_ipv6`.
    DisableIpv6,
    /// `proxy_ndp`: 1 on a home link, where the kernel answers Neighbor
    /// Solicitations for the proxy entries of away mobile nodes.
    ProxyNdp,
}

impl Ipv6Conf {
    pub fn key(self) -> &'static str {
        match self {
            Ipv6Conf::Forwarding => "forwarding",
            Ipv6Conf::AcceptRa => "accept_ra",
            Ipv6Conf::AcceptDad => "accept_dad",
            Ipv6Conf::DisableIpv6 => "disable_ipv6",
            Ipv6Conf::ProxyNdp => "proxy_ndp",
        }
    }
}

/// `/proc/sys/net/ipv6/conf/<ifname>/<key>`; `ifname` may also be `all` or
/// `default`. Rejects names that are not a single path component or longer
/// than IFNAMSIZ - 1.
pub fn ipv6_conf_path(ifname: &str, key: Ipv6Conf) -> Result<PathBuf, SysError> {
    let valid = !ifname.is_empty()
        && ifname.len() < libc::IFNAMSIZ
        && ifname != "."
        && ifname != ".."
        && !ifname.contains(['/', '\0']);
    if !valid {
        return Err(SysError::InvalidName {
            what: "interface name",
            name: ifname.to_owned(),
        });
    }
    Ok(Path::new("/proc/sys/net/ipv6/conf")
        .join(ifname)
        .join(key.key()))
}

/// Writes `value` to a sysctl file (a plain write: no `sysctl` binary).
pub fn set_sysctl(path: &Path, value: &str) -> Result<(), SysError> {
    std::fs::write(path, value).map_err(|source| SysError::Sysctl {
        path: path.to_owned(),
        value: value.to_owned(),
        source,
    })
}

/// Sets one per-interface IPv6 sysctl, e.g. `forwarding` to `1`.
pub fn set_ipv6_conf(ifname: &str, key: Ipv6Conf, value: &str) -> Result<(), SysError> {
    set_sysctl(&ipv6_conf_path(ifname, key)?, value)
}

/// The kernel's IPv6 neighbour table limit (`net.ipv6.neigh.default.
/// gc_thresh3`): past it no new neighbour entry can be made, so no datagram
/// can leave toward a host not already in the table, and multicast sends
/// that need an entry fail too. One table serves every network namespace.
pub fn ipv6_neighbour_table_limit() -> Option<u32> {
    std::fs::read_to_string("/proc/sys/net/ipv6/neigh/default/gc_thresh3")
        .ok()?
        .trim()
        .parse()
        .ok()
}

/// The Ethernet address of interface `ifname` in this network namespace
/// (`getifaddrs`, which asks the kernel over netlink, so it is right in a
/// namespace where `/sys` was not remounted); `None` when it has none.
pub fn ethernet_address(ifname: &str) -> Option<[u8; 6]> {
    nix::ifaddrs::getifaddrs()
        .ok()?
        .filter(|i| i.interface_name == ifname)
        .find_map(|i| i.address?.as_link_addr()?.addr())
        .filter(|mac| mac.iter().any(|&b| b != 0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_has_no_ethernet_address() {
        assert_eq!(ethernet_address("lo"), None);
        assert_eq!(ethernet_address("no-such-interface"), None);
    }

    #[test]
    fn paths_are_built_and_bad_names_rejected() {
        assert_eq!(
            ipv6_conf_path("eth0", Ipv6Conf::AcceptRa).expect("valid name"),
            Path::new("/proc/sys/net/ipv6/conf/eth0/accept_ra")
        );
        for bad in ["", ".", "..", "a/b", "../../../etc", "0123456789abcdef"] {
            assert!(
                ipv6_conf_path(bad, Ipv6Conf::Forwarding).is_err(),
                "{bad:?} accepted"
            );
        }
    }
}
