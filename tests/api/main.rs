//! Integration tests: the real service over HTTP, against a fresh database per test (SQLite, or
//! PostgreSQL when TEST_DATABASE_URL is set) and a fake GitHub HTTP server.
#![allow(clippy::unwrap_used)]

// Each test module uses a different part of the helpers.
#[allow(dead_code)]
mod crawl_helpers;
mod fake_archive;
mod fake_github;
#[allow(dead_code)]
mod helpers;
#[allow(dead_code)]
mod outage;
#[allow(dead_code)]
mod seed;
#[allow(dead_code)]
mod showcase;

mod account;
mod archive;
mod browser;
mod cli;
mod crawler;
mod foundation;
mod grafana;
mod graphql;
mod jobs;
mod rest;
