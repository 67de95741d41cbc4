//! Integration tests: the real `firecredit` binary on `data-samples/` and on small hand-made
//! inboxes; lake tables are read back with the library.

mod area;
#[cfg(feature = "ballista")]
mod cluster;
mod crash;
mod credit;
mod dockerfile;
mod enforcement;
mod faults;
mod hardening;
mod hazard;
mod helpers;
mod hostile;
mod incremental;
mod ingest;
mod lake;
mod plan;
mod report;
mod risk;
mod rules;
#[cfg(feature = "s3")]
mod s3;
mod supervision;
