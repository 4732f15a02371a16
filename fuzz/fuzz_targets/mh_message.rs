//! Fuzz target for the Mobility Header codec
//! (`v6edge_wire::mh::MobilityHeader`): any input must parse without
//! panicking; accepted input must re-emit to the same bytes (checksum
//! octets aside: emit leaves them 0; with the checksum when the input's
//! verifies, up to the two spellings of a zero sum), parse back to an
//! equal value, and give the authenticator helpers a range inside the
//! message.
//!
//! Run: `cd fuzz && cargo fuzz run mh_message -s none <corpus dir>
//! ../crates/wire/tests/mh_vectors`, seeded with the Scapy vectors
//! (mh_vectors/*.bin).

#![no_main]

use std::net::Ipv6Addr;

use libfuzzer_sys::fuzz_target;
use v6edge_wire::mh::{self, MobilityHeader};

const SRC: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 1, 0, 0, 0, 0, 0x200);
const DST: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 1, 0, 0, 0, 0, 1);

fuzz_target!(|data: &[u8]| {
    let parsed = MobilityHeader::parse(data);
    let auth = mh::auth::mobility_message_auth_input(SRC, DST, data);
    let bad = mh::auth::binding_authorization_input(SRC, DST, data);
    let Ok(msg) = parsed else {
        assert!(auth.is_err() && bad.is_err(), "helpers parse as parse does");
        return;
    };
    let out = msg.to_bytes();
    assert_eq!(out.len(), msg.buffer_len());
    assert_eq!(
        out.len(),
        data.len(),
        "accepted input re-emits to a different length"
    );
    assert_eq!(out[..4], data[..4]);
    assert_eq!(out[4..6], [0, 0]);
    assert_eq!(out[6..], data[6..], "accepted input re-emits differently");
    if mh::verify_checksum(SRC, DST, data) {
        // Equal, or the other one's-complement spelling of the same sum
        // (0x0000 / 0xffff both verify).
        let summed = msg.to_bytes_with_checksum(SRC, DST);
        assert!(mh::verify_checksum(SRC, DST, &summed));
        let same = summed[4..6] == data[4..6];
        let zeros = |c: &[u8]| c == [0, 0] || c == [0xff, 0xff];
        assert!(same || (zeros(&summed[4..6]) && zeros(&data[4..6])));
    }
    let again = MobilityHeader::parse(&out).expect("emitted bytes parse");
    assert_eq!(again, msg);
    assert_eq!(msg.validate(), Ok(()));
    for input in [auth, bad].into_iter().flatten().flatten() {
        assert!(input.authenticator.end <= data.len());
        assert!(input.data.len() >= 32);
    }
});
