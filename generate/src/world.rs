//! A synthetic Guangdong province: units with realistic attributes, their inspection, violation,
//! complaint, IoT and credit history, and fires drawn from a planted model of that history.
//!
//! Every unit draws from its own RNG (seed, unit index), so the output does not depend on how
//! the work is split across threads.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use firecredit_contract::uscc;
use firecredit_contract::values::format_date;

/// Real Guangdong county-level divisions with approximate centres.
pub const DISTRICTS: &[(&str, &str, f64, f64)] = &[
    ("440103", "荔湾区", 113.244, 23.126),
    ("440104", "越秀区", 113.267, 23.129),
    ("440105", "海珠区", 113.318, 23.084),
    ("440106", "天河区", 113.361, 23.125),
    ("440111", "白云区", 113.273, 23.158),
    ("440112", "黄埔区", 113.459, 23.106),
    ("440113", "番禺区", 113.384, 22.938),
    ("440114", "花都区", 113.220, 23.404),
    ("440115", "南沙区", 113.525, 22.801),
    ("440118", "增城区", 113.811, 23.261),
    ("440303", "罗湖区", 114.131, 22.548),
    ("440304", "福田区", 114.055, 22.522),
    ("440305", "南山区", 113.930, 22.533),
    ("440306", "宝安区", 113.883, 22.555),
    ("440307", "龙岗区", 114.247, 22.719),
    ("440309", "龙华区", 114.045, 22.696),
    ("440402", "香洲区", 113.543, 22.266),
    ("440604", "禅城区", 113.122, 23.009),
    ("440605", "南海区", 113.143, 23.029),
    ("440606", "顺德区", 113.293, 22.805),
    ("441302", "惠城区", 114.383, 23.084),
    ("441900", "东莞市", 113.752, 23.021),
    ("442000", "中山市", 113.393, 22.517),
    ("440703", "蓬江区", 113.079, 22.589),
];

/// Use types with their share of units, crowded-place probability and fire-risk effect.
pub const USE_TYPES: &[(&str, f64, f64, f64, &str)] = &[
    ("retail", 0.20, 0.7, 0.2, "商贸有限公司"),
    ("restaurant", 0.15, 0.6, 0.6, "餐饮店"),
    ("office", 0.12, 0.1, -0.4, "科技有限公司"),
    ("factory", 0.12, 0.0, 0.5, "制造有限公司"),
    ("warehouse", 0.08, 0.0, 0.4, "仓储物流有限公司"),
    ("residential_mixed", 0.10, 0.3, 0.5, "三合一场所"),
    ("hotel", 0.06, 0.9, 0.1, "酒店"),
    ("entertainment", 0.04, 0.95, 0.5, "娱乐会所"),
    ("school", 0.03, 0.9, -0.6, "学校"),
    ("hospital", 0.02, 0.95, -0.2, "医院"),
    ("elderly_care", 0.02, 0.95, 0.1, "养老院"),
    ("hazmat", 0.01, 0.0, 1.0, "化工有限公司"),
    ("other", 0.05, 0.2, 0.0, "服务部"),
];

const NAME_WORDS: &[&str] = &[
    "华盛",
    "金源",
    "永安",
    "宏达",
    "粤海",
    "南方",
    "珠江",
    "鹏程",
    "新世纪",
    "康乐",
    "福临",
    "兴业",
    "恒通",
    "富力",
    "锦绣",
    "天成",
    "嘉禾",
    "广信",
    "和谐",
    "骏景",
    "汇丰",
    "盛世",
    "东方",
    "岭南",
];

pub const CATEGORIES: &[&str] = &[
    "疏散通道堵塞",
    "消防栓被遮挡",
    "电动车违规充电",
    "安全出口上锁",
    "违规住人",
    "消防设施损坏",
    "占用消防车通道",
    "其他消防隐患",
];

/// A unit and the latent traits that drive its history.
#[derive(Debug, Clone)]
pub struct Unit {
    pub idx: usize,
    pub id: String,
    pub uscc: Option<String>,
    pub name: String,
    pub district: usize,
    pub grid: String,
    pub lon: f64,
    pub lat: f64,
    pub use_type: usize,
    pub key_unit: bool,
    pub crowded: bool,
    pub floor_area: f64,
    pub floors_above: i64,
    pub floors_below: i64,
    pub height: f64,
    pub build_year: i64,
    pub capacity: i64,
    pub sprinkler: bool,
    pub alarm: bool,
    pub investment: f64,
    pub opened_on: i32,
    pub closed_on: Option<i32>,
    /// Management quality: higher is better kept.
    pub quality: f64,
}

pub fn unit_rng(seed: u64, idx: usize, stream: u64) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(
        seed ^ 0x9E37_79B9_7F4A_7C15u64.wrapping_mul((idx as u64).wrapping_add(1)),
    );
    rng.set_stream(stream);
    rng
}

pub fn normal(rng: &mut impl Rng) -> f64 {
    // Box–Muller; deterministic and dependency-free.
    let u1: f64 = rng.random::<f64>().max(1e-12);
    let u2: f64 = rng.random();
    (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
}

pub fn pick_weighted(rng: &mut impl Rng, weights: impl Iterator<Item = f64> + Clone) -> usize {
    let total: f64 = weights.clone().sum();
    let mut x = rng.random::<f64>() * total;
    let mut last = 0;
    for (i, w) in weights.enumerate() {
        last = i;
        if x < w {
            return i;
        }
        x -= w;
    }
    last
}

/// Number of grids per district for a province of `units` units (about 150 units a grid).
pub fn grids_per_district(units: usize) -> usize {
    (units / DISTRICTS.len() / 150).max(1)
}

pub fn make_unit(seed: u64, idx: usize, units: usize, start: i32, as_of: i32) -> Unit {
    let mut rng = unit_rng(seed, idx, 1);
    // Bigger cities hold more units.
    let district = pick_weighted(
        &mut rng,
        (0..DISTRICTS.len()).map(|d| if d < 16 { 1.5 } else { 1.0 }),
    );
    let (code, dname, lon0, lat0) = DISTRICTS[district];
    let g = rng.random_range(0..grids_per_district(units));
    let grid = format!("{code}-G{g:03}");
    // Grid centres scattered around the district centre; units around their grid.
    let mut grng = unit_rng(seed ^ 0xABCD, district * 10_000 + g, 2);
    let (gx, gy) = (
        lon0 + normal(&mut grng) * 0.04,
        lat0 + normal(&mut grng) * 0.04,
    );
    let use_type = pick_weighted(&mut rng, USE_TYPES.iter().map(|u| u.1));
    let (ut, _, crowded_p, _, suffix) = USE_TYPES[use_type];
    let crowded = rng.random::<f64>() < crowded_p;
    let floor_area = (normal(&mut rng) * 1.1
        + if ut == "warehouse" || ut == "factory" {
            8.0
        } else {
            6.5
        })
    .exp()
    .clamp(20.0, 300_000.0)
    .round();
    let key_unit = floor_area > 5000.0 && rng.random::<f64>() < 0.8
        || (crowded && rng.random::<f64>() < 0.2)
        || ut == "hazmat";
    let floors_above =
        ((floor_area / 800.0).sqrt() * (1.0 + rng.random::<f64>())).clamp(1.0, 60.0) as i64;
    let floors_below = if floors_above > 6 {
        rng.random_range(0..3)
    } else {
        0
    };
    let build_year = 2024 - (rng.random::<f64>().powf(1.5) * 44.0) as i64;
    let sprinkler =
        (key_unit || floors_above > 8) && rng.random::<f64>() < 0.9 || rng.random::<f64>() < 0.15;
    let alarm = key_unit && rng.random::<f64>() < 0.95 || rng.random::<f64>() < 0.3;
    let quality = normal(&mut rng);
    let opened_on = if rng.random::<f64>() < 0.12 {
        start + rng.random_range(0..(as_of - start).max(1))
    } else {
        start - rng.random_range(30..8000)
    };
    // A building is not used before it is built.
    let build_year = build_year.min(1970 + i64::from(opened_on) / 365);
    let closed_on = (rng.random::<f64>() < 0.03).then(|| {
        let from = opened_on.max(start) + 30;
        from + rng.random_range(0..(as_of - from).max(1))
    });
    let uscc = (rng.random::<f64>() < 0.95).then(|| {
        let a = uscc::alphabet();
        let tail: String = (0..7).map(|_| a[rng.random_range(0..31)] as char).collect();
        uscc::complete(&format!("91{code}MA{tail}")).expect("alphabet characters")
    });
    let w1 = NAME_WORDS[rng.random_range(0..NAME_WORDS.len())];
    let w2 = NAME_WORDS[rng.random_range(0..NAME_WORDS.len())];
    Unit {
        idx,
        id: format!("U{idx:07}"),
        uscc,
        name: format!("{}{w1}{w2}{suffix}", dname.trim_end_matches(['区', '市'])),
        district,
        grid,
        lon: ((gx + normal(&mut rng) * 0.005) * 1e6).round() / 1e6,
        lat: ((gy + normal(&mut rng) * 0.005) * 1e6).round() / 1e6,
        use_type,
        key_unit,
        crowded,
        floor_area,
        floors_above,
        floors_below,
        height: (floors_above as f64 * 3.6 * 10.0).round() / 10.0,
        build_year,
        capacity: (floor_area / if crowded { 4.0 } else { 20.0 }).round() as i64,
        sprinkler,
        alarm,
        investment: (floor_area * rng.random_range(0.2..1.5)).round(),
        opened_on,
        closed_on,
        quality,
    }
}

/// The planted fire model: log-odds of a fire in the next 365 days from what is on record at
/// the start of the year. Only recorded history enters, so a model fitted on the data can in
/// principle reach the oracle.
pub struct History {
    pub violations_365: f64,
    pub unrectified: f64,
    pub serious_365: f64,
    pub down_hours_365: f64,
    pub verified_complaints_365: f64,
    pub prior_fires: f64,
    pub false_alarms_365: f64,
}

pub const BASE_LOG_ODDS: f64 = -6.3;

pub fn fire_log_odds(u: &Unit, h: &History, cutoff: i32) -> f64 {
    let age = ((2000 + cutoff / 365) as f64 - u.build_year as f64).max(0.0);
    BASE_LOG_ODDS
        + USE_TYPES[u.use_type].3
        + 0.30 * (u.floor_area / 1000.0).ln().clamp(-3.0, 5.0)
        + 0.015 * age
        - 0.40 * f64::from(u.sprinkler)
        - 0.25 * f64::from(u.alarm)
        + 0.20 * f64::from(u.crowded)
        + 0.22 * h.violations_365.min(8.0)
        + 0.45 * h.unrectified.min(5.0)
        + 0.30 * h.serious_365.min(4.0)
        + 0.006 * h.down_hours_365.min(400.0)
        + 0.35 * h.verified_complaints_365.min(5.0)
        + 0.60 * h.prior_fires.min(3.0)
        + 0.10 * h.false_alarms_365.min(10.0)
}

/// The drift added to the planted log-odds in `year` (0..5, the history's first year 0; the
/// year after `as_of` is 4): `per_year` per year, zero in the middle year, so that a model
/// fitted on one year and anchored to it predicts too few fires in the next (as a province
/// whose fire rate rises does).
pub fn drift(per_year: f64, year: i32) -> f64 {
    per_year * f64::from(year - 2)
}

pub fn sigmoid(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

pub fn date(days: i32) -> String {
    format_date(days)
}
