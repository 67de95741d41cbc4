//! Names for people: the county-level divisions of Guangdong (GB/T 2260, shipped as
//! `sql/reference/divisions.csv`), hazard elements (from the rules), and the report's codes
//! (area drivers, bases, statuses, reasons) in the report's language. A code without a name is
//! shown as itself, so a new division code never breaks a report.

use std::collections::HashMap;

use super::text::Lang;
use crate::contract::rules::RuleSet;
use crate::error::{Error, Result};

pub const DIVISIONS_CSV: &str = include_str!("../../../../sql/reference/divisions.csv");

/// One division: its name, the city it belongs to, and a short name for chart axes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Division {
    pub name: String,
    pub city: String,
    pub short: String,
}

pub struct Names {
    lang: Lang,
    divisions: HashMap<String, Division>,
    elements: HashMap<String, String>,
}

/// The divisions of `DIVISIONS_CSV` in `lang`, by code.
pub fn divisions(lang: Lang) -> Result<HashMap<String, Division>> {
    let mut reader = csv::Reader::from_reader(DIVISIONS_CSV.as_bytes());
    let mut out = HashMap::new();
    for row in reader.records() {
        let row = row.map_err(|e| Error::Report(format!("divisions.csv: {e}")))?;
        let cell = |i: usize| row.get(i).unwrap_or_default().to_string();
        let (name, city) = match lang {
            Lang::Zh => (cell(1), cell(2)),
            Lang::En => (cell(3), cell(4)),
        };
        let short = match lang {
            // "Liwan District" → "Liwan": 24 districts share one chart axis.
            Lang::En => name
                .rsplit_once(' ')
                .map_or(name.clone(), |(head, _)| head.to_string()),
            Lang::Zh => name.clone(),
        };
        out.insert(cell(0), Division { name, city, short });
    }
    Ok(out)
}

impl Names {
    pub fn new(lang: Lang, rules: &RuleSet) -> Result<Names> {
        let elements = rules
            .hazard_elements
            .iter()
            .map(|e| {
                let name = match lang {
                    Lang::Zh => &e.name_zh,
                    Lang::En => &e.name_en,
                };
                (e.element.clone(), name.clone())
            })
            .collect();
        Ok(Names {
            lang,
            divisions: divisions(lang)?,
            elements,
        })
    }

    /// `荔湾区（广州市）`, `Liwan District, Guangzhou`; a city without districts once.
    pub fn district(&self, code: &str) -> String {
        match self.divisions.get(code) {
            Some(d) if d.city == d.name => d.name.clone(),
            Some(d) => match self.lang {
                Lang::Zh => format!("{}（{}）", d.name, d.city),
                Lang::En => format!("{}, {}", d.name, d.city),
            },
            None => code.to_string(),
        }
    }

    /// The district's name alone, for a chart axis.
    pub fn district_short(&self, code: &str) -> String {
        self.divisions
            .get(code)
            .map_or_else(|| code.to_string(), |d| d.short.clone())
    }

    /// `;`-joined element ids as their names.
    pub fn elements(&self, ids: &str) -> String {
        let sep = match self.lang {
            Lang::Zh => "；",
            Lang::En => "; ",
        };
        ids.split(';')
            .filter(|s| !s.is_empty())
            .map(|id| self.elements.get(id).cloned().unwrap_or_else(|| id.into()))
            .collect::<Vec<_>>()
            .join(sep)
    }

    /// `;`-joined area drivers (`s_risk;s_fires`) as words.
    pub fn drivers(&self, drivers: &str) -> String {
        let sep = match self.lang {
            Lang::Zh => "、",
            Lang::En => ", ",
        };
        drivers
            .split(';')
            .filter(|s| !s.is_empty())
            .map(|d| self.word(d))
            .collect::<Vec<_>>()
            .join(sep)
    }

    /// A code of the published tables (basis, status, lift reason, driver, alert kind) as a
    /// word.
    pub fn word(&self, code: &str) -> String {
        let (zh, en) = match code {
            "direct" => ("直接判定", "direct element"),
            "comprehensive" => ("综合判定", "combined elements"),
            "new" => ("新挂牌", "newly listed"),
            "continuing" => ("持续挂牌", "still listed"),
            "lifted" => ("摘牌", "lifted"),
            "closed" => ("单位已关闭", "unit closed"),
            "cleared" => ("隐患已消除", "hazards cleared"),
            "below_threshold" => ("隐患要素低于判定标准", "below the threshold"),
            "no_open_units" => ("无在营单位", "no open units"),
            "level_lowered" => ("风险等级下降", "level lowered"),
            "s_risk" => ("火灾风险概率", "fire-risk probability"),
            "s_fires" => ("火灾起数", "fires"),
            "s_hazards" => ("重大火灾隐患单位", "major hazard units"),
            "s_complaints" => ("核实投诉", "verified complaints"),
            "s_grades" => ("信用C、D级占比", "share graded C or D"),
            "unknown_inspector" => ("非在册执法人员", "officer not on the roster"),
            "out_of_jurisdiction" => ("跨辖区执法", "outside jurisdiction"),
            "penalty_too_light" => ("处罚畸轻", "penalty too light"),
            "penalty_too_heavy" => ("处罚畸重", "penalty too heavy"),
            "followup_overdue" => ("逾期未复查", "follow-up overdue"),
            "rotation_breach" => ("未落实轮换", "rotation breached"),
            "complaint_unchecked" => ("投诉逾期未核查", "complaint not checked in time"),
            _ => return code.to_string(),
        };
        match self.lang {
            Lang::Zh => zh.into(),
            Lang::En => en.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_county_level_division_of_guangdong_has_a_name_in_both_languages() {
        let zh = divisions(Lang::Zh).unwrap();
        let en = divisions(Lang::En).unwrap();
        // 122 county-level divisions, plus Dongguan and Zhongshan, which have none.
        assert_eq!(zh.len(), 124);
        assert_eq!(en.len(), 124);
        assert!(zh.keys().all(|c| c.len() == 6 && c.starts_with("44")));
        let rules = RuleSet::defaults();
        let names = Names::new(Lang::Zh, &rules).unwrap();
        assert_eq!(names.district("440103"), "荔湾区（广州市）");
        assert_eq!(names.district("441900"), "东莞市");
        assert_eq!(names.district("449999"), "449999");
        assert_eq!(names.drivers("s_risk;s_fires"), "火灾风险概率、火灾起数");
        assert_eq!(names.word("comprehensive"), "综合判定");
        let names = Names::new(Lang::En, &rules).unwrap();
        assert_eq!(names.district("440306"), "Bao'an District, Shenzhen");
        assert_eq!(names.district_short("440306"), "Bao'an");
        assert_eq!(
            names.elements("C01;X9"),
            "fire systems not in working order; X9"
        );
    }
}
