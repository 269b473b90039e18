//! The patient model of the synthetic mgist exports: one independent draw
//! stream per row, so that any row can be made again from `(seed, row)` and
//! the two centres' files can be written in any order, on any thread.
//!
//! The distributions, rates and defects are listed in the crate's doc
//! comment; the numbers are the constants below.

use chrono::{Datelike, NaiveDate};
use rand_core::Rng as _;
use rand_pcg::Pcg64Mcg;

/// Months of 30.4375 days, as the pipeline counts them.
pub const DAYS_PER_MONTH: f64 = 30.4375;

/// Share of rows exported by centre A (54 of the fixtures' 102 rows).
pub const CENTRE_A_SHARE: f64 = 54.0 / 102.0;

/// Day number (days since 1970-01-01) of a calendar date.
pub fn day(y: i32, m: u32, d: u32) -> i32 {
    let date = NaiveDate::from_ymd_opt(y, m, d).expect("a valid calendar date");
    (date - NaiveDate::from_ymd_opt(1970, 1, 1).expect("the epoch")).num_days() as i32
}

/// Year, month and day of a day number.
pub fn ymd(days: i32) -> (i32, u32, u32) {
    // 719_163: days from 0001-01-01 (day 1 of the common era) to 1970-01-01.
    let d = NaiveDate::from_num_days_from_ce_opt(days + 719_163).expect("a day in range");
    (d.year(), d.month(), d.day())
}

/// The data cut-off (the pipelines' `admin_censor`).
pub fn cutoff() -> i32 {
    day(2023, 6, 30)
}
fn first_start() -> i32 {
    day(2004, 1, 15)
}
fn last_start() -> i32 {
    day(2022, 6, 30)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Centre {
    A,
    B,
}

/// What is wrong with a row on purpose (see the crate's doc comment).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Defect {
    None,
    /// Last follow-up written as the 31st of February: rejected at ingest.
    BadDate,
    /// The primary resection typed into the surgery column: rejected by the
    /// clean rule "surgery before imatinib start".
    SurgeryBeforeStart,
    /// A death date entered before the diagnosis date: rejected by the clean
    /// rule "death before diagnosis" (or, without it, by the endpoints).
    DeathBeforeDiagnosis,
    /// A progression date after the death date: rejected by the clean rule
    /// "progression after death".
    ProgressionAfterDeath,
    /// The previous row's patient (exported by the other centre) again, last
    /// seen earlier: dropped by the linkage on SNILS.
    DuplicateSnils,
    /// The previous row's record number again, in the same centre: both rows
    /// are rejected at ingest (`unique = ["patient_id"]`).
    DuplicateId,
    /// Tumour size typed ten times too large (over 500 mm): rejected by the
    /// schema's plausible range at the clean stage.
    SizeTypo,
    /// A birth date 8 to 16 years before imatinib start: rejected by the
    /// derived column `age` (`min = 18`).
    ChildBirthDate,
    /// Diagnosis 1 to 14 days after imatinib start: flagged by the clean
    /// rule "imatinib before diagnosis", kept.
    StartBeforeDiagnosis,
}

/// Per-row probability of each defect, in the order they are drawn.
pub const DEFECT_RATES: [(Defect, f64); 9] = [
    (Defect::BadDate, 0.0005),
    (Defect::SurgeryBeforeStart, 0.0005),
    (Defect::DeathBeforeDiagnosis, 0.0003),
    (Defect::ProgressionAfterDeath, 0.0002),
    (Defect::DuplicateSnils, 0.0010),
    (Defect::DuplicateId, 0.0002),
    (Defect::SizeTypo, 0.0003),
    (Defect::ChildBirthDate, 0.0002),
    (Defect::StartBeforeDiagnosis, 0.0005),
];

/// The first rows: every defect at least once in each centre where it can
/// be, so that a small export exercises every way a row leaves the study.
/// Row 9 copies row 8 (centre B) into centre A; row 11 repeats row 10's
/// record number.
pub const SAMPLER: [(Centre, Defect); 18] = [
    (Centre::A, Defect::None),
    (Centre::B, Defect::None),
    (Centre::A, Defect::BadDate),
    (Centre::B, Defect::BadDate),
    (Centre::A, Defect::SurgeryBeforeStart),
    (Centre::B, Defect::SurgeryBeforeStart),
    (Centre::A, Defect::DeathBeforeDiagnosis),
    (Centre::B, Defect::DeathBeforeDiagnosis),
    (Centre::B, Defect::None),
    (Centre::A, Defect::DuplicateSnils),
    (Centre::A, Defect::None),
    (Centre::A, Defect::DuplicateId),
    (Centre::A, Defect::SizeTypo),
    (Centre::B, Defect::SizeTypo),
    (Centre::A, Defect::ChildBirthDate),
    (Centre::B, Defect::ProgressionAfterDeath),
    (Centre::A, Defect::StartBeforeDiagnosis),
    (Centre::B, Defect::StartBeforeDiagnosis),
];

/// One row of an export, in canonical terms (codes are indices into the
/// writers' code tables). Dates are day numbers.
#[derive(Debug, Clone, PartialEq)]
pub struct Patient {
    pub centre: Centre,
    /// Number in the record id (unique per centre unless `DuplicateId`).
    pub id_number: u64,
    /// Year in centre A's record id (`А-<year>-<number>`).
    pub id_year: i32,
    /// The nine digits of the SNILS (the check digits are computed).
    pub snils: u32,
    /// Written as 11 digits without separators instead of `123-456-789 01`.
    pub snils_plain: bool,
    /// 0 male, 1 female.
    pub sex: u8,
    pub birth: i32,
    pub diagnosis: i32,
    /// 0 stomach, 1 small bowel, 2 rectum, 3 other.
    pub site: u8,
    /// 0 KIT 11, 1 KIT 9, 2 PDGFRA, 3 wild type, 4 not tested.
    pub mutation: u8,
    /// Tenths of a centimetre (millimetres), as written (a typo included).
    pub size_mm: Option<u32>,
    /// 0 liver, 1 peritoneum, 2 both, 3 lung, 4 bone.
    pub mets: u8,
    pub line: u8,
    pub start: i32,
    /// 0 PR, 1 SD, 2 PD.
    pub response: u8,
    pub progression: Option<i32>,
    pub surgery: Option<i32>,
    pub death: Option<i32>,
    pub last_followup: i32,
    /// Last follow-up written as an impossible date (31st of February).
    pub bad_last_followup: bool,
    pub defect: Defect,
}

/// A draw stream: PCG-64 (MCG) seeded from the seed and the row by
/// SplitMix64, with the few distributions the model needs.
struct Draws(Pcg64Mcg);

fn splitmix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

impl Draws {
    fn new(seed: u64, row: u64) -> Draws {
        let hi = splitmix(seed);
        let lo = splitmix(hi ^ splitmix(row));
        Draws(Pcg64Mcg::new((u128::from(hi) << 64) | u128::from(lo)))
    }
    /// Uniform on [0, 1).
    fn u(&mut self) -> f64 {
        (self.0.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }
    fn uniform(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.u()
    }
    /// An integer in `lo..=hi`.
    fn range(&mut self, lo: i32, hi: i32) -> i32 {
        lo + (self.u() * f64::from(hi - lo + 1)).floor() as i32
    }
    /// Standard normal (Box–Muller, one of the pair).
    fn normal(&mut self) -> f64 {
        let u1 = 1.0 - self.u();
        let u2 = self.u();
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }
    /// Weibull with this median and shape, conditional on exceeding `lower`.
    fn weibull(&mut self, median: f64, shape: f64, lower: f64) -> f64 {
        let scale = median / std::f64::consts::LN_2.powf(1.0 / shape);
        let u = 1.0 - self.u();
        scale * ((lower / scale).powf(shape) - u.ln()).powf(1.0 / shape)
    }
    fn pick(&mut self, weights: &[f64]) -> u8 {
        let u = self.u();
        let mut acc = 0.0;
        for (k, w) in weights.iter().enumerate() {
            acc += w;
            if u < acc {
                return k as u8;
            }
        }
        (weights.len() - 1) as u8
    }
}

const SITES: [f64; 4] = [0.55, 0.30, 0.05, 0.10];
const MUTATIONS: [f64; 5] = [0.65, 0.10, 0.04, 0.08, 0.13];
const METS: [f64; 5] = [0.50, 0.22, 0.18, 0.06, 0.04];

/// A row's centre and the defect drawn for it (before the conditions of the
/// two duplicate defects are checked): the first two draws of its stream.
fn drawn(seed: u64, row: u64) -> (Centre, Defect) {
    if let Some(&fixed) = SAMPLER.get(row as usize) {
        return fixed;
    }
    let mut r = Draws::new(seed, row);
    let centre = if r.u() < CENTRE_A_SHARE {
        Centre::A
    } else {
        Centre::B
    };
    let u = r.u();
    let mut acc = 0.0;
    for (defect, rate) in DEFECT_RATES {
        acc += rate;
        if u < acc {
            return (centre, defect);
        }
    }
    (centre, Defect::None)
}

/// The centre that exports a row.
pub fn centre_of(seed: u64, row: u64) -> Centre {
    drawn(seed, row).0
}

/// The largest SNILS range a bijection covers: 002-000-000 .. 998-999-999.
pub const MAX_PATIENTS: u64 = 997_000_000;

/// A row's SNILS digits: a bijection of the row number (multiplication by
/// a number prime to the range, plus a seeded offset), so no two rows share
/// a SNILS by chance.
fn snils_of(seed: u64, row: u64) -> u32 {
    let offset = splitmix(seed ^ 0x5A11_5A11) % MAX_PATIENTS;
    (2_000_000 + (row.wrapping_mul(387_420_489) % MAX_PATIENTS + offset) % MAX_PATIENTS) as u32
}

/// The row's patient without its own defect.
fn plain(seed: u64, row: u64, centre: Centre, r: &mut Draws) -> Patient {
    let start = r.range(first_start(), last_start());
    let line = if r.u() < 0.10 { 2 } else { 1 };
    let response = if r.u() < 0.12 {
        2
    } else if r.u() < 0.55 {
        0
    } else {
        1
    };
    let mets = r.pick(&METS);
    let sex = if r.u() < 0.55 { 0 } else { 1 };
    let site = r.pick(&SITES);
    let mutation = r.pick(&MUTATIONS);
    let size_mm = if r.u() < 0.06 {
        None
    } else {
        let cm = (8.5f64.ln() + 0.5 * r.normal()).exp().clamp(2.0, 30.0);
        Some((cm * 10.0).round() as u32)
    };
    let age = (59.0 + 10.0 * r.normal()).clamp(31.0, 79.5);
    let birth = start - (age * 365.25).round() as i32;
    let diagnosis = if r.u() < 0.35 {
        start - r.range(365, 2500)
    } else {
        start - r.range(10, 60)
    };
    // The course, in months from imatinib start.
    let pd = response == 2;
    let surgical = !pd && r.u() < 0.30;
    let (surgery_m, t) = if pd {
        (None, r.uniform(1.5, 5.0))
    } else if surgical {
        let s = (8.0f64.ln() + 0.35 * r.normal()).exp().clamp(3.0, 20.0);
        (Some(s), r.weibull(60.0, 1.2, s + 2.0))
    } else {
        (None, r.weibull(30.0, 1.3, 0.0))
    };
    let death_first = !pd && r.u() < 0.10;
    let after_progression = r.weibull(if pd { 16.0 } else { 38.0 }, 1.2, 0.0);
    let lost = r.uniform(6.0, 240.0);
    let lag = r.range(0, 150);
    let months = |m: f64| (m * DAYS_PER_MONTH).round() as i32;
    let censored = months(lost).min(cutoff() - lag - start);
    let pfs = months(t).max(1);
    let (progression, death, last_followup);
    if pfs < censored {
        if death_first {
            progression = None;
            death = Some(start + pfs);
            last_followup = start + pfs;
        } else {
            progression = Some(start + pfs);
            let os = pfs + months(after_progression).max(21);
            if os <= censored {
                death = Some(start + os);
                last_followup = start + os;
            } else {
                death = None;
                last_followup = start + censored;
            }
        }
    } else {
        progression = None;
        death = None;
        last_followup = start + censored;
    }
    let surgery = surgery_m
        .map(|s| start + months(s))
        .filter(|&s| s <= last_followup);
    let snils_plain = centre == Centre::B && r.u() < 0.10;
    Patient {
        centre,
        id_number: row + 1,
        id_year: ymd(diagnosis).0,
        snils: snils_of(seed, row),
        snils_plain,
        sex,
        birth,
        diagnosis,
        site,
        mutation,
        size_mm,
        mets,
        line,
        start,
        response,
        progression,
        surgery,
        death,
        last_followup,
        bad_last_followup: false,
        defect: Defect::None,
    }
}

/// Row `row` (0-based) of the study's exports, as the given seed makes it.
pub fn patient(seed: u64, row: u64) -> Patient {
    let (centre, defect) = drawn(seed, row);
    let mut r = Draws::new(seed, row);
    r.u();
    r.u();
    let mut p = plain(seed, row, centre, &mut r);
    let previous = row.checked_sub(1).map(|q| (q, drawn(seed, q)));
    // The two duplicates need a plain previous row of the right centre.
    let mut applied = !matches!(defect, Defect::DuplicateSnils | Defect::DuplicateId);
    match defect {
        Defect::None => {}
        Defect::BadDate => p.bad_last_followup = true,
        Defect::SurgeryBeforeStart => {
            let s = p.start - r.range(20, 400);
            p.surgery = Some(s);
            p.diagnosis = p.diagnosis.min(s - r.range(7, 40));
            p.id_year = ymd(p.diagnosis).0;
        }
        Defect::DeathBeforeDiagnosis => {
            // The true death (or last contact) stays the last follow-up.
            p.death = Some(p.diagnosis - r.range(30, 1000));
        }
        Defect::ProgressionAfterDeath => {
            let progression = p.progression.unwrap_or(p.last_followup);
            let death = (progression - r.range(1, 30)).max(p.start + 1);
            p.progression = Some(progression);
            p.death = Some(death);
            p.last_followup = death;
        }
        Defect::DuplicateSnils => match previous {
            Some((q, (c, Defect::None))) if c != centre => {
                // The other centre's record of the same patient, as known
                // at an earlier last contact: alive then, and without the
                // events that came after.
                let source = patient(seed, q);
                let last = (source.last_followup - r.range(60, 365)).max(source.start);
                p = Patient {
                    centre,
                    id_number: row + 1,
                    snils_plain: centre == Centre::B && !source.snils_plain,
                    last_followup: last,
                    death: None,
                    progression: source.progression.filter(|&d| d <= last),
                    surgery: source.surgery.filter(|&d| d <= last),
                    ..source
                };
                applied = true;
            }
            _ => {}
        },
        Defect::DuplicateId => {
            if let Some((q, (c, Defect::None))) = previous
                && c == centre
            {
                let other = patient(seed, q);
                p.id_number = other.id_number;
                p.id_year = other.id_year;
                applied = true;
            }
        }
        Defect::SizeTypo => {
            let mm = p.size_mm.unwrap_or(85).max(60);
            p.size_mm = Some(mm * 10);
        }
        Defect::ChildBirthDate => {
            p.birth = p.start - r.range(8 * 365, 16 * 365);
        }
        Defect::StartBeforeDiagnosis => {
            p.diagnosis = p.start + r.range(1, 14);
            p.id_year = ymd(p.diagnosis).0;
        }
    }
    p.defect = if applied { defect } else { Defect::None };
    p
}

/// The SNILS check number of nine digits (the Pension Fund's rule).
pub fn snils_check(nine: u32) -> u32 {
    let mut total = 0;
    let mut n = nine;
    for weight in 1..=9 {
        total += (n % 10) * weight;
        n /= 10;
    }
    match total {
        t if t < 100 => t,
        100 | 101 => 0,
        t => {
            let r = t % 101;
            if r == 100 { 0 } else { r }
        }
    }
}
