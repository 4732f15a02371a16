//! The other direction of the Scapy vectors: messages emitted by this
//! crate, inside IPv6 packets with the Home Address option and Type 2
//! Routing Header where RFC 6275 puts them, written to a pcap and decoded
//! by two decoders nobody here wrote:
//!
//! - Wireshark (`tshark -V`): every frame decodes as the right message with
//!   no "Malformed" mark and no warning- or error-level expert info (a
//!   deliberately broken control frame proves tshark would say so);
//! - Scapy (`mh_interop/scapy_decode.py`): `IPv6(bytes)` gives the right
//!   layer and fields, and Scapy's own checksum (which applies the RFC 6275
//!   §6.1.1 HAO/RH2 address rule) equals ours.
//!
//! Each part skips with a message when its tool is missing (Debian:
//! `tshark`, `python3-scapy`).

use std::net::{Ipv4Addr, Ipv6Addr};
use std::path::{Path, PathBuf};
use std::process::Command;

use v6edge_wire::Lifetime;
use v6edge_wire::codec::constants::{IPPROTO_ICMPV6, IPPROTO_MOBILITY};
use v6edge_wire::ip6::{self, DestinationOptions, Ipv6Header, Type2RoutingHeader};
use v6edge_wire::mh::{
    BaFlags, BaStatus, BeStatus, BindingAck, BindingError, BindingRefreshRequest, BindingUpdate,
    BuFlags, FourSeconds, Ipv4AddressAck, Ipv4HomeAddressRequest, MhBody, MhOption, MnIdSubtype,
    MobileNetworkPrefix, MobilityHeader, NatDetection, Test, TestInit,
};
use v6edge_wire::nd::{
    HaadReply, HaadRequest, MobilePrefixAdvert, MobilePrefixSolicit, MobilityIcmp, PrefixInfo,
};

const COA: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 2, 0, 0, 0, 0, 5);
const HOA: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 1, 0, 0, 0, 0, 0x200);
const HA: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 1, 0, 0, 0, 0, 1);
const CN: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 9, 0, 0, 0, 0, 9);
const HA_ANYCAST: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 1, 0, 0xfdff, 0xffff, 0xffff, 0xfffe);

/// How the packet travels (RFC 6275 §6.3-§6.4).
enum Route {
    Plain,
    /// Home Address option: the pseudo-header source is the home address.
    HomeAddress,
    /// Type 2 Routing Header: the pseudo-header destination is the home
    /// address.
    Type2,
}

struct Case {
    name: &'static str,
    src: Ipv6Addr,
    dst: Ipv6Addr,
    route: Route,
    upper: Upper,
    /// What `tshark -V` must print for it.
    tshark: &'static [&'static str],
    /// The Scapy layer and `field=value` pairs its decoder must show.
    scapy: &'static str,
}

enum Upper {
    Mh(MobilityHeader),
    Icmp(MobilityIcmp),
}

fn cases() -> Vec<Case> {
    let home_reg = BindingUpdate {
        sequence: 0x1234,
        flags: BuFlags {
            mobile_router: true,
            ..BuFlags::home_registration()
        },
        lifetime: FourSeconds::from_secs(600),
    };
    let bu = MobilityHeader::new(home_reg)
        .with_option(MhOption::AlternateCareOf(COA))
        .with_option(MhOption::MnIdentifier {
            subtype: MnIdSubtype::Nai,
            id: b"mn1@example.org".to_vec(),
        })
        .with_option(MhOption::MobileNetworkPrefix(MobileNetworkPrefix::new(
            "2001:db8:10::".parse().unwrap(),
            64,
        )))
        .with_option(MhOption::ReplayProtection(0xe8a1_b2c3_0000_0000))
        .with_option(MhOption::mn_ha_placeholder(1000));
    let bu_dsmip = MobilityHeader::new(BindingUpdate {
        sequence: 2,
        flags: BuFlags {
            force_udp: true,
            ..BuFlags::home_registration()
        },
        lifetime: FourSeconds(100),
    })
    .with_option(MhOption::Ipv4HomeAddressRequest(Ipv4HomeAddressRequest {
        prefix_len: 0,
        reserved: 0,
        address: Ipv4Addr::UNSPECIFIED,
    }))
    .with_option(MhOption::Ipv4CareOf {
        reserved: 0,
        address: Ipv4Addr::new(169, 254, 2, 10),
    });
    let bu_cn = MobilityHeader::new(BindingUpdate {
        sequence: 77,
        flags: BuFlags::default(),
        lifetime: FourSeconds(105),
    })
    .with_option(MhOption::NonceIndices {
        home: 3,
        care_of: 4,
    })
    .with_option(MhOption::BindingAuthorizationData(vec![0xab; 12]));
    let ba = MobilityHeader::new(BindingAck {
        status: BaStatus::Accepted,
        flags: BaFlags {
            mobile_router: true,
            ..BaFlags::default()
        },
        sequence: 0x1234,
        lifetime: FourSeconds(150),
    })
    .with_option(MhOption::BindingRefreshAdvice(FourSeconds(120)))
    .with_option(MhOption::ReplayProtection(0xe8a1_b2c4_0000_0000))
    .with_option(MhOption::mn_ha_placeholder(1000));
    let ba_dsmip = MobilityHeader::new(BindingAck {
        status: BaStatus::Accepted,
        flags: BaFlags::default(),
        sequence: 2,
        lifetime: FourSeconds(100),
    })
    .with_option(MhOption::Ipv4AddressAck(Ipv4AddressAck {
        status: 0,
        prefix_len: 32,
        reserved: 0,
        address: Ipv4Addr::new(169, 254, 1, 20),
    }))
    .with_option(MhOption::NatDetection(NatDetection {
        force_udp: true,
        reserved: 0,
        refresh_time: 110,
    }));
    let ba_stale = MobilityHeader::new(BindingAck {
        status: BaStatus::SequenceNumberOutOfWindow,
        flags: BaFlags::default(),
        sequence: 0x1233,
        lifetime: FourSeconds(0),
    });
    let be = MobilityHeader::new(BindingError {
        status: BeStatus::UnrecognizedMhType,
        reserved: 0,
        home_address: HOA,
    });
    let cookie = [1, 2, 3, 4, 5, 6, 7, 8];
    let token = [0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7, 0xa8];
    let hoti = MobilityHeader::new(MhBody::HomeTestInit(TestInit {
        reserved: 0,
        init_cookie: cookie,
    }));
    let coti = MobilityHeader::new(MhBody::CareOfTestInit(TestInit {
        reserved: 0,
        init_cookie: cookie,
    }));
    let test = Test {
        nonce_index: 3,
        init_cookie: cookie,
        keygen_token: token,
    };
    let hot = MobilityHeader::new(MhBody::HomeTest(test));
    let cot = MobilityHeader::new(MhBody::CareOfTest(test));
    let brr = MobilityHeader::new(BindingRefreshRequest::default());
    let mut pio = PrefixInfo::new(HA, 64, Lifetime::Finite(86400), Lifetime::Finite(14400));
    pio.router_addr = true;
    use Route::*;
    use Upper::*;
    vec![
        Case {
            name: "bu",
            src: COA,
            dst: HA,
            route: HomeAddress,
            upper: Mh(bu),
            tshark: &[
                "Mobility Header Type: Binding Update (5)",
                "Mobile Router (R) flag: Mobile Router Compatibility",
                "Lifetime: 150 (600 seconds)",
                "Alternate care-of address: 2001:db8:2::5",
                "Identifier: mn1@example.org",
                "Mobile Network Prefix: 2001:db8:10::/64",
                // Interop: Wireshark 4.0 names option 10 by its draft
                // name and RFC 4285's subtype 1 "Unknown".
                "MESG-ID-OPTION-TYPE",
                "Mobility SPI: 1000",
                "MIPv6 Home Address: 2001:db8:1::200",
            ],
            scapy: "MIP6MH_BU seq=4660 mhtime=150 flags=RHA MIP6OptAltCoA MIP6OptMNID \
                    MIP6OptMobNetPrefix MIP6OptReplayProtection MIP6OptMsgAuth",
        },
        Case {
            name: "bu_dsmip",
            src: COA,
            dst: HA,
            route: HomeAddress,
            upper: Mh(bu_dsmip),
            tshark: &[
                "Mobility Header Type: Binding Update (5)",
                "Forcing UDP encapsulation used",
                "IPv4 Home Address: 0.0.0.0",
                "IPv4 Care-of address: 169.254.2.10",
            ],
            scapy: "MIP6MH_BU seq=2 mhtime=100 flags=HA",
        },
        Case {
            name: "bu_cn",
            src: COA,
            dst: CN,
            route: HomeAddress,
            upper: Mh(bu_cn),
            tshark: &[
                "Mobility Header Type: Binding Update (5)",
                "MIPv6 Option - Nonce Indices",
                "MIPv6 Option - Authorization Data",
            ],
            scapy: "MIP6MH_BU seq=77 mhtime=105 MIP6OptNonceIndices MIP6OptBindingAuthData",
        },
        Case {
            name: "ba",
            src: HA,
            dst: COA,
            route: Type2,
            upper: Mh(ba),
            tshark: &[
                "Type: Type 2 Routing (2)",
                "Mobility Header Type: Binding Acknowledgement (6)",
                "Status: Binding Update accepted (0)",
                "MIPv6 Option - Binding Refresh Advice",
                "Mobility SPI: 1000",
            ],
            scapy: "MIP6MH_BA status=0 seq=4660 mhtime=150 flags=R MIP6OptBRAdvice \
                    MIP6OptReplayProtection MIP6OptMsgAuth",
        },
        Case {
            name: "ba_dsmip",
            src: HA,
            dst: COA,
            route: Type2,
            upper: Mh(ba_dsmip),
            tshark: &[
                "Mobility Header Type: Binding Acknowledgement (6)",
                "MIPv6 Option - IPv4 Address Acknowledgement",
                "MIPv6 Option - NAT Detection",
            ],
            scapy: "MIP6MH_BA status=0 seq=2 mhtime=100",
        },
        Case {
            name: "ba_stale",
            src: HA,
            dst: COA,
            route: Type2,
            upper: Mh(ba_stale),
            tshark: &["Status: Sequence number out of window (135)"],
            scapy: "MIP6MH_BA status=135 seq=4659 mhtime=0",
        },
        Case {
            name: "be",
            src: HA,
            dst: COA,
            route: Plain,
            upper: Mh(be),
            tshark: &[
                "Mobility Header Type: Binding Error (7)",
                "Status: Unrecognized MH type value (2)",
            ],
            scapy: "MIP6MH_BE status=2 ha=2001:db8:1::200",
        },
        Case {
            name: "hoti",
            src: HOA,
            dst: CN,
            route: Plain,
            upper: Mh(hoti),
            tshark: &["Mobility Header Type: Home Test Init (1)"],
            scapy: "MIP6MH_HoTI cookie=0102030405060708",
        },
        Case {
            name: "coti",
            src: COA,
            dst: CN,
            route: Plain,
            upper: Mh(coti),
            tshark: &["Mobility Header Type: Care-of Test Init (2)"],
            scapy: "MIP6MH_CoTI cookie=0102030405060708",
        },
        Case {
            name: "hot",
            src: CN,
            dst: HOA,
            route: Plain,
            upper: Mh(hot),
            tshark: &["Mobility Header Type: Home Test (3)"],
            scapy: "MIP6MH_HoT index=3 cookie=0102030405060708 token=a1a2a3a4a5a6a7a8",
        },
        Case {
            name: "cot",
            src: CN,
            dst: COA,
            route: Plain,
            upper: Mh(cot),
            tshark: &["Mobility Header Type: Care-of Test (4)"],
            scapy: "MIP6MH_CoT index=3 cookie=0102030405060708 token=a1a2a3a4a5a6a7a8",
        },
        Case {
            name: "brr",
            src: CN,
            dst: HOA,
            route: Plain,
            upper: Mh(brr),
            tshark: &["Mobility Header Type: Binding Refresh Request (0)"],
            scapy: "MIP6MH_BRR",
        },
        Case {
            name: "haad_request",
            src: COA,
            dst: HA_ANYCAST,
            route: Plain,
            upper: Icmp(
                HaadRequest {
                    identifier: 0x4242,
                    mobile_router: true,
                    reserved: 0,
                }
                .into(),
            ),
            tshark: &[
                "Type: Home Agent Address Discovery Request (144)",
                "[Checksum Status: Good]",
            ],
            scapy: "ICMPv6HAADRequest id=16962 R=1",
        },
        Case {
            name: "haad_reply",
            src: HA,
            dst: COA,
            route: Plain,
            upper: Icmp(
                HaadReply {
                    identifier: 0x4242,
                    mobile_router: true,
                    reserved: 0,
                    home_agents: vec![HA, "2001:db8:1::2".parse().unwrap()],
                }
                .into(),
            ),
            tshark: &[
                "Type: Home Agent Address Discovery Reply (145)",
                "2001:db8:1::2",
                "[Checksum Status: Good]",
            ],
            scapy: "ICMPv6HAADReply id=16962 R=1 addresses=2001:db8:1::1,2001:db8:1::2",
        },
        Case {
            name: "mps",
            src: COA,
            dst: HA,
            route: HomeAddress,
            upper: Icmp(
                MobilePrefixSolicit {
                    identifier: 0x77,
                    reserved: 0,
                }
                .into(),
            ),
            tshark: &[
                "Type: Mobile Prefix Solicitation (146)",
                // Wireshark sums the ICMPv6 checksum over the HAO's
                // address, as RFC 6275 §6.3 says.
                "[Checksum Status: Good]",
            ],
            scapy: "ICMPv6MPSol id=119",
        },
        Case {
            name: "mpa",
            src: HA,
            dst: COA,
            route: Type2,
            upper: Icmp(
                MobilePrefixAdvert {
                    other: true,
                    ..MobilePrefixAdvert::new(0x77, [pio])
                }
                .into(),
            ),
            tshark: &[
                "Type: Mobile Prefix Advertisement (147)",
                "Prefix information : 2001:db8:1::1/64",
                "[Checksum Status: Good]",
            ],
            scapy: "ICMPv6MPAdv id=119 flags=1 ICMPv6NDOptPrefixInfo prefixlen=64 R=1 \
                    validlifetime=86400 prefix=2001:db8:1::1",
        },
    ]
}

impl Case {
    /// The pseudo-header addresses of RFC 6275 §6.1.1.
    fn pseudo(&self) -> (Ipv6Addr, Ipv6Addr) {
        match self.route {
            Route::Plain => (self.src, self.dst),
            Route::HomeAddress => (HOA, self.dst),
            Route::Type2 => (self.src, HOA),
        }
    }

    /// The whole IPv6 packet.
    fn packet(&self) -> Vec<u8> {
        let (src, dst) = self.pseudo();
        let (upper, proto) = match &self.upper {
            Upper::Mh(m) => {
                m.validate()
                    .unwrap_or_else(|e| panic!("{}: {e}", self.name));
                (m.to_bytes_with_checksum(src, dst), IPPROTO_MOBILITY)
            }
            Upper::Icmp(m) => (m.to_bytes_with_checksum(src, dst), IPPROTO_ICMPV6),
        };
        let (ext, first) = match self.route {
            Route::Plain => (Vec::new(), proto),
            // RFC 8200 §4.1 numbers: Destination Options 60, Routing 43.
            Route::HomeAddress => (DestinationOptions::home_address(proto, HOA).to_bytes(), 60),
            Route::Type2 => (Type2RoutingHeader::new(proto, HOA).to_bytes(), 43),
        };
        let payload_len = (ext.len() + upper.len()) as u16;
        let mut p = Ipv6Header::new(self.src, self.dst, first, 64, payload_len).to_bytes();
        p.extend_from_slice(&ext);
        p.extend_from_slice(&upper);
        p
    }
}

#[test]
fn our_walker_finds_the_headers_we_built() {
    for case in cases() {
        let p = case.packet();
        let found = ip6::walk(&p).unwrap_or_else(|e| panic!("{}: {e}", case.name));
        assert_eq!(
            (found.pseudo_src(), found.pseudo_dst()),
            case.pseudo(),
            "{}",
            case.name
        );
        let upper = &p[found.upper_offset..];
        match &case.upper {
            Upper::Mh(m) => {
                assert_eq!(found.upper_protocol, IPPROTO_MOBILITY);
                assert_eq!(MobilityHeader::parse(upper).as_ref(), Ok(m));
                assert!(v6edge_wire::mh::verify_checksum(
                    found.pseudo_src(),
                    found.pseudo_dst(),
                    upper
                ));
            }
            Upper::Icmp(m) => {
                assert_eq!(found.upper_protocol, IPPROTO_ICMPV6);
                assert_eq!(MobilityIcmp::parse(upper).as_ref(), Ok(m));
            }
        }
    }
}

/// A pcap file (LINKTYPE_RAW: each frame an IPv6 packet).
fn write_pcap(path: &Path, packets: &[Vec<u8>]) {
    let mut f = Vec::new();
    f.extend_from_slice(&0xa1b2_c3d4u32.to_le_bytes());
    f.extend_from_slice(&2u16.to_le_bytes());
    f.extend_from_slice(&4u16.to_le_bytes());
    f.extend_from_slice(&[0; 8]);
    f.extend_from_slice(&65535u32.to_le_bytes());
    f.extend_from_slice(&101u32.to_le_bytes());
    for (i, p) in packets.iter().enumerate() {
        f.extend_from_slice(&(i as u32).to_le_bytes());
        f.extend_from_slice(&0u32.to_le_bytes());
        f.extend_from_slice(&(p.len() as u32).to_le_bytes());
        f.extend_from_slice(&(p.len() as u32).to_le_bytes());
        f.extend_from_slice(p);
    }
    std::fs::write(path, f).expect("write pcap");
}

fn pcap(tag: &str) -> (Vec<Case>, PathBuf) {
    let cases = cases();
    let packets: Vec<Vec<u8>> = cases.iter().map(Case::packet).collect();
    let path = std::env::temp_dir().join(format!("v6edge-mh-{tag}-{}.pcap", std::process::id()));
    write_pcap(&path, &packets);
    (cases, path)
}

fn runs(cmd: &str, args: &[&str]) -> bool {
    Command::new(cmd)
        .args(args)
        .output()
        .is_ok_and(|o| o.status.success())
}

#[test]
fn wireshark_decodes_every_message_without_errors() {
    if !runs("tshark", &["--version"]) {
        eprintln!("SKIP: tshark not installed (apt-get install tshark)");
        return;
    }
    let cases = cases();
    let mut packets: Vec<Vec<u8>> = cases.iter().map(Case::packet).collect();
    // A control frame, so a silent tshark cannot pass: the first BU with
    // its Alternate Care-of Address option (Mobility Header octet 14,
    // after 40 + 24 octets of IPv6 and Destination Options) claiming 200
    // octets.
    let mut broken = packets[0].clone();
    assert_eq!(
        broken[40 + 24 + 14],
        3,
        "the Alternate Care-of Address option"
    );
    broken[40 + 24 + 15] = 200;
    packets.push(broken);
    let path = std::env::temp_dir().join(format!("v6edge-mh-tshark-{}.pcap", std::process::id()));
    write_pcap(&path, &packets);
    let out = Command::new("tshark")
        .args(["-n", "-V", "-r"])
        .arg(&path)
        .output()
        .expect("run tshark");
    if std::env::var_os("V6EDGE_KEEP_PCAP").is_none() {
        std::fs::remove_file(&path).ok();
    }
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let frames: Vec<&str> = text.split("\nFrame ").collect();
    assert_eq!(
        frames.len(),
        cases.len() + 1,
        "one frame per message:\n{text}"
    );
    let marks = [
        "Malformed",
        "Expert Info (Error",
        "Expert Info (Warning",
        "[Checksum Status: Bad]",
        "incorrect",
    ];
    let control = frames[cases.len()];
    assert!(
        marks.iter().any(|m| control.contains(m)),
        "tshark did not flag the broken control frame:\n{control}"
    );
    for (case, frame) in cases.iter().zip(&frames) {
        for bad in marks {
            assert!(
                !frame.contains(bad),
                "{}: tshark says {bad}:\n{frame}",
                case.name
            );
        }
        for want in case.tshark {
            assert!(
                frame.contains(want),
                "{}: no {want:?} in:\n{frame}",
                case.name
            );
        }
    }
}

/// The Python with Scapy: Debian's (python3-scapy) may not be the first
/// `python3` on PATH.
fn scapy_python() -> Option<&'static str> {
    ["python3", "/usr/bin/python3"]
        .into_iter()
        .find(|py| runs(py, &["-c", "import scapy.layers.inet6"]))
}

#[test]
fn scapy_decodes_every_message_with_our_fields_and_checksums() {
    let Some(python) = scapy_python() else {
        eprintln!("SKIP: no python3 with Scapy (apt-get install python3-scapy)");
        return;
    };
    let (cases, path) = pcap("scapy");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/mh_interop/scapy_decode.py");
    let out = Command::new(python)
        .arg(&script)
        .arg(&path)
        .output()
        .expect("run the Scapy decoder");
    if std::env::var_os("V6EDGE_KEEP_PCAP").is_none() {
        std::fs::remove_file(&path).ok();
    }
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), cases.len(), "{text}");
    for (case, line) in cases.iter().zip(&lines) {
        let words: Vec<&str> = line.split_whitespace().collect();
        assert!(
            words.contains(&"cksum=ok"),
            "{}: Scapy computes another checksum: {line}",
            case.name
        );
        for want in case.scapy.split_whitespace() {
            assert!(words.contains(&want), "{}: no {want} in {line}", case.name);
        }
    }
}
