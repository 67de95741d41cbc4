//! Rule tables (`rules/*.csv`): point values, windows and hazard elements. The defaults ship
//! inside the binary (copied from the spec into `sql/rules/`); `--rules DIR` replaces them. Their
//! SHA-256 identifies the rules every output was computed with.

use std::collections::BTreeSet;
use std::path::Path;

use std::sync::Arc;

use datafusion::arrow::array::{ArrayRef, BooleanArray, Int64Array, StringArray};
use datafusion::arrow::record_batch::RecordBatch;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::contract::validate::CodeBook;
use crate::error::{Error, Result};

pub const DEFAULT_VERSION: &str = "gd-2026.1";

/// The four tables, in the fixed order in which their bytes are hashed.
pub const TABLES: [(&str, &str); 4] = [
    (
        "violations.csv",
        include_str!("../../../sql/rules/violations.csv"),
    ),
    (
        "bonuses.csv",
        include_str!("../../../sql/rules/bonuses.csv"),
    ),
    (
        "classes.csv",
        include_str!("../../../sql/rules/classes.csv"),
    ),
    (
        "hazard_elements.csv",
        include_str!("../../../sql/rules/hazard_elements.csv"),
    ),
];

/// Codes the pipeline makes itself and a provider must never send.
pub const PIPELINE_CODES: [&str; 4] = ["X01", "F1", "F2", "F3"];

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ViolationRule {
    pub code: String,
    pub class: String,
    pub points: i64,
    pub hazard_element: Option<String>,
    pub veto: bool,
    pub name_zh: String,
    pub name_en: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct BonusRule {
    pub code: String,
    pub points: i64,
    pub window_days: i64,
    pub name_zh: String,
    pub name_en: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ClassRule {
    pub class: String,
    pub window_days: i64,
    pub repair_min_days: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct HazardElement {
    pub element: String,
    pub kind: String,
    pub name_zh: String,
    pub name_en: String,
}

/// A validated set of rule tables with the raw text they came from.
#[derive(Debug, Clone)]
pub struct RuleSet {
    pub version: String,
    pub sha256: String,
    pub violations: Vec<ViolationRule>,
    pub bonuses: Vec<BonusRule>,
    pub classes: Vec<ClassRule>,
    pub hazard_elements: Vec<HazardElement>,
    /// `(file name, text)` of each table, for registering them as SQL tables.
    pub texts: Vec<(String, String)>,
}

impl RuleSet {
    /// The rules shipped with firecredit.
    pub fn defaults() -> Self {
        let texts = TABLES
            .iter()
            .map(|(n, t)| (n.to_string(), t.to_string()))
            .collect();
        Self::from_texts(DEFAULT_VERSION.to_string(), texts).expect("shipped rules are valid")
    }

    /// Reads the four tables from `dir`; the version is the folder's name.
    pub fn from_dir(dir: &Path) -> Result<Self> {
        let mut texts = Vec::new();
        for (name, _) in TABLES {
            let path = dir.join(name);
            // A table missing from `--rules` is the operator's mistake (exit 2), not an I/O
            // failure; other read errors stay I/O errors.
            let text = std::fs::read_to_string(&path).map_err(|source| match source.kind() {
                std::io::ErrorKind::NotFound => Error::Rules {
                    table: name.to_string(),
                    message: format!("missing from {}", dir.display()),
                },
                std::io::ErrorKind::InvalidData => Error::Rules {
                    table: name.to_string(),
                    message: "not UTF-8 text".into(),
                },
                _ => Error::Io {
                    path: path.display().to_string(),
                    source,
                },
            })?;
            texts.push((name.to_string(), text));
        }
        let version = dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "custom".into());
        Self::from_texts(version, texts)
    }

    fn from_texts(version: String, texts: Vec<(String, String)>) -> Result<Self> {
        let mut hasher = Sha256::new();
        for (name, text) in &texts {
            hasher.update(name.as_bytes());
            hasher.update([0]);
            hasher.update(text.as_bytes());
            hasher.update([0]);
        }
        let rules = RuleSet {
            version,
            sha256: hex::encode(hasher.finalize()),
            violations: read_table(&texts[0])?,
            bonuses: read_table(&texts[1])?,
            classes: read_table(&texts[2])?,
            hazard_elements: read_table(&texts[3])?,
            texts,
        };
        rules.validate()?;
        Ok(rules)
    }

    fn validate(&self) -> Result<()> {
        let bad = |table: &str, message: String| Error::Rules {
            table: table.to_string(),
            message,
        };
        let classes: BTreeSet<&str> = self.classes.iter().map(|c| c.class.as_str()).collect();
        let elements: BTreeSet<&str> = self
            .hazard_elements
            .iter()
            .map(|e| e.element.as_str())
            .collect();
        let mut seen = BTreeSet::new();
        for v in &self.violations {
            if !seen.insert(v.code.as_str()) {
                return Err(bad("violations.csv", format!("code {} twice", v.code)));
            }
            if !classes.contains(v.class.as_str()) {
                return Err(bad(
                    "violations.csv",
                    format!("{}: unknown class {}", v.code, v.class),
                ));
            }
            if let Some(e) = &v.hazard_element {
                if !elements.contains(e.as_str()) {
                    return Err(bad(
                        "violations.csv",
                        format!("{}: unknown element {e}", v.code),
                    ));
                }
            }
            if v.points < 0 {
                return Err(bad(
                    "violations.csv",
                    format!("{}: negative points", v.code),
                ));
            }
        }
        for code in PIPELINE_CODES {
            if !seen.contains(code) {
                return Err(bad(
                    "violations.csv",
                    format!("pipeline code {code} missing"),
                ));
            }
        }
        for b in &self.bonuses {
            if b.points < 0 || b.window_days <= 0 {
                return Err(bad("bonuses.csv", format!("{}: points or window", b.code)));
            }
        }
        for c in &self.classes {
            if c.window_days <= 0 || c.repair_min_days < 0 {
                return Err(bad(
                    "classes.csv",
                    format!("{}: window or repair days", c.class),
                ));
            }
        }
        for e in &self.hazard_elements {
            if e.kind != "direct" && e.kind != "comprehensive" {
                return Err(bad(
                    "hazard_elements.csv",
                    format!("{}: kind {}", e.element, e.kind),
                ));
            }
        }
        Ok(())
    }

    /// The four tables as Arrow batches, named as the SQL stages use them.
    pub fn record_batches(&self) -> Vec<(&'static str, RecordBatch)> {
        fn strs<T>(rows: &[T], f: impl Fn(&T) -> Option<&str>) -> ArrayRef {
            Arc::new(rows.iter().map(f).collect::<StringArray>())
        }
        fn ints<T>(rows: &[T], f: impl Fn(&T) -> i64) -> ArrayRef {
            Arc::new(rows.iter().map(|r| Some(f(r))).collect::<Int64Array>())
        }
        let batch =
            |cols: Vec<(&str, ArrayRef)>| RecordBatch::try_from_iter(cols).expect("rule batch");
        let v = &self.violations;
        let b = &self.bonuses;
        let c = &self.classes;
        let e = &self.hazard_elements;
        vec![
            (
                "rule_violations",
                batch(vec![
                    ("code", strs(v, |r| Some(&r.code))),
                    ("class", strs(v, |r| Some(&r.class))),
                    ("points", ints(v, |r| r.points)),
                    ("hazard_element", strs(v, |r| r.hazard_element.as_deref())),
                    (
                        "veto",
                        Arc::new(v.iter().map(|r| Some(r.veto)).collect::<BooleanArray>()),
                    ),
                    ("name_zh", strs(v, |r| Some(&r.name_zh))),
                    ("name_en", strs(v, |r| Some(&r.name_en))),
                ]),
            ),
            (
                "rule_bonuses",
                batch(vec![
                    ("code", strs(b, |r| Some(&r.code))),
                    ("points", ints(b, |r| r.points)),
                    ("window_days", ints(b, |r| r.window_days)),
                    ("name_zh", strs(b, |r| Some(&r.name_zh))),
                    ("name_en", strs(b, |r| Some(&r.name_en))),
                ]),
            ),
            (
                "rule_classes",
                batch(vec![
                    ("class", strs(c, |r| Some(&r.class))),
                    ("window_days", ints(c, |r| r.window_days)),
                    ("repair_min_days", ints(c, |r| r.repair_min_days)),
                ]),
            ),
            (
                "rule_hazard_elements",
                batch(vec![
                    ("element", strs(e, |r| Some(&r.element))),
                    ("kind", strs(e, |r| Some(&r.kind))),
                    ("name_zh", strs(e, |r| Some(&r.name_zh))),
                    ("name_en", strs(e, |r| Some(&r.name_en))),
                ]),
            ),
        ]
    }
}

fn read_table<T: for<'de> Deserialize<'de>>((name, text): &(String, String)) -> Result<Vec<T>> {
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    reader
        .deserialize()
        .collect::<std::result::Result<Vec<T>, _>>()
        .map_err(|e| Error::Rules {
            table: name.clone(),
            message: e.to_string(),
        })
}

impl CodeBook for RuleSet {
    fn is_provider_violation_code(&self, code: &str) -> bool {
        !PIPELINE_CODES.contains(&code) && self.violations.iter().any(|v| v.code == code)
    }

    fn is_bonus_code(&self, code: &str) -> bool {
        self.bonuses.iter().any(|b| b.code == code)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_load_and_know_their_codes() {
        let r = RuleSet::defaults();
        assert_eq!(r.version, "gd-2026.1");
        assert_eq!(r.violations.len(), 24);
        assert!(r.is_provider_violation_code("V103"));
        assert!(!r.is_provider_violation_code("X01"));
        assert!(!r.is_provider_violation_code("V999"));
        assert!(r.is_bonus_code("B05"));
        let v111 = r.violations.iter().find(|v| v.code == "V111").unwrap();
        assert_eq!(
            (v111.points, v111.hazard_element.as_deref()),
            (200, Some("D01"))
        );
        assert!(r.violations.iter().find(|v| v.code == "F3").unwrap().veto);
        assert_eq!(r.sha256.len(), 64);
    }

    #[test]
    fn a_malformed_table_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        for (name, text) in TABLES {
            std::fs::write(dir.path().join(name), text).unwrap();
        }
        std::fs::write(
            dir.path().join("classes.csv"),
            "class,window_days\nminor,ninety\n",
        )
        .unwrap();
        let err = RuleSet::from_dir(dir.path()).unwrap_err().to_string();
        assert!(err.contains("classes.csv"), "{err}");
    }
}
