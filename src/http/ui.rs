//! The web UI, embedded in the binary (`ui/`, see build.rs): the dashboard at `/`, GraphiQL's
//! page (served by `graphql.rs` for browsers at `/graphql`), and their files under `/ui/…`.
//! Nothing is fetched from anywhere else: HTML pages carry a Content-Security-Policy that allows
//! only the service's own origin. Files are revalidated by ETag (their SHA-256), so a new binary
//! is picked up at once and an unchanged file costs a 304.
use std::collections::HashMap;
use std::sync::OnceLock;

use axum::extract::Path;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use sha2::{Digest, Sha256};

use super::AppState;

mod files {
    include!(concat!(env!("OUT_DIR"), "/ui_files.rs"));
}

/// The policy of every HTML page: scripts, styles, fonts, images, fetches and websockets from
/// the service's own origin only (images may also be inline `data:` URLs, which charts draw).
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; style-src 'self'; \
     img-src 'self' data:; font-src 'self' data:; connect-src 'self'; worker-src 'self'; object-src 'none'; \
     base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// The dashboard's page.
const DASHBOARD: &str = "app/index.html";
/// GraphiQL's page.
pub const GRAPHIQL: &str = "graphiql.html";

struct Asset {
    bytes: &'static [u8],
    etag: HeaderValue,
}

fn assets() -> &'static HashMap<&'static str, Asset> {
    static ASSETS: OnceLock<HashMap<&'static str, Asset>> = OnceLock::new();
    ASSETS.get_or_init(|| {
        files::FILES
            .iter()
            .map(|(path, bytes)| {
                let digest = Sha256::digest(bytes);
                let etag = HeaderValue::from_str(&format!("\"{}\"", hex::encode(&digest[..16])))
                    .expect("hex is a valid header value");
                (*path, Asset { bytes, etag })
            })
            .collect()
    })
}

pub fn router() -> Router<AppState> {
    Router::new().route("/", get(dashboard)).route("/ui/{*path}", get(file))
}

async fn dashboard(headers: HeaderMap) -> Response {
    serve(DASHBOARD, &headers)
}

async fn file(Path(path): Path<String>, headers: HeaderMap) -> Response {
    serve(&path, &headers)
}

/// The embedded file at `path` (relative to `ui/`), or 404.
pub fn serve(path: &str, headers: &HeaderMap) -> Response {
    let Some(asset) = assets().get(path) else {
        return (StatusCode::NOT_FOUND, "no such file\n").into_response();
    };
    let content_type = content_type(path);
    let mut response = if headers.get(header::IF_NONE_MATCH).is_some_and(|tag| matches(tag, &asset.etag)) {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        ([(header::CONTENT_TYPE, HeaderValue::from_static(content_type))], asset.bytes).into_response()
    };
    let h = response.headers_mut();
    h.insert(header::ETAG, asset.etag.clone());
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    if content_type.starts_with("text/html") {
        h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CONTENT_SECURITY_POLICY));
        h.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
        h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    }
    response
}

/// Whether an `If-None-Match` value names this ETag (a list, or `*`).
fn matches(if_none_match: &HeaderValue, etag: &HeaderValue) -> bool {
    let Ok(list) = if_none_match.to_str() else { return false };
    let etag = etag.to_str().unwrap_or_default();
    list.split(',').map(|t| t.trim().trim_start_matches("W/")).any(|t| t == "*" || t == etag)
}

fn content_type(path: &str) -> &'static str {
    match path.rsplit_once('.').map(|(_, ext)| ext) {
        Some("html") => "text/html; charset=utf-8",
        Some("js" | "mjs") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("json" | "map") => "application/json",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        Some("ico") => "image/x-icon",
        Some("woff2") => "font/woff2",
        Some("md") => "text/markdown; charset=utf-8",
        Some("txt") => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_etag_matches_in_a_list_weakly_or_by_star() {
        let tag = HeaderValue::from_static("\"abc\"");
        for yes in ["\"abc\"", "W/\"abc\"", "\"x\", \"abc\"", "*"] {
            assert!(matches(&HeaderValue::from_static(yes), &tag), "{yes}");
        }
        assert!(!matches(&HeaderValue::from_static("\"abd\""), &tag));
    }

    #[test]
    fn the_pages_the_service_serves_are_embedded() {
        for page in [DASHBOARD, GRAPHIQL] {
            assert!(assets().contains_key(page), "{page} is embedded");
        }
    }
}
