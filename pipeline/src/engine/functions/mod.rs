//! The functions the project's SQL calls beyond DataFusion's own, registered in every session
//! (local, and `firecredit scheduler` / `executor` for Ballista):
//! - `draw_u(text)`: the double-random draw's verifiable uniform number (scoring.md §5);
//! - `local_day(ts)`: the local (Asia/Shanghai) calendar date of an instant, for timestamps and
//!   for UTC microseconds alike, so that the time zone is written once;
//! - `plain_number(x)`: a number as text without trailing zeros (`5000`, `2500.5`), as the
//!   enforcement alerts' details are written (supervision.md §7);
//! - the window function `next_closing` of [`window`];
//! - the aggregate function `union_length` of [`aggregate`].
//!
//! Layout: scalar functions here, window functions in [`window`] (and the operator that runs
//! them in local sessions in [`window_exec`]), aggregate functions in [`aggregate`].

mod aggregate;
mod window;
mod window_exec;

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, Date32Array, Float64Array};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, TimeUnit};
use datafusion::common::{exec_err, Result as DfResult, ScalarValue};
use datafusion::execution::FunctionRegistry;
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, TypeSignature,
    Volatility,
};
use sha2::{Digest, Sha256};

use crate::contract::values::local_day;

pub use aggregate::aggregate_functions;
pub use window::{next_closing, window_functions, Ints};
pub use window_exec::WholePartitionWindows;

/// Registers every function of the project's SQL, scalar, window and aggregate, in a session's
/// state (a local session's, or a Ballista scheduler's).
pub fn register(state: &mut dyn FunctionRegistry) -> DfResult<()> {
    for f in functions() {
        state.register_udf(f)?;
    }
    for f in window_functions() {
        state.register_udwf(f)?;
    }
    for f in aggregate_functions() {
        state.register_udaf(f)?;
    }
    Ok(())
}

/// Every scalar function of the project's SQL.
pub fn functions() -> Vec<Arc<ScalarUDF>> {
    vec![
        Arc::new(ScalarUDF::from(DrawU {
            signature: Signature::string(1, Volatility::Immutable),
        })),
        Arc::new(ScalarUDF::from(LocalDay {
            signature: Signature::one_of(
                vec![
                    TypeSignature::Exact(vec![DataType::Timestamp(
                        TimeUnit::Microsecond,
                        Some("UTC".into()),
                    )]),
                    TypeSignature::Exact(vec![DataType::Int64]),
                ],
                Volatility::Immutable,
            ),
        })),
        Arc::new(ScalarUDF::from(PlainNumber {
            signature: Signature::exact(vec![DataType::Float64], Volatility::Immutable),
        })),
    ]
}

/// `x` as the shortest text that reads back as the same f64, without a trailing `.0`:
/// Rust's `Display` for f64 (`5000`, `2500.5`, `0.1`).
pub fn plain_number(x: f64) -> String {
    format!("{x}")
}

/// `u(text)` = (first 8 bytes of SHA-256(text), big-endian, + 0.5) / 2^64, as the f64 nearest
/// the exact value: hi / 2^32 + (lo + 0.5) / 2^64 rounds once (both terms are exact), so any
/// implementation that rounds correctly gets the same bits.
pub fn draw_u(text: &str) -> f64 {
    let digest = Sha256::digest(text.as_bytes());
    let hi = u32::from_be_bytes(digest[0..4].try_into().expect("4 bytes"));
    let lo = u32::from_be_bytes(digest[4..8].try_into().expect("4 bytes"));
    f64::from(hi) / 4_294_967_296.0 + (f64::from(lo) + 0.5) / 18_446_744_073_709_551_616.0
}

/// A scalar result when every argument was a scalar, else the array.
fn columnar(args: &ScalarFunctionArgs, out: ArrayRef) -> DfResult<ColumnarValue> {
    if args
        .args
        .iter()
        .all(|a| matches!(a, ColumnarValue::Scalar(_)))
    {
        Ok(ColumnarValue::Scalar(ScalarValue::try_from_array(&out, 0)?))
    } else {
        Ok(ColumnarValue::Array(out))
    }
}

#[derive(Debug, PartialEq, Eq, Hash)]
struct DrawU {
    signature: Signature,
}

impl ScalarUDFImpl for DrawU {
    fn name(&self) -> &str {
        "draw_u"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _: &[DataType]) -> DfResult<DataType> {
        Ok(DataType::Float64)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> DfResult<ColumnarValue> {
        let arrays = ColumnarValue::values_to_arrays(&args.args)?;
        let text = cast(&arrays[0], &DataType::Utf8)?;
        let out: Float64Array = text
            .as_string::<i32>()
            .iter()
            .map(|t| t.map(draw_u))
            .collect();
        columnar(&args, Arc::new(out))
    }
}

#[derive(Debug, PartialEq, Eq, Hash)]
struct LocalDay {
    signature: Signature,
}

impl ScalarUDFImpl for LocalDay {
    fn name(&self) -> &str {
        "local_day"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _: &[DataType]) -> DfResult<DataType> {
        Ok(DataType::Date32)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> DfResult<ColumnarValue> {
        let arrays = ColumnarValue::values_to_arrays(&args.args)?;
        let micros = match arrays[0].data_type() {
            DataType::Timestamp(TimeUnit::Microsecond, _) | DataType::Int64 => {
                cast(&arrays[0], &DataType::Int64)?
            }
            other => return exec_err!("local_day takes a timestamp or microseconds, not {other}"),
        };
        let micros = micros.as_primitive::<datafusion::arrow::datatypes::Int64Type>();
        let out: Date32Array = micros.iter().map(|t| t.map(local_day)).collect();
        debug_assert_eq!(out.len(), micros.len());
        columnar(&args, Arc::new(out))
    }
}

#[derive(Debug, PartialEq, Eq, Hash)]
struct PlainNumber {
    signature: Signature,
}

impl ScalarUDFImpl for PlainNumber {
    fn name(&self) -> &str {
        "plain_number"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _: &[DataType]) -> DfResult<DataType> {
        Ok(DataType::Utf8)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> DfResult<ColumnarValue> {
        let arrays = ColumnarValue::values_to_arrays(&args.args)?;
        let numbers = arrays[0].as_primitive::<datafusion::arrow::datatypes::Float64Type>();
        let out: datafusion::arrow::array::StringArray =
            numbers.iter().map(|x| x.map(plain_number)).collect();
        columnar(&args, Arc::new(out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_numbers_have_no_trailing_zeros() {
        assert_eq!(plain_number(5000.0), "5000");
        assert_eq!(plain_number(2500.5), "2500.5");
        assert_eq!(plain_number(0.0), "0");
        assert_eq!(plain_number(49999.99), "49999.99");
    }

    #[test]
    fn u_follows_the_spec() {
        // The f64 nearest (n + 0.5) / 2^64, by Python's exact fractions:
        // float(Fraction(2 * n + 1, 2**65)) with n the first 8 bytes of sha256(text).
        assert_eq!(draw_u("2026-06-30:U1"), 0.1675365285914162);
        assert_eq!(draw_u("2026-06-30:U1:P1"), 0.7604123390099113);
    }
}
