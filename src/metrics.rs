//! The process's numbers for Prometheus: questions by kind and outcome, answer latency,
//! reloads and their duration, articles in service, gateway shard state and state-store
//! errors, kept in one [`Metrics`] per [`crate::service::Service`] and written out in the
//! Prometheus/OpenMetrics text format for `GET /metrics`.
//!
//! Only this module names `prometheus_client`: the rest of the crate records through
//! [`Metrics`]'s methods, whose arguments are plain words and numbers. No metric carries a
//! user, a guild, a question or an article as a label (bounded series, nothing identifying).

use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

use crate::answer::{Answer, Command};

/// The content type of [`Metrics::encode`]'s text.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Question {
    kind: &'static str,
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Kind {
    kind: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Outcome {
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Shard {
    shard: u32,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ShardStage {
    shard: u32,
    stage: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Store {
    store: &'static str,
}

type Histograms<L> = Family<L, Histogram, fn() -> Histogram>;

/// Answer times: 1 ms to about 24 s (×2.5 a bucket); Discord's own limit is 3 s.
fn answer_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.001, 2.5, 12))
}

/// Reload times: 10 ms to about 3 minutes (×3 a bucket).
fn reload_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.01, 3.0, 10))
}

/// The metrics of one serving process.
pub struct Metrics {
    registry: Registry,
    questions: Family<Question, Counter>,
    answer_seconds: Histograms<Kind>,
    reloads: Family<Outcome, Counter>,
    reload_seconds: Histogram,
    articles: Gauge,
    shard_up: Family<Shard, Gauge>,
    shard_stages: Family<ShardStage, Counter>,
    state_errors: Family<Store, Counter>,
    state_dropped: Family<Store, Counter>,
    state_up: Family<Store, Gauge>,
    /// The store's own totals when last written out (the counters move by the difference).
    state_seen: std::sync::Mutex<(u64, u64)>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

impl Metrics {
    pub fn new() -> Metrics {
        let mut registry = Registry::with_prefix("articlebot");
        let questions = Family::<Question, Counter>::default();
        registry.register(
            "questions",
            "Commands and conversation turns answered, by kind (ask, search, summary, \
             takeaways, article, related, or the turn's kind) and outcome (answered, weak, \
             nothing, error)",
            questions.clone(),
        );
        let answer_seconds: Histograms<Kind> = Family::new_with_constructor(answer_histogram);
        registry.register(
            "answer_duration_seconds",
            "Time from the request to the answer, waiting for a core included, by kind",
            answer_seconds.clone(),
        );
        let reloads = Family::<Outcome, Counter>::default();
        registry.register(
            "reloads",
            "Reloads of the content, by outcome (swapped, kept_old)",
            reloads.clone(),
        );
        let reload_seconds = reload_histogram();
        registry.register(
            "reload_duration_seconds",
            "Time a reload took (sync, build and swap)",
            reload_seconds.clone(),
        );
        let articles = Gauge::default();
        registry.register(
            "articles",
            "Articles in the library being served",
            articles.clone(),
        );
        let shard_up = Family::<Shard, Gauge>::default();
        registry.register(
            "gateway_shard_connected",
            "1 while the gateway shard is connected, else 0 (serve only)",
            shard_up.clone(),
        );
        let shard_stages = Family::<ShardStage, Counter>::default();
        registry.register(
            "gateway_shard_stage_changes",
            "Connection stages the gateway shards entered (serve only)",
            shard_stages.clone(),
        );
        let state_errors = Family::<Store, Counter>::default();
        registry.register(
            "state_errors",
            "Failed requests to the state store (sqlite, postgres), each retry counted",
            state_errors.clone(),
        );
        let state_dropped = Family::<Store, Counter>::default();
        registry.register(
            "state_dropped_writes",
            "Statistics rows dropped because the queue was full while the store was unreachable",
            state_dropped.clone(),
        );
        let state_up = Family::<Store, Gauge>::default();
        registry.register(
            "state_store_up",
            "1 while the state store answered its last request, 0 after a failure",
            state_up.clone(),
        );
        Metrics {
            registry,
            questions,
            answer_seconds,
            reloads,
            reload_seconds,
            articles,
            shard_up,
            shard_stages,
            state_errors,
            state_dropped,
            state_up,
            state_seen: std::sync::Mutex::new((0, 0)),
        }
    }

    /// Counts a command run through the command layer and its time.
    pub fn command(&self, command: &Command, answer: &Answer, weak_score: f32, took: Duration) {
        self.question(command_kind(command), outcome(answer, weak_score), took);
    }

    /// Counts a question of `kind` with `outcome` (see [`outcome`]) that took `took`.
    pub fn question(&self, kind: &'static str, outcome: &'static str, took: Duration) {
        self.questions
            .get_or_create(&Question { kind, outcome })
            .inc();
        self.answer_seconds
            .get_or_create(&Kind { kind })
            .observe(took.as_secs_f64());
    }

    /// Counts a command or turn of `kind` that failed.
    pub fn failed(&self, kind: &'static str, took: Duration) {
        self.question(kind, "error", took);
    }

    /// Counts a reload: `swapped` when its library went into service.
    pub fn reload(&self, swapped: bool, took: Duration) {
        let outcome = if swapped { "swapped" } else { "kept_old" };
        self.reloads.get_or_create(&Outcome { outcome }).inc();
        self.reload_seconds.observe(took.as_secs_f64());
    }

    /// Sets the number of articles in service.
    pub fn articles(&self, n: usize) {
        self.articles.set(i64::try_from(n).unwrap_or(i64::MAX));
    }

    /// Records that gateway shard `shard` entered `stage` (a lower-case word such as
    /// `connected`, `resuming`); it counts as up only while `connected`.
    pub fn shard_stage(&self, shard: u32, stage: &'static str) {
        self.shard_up
            .get_or_create(&Shard { shard })
            .set(i64::from(stage == "connected"));
        self.shard_stages
            .get_or_create(&ShardStage { shard, stage })
            .inc();
    }

    /// Brings the state store's numbers up to date: whether it is `up`, and its totals of
    /// failed requests and dropped writes since the process started.
    pub fn state(&self, store: &'static str, up: bool, failures: u64, dropped: u64) {
        let labels = Store { store };
        self.state_up.get_or_create(&labels).set(i64::from(up));
        let mut seen = self.state_seen.lock().unwrap_or_else(|e| e.into_inner());
        self.state_errors
            .get_or_create(&labels)
            .inc_by(failures.saturating_sub(seen.0));
        self.state_dropped
            .get_or_create(&labels)
            .inc_by(dropped.saturating_sub(seen.1));
        *seen = (seen.0.max(failures), seen.1.max(dropped));
    }

    /// Everything, in the text format [`CONTENT_TYPE`] names.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }
}

/// The word a command is counted under.
pub fn command_kind(command: &Command) -> &'static str {
    match command {
        Command::Ask { .. } => "ask",
        Command::Search { .. } => "search",
        Command::Summary { .. } => "summary",
        Command::Takeaways { .. } => "takeaways",
        Command::Article { .. } => "article",
        Command::Related { .. } => "related",
    }
}

/// How an answer fared: `answered`, `weak` (an `ask` whose best score is below
/// `weak_score`, as `/stats` counts gaps) or `nothing`.
pub fn outcome(answer: &Answer, weak_score: f32) -> &'static str {
    match answer {
        Answer::Ask(a) => match a.results.first() {
            None => "nothing",
            Some(r) if r.score < weak_score => "weak",
            Some(_) => "answered",
        },
        _ if answer.found() => "answered",
        _ => "nothing",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_and_histograms_are_written_out() {
        let m = Metrics::new();
        m.question("ask", "answered", Duration::from_millis(20));
        m.question("ask", "answered", Duration::from_millis(30));
        m.failed("search", Duration::from_millis(1));
        m.reload(true, Duration::from_secs(2));
        m.articles(12);
        m.shard_stage(0, "connected");
        m.state("postgres", false, 3, 0);
        let text = m.encode();
        for line in [
            "articlebot_questions_total{kind=\"ask\",outcome=\"answered\"} 2",
            "articlebot_questions_total{kind=\"search\",outcome=\"error\"} 1",
            "articlebot_answer_duration_seconds_count{kind=\"ask\"} 2",
            "articlebot_reloads_total{outcome=\"swapped\"} 1",
            "articlebot_reload_duration_seconds_count 1",
            "articlebot_articles 12",
            "articlebot_gateway_shard_connected{shard=\"0\"} 1",
            "articlebot_state_errors_total{store=\"postgres\"} 3",
            "articlebot_state_store_up{store=\"postgres\"} 0",
            "# EOF",
        ] {
            assert!(text.lines().any(|l| l == line), "no {line:?} in\n{text}");
        }
        m.shard_stage(0, "resuming");
        m.state("postgres", true, 5, 1);
        let text = m.encode();
        assert!(text.contains("articlebot_gateway_shard_connected{shard=\"0\"} 0"));
        assert!(text.contains("articlebot_state_store_up{store=\"postgres\"} 1"));
        assert!(text.contains("articlebot_state_errors_total{store=\"postgres\"} 5"));
        assert!(text.contains("articlebot_state_dropped_writes_total{store=\"postgres\"} 1"));
    }
}
