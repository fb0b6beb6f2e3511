//! The verbs of the command line: serve (default), crawl, migrate, schema.
use crate::config::{Cli, Command};
use crate::startup::{shutdown_signal, Application};
use crate::store::db;

pub async fn run(cli: Cli) -> anyhow::Result<()> {
    let config = cli.config;
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => {
            let app = Application::build(config).await?;
            app.run_until_stopped(shutdown_signal()).await
        }
        Command::Migrate => {
            let conn = db::connect(&config.database_url).await?;
            db::migrate(&conn).await?;
            tracing::info!(database = db::redact_url(&config.database_url), "migrations applied");
            Ok(())
        }
        Command::Schema => {
            println!("{}", crate::graphql::sdl());
            Ok(())
        }
        Command::Crawl { targets: _ } => anyhow::bail!("crawl is not available yet"),
    }
}
