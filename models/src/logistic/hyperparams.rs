use super::LogisticError;

/// Unchecked hyper-parameters; [`LogisticParams::check`] validates them.
#[derive(Debug, Clone, PartialEq)]
pub struct LogisticParams {
    /// L2 penalty on the standardised coefficients.
    pub alpha: f64,
    pub max_iterations: u64,
    /// Stop when the gradient norm of the *mean* loss falls below this (linfa's loss is a sum,
    /// so the fit passes `tolerance × rows`).
    pub gradient_tolerance: f64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct LogisticValidParams(pub(super) LogisticParams);

impl Default for LogisticParams {
    fn default() -> Self {
        LogisticParams {
            alpha: 1.0,
            max_iterations: 100,
            gradient_tolerance: 3e-4,
        }
    }
}

impl LogisticParams {
    pub fn check(self) -> Result<LogisticValidParams, LogisticError> {
        let bad = |name, message: String| Err(LogisticError::InvalidParam { name, message });
        if !(self.alpha.is_finite() && self.alpha >= 0.0) {
            return bad("alpha", format!("{} must be finite and ≥ 0", self.alpha));
        }
        if self.max_iterations == 0 {
            return bad("max_iterations", "must be > 0".into());
        }
        if !(self.gradient_tolerance.is_finite() && self.gradient_tolerance > 0.0) {
            return bad(
                "gradient_tolerance",
                format!("{} must be > 0", self.gradient_tolerance),
            );
        }
        Ok(LogisticValidParams(self))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_values_are_rejected() {
        assert!(LogisticParams::default().check().is_ok());
        let p = LogisticParams {
            alpha: -1.0,
            ..Default::default()
        };
        assert!(p.check().is_err());
        let p = LogisticParams {
            max_iterations: 0,
            ..Default::default()
        };
        assert!(p.check().is_err());
        let p = LogisticParams {
            gradient_tolerance: f64::NAN,
            ..Default::default()
        };
        assert!(p.check().is_err());
    }
}
