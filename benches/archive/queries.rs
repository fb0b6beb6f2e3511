//! Query benchmark (placeholder until the query part is written).
pub async fn bench() {}
