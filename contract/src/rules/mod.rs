//! Rule tables (`rules/*.csv`): every number of scoring.md and supervision.md. The defaults ship
//! inside the binary (copied from the spec into `sql/rules/`); `--rules DIR` replaces them. Their
//! SHA-256 identifies the rules every output was computed with, so nothing the rules decide may
//! live anywhere else.
//!
//! # Layout
//! - this file: the six tables, their rows and the checks across tables.
//! - [`parameters`]: `parameters.csv`, the scalars, typed by key.
//! - [`table`]: reading one CSV table with errors that name table, row and column; exact
//!   decimals.
//!
//! Every table is checked before anything runs: unknown or missing columns and keys, repeated
//! keys (a repeated class or bonus code would count twice), numbers of the wrong kind or out of
//! range, and references between tables.

pub mod parameters;
pub mod table;

use std::collections::HashMap;
use std::path::Path;

use sha2::{Digest, Sha256};

use crate::validate::CodeBook;
pub use parameters::{ParamValue, Parameters};
pub use table::Decimal;
use table::{Row, Table};

pub const DEFAULT_VERSION: &str = "gd-2026.2";

/// The six tables, in the fixed order in which their bytes are hashed.
pub const TABLES: [(&str, &str); 6] = [
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
    (
        "parameters.csv",
        include_str!("../../../sql/rules/parameters.csv"),
    ),
    (
        "penalty_bands.csv",
        include_str!("../../../sql/rules/penalty_bands.csv"),
    ),
];

/// Codes the pipeline makes itself and a provider must never send.
pub const PIPELINE_CODES: [&str; 4] = ["X01", "F1", "F2", "F3"];

/// Hazard element kinds (GB 35181).
pub const ELEMENT_KINDS: [&str; 2] = ["direct", "comprehensive"];

/// A rule table that cannot be used: which table, and where in it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("rule table {table}{}{}: {message}",
    row.map(|r| format!(", row {r}")).unwrap_or_default(),
    column.as_ref().map(|c| format!(", column {c}")).unwrap_or_default())]
pub struct RuleError {
    pub table: String,
    /// Data row, from 1 (the header is not counted).
    pub row: Option<usize>,
    pub column: Option<String>,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ViolationRule {
    pub code: String,
    pub class: String,
    pub points: i64,
    pub hazard_element: Option<String>,
    pub veto: bool,
    pub name_zh: String,
    pub name_en: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct BonusRule {
    pub code: String,
    pub points: i64,
    pub window_days: i64,
    pub name_zh: String,
    pub name_en: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ClassRule {
    pub class: String,
    pub window_days: i64,
    pub repair_min_days: i64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct HazardElement {
    pub element: String,
    pub kind: String,
    pub name_zh: String,
    pub name_en: String,
}

/// The fine a violation code should draw (处罚裁量基准), supervision.md §7.
#[derive(Debug, Clone, PartialEq)]
pub struct PenaltyBand {
    pub code: String,
    pub min_yuan: Decimal,
    pub max_yuan: Decimal,
    pub basis: String,
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
    pub parameters: Parameters,
    pub penalty_bands: Vec<PenaltyBand>,
    /// `(file name, text)` of each table, in [`TABLES`] order.
    pub texts: Vec<(String, String)>,
}

/// Why a rules folder could not be read.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error(transparent)]
    Rules(#[from] RuleError),
    #[error("cannot read {path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
}

/// Keys seen so far in one table: a second row with the same key is an error naming both.
struct Unique<'t>(HashMap<&'t str, usize>);

impl<'t> Unique<'t> {
    fn new() -> Self {
        Unique(HashMap::new())
    }

    fn key(&mut self, row: &Row<'t>, column: &str) -> Result<&'t str, RuleError> {
        let key = row.required(column)?;
        match self.0.insert(key, row.number) {
            Some(first) => Err(row.error(
                column,
                format!("`{key}` given twice (first in row {first})"),
            )),
            None => Ok(key),
        }
    }
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

    /// Reads the six tables from `dir`; the version is the folder's name.
    pub fn from_dir(dir: &Path) -> Result<Self, LoadError> {
        let mut texts = Vec::new();
        for (name, _) in TABLES {
            let path = dir.join(name);
            // A table missing from `--rules` is the operator's mistake (exit 2), not an I/O
            // failure; other read errors stay I/O errors.
            let missing = |message: String| RuleError {
                table: name.to_string(),
                row: None,
                column: None,
                message,
            };
            let text = std::fs::read_to_string(&path).map_err(|source| match source.kind() {
                std::io::ErrorKind::NotFound => {
                    missing(format!("missing from {}", dir.display())).into()
                }
                std::io::ErrorKind::InvalidData => missing("not UTF-8 text".into()).into(),
                _ => LoadError::Io {
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
        Ok(Self::from_texts(version, texts)?)
    }

    /// Parses and checks the six tables (`texts` in [`TABLES`] order).
    pub fn from_texts(version: String, texts: Vec<(String, String)>) -> Result<Self, RuleError> {
        let mut hasher = Sha256::new();
        for (name, text) in &texts {
            hasher.update(name.as_bytes());
            hasher.update([0]);
            hasher.update(text.as_bytes());
            hasher.update([0]);
        }
        let text = |i: usize| (texts[i].0.as_str(), texts[i].1.as_str());
        let classes = read_classes(text(2))?;
        let hazard_elements = read_elements(text(3))?;
        let violations = read_violations(text(0), &classes, &hazard_elements)?;
        let bonuses = read_bonuses(text(1))?;
        let (name, parameters_text) = text(4);
        let parameters = Parameters::parse(name, parameters_text)?;
        let penalty_bands = read_penalty_bands(text(5), &violations)?;
        Ok(RuleSet {
            version,
            sha256: hex::encode(hasher.finalize()),
            violations,
            bonuses,
            classes,
            hazard_elements,
            parameters,
            penalty_bands,
            texts,
        })
    }
}

fn read_classes((name, text): (&str, &str)) -> Result<Vec<ClassRule>, RuleError> {
    let table = Table::parse(name, text, &["class", "window_days", "repair_min_days"])?;
    let mut keys = Unique::new();
    table
        .rows()
        .map(|r| {
            Ok(ClassRule {
                class: keys.key(&r, "class")?.to_string(),
                window_days: r.int("window_days", 1, 36_500)?,
                repair_min_days: r.int("repair_min_days", 0, 36_500)?,
            })
        })
        .collect()
}

fn read_elements((name, text): (&str, &str)) -> Result<Vec<HazardElement>, RuleError> {
    let table = Table::parse(name, text, &["element", "kind", "name_zh", "name_en"])?;
    let mut keys = Unique::new();
    table
        .rows()
        .map(|r| {
            Ok(HazardElement {
                element: keys.key(&r, "element")?.to_string(),
                kind: r.one_of("kind", &ELEMENT_KINDS)?.to_string(),
                name_zh: r.text("name_zh").to_string(),
                name_en: r.text("name_en").to_string(),
            })
        })
        .collect()
}

fn read_violations(
    (name, text): (&str, &str),
    classes: &[ClassRule],
    elements: &[HazardElement],
) -> Result<Vec<ViolationRule>, RuleError> {
    let columns = [
        "code",
        "class",
        "points",
        "hazard_element",
        "veto",
        "name_zh",
        "name_en",
    ];
    let table = Table::parse(name, text, &columns)?;
    let class_names: Vec<&str> = classes.iter().map(|c| c.class.as_str()).collect();
    let mut keys = Unique::new();
    let rules = table
        .rows()
        .map(|r| {
            let hazard_element = r.optional("hazard_element");
            if let Some(e) = hazard_element {
                if !elements.iter().any(|x| x.element == e) {
                    return Err(r.error(
                        "hazard_element",
                        format!("`{e}` is not in hazard_elements.csv"),
                    ));
                }
            }
            Ok(ViolationRule {
                code: keys.key(&r, "code")?.to_string(),
                class: r.one_of("class", &class_names)?.to_string(),
                points: r.int("points", 0, 1_000_000)?,
                hazard_element: hazard_element.map(str::to_string),
                veto: r.flag("veto")?,
                name_zh: r.text("name_zh").to_string(),
                name_en: r.text("name_en").to_string(),
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    for code in PIPELINE_CODES {
        if !rules.iter().any(|v| v.code == code) {
            return Err(table.error(format!("pipeline code {code} is missing")));
        }
    }
    Ok(rules)
}

fn read_bonuses((name, text): (&str, &str)) -> Result<Vec<BonusRule>, RuleError> {
    let columns = ["code", "points", "window_days", "name_zh", "name_en"];
    let table = Table::parse(name, text, &columns)?;
    let mut keys = Unique::new();
    table
        .rows()
        .map(|r| {
            let code = keys.key(&r, "code")?;
            if PIPELINE_CODES.contains(&code) {
                return Err(r.error("code", format!("`{code}` is a pipeline code")));
            }
            Ok(BonusRule {
                code: code.to_string(),
                points: r.int("points", 0, 1_000_000)?,
                window_days: r.int("window_days", 1, 36_500)?,
                name_zh: r.text("name_zh").to_string(),
                name_en: r.text("name_en").to_string(),
            })
        })
        .collect()
}

fn read_penalty_bands(
    (name, text): (&str, &str),
    violations: &[ViolationRule],
) -> Result<Vec<PenaltyBand>, RuleError> {
    let table = Table::parse(name, text, &["code", "min_yuan", "max_yuan", "basis"])?;
    let mut keys = Unique::new();
    table
        .rows()
        .map(|r| {
            let code = keys.key(&r, "code")?;
            let provider = violations.iter().any(|v| v.code == code);
            if !provider || PIPELINE_CODES.contains(&code) {
                return Err(r.error(
                    "code",
                    format!("`{code}` is not a provider violation code of violations.csv"),
                ));
            }
            let (min, max) = (r.decimal("min_yuan")?, r.decimal("max_yuan")?);
            if min < Decimal::from_int(0) {
                return Err(r.error("min_yuan", "must not be negative"));
            }
            if max < min {
                return Err(r.error("max_yuan", format!("{max} is below min_yuan {min}")));
            }
            Ok(PenaltyBand {
                code: code.to_string(),
                min_yuan: min,
                max_yuan: max,
                basis: r.text("basis").to_string(),
            })
        })
        .collect()
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

    fn texts_with(name: &str, text: &str) -> Vec<(String, String)> {
        TABLES
            .iter()
            .map(|(n, t)| (n.to_string(), if *n == name { text } else { t }.to_string()))
            .collect()
    }

    fn rejected(name: &str, text: &str) -> RuleError {
        RuleSet::from_texts("test".into(), texts_with(name, text)).unwrap_err()
    }

    #[test]
    fn defaults_load_and_know_their_codes() {
        let r = RuleSet::defaults();
        assert_eq!(r.version, "gd-2026.2");
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
        assert_eq!(r.penalty_bands.len(), 20);
        assert_eq!(r.parameters.reasons_count, 3);
        assert_eq!(r.sha256.len(), 64);
    }

    #[test]
    fn a_repeated_key_in_any_table_is_rejected() {
        let (_, bonuses) = TABLES[1];
        let e = rejected("bonuses.csv", &format!("{bonuses}B01,20,365,again,again\n"));
        assert_eq!((e.row, e.column.as_deref()), (Some(6), Some("code")));
        assert!(e.message.contains("first in row 1"), "{e}");
        let (_, classes) = TABLES[2];
        let e = rejected("classes.csv", &format!("{classes}minor,30,0\n"));
        assert_eq!(e.table, "classes.csv");
        let (_, bands) = TABLES[5];
        let e = rejected("penalty_bands.csv", &format!("{bands}V101,1,2,x\n"));
        assert_eq!(e.row, Some(21));
    }

    #[test]
    fn malformed_tables_are_clear_errors() {
        let e = rejected("classes.csv", "class,window_days\nminor,ninety\n");
        assert_eq!(e.column.as_deref(), Some("repair_min_days"));
        let e = rejected(
            "classes.csv",
            "class,window_days,repair_min_days\nminor,ninety,0\n",
        );
        assert_eq!((e.row, e.column.as_deref()), (Some(1), Some("window_days")));
        let (_, violations) = TABLES[0];
        let e = rejected(
            "violations.csv",
            &violations.replace("V101,general,30,C01", "V101,general,30,C99"),
        );
        assert_eq!(e.column.as_deref(), Some("hazard_element"));
        let e = rejected(
            "violations.csv",
            &violations.replace("V101,general,30", "V101,general,-30"),
        );
        assert_eq!(e.column.as_deref(), Some("points"));
        let e = rejected(
            "penalty_bands.csv",
            "code,min_yuan,max_yuan,basis\nV101,50,5,x\n",
        );
        assert_eq!(e.column.as_deref(), Some("max_yuan"));
        let e = rejected(
            "penalty_bands.csv",
            "code,min_yuan,max_yuan,basis\nX01,0,5,x\n",
        );
        assert_eq!(e.column.as_deref(), Some("code"));
    }

    #[test]
    fn the_hash_covers_every_table() {
        let base = RuleSet::defaults().sha256;
        let (_, params) = TABLES[4];
        let changed = RuleSet::from_texts(
            "x".into(),
            texts_with(
                "parameters.csv",
                &params.replace("bonus_cap,100,", "bonus_cap,90,"),
            ),
        )
        .unwrap();
        assert_eq!(changed.parameters.bonus_cap, 90);
        assert_ne!(changed.sha256, base);
    }
}
