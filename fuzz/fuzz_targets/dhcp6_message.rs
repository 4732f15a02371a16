//! Fuzz target for the DHCPv6 codec entry point, `Message::parse`.
//!
//! Whatever parses must re-emit to the same bytes (the codec keeps
//! everything it cannot represent canonically), and the emitted bytes must
//! parse back to an equal value. Seed with the lab captures:
//! `cargo fuzz run dhcp6_message <copy of crates/wire/tests/fixtures/dhcp6>`.

#![no_main]

use libfuzzer_sys::fuzz_target;
use v6edge_wire::dhcp6::Message;

fuzz_target!(|data: &[u8]| {
    let Ok(msg) = Message::parse(data) else {
        return;
    };
    assert_eq!(
        msg.buffer_len(),
        data.len(),
        "buffer_len disagrees with the input length"
    );
    let bytes = msg.to_bytes();
    assert_eq!(
        bytes.as_slice(),
        data,
        "accepted input must re-emit byte-identical"
    );
    let again = Message::parse(&bytes).expect("emitted bytes must parse");
    assert_eq!(again, msg, "re-parse must give an equal message");
});
