//! The slash-command definitions, their registration (guild commands for each configured
//! guild, else global) and a stable hash of the definitions so that they are re-registered
//! only when they change (Discord allows 200 command creations a day per guild).

use std::path::{Path, PathBuf};

use serenity::builder::{CreateCommand, CreateCommandOption};
use serenity::http::Http;
use serenity::model::application::CommandOptionType;
use serenity::model::id::GuildId;
use serenity::model::Permissions;

/// Names of the commands, as the interaction layer dispatches on them.
pub const ASK: &str = "ask";
pub const SEARCH: &str = "search";
pub const SUMMARY: &str = "summary";
pub const TAKEAWAYS: &str = "takeaways";
pub const ARTICLE: &str = "article";
pub const DISCUSS: &str = "discuss";
pub const RELOAD: &str = "reload";
pub const CHECK: &str = "check";
pub const STATS: &str = "stats";
pub const CURATE: &str = "curate";
/// `/curate`'s subcommands.
pub const CURATE_ADD: &str = "add";
pub const CURATE_LIST: &str = "list";
pub const CURATE_REMOVE: &str = "remove";
pub const CURATE_RESTORE: &str = "restore";

/// The option that points a member to an answer.
pub const TARGET: &str = "target";

/// Commands only moderators may run.
pub const MODERATOR_COMMANDS: &[&str] = &[RELOAD, CHECK, STATS, CURATE];

fn article_option(required: bool, what: &str) -> CreateCommandOption {
    CreateCommandOption::new(CommandOptionType::String, "article", what)
        .required(required)
        .set_autocomplete(true)
        .max_length(100)
}

/// `target`: a member to point to the answer, which is then posted publicly with one ping.
fn target_option() -> CreateCommandOption {
    CreateCommandOption::new(
        CommandOptionType::User,
        TARGET,
        "Point this member to the answer (posted in the channel, pinging only them)",
    )
    .required(false)
}

fn moderator(name: &str, description: &str) -> CreateCommand {
    CreateCommand::new(name)
        .description(description)
        .default_member_permissions(Permissions::MANAGE_GUILD)
        .dm_permission(false)
}

/// Every command the bot registers.
pub fn definitions() -> Vec<CreateCommand> {
    vec![
        CreateCommand::new(ASK)
            .description("Ask a question; the answer cites the passage it comes from")
            .add_option(
                CreateCommandOption::new(CommandOptionType::String, "question", "Your question")
                    .required(true)
                    .max_length(1000),
            )
            .add_option(article_option(false, "Only look in this article"))
            .add_option(target_option()),
        CreateCommand::new(SEARCH)
            .description("List the articles that match")
            .add_option(
                CreateCommandOption::new(CommandOptionType::String, "query", "Words to look for")
                    .required(true)
                    .max_length(200),
            )
            .add_option(
                CreateCommandOption::new(CommandOptionType::String, "tag", "Only this tag")
                    .required(false)
                    .max_length(100),
            ),
        CreateCommand::new(SUMMARY)
            .description("The summary of an article")
            .add_option(article_option(true, "Title, alias or slug"))
            .add_option(target_option()),
        CreateCommand::new(TAKEAWAYS)
            .description("The takeaways of an article, with their links")
            .add_option(article_option(true, "Title, alias or slug"))
            .add_option(target_option()),
        CreateCommand::new(ARTICLE)
            .description("An article's card: link, summary, tags, date, related articles")
            .add_option(article_option(true, "Title, alias or slug"))
            .add_option(target_option()),
        CreateCommand::new(DISCUSS)
            .description("Open a thread on an article; questions in it are answered from it")
            .add_option(article_option(true, "Title, alias or slug"))
            .dm_permission(false),
        moderator(RELOAD, "Moderators: re-read the articles and swap them in"),
        moderator(
            CHECK,
            "Moderators: check the articles and list rejected files",
        ),
        moderator(
            STATS,
            "Moderators: usage, questions asked and gaps in the articles",
        ),
        moderator(CURATE, "Moderators: pin an article to a question")
            .add_option(
                CreateCommandOption::new(
                    CommandOptionType::SubCommand,
                    CURATE_ADD,
                    "Pin an article (or one of its sections) to a question",
                )
                .add_sub_option(
                    CreateCommandOption::new(
                        CommandOptionType::String,
                        "question",
                        "The question (suggested: gaps and recent questions from /stats)",
                    )
                    .required(true)
                    .set_autocomplete(true)
                    .max_length(crate::curate::MAX_QUESTION_CHARS as u16),
                )
                .add_sub_option(article_option(true, "The article that answers it"))
                .add_sub_option(
                    CreateCommandOption::new(
                        CommandOptionType::String,
                        "section",
                        "Only this section of the article",
                    )
                    .required(false)
                    .set_autocomplete(true)
                    .max_length(100),
                )
                .add_sub_option(
                    CreateCommandOption::new(
                        CommandOptionType::String,
                        "note",
                        "A short note shown with the answer",
                    )
                    .required(false)
                    .max_length(crate::curate::MAX_NOTE_CHARS as u16),
                ),
            )
            .add_option(CreateCommandOption::new(
                CommandOptionType::SubCommand,
                CURATE_LIST,
                "This server's curated answers",
            ))
            .add_option(
                CreateCommandOption::new(
                    CommandOptionType::SubCommand,
                    CURATE_REMOVE,
                    "Unpin a curated answer",
                )
                .add_sub_option(
                    CreateCommandOption::new(
                        CommandOptionType::String,
                        "entry",
                        "The curated answer (its number)",
                    )
                    .required(true)
                    .set_autocomplete(true)
                    .max_length(100),
                ),
            )
            .add_option(
                CreateCommandOption::new(
                    CommandOptionType::SubCommand,
                    CURATE_RESTORE,
                    "Undo the demotion members' 👎 made of a passage for a question",
                )
                .add_sub_option(
                    CreateCommandOption::new(
                        CommandOptionType::String,
                        "answer",
                        "The passage and question (from the least helpful answers)",
                    )
                    .required(true)
                    .set_autocomplete(true)
                    .max_length(100),
                ),
            ),
    ]
}

/// A stable hash of the definitions (their JSON), hex.
pub fn definitions_hash() -> String {
    let json = serde_json::to_vec(&definitions()).expect("command definitions serialize");
    blake3::hash(&json).to_hex().to_string()
}

/// Where registrations are remembered: `scope` is `global` or a guild id.
fn marker(dir: &Path, scope: &str) -> PathBuf {
    dir.join(format!("discord-commands-{scope}.hash"))
}

/// Registers the commands (bulk overwrite) in each guild, or globally when `guilds` is empty,
/// unless the definitions hash recorded in `state_dir` for that scope is unchanged. Returns
/// how many scopes were (re-)registered.
pub async fn register(
    http: &Http,
    guilds: &[u64],
    state_dir: Option<&Path>,
) -> anyhow::Result<usize> {
    let hash = definitions_hash();
    let app = http
        .application_id()
        .map(|a| a.get().to_string())
        .unwrap_or_default();
    let scopes: Vec<Option<u64>> = if guilds.is_empty() {
        vec![None]
    } else {
        guilds.iter().copied().map(Some).collect()
    };
    let mut registered = 0;
    for scope in scopes {
        let name = scope.map_or("global".to_string(), |g| g.to_string());
        let stamp = format!("{app}:{hash}");
        let path = state_dir.map(|d| marker(d, &name));
        if let Some(p) = &path {
            if std::fs::read_to_string(p).ok().as_deref() == Some(stamp.as_str()) {
                tracing::info!("slash commands ({name}) unchanged; not re-registering");
                continue;
            }
        }
        match scope {
            Some(g) => {
                GuildId::new(g)
                    .set_commands(http, definitions())
                    .await
                    .map_err(|e| anyhow::anyhow!("cannot register commands in guild {g}: {e}"))?;
            }
            None => {
                serenity::model::application::Command::set_global_commands(http, definitions())
                    .await
                    .map_err(|e| anyhow::anyhow!("cannot register global commands: {e}"))?;
            }
        }
        registered += 1;
        tracing::info!("slash commands ({name}) registered");
        if let Some(p) = &path {
            if let Some(d) = p.parent() {
                let _ = std::fs::create_dir_all(d);
            }
            if let Err(e) = std::fs::write(p, &stamp) {
                tracing::warn!(
                    "cannot remember the command registration in {}: {e}",
                    p.display()
                );
            }
        }
    }
    Ok(registered)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn definitions_are_valid_for_discord() {
        let defs = serde_json::to_value(definitions()).unwrap();
        let defs = defs.as_array().unwrap();
        assert_eq!(defs.len(), 10);
        for d in defs {
            let name = d["name"].as_str().unwrap();
            assert!((1..=32).contains(&name.len()) && name == name.to_lowercase());
            let desc = d["description"].as_str().unwrap();
            assert!((1..=100).contains(&desc.chars().count()), "{desc}");
            // The README's list, not MODERATOR_COMMANDS (which the code itself uses).
            let moderator = matches!(name, "reload" | "check" | "stats" | "curate");
            assert_eq!(
                d["default_member_permissions"].as_str() == Some("32"),
                moderator,
                "{name}"
            );
        }
    }
}
