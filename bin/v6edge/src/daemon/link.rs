//! A snapshot of one interface: index, up/running, Ethernet MAC.
//!
//! This is the daemon's view of links until `v6edge-sys` is wired in: it
//! polls `if_nametoindex(3)` and `getifaddrs(3)` (the AF_PACKET entry carries
//! the flags and the MAC). With v6edge-sys, [`lookup`] becomes
//! `Netlink::link_by_name` and polling becomes the `monitor()` event stream;
//! [`LinkInfo`] stays the value the driver keeps.
//!
//! Panic contract: nothing here panics.

use nix::ifaddrs::getifaddrs;
use nix::net::if_::{InterfaceFlags, if_nametoindex};

use crate::config::InterfaceName;

/// What the daemon knows about an existing interface.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LinkInfo {
    pub ifindex: u32,
    /// Administratively up and with carrier (IFF_UP and IFF_RUNNING).
    pub up: bool,
    /// The Ethernet address, when the link is Ethernet-like (ARPHRD_ETHER).
    pub mac: Option<[u8; 6]>,
}

/// ARPHRD_ETHER: the hardware type DUID-LLT uses for a MAC (RFC 8415 §11.2).
const ARPHRD_ETHER: u16 = 1;

/// Looks `name` up; `None` if there is no such interface.
pub fn lookup(name: &InterfaceName) -> Option<LinkInfo> {
    let ifindex = if_nametoindex(name.as_str()).ok()?;
    let mut info = LinkInfo {
        ifindex,
        up: false,
        mac: None,
    };
    let Ok(addrs) = getifaddrs() else {
        // The index is known; flags are not. Report the link as down rather
        // than guess.
        return Some(info);
    };
    for entry in addrs.filter(|a| a.interface_name == name.as_str()) {
        info.up = entry
            .flags
            .contains(InterfaceFlags::IFF_UP | InterfaceFlags::IFF_RUNNING);
        if let Some(link) = entry.address.as_ref().and_then(|a| a.as_link_addr())
            && link.hatype() == ARPHRD_ETHER
            && link.halen() == 6
            && let Some(mac) = link.addr()
            && mac != [0; 6]
        {
            info.mac = Some(mac);
        }
    }
    Some(info)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_exists_and_missing_does_not() {
        let lo = lookup(&InterfaceName::new("lo").unwrap()).expect("lo exists on Linux");
        assert_eq!(lo.ifindex, if_nametoindex("lo").unwrap());
        // Loopback is not Ethernet: no MAC for a DUID-LLT.
        assert_eq!(lo.mac, None);
        assert_eq!(lookup(&InterfaceName::new("v6e-missing0").unwrap()), None);
    }
}
