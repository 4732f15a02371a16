//! Fuzz target for the ND codec (`v6edge_wire::nd::NdMessage`): any input
//! must parse without panicking, and accepted input must re-emit to the
//! same bytes (checksum octets aside: emit leaves them 0) and parse back to
//! an equal value.
//!
//! Run: `cd fuzz && cargo fuzz run nd_message -s none <seed dir>`, seeded
//! with crates/wire/tests/fixtures/nd/*.bin.

#![no_main]

use libfuzzer_sys::fuzz_target;
use v6edge_wire::nd::NdMessage;

fuzz_target!(|data: &[u8]| {
    let Ok(msg) = NdMessage::parse(data) else {
        return;
    };
    let out = msg.to_bytes();
    assert_eq!(out.len(), msg.buffer_len());
    assert_eq!(
        out.len(),
        data.len(),
        "accepted input re-emits to a different length"
    );
    assert_eq!(out[..2], data[..2]);
    assert_eq!(out[2..4], [0, 0]);
    assert_eq!(out[4..], data[4..], "accepted input re-emits differently");
    let again = NdMessage::parse(&out).expect("emitted bytes parse");
    assert_eq!(again, msg);
    assert_eq!(msg.validate(), Ok(()));
});
