//! Logging: `tracing` to standard error, filtered by `RUST_LOG` (default `info`), as text
//! (coloured only on a terminal) or as JSON lines; and error chains printed once each.
use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

use crate::config::LogFormat;

pub fn init(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,sea_orm=warn"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Text => builder.with_ansi(std::io::stderr().is_terminal()).try_init(),
        LogFormat::Json => builder.json().with_current_span(true).try_init(),
    };
}

/// An error and its causes, each said once: a cause whose text the message before it already
/// contains (libraries often repeat their source in their own message) is left out.
pub fn error_chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut out = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        if !text.is_empty() && !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        source = cause.source();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("{0}")]
    struct Leaf(String);

    #[derive(Debug, thiserror::Error)]
    #[error("Connection Error: {source}")]
    struct Repeats {
        source: Leaf,
    }

    #[test]
    fn each_cause_is_said_once() {
        let err = anyhow::Error::new(Repeats { source: Leaf("unable to open database file".into()) })
            .context("cannot open the database sqlite:///x/gc.db");
        let text = error_chain(err.as_ref());
        assert_eq!(text, "cannot open the database sqlite:///x/gc.db: Connection Error: unable to open database file");
        assert_eq!(text.matches("unable to open").count(), 1);
    }
}
