//! The units of `function.yml`: CPU (`250m`, `0.5`), memory (`64Mi`, `1G`), durations (`60s`,
//! `2m`) and whole numbers. Arithmetic saturates, so a huge number reads as "too large" rather
//! than wrapping around into the allowed range.

const MIB: u128 = 1 << 20;

/// Why a memory amount could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum MemoryError {
    /// Not a number with a unit at all.
    Malformed,
    /// A plain number: bytes in Kubernetes, which is never what was meant here.
    NoUnit,
}

/// A non-negative decimal like `12`, `0.5` or `.25`, as `mantissa / 10^scale`; at most 9
/// decimal places.
fn decimal(text: &str) -> Option<(u128, u32)> {
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    let digits_only = |part: &str| part.bytes().all(|b| b.is_ascii_digit());
    if (whole.is_empty() && fraction.is_empty())
        || !digits_only(whole)
        || !digits_only(fraction)
        || fraction.len() > 9
    {
        return None;
    }
    let mantissa = whole.bytes().chain(fraction.bytes()).fold(0u128, |n, b| {
        n.saturating_mul(10).saturating_add(u128::from(b - b'0'))
    });
    let scale = u32::try_from(fraction.len()).ok()?;
    Some((mantissa, scale))
}

/// `numerator / denominator`, rounded up, as u64 (saturating).
fn ceil_div(numerator: u128, denominator: u128) -> u64 {
    u64::try_from(numerator.div_ceil(denominator)).unwrap_or(u64::MAX)
}

/// `250m` (millicores) or `0.5`, `1` (cores) → millicores, rounded up to a whole millicore.
pub(super) fn cpu_millis(text: &str) -> Option<u64> {
    if let Some(millis) = text.strip_suffix('m') {
        return match decimal(millis)? {
            (millis, 0) => Some(u64::try_from(millis).unwrap_or(u64::MAX)),
            _ => None,
        };
    }
    let (mantissa, scale) = decimal(text)?;
    Some(ceil_div(mantissa.saturating_mul(1000), 10u128.pow(scale)))
}

/// `64Mi`, `1Gi` (binary) or `128M`, `1G` (decimal) → MiB, rounded up.
pub(super) fn memory_mib(text: &str) -> Result<u64, MemoryError> {
    let units: [(&str, u128); 4] = [
        ("Mi", MIB),
        ("Gi", 1 << 30),
        ("M", 1_000_000),
        ("G", 1_000_000_000),
    ];
    let Some((number, unit_bytes)) = units
        .iter()
        .find_map(|(suffix, bytes)| Some((text.strip_suffix(suffix)?, *bytes)))
    else {
        return Err(if decimal(text).is_some() {
            MemoryError::NoUnit
        } else {
            MemoryError::Malformed
        });
    };
    let (mantissa, scale) = decimal(number).ok_or(MemoryError::Malformed)?;
    let bytes_times_scale = mantissa.saturating_mul(unit_bytes);
    Ok(ceil_div(bytes_times_scale, 10u128.pow(scale) * MIB))
}

/// `60s`, `2m` or a plain `60` → seconds.
pub(super) fn seconds(text: &str) -> Option<u64> {
    let (number, factor) = if let Some(number) = text.strip_suffix('s') {
        (number, 1)
    } else if let Some(number) = text.strip_suffix('m') {
        (number, 60)
    } else {
        (text, 1)
    };
    match decimal(number)? {
        (whole, 0) => Some(u64::try_from(whole.saturating_mul(factor)).unwrap_or(u64::MAX)),
        _ => None,
    }
}

/// A YAML integer (`12`, `-3`, `0x1f`, `0o17`), saturating at the ends of i64.
pub(super) fn integer(text: &str) -> Option<i64> {
    let (negative, unsigned) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text.strip_prefix('+').unwrap_or(text)),
    };
    let (digits, radix) = if let Some(hex) = unsigned.strip_prefix("0x") {
        (hex, 16)
    } else if let Some(octal) = unsigned.strip_prefix("0o") {
        (octal, 8)
    } else {
        (unsigned, 10)
    };
    if digits.is_empty() {
        return None;
    }
    let mut value: i64 = 0;
    for c in digits.chars() {
        let digit = i64::from(u8::try_from(c.to_digit(radix)?).ok()?);
        value = value.saturating_mul(i64::from(radix)).saturating_add(digit);
    }
    Some(if negative { -value } else { value })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_in_millicores_and_cores() {
        let cases = [
            ("50m", 50),
            ("250m", 250),
            ("0.5", 500),
            (".25", 250),
            ("1", 1000),
            ("2", 2000),
            ("0.0001", 1),
        ];
        for (text, millis) in cases {
            assert_eq!(cpu_millis(text), Some(millis), "{text}");
        }
        for bad in ["", "m", "1.5m", "-1", "abc", "1 m", "0.5 cores", "1e3", "."] {
            assert_eq!(cpu_millis(bad), None, "{bad}");
        }
        assert_eq!(cpu_millis(&"9".repeat(60)), Some(u64::MAX));
    }

    #[test]
    fn memory_in_binary_and_decimal_units() {
        let cases = [
            ("64Mi", 64),
            ("1Gi", 1024),
            ("0.5Gi", 512),
            ("128M", 123),
            ("1G", 954),
            ("4096Mi", 4096),
        ];
        for (text, mib) in cases {
            assert_eq!(memory_mib(text), Ok(mib), "{text}");
        }
        assert_eq!(memory_mib("256"), Err(MemoryError::NoUnit));
        for bad in ["", "Mi", "64mi", "64MB", "64Ki", "-1Gi", "x"] {
            assert_eq!(memory_mib(bad), Err(MemoryError::Malformed), "{bad}");
        }
        assert_eq!(memory_mib(&format!("{}Gi", "9".repeat(60))), Ok(u64::MAX));
    }

    #[test]
    fn durations_in_seconds_and_minutes() {
        assert_eq!(seconds("60s"), Some(60));
        assert_eq!(seconds("2m"), Some(120));
        assert_eq!(seconds("90"), Some(90));
        for bad in ["", "s", "1.5s", "1h", "-5s", "5 s"] {
            assert_eq!(seconds(bad), None, "{bad}");
        }
    }

    #[test]
    fn yaml_integers() {
        assert_eq!(integer("12"), Some(12));
        assert_eq!(integer("-3"), Some(-3));
        assert_eq!(integer("+4"), Some(4));
        assert_eq!(integer("0x1f"), Some(31));
        assert_eq!(integer("0o17"), Some(15));
        assert_eq!(integer(&"9".repeat(40)), Some(i64::MAX));
        assert_eq!(integer("1.5"), None);
        assert_eq!(integer(""), None);
    }
}
