//! The parts every verb that runs jobs needs, built from the configuration.
use std::sync::Arc;

use anyhow::Context;
use sea_orm::DatabaseConnection;

use super::archive::Archiving;
use super::{JobQueue, WorkerPool, WorkerSettings};
use crate::config::Config;
use crate::crawler::Crawler;
use crate::metrics::Metrics;
use crate::store::db;

/// The parts every verb that runs jobs needs: the database, the queue, the crawler, the archive
/// reader, metrics.
pub struct Services {
    pub db: DatabaseConnection,
    pub queue: JobQueue,
    pub crawler: Crawler,
    pub archiving: Archiving,
    pub metrics: Arc<Metrics>,
}

impl Services {
    /// Connects and migrates the database, and sets up the GitHub client and the archive reader.
    pub async fn connect(config: &Config) -> anyhow::Result<Self> {
        let db = db::connect(&config.database.url).await?;
        db::migrate(&db).await?;
        Self::on(db, config)
    }

    /// The services of `config` on a database already connected and migrated.
    pub fn on(db: DatabaseConnection, config: &Config) -> anyhow::Result<Self> {
        let metrics = Arc::new(Metrics::default());
        let crawler = Crawler::from_config(db.clone(), &config.github, metrics.clone())
            .context("cannot set up the GitHub client")?;
        let archiving = Archiving::from_config(&config.archive).context("cannot set up the archive reader")?;
        Ok(Self { queue: JobQueue::new(db.clone()), db, crawler, archiving, metrics })
    }

    /// The workers of these services.
    pub fn workers(&self, settings: WorkerSettings) -> WorkerPool {
        WorkerPool::new(
            self.queue.clone(),
            self.crawler.clone(),
            self.archiving.clone(),
            settings,
            self.metrics.clone(),
        )
    }
}
