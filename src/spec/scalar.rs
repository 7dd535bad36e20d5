//! What a plain YAML scalar means under the YAML 1.2 core schema (null, true/false, integer,
//! float or text), so messages can say "not a list" or "not the text `3`" and numbers can be
//! told from text.

use yaml_rust2::scanner::TScalarStyle;

/// What a scalar is under YAML 1.2's core schema: quoted text is always `Str`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum ScalarKind {
    Null,
    Bool,
    Int,
    Float,
    Str,
}

impl ScalarKind {
    pub(super) fn of(text: &str, style: TScalarStyle) -> Self {
        if style != TScalarStyle::Plain {
            return Self::Str;
        }
        match text {
            "" | "~" | "null" | "Null" | "NULL" => Self::Null,
            "true" | "True" | "TRUE" | "false" | "False" | "FALSE" => Self::Bool,
            _ if is_int(text) => Self::Int,
            _ if is_float(text) => Self::Float,
            _ => Self::Str,
        }
    }
}

fn all_digits(text: &str, radix: u32) -> bool {
    !text.is_empty() && text.chars().all(|c| c.is_digit(radix))
}

fn is_int(text: &str) -> bool {
    if let Some(hex) = text.strip_prefix("0x") {
        return all_digits(hex, 16);
    }
    if let Some(octal) = text.strip_prefix("0o") {
        return all_digits(octal, 8);
    }
    all_digits(text.strip_prefix(['-', '+']).unwrap_or(text), 10)
}

fn is_float(text: &str) -> bool {
    let unsigned = text.strip_prefix(['-', '+']).unwrap_or(text);
    if matches!(unsigned, ".inf" | ".Inf" | ".INF") || matches!(text, ".nan" | ".NaN" | ".NAN") {
        return true;
    }
    let (mantissa, exponent) = match unsigned.split_once(['e', 'E']) {
        Some((mantissa, exponent)) => (mantissa, Some(exponent)),
        None => (unsigned, None),
    };
    let exponent_ok =
        exponent.is_none_or(|e| all_digits(e.strip_prefix(['-', '+']).unwrap_or(e), 10));
    let (whole, fraction) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let digits_ok = (whole.is_empty() || all_digits(whole, 10))
        && (fraction.is_empty() || all_digits(fraction, 10))
        && !(whole.is_empty() && fraction.is_empty());
    exponent_ok && digits_ok
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_scalars_follow_the_core_schema() {
        let cases = [
            ("", ScalarKind::Null),
            ("~", ScalarKind::Null),
            ("null", ScalarKind::Null),
            ("true", ScalarKind::Bool),
            ("FALSE", ScalarKind::Bool),
            ("12", ScalarKind::Int),
            ("-3", ScalarKind::Int),
            ("0x1F", ScalarKind::Int),
            ("0o17", ScalarKind::Int),
            ("1.5", ScalarKind::Float),
            (".5", ScalarKind::Float),
            ("1e3", ScalarKind::Float),
            ("-.inf", ScalarKind::Float),
            (".nan", ScalarKind::Float),
            ("yes", ScalarKind::Str),
            ("50m", ScalarKind::Str),
            ("1.2.3", ScalarKind::Str),
            (".", ScalarKind::Str),
            ("0x", ScalarKind::Str),
            ("e5", ScalarKind::Str),
        ];
        for (text, kind) in cases {
            assert_eq!(ScalarKind::of(text, TScalarStyle::Plain), kind, "{text:?}");
        }
    }

    #[test]
    fn quoted_scalars_are_text() {
        for style in [
            TScalarStyle::SingleQuoted,
            TScalarStyle::DoubleQuoted,
            TScalarStyle::Literal,
        ] {
            assert_eq!(ScalarKind::of("12", style), ScalarKind::Str);
            assert_eq!(ScalarKind::of("", style), ScalarKind::Str);
        }
    }
}
