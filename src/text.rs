//! Numbers and words as gruf prints them, shared by every stage that talks to the user:
//! prices with thousands separators ([`money`], [`Money`]), axis ticks ([`tick`]), plurals
//! ([`plural`]) and names listed in a sentence ([`name_some`]).

/// "s" unless `n` is 1: "1 day", "2 days".
pub fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

/// `ids` in a sentence: all of them up to `most`, then how many more.
pub fn name_some(ids: &[&str], most: usize) -> String {
    let shown: Vec<String> = ids.iter().take(most).map(|id| format!("'{id}'")).collect();
    let more = ids.len().saturating_sub(most);
    if more == 0 {
        shown.join(", ")
    } else {
        format!("{} and {more} more", shown.join(", "))
    }
}

/// A price with thousands separators, alone (in a sentence, a label): two decimals from 1
/// up (`61,234.56`, `7.07`), as prices in dollars print; below 1 as many as keep four
/// significant digits (`0.000003500`, not `0.00`). Numbers shown together in a table use
/// one [`Money`] for them all instead, so that their columns line up.
pub fn money(x: f64) -> String {
    if x.abs() >= 1.0 {
        Money::CENTS.format(x)
    } else {
        Money::for_values([x]).format(x)
    }
}

/// A value axis' tick label: [`money`] without trailing zeros (`65,000`, `2.5`,
/// `0.000008`), so that labels stay short at any scale.
pub fn tick(y: f64) -> String {
    let s = money(y);
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

/// How numbers in price units print: thousands separators and a number of decimals fixed
/// for a set of numbers shown together (a forecast's values and bounds, a table's errors),
/// chosen from the largest of them. Two decimals for numbers in the tens and up, as a
/// price in dollars prints; more for smaller ones, so that the largest keeps four
/// significant digits: an altcoin at 3.5e-6 prints `0.000003500`, not `0.00`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Money {
    decimals: usize,
}

impl Money {
    /// Two decimals, as prices in dollars print.
    pub const CENTS: Money = Money {
        decimals: Self::FEWEST,
    };
    /// Significant digits the largest number of a set keeps (at least).
    const DIGITS: i32 = 4;
    /// The fewest decimals: cents.
    const FEWEST: usize = 2;
    /// The most decimals (a number smaller than 1e-12 prints as a zero).
    const MOST: usize = 15;

    /// The decimals for `values` shown together (non-finite ones do not count).
    pub fn for_values(values: impl IntoIterator<Item = f64>) -> Money {
        let largest = (values.into_iter())
            .map(f64::abs)
            .filter(|v| v.is_finite() && *v > 0.0)
            .fold(0.0, f64::max);
        if largest == 0.0 {
            return Money::CENTS;
        }
        // Decimals that put the largest's 4th significant digit last.
        let wanted = Self::DIGITS - 1 - largest.log10().floor() as i32;
        Money {
            decimals: (wanted.max(0) as usize).clamp(Self::FEWEST, Self::MOST),
        }
    }

    /// `x` with thousands separators and this many decimals; `-0.00` prints as `0.00`.
    pub fn format(self, x: f64) -> String {
        if !x.is_finite() {
            return x.to_string();
        }
        let s = format!("{:.*}", self.decimals, x.abs());
        let (int, frac) = s.split_once('.').unwrap_or((&s, ""));
        let mut grouped = String::new();
        for (i, c) in int.chars().enumerate() {
            if i > 0 && (int.len() - i) % 3 == 0 {
                grouped.push(',');
            }
            grouped.push(c);
        }
        // A negative amount that rounds to zero prints as 0.00, not -0.00.
        let negative = x < 0.0
            && grouped
                .bytes()
                .chain(frac.bytes())
                .any(|b| b != b'0' && b != b',');
        format!("{}{grouped}.{frac}", if negative { "-" } else { "" })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prices_group_thousands_and_keep_cents() {
        assert_eq!(money(1234567.891), "1,234,567.89");
        assert_eq!(money(12.5), "12.50");
        assert_eq!(money(-1234.5), "-1,234.50");
        assert_eq!(money(-0.5), "-0.5000");
        assert_eq!(money(-0.001), "-0.001000");
    }

    #[test]
    fn small_numbers_keep_four_significant_digits() {
        // Prices from 1 up alone (from 10 up in a table) print in cents, as they always did.
        assert_eq!(money(61234.567), "61,234.57");
        assert_eq!(money(10.0), "10.00");
        assert_eq!(money(0.0), "0.00");
        // Smaller ones keep four significant digits.
        assert_eq!(money(3.5e-6), "0.000003500");
        assert_eq!(money(1.0861), "1.09");
        assert_eq!(money(7.0711), "7.07");
        assert_eq!(Money::for_values([1.0861, 1.0712]).format(1.0861), "1.086");
        assert_eq!(money(0.5), "0.5000");
        assert_eq!(money(-2.5e-7), "-0.0000002500");
        // A set of numbers shown together gets the decimals of its largest.
        let m = Money::for_values([3.5e-6, 3.6e-6, 1.2e-8]);
        assert_eq!(m.format(1.2e-8), "0.000000012");
        assert_eq!(m.format(3.6e-6), "0.000003600");
        let btc = Money::for_values([61234.5, 0.004]);
        assert_eq!(btc.format(0.004), "0.00");
        assert_eq!(btc.format(-0.001), "0.00");
        assert_eq!(
            Money::for_values([f64::NAN, f64::INFINITY]).format(1.0),
            "1.00"
        );
        assert_eq!(money(f64::INFINITY), "inf");
        assert_eq!(tick(65000.0), "65,000");
        assert_eq!(tick(2.5), "2.5");
        assert_eq!(tick(8e-6), "0.000008");
        assert_eq!(tick(0.0), "0");
    }
}
