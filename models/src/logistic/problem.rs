//! The binary logistic problem that linfa-logistic hands to argmin (the same loss, gradient,
//! labels and L-BFGS solver, to the bit), computed in one pass over the matrix per point.
//!
//! linfa-logistic computes the log-odds `X · w` as `X` times a one-column matrix, which
//! ndarray sends to matrixmultiply's GEMM, and does so for the loss and again for the gradient
//! at the same point, whose `Xᵀ · r` then reads `X` a third time. At a million rows those
//! passes over 320 MB were the largest part of the fit (decision 143). Here one pass per point
//! forms, block of rows by block, each row's log-odds as GEMM's FMA kernel does (a chain of
//! fused multiply-adds in column order from zero, one chain per 256 columns, the chains added),
//! its residual, and each column's share of `Xᵀ · r` in ndarray's eight running sums
//! (`unrolled_dot`'s, added up as it adds them); the loss and the gradient at that point are
//! then read from it. The optimiser sees the same numbers and ends at the same parameters; a
//! test compares a pass with ndarray's products, and the fits with linfa-logistic's, bit for
//! bit.

use std::sync::{Mutex, PoisonError};

use argmin::core::{CostFunction, Executor, Gradient};
use argmin::solver::linesearch::MoreThuenteLineSearch;
use argmin::solver::quasinewton::LBFGS;
use argmin_math::{
    ArgminAdd, ArgminDot, ArgminL1Norm, ArgminL2Norm, ArgminMinMax, ArgminMul, ArgminSignum,
    ArgminSub, ArgminZeroLike,
};
use ndarray::{s, Array1, ArrayView1, ArrayView2, Zip};

/// Columns of one chain of GEMM's kernel (matrixmultiply's `D_KC`).
const KC: usize = 256;
/// Rows of one block: their log-odds, and their columns for the second look, stay in the L2
/// cache. A multiple of 8, so that a block's rows keep `unrolled_dot`'s lanes.
const ROWS: usize = 512;

/// What one pass over the matrix gives at a point `(w, b)`.
struct Pass {
    /// `y × (x · w + b)` per row.
    margins: Array1<f64>,
    /// The gradient of the loss: `xᵀ · r + α w`, then `Σ r`.
    gradient: Array1<f64>,
}

/// Rows `start..start + out.len()` of `x · w` into `out`, each row's sum formed as
/// matrixmultiply's FMA kernel forms it.
#[inline(always)]
fn log_odds_rows(x: ArrayView2<'_, f64>, w: ArrayView1<'_, f64>, start: usize, out: &mut [f64]) {
    let k = x.ncols();
    let mut acc = [0.0f64; ROWS];
    let acc = &mut acc[..out.len()];
    for chain in (0..k).step_by(KC) {
        acc.fill(0.0);
        for j in chain..(chain + KC).min(k) {
            let wj = w[j];
            let column = column_rows(&x, j, start, start + out.len());
            for (a, v) in acc.iter_mut().zip(column) {
                *a = v.mul_add(wj, *a);
            }
        }
        if chain == 0 {
            out.copy_from_slice(acc);
        } else {
            out.iter_mut().zip(acc.iter()).for_each(|(o, a)| *o += *a);
        }
    }
}

/// Column `j`'s rows `start..end` of a column-major `x`.
#[inline(always)]
fn column_rows<'a>(x: &'a ArrayView2<'_, f64>, j: usize, start: usize, end: usize) -> &'a [f64] {
    x.slice(s![start..end, j])
        .to_slice()
        .expect("a column-major matrix (checked by Problem::new)")
}

/// The optimiser's parameters: the weights, then the intercept. linfa-logistic's own type is
/// private; this one does each operation as that one does (element by element, and dot
/// products as one sequential sum).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Param(pub Array1<f64>);

fn elem_dot(a: &Array1<f64>, b: &Array1<f64>) -> f64 {
    Zip::from(a).and(b).fold(0.0, |acc, &a, &b| acc + a * b)
}

impl ArgminSub<f64, Param> for Param {
    fn sub(&self, other: &f64) -> Param {
        Param(&self.0 - *other)
    }
}

impl ArgminSub<Param, Param> for Param {
    fn sub(&self, other: &Param) -> Param {
        Param(&self.0 - &other.0)
    }
}

impl ArgminAdd<f64, Param> for Param {
    fn add(&self, other: &f64) -> Param {
        Param(&self.0 + *other)
    }
}

impl ArgminAdd<Param, Param> for Param {
    fn add(&self, other: &Param) -> Param {
        Param(&self.0 + &other.0)
    }
}

impl ArgminDot<Param, f64> for Param {
    fn dot(&self, other: &Param) -> f64 {
        elem_dot(&self.0, &other.0)
    }
}

impl ArgminL1Norm<f64> for Param {
    // linfa-logistic's, which the solver's steps depend on: the Euclidean norm.
    fn l1_norm(&self) -> f64 {
        elem_dot(&self.0, &self.0).sqrt()
    }
}

impl ArgminL2Norm<f64> for Param {
    fn l2_norm(&self) -> f64 {
        elem_dot(&self.0, &self.0).sqrt()
    }
}

impl ArgminMul<f64, Param> for Param {
    fn mul(&self, other: &f64) -> Param {
        Param(&self.0 * *other)
    }
}

impl ArgminMul<Param, Param> for Param {
    fn mul(&self, other: &Param) -> Param {
        Param(&self.0 * &other.0)
    }
}

impl ArgminMul<Param, Param> for f64 {
    fn mul(&self, other: &Param) -> Param {
        Param(&other.0 * *self)
    }
}

impl ArgminSignum for Param {
    // linfa-logistic's: the identity.
    fn signum(self) -> Param {
        self
    }
}

impl ArgminZeroLike for Param {
    fn zero_like(&self) -> Param {
        Param(Array1::zeros(self.0.raw_dim()))
    }
}

impl ArgminMinMax for Param {
    fn min(x: &Self, y: &Self) -> Param {
        Param(
            x.0.iter()
                .zip(&y.0)
                .map(|(&a, &b)| if a < b { a } else { b })
                .collect(),
        )
    }

    fn max(x: &Self, y: &Self) -> Param {
        Param(
            x.0.iter()
                .zip(&y.0)
                .map(|(&a, &b)| if a > b { a } else { b })
                .collect(),
        )
    }
}

/// The penalised logistic loss of labels `y` in {-1, 1} (a sum over rows) and its gradient.
pub struct Problem<'a> {
    x: ArrayView2<'a, f64>,
    y: Array1<f64>,
    alpha: f64,
    /// The last point's pass: the solver asks for the loss and then the gradient at a point.
    last: Mutex<Option<(Vec<u64>, Pass)>>,
}

impl<'a> Problem<'a> {
    /// `x` column-major (as the fit standardises it): ndarray's `Xᵀ · r`, whose sums a pass
    /// forms, reads such columns with `unrolled_dot`.
    pub fn new(x: ArrayView2<'a, f64>, y: Array1<f64>, alpha: f64) -> Self {
        assert_eq!(x.nrows(), y.len(), "one label per row");
        assert!(x.t().is_standard_layout(), "a column-major matrix");
        Problem {
            x,
            y,
            alpha,
            last: Mutex::new(None),
        }
    }

    /// `f` of the pass at `p`, made unless it is the last point's (the same bits).
    fn at<T>(&self, p: &Param, f: impl FnOnce(&Pass) -> T) -> T {
        let key: Vec<u64> = p.0.iter().map(|v| v.to_bits()).collect();
        let mut last = self.last.lock().unwrap_or_else(PoisonError::into_inner);
        let pass = match last.take() {
            Some((at, pass)) if at == key => pass,
            _ => self.pass(p),
        };
        let out = f(&pass);
        *last = Some((key, pass));
        out
    }

    fn pass(&self, p: &Param) -> Pass {
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("fma") && std::arch::is_x86_feature_detected!("avx2")
        {
            // SAFETY: the CPU has the features the function is compiled for (checked just
            // above).
            #[allow(unsafe_code)]
            return unsafe { self.pass_fma(p) };
        }
        self.pass_with(p)
    }

    /// [`Problem::pass_with`] compiled with fused multiply-add instructions, which the log-odds
    /// then use four rows at a time (elsewhere `mul_add` is a call per value, with the same
    /// results).
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,fma")]
    fn pass_fma(&self, p: &Param) -> Pass {
        self.pass_with(p)
    }

    #[inline(always)]
    fn pass_with(&self, p: &Param) -> Pass {
        let (m, k) = self.x.dim();
        let (w, b) = (p.0.slice(s![..k]), p.0[k]);
        let mut margins = vec![0.0f64; m];
        let mut residuals = vec![0.0f64; m];
        // `unrolled_dot`'s eight running sums per column, over the rows before the last
        // `m % 8`, which it adds one by one at the end.
        let mut lanes = vec![[0.0f64; 8]; k];
        let unrolled = m - m % 8;
        for start in (0..m).step_by(ROWS) {
            let end = (start + ROWS).min(m);
            let (margins, residuals) = (&mut margins[start..end], &mut residuals[start..end]);
            log_odds_rows(self.x, w, start, margins);
            for ((t, r), y) in margins
                .iter_mut()
                .zip(residuals.iter_mut())
                .zip(&self.y.as_slice().expect("owned labels")[start..end])
            {
                *t = (*t + b) * y;
                *r = (1.0 / (1.0 + (-*t).exp()) - 1.0) * y;
            }
            let rows = unrolled.min(end).saturating_sub(start);
            for (j, lane) in lanes.iter_mut().enumerate() {
                let column = column_rows(&self.x, j, start, start + rows);
                for (x8, r8) in column.chunks_exact(8).zip(residuals.chunks_exact(8)) {
                    for ((sum, x), r) in lane.iter_mut().zip(x8).zip(r8) {
                        *sum += x * r;
                    }
                }
            }
        }
        let mut gradient = Array1::zeros(k + 1);
        for (j, p) in lanes.iter().enumerate() {
            // From +0.0, as `unrolled_dot` starts (a sum of -0.0 stays +0.0).
            let mut sum = 0.0;
            sum += p[0] + p[4];
            sum += p[1] + p[5];
            sum += p[2] + p[6];
            sum += p[3] + p[7];
            let column = column_rows(&self.x, j, unrolled, m);
            for (x, r) in column.iter().zip(&residuals[unrolled..]) {
                sum += x * r;
            }
            gradient[j] = sum + w[j] * self.alpha;
        }
        gradient[k] = Array1::from(residuals).sum();
        Pass {
            margins: Array1::from(margins),
            gradient,
        }
    }
}

/// A numerically stable `ln(1 / (1 + e^-x))` (scikit-learn's, as linfa-logistic has it).
fn log_logistic(x: f64) -> f64 {
    if x > 0.0 {
        -(1.0 + (-x).exp()).ln()
    } else {
        x - (1.0 + x.exp()).ln()
    }
}

impl CostFunction for Problem<'_> {
    type Param = Param;
    type Output = f64;

    fn cost(&self, p: &Param) -> Result<f64, argmin::core::Error> {
        let loss = self.at(p, |pass| pass.margins.mapv(log_logistic).sum());
        let w = p.0.slice(s![..self.x.ncols()]);
        Ok(-loss + 0.5 * self.alpha * w.dot(&w))
    }
}

impl Gradient for Problem<'_> {
    type Param = Param;
    type Gradient = Param;

    fn gradient(&self, p: &Param) -> Result<Param, argmin::core::Error> {
        Ok(Param(self.at(p, |pass| pass.gradient.clone())))
    }
}

/// linfa-logistic's labels for two classes: 1 for the larger class (the class seen first on a
/// tie), -1 for the other; and whether that larger class is `true`.
pub fn labels(y: &Array1<bool>) -> (Array1<f64>, bool) {
    let first = y.first().copied().unwrap_or(true);
    let firsts = y.iter().filter(|v| **v == first).count();
    let larger = if firsts < y.len() - firsts {
        !first
    } else {
        first
    };
    (y.mapv(|v| if v == larger { 1.0 } else { -1.0 }), larger)
}

/// Minimises the problem from `init` (weights then intercept) as linfa-logistic does: L-BFGS
/// with a memory of 10 and the Moré–Thuente line search. The best parameters, or `init` when
/// the solver found none.
pub fn minimise(
    problem: Problem<'_>,
    init: Array1<f64>,
    max_iterations: u64,
    gradient_tolerance: f64,
) -> Result<Array1<f64>, argmin::core::Error> {
    let solver =
        LBFGS::new(MoreThuenteLineSearch::new(), 10).with_tolerance_grad(gradient_tolerance)?;
    let start = Param(init.clone());
    let result = Executor::new(problem, solver)
        .configure(|state| state.param(start).max_iters(max_iterations))
        .run()?;
    Ok(result.state.best_param.map_or(init, |p| p.0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::split_mix::SplitMix;
    use ndarray::{Array2, ShapeBuilder};

    /// A column-major matrix of values in [-4, 4).
    fn matrix(rows: usize, cols: usize, seed: u64) -> Array2<f64> {
        let mut rng = SplitMix(seed);
        let mut x = Array2::zeros((rows, cols).f());
        x.mapv_inplace(|_| rng.unit() * 8.0 - 4.0);
        x
    }

    /// A pass gives linfa-logistic's margins and gradient (ndarray's GEMM and `Xᵀ · r`), to
    /// the bit, wherever GEMM's kernel fuses its multiply-adds (x86-64 with AVX2 and FMA: every
    /// machine this project runs on); elsewhere within rounding.
    #[test]
    fn a_pass_is_linfas_arithmetic() {
        let fused = cfg!(target_arch = "x86_64")
            && std::arch::is_x86_feature_detected!("fma")
            && std::arch::is_x86_feature_detected!("avx2");
        let same = |a: f64, b: f64, what: &str| {
            if fused {
                assert_eq!(a.to_bits(), b.to_bits(), "{what}: {a} {b}");
            } else {
                assert!((a - b).abs() <= 1e-9 * b.abs().max(1.0), "{what}: {a} {b}");
            }
        };
        for (rows, cols) in [(1, 1), (7, 3), (33, 40), (1029, 41), (3000, 300), (40, 513)] {
            let x = matrix(rows, cols, rows as u64 * 31 + cols as u64);
            let p = matrix(cols + 1, 1, 7).column(0).to_owned();
            let mut rng = SplitMix(rows as u64);
            let y = Array1::from_shape_fn(rows, |_| {
                if rng.next().is_multiple_of(3) {
                    1.0
                } else {
                    -1.0
                }
            });
            let problem = Problem::new(x.view(), y.clone(), 0.5);
            let pass = problem.pass(&Param(p.clone()));
            // linfa-logistic's `logistic_loss` and `logistic_grad`.
            let w = p.slice(s![..cols]);
            let yz = x.dot(&w.into_shape_with_order((cols, 1)).unwrap()) + p[cols];
            let margins = yz.into_shape_with_order(rows).unwrap() * &y;
            let mut r = margins.mapv(|v| 1.0 / (1.0 + (-v).exp()));
            r -= 1.0;
            r *= &y;
            let gradient = x.t().dot(&r) + (&w * 0.5);
            let what = format!("{rows}×{cols}");
            for (a, b) in pass.margins.iter().zip(&margins) {
                same(*a, *b, &what);
            }
            for (a, b) in pass.gradient.iter().zip(gradient.iter().chain([&r.sum()])) {
                same(*a, *b, &what);
            }
        }
    }

    #[test]
    fn the_larger_class_is_labelled_one() {
        let y = Array1::from(vec![true, false, false]);
        assert_eq!(labels(&y), (Array1::from(vec![-1.0, 1.0, 1.0]), false));
        // On a tie, the class seen first.
        let y = Array1::from(vec![true, false]);
        assert_eq!(labels(&y), (Array1::from(vec![1.0, -1.0]), true));
    }
}
