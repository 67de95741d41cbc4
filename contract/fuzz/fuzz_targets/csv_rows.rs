#![no_main]
//! See `firecredit_contract::probes::csv_file` for the invariants checked.

libfuzzer_sys::fuzz_target!(|data: &[u8]| firecredit_contract::probes::csv_file(data));
