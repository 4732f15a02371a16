//! Parse every DHCPv6 capture of the lab corpus (Kea, WIDE, ISC, dnsmasq,
//! perfdhcp), re-emit it byte-identical, and check the fields of a
//! representative set against the corpus index (INDEX.md).

#[path = "fixtures/dhcp6/load.rs"]
mod load;

use v6edge_wire::Lifetime;
use v6edge_wire::dhcp6::*;

#[test]
fn every_fixture_parses_and_reemits_identically() {
    for f in load::all() {
        let msg = Message::parse(&f.bytes).unwrap_or_else(|e| panic!("{}: {e}", f.name));
        assert_eq!(msg.buffer_len(), f.bytes.len(), "{}", f.name);
        assert_eq!(msg.to_bytes(), f.bytes, "{}", f.name);
    }
}

fn parse(name: &str) -> Message {
    let bytes = load::bytes(name);
    let msg = Message::parse(&bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
    assert_eq!(msg.to_bytes(), bytes, "{name} re-emits identically");
    msg
}

fn a(s: &str) -> std::net::Ipv6Addr {
    s.parse().unwrap()
}

fn names(list: &[DomainName]) -> Vec<&str> {
    list.iter().map(|n| n.as_str()).collect()
}

/// Kea 2.2 Advertise to ISC dhclient (dhcpv6-kea.pcap #2): IA_NA with one
/// address, IA_PD with a /56 (the ::/60 hint ignored), DNS, domain list,
/// SNTP (31, not typed here) after the IA_PD.
#[test]
fn kea_advertise_ia_na_ia_pd() {
    let msg = parse("kea-advertise-ia_na-ia_pd.bin");
    assert_eq!(msg.msg_type(), MessageType::Advertise);
    assert_eq!(msg.xid(), Some(Xid::new(0xa9dff8)));
    let o = msg.options();
    let codes: Vec<u16> = o.iter().map(|x| x.code().into()).collect();
    assert_eq!(codes, [1, 2, 3, 23, 24, 25, 31]);
    let client = o.client_id().unwrap();
    assert!(matches!(client.kind(), DuidKind::Llt { hw_type: 1, .. }));
    assert_eq!(
        client.link_layer_address(),
        Some(&[0x9e, 0xce, 0x3f, 0xa1, 0x3e, 0x2d][..])
    );
    assert_eq!(
        o.server_id().unwrap().to_string(),
        "00:01:00:01:32:96:e1:68:26:96:e0:99:88:2a"
    );

    let na: Vec<&IaNa> = o.ia_nas().collect();
    assert_eq!(na.len(), 1);
    assert_eq!((na[0].iaid, na[0].t1, na[0].t2), (1067531821, 1000, 2000));
    let addrs: Vec<&IaAddr> = na[0].addresses().collect();
    assert_eq!(addrs.len(), 1);
    assert_eq!(addrs[0].addr, a("2001:db8:0:1::100"));
    assert_eq!(
        (addrs[0].preferred, addrs[0].valid),
        (Lifetime::Finite(3000), Lifetime::Finite(4000))
    );
    assert!(na[0].status().is_none());

    let pd: Vec<&IaPd> = o.ia_pds().collect();
    assert_eq!(pd.len(), 1);
    assert_eq!((pd[0].iaid, pd[0].t1, pd[0].t2), (1067531821, 1000, 2000));
    let prefixes: Vec<&IaPrefix> = pd[0].prefixes().collect();
    assert_eq!(prefixes.len(), 1);
    assert_eq!(
        (prefixes[0].prefix, prefixes[0].prefix_len),
        (a("2001:db8:8000::"), 56)
    );
    assert_eq!(
        (prefixes[0].preferred, prefixes[0].valid),
        (Lifetime::Finite(3000), Lifetime::Finite(4000))
    );
    assert!(prefixes[0].pd_exclude().is_none());

    assert_eq!(
        o.dns_servers(),
        Some(&[a("2001:db8::53"), a("2001:db8::54")][..])
    );
    assert_eq!(
        names(o.domain_list().unwrap()),
        ["lab.example", "corp.lab.example"]
    );
    assert_eq!(
        o.find(OptionCode::SntpServers),
        Some(&DhcpOption::Unknown {
            code: 31,
            data: a("2001:db8::123").octets().to_vec()
        })
    );
    assert_eq!(o.preference(), None);
    assert!(!o.has_rapid_commit());
}

/// WIDE dhcp6relay relaying ISC dhcrelay's Relay-forw (dhcpv6-relay-isc-wide
/// .pcap #2): two relay layers; the outer Interface-ID after RELAY_MSG.
#[test]
fn wide_relay_forw_x2_solicit() {
    let msg = parse("wide-relay-forw-x2-solicit-ia_na-ia_pd.bin");
    let outer = msg.as_relay().unwrap();
    assert_eq!(outer.msg_type, MessageType::RelayForw);
    assert_eq!(outer.hop_count, 1);
    assert_eq!(outer.link_address, a("::"));
    assert_eq!(outer.peer_address, a("2001:db8:a2::1"));
    let codes: Vec<OptionCode> = outer.options.iter().map(DhcpOption::code).collect();
    assert_eq!(codes, [OptionCode::RelayMessage, OptionCode::InterfaceId]);
    assert_eq!(outer.options.interface_id(), Some(&[0, 0, 0, 2][..]));

    let inner = outer.relay_message().unwrap().as_relay().unwrap();
    assert_eq!(inner.msg_type, MessageType::RelayForw);
    assert_eq!(inner.hop_count, 0);
    assert_eq!(inner.link_address, a("2001:db8:a1::1"));
    assert_eq!(inner.peer_address, a("fe80::605e:7eff:fe2e:20af"));
    assert_eq!(inner.options.interface_id(), Some(&[1, 0, 0, 0][..]));
    assert_eq!(
        inner.options.subscriber_id(),
        Some(&b"lab-subscriber-1"[..])
    );

    let (solicit, layers) = msg.innermost().unwrap();
    assert_eq!(layers, 2);
    assert_eq!(solicit.msg_type, MessageType::Solicit);
    assert_eq!(solicit.xid, Xid::new(0x364d88));
    assert!(matches!(
        solicit.options.client_id().unwrap().kind(),
        DuidKind::Llt { .. }
    ));
    assert_eq!(
        solicit.options.oro(),
        Some(
            &[
                OptionCode::DnsServers,
                OptionCode::DomainList,
                OptionCode::ClientFqdn,
                OptionCode::SntpServers
            ][..]
        )
    );
    assert_eq!(solicit.options.elapsed_time(), Some(0));
    let na = solicit.options.ia_nas().next().unwrap();
    assert_eq!((na.t1, na.t2, na.options.len()), (3600, 5400, 0));
    let pd = solicit.options.ia_pds().next().unwrap();
    assert_eq!((pd.t1, pd.t2, pd.options.len()), (3600, 5400, 0));

    // Re-wrapping the parsed inner message with the same header and options
    // reproduces the capture: nothing is hidden outside the typed view.
    let rebuilt: Message = RelayMessage::forward(
        Message::Relay(inner.clone()),
        1,
        a("::"),
        a("2001:db8:a2::1"),
    )
    .with(DhcpOption::InterfaceId(vec![0, 0, 0, 2]))
    .into();
    assert_eq!(
        rebuilt.to_bytes(),
        load::bytes("wide-relay-forw-x2-solicit-ia_na-ia_pd.bin")
    );
}

/// WIDE dhcp6s Advertise with delayed authentication (dhcpv6-wide.pcap #6):
/// AUTH last, 31 octets of realm + key ID + HMAC-MD5.
#[test]
fn wide_advertise_auth() {
    let msg = parse("wide-advertise-ia_pd-auth.bin");
    let o = msg.options();
    assert_eq!(msg.msg_type(), MessageType::Advertise);
    assert_eq!(o.preference(), Some(255));
    assert!(matches!(
        o.as_slice().last(),
        Some(DhcpOption::Authentication(_))
    ));
    let auth = o.authentication().unwrap();
    assert_eq!((auth.protocol, auth.algorithm, auth.rdm), (2, 1, 0));
    assert_eq!(auth.info.len(), 31);
    // RFC 3315 §21.4.1: DHCP realm, then key ID (4), then the 16-octet HMAC.
    assert!(auth.info.starts_with(b"lab.example"));
    assert_eq!(auth.replay_detection, 17198863652725971893);
    let pd = o.ia_pds().next().unwrap();
    assert_eq!((pd.t1, pd.t2), (1800, 2880));
    let p = pd.prefixes().next().unwrap();
    assert_eq!(
        (p.prefix, p.prefix_len, p.preferred, p.valid),
        (
            a("2001:db8:1300::"),
            48,
            Lifetime::Finite(3600),
            Lifetime::Finite(7200)
        )
    );
    let unknown: Vec<u16> = o
        .iter()
        .filter_map(|x| match x {
            DhcpOption::Unknown { code, .. } => Some(*code),
            _ => None,
        })
        .collect();
    assert_eq!(unknown, [21, 22, 27, 29, 31]);
    assert!(matches!(
        o.server_id().unwrap().kind(),
        DuidKind::Llt {
            hw_type: 1,
            time: 0x3296_e15d,
            ..
        }
    ));
}

/// Kea rapid-commit Reply to WIDE dhcp6c's Solicit (dhcpv6-kea.pcap #4),
/// rebuilt from typed values to the captured bytes.
#[test]
fn kea_reply_rapid_commit() {
    let bytes = load::bytes("kea-reply-solicit-ia_na-ia_pd-rapid-commit.bin");
    let msg = parse("kea-reply-solicit-ia_na-ia_pd-rapid-commit.bin");
    assert_eq!(msg.msg_type(), MessageType::Reply);
    assert!(msg.options().has_rapid_commit());
    assert!(matches!(
        msg.options().client_id().unwrap().kind(),
        DuidKind::Ll { hw_type: 1, .. }
    ));

    let mut na = IaNa::new(0, 1000, 2000);
    na.options.push(DhcpOption::IaAddr(IaAddr::new(
        a("2001:db8:0:1::101"),
        Lifetime::Finite(3000),
        Lifetime::Finite(4000),
    )));
    let mut pd = IaPd::new(0, 1000, 2000);
    pd.options.push(DhcpOption::IaPrefix(IaPrefix::new(
        a("2001:db8:8000:100::"),
        56,
        Lifetime::Finite(3000),
        Lifetime::Finite(4000),
    )));
    let built: Message = ClientMessage::new(MessageType::Reply, Xid::new(0x0a0a9b))
        .with(DhcpOption::ClientId(Duid::new_ll(
            1,
            &[0x02, 0, 0, 0, 0x0d, 0x02],
        )))
        .with(DhcpOption::ServerId(Duid::new_llt(
            1,
            0x3296_e168,
            &[0x26, 0x96, 0xe0, 0x99, 0x88, 0x2a],
        )))
        .with(DhcpOption::IaNa(na))
        .with(DhcpOption::RapidCommit)
        .with(DhcpOption::DnsServers(vec![
            a("2001:db8::53"),
            a("2001:db8::54"),
        ]))
        .with(DhcpOption::DomainList(vec![
            "lab.example".parse().unwrap(),
            "corp.lab.example".parse().unwrap(),
        ]))
        .with(DhcpOption::IaPd(pd))
        .into();
    assert_eq!(built, msg);
    assert_eq!(built.to_bytes(), bytes);
}

/// WIDE dhcp6s to a client without a host entry (dhcpv6-wide.pcap #12):
/// NoPrefixAvail at top level, no IA_PD.
#[test]
fn wide_advertise_noprefixavail() {
    let msg = parse("wide-advertise-noprefixavail.bin");
    let o = msg.options();
    let status = o.status().unwrap();
    assert_eq!(status.code, StatusCode::NoPrefixAvail);
    assert_eq!(status.message, "");
    assert!(!status.is_success());
    assert_eq!(o.ia_pds().count(), 0);
    assert_eq!(o.preference(), Some(255));
    assert_eq!(o.count(OptionCode::StatusCode), 1);
}

/// ISC dhclient -6 --prefix-len-hint 60 (dhcpv6-kea.pcap #1): the hint is
/// an IAPREFIX ::/60 with zero lifetimes.
#[test]
fn isc_solicit_prefix_hint() {
    let bytes = load::bytes("isc-solicit-ia_na-ia_pd-hint60.bin");
    let msg = parse("isc-solicit-ia_na-ia_pd-hint60.bin");
    let client = msg.as_client().unwrap();
    assert_eq!(client.msg_type, MessageType::Solicit);
    let pd = client.options.ia_pds().next().unwrap();
    assert_eq!((pd.iaid, pd.t1, pd.t2), (1067531821, 3600, 5400));
    let hint: Vec<&IaPrefix> = pd.prefixes().collect();
    assert_eq!(hint, [&IaPrefix::hint(60)]);
    assert_eq!(client.options.server_id(), None);

    // Rebuilt with the builder API.
    let mut pd = IaPd::new(1067531821, 3600, 5400);
    pd.options.push(DhcpOption::IaPrefix(IaPrefix::hint(60)));
    let built: Message = ClientMessage::new(MessageType::Solicit, Xid::new(0xa9dff8))
        .with(DhcpOption::ClientId(
            msg.options().client_id().unwrap().clone(),
        ))
        .with(DhcpOption::Oro(vec![
            OptionCode::DnsServers,
            OptionCode::DomainList,
            OptionCode::ClientFqdn,
            OptionCode::SntpServers,
        ]))
        .with(DhcpOption::ElapsedTime(0))
        .with(DhcpOption::IaNa(IaNa::new(1067531821, 3600, 5400)))
        .with(DhcpOption::IaPd(pd))
        .into();
    assert_eq!(built.to_bytes(), bytes);
}

/// dnsmasq Advertise (dnsmasq.pcap #3): two IAADDRs in one IA_NA, a
/// top-level "success" status, preference 0.
#[test]
fn dnsmasq_advertise_two_addresses() {
    let msg = parse("dnsmasq-advertise-ia_na.bin");
    let o = msg.options();
    let na = o.ia_nas().next().unwrap();
    let addrs: Vec<_> = na.addresses().map(|x| (x.addr, x.valid)).collect();
    assert_eq!(
        addrs,
        [
            (a("2001:db8:5::12e"), Lifetime::Finite(600)),
            (a("2001:db8:6::12e"), Lifetime::Finite(600))
        ]
    );
    assert_eq!(
        o.status(),
        Some(&Status::new(StatusCode::Success, "success"))
    );
    assert_eq!(o.preference(), Some(0));
}

/// Kea Reply to Release (dhcpv6-kea.pcap #12): a status inside each IA and
/// a summary status between them.
#[test]
fn kea_reply_release_statuses() {
    let msg = parse("kea-reply-release-ia_na-ia_pd.bin");
    let o = msg.options();
    assert_eq!(
        o.status().unwrap().message,
        "Summary status for all processed IA_NAs"
    );
    let na = o.ia_nas().next().unwrap();
    assert_eq!(
        na.status().unwrap().message,
        "Lease released. Thank you, please come again."
    );
    assert!(o.ia_pds().next().unwrap().status().unwrap().is_success());
}
