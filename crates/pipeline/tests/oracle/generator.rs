//! Synthetic patients on the mgist schema, with their true canonical values.
//!
//! Every patient is plausible and consistent (birth < diagnosis ≤ imatinib
//! start < surgery, progression, death ≤ last follow-up ≤ the data cut-off),
//! so that a clean record passes every rule of the oracle's study and is
//! analysed.

use chrono::{Duration, NaiveDate};
use rand_core::{Rng as _, SeedableRng};
use rand_pcg::Pcg64Mcg;

/// The registries' data cut-off (the endpoints' `admin_censor`).
pub const CUTOFF: (i32, u32, u32) = (2023, 6, 30);

pub fn cutoff() -> NaiveDate {
    NaiveDate::from_ymd_opt(CUTOFF.0, CUTOFF.1, CUTOFF.2).unwrap()
}

/// A small seeded generator (PCG) with the few helpers the oracle needs.
pub struct Rng(Pcg64Mcg);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(Pcg64Mcg::seed_from_u64(seed))
    }
    /// A number in `0..n` (`n` > 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.0.next_u64() % n as u64) as usize
    }
    /// A number in `lo..=hi`.
    pub fn range(&mut self, lo: i64, hi: i64) -> i64 {
        lo + (self.0.next_u64() % ((hi - lo + 1) as u64)) as i64
    }
    pub fn chance(&mut self, p: f64) -> bool {
        (self.0.next_u64() >> 11) as f64 / (1u64 << 53) as f64 <= p
    }
    pub fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len())]
    }
}

/// A canonical value as the stage tables hold it.
#[derive(Debug, Clone, PartialEq)]
pub enum Val {
    Null,
    Str(String),
    Int(i64),
    Float(f64),
    /// Days since 1970-01-01.
    Date(i32),
}

impl std::fmt::Display for Val {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Val::Null => write!(f, "null"),
            Val::Str(s) => write!(f, "{s:?}"),
            Val::Int(i) => write!(f, "{i}"),
            Val::Float(x) => write!(f, "{x}"),
            Val::Date(d) => write!(f, "{}", from_days(*d)),
        }
    }
}

pub fn days(d: NaiveDate) -> i32 {
    (d - NaiveDate::from_ymd_opt(1970, 1, 1).unwrap()).num_days() as i32
}

pub fn from_days(d: i32) -> NaiveDate {
    NaiveDate::from_ymd_opt(1970, 1, 1).unwrap() + Duration::days(d as i64)
}

pub const SITES: [&str; 4] = ["stomach", "small_bowel", "rectum", "other"];
pub const MUTATIONS: [&str; 4] = ["KIT11", "KIT9", "PDGFRA", "wild_type"];
pub const METS: [&str; 5] = ["liver", "peritoneum", "liver+peritoneum", "lung", "bone"];
pub const RESPONSES: [&str; 3] = ["PR", "SD", "PD"];

/// One synthetic patient: the truth a correct reading must give back.
#[derive(Debug, Clone)]
pub struct Patient {
    pub id: String,
    /// SNILS, `123-456-789 01`.
    pub snils: String,
    pub sex: &'static str,
    pub birth: NaiveDate,
    pub diagnosis: NaiveDate,
    pub site: Option<&'static str>,
    pub mutation: Option<&'static str>,
    /// Largest diameter in tenths of a centimetre (= mm): 75 is 7.5 cm.
    pub size_mm: Option<i64>,
    pub mets: &'static str,
    pub line: i64,
    pub im_start: NaiveDate,
    pub response: &'static str,
    pub progression: Option<NaiveDate>,
    pub surgery: Option<NaiveDate>,
    pub death: Option<NaiveDate>,
    pub last: NaiveDate,
}

/// The canonical columns of the mgist schema, in schema order.
pub const COLUMNS: [&str; 16] = [
    "patient_id",
    "national_id",
    "sex",
    "birth_date",
    "diagnosis_date",
    "primary_site",
    "mutation",
    "tumour_size",
    "mets_site",
    "im_line",
    "im_start",
    "best_response",
    "progression_date",
    "surgery_date",
    "death_date",
    "last_followup",
];

pub const REQUIRED: [&str; 9] = [
    "patient_id",
    "sex",
    "birth_date",
    "diagnosis_date",
    "mets_site",
    "im_line",
    "im_start",
    "best_response",
    "last_followup",
];

pub const DATE_COLUMNS: [&str; 7] = [
    "birth_date",
    "diagnosis_date",
    "im_start",
    "progression_date",
    "surgery_date",
    "death_date",
    "last_followup",
];

fn date(rng: &mut Rng, from: NaiveDate, to: NaiveDate) -> NaiveDate {
    let span = (to - from).num_days().max(0);
    from + Duration::days(rng.range(0, span))
}

/// A SNILS with a unique serial (`n`), formatted with dashes.
pub fn snils(rng: &mut Rng, n: usize) -> String {
    let a = rng.range(100, 999);
    let b = 100 + (n % 900) as i64;
    let c = rng.range(100, 999);
    let k = rng.range(10, 99);
    format!("{a}-{b:03}-{c} {k}")
}

impl Patient {
    pub fn generate(rng: &mut Rng, n: usize, id_prefix: &str) -> Patient {
        let d = |y, m, dd| NaiveDate::from_ymd_opt(y, m, dd).unwrap();
        let cut = cutoff();
        let diagnosis = date(rng, d(2004, 1, 1), d(2019, 12, 31));
        let age_days = rng.range(30 * 365, 80 * 365);
        let birth = diagnosis - Duration::days(age_days);
        let im_start = diagnosis + Duration::days(rng.range(1, 90));
        let mut latest = im_start + Duration::days(rng.range(30, 200));
        let surgery = rng
            .chance(0.45)
            .then(|| im_start + Duration::days(rng.range(60, 600)));
        let progression = rng
            .chance(0.5)
            .then(|| im_start + Duration::days(rng.range(90, 2500)));
        let mut death = None;
        for x in [surgery, progression].into_iter().flatten() {
            latest = latest.max(x);
        }
        // The first four patients (two of each sex, the arms) die, so that
        // each arm has an event for the log-rank test.
        if n < 4 || rng.chance(0.3) {
            death = Some(latest + Duration::days(rng.range(1, 700)));
        }
        let mut last = match death {
            Some(dd) => dd,
            None => latest + Duration::days(rng.range(0, 900)),
        };
        // Everything on or before the cut-off.
        if last > cut {
            last = cut;
        }
        let clamp = |x: Option<NaiveDate>| x.map(|x| x.min(last));
        let (surgery, progression) = (clamp(surgery), clamp(progression));
        let death = death.map(|_| last);
        Patient {
            id: format!("{id_prefix}{:05}", 1000 + n * 7 + rng.below(7)),
            snils: snils(rng, n),
            sex: if n % 2 == 0 { "M" } else { "F" },
            birth,
            diagnosis,
            site: rng.chance(0.92).then(|| rng.pick(&SITES)),
            mutation: rng.chance(0.85).then(|| rng.pick(&MUTATIONS)),
            size_mm: rng.chance(0.9).then(|| {
                // Whole millimetres, or whole centimetres.
                if rng.chance(0.3) {
                    rng.range(1, 25) * 10
                } else {
                    rng.range(10, 250)
                }
            }),
            mets: rng.pick(&METS),
            line: if n < 4 || rng.chance(0.85) { 1 } else { 2 },
            im_start,
            response: rng.pick(&RESPONSES),
            progression,
            surgery,
            death,
            last,
        }
    }

    /// The canonical value of a schema column.
    pub fn value(&self, column: &str) -> Val {
        let s = |x: &str| Val::Str(x.to_string());
        let dt = |x: Option<NaiveDate>| x.map_or(Val::Null, |x| Val::Date(days(x)));
        match column {
            "patient_id" => s(&self.id),
            "national_id" => s(&self.snils),
            "sex" => s(self.sex),
            "birth_date" => dt(Some(self.birth)),
            "diagnosis_date" => dt(Some(self.diagnosis)),
            "primary_site" => self.site.map_or(Val::Null, s),
            "mutation" => self.mutation.map_or(Val::Null, s),
            "tumour_size" => self.size_mm.map_or(Val::Null, |x| Val::Float(x as f64)),
            "mets_site" => s(self.mets),
            "im_line" => Val::Int(self.line),
            "im_start" => dt(Some(self.im_start)),
            "best_response" => s(self.response),
            "progression_date" => dt(self.progression),
            "surgery_date" => dt(self.surgery),
            "death_date" => dt(self.death),
            "last_followup" => dt(Some(self.last)),
            _ => panic!("no column {column}"),
        }
    }

    /// The endpoints a correct derive stage computes: `(pfs_time,
    /// pfs_event, os_time, os_event)`, in months, with the cut-off.
    pub fn endpoints(&self) -> (f64, bool, f64, bool) {
        let cut = cutoff();
        let ep = |events: &[Option<NaiveDate>]| -> (f64, bool) {
            let first = events.iter().flatten().min().copied();
            let (end, event) = match first {
                Some(e) if e <= cut => (e, true),
                _ => (self.last.min(cut), false),
            };
            ((end - self.im_start).num_days() as f64 / 30.4375, event)
        };
        let (pt, pe) = ep(&[self.progression, self.death]);
        let (ot, oe) = ep(&[self.death]);
        (pt, pe, ot, oe)
    }
}

/// `n` patients with distinct ids and SNILS.
pub fn cohort(rng: &mut Rng, n: usize, id_prefix: &str) -> Vec<Patient> {
    (0..n)
        .map(|i| Patient::generate(rng, i, id_prefix))
        .collect()
}
