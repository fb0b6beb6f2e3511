//! Unit tests for the event scanner.

use super::*;

fn scan(line: &[u8]) -> Result<Event<'_>, LineError> {
    scan_event(line)
}

fn ok(line: &str) -> Event<'_> {
    match scan(line.as_bytes()) {
        Ok(ev) => ev,
        Err(e) => panic!("expected Ok for {line:?}, got {e}"),
    }
}

fn err(line: &str) -> LineError {
    match scan(line.as_bytes()) {
        Ok(ev) => panic!("expected an error for {line:?}, got {ev:?}"),
        Err(e) => e,
    }
}

fn push_count(line: &str) -> Option<u64> {
    match ok(line).payload {
        Payload::Push(p) => p.commit_count(),
        other => panic!("not a push payload: {other:?}"),
    }
}

const PUSH: &str = r#"{"id":"36000000001","type":"PushEvent","actor":{"id":41898282,"login":"github-actions[bot]","display_login":"github-actions","gravatar_id":"","url":"https://api.github.com/users/github-actions[bot]","avatar_url":"https://avatars.githubusercontent.com/u/41898282?"},"repo":{"id":570331013,"name":"octo/hello-world","url":"https://api.github.com/repos/octo/hello-world"},"payload":{"repository_id":570331013,"push_id":12029296617,"size":3,"distinct_size":2,"ref":"refs/heads/main","head":"0123456789abcdef0123456789abcdef01234567","before":"76543210fedcba9876543210fedcba9876543210","commits":[{"sha":"aa","author":{"email":"a@b.c","name":"A {B}"},"message":"fix \"quoted\" } ] [ {","distinct":true,"url":"https://api.github.com/repos/octo/hello-world/commits/aa"},{"sha":"bb","author":{"email":"x@y.z","name":"X"},"message":"second\\","distinct":false,"url":"u"},{"sha":"cc","author":{"email":"x@y.z","name":"X"},"message":"third","url":"u"}]},"public":true,"created_at":"2024-03-15T14:00:01Z","org":{"id":9919,"login":"github","gravatar_id":"","url":"https://api.github.com/orgs/github","avatar_url":"https://avatars.githubusercontent.com/u/9919?"}}"#;

#[test]
fn parses_push_event() {
    let ev = ok(PUSH);
    assert_eq!(ev.id, 36_000_000_001);
    assert_eq!(ev.kind, "PushEvent");
    assert_eq!(ev.actor.id, 41_898_282);
    assert_eq!(ev.actor.login, "github-actions[bot]");
    assert_eq!(ev.repo.id, 570_331_013);
    assert_eq!(ev.repo.name, "octo/hello-world");
    assert_eq!(ev.created_at, "2024-03-15T14:00:01Z");
    assert!(matches!(ev.actor.login, Cow::Borrowed(_)));
    assert_eq!(
        ev.payload,
        Payload::Push(PushPayload { distinct_size: Some(2), size: Some(3), distinct_commits: Some(2) })
    );
}

#[test]
fn every_strict_prefix_is_rejected() {
    // A truncated last line, cut at every possible byte.
    for cut in 0..PUSH.len() {
        let prefix = &PUSH.as_bytes()[..cut];
        let result = scan(prefix);
        assert!(result.is_err(), "prefix of length {cut} accepted");
        if cut > 0 {
            assert!(
                matches!(result, Err(LineError::Truncated | LineError::InvalidField { .. })),
                "prefix {cut}: {result:?}"
            );
        }
    }
}

#[test]
fn tolerates_surrounding_whitespace_and_crlf() {
    let line = format!(" \t{PUSH} \r");
    assert_eq!(ok(&line).id, 36_000_000_001);
    let spaced = r#" { "id" : "5" , "type" : "WatchEvent" , "actor" : { "id" : 1 , "login" : "a" } ,
        "repo" : { "id" : 2 , "name" : "a/b" } , "payload" : { "action" : "started" } ,
        "created_at" : "2024-01-01T00:00:00Z" } "#;
    let ev = ok(spaced);
    assert_eq!(ev.payload, Payload::Other);
    assert_eq!(ev.repo.name, "a/b");
}

#[test]
fn rejects_spliced_objects() {
    let line = format!("{PUSH}{PUSH}");
    assert!(matches!(err(&line), LineError::TrailingData { offset } if offset == PUSH.len()));
    let truncated_then_full = format!("{}{PUSH}", &PUSH[..PUSH.len() / 2]);
    assert!(scan(truncated_then_full.as_bytes()).is_err());
    let with_comma = format!("{PUSH},{PUSH}");
    assert!(matches!(err(&with_comma), LineError::TrailingData { .. }));
}

#[test]
fn nul_padding_around_an_event_is_ignored_but_not_inside_it() {
    let padded = format!("\0\0{PUSH}\0\0\0\0");
    assert_eq!(ok(&padded).id, 36_000_000_001);
    assert_eq!(err("\0\0\0\0\0\0"), LineError::Empty);
    let inside = PUSH.replacen(",\"public\"", ",\0\"public\"", 1);
    assert!(scan(inside.as_bytes()).is_err());
    let spliced = format!("{PUSH}\0\0{PUSH}");
    assert!(matches!(err(&spliced), LineError::TrailingData { .. }));
    // Truncated inside a string, then NULs up to a block boundary.
    let cut = format!("{}{}", &PUSH[..700], "\0".repeat(300));
    assert!(scan(cut.as_bytes()).is_err());
    // Truncated outside a string, then NULs.
    let cut = format!("{}{}", &PUSH[..PUSH.find(",\"public\"").unwrap_or(0)], "\0".repeat(64));
    assert!(scan(cut.as_bytes()).is_err());
}

#[test]
fn rejects_non_json() {
    for line in [
        "hello world",
        "<html><body>502 Bad Gateway</body></html>",
        "[1,2,3]",
        "null",
        "\"just a string\"",
        "42",
        "{",
        "}",
        "{}}",
        "{\"id\"}",
        "{\"id\":}",
        "{id:\"1\"}",
        "{\"a\":1,}",
        "{,\"a\":1}",
        "{\"a\" 1}",
        "{\"a\":1 \"b\":2}",
        "\u{feff}{}",
    ] {
        assert!(scan(line.as_bytes()).is_err(), "accepted {line:?}");
    }
    assert_eq!(err(""), LineError::Empty);
    assert_eq!(err(" \r"), LineError::Empty);
    // Valid JSON but not an event.
    assert_eq!(err("{}"), LineError::MissingField("type"));
}

fn event_with(actor: &str, repo: &str) -> String {
    format!(
        r#"{{"id":"7","type":"WatchEvent","actor":{actor},"repo":{repo},"payload":{{"action":"started"}},"public":true,"created_at":"2024-01-01T00:00:00Z"}}"#
    )
}

#[test]
fn rejects_missing_or_non_numeric_ids() {
    let good_actor = r#"{"id":1,"login":"a"}"#;
    let good_repo = r#"{"id":2,"name":"a/b"}"#;
    assert_eq!(ok(&event_with(good_actor, good_repo)).actor.id, 1);

    let cases = [
        (r#"{"login":"a"}"#, good_repo),
        (r#"{"id":null,"login":"a"}"#, good_repo),
        (r#"{"id":"1","login":"a"}"#, good_repo),
        (r#"{"id":-1,"login":"a"}"#, good_repo),
        (r#"{"id":1.0,"login":"a"}"#, good_repo),
        (r#"{"id":1e3,"login":"a"}"#, good_repo),
        (r#"{"id":01,"login":"a"}"#, good_repo),
        (r#"{"id":18446744073709551616,"login":"a"}"#, good_repo),
        (r#"{"id":1}"#, good_repo),
        (r#"{"id":1,"login":null}"#, good_repo),
        (r#"{"id":1,"login":5}"#, good_repo),
        ("null", good_repo),
        ("[]", good_repo),
        (good_actor, r#"{"name":"a/b"}"#),
        (good_actor, r#"{"id":true,"name":"a/b"}"#),
        (good_actor, r#"{"id":2}"#),
    ];
    for (actor, repo) in cases {
        let line = event_with(actor, repo);
        assert!(matches!(err(&line), LineError::MissingField(_) | LineError::InvalidField { .. }), "{line}");
    }
    assert_eq!(err(&event_with(good_actor, r#"{"name":"a/b"}"#)), LineError::MissingField("repo.id"));
    // Ids up to 2^53 - 1 are accepted; larger ones are not real ids (docs/rules.md §7.2).
    let max = event_with(r#"{"id":9007199254740991,"login":"a"}"#, good_repo);
    assert_eq!(ok(&max).actor.id, (1 << 53) - 1);
    let too_big = event_with(r#"{"id":9007199254740992,"login":"a"}"#, good_repo);
    assert!(matches!(err(&too_big), LineError::InvalidField { field: "actor.id", .. }));
}

#[test]
fn rejects_bad_event_id() {
    for id in [r#""""#, r#""12a""#, r#""-1""#, "-12", "1.5", "null", r#""99999999999999999999""#] {
        let line = format!(
            r#"{{"id":{id},"type":"WatchEvent","actor":{{"id":1,"login":"a"}},"repo":{{"id":2,"name":"a/b"}},"created_at":"x"}}"#
        );
        assert!(matches!(err(&line), LineError::InvalidField { field: "id", .. }), "{line}");
    }
}

#[test]
fn an_event_id_may_be_a_number() {
    let line =
        r#"{"id":12,"type":"WatchEvent","actor":{"id":1,"login":"a"},"repo":{"id":2,"name":"a/b"},"created_at":"x"}"#;
    assert_eq!(ok(line).id, 12);
}

#[test]
fn rejects_missing_required_fields() {
    let full = event_with(r#"{"id":1,"login":"a"}"#, r#"{"id":2,"name":"a/b"}"#);
    for (key, name) in [
        ("\"id\":\"7\",", "id"),
        ("\"type\":\"WatchEvent\",", "type"),
        (",\"created_at\":\"2024-01-01T00:00:00Z\"", "created_at"),
    ] {
        let line = full.replacen(key, "", 1);
        assert_eq!(err(&line), LineError::MissingField(name), "{line}");
    }
}

#[test]
fn handles_escaped_quotes_and_backslashes() {
    // Skipped strings with escaped quotes, even/odd backslash runs, braces.
    let line = r#"{"x":"a\"b","y":"\\","z":"\\\"}{","w":["\\\\\"]","]"],"id":"1","type":"T","actor":{"id":1,"login":"a","k":"\"}"},"repo":{"id":2,"name":"o/n"},"created_at":"c"}"#;
    let ev = ok(line);
    assert_eq!(ev.repo.id, 2);
    // An escaped quote at the end of the line must not close the string.
    assert_eq!(err(r#"{"x":"abc\"}"#), LineError::Truncated);
    assert_eq!(err(r#"{"x":"abc\\\"}"#), LineError::Truncated);
    assert_eq!(err(r#"{"x":"abc\"#), LineError::Truncated);
}

#[test]
fn decodes_escapes_in_extracted_fields() {
    let line = r#"{"id":"1","type":"Push\u0045vent","actor":{"id":1,"login":"a\"b\\c\/d\u00e9\ud83d\ude00"},"repo":{"id":2,"name":"o/n"},"created_at":"c"}"#;
    let ev = ok(line);
    assert_eq!(ev.kind, "PushEvent");
    assert_eq!(ev.actor.login, "a\"b\\c/d\u{e9}\u{1f600}");
    assert!(matches!(ev.actor.login, Cow::Owned(_)));
    // Keys with escapes are decoded before matching.
    let line =
        r#"{"\u0069d":"1","type":"T","actor":{"id":1,"login":"a"},"repo":{"id":2,"name":"o/n"},"created_at":"c"}"#;
    assert_eq!(ok(line).id, 1);
    // UTF-8 passes through unchanged.
    let line =
        r#"{"id":"1","type":"T","actor":{"id":1,"login":"žluťoučký"},"repo":{"id":2,"name":"o/n"},"created_at":"c"}"#;
    assert_eq!(ok(line).actor.login, "žluťoučký");
}

#[test]
fn rejects_bad_escapes_and_control_chars_in_extracted_fields() {
    for login in [
        r#""\x41""#,
        r#""\u12""#,
        r#""\u12G4""#,
        r#""\ud83d""#,
        r#""\ud83dx""#,
        r#""\ude00""#,
        r#""\ud83d\u0041""#,
        "\"a\tb\"",
        "\"a\u{1}b\"",
        // Escaped control characters decode to ones no database stores as text (NUL).
        r#""a\u0000b""#,
        r#""a\nb""#,
    ] {
        let line = format!(
            r#"{{"id":"1","type":"T","actor":{{"id":1,"login":{login}}},"repo":{{"id":2,"name":"o/n"}},"created_at":"c"}}"#
        );
        assert!(scan(line.as_bytes()).is_err(), "accepted {line:?}");
    }
    // Invalid UTF-8 in an extracted string.
    let mut line =
        br#"{"id":"1","type":"T","actor":{"id":1,"login":"ab"},"repo":{"id":2,"name":"o/n"},"created_at":"c"}"#
            .to_vec();
    let at = line.iter().position(|&b| b == b'b').unwrap_or(0);
    line[at] = 0xff;
    assert!(matches!(scan(&line), Err(LineError::InvalidField { field: "actor.login", .. })));
}

#[test]
fn skips_braces_inside_strings_and_nested_arrays() {
    let line = r#"{"id":"3","type":"PullRequestEvent","actor":{"id":1,"login":"a"},"repo":{"id":2,"name":"o/n"},"payload":{"action":"opened","pull_request":{"url":"https://api.github.com/repos/o/n/pulls/1{/x}","body":"```rust\nfn main() { let a = [1, 2]; }\n```}]","created_at":"2020-01-01T00:00:00Z","id":99,"user":{"login":"z","id":5},"labels":[[],[[1,[2,{"b":[3,{"c":[]}]}]]],[{}]],"n":-1.5e3,"t":true,"f":false,"z":null}},"public":true,"created_at":"2024-01-01T00:00:00Z"}"#;
    let ev = ok(line);
    assert_eq!(ev.actor.login, "a");
    assert_eq!(ev.created_at, "2024-01-01T00:00:00Z");
    assert_eq!(ev.payload, Payload::Other);
}

#[test]
fn rejects_unbalanced_or_mismatched_brackets() {
    for payload in [r#"{"a":[1,2}"#, r#"{"a":{"b":1]}"#, "[1,2}", r#"{"a":[[1]}"#, r#"{"a":"}"#, r#"{"a":]}"#] {
        let line = format!(
            r#"{{"id":"1","type":"T","actor":{{"id":1,"login":"a"}},"repo":{{"id":2,"name":"o/n"}},"payload":{payload},"created_at":"c"}}"#
        );
        assert!(scan(line.as_bytes()).is_err(), "accepted {line}");
    }
}

#[test]
fn limits_nesting_depth() {
    let deep = |n: usize| {
        format!(
            r#"{{"id":"1","type":"T","actor":{{"id":1,"login":"a"}},"repo":{{"id":2,"name":"o/n"}},"payload":{}{},"created_at":"c"}}"#,
            "[".repeat(n),
            "]".repeat(n)
        )
    };
    assert!(scan(deep(MAX_DEPTH as usize).as_bytes()).is_ok());
    assert!(matches!(scan(deep(MAX_DEPTH as usize + 1).as_bytes()), Err(LineError::TooDeep { .. })));
}

#[test]
fn key_order_does_not_matter() {
    let reordered = r#"{"created_at":"2024-03-15T14:00:01Z","payload":{"commits":[{"distinct":false},{"distinct":true}],"size":7},"org":{"id":1},"repo":{"url":"u","name":"octo/x","id":3},"actor":{"login":"me","id":4},"public":false,"type":"PushEvent","id":"12"}"#;
    let ev = ok(reordered);
    assert_eq!(ev.id, 12);
    assert_eq!(ev.actor.login, "me");
    assert_eq!(ev.repo.id, 3);
    assert_eq!(
        ev.payload,
        Payload::Push(PushPayload { distinct_size: None, size: Some(7), distinct_commits: Some(1) })
    );
    // A payload before `type` is still validated once the type is known.
    let bad = reordered.replace(r#"{"distinct":true}"#, r#"{"distinct":"yes"}"#);
    assert!(matches!(err(&bad), LineError::InvalidField { field: "payload.commits.distinct", .. }));
}

fn push_line(payload: &str) -> String {
    format!(
        r#"{{"id":"1","type":"PushEvent","actor":{{"id":1,"login":"a"}},"repo":{{"id":2,"name":"o/n"}},"payload":{payload},"public":true,"created_at":"c"}}"#
    )
}

#[test]
fn push_commit_count_rule() {
    assert_eq!(push_count(&push_line(r#"{"distinct_size":4,"size":9,"commits":[]}"#)), Some(4));
    assert_eq!(push_count(&push_line(r#"{"size":9,"commits":[{}]}"#)), Some(9));
    assert_eq!(push_count(&push_line(r#"{"distinct_size":null,"size":9}"#)), Some(9));
    assert_eq!(
        push_count(&push_line(r#"{"commits":[{"distinct":true},{"distinct":false},{"sha":"x"},{"distinct":null}]}"#)),
        Some(3)
    );
    assert_eq!(push_count(&push_line(r#"{"commits":[]}"#)), Some(0));
    assert_eq!(push_count(&push_line(r#"{"ref":"refs/heads/main"}"#)), None);
    assert_eq!(push_count(&push_line(r#"{"commits":null}"#)), None);
    assert_eq!(push_count(&push_line("{}")), None);
    assert_eq!(push_count(&push_line("null")), None);
    let no_payload = push_line("{}").replace(r#""payload":{},"#, "");
    assert_eq!(push_count(&no_payload), None);
}

#[test]
fn push_payload_type_errors() {
    for payload in [
        r#"{"size":"3"}"#,
        r#"{"size":-3}"#,
        r#"{"distinct_size":1.5}"#,
        r#"{"commits":{}}"#,
        r#"{"commits":[1]}"#,
        r#"{"commits":[{"distinct":1}]}"#,
        r#"{"commits":[{"distinct":true,"distinct":false}]}"#,
        r#"{"size":1,"size":2}"#,
        "[]",
        r#""x""#,
    ] {
        let line = push_line(payload);
        assert!(scan(line.as_bytes()).is_err(), "accepted {line}");
    }
}

#[test]
fn member_event() {
    let line = r#"{"id":"5","type":"MemberEvent","actor":{"id":1,"login":"a"},"repo":{"id":2,"name":"o/n"},"payload":{"member":{"login":"newbie","id":77,"url":"u","site_admin":false},"action":"added"},"public":true,"created_at":"c"}"#;
    assert_eq!(
        ok(line).payload,
        Payload::Member(MemberPayload {
            action: Some(Cow::Borrowed("added")),
            member_id: Some(77),
            member_login: Some(Cow::Borrowed("newbie")),
        })
    );
    let empty = line.replace(
        r#"{"member":{"login":"newbie","id":77,"url":"u","site_admin":false},"action":"added"}"#,
        r#"{"member":null}"#,
    );
    assert_eq!(ok(&empty).payload, Payload::Member(MemberPayload::default()));
    let bad = line.replace(r#""id":77"#, r#""id":"77""#);
    assert!(scan(bad.as_bytes()).is_err());
}

#[test]
fn rejects_duplicate_needed_fields_but_not_unknown_ones() {
    let base = event_with(r#"{"id":1,"login":"a"}"#, r#"{"id":2,"name":"a/b"}"#);
    let dup = base.replacen(r#""id":"7","#, r#""id":"7","id":"8","#, 1);
    assert_eq!(err(&dup), LineError::DuplicateField("id"));
    let dup_actor = event_with(r#"{"id":1,"id":1,"login":"a"}"#, r#"{"id":2,"name":"a/b"}"#);
    assert_eq!(err(&dup_actor), LineError::DuplicateField("actor.id"));
    let dup_unknown = base.replacen(r#""public":true"#, r#""public":true,"public":false"#, 1);
    assert!(scan(dup_unknown.as_bytes()).is_ok());
}

/// Straightforward byte-by-byte structural skip, the oracle for the block
/// skip: returns the index after the container that starts at `start`.
fn reference_skip(buf: &[u8], start: usize) -> Option<usize> {
    let mut stack = Vec::new();
    let mut i = start;
    let mut in_string = false;
    while i < buf.len() {
        let b = buf[i];
        if in_string {
            match b {
                b'\\' => i += 1,
                b'"' => in_string = false,
                _ => {}
            }
        } else {
            match b {
                b'"' => in_string = true,
                b'\\' => return None,
                b'{' | b'[' => stack.push(b),
                b'}' | b']' => {
                    let open = stack.pop()?;
                    if (open == b'{') != (b == b'}') {
                        return None;
                    }
                    if stack.is_empty() {
                        return Some(i + 1);
                    }
                }
                _ => {}
            }
        }
        i += 1;
    }
    None
}

#[test]
fn block_skip_matches_reference_on_random_input() {
    // Dense in structural bytes, lengths spanning several 64-byte blocks.
    let alphabet = b"\"\"\\\\{}[]ab :,";
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let mut agreed_ok = 0;
    for round in 0..200_000u64 {
        let len = 1 + (next() % 260) as usize;
        let mut buf: Vec<u8> = (0..len).map(|_| alphabet[(next() % alphabet.len() as u64) as usize]).collect();
        // Mostly well-formed-ish starts; sometimes a prefix before the value.
        let start = if round % 4 == 0 { (next() % 70) as usize % len } else { 0 };
        buf[start] = if round % 2 == 0 { b'{' } else { b'[' };
        let mut cur = Cursor { buf: &buf, pos: start };
        let got = cur.skip_container().ok().map(|()| cur.pos);
        let want = reference_skip(&buf, start);
        assert_eq!(got, want, "{:?} from {start}", String::from_utf8_lossy(&buf));
        if want.is_some() {
            agreed_ok += 1;
        }
    }
    // Random bytes rarely balance; make sure the Ok path was exercised too.
    assert!(agreed_ok > 1000, "only {agreed_ok} balanced inputs");
}

#[test]
fn block_skip_handles_long_backslash_runs_across_blocks() {
    for run in 0..140 {
        for offset in 0..70 {
            let mut s = vec![b'['; 1];
            s.extend(std::iter::repeat_n(b' ', offset));
            s.push(b'"');
            s.extend(std::iter::repeat_n(b'\\', run));
            s.extend_from_slice(b"\"]\"]");
            let mut cur = Cursor { buf: &s, pos: 0 };
            let got = cur.skip_container().ok().map(|()| cur.pos);
            assert_eq!(got, reference_skip(&s, 0), "run {run} offset {offset}");
        }
    }
}
