//! `json.dump(obj, f, indent=4)` as CPython writes it, for the JSON files mlx-lm writes
//! (config.json, the index): 4-space indent, `", "`-free item separators with newlines,
//! `": "` key separators, `ensure_ascii` escapes, Python `repr` for floats, no trailing newline.
//!
//! serde_json's pretty printer differs in float formatting (`1e-6` vs `1e-06`) and non-ASCII
//! escaping, so this small writer walks `serde_json::Value` itself. With the crate's
//! `arbitrary_precision` feature, numbers keep their source text: integers are copied
//! verbatim, floats re-rendered the way Python prints the `float` it would have parsed.

use serde_json::{Number, Value};

/// Serializes `v` like Python's `json.dumps(v, indent=4)`.
pub fn to_string_indent4(v: &Value) -> String {
    let mut out = String::new();
    write_value(&mut out, v, 0);
    out
}

fn write_value(out: &mut String, v: &Value, depth: usize) {
    match v {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => out.push_str(&number_repr(n)),
        Value::String(s) => write_string(out, s),
        Value::Array(a) if a.is_empty() => out.push_str("[]"),
        Value::Array(a) => {
            out.push('[');
            for (i, x) in a.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                newline(out, depth + 1);
                write_value(out, x, depth + 1);
            }
            newline(out, depth);
            out.push(']');
        }
        Value::Object(m) if m.is_empty() => out.push_str("{}"),
        Value::Object(m) => {
            out.push('{');
            for (i, (k, x)) in m.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                newline(out, depth + 1);
                write_string(out, k);
                out.push_str(": ");
                write_value(out, x, depth + 1);
            }
            newline(out, depth);
            out.push('}');
        }
    }
}

fn newline(out: &mut String, depth: usize) {
    out.push('\n');
    for _ in 0..depth {
        out.push_str("    ");
    }
}

/// `ensure_ascii=True` escaping: everything outside printable ASCII becomes `\uXXXX`
/// (UTF-16 surrogate pairs above U+FFFF).
fn write_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            ' '..='~' => out.push(c),
            c => {
                let mut buf = [0u16; 2];
                for unit in c.encode_utf16(&mut buf) {
                    out.push_str(&format!("\\u{unit:04x}"));
                }
            }
        }
    }
    out.push('"');
}

/// A JSON number as Python would print it after `json.load`: ints verbatim (Python ints are
/// unbounded), floats via `repr(float)`.
fn number_repr(n: &Number) -> String {
    let text = n.to_string();
    let is_float = text.contains(['.', 'e', 'E']);
    if !is_float {
        // "-0" parses to the int 0 in Python.
        return match text.parse::<i128>() {
            Ok(i) => i.to_string(),
            Err(_) => text,
        };
    }
    match text.parse::<f64>() {
        Ok(x) if x.is_finite() => py_float_repr(x),
        // Python's json turns overflowing literals into inf and writes `Infinity`.
        Ok(x) if x.is_infinite() => {
            if x > 0.0 {
                "Infinity".into()
            } else {
                "-Infinity".into()
            }
        }
        _ => text,
    }
}

/// CPython `repr(float)` for a finite `f64`: the shortest round-tripping digits, in fixed
/// notation for decimal exponents in [-4, 16) and `d.ddde±XX` otherwise.
pub fn py_float_repr(x: f64) -> String {
    if x == 0.0 {
        return if x.is_sign_negative() {
            "-0.0".into()
        } else {
            "0.0".into()
        };
    }
    // Rust's `{:e}` gives the shortest round-tripping digits, like CPython's repr.
    let short = format!("{x:e}");
    // When several shortest digit strings round-trip, CPython picks the correctly rounded one;
    // re-render with that many digits and keep it if it still round-trips.
    let n = short
        .split_once('e')
        .map_or(0, |(m, _)| m.chars().filter(char::is_ascii_digit).count());
    let exact = format!("{:.*e}", n.saturating_sub(1), x);
    let chosen = if exact.parse::<f64>().ok() == Some(x) {
        exact
    } else {
        short
    };
    let (mant, exp) = chosen.split_once('e').unwrap_or((&chosen, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let (sign, mant) = match mant.strip_prefix('-') {
        Some(m) => ("-", m),
        None => ("", mant),
    };
    let digits: String = mant.chars().filter(|c| *c != '.').collect();
    if !(-4..16).contains(&exp) {
        let m = if digits.len() > 1 {
            format!("{}.{}", &digits[..1], &digits[1..])
        } else {
            digits
        };
        format!(
            "{sign}{m}e{}{:02}",
            if exp < 0 { '-' } else { '+' },
            exp.abs()
        )
    } else if exp < 0 {
        format!("{sign}0.{}{digits}", "0".repeat((-exp - 1) as usize))
    } else {
        let p = exp as usize + 1;
        if digits.len() <= p {
            format!("{sign}{digits}{}.0", "0".repeat(p - digits.len()))
        } else {
            format!("{sign}{}.{}", &digits[..p], &digits[p..])
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floats_print_like_python() {
        for (x, want) in [
            (1e-5, "1e-05"),
            (1e-6, "1e-06"),
            (10000.0, "10000.0"),
            (0.02, "0.02"),
            (1e16, "1e+16"),
            (1234567890123456.0, "1234567890123456.0"),
            (0.0001, "0.0001"),
            (0.00001234, "1.234e-05"),
            (-2.5, "-2.5"),
            (1e22, "1e+22"),
            (5e-324, "5e-324"),
            (0.1 + 0.2, "0.30000000000000004"),
        ] {
            assert_eq!(py_float_repr(x), want, "{x}");
        }
    }

    #[test]
    fn layout_matches_json_dump_indent4() {
        let v: Value = serde_json::from_str(
            r#"{"a": [1, 2.50, {"b": null}], "c": {}, "d": [], "e": "é😀\u0001", "f": 1.0e-5, "g": -0}"#,
        )
        .unwrap();
        let want = "{\n    \"a\": [\n        1,\n        2.5,\n        {\n            \"b\": null\n        }\n    ],\n    \"c\": {},\n    \"d\": [],\n    \"e\": \"\\u00e9\\ud83d\\ude00\\u0001\",\n    \"f\": 1e-05,\n    \"g\": 0\n}";
        assert_eq!(to_string_indent4(&v), want);
    }
}
