//! GraphQL over HTTP: POST JSON, GET for queries, GraphiQL for browsers, and the status codes
//! and media types of the GraphQL-over-HTTP spec.
use async_graphql::parser::types::{OperationType, Selection};
use async_graphql::{BatchRequest, BatchResponse};
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use secrecy::ExposeSecret;
use subtle::ConstantTimeEq;

use super::AppState;
use crate::graphql::{Caller, SERVICE_UNAVAILABLE};

const GRAPHQL_RESPONSE: &str = "application/graphql-response+json";
const JSON: &str = "application/json";

pub fn router(schema: crate::graphql::AppSchema) -> Router<AppState> {
    Router::new()
        .route("/graphql", get(get_graphql).post(post_graphql))
        .route_service("/graphql/ws", async_graphql_axum::GraphQLSubscription::new(schema))
}

async fn get_graphql(State(state): State<AppState>, headers: HeaderMap, RawQuery(query): RawQuery) -> Response {
    let query = query.unwrap_or_default();
    if query.is_empty() && accepts(&headers, "text/html") {
        // GraphiQL, embedded (ui/graphiql.html): it posts to /graphql and subscribes on /graphql/ws.
        return super::ui::serve(super::ui::GRAPHIQL, &headers);
    }
    let request = match async_graphql::http::parse_query_string(&query) {
        Ok(request) => request,
        Err(err) => return request_error(&headers, StatusCode::BAD_REQUEST, &err.to_string()),
    };
    // GET is safe: it may read, never write (spec: 405 for a mutation over GET).
    if is_mutation(&request) {
        let mut response = request_error(&headers, StatusCode::METHOD_NOT_ALLOWED, "mutations must be sent with POST");
        response.headers_mut().insert(header::ALLOW, HeaderValue::from_static("POST"));
        return response;
    }
    execute(&state, &headers, BatchRequest::Single(request)).await
}

async fn post_graphql(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or(JSON);
    let essence = content_type.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
    if essence != JSON && essence != "application/graphql+json" {
        return request_error(&headers, StatusCode::UNSUPPORTED_MEDIA_TYPE, "send the request as application/json");
    }
    let request: BatchRequest = match serde_json::from_slice(&body) {
        Ok(request) => request,
        Err(err) => {
            return request_error(
                &headers,
                StatusCode::BAD_REQUEST,
                &format!("the body is not a GraphQL request: {err}"),
            );
        }
    };
    execute(&state, &headers, request).await
}

async fn execute(state: &AppState, headers: &HeaderMap, request: BatchRequest) -> Response {
    let started = std::time::Instant::now();
    if let BatchRequest::Single(single) = &request {
        if let Some(body) = state.compiled.answer(&state.reads, single).await {
            state.metrics.observe_graphql("query", started.elapsed());
            let content_type = if wants_graphql_response(headers) { GRAPHQL_RESPONSE } else { JSON };
            return (StatusCode::OK, [(header::CONTENT_TYPE, content_type)], body).into_response();
        }
    }
    let caller = caller(state, headers);
    let (operation, schema) = match &request {
        BatchRequest::Single(r) => match classify(r) {
            Operation::Mutation => ("mutation", &state.schema),
            Operation::Introspection => ("query", introspection_schema()),
            Operation::Query => ("query", &state.schema),
        },
        BatchRequest::Batch(_) => ("batch", &state.schema),
    };
    let response = schema.execute_batch(request.data(caller)).await;
    state.metrics.observe_graphql(operation, started.elapsed());
    respond(headers, response)
}

/// Who is calling: mutations need the admin token.
fn caller(state: &AppState, headers: &HeaderMap) -> Caller {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Caller::Anonymous;
    };
    let presented = value
        .to_str()
        .ok()
        .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
        .map(str::trim)
        .unwrap_or_default();
    let expected = state.admin_token.expose_secret().as_bytes();
    if !presented.is_empty() && bool::from(presented.as_bytes().ct_eq(expected)) {
        Caller::Admin
    } else {
        Caller::BadToken
    }
}

/// What a request's operation does, as far as the endpoint cares.
#[derive(Debug, PartialEq, Eq)]
enum Operation {
    Query,
    Mutation,
    /// A query of introspection fields only (`__schema`, `__type`, `__typename`).
    Introspection,
}

fn classify(request: &async_graphql::Request) -> Operation {
    let Ok(doc) = async_graphql::parser::parse_query(&request.query) else {
        return Operation::Query; // the executor reports the syntax error
    };
    let wanted = request.operation_name.as_deref();
    let mut selected = doc.operations.iter().filter(|(name, _)| wanted.is_none() || name.map(|n| n.as_str()) == wanted);
    if selected.clone().any(|(_, op)| op.node.ty == OperationType::Mutation) {
        return Operation::Mutation;
    }
    let introspection = selected.all(|(_, op)| {
        op.node.ty == OperationType::Query
            && op.node.selection_set.node.items.iter().all(|item| match &item.node {
                Selection::Field(field) => field.node.name.node.starts_with("__"),
                _ => false,
            })
    });
    if introspection {
        Operation::Introspection
    } else {
        Operation::Query
    }
}

fn is_mutation(request: &async_graphql::Request) -> bool {
    classify(request) == Operation::Mutation
}

fn introspection_schema() -> &'static crate::graphql::AppSchema {
    static SCHEMA: std::sync::OnceLock<crate::graphql::AppSchema> = std::sync::OnceLock::new();
    SCHEMA.get_or_init(crate::graphql::build_introspection_schema)
}

fn accepts(headers: &HeaderMap, media_type: &str) -> bool {
    headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|item| item.split(';').next().unwrap_or_default().trim().eq_ignore_ascii_case(media_type))
}

/// The client asked for the GraphQL response media type (else legacy `application/json`).
fn wants_graphql_response(headers: &HeaderMap) -> bool {
    accepts(headers, GRAPHQL_RESPONSE)
}

/// Errors raised by the GraphQL engine itself (syntax, validation, limits, argument parsing)
/// carry no code: they are the client's, so they get BAD_USER_INPUT. Resolver errors always
/// carry theirs.
fn add_error_codes(response: &mut async_graphql::Response) {
    for error in &mut response.errors {
        let has_code = error.extensions.as_ref().is_some_and(|e| e.get("code").is_some());
        if !has_code {
            error.extensions.get_or_insert_with(Default::default).set("code", "BAD_USER_INPUT");
        }
    }
}

fn respond(headers: &HeaderMap, mut response: BatchResponse) -> Response {
    match &mut response {
        BatchResponse::Single(r) => add_error_codes(r),
        BatchResponse::Batch(list) => list.iter_mut().for_each(add_error_codes),
    }
    let modern = wants_graphql_response(headers);
    // With the GraphQL media type, a request that could not run at all (parse or validation
    // errors, which have no path) is a 4xx; once execution started it is a 200. With legacy
    // JSON every well-formed GraphQL response is a 200.
    let failed_request = match &response {
        BatchResponse::Single(r) => {
            r.data == async_graphql::Value::Null && !r.errors.is_empty() && r.errors.iter().all(|e| e.path.is_empty())
        }
        BatchResponse::Batch(_) => false,
    };
    // The database is away: 503, whatever the media type, so that clients and proxies retry.
    let unavailable = match &response {
        BatchResponse::Single(r) => has_code(r, SERVICE_UNAVAILABLE),
        BatchResponse::Batch(list) => list.iter().any(|r| has_code(r, SERVICE_UNAVAILABLE)),
    };
    let status = if unavailable {
        StatusCode::SERVICE_UNAVAILABLE
    } else if modern && failed_request {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    let body = match serde_json::to_vec(&response) {
        Ok(body) => body,
        Err(err) => {
            tracing::error!(error = %err, "cannot serialize a GraphQL response");
            return StatusCode::INTERNAL_SERVER_ERROR.into_response();
        }
    };
    let content_type = if modern { GRAPHQL_RESPONSE } else { JSON };
    let mut http = (status, [(header::CONTENT_TYPE, content_type)], body).into_response();
    if let BatchResponse::Single(r) = &response {
        http.headers_mut().extend(r.http_headers.clone());
    }
    http
}

fn has_code(response: &async_graphql::Response, code: &str) -> bool {
    response.errors.iter().any(|e| {
        e.extensions.as_ref().and_then(|x| x.get("code")) == Some(&async_graphql::Value::String(code.to_string()))
    })
}

/// An error before GraphQL execution (unparseable body, bad method), in GraphQL's error shape.
fn request_error(headers: &HeaderMap, status: StatusCode, message: &str) -> Response {
    let content_type = if wants_graphql_response(headers) { GRAPHQL_RESPONSE } else { JSON };
    let body = serde_json::json!({
        "errors": [{"message": message, "extensions": {"code": "BAD_REQUEST"}}]
    });
    (status, [(header::CONTENT_TYPE, content_type)], body.to_string()).into_response()
}
