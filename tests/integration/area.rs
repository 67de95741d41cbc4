//! High fire-risk areas (scoring.md §4): golden cases for average ranks of ties, the fire
//! smoothing, a lone grid and every level cut-off, and the list on the sample data.

use crate::helpers::*;

#[test]
fn golden_high_risk_areas() {
    check_golden("area", &["high_risk_areas"]);
}
