//! DataLoaders: nested fields of a page load in one query per field, not one per row.
use std::collections::HashMap;

use async_graphql::dataloader::Loader;
use entity::repository;
use sea_orm::DatabaseConnection;

use super::error::ApiError;
use crate::store;

pub struct RepositoryLoader {
    pub db: DatabaseConnection,
}

impl Loader<i64> for RepositoryLoader {
    type Value = repository::Model;
    type Error = ApiError;

    async fn load(&self, ids: &[i64]) -> Result<HashMap<i64, repository::Model>, ApiError> {
        Ok(store::repositories::by_ids(&self.db, ids).await?.into_iter().map(|r| (r.id, r)).collect())
    }
}

/// (repository id, include bots) → contributor count.
pub struct ContributorCountLoader {
    pub db: DatabaseConnection,
}

impl Loader<(i64, bool)> for ContributorCountLoader {
    type Value = i64;
    type Error = ApiError;

    async fn load(&self, keys: &[(i64, bool)]) -> Result<HashMap<(i64, bool), i64>, ApiError> {
        let mut out = HashMap::with_capacity(keys.len());
        for bots in [false, true] {
            let ids: Vec<i64> = keys.iter().filter(|(_, b)| *b == bots).map(|(id, _)| *id).collect();
            if ids.is_empty() {
                continue;
            }
            let counts = store::contributions::contributor_counts(&self.db, &ids, bots).await?;
            for id in ids {
                out.insert((id, bots), counts.get(&id).copied().unwrap_or(0));
            }
        }
        Ok(out)
    }
}
