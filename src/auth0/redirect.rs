//! Where a login may send the user afterwards: only local paths, so `/login?next=` can never be
//! turned into an open redirect (OWASP "Unvalidated Redirects and Forwards").

use url::Url;

/// Returns `raw` as a path on this origin (`/a/b?c`), or `None` when it could lead anywhere else.
///
/// Browsers are lenient: `//evil.com`, `/\evil.com`, `\/evil.com`, `https:evil.com`, and paths
/// with tabs or newlines in them all end up on another host. So the rule is strict: a single
/// leading `/`, no backslash, no control character, and the URL it resolves to stays here.
pub fn local_path(raw: &str) -> Option<String> {
    let ok_chars = !raw.chars().any(|c| c.is_control() || c == '\\');
    let one_slash = raw.starts_with('/') && !raw.starts_with("//");
    if !ok_chars || !one_slash || raw.len() > 2048 {
        return None;
    }
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

#[cfg(test)]
mod tests {
    use super::local_path;

    #[test]
    fn local_paths_are_kept() {
        assert_eq!(local_path("/profile").as_deref(), Some("/profile"));
        assert_eq!(local_path("/a/b?x=1&y=2").as_deref(), Some("/a/b?x=1&y=2"));
        assert_eq!(local_path("/").as_deref(), Some("/"));
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
            "/%0d%0a",
            "",
            "profile",
        ] {
            let got = local_path(raw);
            assert!(
                got.as_deref()
                    .is_none_or(|p| p.starts_with('/') && !p.starts_with("//")),
                "{raw:?} gave {got:?}"
            );
            if !raw.starts_with("/%0d") {
                assert_eq!(got, None, "{raw:?}");
            }
        }
    }

    #[test]
    fn encoded_line_breaks_stay_encoded() {
        assert_eq!(local_path("/%0d%0a").as_deref(), Some("/%0d%0a"));
    }
}
