//! Where a login may send the user afterwards: only local paths, so `/login?next=` can never be
//! turned into an open redirect (OWASP "Unvalidated Redirects and Forwards").
//!
//! The rule is about the value that goes into `Location`, not the value that came in: the input is
//! resolved by the WHATWG URL rules (the `url` crate, as browsers do), and the *result* must be a
//! path that a browser resolves to this origin again, unchanged. So dot segments (`/..//x`,
//! `/%2e%2e//x`), which only become `//x` once normalised, are caught however they are spelled.

use url::Url;

/// The longest `next` kept, after normalisation. It travels in the encrypted session cookie with
/// the pending login, and the cookie must stay under the browsers' 4 KiB (see `transaction.rs`).
pub const MAX_NEXT_BYTES: usize = 512;

/// Returns `raw` as a path on this origin (`/a/b?c`), or `None` when it could lead anywhere else
/// or is longer than [`MAX_NEXT_BYTES`].
///
/// Browsers are lenient: `//evil.com`, `/\evil.com`, `\/evil.com`, `https:evil.com`, and paths
/// with tabs or newlines in them all end up on another host. So the input must be a single
/// leading `/` with no backslash or control character, and its normalised form must be a
/// fixpoint: a path that starts with exactly one `/` and resolves to itself on this origin.
pub fn local_path(raw: &str) -> Option<String> {
    // Nothing longer than this is worth parsing (dot segments can shorten a path, not by 4x).
    const MAX_RAW_BYTES: usize = 4 * MAX_NEXT_BYTES;
    let ok_chars = !raw.chars().any(|c| c.is_control() || c == '\\');
    if !ok_chars || !starts_with_one_slash(raw) || raw.len() > MAX_RAW_BYTES {
        return None;
    }
    let normalised = normalise(raw)?;
    let is_fixpoint = normalise(&normalised).as_deref() == Some(normalised.as_str());
    (starts_with_one_slash(&normalised)
        && is_fixpoint
        && !has_encoded_separator(&normalised)
        && normalised.len() <= MAX_NEXT_BYTES)
        .then_some(normalised)
}

/// Encoded `/`, `\` or control characters (which browsers strip): harmless to a browser as they
/// are, but one decoding step in front of the app (a proxy that normalises, a redirect that adds
/// a slash) turns `/%2f/evil.com` or `/%09/evil.com` into `//evil.com`.
fn has_encoded_separator(path: &str) -> bool {
    path.as_bytes().windows(3).any(|w| {
        let decoded = (w[0] == b'%')
            .then(|| std::str::from_utf8(&w[1..]).ok())
            .flatten()
            .and_then(|hex| u8::from_str_radix(hex, 16).ok());
        decoded.is_some_and(|b| b == b'/' || b == b'\\' || b.is_ascii_control())
    })
}

/// `raw` resolved on a placeholder origin: its path and query, or `None` if it left the origin.
fn normalise(raw: &str) -> Option<String> {
    let base = Url::parse("http://app.invalid/").expect("static URL");
    let resolved = base.join(raw).ok()?;
    if resolved.origin() != base.origin() {
        return None;
    }
    let mut path = resolved.path().to_owned();
    if let Some(query) = resolved.query() {
        path.push('?');
        path.push_str(query);
    }
    Some(path)
}

/// `/x`, not `//x` or `/\x` (both of which browsers read as another host).
fn starts_with_one_slash(path: &str) -> bool {
    let mut bytes = path.bytes();
    bytes.next() == Some(b'/') && !matches!(bytes.next(), Some(b'/' | b'\\'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_paths_are_kept() {
        assert_eq!(local_path("/profile").as_deref(), Some("/profile"));
        assert_eq!(local_path("/a/b?x=1&y=2").as_deref(), Some("/a/b?x=1&y=2"));
        assert_eq!(local_path("/").as_deref(), Some("/"));
        assert_eq!(local_path("/a/../b").as_deref(), Some("/b"));
    }

    #[test]
    fn anything_that_can_reach_another_origin_is_refused() {
        for raw in [
            "//evil.com",
            "///evil.com",
            "https://evil.com",
            "/\\evil.com",
            "\\/evil.com",
            "https:evil.com",
            "javascript:alert(1)",
            " /profile",
            "\t/profile",
            "/\t/evil.com",
            "/profile\r\nSet-Cookie: x=1",
            "",
            "profile",
        ] {
            assert_eq!(local_path(raw), None, "{raw:?}");
        }
    }

    #[test]
    fn dot_segments_that_normalise_to_another_host_are_refused() {
        for raw in [
            "/..//evil.com",
            "/.//evil.com",
            "/%2e%2e//evil.com",
            "/%2E%2E//evil.com",
            "/.%2e//evil.com",
            "/%2e//evil.com",
            "/a/..//evil.com",
            "/a/b/../..//evil.com",
            "/..//evil.com/path?q=1",
            "/%2f/evil.com",
            "/%5c%5cevil.com",
            "/.%2e/%2F/evil.com",
            "/a%00b",
        ] {
            assert_eq!(local_path(raw), None, "{raw:?}");
        }
    }

    #[test]
    fn encoded_control_characters_are_refused() {
        for raw in ["/%0d%0a", "/%09/evil.com", "/a%7Fb", "/%1F"] {
            assert_eq!(local_path(raw), None, "{raw:?}");
        }
        assert_eq!(local_path("/a%20b%41").as_deref(), Some("/a%20b%41"));
    }

    #[test]
    fn a_next_longer_than_the_cap_is_refused() {
        let at_cap = format!("/{}", "a".repeat(MAX_NEXT_BYTES - 1));
        assert_eq!(local_path(&at_cap).as_deref(), Some(at_cap.as_str()));
        assert_eq!(local_path(&format!("{at_cap}a")), None);
    }

    mod generated {
        use super::super::local_path;
        use proptest::prelude::*;
        use url::Url;

        /// The pieces browsers and URL parsers treat specially.
        fn piece() -> impl Strategy<Value = String> {
            prop_oneof![
                Just("/".to_owned()),
                Just("//".to_owned()),
                Just("\\".to_owned()),
                Just(".".to_owned()),
                Just("..".to_owned()),
                Just("%2e".to_owned()),
                Just("%2E".to_owned()),
                Just("%2f".to_owned()),
                Just("%5c".to_owned()),
                Just("%09".to_owned()),
                Just("\t".to_owned()),
                Just("\n".to_owned()),
                Just("\r".to_owned()),
                Just("\u{0}".to_owned()),
                Just(" ".to_owned()),
                Just(":".to_owned()),
                Just("@".to_owned()),
                Just("?".to_owned()),
                Just("#".to_owned()),
                Just("evil.com".to_owned()),
                Just("https:".to_owned()),
                "[a-z]{1,4}",
                any::<char>().prop_map(|c| c.to_string()),
            ]
        }

        fn path() -> impl Strategy<Value = String> {
            prop::collection::vec(piece(), 0..12).prop_map(|pieces| pieces.concat())
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(4096))]

            /// Whatever is accepted resolves, by the WHATWG rules, to the app's own origin, from
            /// any page of the app, and is a value a `Location` header can carry as is.
            #[test]
            fn an_accepted_next_always_stays_on_the_origin(raw in path()) {
                if let Some(next) = local_path(&raw) {
                    for page in ["https://app.example/", "https://app.example/a/b/c?x"] {
                        let resolved = Url::parse(page).unwrap().join(&next).unwrap();
                        prop_assert_eq!(resolved.origin(), Url::parse(page).unwrap().origin());
                    }
                    prop_assert!(next.starts_with('/'));
                    prop_assert!(!next.starts_with("//") && !next.starts_with("/\\"));
                    prop_assert!(next.bytes().all(|b| b.is_ascii_graphic()), "{:?}", next);
                    let lower = next.to_ascii_lowercase();
                    prop_assert!(!lower.contains("%2f") && !lower.contains("%5c"), "{:?}", next);
                    prop_assert!(!lower.contains("%0") && !lower.contains("%1"), "{:?}", next);
                    prop_assert_eq!(local_path(&next), Some(next.clone()), "a fixpoint");
                }
            }

            /// The same, for inputs that start like a local path.
            #[test]
            fn an_accepted_slash_path_always_stays_on_the_origin(raw in path()) {
                let raw = format!("/{raw}");
                if let Some(next) = local_path(&raw) {
                    let base = Url::parse("https://app.example/x/").unwrap();
                    prop_assert_eq!(base.join(&next).unwrap().origin(), base.origin());
                    prop_assert!(!next.starts_with("//") && !next.starts_with("/\\"));
                }
            }
        }
    }
}
