//! `GET /api/repos`: the old system's endpoint, kept byte-compatible for existing clients
//! (keys in Flask's sorted order, compact JSON, trailing newline).
use std::collections::HashMap;

use axum::extract::{RawQuery, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use serde::Serialize;

use super::AppState;
use crate::store::read_model;

const DEFAULT_PAGE_SIZE: u64 = 10;
const MAX_PAGE_SIZE: u64 = 100;

pub fn router() -> Router<AppState> {
    Router::new().route("/api/repos", get(list))
}

#[derive(Serialize)]
struct Item {
    month: String,
    number_of_new_contributors: i32,
    repo_name: String,
}

#[derive(Serialize)]
struct Listing {
    items: Vec<Item>,
    page: u64,
    page_size: u64,
    total_records: i64,
}

#[derive(Serialize)]
struct Failure {
    description: String,
    error_code: &'static str,
}

fn json(status: StatusCode, body: &impl Serialize) -> Response {
    let mut text = serde_json::to_string(body).unwrap_or_else(|_| "{}".into());
    text.push('\n');
    (status, [(header::CONTENT_TYPE, "application/json")], text).into_response()
}

fn bad_request(description: String) -> Response {
    json(StatusCode::BAD_REQUEST, &Failure { description, error_code: "00001" })
}

/// A whole-number parameter from 1 to `max`; the error is the 400's description.
fn parameter(params: &HashMap<String, String>, name: &str, default: u64, max: u64) -> Result<u64, String> {
    let Some(raw) = params.get(name) else { return Ok(default) };
    match raw.trim().parse::<u64>() {
        Ok(n) if n >= 1 && n <= max => Ok(n),
        _ if max == u64::MAX => Err(format!("`{name}` must be a whole number of at least 1")),
        _ => Err(format!("`{name}` must be a whole number from 1 to {max}")),
    }
}

async fn list(State(state): State<AppState>, RawQuery(query): RawQuery) -> Response {
    let params: HashMap<String, String> =
        url::form_urlencoded::parse(query.unwrap_or_default().as_bytes()).into_owned().collect();
    let page = match parameter(&params, "page", 1, u64::MAX) {
        Ok(page) => page,
        Err(description) => return bad_request(description),
    };
    let page_size = match parameter(&params, "page_size", DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE) {
        Ok(size) => size,
        Err(description) => return bad_request(description),
    };
    match read_model::rest_page(&state.reads, page, page_size).await {
        Ok((rows, total_records)) => {
            let items = rows
                .into_iter()
                .map(|row| Item {
                    month: crate::domain::iso_date(row.month),
                    number_of_new_contributors: row.new_contributors,
                    repo_name: row.repo_name,
                })
                .collect();
            json(StatusCode::OK, &Listing { items, page, page_size, total_records })
        }
        Err(err) if err.is_unavailable() => {
            tracing::warn!(error = %err, "GET /api/repos: the database is unavailable");
            let failure =
                Failure { description: "the database is unavailable; try again later".into(), error_code: "00002" };
            json(StatusCode::SERVICE_UNAVAILABLE, &failure)
        }
        Err(err) => {
            tracing::error!(error = %err, "GET /api/repos failed");
            let failure = Failure { description: "unexpected error".into(), error_code: "00002" };
            json(StatusCode::INTERNAL_SERVER_ERROR, &failure)
        }
    }
}
