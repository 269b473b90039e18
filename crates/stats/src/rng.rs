//! One small seeded pseudo-random generator for the whole project.

/// SplitMix64 (Steele, Lea & Flood 2014, "Fast splittable pseudorandom
/// number generators", OOPSLA; the constants of Vigna's public-domain
/// `splitmix64.c`): a 64-bit state advanced by the golden-ratio increment
/// and passed through a variant of MurmurHash3's finaliser.
///
/// It is the generator of [`crate::MOrder::Random`] (the shuffle of the
/// matching order) and of every seeded test and benchmark data set, so a
/// seed gives the same stream on every platform and in every version; the
/// stream must never change (the matching conformance tests pin it). It is
/// not cryptographic.
///
/// ```text
/// state += 0x9E3779B97F4A7C15
/// z = state
/// z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9
/// z = (z ^ (z >> 27)) * 0x94D049BB133111EB
/// return z ^ (z >> 31)
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SplitMix64 {
    state: u64,
}

impl SplitMix64 {
    /// A generator whose first output is the mix of `seed + 0x9E37...`.
    pub fn new(seed: u64) -> Self {
        SplitMix64 { state: seed }
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `[0, 1)`: the top 53 bits over `2^53`.
    pub fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Uniform in `(0, 1)`: the top 53 bits, plus one half, over `2^53`
    /// (never 0, so its logarithm is finite).
    pub fn next_f64_open(&mut self) -> f64 {
        ((self.next_u64() >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    }

    /// An integer in `0..n` as `next_u64() % n` (the modulo bias, below
    /// `n / 2^64`, is part of the pinned stream). Panics if `n == 0`.
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }
}

#[cfg(test)]
mod tests {
    use super::SplitMix64;

    #[test]
    fn reference_stream() {
        // splitmix64.c with state 1234567: 6457827717110365317,
        // 3203168211198807973, 9817491932198370423
        let mut g = SplitMix64::new(1_234_567);
        assert_eq!(g.next_u64(), 6_457_827_717_110_365_317);
        assert_eq!(g.next_u64(), 3_203_168_211_198_807_973);
        assert_eq!(g.next_u64(), 9_817_491_932_198_370_423);
    }

    #[test]
    fn unit_intervals() {
        let mut g = SplitMix64::new(7);
        for _ in 0..1000 {
            let u = g.next_f64();
            assert!((0.0..1.0).contains(&u));
            let v = g.next_f64_open();
            assert!(v > 0.0 && v < 1.0);
            assert!(g.below(3) < 3);
        }
    }
}
