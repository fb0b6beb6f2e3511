//! The `Link` header of paginated GitHub responses.

/// The `rel="next"` URL of a `Link` header, if any.
pub fn next_link(header: &str) -> Option<String> {
    header.split(',').find_map(|part| {
        let mut pieces = part.split(';');
        let url = pieces.next()?.trim();
        let url = url.strip_prefix('<')?.strip_suffix('>')?;
        pieces
            .any(|p| {
                let p = p.trim();
                p == "rel=\"next\"" || p == "rel=next"
            })
            .then(|| url.to_string())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_next_among_other_relations() {
        let h = r#"<https://api.github.com/orgs/x/repos?page=1>; rel="prev", <https://api.github.com/orgs/x/repos?page=3>; rel="next", <https://api.github.com/orgs/x/repos?page=9>; rel="last""#;
        assert_eq!(next_link(h).as_deref(), Some("https://api.github.com/orgs/x/repos?page=3"));
    }

    #[test]
    fn no_next_on_the_last_page() {
        let h = r#"<https://api.github.com/orgs/x/repos?page=1>; rel="first", <https://api.github.com/orgs/x/repos?page=8>; rel="prev""#;
        assert_eq!(next_link(h), None);
        assert_eq!(next_link("garbage"), None);
    }
}
