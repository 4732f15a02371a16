//! Messages built by an independent encoder (Scapy, see mh_vectors/) decode
//! here field by field, verify with the RFC 6275 §6.1.1 pseudo-header
//! addresses, and re-emit byte-identical, checksum included. Where Scapy's
//! option layout is compared, our own builder (`push_option`) must produce
//! the same padding.

#[path = "mh_vectors/mod.rs"]
mod vectors;

use std::net::Ipv6Addr;

use v6edge_wire::Lifetime;
use v6edge_wire::mh::{
    self, AuthSubtype, BaFlags, BaStatus, BeStatus, BindingAck, BindingError, BindingUpdate,
    BuFlags, FourSeconds, MhBody, MhOption, MnIdSubtype, MobileNetworkPrefix, MobilityAuth,
    MobilityHeader,
};
use v6edge_wire::nd::{self, MobilityIcmp, NdOption, PrefixInfo};

fn ip(s: &str) -> Ipv6Addr {
    s.parse().unwrap()
}

const COA: &str = "2001:db8:2::5";
const HOA: &str = "2001:db8:1::200";
const HA: &str = "2001:db8:1::1";

/// Parses a Mobility Header vector, checks its checksum and re-emission.
fn mh(name: &str) -> MobilityHeader {
    let v = vectors::get(name);
    let bytes = v.bytes();
    assert!(
        mh::verify_checksum(v.src(), v.dst(), &bytes),
        "{name}: Scapy's checksum must verify over {} -> {}",
        v.src,
        v.dst
    );
    let m = MobilityHeader::parse(&bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
    assert_eq!(m.to_bytes_with_checksum(v.src(), v.dst()), bytes, "{name}");
    assert_eq!(m.validate(), Ok(()), "{name}");
    m
}

fn icmp(name: &str) -> MobilityIcmp {
    let v = vectors::get(name);
    let bytes = v.bytes();
    assert!(nd::verify_checksum(v.src(), v.dst(), &bytes), "{name}");
    let m = MobilityIcmp::parse(&bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
    assert_eq!(m.to_bytes_with_checksum(v.src(), v.dst()), bytes, "{name}");
    m
}

fn significant(m: &MobilityHeader) -> Vec<MhOption> {
    m.options.significant().cloned().collect()
}

#[test]
fn binding_update_with_alt_coa_mn_id_and_mnp() {
    let m = mh("bu");
    let MhBody::BindingUpdate(bu) = m.body else {
        panic!("not a BU: {m:?}");
    };
    assert_eq!(bu.sequence, 0x1234);
    assert_eq!(bu.lifetime, FourSeconds(150));
    assert_eq!(bu.lifetime.as_secs(), 600);
    assert_eq!(
        bu.flags,
        BuFlags {
            ack: true,
            home_registration: true,
            mobile_router: true,
            ..BuFlags::default()
        }
    );
    let options = vec![
        MhOption::AlternateCareOf(ip(COA)),
        MhOption::MnIdentifier {
            subtype: MnIdSubtype::Nai,
            id: b"mn1@example.org".to_vec(),
        },
        MhOption::MobileNetworkPrefix(MobileNetworkPrefix::new(ip("2001:db8:10::"), 64)),
    ];
    assert_eq!(significant(&m), options);
    assert_eq!(m.options.alternate_care_of(), Some(ip(COA)));
    assert_eq!(m.options.mobile_network_prefixes().count(), 1);
    // Scapy's padding is exactly what our builder lays out.
    let mut built = MobilityHeader::new(bu);
    for o in options {
        built.push_option(o);
    }
    assert_eq!(built, m);
}

#[test]
fn binding_update_with_rfc_4285_options() {
    let m = mh("bu_auth");
    let MhBody::BindingUpdate(bu) = m.body else {
        panic!("not a BU");
    };
    assert_eq!((bu.sequence, bu.lifetime), (9, FourSeconds(100)));
    assert!(bu.flags.ack && bu.flags.home_registration && !bu.flags.mobile_router);
    assert_eq!(m.options.replay_protection(), Some(0xe8a1_b2c3_0000_0000));
    assert_eq!(
        m.options.authentication(),
        Some(&MobilityAuth {
            subtype: AuthSubtype::MnHa,
            spi: 1000,
            authenticator: vec![0x11; 12],
        })
    );
    let built = MobilityHeader::new(bu)
        .with_option(MhOption::ReplayProtection(0xe8a1_b2c3_0000_0000))
        .with_option(
            m.options
                .authentication()
                .cloned()
                .map(MhOption::Authentication)
                .unwrap(),
        );
    assert_eq!(built, m, "same 8n+2 and 4n+1 padding as Scapy");
    // The authenticator sits where the option says, after the SPI.
    let bytes = vectors::get("bu_auth").bytes();
    let input = mh::auth::mobility_message_auth_input(ip(COA), ip(HOA), &bytes)
        .unwrap()
        .unwrap();
    assert_eq!(input.received(&bytes), [0x11; 12]);
    assert_eq!(input.authenticator.end, bytes.len());
}

#[test]
fn binding_ack_with_refresh_advice_and_nemo_flag() {
    let m = mh("ba");
    assert_eq!(
        m.body,
        MhBody::BindingAck(BindingAck {
            status: BaStatus::Accepted,
            flags: BaFlags {
                mobile_router: true,
                ..BaFlags::default()
            },
            sequence: 0x1234,
            lifetime: FourSeconds(150),
        })
    );
    assert_eq!(m.options.binding_refresh_advice(), Some(FourSeconds(120)));
}

#[test]
fn binding_error() {
    let m = mh("be");
    assert_eq!(
        m.body,
        MhBody::BindingError(BindingError {
            status: BeStatus::UnrecognizedMhType,
            reserved: 0,
            home_address: ip(HOA),
        })
    );
    assert!(m.options.is_empty());
}

#[test]
fn return_routability_messages() {
    let MhBody::HomeTestInit(hoti) = mh("hoti").body else {
        panic!("HoTI");
    };
    assert_eq!(hoti.init_cookie, [1, 2, 3, 4, 5, 6, 7, 8]);
    let MhBody::CareOfTestInit(coti) = mh("coti").body else {
        panic!("CoTI");
    };
    assert_eq!(
        coti.init_cookie,
        [0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18]
    );
    let MhBody::HomeTest(hot) = mh("hot").body else {
        panic!("HoT");
    };
    assert_eq!(hot.nonce_index, 3);
    assert_eq!(hot.init_cookie, hoti.init_cookie);
    assert_eq!(
        hot.keygen_token,
        [0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7, 0xa8]
    );
    let MhBody::CareOfTest(cot) = mh("cot").body else {
        panic!("CoT");
    };
    assert_eq!((cot.nonce_index, cot.init_cookie), (4, coti.init_cookie));
    let brr = mh("brr");
    assert_eq!(brr.mh_type(), mh::MhType::BindingRefreshRequest);
    assert_eq!(brr.to_bytes().len(), 8);
}

#[test]
fn home_agent_address_discovery() {
    let MobilityIcmp::HaadRequest(req) = icmp("haad_request") else {
        panic!("HAAD request");
    };
    assert_eq!(
        (req.identifier, req.mobile_router, req.reserved),
        (0x4242, true, 0)
    );
    let MobilityIcmp::HaadReply(reply) = icmp("haad_reply") else {
        panic!("HAAD reply");
    };
    assert_eq!(reply.identifier, 0x4242);
    assert!(reply.mobile_router);
    assert_eq!(reply.home_agents, [ip(HA), ip("2001:db8:1::2")]);
}

#[test]
fn mobile_prefix_discovery() {
    let MobilityIcmp::MobilePrefixSolicit(mps) = icmp("mps") else {
        panic!("MPS");
    };
    assert_eq!((mps.identifier, mps.reserved), (0x77, 0));
    let MobilityIcmp::MobilePrefixAdvert(mpa) = icmp("mpa") else {
        panic!("MPA");
    };
    assert_eq!(mpa.identifier, 0x77);
    assert!(!mpa.managed && mpa.other);
    let mut pio = PrefixInfo::new(ip(HA), 64, Lifetime::Finite(86400), Lifetime::Finite(14400));
    pio.router_addr = true;
    assert_eq!(mpa.options.as_slice(), [NdOption::PrefixInfo(pio)]);
}

#[test]
fn our_home_registration_matches_scapys_bytes() {
    // The other direction for one message: what we build for the "bu"
    // vector is Scapy's packet octet for octet, checksum over the HoA.
    let bu = BindingUpdate {
        sequence: 0x1234,
        flags: BuFlags {
            mobile_router: true,
            ..BuFlags::home_registration()
        },
        lifetime: FourSeconds::from_secs(600),
    };
    let m = MobilityHeader::new(bu)
        .with_option(MhOption::AlternateCareOf(ip(COA)))
        .with_option(MhOption::MnIdentifier {
            subtype: MnIdSubtype::Nai,
            id: b"mn1@example.org".to_vec(),
        })
        .with_option(MhOption::MobileNetworkPrefix(MobileNetworkPrefix::new(
            ip("2001:db8:10::"),
            64,
        )));
    assert_eq!(
        m.to_bytes_with_checksum(ip(HOA), ip(HA)),
        vectors::get("bu").bytes()
    );
}

#[test]
fn every_vector_decodes() {
    for v in vectors::VECTORS {
        if v.is_mh() {
            mh(v.name);
        } else {
            icmp(v.name);
        }
    }
}

#[test]
fn scapy_default_option_lengths_disagree_with_the_rfc_and_are_rejected() {
    // Interop: Scapy 2.5.0 gives MIP6OptNonceIndices and
    // MIP6OptBindingAuthData a default olen of 16, where RFC 6275 §6.2.6
    // and §6.2.7 have 4 and 12 (the data Scapy writes). The option then
    // claims octets the message does not have.
    // raw(MIP6MH_BU(options=[MIP6OptNonceIndices(hni=1, coni=2)]))
    let nonce = "3b02050000000000d0000003041000010002010400000000";
    // raw(MIP6MH_BU(options=[MIP6OptBindingAuthData(authenticator=1)]))
    let bad = "3b03050000000000d00000030104000000000510000000000000000000000001";
    for hex in [nonce, bad] {
        let v = vectors::Vector {
            name: "default",
            src: HOA,
            dst: HA,
            hex,
        };
        let e = MobilityHeader::parse(&v.bytes()).unwrap_err();
        assert!(matches!(e.kind, mh::MhErrorKind::Truncated { .. }), "{e}");
        assert_eq!(e.option.map(|o| o == 4 || o == 5), Some(true));
    }
    // With the RFC length given explicitly it decodes.
    // raw(MIP6MH_BU(options=[MIP6OptNonceIndices(olen=4, hni=1, coni=2)]))
    let v = vectors::Vector {
        name: "explicit",
        src: HOA,
        dst: HA,
        hex: "3b02050000000000d0000003040400010002010400000000",
    };
    let m = MobilityHeader::parse(&v.bytes()).unwrap();
    assert_eq!(m.options.nonce_indices(), Some((1, 2)));
    // Scapy's default BU flags are "KHA": K set, which our mobile node
    // never sends (the IPsec SA does not survive movement here).
    let MhBody::BindingUpdate(bu) = m.body else {
        panic!("BU");
    };
    assert!(bu.flags.key_management && bu.flags.home_registration && bu.flags.ack);
}

#[test]
fn fuzz_seeds_are_the_vectors() {
    // mh_vectors/NAME.bin seed the mh_message fuzz target; they must stay
    // the Mobility Header vectors octet for octet.
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/mh_vectors");
    let mut seeds = 0;
    for v in vectors::VECTORS.iter().filter(|v| v.is_mh()) {
        let file = dir.join(format!("{}.bin", v.name));
        let bytes = std::fs::read(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        assert_eq!(bytes, v.bytes(), "{}", v.name);
        seeds += 1;
    }
    let on_disk = std::fs::read_dir(&dir)
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .path()
                .extension()
                .is_some_and(|x| x == "bin")
        })
        .count();
    assert_eq!(on_disk, seeds, "every seed is a vector");
}
