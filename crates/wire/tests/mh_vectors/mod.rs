//! Messages built by Scapy 2.5.0 (Debian python3-scapy,
//! `scapy.layers.inet6`), an implementation nobody here wrote: the upper
//! layer (Mobility Header or ICMPv6) of each packet, its checksum as Scapy
//! computed it, and the pseudo-header addresses that checksum must verify
//! with (RFC 6275 §6.1.1: the home address of a Home Address option as
//! source, the home address of a Type 2 Routing Header as destination).
//! Regenerate with `/usr/bin/python3 -c 'from scapy.all import *; ...'`
//! on the expression in each comment, then `raw()` of the layer after the
//! extension headers.

// Each test binary uses a different part of this file.
#![allow(dead_code)]

use std::net::Ipv6Addr;

pub struct Vector {
    pub name: &'static str,
    /// Pseudo-header source and destination.
    pub src: &'static str,
    pub dst: &'static str,
    pub hex: &'static str,
}

impl Vector {
    pub fn bytes(&self) -> Vec<u8> {
        (0..self.hex.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&self.hex[i..i + 2], 16).expect("hex"))
            .collect()
    }

    pub fn src(&self) -> Ipv6Addr {
        self.src.parse().expect("address")
    }

    pub fn dst(&self) -> Ipv6Addr {
        self.dst.parse().expect("address")
    }

    /// A Mobility Header (the rest are ICMPv6 144-147).
    pub fn is_mh(&self) -> bool {
        self.hex.starts_with("3b")
    }
}

pub fn get(name: &str) -> &'static Vector {
    VECTORS
        .iter()
        .find(|v| v.name == name)
        .unwrap_or_else(|| panic!("no vector {name}"))
}

pub const VECTORS: &[Vector] = &[
    // IPv6(src="2001:db8:2::5", dst="2001:db8:1::1")/
    // IPv6ExtHdrDestOpt(options=[HAO(hoa="2001:db8:1::200")])/
    // MIP6MH_BU(seq=0x1234, flags="AHR", mhtime=150,
    // options=[MIP6OptAltCoA(acoa="2001:db8:2::5"), MIP6OptMNID(id=b"mn1@example.org"),
    // MIP6OptMobNetPrefix(plen=64, prefix="2001:db8:10::")])
    Vector {
        name: "bu",
        src: "2001:db8:1::200",
        dst: "2001:db8:1::1",
        hex: "3b08050078db1234c40000960100031020010db80002000000000000000000050810016d6e31406578616d706c652e6f726701000612004020010db8001000000000000000000000",
    },
    // IPv6(src="2001:db8:2::5", dst="2001:db8:1::1")/
    // IPv6ExtHdrDestOpt(options=[HAO(hoa="2001:db8:1::200")])/
    // MIP6MH_BU(seq=9, flags="AH", mhtime=100,
    // options=[MIP6OptReplayProtection(timestamp=0xe8a1b2c300000000), MIP6OptMsgAuth(subtype=1,
    // mspi=1000, authdata=b"\x11"*12)])
    Vector {
        name: "bu_auth",
        src: "2001:db8:1::200",
        dst: "2001:db8:1::1",
        hex: "3b0505007f960009c00000640104000000000a08e8a1b2c30000000000091101000003e8111111111111111111111111",
    },
    // IPv6(src="2001:db8:1::1", dst="2001:db8:2::5")/
    // IPv6ExtHdrRouting(type=2, segleft=1, addresses=["2001:db8:1::200"])/
    // MIP6MH_BA(status=0, flags="R", seq=0x1234, mhtime=150,
    // options=[MIP6OptBRAdvice(rinter=120)])
    Vector {
        name: "ba",
        src: "2001:db8:1::1",
        dst: "2001:db8:1::200",
        hex: "3b0106004b6e00401234009602020078",
    },
    // IPv6(src="2001:db8:1::1", dst="2001:db8:2::5")/MIP6MH_BE(status=2, ha="2001:db8:1::200")
    Vector {
        name: "be",
        src: "2001:db8:1::1",
        dst: "2001:db8:2::5",
        hex: "3b0207003029020020010db8000100000000000000000200",
    },
    // IPv6(src="2001:db8:1::200", dst="2001:db8:9::9")/
    // MIP6MH_HoTI(cookie=b"\x01\x02\x03\x04\x05\x06\x07\x08")
    Vector {
        name: "hoti",
        src: "2001:db8:1::200",
        dst: "2001:db8:9::9",
        hex: "3b01010055ce00000102030405060708",
    },
    // IPv6(src="2001:db8:2::5", dst="2001:db8:9::9")/
    // MIP6MH_CoTI(cookie=b"\x11\x12\x13\x14\x15\x16\x17\x18")
    Vector {
        name: "coti",
        src: "2001:db8:2::5",
        dst: "2001:db8:9::9",
        hex: "3b010200168800001112131415161718",
    },
    // IPv6(src="2001:db8:9::9", dst="2001:db8:1::200")/
    // MIP6MH_HoT(index=3, cookie=b"\x01\x02\x03\x04\x05\x06\x07\x08",
    // token=b"\xa1\xa2\xa3\xa4\xa5\xa6\xa7\xa8")
    Vector {
        name: "hot",
        src: "2001:db8:9::9",
        dst: "2001:db8:1::200",
        hex: "3b020300c12b00030102030405060708a1a2a3a4a5a6a7a8",
    },
    // IPv6(src="2001:db8:9::9", dst="2001:db8:2::5")/
    // MIP6MH_CoT(index=4, cookie=b"\x11\x12\x13\x14\x15\x16\x17\x18",
    // token=b"\xb1\xb2\xb3\xb4\xb5\xb6\xb7\xb8")
    Vector {
        name: "cot",
        src: "2001:db8:9::9",
        dst: "2001:db8:2::5",
        hex: "3b02040041a400041112131415161718b1b2b3b4b5b6b7b8",
    },
    // IPv6(src="2001:db8:9::9", dst="2001:db8:1::200")/MIP6MH_BRR()
    Vector {
        name: "brr",
        src: "2001:db8:9::9",
        dst: "2001:db8:1::200",
        hex: "3b00000066eb0000",
    },
    // IPv6(src="2001:db8:2::5", dst="2001:db8:1::fdff:ffff:ffff:fffe")/
    // ICMPv6HAADRequest(id=0x4242, R=1)
    Vector {
        name: "haad_request",
        src: "2001:db8:2::5",
        dst: "2001:db8:1::fdff:ffff:ffff:fffe",
        hex: "9000540142428000",
    },
    // IPv6(src="2001:db8:1::1", dst="2001:db8:2::5")/
    // ICMPv6HAADReply(id=0x4242, R=1, addresses=["2001:db8:1::1", "2001:db8:1::2"])
    Vector {
        name: "haad_reply",
        src: "2001:db8:1::1",
        dst: "2001:db8:2::5",
        hex: "9100f5674242800020010db800010000000000000000000120010db8000100000000000000000002",
    },
    // IPv6(src="2001:db8:2::5", dst="2001:db8:1::1")/
    // IPv6ExtHdrDestOpt(options=[HAO(hoa="2001:db8:1::200")])/ICMPv6MPSol(id=0x77)
    Vector {
        name: "mps",
        src: "2001:db8:1::200",
        dst: "2001:db8:1::1",
        hex: "92000fd100770000",
    },
    // IPv6(src="2001:db8:1::1", dst="2001:db8:2::5")/
    // IPv6ExtHdrRouting(type=2, segleft=1, addresses=["2001:db8:1::200"])/
    // ICMPv6MPAdv(id=0x77, flags="O")/
    // ICMPv6NDOptPrefixInfo(prefixlen=64, L=1, A=1, R=1, validlifetime=86400,
    // preferredlifetime=14400, prefix="2001:db8:1::1")
    Vector {
        name: "mpa",
        src: "2001:db8:1::1",
        dst: "2001:db8:1::200",
        hex: "9300d34f00774000030440e000015180000038400000000020010db8000100000000000000000001",
    },
];
