//! RFC 4285 at the home agent (mobility.md §1.9 AU-1 … AU-3): every
//! refusal installs nothing; status 144, 145, 146 as AU-2 says.

mod common;

use common::*;
use std::time::Duration;
use v6edge_core::Instant;
use v6edge_mip6::auth::{MnHaKey, NtpTimestamp, Principal, ReplayMode, SecurityAssociation};
use v6edge_mip6::ha::{DropReason, HaOutput, HomeAgent};

fn refused(ha: &HomeAgent, out: &[HaOutput], status: u8) -> SeenBa {
    assert!(!installs(out), "nothing installed: {out:#?}");
    let seen = ba(out);
    assert_eq!(seen.status(), status);
    assert!(ha.status(Instant::ZERO).bindings.is_empty());
    seen
}

#[test]
fn au1_ba_carries_replay_protection_and_authentication_last() {
    let mut ha = agent();
    let bu = Bu::new(1, 150, Instant::ZERO);
    let (seen, _) = register(&mut ha, &bu, Instant::ZERO);
    assert_eq!(seen.status(), 0);
    assert_eq!(seen.options.replay_protection(), bu.replay, "echoed");
    let last = seen.options.significant().last().expect("options");
    assert!(last.must_be_last(), "authentication last: {last:?}");
    assert_eq!(seen.options.authentication().unwrap().spi, SPI);
    assert!(seen.authenticates(coa(), hoa(), &KEY));
    assert!(!seen.authenticates(coa(), hoa(), &[0; 16]));
}

#[test]
fn au2_unknown_spi_gets_146_unauthenticated() {
    let mut ha = agent();
    let mut bu = Bu::new(1, 150, Instant::ZERO);
    bu.spi = Some(4242);
    let out = bu.feed(&mut ha, Instant::ZERO);
    let seen = refused(&ha, &out, 146);
    assert!(seen.options.authentication().is_none());
    assert_eq!(ha.counters().auth_failures, 1);
}

#[test]
fn au2_bad_authenticator_gets_146() {
    let mut ha = agent();
    let mut bu = Bu::new(1, 150, Instant::ZERO);
    bu.corrupt_authenticator = true;
    {
        let out = bu.feed(&mut ha, Instant::ZERO);
        refused(&ha, &out, 146)
    };
    // Signed with another key.
    let mut bu = Bu::new(1, 150, Instant::ZERO);
    bu.key = [0x55; 16];
    {
        let out = bu.feed(&mut ha, Instant::ZERO);
        refused(&ha, &out, 146)
    };
    // Signed over another care-of address than the one it names.
    let mut bu = Bu::new(1, 150, Instant::ZERO);
    let mut bytes = bu.message().to_bytes();
    sign(&mut bytes, ip("2001:db8:9::9"), hoa(), &KEY);
    v6edge_wire::mh::fill_checksum(hoa(), ha_addr(), &mut bytes);
    bu.corrupt_authenticator = false;
    {
        let out = feed_bytes(&mut ha, Instant::ZERO, &bu, &bytes);
        refused(&ha, &out, 146)
    };
    assert_eq!(ha.counters().auth_failures, 3);
    // BA 146 answers share the reply budget: a flood is bounded.
    let mut forged = Bu::new(1, 150, Instant::ZERO);
    forged.corrupt_authenticator = true;
    let answered: usize = (0..100)
        .map(|_| bas(&forged.feed(&mut ha, Instant::ZERO)).len())
        .sum();
    assert_eq!(answered, 20 - 3);
}

#[test]
fn au2_timestamp_outside_the_window_gets_144_with_the_home_agents_time() {
    let mut ha = agent();
    let now = secs(100.0);
    // The mobile node's clock is 10 s behind.
    let skewed = ntp_at(now) - (10u64 << 32);
    let mut bu = Bu::new(1, 150, now);
    bu.replay = Some(skewed);
    let out = bu.feed(&mut ha, now);
    let seen = refused(&ha, &out, 144);
    let answered = seen.options.replay_protection().expect("timestamp");
    assert_eq!(answered >> 32, ntp_at(now) >> 32, "our seconds");
    assert_eq!(answered & 0xffff_ffff, skewed & 0xffff_ffff, "its fraction");
    assert!(seen.authenticates(coa(), hoa(), &KEY), "authenticated");
    // Resynchronised from our timestamp, the mobile node succeeds.
    let mut bu = Bu::new(1, 150, now);
    bu.replay = Some(answered + (1 << 32));
    let (seen, _) = register(&mut ha, &bu, now);
    assert_eq!(seen.status(), 0);
    // Within the window (6 s ahead) is fine too.
    let mut ha = agent();
    let mut bu = Bu::new(1, 150, now);
    bu.replay = Some(ntp_at(now) + (6u64 << 32));
    assert_eq!(register(&mut ha, &bu, now).0.status(), 0);
}

#[test]
fn au2_missing_replay_protection_gets_145() {
    let mut ha = agent();
    let mut bu = Bu::new(1, 150, Instant::ZERO);
    bu.replay = None;
    let seen = {
        let out = bu.feed(&mut ha, Instant::ZERO);
        refused(&ha, &out, 145)
    };
    assert!(seen.authenticates(coa(), hoa(), &KEY));
}

#[test]
fn au2_replayed_bu_is_dropped() {
    let mut ha = agent();
    let bu = Bu::new(1, 150, Instant::ZERO);
    let bytes = bu.bytes();
    let (seen, at) = register(&mut ha, &bu, Instant::ZERO);
    assert_eq!(seen.status(), 0);
    // The same bytes again, inside the window: silently dropped.
    assert!(feed_bytes(&mut ha, at, &bu, &bytes).is_empty());
    assert_eq!(ha.counters().dropped.get(&DropReason::Replayed), Some(&1));
    // An older timestamp with a newer sequence number: dropped too.
    let mut older = Bu::new(2, 150, Instant::ZERO);
    older.replay = Some(ntp_at(Instant::ZERO) - 1);
    assert!(older.feed(&mut ha, at).is_empty());
    assert_eq!(ha.status(at).bindings[0].sequence, 1);
}

#[test]
fn au2_timestamps_refused_without_a_wall_clock() {
    let mut ha = HomeAgent::new(config(), 1, Instant::ZERO).unwrap();
    let out = Bu::new(1, 150, Instant::ZERO).feed(&mut ha, Instant::ZERO);
    assert!(out.is_empty());
    assert_eq!(
        ha.counters().dropped.get(&DropReason::NoWallClock),
        Some(&1)
    );
}

#[test]
fn au2_sequence_mode_needs_a_growing_value() {
    let mut cfg = config();
    cfg.security_associations[0].replay = ReplayMode::Sequence;
    let mut ha = HomeAgent::new(cfg, 1, Instant::ZERO).unwrap();
    let mut bu = Bu::new(1, 150, Instant::ZERO);
    bu.replay = Some(5);
    let (seen, at) = register(&mut ha, &bu, Instant::ZERO);
    assert_eq!(seen.status(), 0);
    let mut again = Bu::new(2, 150, at);
    again.replay = Some(5);
    assert!(again.feed(&mut ha, at).is_empty(), "not growing");
    again.replay = Some(6);
    assert_eq!(ba(&again.feed(&mut ha, at)).status(), 0);
}

#[test]
fn au3_an_sa_speaks_only_for_its_home_address() {
    let other = ip("2001:db8:1::300");
    let mut ha = agent();
    // Signed correctly with the SA of ::200, claiming ::300.
    let mut bu = Bu::new(1, 150, Instant::ZERO);
    bu.hao = Some(other);
    let out = bu.feed(&mut ha, Instant::ZERO);
    refused(&ha, &out, 146);
}

#[test]
fn au3_an_mn_id_sa_needs_the_mn_identifier() {
    let mut cfg = config();
    cfg.security_associations = vec![SecurityAssociation {
        spi: 777,
        key: MnHaKey::new(KEY),
        principal: Principal::MnId(b"mn@example.net".to_vec()),
        replay: ReplayMode::default(),
    }];
    let mut ha = agent_with(cfg);
    let mut bu = Bu::new(1, 150, Instant::ZERO);
    bu.spi = Some(777);
    {
        let out = bu.feed(&mut ha, Instant::ZERO);
        refused(&ha, &out, 146)
    };
    bu.mn_id = Some(b"mn@example.net".to_vec());
    bu.replay = Some(ntp_at(Instant::ZERO) + 1);
    let (seen, _) = register(&mut ha, &bu, Instant::ZERO);
    assert_eq!(seen.status(), 0);
}

#[test]
fn au3_configuration_refuses_reserved_spis_and_shared_principals() {
    let mut cfg = config();
    cfg.security_associations[0].spi = 255;
    assert!(HomeAgent::new(cfg, 1, Instant::ZERO).is_err());
    let mut cfg = config();
    cfg.security_associations.push(sa(2000, [1; 16], hoa()));
    assert!(HomeAgent::new(cfg, 1, Instant::ZERO).is_err());
    let mut cfg = config();
    cfg.security_associations[0].replay = ReplayMode::Timestamp {
        window: Duration::from_secs(3),
    };
    assert!(HomeAgent::new(cfg, 1, Instant::ZERO).is_err());
    // And the key stays out of every Debug rendering of the machine.
    let ha = agent();
    let shown = format!("{ha:?}");
    assert!(!shown.contains("0123456789abcdef"));
    assert!(!shown.contains("48, 49, 50"), "key octets as numbers");
    let _ = NtpTimestamp::default();
}

#[test]
fn au3_a_binding_changes_only_under_the_sa_that_made_it() {
    let mut cfg = config();
    cfg.security_associations.push(SecurityAssociation {
        spi: 777,
        key: MnHaKey::new([7; 16]),
        principal: Principal::MnId(b"other@example.net".to_vec()),
        replay: ReplayMode::default(),
    });
    let mut ha = agent_with(cfg.clone());
    let (_, at) = register(&mut ha, &Bu::new(1, 150, Instant::ZERO), Instant::ZERO);
    // The MN-ID SA's holder claims our mobile node's home address.
    let mut thief = Bu::new(9, 150, at);
    thief.spi = Some(777);
    thief.key = [7; 16];
    thief.mn_id = Some(b"other@example.net".to_vec());
    thief.alt_coa = Some(ip("2001:db8:66::6"));
    thief.src = ip("2001:db8:66::6");
    let out = thief.feed(&mut ha, at);
    assert!(out.iter().all(|o| matches!(o, HaOutput::Mh(_))), "{out:#?}");
    assert_eq!(ba(&out).status(), 129);
    let st = ha.status(at);
    assert_eq!(
        (st.bindings[0].care_of, st.bindings[0].sequence),
        (coa(), 1)
    );
    // Lab mode does not let an unauthenticated BU take it over either.
    cfg.security = v6edge_mip6::ha::Security::InsecureLabMode;
    let mut ha = agent_with(cfg);
    let (_, at) = register(&mut ha, &Bu::new(1, 150, Instant::ZERO), Instant::ZERO);
    let mut bare = Bu::new(2, 0, at);
    bare.spi = None;
    bare.replay = None;
    let out = bare.feed(&mut ha, at);
    assert_eq!(ba(&out).status(), 129);
    assert!(
        !out.iter()
            .any(|o| matches!(o, HaOutput::Kernel(_) | HaOutput::DataPlane(_)))
    );
    assert_eq!(ha.status(at).bindings.len(), 1);
}

#[test]
fn au3_restore_drops_bindings_whose_sa_is_gone_or_moved() {
    let mut ha = agent();
    register(&mut ha, &Bu::new(1, 150, Instant::ZERO), Instant::ZERO);
    let records = ha.bindings();
    // The SA now speaks for another address.
    let mut cfg = config();
    cfg.security_associations = vec![sa(SPI, KEY, ip("2001:db8:1::999"))];
    assert_eq!(agent_with(cfg).restore(records.clone(), secs(2.0)), 0);
    // No SA at all.
    let mut cfg = config();
    cfg.security_associations.clear();
    assert_eq!(agent_with(cfg).restore(records.clone(), secs(2.0)), 0);
    assert_eq!(agent().restore(records, secs(2.0)), 1);
}
