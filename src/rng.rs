//! The one random generator behind initialisation, shuffling, dropout and the synthetic
//! sample, and the ways numbers are drawn from it.
//!
//! Why our own: candle's CPU generator cannot be seeded, and a run must repeat bit for bit
//! from its `--seed`. ChaCha8 gives the same stream for a seed on every platform and rand
//! version. The helpers fix how the stream becomes numbers; changing one (another
//! distribution call, another draw order) changes every trained model, so the tests below
//! pin their first values.

use rand::Rng;

/// The generator. Seed it with `rand::SeedableRng::seed_from_u64`.
pub type Rng64 = rand_chacha::ChaCha8Rng;

/// `n` draws from U(−bound, bound), both ends included, one `random_range` call per value.
pub fn uniform(rng: &mut Rng64, n: usize, bound: f32) -> Vec<f32> {
    (0..n).map(|_| rng.random_range(-bound..=bound)).collect()
}

/// An inverted-dropout mask of `n` elements: 0 with probability `p`, else 1/(1 − p), as
/// `torch.nn.Dropout` scales in training. With `p` ≤ 0 it is all ones and draws nothing.
///
/// An element is dropped where a uniform 32-bit draw falls below p · 2³²; the draws come
/// in one bulk fill rather than one float per element.
pub fn dropout_mask(rng: &mut Rng64, n: usize, p: f32) -> Vec<f32> {
    if p <= 0.0 {
        return vec![1.0; n];
    }
    let keep = 1.0 / (1.0 - p);
    let threshold = (f64::from(p) * 4_294_967_296.0).min(u32::MAX as f64) as u32;
    let mut bits = vec![0u32; n];
    rng.fill(&mut bits[..]);
    bits.into_iter()
        .map(|b| if b < threshold { 0.0 } else { keep })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    /// The first values for a fixed seed, recorded from gruf 1.0's initialisation and
    /// dropout: a change here changes every model trained with a given seed.
    #[test]
    fn streams_are_pinned() {
        let mut rng = Rng64::seed_from_u64(7);
        assert_eq!(uniform(&mut rng, 4, 0.5), UNIFORM_SEED7);
        assert_eq!(dropout_mask(&mut rng, 12, 0.2), DROPOUT_AFTER_UNIFORM);
    }

    const UNIFORM_SEED7: [f32; 4] = [-0.35999668, -0.34220397, -0.317945, -0.33201075];
    const DROPOUT_AFTER_UNIFORM: [f32; 12] = [
        1.25, 1.25, 0.0, 1.25, 0.0, 1.25, 1.25, 1.25, 1.25, 0.0, 1.25, 1.25,
    ];

    #[test]
    fn dropout_mask_without_dropout_draws_nothing() {
        let (mut a, b) = (Rng64::seed_from_u64(1), Rng64::seed_from_u64(1));
        assert_eq!(dropout_mask(&mut a, 5, 0.0), vec![1.0; 5]);
        assert_eq!(a, b);
    }

    #[test]
    fn uniform_stays_in_bounds() {
        let v = uniform(&mut Rng64::seed_from_u64(3), 10_000, 0.25);
        assert!(v.iter().all(|x| x.abs() <= 0.25));
        let mean = v.iter().sum::<f32>() / v.len() as f32;
        assert!(mean.abs() < 0.01, "{mean}");
    }
}
