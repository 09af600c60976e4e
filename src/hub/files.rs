//! Which repo files a conversion fetches, and which names are refused.
//!
//! The set is mlx-lm's `DEFAULT_ALLOW_PATTERNS` with Python `fnmatch` semantics (so `*` crosses
//! `/`, exactly as `snapshot_download(allow_patterns=…)` filters), which already includes the
//! processor files (`preprocessor_config.json`, `processor_config.json`, `chat_template.*`), plus
//! the source `README.md`, whose front matter the converted model's card keeps (as mlx-lm's
//! `ModelCard.load(repo)` does).

use super::client::RemoteFile;
use crate::error::{Error, Result};

/// `mlx_lm.utils.DEFAULT_ALLOW_PATTERNS` (0.32.2).
pub const DEFAULT_ALLOW_PATTERNS: &[&str] = &[
    "*.json",
    "model*.safetensors",
    "*.py",
    "tokenizer.model",
    "*.tiktoken",
    "tiktoken.model",
    "*.txt",
    "*.jsonl",
    "*.jinja",
];

/// Python's `fnmatch.fnmatchcase`: `*` (anything, including `/`), `?`, `[seq]`, `[!seq]`.
pub fn fnmatch(pattern: &str, name: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let n: Vec<char> = name.chars().collect();
    fn class(p: &[char], c: char) -> Option<(bool, usize)> {
        // p starts after '['; returns (matched, length consumed including ']').
        let mut i = 0;
        let negate = matches!(p.first(), Some('!'));
        if negate {
            i += 1;
        }
        let mut matched = false;
        let mut first = true;
        while i < p.len() {
            if p[i] == ']' && !first {
                return Some((matched != negate, i + 1));
            }
            first = false;
            if i + 2 < p.len() && p[i + 1] == '-' && p[i + 2] != ']' {
                if p[i] <= c && c <= p[i + 2] {
                    matched = true;
                }
                i += 3;
            } else {
                if p[i] == c {
                    matched = true;
                }
                i += 1;
            }
        }
        None // unterminated: '[' is a literal
    }
    fn rec(p: &[char], n: &[char]) -> bool {
        match p.first() {
            None => n.is_empty(),
            Some('*') => (0..=n.len()).any(|k| rec(&p[1..], &n[k..])),
            Some('?') => !n.is_empty() && rec(&p[1..], &n[1..]),
            Some('[') => match (
                n.first(),
                class(&p[1..], n.first().copied().unwrap_or('\0')),
            ) {
                (Some(_), Some((ok, len))) => ok && rec(&p[1 + len..], &n[1..]),
                (None, Some(_)) => false,
                (_, None) => n.first() == Some(&'[') && rec(&p[1..], &n[1..]),
            },
            Some(c) => n.first() == Some(c) && rec(&p[1..], &n[1..]),
        }
    }
    rec(&p, &n)
}

/// Refuses repo paths that could escape the snapshot folder or that no sane repo has: absolute
/// paths, `.`/`..`/empty components, backslashes, control characters.
pub fn check_repo_path(path: &str) -> Result<()> {
    let bad = path.is_empty()
        || path.len() > 1024
        || path.starts_with('/')
        || path
            .split('/')
            .any(|c| c.is_empty() || c == "." || c == "..")
        || path.chars().any(|c| c.is_control() || c == '\\');
    if bad {
        return Err(Error::Hub(format!(
            "the repo lists a file named {path:?}, which hf2mlx refuses to write (absolute path, \
             `..` or unusual characters)"
        )));
    }
    Ok(())
}

/// The files to fetch for a conversion, in the listing's order, each name checked.
pub fn wanted_files(listing: &[RemoteFile]) -> Result<Vec<RemoteFile>> {
    let mut out = Vec::new();
    for f in listing {
        let wanted =
            f.path == "README.md" || DEFAULT_ALLOW_PATTERNS.iter().any(|p| fnmatch(p, &f.path));
        if wanted {
            check_repo_path(&f.path)?;
            super::cache::check_etag(f.etag(), &f.path)?;
            out.push(f.clone());
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnmatch_like_python() {
        assert!(fnmatch("*.json", "config.json"));
        assert!(fnmatch("*.json", "sub/dir/x.json")); // `*` crosses `/` in fnmatch
        assert!(fnmatch(
            "model*.safetensors",
            "model-00001-of-00002.safetensors"
        ));
        assert!(!fnmatch("model*.safetensors", "consolidated.safetensors"));
        assert!(!fnmatch("tokenizer.model", "original/tokenizer.model"));
        assert!(fnmatch("a?c", "abc"));
        assert!(fnmatch("[ab]x", "bx"));
        assert!(!fnmatch("[!ab]x", "bx"));
        assert!(fnmatch("[a-c]x", "bx"));
        assert!(fnmatch("[x", "[x"));
        assert!(!fnmatch("*.JSON", "config.json"));
    }

    #[test]
    fn refuses_odd_names() {
        for bad in [
            "../x.json",
            "/etc/x.json",
            "a//b.json",
            "a/./b.json",
            "a\\b.json",
            "x\n.json",
            "",
        ] {
            assert!(check_repo_path(bad).is_err(), "{bad:?}");
        }
        assert!(check_repo_path("sub/config.json").is_ok());
    }

    #[test]
    fn selection() {
        let f = |p: &str| RemoteFile {
            path: p.into(),
            size: 1,
            blob_id: "0".repeat(40),
            lfs_sha256: None,
            xet_hash: None,
        };
        let listing = [
            f(".gitattributes"),
            f("README.md"),
            f("config.json"),
            f("model.safetensors"),
            f("pytorch_model.bin"),
            f("tokenizer.model"),
            f("preprocessor_config.json"),
            f("original/consolidated.00.pth"),
        ];
        let got: Vec<String> = wanted_files(&listing)
            .unwrap()
            .into_iter()
            .map(|f| f.path)
            .collect();
        assert_eq!(
            got,
            [
                "README.md",
                "config.json",
                "model.safetensors",
                "tokenizer.model",
                "preprocessor_config.json"
            ]
        );
        let evil = [f("../../evil.json")];
        assert!(wanted_files(&evil).is_err());
    }
}
