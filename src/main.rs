//! The `git-collector` binary: reads configuration, sets up logging, runs the chosen verb.
use clap::Parser;
use git_collector::{cli, config::Cli, telemetry};

#[tokio::main]
async fn main() -> std::process::ExitCode {
    // A `.env` in the working directory fills variables that are not already set.
    let _ = dotenvy::dotenv();
    let cli = Cli::parse();
    telemetry::init(cli.config.log.format);
    match cli::run(cli).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(err) => {
            let text = telemetry::error_chain(err.as_ref());
            tracing::error!(error = text, "git-collector stopped with an error");
            eprintln!("error: {text}");
            std::process::ExitCode::FAILURE
        }
    }
}
