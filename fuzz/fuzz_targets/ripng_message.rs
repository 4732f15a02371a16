//! Fuzz target for the RIPng codec (`v6edge_wire::ripng::RipngMessage`):
//! any input must parse without panicking; accepted input must re-emit to
//! the same bytes and parse back to an equal value.
//!
//! Run: `cd fuzz && cargo fuzz run ripng_message -s none`.

#![no_main]

use libfuzzer_sys::fuzz_target;
use v6edge_wire::ripng::RipngMessage;

fuzz_target!(|data: &[u8]| {
    let Ok(msg) = RipngMessage::parse(data) else {
        return;
    };
    let out = msg.to_bytes();
    assert_eq!(out.len(), msg.buffer_len());
    assert_eq!(out, data, "accepted input re-emits differently");
    let again = RipngMessage::parse(&out).expect("emitted bytes parse");
    assert_eq!(again, msg);
});
