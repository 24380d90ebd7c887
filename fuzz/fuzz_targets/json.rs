//! Arbitrary bytes into the span-keeping JSON reader.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sekisho_policy::json::{Limits, parse};

fuzz_target!(|data: &[u8]| {
    if let Ok(value) = parse(data, &Limits::default()) {
        // Spans always lie inside the input.
        assert!(value.span.start <= value.span.end && value.span.end <= data.len());
    }
});
