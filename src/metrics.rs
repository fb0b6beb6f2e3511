//! In-process metrics, written out in the Prometheus text format by `/metrics`.
use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::time::Duration;

const BUCKETS: [f64; 16] =
    [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 1800.0];

#[derive(Debug, Default, Clone)]
struct Histogram {
    counts: [u64; BUCKETS.len()],
    count: u64,
    sum: f64,
}

impl Histogram {
    fn observe(&mut self, seconds: f64) {
        for (i, bound) in BUCKETS.iter().enumerate() {
            if seconds <= *bound {
                self.counts[i] += 1;
            }
        }
        self.count += 1;
        self.sum += seconds;
    }
}

/// Latency histograms by name and label value.
#[derive(Debug, Default)]
pub struct Metrics {
    histograms: Mutex<BTreeMap<(&'static str, String), Histogram>>,
}

/// HTTP requests, by route.
pub const HTTP_SECONDS: &str = "git_collector_http_request_duration_seconds";
/// GraphQL requests, by operation type.
pub const GRAPHQL_SECONDS: &str = "git_collector_graphql_request_duration_seconds";
/// Refresh jobs run by this process, by final status.
pub const JOB_SECONDS: &str = "git_collector_job_duration_seconds";

impl Metrics {
    pub fn observe(&self, name: &'static str, label: &str, took: Duration) {
        if let Ok(mut map) = self.histograms.lock() {
            map.entry((name, label.to_string())).or_default().observe(took.as_secs_f64());
        }
    }

    /// Appends every histogram; `label_name` per histogram name.
    pub fn render(&self, out: &mut String) {
        let Ok(map) = self.histograms.lock() else { return };
        let mut last = "";
        for ((name, label), h) in map.iter() {
            let label_name = match *name {
                HTTP_SECONDS => "route",
                GRAPHQL_SECONDS => "operation",
                _ => "status",
            };
            if *name != last {
                let _ = writeln!(out, "# TYPE {name} histogram");
                last = name;
            }
            let label = label.replace('\\', "\\\\").replace('"', "\\\"");
            for (i, bound) in BUCKETS.iter().enumerate() {
                let _ = writeln!(out, "{name}_bucket{{{label_name}=\"{label}\",le=\"{bound}\"}} {}", h.counts[i]);
            }
            let _ = writeln!(out, "{name}_bucket{{{label_name}=\"{label}\",le=\"+Inf\"}} {}", h.count);
            let _ = writeln!(out, "{name}_sum{{{label_name}=\"{label}\"}} {}", h.sum);
            let _ = writeln!(out, "{name}_count{{{label_name}=\"{label}\"}} {}", h.count);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histograms_render_cumulative_buckets() {
        let m = Metrics::default();
        m.observe(JOB_SECONDS, "SUCCEEDED", Duration::from_millis(30));
        m.observe(JOB_SECONDS, "SUCCEEDED", Duration::from_secs(3));
        let mut out = String::new();
        m.render(&mut out);
        assert!(out.contains("git_collector_job_duration_seconds_bucket{status=\"SUCCEEDED\",le=\"0.05\"} 1"));
        assert!(out.contains("git_collector_job_duration_seconds_bucket{status=\"SUCCEEDED\",le=\"5\"} 2"));
        assert!(out.contains("git_collector_job_duration_seconds_count{status=\"SUCCEEDED\"} 2"));
    }
}
