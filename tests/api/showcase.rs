//! A service with something to show: an account crawled from the fake GitHub (three
//! repositories, people shared between them, bots) and two days of the fake archive imported.
//! The dashboard's browser tests and the Grafana panel test read it.
use crate::crawl_helpers::CrawlEnv;
use crate::fake_archive::FakeArchive;
use crate::helpers::{TestApp, TestDb};

/// The account crawled, and the days of archive imported.
pub const ACCOUNT: &str = "acme";
pub const ARCHIVE_FROM: &str = "2024-05-01";
pub const ARCHIVE_TO: &str = "2024-05-02";

pub struct Showcase {
    pub env: CrawlEnv,
    pub archive: FakeArchive,
    pub app: TestApp,
}

impl Showcase {
    pub async fn start() -> Self {
        let env = CrawlEnv::new().await;
        crate::account::shared_history(&env.fake);
        env.crawl_ok(ACCOUNT, &[]).await;
        let archive = FakeArchive::start().await;
        archive.publish(&crate::archive::dataset());
        let app = crate::archive::service(
            &archive,
            TestDb::borrowed(&env.test_db),
            &["--github-api-url", env.fake.url.as_str(), "--github-owners", ACCOUNT],
        )
        .await;
        let job = crate::archive::import(&app, ARCHIVE_FROM, ARCHIVE_TO).await;
        assert_eq!(job["status"], "SUCCEEDED", "{job}");
        Self { env, archive, app }
    }
}
