//! Integration tests: the real `firecredit` binary on `data-samples/` and on small hand-made
//! inboxes; lake tables are read back with the library.

mod area;
mod credit;
mod hazard;
mod helpers;
mod ingest;
mod plan;
mod report;
mod risk;
