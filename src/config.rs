//! Configuration: `config.toml` as written (raw, every key optional, unknown keys rejected)
//! and the resolved [`Settings`] that the rest of the program is built from.
//!
//! Nothing outside this module reads the raw form. Relative paths in the file are resolved
//! against the directory of the file; command-line overrides against the working directory.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use serde::Deserialize;

/// Headings words and phrases that mark a takeaway section, by default.
pub const DEFAULT_TAKEAWAY_HEADINGS: &[&str] = &[
    "takeaway",
    "takeaways",
    "key takeaways",
    "lessons",
    "lessons learned",
    "conclusion",
    "bottom line",
    "tl;dr",
    "in summary",
    "what it means",
];

/// `config.toml` as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    #[serde(default)]
    content: RawContent,
    #[serde(default)]
    index: RawIndex,
    #[serde(default)]
    answer: RawAnswer,
    #[serde(default)]
    discord: RawDiscord,
    #[serde(default)]
    http: RawHttp,
    #[serde(default)]
    stats: RawStats,
    #[serde(default)]
    conversation: RawConversation,
    #[serde(default)]
    curate: RawCurate,
    #[serde(default)]
    feedback: RawFeedback,
    #[serde(default)]
    state: RawState,
    #[serde(default)]
    sources: Vec<RawSource>,
    /// `[sync]`: the bounds of every request a sync sends (`[sources]` cannot hold them: in
    /// TOML that name is the list of `[[sources]]` tables).
    #[serde(default)]
    sync: RawSync,
    /// `[embeddings]`: the optional sentence-embedding layer (feature `embeddings`).
    #[serde(default)]
    embeddings: RawEmbeddings,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEmbeddings {
    model_dir: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSync {
    timeout_seconds: Option<u64>,
    max_bytes: Option<u64>,
    max_redirects: Option<u64>,
    source_budget_seconds: Option<u64>,
}

/// One `[[sources]]` table: a name and exactly one of `folder`, `feed`, `sitemap`, `git`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSource {
    name: Option<String>,
    folder: Option<PathBuf>,
    feed: Option<String>,
    sitemap: Option<String>,
    git: Option<String>,
    branch: Option<String>,
    refresh_minutes: Option<u64>,
    refresh_seconds: Option<u64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawContent {
    dir: Option<PathBuf>,
    base_url: Option<String>,
    max_file_bytes: Option<u64>,
    takeaway_headings: Option<Vec<String>>,
    watch: Option<bool>,
    watch_debounce_ms: Option<u64>,
    strict_reload: Option<bool>,
    sources_dir: Option<PathBuf>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawIndex {
    dir: Option<String>,
    passage_words: Option<usize>,
    threads: Option<usize>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAnswer {
    results: Option<usize>,
    page_size: Option<usize>,
    max_question_chars: Option<usize>,
    summary_sentences: Option<usize>,
    summary_max_chars: Option<usize>,
    excerpt_max_chars: Option<usize>,
    related: Option<usize>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDiscord {
    token_env: Option<String>,
    guild_ids: Option<Vec<u64>>,
    ephemeral: Option<bool>,
    mention_replies: Option<bool>,
    cooldown_seconds: Option<u64>,
    moderator_role_ids: Option<Vec<u64>>,
    operator_guild_ids: Option<Vec<u64>>,
    shards: Option<RawShards>,
    rest_proxy: Option<String>,
    button_timeout_seconds: Option<u64>,
    announce_channel_id: Option<u64>,
    announce_digest_over: Option<usize>,
    channels: Option<Vec<u64>>,
    quiet_channels: Option<Vec<u64>>,
    auto_reply_channels: Option<Vec<u64>>,
    auto_reply_min_score: Option<f32>,
    /// Channel id (TOML keys are strings) → tags.
    channel_tags: Option<std::collections::BTreeMap<String, Vec<String>>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawShards {
    /// First shard id this process runs.
    first: u32,
    /// How many shards this process runs.
    count: u32,
    /// Shards of the whole bot, across every process.
    total: u32,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawHttp {
    listen: Option<String>,
    public_key: Option<String>,
    body_limit_bytes: Option<usize>,
    header_timeout_seconds: Option<u64>,
    max_connections: Option<usize>,
    shutdown_grace_seconds: Option<u64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStats {
    enabled: Option<bool>,
    keep_questions: Option<bool>,
    retention_days: Option<u32>,
    weak_score: Option<f32>,
    db: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawState {
    url: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConversation {
    idle_minutes: Option<u64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFeedback {
    min_voters: Option<u64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCurate {
    db: Option<String>,
    min_similarity: Option<f32>,
}

/// Where the index lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IndexLocation {
    /// Persisted in this directory, reopened when the content has not changed.
    Dir(PathBuf),
    /// Built in memory for this process only.
    Memory,
}

impl IndexLocation {
    /// `memory` means in memory; anything else is a directory.
    pub fn parse(value: &str, base: &Path) -> IndexLocation {
        if value == "memory" {
            IndexLocation::Memory
        } else {
            IndexLocation::Dir(base.join(value))
        }
    }
}

/// Everything that shapes which articles exist and how they are cut into passages. Part of
/// the index fingerprint.
#[derive(Debug, Clone)]
pub struct ContentSettings {
    /// `content.dir`: the one folder read when no `[[sources]]` are configured.
    pub dir: PathBuf,
    /// With `[[sources]]`, one folder per source (a folder source's own folder, a synced
    /// source's folder below `sources_dir`), read instead of `dir`; empty without them.
    /// [`ContentSettings::folders`] gives what is read either way.
    pub source_folders: Vec<ContentFolder>,
    pub base_url: String,
    pub max_file_bytes: u64,
    pub takeaway_headings: Vec<String>,
    pub passage_words: usize,
}

impl ContentSettings {
    /// The folders articles are read from: the sources' folders, else `dir` alone.
    pub fn folders(&self) -> Vec<ContentFolder> {
        if self.source_folders.is_empty() {
            vec![ContentFolder::plain(self.dir.clone())]
        } else {
            self.source_folders.clone()
        }
    }
}

/// A folder articles are read from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContentFolder {
    /// Put before the paths of its files (`blog/post.md`): the source's name, or empty for
    /// `content.dir`.
    pub prefix: String,
    pub dir: PathBuf,
    /// Written by `sync` (feed, sitemap, git): missing until the first sync, which is no
    /// error; a missing folder source is.
    pub synced: bool,
}

impl ContentFolder {
    /// The folder `content.dir` names, read as it is.
    pub fn plain(dir: PathBuf) -> ContentFolder {
        ContentFolder {
            prefix: String::new(),
            dir,
            synced: false,
        }
    }
}

/// Where one source's articles come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SourceKind {
    /// A folder on this machine, read in place.
    Folder(PathBuf),
    /// An RSS, Atom or JSON feed.
    Feed(String),
    /// A sitemap.xml whose pages are fetched.
    Sitemap(String),
    /// A git repository, cloned and pulled; `branch` `None` follows the remote's default.
    Git { url: String, branch: Option<String> },
}

/// One `[[sources]]` table, resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceSettings {
    /// Letters, digits, `-` and `_`: also the name of its folder below `content.sources_dir`.
    pub name: String,
    pub kind: SourceKind,
    /// How often the server syncs it on its own (`refresh_minutes`, or `refresh_seconds`);
    /// `None`: on `/reload` and `articlebot sync` only.
    pub refresh: Option<std::time::Duration>,
}

/// The configured sources and where synced ones are kept.
#[derive(Debug, Clone)]
pub struct SourcesSettings {
    pub list: Vec<SourceSettings>,
    /// `content.sources_dir`: one folder per synced source, plus its sync state.
    pub dir: PathBuf,
    /// `[sync]`: the bounds of every request (`sources::Limits` is made from them).
    pub sync: SyncSettings,
}

/// The bounds a sync keeps (`[sync]`), checked: none is zero or absurd.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncSettings {
    /// For a whole request: connecting, headers and body (`timeout_seconds`); a git
    /// command gets six times as long.
    pub timeout: std::time::Duration,
    /// A body longer than this is refused (`max_bytes`; a gzip body's uncompressed size).
    pub max_bytes: u64,
    /// Redirects followed before a request is given up (`max_redirects`; 0: none).
    pub max_redirects: usize,
    /// How long one source's sync may fetch pages (`source_budget_seconds`).
    pub source_budget: std::time::Duration,
}

impl Default for SyncSettings {
    fn default() -> Self {
        SyncSettings {
            timeout: std::time::Duration::from_secs(20),
            max_bytes: 8 * 1024 * 1024,
            max_redirects: 5,
            source_budget: std::time::Duration::from_secs(300),
        }
    }
}

/// The largest `sync.max_bytes`: a body is held in memory whole.
const MAX_SYNC_BYTES: u64 = 1024 * 1024 * 1024;

impl SourcesSettings {
    /// The sources `sync` fetches (every kind but folders).
    pub fn synced(&self) -> impl Iterator<Item = &SourceSettings> {
        self.list
            .iter()
            .filter(|s| !matches!(s.kind, SourceKind::Folder(_)))
    }

    /// The folder a synced source's articles are kept in.
    pub fn folder_of(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }
}

/// Content watching and reload policy.
#[derive(Debug, Clone)]
pub struct ReloadSettings {
    pub watch: bool,
    pub debounce: std::time::Duration,
    pub strict: bool,
}

/// How answers are shaped.
#[derive(Debug, Clone)]
pub struct AnswerSettings {
    pub results: usize,
    pub page_size: usize,
    pub max_question_chars: usize,
    pub summary_sentences: usize,
    pub summary_max_chars: usize,
    pub excerpt_max_chars: usize,
    pub related: usize,
}

impl Default for AnswerSettings {
    fn default() -> Self {
        AnswerSettings {
            results: 3,
            page_size: 5,
            max_question_chars: 1000,
            summary_sentences: 3,
            summary_max_chars: 700,
            excerpt_max_chars: 400,
            related: 5,
        }
    }
}

/// Sharding of the gateway connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Shards {
    /// Discord's recommended shard count, all in this process.
    Auto,
    /// This process runs shards `first..first + count` of `total`.
    Range { first: u32, count: u32, total: u32 },
}

/// The Discord adapters' settings (gateway and HTTP interactions).
#[derive(Debug, Clone)]
pub struct DiscordSettings {
    pub token_env: String,
    pub guild_ids: Vec<u64>,
    pub ephemeral: bool,
    pub mention_replies: bool,
    pub cooldown: std::time::Duration,
    pub moderator_role_ids: Vec<u64>,
    /// The guilds whose moderators may run the commands that act on the whole bot (`/reload`,
    /// `/check`); empty: none, only the command line and SIGHUP.
    pub operator_guild_ids: Vec<u64>,
    pub shards: Shards,
    pub rest_proxy: Option<String>,
    pub button_timeout: std::time::Duration,
    /// The channel new articles are announced in (`announce_channel_id`); `None`: no
    /// announcements.
    pub announce_channel_id: Option<u64>,
    /// More new articles than this in one reload are announced in one digest rather than a
    /// post each (`announce_digest_over`; 0: always a digest).
    pub announce_digest_over: usize,
    /// Where the bot may speak: see [`Channels`].
    pub channels: Channels,
}

/// The default `discord.announce_digest_over`.
pub const DEFAULT_ANNOUNCE_DIGEST_OVER: usize = 5;

/// The largest `discord.announce_digest_over`: more posts at once than this would meet
/// Discord's rate limit of a channel (5 messages per 5 seconds) for long.
pub const MAX_ANNOUNCE_DIGEST_OVER: usize = 25;

/// Where the bot answers messages (`discord.channels`, `quiet_channels`,
/// `auto_reply_channels`, `auto_reply_min_score`, `channel_tags`). A thread counts as its
/// parent channel when the bot knows the parent.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Channels {
    /// Mentions and replies are answered only in these channels; empty: everywhere.
    pub allowed: Vec<u64>,
    /// Never answered in, whatever else says.
    pub quiet: Vec<u64>,
    /// Messages that ask something are answered there without a mention, when the best
    /// passage scores at least `auto_reply_min_score`; forum channels: each new post.
    pub auto_reply: Vec<u64>,
    pub auto_reply_min_score: f32,
    /// Answers in these channels come only from articles with one of the tags (lower case).
    pub tags: std::collections::BTreeMap<u64, Vec<String>>,
}

/// The default `discord.auto_reply_min_score`: above `stats.weak_score` (1.3). On the sample
/// collection (`content/`, 2026-12-06) 11 of 16 on-topic questions scored at least 1.8 and 1 of
/// 9 off-topic ones did (those scored 1.26-1.61, but "what time is it", 2.15): an unasked
/// answer should rather be missing than wrong.
pub const DEFAULT_AUTO_REPLY_MIN_SCORE: f32 = 1.8;

impl Channels {
    /// Whether nothing may be said in `channel` (or its parent thread's channel).
    pub fn is_quiet(&self, channel: u64, parent: Option<u64>) -> bool {
        self.quiet.contains(&channel) || parent.is_some_and(|p| self.quiet.contains(&p))
    }

    /// Whether mentions and replies are answered in `channel` (see [`Channels::allowed`]).
    pub fn is_allowed(&self, channel: u64, parent: Option<u64>) -> bool {
        !self.is_quiet(channel, parent)
            && (self.allowed.is_empty()
                || self.allowed.contains(&channel)
                || parent.is_some_and(|p| self.allowed.contains(&p))
                || self.auto_reply.contains(&channel))
    }

    /// Whether unmentioned questions are answered in `channel` (or the forum `parent`).
    pub fn auto_replies(&self, channel: u64, parent: Option<u64>) -> bool {
        !self.is_quiet(channel, parent)
            && (self.auto_reply.contains(&channel)
                || parent.is_some_and(|p| self.auto_reply.contains(&p)))
    }

    /// The tags answers in `channel` are limited to (none: every article).
    pub fn tags_of(&self, channel: u64, parent: Option<u64>) -> &[String] {
        self.tags
            .get(&channel)
            .or_else(|| parent.and_then(|p| self.tags.get(&p)))
            .map_or(&[], Vec::as_slice)
    }
}

/// The HTTP interactions endpoint's settings.
#[derive(Debug, Clone)]
pub struct HttpSettings {
    pub listen: String,
    /// Hex public key from the file; `DISCORD_PUBLIC_KEY` or `--public-key` win over it.
    pub public_key: Option<String>,
    pub body_limit_bytes: usize,
    /// How long a connection may take to send a request's headers, and how long a kept-alive
    /// connection may sit idle waiting for its next request (hyper runs the same timer).
    pub header_timeout: std::time::Duration,
    /// Connections served at once; further ones wait in the listen backlog.
    pub max_connections: usize,
    /// How long shutdown lets open connections finish before closing them.
    pub shutdown_grace: std::time::Duration,
}

/// Question statistics.
#[derive(Debug, Clone)]
pub struct StatsSettings {
    pub enabled: bool,
    pub keep_questions: bool,
    pub retention_days: u32,
    pub weak_score: f32,
    /// `None` keeps statistics in memory only.
    pub db: Option<PathBuf>,
}

/// Where the state shared by instances is kept (`[state]`).
#[derive(Clone, Default, PartialEq, Eq)]
pub struct StateSettings {
    /// `postgres://…`: statistics in PostgreSQL, shared by every instance pointed at it.
    /// `None`: the embedded SQLite store (`stats.db`), this instance's own. The command line
    /// puts `DATABASE_URL` here when the file sets none.
    pub url: Option<String>,
}

impl std::fmt::Debug for StateSettings {
    /// Without the URL, which may hold a password.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StateSettings")
            .field("url", &self.url.as_ref().map(|_| "<set>"))
            .finish()
    }
}

impl StateSettings {
    /// Checks and keeps `url` (from the file's `state.url` or `DATABASE_URL`, named by
    /// `whence` in the error).
    pub fn with_url(url: &str, whence: &str) -> anyhow::Result<StateSettings> {
        let url = url.trim();
        if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
            let scheme = url.split("://").next().unwrap_or_default();
            bail!(
                "{whence}: expected a PostgreSQL URL (postgres://user:password@host/database),                  got one starting {scheme:?}"
            );
        }
        Ok(StateSettings {
            url: Some(url.to_string()),
        })
    }
}

/// The conversation layer's settings (`[conversation]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConversationSettings {
    /// A conversation idle this long starts over (a `/discuss` thread returns to its article;
    /// a member's conversation in a channel is forgotten).
    pub idle_seconds: u64,
}

impl Default for ConversationSettings {
    fn default() -> Self {
        ConversationSettings {
            idle_seconds: 30 * 60,
        }
    }
}

/// The default `feedback.min_voters` (see `feedback` for why).
pub const DEFAULT_FEEDBACK_MIN_VOTERS: u64 = 3;

/// The default `curate.min_similarity` (see `curate` for why).
pub const DEFAULT_CURATE_MIN_SIMILARITY: f32 = 0.6;

/// Curated answers (`[curate]`).
#[derive(Debug, Clone, PartialEq)]
pub struct CurateSettings {
    /// The SQLite file; `None` keeps them in memory (this process only).
    pub db: Option<PathBuf>,
    /// How close a question must be to a curated one (Jaccard over stems, 0-1].
    pub min_similarity: f32,
}

/// `[embeddings]`: the optional sentence-embedding layer.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EmbeddingSettings {
    /// The local model folder (`config.json`, `tokenizer.json`, `model.safetensors`); `None`
    /// (the default) leaves the layer off. Only accepted by a build with the `embeddings`
    /// feature.
    pub model_dir: Option<PathBuf>,
}

/// The resolved configuration.
#[derive(Debug, Clone)]
pub struct Settings {
    pub content: ContentSettings,
    pub reload: ReloadSettings,
    pub index: IndexLocation,
    pub index_threads: usize,
    pub answer: AnswerSettings,
    pub discord: DiscordSettings,
    pub http: HttpSettings,
    pub stats: StatsSettings,
    pub state: StateSettings,
    pub conversation: ConversationSettings,
    pub curate: CurateSettings,
    /// `[feedback] min_voters`: distinct members who must vote a passage down for a question
    /// before it is demoted for that question (votes are kept in `curate.db`).
    pub feedback_min_voters: u64,
    pub sources: SourcesSettings,
    pub embeddings: EmbeddingSettings,
}

/// Command-line values that override the file.
#[derive(Debug, Default, Clone)]
pub struct Overrides {
    pub content: Option<PathBuf>,
    pub index: Option<String>,
}

impl Overrides {
    /// Puts the overrides into `settings`; their paths are relative to the working directory.
    fn apply(&self, settings: &mut Settings) {
        if let Some(dir) = &self.content {
            settings.content.dir = dir.clone();
            settings.content.source_folders.clear();
        }
        if let Some(index) = &self.index {
            settings.index = IndexLocation::parse(index, Path::new("."));
        }
    }
}

/// The folder relative paths in the config file at `path` are resolved against.
fn config_base(path: &Path) -> PathBuf {
    path.parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
        .to_path_buf()
}

impl Settings {
    /// Defaults, as if an empty config file stood in `base`.
    pub fn defaults(base: &Path) -> Settings {
        Settings::resolve(RawConfig::default(), base).expect("defaults are valid")
    }

    /// Settings for tests and one-off runs: content from `dir`, index in memory.
    pub fn for_content(dir: impl Into<PathBuf>) -> Settings {
        let mut s = Settings::defaults(Path::new("."));
        s.content.dir = dir.into();
        s.index = IndexLocation::Memory;
        s.stats.db = None;
        s.curate.db = None;
        s
    }

    /// Parses config text; `base` is the directory relative paths are resolved against.
    /// A value of the wrong type is named by its key, in words ("index.threads: expected a
    /// whole number, got \"four\"").
    pub fn from_toml(text: &str, base: &Path) -> anyhow::Result<Settings> {
        let de = toml::Deserializer::parse(text).map_err(|e| anyhow::anyhow!("{e}"))?;
        let raw: RawConfig = serde_path_to_error::deserialize(de).map_err(|e| {
            let path = e.path().to_string();
            let inner = e.into_inner();
            let line = inner
                .span()
                .map(|span| text[..span.start.min(text.len())].lines().count().max(1));
            let why = human(inner.message());
            match (path.as_str(), line) {
                (".", Some(line)) => anyhow::anyhow!("line {line}: {why}"),
                (".", None) => anyhow::anyhow!("{why}"),
                (path, Some(line)) => anyhow::anyhow!("{path} (line {line}): {why}"),
                (path, None) => anyhow::anyhow!("{path}: {why}"),
            }
        })?;
        Settings::resolve(raw, base)
    }

    /// Loads the config file the user named: a missing file is an error.
    pub fn load(path: &Path, overrides: &Overrides) -> anyhow::Result<Settings> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read config {}", path.display()))?;
        Settings::from_file_text(path, &text, overrides)
    }

    /// Loads the default config file when there is one (`config.toml` in the working
    /// directory); without it, the defaults.
    pub fn load_or_defaults(path: &Path, overrides: &Overrides) -> anyhow::Result<Settings> {
        match std::fs::read_to_string(path) {
            Ok(text) => Settings::from_file_text(path, &text, overrides),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let mut settings = Settings::defaults(&config_base(path));
                overrides.apply(&mut settings);
                Ok(settings)
            }
            Err(e) => bail!("cannot read config {}: {e}", path.display()),
        }
    }

    fn from_file_text(path: &Path, text: &str, overrides: &Overrides) -> anyhow::Result<Settings> {
        let mut settings = Settings::from_toml(text, &config_base(path))
            .with_context(|| format!("invalid config {}", path.display()))?;
        overrides.apply(&mut settings);
        Ok(settings)
    }

    fn resolve(raw: RawConfig, base: &Path) -> anyhow::Result<Settings> {
        let c = raw.content;
        let takeaway_headings = c.takeaway_headings.unwrap_or_else(|| {
            DEFAULT_TAKEAWAY_HEADINGS
                .iter()
                .map(|s| s.to_string())
                .collect()
        });
        if takeaway_headings.iter().any(|h| h.trim().is_empty()) {
            bail!("content.takeaway_headings: an entry is empty");
        }
        let max_file_bytes = c.max_file_bytes.unwrap_or(2 * 1024 * 1024);
        if max_file_bytes == 0 {
            bail!("content.max_file_bytes: must be greater than 0");
        }
        let base_url = c.base_url.unwrap_or_default();
        if !base_url.is_empty() && !base_url.contains("://") {
            bail!("content.base_url: {base_url:?} is not an absolute URL (expected https://…)");
        }
        let i = raw.index;
        let passage_words = i.passage_words.unwrap_or(120);
        if !(20..=2000).contains(&passage_words) {
            bail!("index.passage_words: {passage_words} is outside 20..=2000");
        }
        let a = raw.answer;
        let d = AnswerSettings::default();
        let answer = AnswerSettings {
            results: positive("answer.results", a.results.unwrap_or(d.results), 10)?,
            page_size: positive("answer.page_size", a.page_size.unwrap_or(d.page_size), 10)?,
            max_question_chars: positive(
                "answer.max_question_chars",
                a.max_question_chars.unwrap_or(d.max_question_chars),
                100_000,
            )?,
            summary_sentences: positive(
                "answer.summary_sentences",
                a.summary_sentences.unwrap_or(d.summary_sentences),
                20,
            )?,
            summary_max_chars: positive(
                "answer.summary_max_chars",
                a.summary_max_chars.unwrap_or(d.summary_max_chars),
                4000,
            )?,
            excerpt_max_chars: positive(
                "answer.excerpt_max_chars",
                a.excerpt_max_chars.unwrap_or(d.excerpt_max_chars),
                1000,
            )?,
            related: positive("answer.related", a.related.unwrap_or(d.related), 25)?,
        };
        let dc = raw.discord;
        let shards = match dc.shards {
            None => Shards::Auto,
            Some(RawShards {
                first,
                count,
                total,
            }) => {
                if count == 0 || total == 0 || first + count > total {
                    bail!("discord.shards: first + count must be within total (got first {first}, count {count}, total {total})");
                }
                Shards::Range {
                    first,
                    count,
                    total,
                }
            }
        };
        let rest_proxy = dc.rest_proxy.filter(|s| !s.is_empty());
        if let Some(p) = &rest_proxy {
            if !p.starts_with("http://") && !p.starts_with("https://") {
                bail!("discord.rest_proxy: {p:?} is not an http(s) URL");
            }
        }
        let channels = resolve_channels(
            dc.channels,
            dc.quiet_channels,
            dc.auto_reply_channels,
            dc.auto_reply_min_score,
            dc.channel_tags,
        )?;
        let announce_channel_id = match dc.announce_channel_id {
            Some(0) => bail!(
                "discord.announce_channel_id: 0 is not a channel id (copy the id with Developer \
                 Mode on)"
            ),
            Some(c) if channels.quiet.contains(&c) => bail!(
                "discord.announce_channel_id: channel {c} is also in discord.quiet_channels, \
                 where the bot never speaks"
            ),
            c => c,
        };
        let announce_digest_over = match dc.announce_digest_over {
            None => DEFAULT_ANNOUNCE_DIGEST_OVER,
            Some(n @ 0..=MAX_ANNOUNCE_DIGEST_OVER) => n,
            Some(n) => bail!(
                "discord.announce_digest_over: {n} is outside 0..={MAX_ANNOUNCE_DIGEST_OVER} \
                 (that many posts at once; more new articles make one digest)"
            ),
        };
        let discord = DiscordSettings {
            token_env: dc.token_env.unwrap_or_else(|| "DISCORD_TOKEN".into()),
            guild_ids: dc.guild_ids.unwrap_or_default(),
            ephemeral: dc.ephemeral.unwrap_or(true),
            mention_replies: dc.mention_replies.unwrap_or(true),
            cooldown: std::time::Duration::from_secs(dc.cooldown_seconds.unwrap_or(3)),
            moderator_role_ids: dc.moderator_role_ids.unwrap_or_default(),
            operator_guild_ids: dc.operator_guild_ids.unwrap_or_default(),
            shards,
            rest_proxy,
            button_timeout: std::time::Duration::from_secs(
                dc.button_timeout_seconds.unwrap_or(600),
            ),
            announce_channel_id,
            announce_digest_over,
            channels,
        };
        let h = raw.http;
        let http = HttpSettings {
            listen: h.listen.unwrap_or_else(|| "127.0.0.1:8080".into()),
            public_key: h.public_key.filter(|s| !s.is_empty()),
            body_limit_bytes: h.body_limit_bytes.unwrap_or(64 * 1024),
            header_timeout: std::time::Duration::from_secs(match h.header_timeout_seconds {
                Some(0) => bail!("http.header_timeout_seconds: must be at least 1"),
                n => n.unwrap_or(10),
            }),
            max_connections: match h.max_connections {
                Some(0) => bail!("http.max_connections: must be at least 1"),
                n => n.unwrap_or(256),
            },
            shutdown_grace: std::time::Duration::from_secs(h.shutdown_grace_seconds.unwrap_or(10)),
        };
        let sources_dir = base.join(c.sources_dir.unwrap_or_else(|| "data/sources".into()));
        let sources = SourcesSettings {
            list: resolve_sources(raw.sources, base)?,
            dir: sources_dir,
            sync: resolve_sync(raw.sync)?,
        };
        if c.dir.is_some() && !sources.list.is_empty() {
            bail!(
                "content.dir: set together with [[sources]]; list that folder as a source \
                 instead ([[sources]] name = \"…\", folder = \"…\")"
            );
        }
        let dir = base.join(c.dir.unwrap_or_else(|| "content".into()));
        let source_folders = sources
            .list
            .iter()
            .map(|s| match &s.kind {
                SourceKind::Folder(path) => ContentFolder {
                    prefix: s.name.clone(),
                    dir: path.clone(),
                    synced: false,
                },
                _ => ContentFolder {
                    prefix: s.name.clone(),
                    dir: sources.folder_of(&s.name),
                    synced: true,
                },
            })
            .collect();
        let st = raw.stats;
        let db = st.db.unwrap_or_else(|| "data/stats.sqlite3".into());
        let stats = StatsSettings {
            enabled: st.enabled.unwrap_or(true),
            keep_questions: st.keep_questions.unwrap_or(true),
            retention_days: st.retention_days.unwrap_or(30),
            weak_score: st.weak_score.unwrap_or(1.3),
            db: (db != "memory").then(|| base.join(db)),
        };
        let state = match raw.state.url.as_deref() {
            Some(url) if !url.trim().is_empty() => StateSettings::with_url(url, "state.url")?,
            _ => StateSettings::default(),
        };
        let conversation = ConversationSettings {
            idle_seconds: match raw.conversation.idle_minutes {
                None => ConversationSettings::default().idle_seconds,
                Some(m @ 1..=10_080) => m * 60,
                Some(m) => bail!("conversation.idle_minutes: {m} is outside 1..=10080 (a week)"),
            },
        };
        let cu = raw.curate;
        let curate_db = cu.db.unwrap_or_else(|| "data/curated.sqlite3".into());
        let curate = CurateSettings {
            db: (curate_db != "memory").then(|| base.join(curate_db)),
            min_similarity: match cu.min_similarity {
                None => DEFAULT_CURATE_MIN_SIMILARITY,
                Some(m) if m > 0.0 && m <= 1.0 => m,
                Some(m) => bail!(
                    "curate.min_similarity: {m} is outside (0, 1] (a Jaccard similarity of stems)"
                ),
            },
        };
        let feedback_min_voters = match raw.feedback.min_voters {
            None => DEFAULT_FEEDBACK_MIN_VOTERS,
            Some(n @ 1..=1000) => n,
            Some(n) => bail!("feedback.min_voters: {n} is outside 1..=1000"),
        };
        let embeddings = resolve_embeddings(raw.embeddings, base)?;
        Ok(Settings {
            content: ContentSettings {
                dir,
                source_folders,
                base_url,
                max_file_bytes,
                takeaway_headings,
                passage_words,
            },
            reload: ReloadSettings {
                watch: c.watch.unwrap_or(false),
                debounce: std::time::Duration::from_millis(c.watch_debounce_ms.unwrap_or(500)),
                strict: c.strict_reload.unwrap_or(false),
            },
            index: IndexLocation::parse(i.dir.as_deref().unwrap_or("data/index"), base),
            index_threads: i.threads.unwrap_or(0),
            answer,
            discord,
            http,
            stats,
            state,
            conversation,
            curate,
            feedback_min_voters,
            sources,
            embeddings,
        })
    }
}

/// Resolves `[embeddings]`: a model folder is accepted only by a build that can use it.
fn resolve_embeddings(raw: RawEmbeddings, base: &Path) -> anyhow::Result<EmbeddingSettings> {
    let model_dir = match raw.model_dir {
        None => None,
        Some(d) if d.trim().is_empty() => {
            bail!("embeddings.model_dir: empty (leave it out to turn the layer off)")
        }
        Some(d) => Some(base.join(d)),
    };
    if model_dir.is_some() && !cfg!(feature = "embeddings") {
        bail!(
            "embeddings.model_dir: this articlebot was built without the sentence-embedding \
             layer; build it with `cargo build --release --features embeddings`, or remove \
             the [embeddings] section"
        );
    }
    Ok(EmbeddingSettings { model_dir })
}

/// Resolves the `[[sources]]` tables; an error names the table (`sources[2]`, and its name
/// when it has one) and the key.
fn resolve_sources(raw: Vec<RawSource>, base: &Path) -> anyhow::Result<Vec<SourceSettings>> {
    let mut out: Vec<SourceSettings> = Vec::with_capacity(raw.len());
    for (i, r) in raw.into_iter().enumerate() {
        let table = match &r.name {
            Some(name) => format!("sources[{i}] ({name:?})"),
            None => format!("sources[{i}]"),
        };
        let Some(name) = r.name.filter(|n| !n.trim().is_empty()) else {
            bail!("{table}: `name` is missing");
        };
        if !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
            || name.len() > 64
        {
            bail!(
                "{table}: `name` may hold only letters, digits, - and _ (at most 64): it names \
                 the source's folder"
            );
        }
        if out.iter().any(|s| s.name == name) {
            bail!("{table}: another source is already named {name:?}");
        }
        let given: Vec<&str> = [
            ("folder", r.folder.is_some()),
            ("feed", r.feed.is_some()),
            ("sitemap", r.sitemap.is_some()),
            ("git", r.git.is_some()),
        ]
        .into_iter()
        .filter_map(|(key, set)| set.then_some(key))
        .collect();
        if given.len() != 1 {
            bail!(
                "{table}: set exactly one of folder, feed, sitemap, git (found {})",
                if given.is_empty() {
                    "none".to_string()
                } else {
                    given.join(" and ")
                }
            );
        }
        let web = |key: &str, url: String| -> anyhow::Result<String> {
            if !(url.starts_with("https://") || url.starts_with("http://")) || url.len() < 10 {
                bail!("{table}: `{key}` {url:?} is not an http(s) URL");
            }
            Ok(url)
        };
        let kind = if let Some(folder) = r.folder {
            SourceKind::Folder(base.join(folder))
        } else if let Some(feed) = r.feed {
            SourceKind::Feed(web("feed", feed)?)
        } else if let Some(sitemap) = r.sitemap {
            SourceKind::Sitemap(web("sitemap", sitemap)?)
        } else {
            let url = r.git.unwrap_or_default();
            // A leading `-` would be read by git as an option.
            if url.trim().is_empty() || url.starts_with('-') {
                bail!("{table}: `git` {url:?} is not a repository URL or path");
            }
            SourceKind::Git { url, branch: None }
        };
        let kind = match (kind, r.branch) {
            (SourceKind::Git { url, .. }, Some(branch)) => {
                if branch.trim().is_empty() || branch.starts_with('-') {
                    bail!("{table}: `branch` {branch:?} is not a branch name");
                }
                SourceKind::Git {
                    url,
                    branch: Some(branch),
                }
            }
            (_, Some(_)) => bail!("{table}: `branch` applies to git sources only"),
            (kind, None) => kind,
        };
        // `refresh_seconds` is the same schedule for periods under a minute (a local source,
        // a test); the two together would contradict each other.
        let (key, seconds) = match (r.refresh_minutes, r.refresh_seconds) {
            (None, None) => ("", None),
            (Some(_), Some(_)) => {
                bail!("{table}: set one of `refresh_minutes` and `refresh_seconds`, not both")
            }
            (Some(0), None) => bail!("{table}: `refresh_minutes` must be at least 1"),
            (Some(m), None) => (
                "refresh_minutes",
                Some(m.min(MAX_REFRESH_SECONDS / 60) * 60),
            ),
            (None, Some(0)) => bail!("{table}: `refresh_seconds` must be at least 1"),
            (None, Some(s)) => ("refresh_seconds", Some(s.min(MAX_REFRESH_SECONDS))),
        };
        if seconds.is_some() && matches!(kind, SourceKind::Folder(_)) {
            bail!("{table}: `{key}` applies to feed, sitemap and git sources");
        }
        let refresh = seconds.map(std::time::Duration::from_secs);
        out.push(SourceSettings {
            name,
            kind,
            refresh,
        });
    }
    Ok(out)
}

/// The longest refresh period: a schedule further apart is taken as this (a year).
const MAX_REFRESH_SECONDS: u64 = 60 * 60 * 24 * 366;

/// The `[sync]` keys, checked: each within a range that names it in the error.
fn resolve_sync(raw: RawSync) -> anyhow::Result<SyncSettings> {
    let d = SyncSettings::default();
    let within =
        |key: &str, value: Option<u64>, default: u64, lo: u64, hi: u64, unit: &str| match value {
            None => Ok(default),
            Some(v) if (lo..=hi).contains(&v) => Ok(v),
            Some(v) => Err(anyhow::anyhow!(
                "sync.{key}: {v} is outside {lo}..={hi} {unit}"
            )),
        };
    Ok(SyncSettings {
        timeout: std::time::Duration::from_secs(within(
            "timeout_seconds",
            raw.timeout_seconds,
            d.timeout.as_secs(),
            1,
            600,
            "(seconds)",
        )?),
        max_bytes: within(
            "max_bytes",
            raw.max_bytes,
            d.max_bytes,
            1024,
            MAX_SYNC_BYTES,
            "(bytes: 1 KiB to 1 GiB)",
        )?,
        max_redirects: within(
            "max_redirects",
            raw.max_redirects,
            d.max_redirects as u64,
            0,
            20,
            "(0: no redirect followed)",
        )? as usize,
        source_budget: std::time::Duration::from_secs(within(
            "source_budget_seconds",
            raw.source_budget_seconds,
            d.source_budget.as_secs(),
            1,
            86_400,
            "(seconds: at most a day)",
        )?),
    })
}

/// serde's wording of a type error ("invalid type: string \"four\", expected usize") in
/// words a person who edits the file uses ("expected a whole number, got \"four\"").
/// Messages of another shape are returned as they are.
fn human(message: &str) -> String {
    let parsed = ["invalid type: ", "invalid value: "]
        .iter()
        .find_map(|p| message.strip_prefix(p))
        .and_then(|rest| rest.rsplit_once(", expected "));
    let Some((got, expected)) = parsed else {
        return message.to_string();
    };
    let expected = match expected.trim() {
        "usize" | "u64" | "u32" | "u16" | "u8" | "i64" | "i32" => "a whole number",
        "f32" | "f64" => "a number",
        "a boolean" => "true or false",
        "a string" => "a string in quotes",
        "a sequence" => "a list [..]",
        e if e.starts_with("struct ") || e == "a map" => "a table { .. }",
        e => e,
    };
    // serde writes values as `string "x"`, "integer `3`", "floating point `1.5`", "boolean
    // `true`"; lists and tables only by kind.
    let got = got.trim();
    let got = match got.split_once(' ') {
        Some((_, v)) if got.starts_with("string ") => v.to_string(),
        _ if got == "sequence" => "a list".to_string(),
        _ if got == "map" => "a table".to_string(),
        _ => match got.rsplit_once(' ') {
            Some((_, v)) if v.starts_with('`') => v.trim_matches('`').to_string(),
            _ => got.to_string(),
        },
    };
    format!("expected {expected}, got {got}")
}

/// The `discord` channel keys, checked: ids are Discord ids (not 0), a channel is not both
/// quiet and answered in, the score is a finite number from 0, tags are named.
fn resolve_channels(
    allowed: Option<Vec<u64>>,
    quiet: Option<Vec<u64>>,
    auto_reply: Option<Vec<u64>>,
    min_score: Option<f32>,
    tags: Option<std::collections::BTreeMap<String, Vec<String>>>,
) -> anyhow::Result<Channels> {
    let allowed = allowed.unwrap_or_default();
    let quiet = quiet.unwrap_or_default();
    let auto_reply = auto_reply.unwrap_or_default();
    for (key, list) in [
        ("discord.channels", &allowed),
        ("discord.quiet_channels", &quiet),
        ("discord.auto_reply_channels", &auto_reply),
    ] {
        if list.contains(&0) {
            bail!("{key}: 0 is not a channel id (copy the id with Developer Mode on)");
        }
    }
    for (key, list) in [
        ("discord.channels", &allowed),
        ("discord.auto_reply_channels", &auto_reply),
    ] {
        if let Some(c) = list.iter().find(|c| quiet.contains(c)) {
            bail!(
                "{key}: channel {c} is also in discord.quiet_channels, where the bot never answers"
            );
        }
    }
    let auto_reply_min_score = min_score.unwrap_or(DEFAULT_AUTO_REPLY_MIN_SCORE);
    if !auto_reply_min_score.is_finite() || auto_reply_min_score < 0.0 {
        bail!("discord.auto_reply_min_score: {auto_reply_min_score} is not a number from 0 up");
    }
    let mut by_channel = std::collections::BTreeMap::new();
    for (id, list) in tags.unwrap_or_default() {
        let channel = match id.trim().parse::<u64>() {
            Ok(c) if c > 0 => c,
            _ => bail!("discord.channel_tags: {id:?} is not a channel id (keys are channel ids in quotes, \"123456789012345678\" = [\"tag\"])"),
        };
        if list.is_empty() {
            bail!("discord.channel_tags.\"{id}\": no tag given (remove the entry to allow every article)");
        }
        if list.iter().any(|t| t.trim().is_empty()) {
            bail!("discord.channel_tags.\"{id}\": a tag is empty");
        }
        by_channel.insert(
            channel,
            list.iter().map(|t| t.trim().to_lowercase()).collect(),
        );
    }
    Ok(Channels {
        allowed,
        quiet,
        auto_reply,
        auto_reply_min_score,
        tags: by_channel,
    })
}

fn positive(key: &str, value: usize, max: usize) -> anyhow::Result<usize> {
    if value == 0 || value > max {
        bail!("{key}: {value} is outside 1..={max}");
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(text: &str) -> String {
        format!(
            "{:#}",
            Settings::from_toml(text, Path::new("/base")).unwrap_err()
        )
    }

    #[test]
    fn defaults_resolve_against_base() {
        let s = Settings::from_toml("", Path::new("/base")).unwrap();
        assert_eq!(s.content.dir, Path::new("/base/content"));
        assert_eq!(s.index, IndexLocation::Dir("/base/data/index".into()));
        assert_eq!(s.content.max_file_bytes, 2 * 1024 * 1024);
        assert_eq!(s.answer.results, 3);
        assert!(s.content.takeaway_headings.contains(&"tl;dr".to_string()));
        assert_eq!(s.discord.token_env, "DISCORD_TOKEN");
    }

    #[test]
    fn unknown_keys_are_named() {
        assert!(
            err("[content]\ndri = \"x\"").contains("dri"),
            "{}",
            err("[content]\ndri = 1")
        );
        assert!(err("[nope]\n").contains("nope"));
        assert!(err("[answer]\nresults = 0").contains("answer.results"));
        assert!(err("[content]\nbase_url = \"example.org\"").contains("content.base_url"));
        assert!(
            err("[discord]\nshards = { first = 2, count = 2, total = 3 }")
                .contains("discord.shards")
        );
        assert!(err("[content]\nmax_file_bytes = \"big\"").contains("max_file_bytes"));
    }

    #[test]
    fn where_the_bot_speaks() {
        let s = Settings::from_toml(
            "[discord]\nchannels = [10]\nquiet_channels = [20]\nauto_reply_channels = [30]\n\
             auto_reply_min_score = 2.5\n[discord.channel_tags]\n\"30\" = [\"Health\", \"sleep\"]\n",
            Path::new("/b"),
        )
        .unwrap();
        let c = &s.discord.channels;
        assert_eq!(c.auto_reply_min_score, 2.5);
        assert!(c.is_allowed(10, None) && c.is_allowed(30, None));
        assert!(!c.is_allowed(11, None) && !c.is_allowed(20, None));
        assert!(c.is_allowed(99, Some(10)), "a thread of an allowed channel");
        assert!(c.is_quiet(99, Some(20)) && !c.is_allowed(99, Some(20)));
        assert!(c.auto_replies(30, None) && c.auto_replies(31, Some(30)));
        assert!(!c.auto_replies(10, None));
        assert_eq!(c.tags_of(30, None), ["health", "sleep"]);
        assert!(c.tags_of(10, None).is_empty());
        let d = Settings::from_toml("", Path::new("/b"))
            .unwrap()
            .discord
            .channels;
        assert!(d.is_allowed(1, None) && !d.auto_replies(1, None));
        assert_eq!(d.auto_reply_min_score, DEFAULT_AUTO_REPLY_MIN_SCORE);
        for (text, key) in [
            (
                "[discord]\nquiet_channels = [5]\nchannels = [5]",
                "discord.channels: channel 5",
            ),
            (
                "[discord]\nquiet_channels = [5]\nauto_reply_channels = [5]",
                "discord.auto_reply_channels: channel 5",
            ),
            ("[discord]\nchannels = [0]", "discord.channels: 0 is not"),
            (
                "[discord]\nauto_reply_min_score = -1.0",
                "discord.auto_reply_min_score",
            ),
            (
                "[discord.channel_tags]\ngeneral = [\"a\"]",
                "discord.channel_tags: \"general\"",
            ),
            (
                "[discord.channel_tags]\n\"7\" = []",
                "discord.channel_tags.\"7\": no tag",
            ),
            (
                "[discord.channel_tags]\n\"7\" = [\" \"]",
                "discord.channel_tags.\"7\": a tag",
            ),
            ("[discord]\nchannels = [\"general\"]", "discord.channels"),
            ("[curate]\nmin_similarity = 0.0", "curate.min_similarity"),
            ("[curate]\nmin_similarity = 1.5", "curate.min_similarity"),
            ("[feedback]\nmin_voters = 0", "feedback.min_voters"),
        ] {
            let e = err(text);
            assert!(e.contains(key), "{text}: {e}");
        }
    }

    #[test]
    fn conversation_idle_time_in_minutes() {
        let s = Settings::from_toml("[conversation]\nidle_minutes = 5", Path::new("/b")).unwrap();
        assert_eq!(s.conversation.idle_seconds, 300);
        let d = Settings::from_toml("", Path::new("/b")).unwrap();
        assert_eq!(d.conversation, ConversationSettings::default());
        assert_eq!(
            err("[conversation]\nidle_minutes = 0"),
            "conversation.idle_minutes: 0 is outside 1..=10080 (a week)"
        );
        let unknown = err("[conversation]\nidle_seconds = 60");
        assert!(
            unknown.contains("conversation") && unknown.contains("idle_seconds"),
            "{unknown}"
        );
    }

    #[test]
    fn type_errors_name_the_key_in_words() {
        assert_eq!(
            err("[index]\nthreads = \"four\""),
            "index.threads (line 2): expected a whole number, got \"four\""
        );
        assert_eq!(
            err("[answer]\nresults = -1"),
            "answer.results (line 2): expected a whole number, got -1"
        );
        assert_eq!(
            err("[discord]\nephemeral = \"yes\""),
            "discord.ephemeral (line 2): expected true or false, got \"yes\""
        );
        assert_eq!(
            err("[stats]\nweak_score = true"),
            "stats.weak_score (line 2): expected a number, got true"
        );
        assert_eq!(
            err("[content]\n\ntakeaway_headings = \"tl;dr\""),
            "content.takeaway_headings (line 3): expected a list [..], got \"tl;dr\""
        );
        assert_eq!(
            err("content = 3"),
            "content (line 1): expected a table { .. }, got 3"
        );
    }

    #[test]
    fn a_named_config_must_exist_the_default_one_may_not() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("config.toml");
        let err = Settings::load(&missing, &Overrides::default()).unwrap_err();
        assert!(format!("{err:#}").contains("config.toml"), "{err:#}");
        let s = Settings::load_or_defaults(&missing, &Overrides::default()).unwrap();
        assert_eq!(s.content.dir, dir.path().join("content"));
        std::fs::write(&missing, "[index]\ndir = \"memory\"\n").unwrap();
        let overrides = Overrides {
            content: Some("elsewhere".into()),
            index: None,
        };
        for s in [
            Settings::load(&missing, &overrides).unwrap(),
            Settings::load_or_defaults(&missing, &overrides).unwrap(),
        ] {
            assert_eq!(s.index, IndexLocation::Memory);
            assert_eq!(s.content.dir, Path::new("elsewhere"));
        }
    }

    #[test]
    fn sources_resolve_each_kind() {
        let s = Settings::from_toml(
            r#"
[[sources]]
name = "notes"
folder = "notes"
[[sources]]
name = "blog"
feed = "https://example.org/feed.xml"
refresh_minutes = 30
[[sources]]
name = "site"
sitemap = "https://example.org/sitemap.xml"
[[sources]]
name = "guides"
git = "https://example.org/guides.git"
branch = "main"
"#,
            Path::new("/base"),
        )
        .unwrap();
        let kinds: Vec<&SourceKind> = s.sources.list.iter().map(|s| &s.kind).collect();
        assert_eq!(
            kinds,
            [
                &SourceKind::Folder("/base/notes".into()),
                &SourceKind::Feed("https://example.org/feed.xml".into()),
                &SourceKind::Sitemap("https://example.org/sitemap.xml".into()),
                &SourceKind::Git {
                    url: "https://example.org/guides.git".into(),
                    branch: Some("main".into())
                },
            ]
        );
        assert_eq!(
            s.sources.list[1].refresh,
            Some(std::time::Duration::from_secs(1800))
        );
        assert_eq!(s.sources.synced().count(), 3);
        let all = s.content.folders();
        let folders: Vec<(&str, &Path, bool)> = all
            .iter()
            .map(|f| (f.prefix.as_str(), f.dir.as_path(), f.synced))
            .collect();
        assert_eq!(
            folders,
            [
                ("notes", Path::new("/base/notes"), false),
                ("blog", Path::new("/base/data/sources/blog"), true),
                ("site", Path::new("/base/data/sources/site"), true),
                ("guides", Path::new("/base/data/sources/guides"), true),
            ]
        );
    }

    #[test]
    fn without_sources_content_dir_is_the_one_folder() {
        let s = Settings::from_toml("[content]\ndir = \"articles\"", Path::new("/b")).unwrap();
        assert_eq!(
            s.content.folders(),
            [ContentFolder::plain("/b/articles".into())]
        );
        assert!(s.sources.list.is_empty());
    }

    #[test]
    fn bad_sources_name_their_table() {
        let cases = [
            ("[[sources]]\nname = \"a\"\n", "sources[0] (\"a\"): set exactly one of folder, feed, sitemap, git (found none)"),
            ("[[sources]]\nname = \"a\"\nfeed = \"https://x.org/f\"\ngit = \"g\"\n", "sources[0] (\"a\"): set exactly one of folder, feed, sitemap, git (found feed and git)"),
            ("[[sources]]\nfeed = \"https://x.org/f\"\n", "sources[0]: `name` is missing"),
            ("[[sources]]\nname = \"a b\"\nfeed = \"https://x.org/f\"\n", "sources[0] (\"a b\"): `name` may hold only"),
            ("[[sources]]\nname = \"a\"\nfeed = \"ftp://x.org/f\"\n", "sources[0] (\"a\"): `feed` \"ftp://x.org/f\" is not an http(s) URL"),
            ("[[sources]]\nname = \"a\"\nfeed = \"https://x.org/f\"\nbranch = \"main\"\n", "`branch` applies to git sources only"),
            ("[[sources]]\nname = \"a\"\nfolder = \"x\"\nrefresh_minutes = 5\n", "sources[0] (\"a\"): `refresh_minutes` applies to feed"),
            ("[[sources]]\nname = \"a\"\nfolder = \"x\"\n[[sources]]\nname = \"a\"\nfolder = \"y\"\n", "sources[1] (\"a\"): another source is already named \"a\""),
            ("[content]\ndir = \"c\"\n[[sources]]\nname = \"a\"\nfolder = \"x\"\n", "content.dir: set together with [[sources]]"),
        ];
        for (text, expected) in cases {
            let got = err(text);
            assert!(
                got.starts_with(expected) || got.contains(expected),
                "{text}\n  got: {got}"
            );
        }
        let unknown = err("[[sources]]\nname = \"a\"\nfed = \"https://x.org/f\"\n");
        assert!(
            unknown.starts_with("sources[0].fed (line ") && unknown.contains("unknown field `fed`"),
            "{unknown}"
        );
    }

    #[test]
    fn sync_limits_default_to_todays_and_are_checked() {
        let d = Settings::from_toml("", Path::new("/b")).unwrap();
        assert_eq!(d.sources.sync, SyncSettings::default());
        assert_eq!(d.sources.sync.timeout, std::time::Duration::from_secs(20));
        assert_eq!(d.sources.sync.max_bytes, 8 * 1024 * 1024);
        assert_eq!(d.sources.sync.max_redirects, 5);
        let s = Settings::from_toml(
            "[sync]\ntimeout_seconds = 3\nmax_bytes = 4096\nmax_redirects = 0\n\
             source_budget_seconds = 30\n",
            Path::new("/b"),
        )
        .unwrap();
        assert_eq!(
            s.sources.sync,
            SyncSettings {
                timeout: std::time::Duration::from_secs(3),
                max_bytes: 4096,
                max_redirects: 0,
                source_budget: std::time::Duration::from_secs(30),
            }
        );
        for (text, expected) in [
            (
                "[sync]\ntimeout_seconds = 0",
                "sync.timeout_seconds: 0 is outside 1..=600",
            ),
            (
                "[sync]\ntimeout_seconds = 86400",
                "sync.timeout_seconds: 86400 is outside",
            ),
            (
                "[sync]\nmax_bytes = 0",
                "sync.max_bytes: 0 is outside 1024..=",
            ),
            (
                "[sync]\nmax_bytes = 99999999999",
                "sync.max_bytes: 99999999999 is outside",
            ),
            (
                "[sync]\nmax_redirects = 100",
                "sync.max_redirects: 100 is outside 0..=20",
            ),
            (
                "[sync]\nsource_budget_seconds = 0",
                "sync.source_budget_seconds: 0 is outside",
            ),
            (
                "[sync]\nmax_bytes = \"8M\"",
                "sync.max_bytes (line 2): expected a whole number",
            ),
            ("[sync]\ntimeout = 5", "unknown field `timeout`"),
        ] {
            let e = err(text);
            assert!(e.contains(expected), "{text}\n  got: {e}");
        }
    }

    #[test]
    fn refresh_in_minutes_or_seconds() {
        let s = Settings::from_toml(
            "[[sources]]\nname = \"a\"\nfeed = \"https://x.org/f\"\nrefresh_seconds = 2\n\
             [[sources]]\nname = \"b\"\nfeed = \"https://x.org/g\"\nrefresh_minutes = 2\n",
            Path::new("/b"),
        )
        .unwrap();
        let every: Vec<_> = s.sources.list.iter().map(|s| s.refresh).collect();
        assert_eq!(
            every,
            [
                Some(std::time::Duration::from_secs(2)),
                Some(std::time::Duration::from_secs(120))
            ]
        );
        for (text, expected) in [
            (
                "refresh_seconds = 0\n",
                "sources[0] (\"a\"): `refresh_seconds` must be at least 1",
            ),
            (
                "refresh_minutes = 0\n",
                "sources[0] (\"a\"): `refresh_minutes` must be at least 1",
            ),
            (
                "refresh_minutes = 1\nrefresh_seconds = 30\n",
                "sources[0] (\"a\"): set one of `refresh_minutes` and `refresh_seconds`",
            ),
        ] {
            let text = format!("[[sources]]\nname = \"a\"\nfeed = \"https://x.org/f\"\n{text}");
            let e = err(&text);
            assert!(e.contains(expected), "{text}\n  got: {e}");
        }
        let e = err("[[sources]]\nname = \"a\"\nfolder = \"x\"\nrefresh_seconds = 5\n");
        assert!(
            e.contains("sources[0] (\"a\"): `refresh_seconds` applies to feed"),
            "{e}"
        );
    }

    #[test]
    fn announcements_are_checked() {
        let d = Settings::from_toml("", Path::new("/b")).unwrap().discord;
        assert_eq!(d.announce_channel_id, None);
        assert_eq!(d.announce_digest_over, DEFAULT_ANNOUNCE_DIGEST_OVER);
        let s = Settings::from_toml(
            "[discord]\nannounce_channel_id = 77\nannounce_digest_over = 0\n",
            Path::new("/b"),
        )
        .unwrap()
        .discord;
        assert_eq!(
            (s.announce_channel_id, s.announce_digest_over),
            (Some(77), 0)
        );
        for (text, expected) in [
            (
                "announce_channel_id = 0",
                "discord.announce_channel_id: 0 is not a channel id",
            ),
            (
                "announce_channel_id = 5\nquiet_channels = [5]",
                "discord.announce_channel_id: channel 5 is also in discord.quiet_channels",
            ),
            (
                "announce_digest_over = 26",
                "discord.announce_digest_over: 26 is outside 0..=25",
            ),
            (
                "announce_digest_over = -1",
                "discord.announce_digest_over (line 2): expected",
            ),
            (
                "announce_channel_id = \"news\"",
                "discord.announce_channel_id (line 2): expected",
            ),
        ] {
            let e = err(&format!("[discord]\n{text}"));
            assert!(e.contains(expected), "{text}\n  got: {e}");
        }
    }

    #[test]
    fn memory_index() {
        let s = Settings::from_toml("[index]\ndir = \"memory\"", Path::new("/b")).unwrap();
        assert_eq!(s.index, IndexLocation::Memory);
    }
}
