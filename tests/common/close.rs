//! The one float comparison with a tolerance, shared by every test target: `got` is close
//! to `want` when `|got − want| ≤ rtol · |want| + atol`.

/// The first index where `got` is not within `rtol · |want| + atol` of `want`, with both
/// values; `None` when all are. NaN is never within. Compared in f64, whatever `T` is.
/// Panics when the lengths differ.
pub fn first_mismatch<T: Copy + Into<f64>>(
    got: &[T],
    want: &[T],
    rtol: f64,
    atol: f64,
) -> Option<(usize, T, T)> {
    assert_eq!(got.len(), want.len(), "lengths differ");
    got.iter().zip(want).enumerate().find_map(|(i, (&g, &w))| {
        let (g64, w64) = (g.into(), w.into());
        let within = (g64 - w64).abs() <= rtol * w64.abs() + atol;
        (!within).then_some((i, g, w))
    })
}
