//! Floats written with a fixed number of decimals, exactly as Rust's
//! `format!("{x:.p$}")` writes them (the exact binary value rounded half to
//! even; `-` kept on a negative value that rounds to zero; `NaN`, `inf`),
//! several times faster: the CSV outputs write every float of the cohort
//! this way. Written here because no maintained crate formats a float to a
//! fixed number of decimals (ryu and zmij write the shortest form); the
//! exactness is checked against `format!` on random and tie values in the
//! tests.
//!
//! Most values are rounded from the double product `|x| × 10^p` (below
//! 2^50 and not exactly a half, where it rounds as the exact value does:
//! `scaled_by_float`); the rest are scaled as `m × 2^e` by `10^p` in
//! 128-bit integers, which holds every double below 2^44 with up to 9
//! decimals; any other value is handed to `format!`.

use std::fmt::Write as _;

/// Appends `x` with `p` decimals to `out`.
pub fn push_fixed(out: &mut String, x: f64, p: usize) {
    if let Some(q) = scaled_by_float(x, p) {
        if x.is_sign_negative() {
            out.push('-');
        }
        push_scaled(out, q, p);
        return;
    }
    match scaled(x, p) {
        Some(q) => {
            if x.is_sign_negative() {
                out.push('-');
            }
            // Without the formatting machinery where the integer allows.
            if let Ok(q) = u64::try_from(q) {
                push_scaled(out, q, p);
                return;
            }
            let pow = 10u128.pow(p as u32);
            let (int, frac) = (q / pow, q % pow);
            let _ = write!(out, "{int}");
            if p > 0 {
                let _ = write!(out, ".{frac:0p$}");
            }
        }
        None => {
            let _ = write!(out, "{x:.p$}");
        }
    }
}

/// Powers of ten up to 10^9, exact as doubles.
const POW10: [f64; 10] = [1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9];

/// `|x| × 10^p` rounded half to even, from the double product when that
/// decides it: `y = |x| × 10^p` is the exact product `v` rounded once, and
/// rounding is monotonic, so below 2^50 (where every half `n + 0.5` is a
/// double) `y` lies on the same side of each half as `v`, or on it. So `y`
/// rounds to `v`'s whole number unless `y` is exactly a half: then (`v`
/// a hair either side, or a true tie) `None`, and [`scaled`] decides in
/// integers, as it does for products of 2^50 and more, NaN and infinity.
/// The integer path (128-bit products and shifts, a division by a power
/// of ten not known at compile time) was a third of the time spent
/// writing `cohort.csv`'s text (perf on the 1M cohort).
#[inline]
fn scaled_by_float(x: f64, p: usize) -> Option<u64> {
    let y = x.abs() * *POW10.get(p)?;
    // NaN compares as nothing: not below.
    if y.partial_cmp(&((1u64 << 50) as f64)) != Some(std::cmp::Ordering::Less) {
        return None;
    }
    let whole = y.floor();
    // Exact: `y` and its whole part share the binary exponent or the whole
    // part is smaller, so the difference is `y`'s own fraction bits.
    let fraction = y - whole;
    if fraction == 0.5 {
        return None;
    }
    Some(whole as u64 + u64::from(fraction > 0.5))
}

/// Appends `q / 10^p` with `p` decimals (at most 9, as both paths give):
/// the whole part by itoa, the decimals two at a time from a table (the
/// division by `10^p` by a constant for the usual 6 decimals).
#[inline]
fn push_scaled(out: &mut String, q: u64, p: usize) {
    const POW10_U64: [u64; 10] = [
        1,
        10,
        100,
        1_000,
        10_000,
        100_000,
        1_000_000,
        10_000_000,
        100_000_000,
        1_000_000_000,
    ];
    let (whole, mut fraction) = match p {
        6 => (q / 1_000_000, q % 1_000_000),
        _ => (q / POW10_U64[p], q % POW10_U64[p]),
    };
    out.push_str(itoa::Buffer::new().format(whole));
    if p == 0 {
        return;
    }
    let mut digits = [b'0'; 10];
    let mut at = p;
    while at >= 2 {
        let pair = (fraction % 100) as usize * 2;
        fraction /= 100;
        at -= 2;
        digits[at..at + 2].copy_from_slice(&PAIRS[pair..pair + 2]);
    }
    if at == 1 {
        digits[0] = b'0' + fraction as u8;
    }
    out.push('.');
    let digits = &digits[..p];
    debug_assert!(digits.is_ascii());
    // SAFETY: ASCII digits from `PAIRS` or `b'0'` plus a number below ten.
    out.push_str(unsafe { std::str::from_utf8_unchecked(digits) });
}

/// "00", "01", … "99" back to back.
pub(crate) const PAIRS: [u8; 200] = {
    let mut t = [0u8; 200];
    let mut i = 0;
    while i < 100 {
        t[2 * i] = b'0' + (i / 10) as u8;
        t[2 * i + 1] = b'0' + (i % 10) as u8;
        i += 1;
    }
    t
};

/// `|x| × 10^p` rounded half to even, when it is computed exactly here.
fn scaled(x: f64, p: usize) -> Option<u128> {
    if !x.is_finite() || p > 9 {
        return None;
    }
    let bits = x.to_bits();
    let exp = ((bits >> 52) & 0x7ff) as i64;
    let frac = bits & ((1u64 << 52) - 1);
    let (m, e) = if exp == 0 {
        (frac, -1074)
    } else {
        (frac | (1u64 << 52), exp - 1075)
    };
    let num = u128::from(m) * 10u128.pow(p as u32);
    if e >= 0 {
        // m × 10^p < 2^83: shifted by up to 44 it stays below 2^127.
        return (e <= 44).then(|| num << e);
    }
    let k = (-e) as u32;
    if k >= 100 {
        // num < 2^83 <= half of 2^k: the value rounds to zero.
        return Some(0);
    }
    let q = num >> k;
    let rem = num & ((1u128 << k) - 1);
    let half = 1u128 << (k - 1);
    Some(if rem > half || (rem == half && q & 1 == 1) {
        q + 1
    } else {
        q
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `x` with `p` decimals is written as `format!` writes it.
    fn check_at(x: f64, p: usize) {
        let mut s = String::new();
        push_fixed(&mut s, x, p);
        assert_eq!(
            s,
            format!("{x:.p$}"),
            "{x:e} ({:#x}) with {p} decimals",
            x.to_bits()
        );
    }

    fn check(x: f64) {
        for p in [0, 1, 2, 3, 6, 9, 12] {
            check_at(x, p);
        }
    }

    /// Values within a few units in the last place of a decimal half
    /// (`(n + 0.5) / 10^p`), whose product by `10^p` may round onto the
    /// half (the case the float path must leave to the integers), at every
    /// precision 0-9, are written as `format!` writes them; so are random
    /// values of every magnitude the float path takes. Both paths are
    /// taken.
    #[test]
    fn near_halves_are_written_as_format_writes_them() {
        let mut rng = cohortflow_stats::rng::SplitMix64::new(0x0f1e_d05e);
        let (mut by_float, mut by_integers) = (0, 0);
        for _ in 0..60_000 {
            let p = rng.below(10);
            let magnitude = 10f64.powi(rng.below(16) as i32 - p as i32);
            let n = (rng.next_u64() % (1u64 << 40)) as f64;
            let mut x = (n + 0.5) / 10f64.powi(p as i32);
            for _ in 0..rng.below(4) {
                x = if rng.below(2) == 0 {
                    x.next_up()
                } else {
                    x.next_down()
                };
            }
            for x in [x, -x, rng.next_f64() * magnitude] {
                check_at(x, p);
                if scaled_by_float(x, p).is_some() {
                    by_float += 1;
                } else {
                    by_integers += 1;
                }
            }
        }
        assert!(
            by_float > 100_000 && by_integers > 1_000,
            "{by_float} / {by_integers}"
        );
    }

    #[test]
    fn every_value_is_written_as_format_writes_it() {
        // Special and edge values.
        for x in [
            0.0,
            -0.0,
            1e-9,
            -1e-9,
            0.5,
            1.5,
            2.5,
            -2.5,
            f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::MIN_POSITIVE,
            5e-324,
            f64::MAX,
            f64::MIN,
            (1u64 << 44) as f64,
            (1u64 << 44) as f64 + 0.5,
            (1u64 << 53) as f64,
            17_592_186_044_415.99,
            9.999_999_5,
            0.999_999_5,
            99.999_999_999,
        ] {
            check(x);
        }
        // Ties: odd multiples of 2^-k are exact halves at some precisions.
        for k in 1..=40 {
            for odd in (1u64..2000).step_by(2) {
                let x = odd as f64 / (1u64 << k) as f64;
                check(x);
                check(-x);
                check(x + 1234.0);
            }
        }
        // Random bit patterns (every exponent) and values of the sizes a
        // study has (ages, months, millimetres), from a fixed-seed LCG.
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut next = || {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            state
        };
        for _ in 0..100_000 {
            check(f64::from_bits(next()));
            let r = (next() >> 11) as f64 / (1u64 << 53) as f64;
            check(r * 200.0 - 50.0);
            check((r * 1e6).round() / 1e6);
            check(r * 1e12);
        }
    }
}
