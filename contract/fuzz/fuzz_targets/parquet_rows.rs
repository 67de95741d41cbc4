#![no_main]
//! See `firecredit_contract::probes::parquet_file` for the invariants checked.

libfuzzer_sys::fuzz_target!(|data: &[u8]| firecredit_contract::probes::parquet_file(data));
