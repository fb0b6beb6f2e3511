//! Every database query, as functions taking a connection (`&impl ConnectionTrait`).
pub mod db;
