//! The `Link` header of paginated GitHub responses.

/// Whether a `Link` header has a `rel="next"` relation: there is another page.
pub fn has_next(header: &str) -> bool {
    header.split(',').any(|part| {
        part.split(';').skip(1).any(|p| {
            let p = p.trim();
            p == "rel=\"next\"" || p == "rel=next"
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_next_among_other_relations() {
        let h = r#"<https://api.github.com/orgs/x/repos?page=1>; rel="prev", <https://api.github.com/orgs/x/repos?page=3>; rel="next", <https://api.github.com/orgs/x/repos?page=9>; rel="last""#;
        assert!(has_next(h));
    }

    #[test]
    fn no_next_on_the_last_page() {
        let h = r#"<https://api.github.com/orgs/x/repos?page=1>; rel="first", <https://api.github.com/orgs/x/repos?page=8>; rel="prev""#;
        assert!(!has_next(h));
        assert!(!has_next("garbage"));
        assert!(!has_next("<https://x/?rel=next>"));
    }
}
