//! The moderator commands and their scope: `/stats` and `/curate` for a guild's own
//! moderators, reporting and changing that guild's questions and curated answers only; `/reload` and `/check`, which act on the whole bot, for
//! moderators of the operator's guilds only (`discord.operator_guild_ids`; none configured:
//! nowhere on Discord). Their reports never show a path of the host: files are named relative
//! to the content folder, and any other absolute path becomes a placeholder.

use std::path::Path;
use std::sync::Arc;

use serenity::builder::{
    CreateInteractionResponse, CreateInteractionResponseMessage, EditInteractionResponse,
};
use serenity::model::application::CommandInteraction;

use super::super::commands;
use super::super::render::{self, no_pings};
use super::deferred::{Later, Pending, Reply};
use super::notices::{ephemeral, ephemeral_raw, FAILED, MODERATORS_ONLY};
use super::Bot;

/// The refusal of `/reload` or `/check` when no operator guild is configured.
pub(super) const NO_OPERATOR_GUILDS: &str = "This command acts on the whole bot, so it runs \
     only in the operator's servers, and none is configured: the operator adds this server's \
     id to `discord.operator_guild_ids`. Until then, reload with SIGHUP and check with \
     `articlebot check`.";

/// The refusal of `/reload` or `/check` in a guild that is not the operator's.
pub(super) const NOT_AN_OPERATOR_GUILD: &str = "This command acts on the whole bot, so it runs \
     only in the operator's servers (`discord.operator_guild_ids`), and this server is not \
     one of them.";

/// Stands for the content folder in reports.
const CONTENT_FOLDER: &str = "<content>";
/// Stands for any other path of the host.
const HOST_PATH: &str = "<path>";

/// `/reload`, `/check` or `/stats` (`name`), with their checks.
pub(super) async fn command(bot: &Arc<Bot>, ci: &CommandInteraction, name: &str) -> Reply {
    let guild = ci.guild_id.map(|g| g.get());
    let (Some(guild), true) = (guild, bot.is_moderator(ci.member.as_deref())) else {
        return ephemeral(MODERATORS_ONLY);
    };
    let who = ci
        .member
        .as_deref()
        .map(|m| m.display_name().to_string())
        .unwrap_or_else(|| ci.user.display_name().to_string());
    let service = bot.service.clone();
    let content = service.settings().content.dir.clone();
    if name == commands::CURATE {
        return super::curating::command(bot, ci, guild).await;
    }
    if name == commands::STATS {
        let text = match service.stats_report(guild).await {
            Ok(report) => {
                let mut text = crate::render::stats_report(&report);
                text.push_str(&bot.orphans_text(Some(guild)));
                let votes = bot.clone();
                let votes = tokio::task::spawn_blocking(move || votes.least_helpful_text(guild))
                    .await
                    .unwrap_or_default();
                text.push_str(&votes);
                render::report("Statistics", &hide_paths(&text, &content))
            }
            Err(e) => {
                tracing::error!("/stats: {e:#}");
                render::notice(FAILED)
            }
        };
        return ephemeral_raw(text);
    }
    let operators = &bot.settings.operator_guild_ids;
    if operators.is_empty() {
        return ephemeral(NO_OPERATOR_GUILDS);
    }
    if !operators.contains(&guild) {
        return ephemeral(NOT_AN_OPERATOR_GUILD);
    }
    let work: Pending<String> = match name {
        commands::RELOAD => Box::pin({
            let bot = bot.clone();
            async move {
                let (report, everywhere) = service.reload_from_guild(&who, guild).await;
                let mut text = crate::render::reload_report(&report);
                if let Some(everywhere) = &everywhere {
                    text = with_instances(&text, everywhere);
                }
                // Checked against the library the reload left serving.
                text.push_str(&bot.orphans_text(Some(guild)));
                render::report("Reload", &hide_paths(&text, &content))
            }
        }),
        commands::CHECK => Box::pin(async move {
            match service.check().await {
                Ok(report) => {
                    let text = crate::render::check_report(&report);
                    render::report("Content check", &hide_paths(&text, &content))
                }
                Err(e) => render::notice(&hide_paths(
                    &format!("The check could not run: {e:#}"),
                    &content,
                )),
            }
        }),
        _ => return ephemeral("Unknown command."),
    };
    // A reload or a check can outlast the 3 s window: always defer.
    Reply::Deferred {
        ack: CreateInteractionResponse::Defer(
            CreateInteractionResponseMessage::new().ephemeral(true),
        ),
        then: Later::edit(async move {
            EditInteractionResponse::new()
                .content(work.await)
                .allowed_mentions(no_pings())
        }),
    }
}

/// Instance lines shown at most in a `/reload` reply (the rest are counted): with
/// [`INSTANCE_LINE_CHARS`] at most 1,200 characters, so that the lines and the count fit
/// Discord's 2,000 beside the report's first line.
const INSTANCE_LINES: usize = 10;
/// Characters of one instance's line at most (a long failure reason is cut).
const INSTANCE_LINE_CHARS: usize = 120;

/// The reload report `text` with a line per instance after its first line (so that long
/// lists of articles, cut first at Discord's limit, never push them out).
fn with_instances(text: &str, everywhere: &crate::reload::InstancesReport) -> String {
    use crate::reload::InstanceStatus;
    let (first, rest) = text.split_once('\n').unwrap_or((text, ""));
    let mut lines = vec![first.to_string()];
    let n = everywhere.instances.len();
    lines.push(format!("Instances ({n}):"));
    let waited = everywhere.waited.as_secs_f32();
    for i in everywhere.instances.iter().take(INSTANCE_LINES) {
        let who = if i.this {
            format!("{} (this one)", i.name)
        } else {
            i.name.clone()
        };
        let what = match &i.status {
            InstanceStatus::Applied(outcome) => format!("applied: {outcome}"),
            InstanceStatus::Failed(outcome) => format!("failed: {outcome}"),
            InstanceStatus::NoReport => format!("did not answer within {waited} s"),
            InstanceStatus::NotSeenFor(s) => {
                format!("did not answer: not seen for {s} s (stopped?), not waited for")
            }
        };
        lines.push(crate::text::truncate(
            &format!("- {who}: {what}"),
            INSTANCE_LINE_CHARS,
        ));
    }
    if n > INSTANCE_LINES {
        lines.push(format!("- … and {} more", n - INSTANCE_LINES));
    }
    if let Some(why) = &everywhere.unreachable {
        lines.push(crate::text::truncate(
            &format!(
                "The shared state does not answer ({why}); the other instances reload when \
                 they are told."
            ),
            2 * INSTANCE_LINE_CHARS,
        ));
    }
    let mut out = lines.join("\n");
    out.push('\n');
    out.push_str(rest);
    out
}

/// `text` without the host's paths: files of the content folder relative to it, the folder
/// itself as `<content>`, any other absolute path as `<path>`.
pub fn hide_paths(text: &str, content: &Path) -> String {
    let mut forms: Vec<String> = [
        std::path::absolute(content).ok(),
        content.canonicalize().ok(),
    ]
    .into_iter()
    .flatten()
    .map(|p| p.to_string_lossy().trim_end_matches('/').to_string())
    .filter(|p| !p.is_empty())
    .collect();
    // The longest first, so that a resolved form is not cut by a shorter one it contains.
    forms.sort_by_key(|f| std::cmp::Reverse(f.len()));
    forms.dedup();
    let mut out = text.to_string();
    for form in &forms {
        out = out.replace(&format!("{form}/"), "");
        out = out.replace(form.as_str(), CONTENT_FOLDER);
    }
    hide_absolute(&out)
}

/// Every absolute path left in `text` (a `/` that starts a word and is followed by a name)
/// replaced by `<path>`; a path ends at white space, a colon, a quote, a comma or a bracket.
fn hide_absolute(text: &str) -> String {
    let ends = |c: char| c.is_whitespace() || matches!(c, ':' | '"' | '\'' | ',' | ')' | ']' | '`');
    let mut out = String::with_capacity(text.len());
    let mut chars = text.char_indices().peekable();
    let mut prev: Option<char> = None;
    while let Some((i, c)) = chars.next() {
        let starts_word = prev
            .is_none_or(|p| p.is_whitespace() || matches!(p, '(' | '[' | '"' | '\'' | '=' | '`'));
        let named = text[i + c.len_utf8()..]
            .chars()
            .next()
            .is_some_and(|n| n.is_alphanumeric() || matches!(n, '.' | '_' | '-' | '~'));
        if c == '/' && starts_word && named {
            out.push_str(HOST_PATH);
            let mut last = c;
            while let Some(&(_, n)) = chars.peek() {
                if ends(n) {
                    break;
                }
                last = n;
                chars.next();
            }
            prev = Some(last);
            continue;
        }
        out.push(c);
        prev = Some(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_of_the_host_are_hidden() {
        let dir = tempfile::tempdir().unwrap();
        let content = dir.path().join("content");
        std::fs::create_dir(&content).unwrap();
        let c = content.display();
        let check =
            |text: String, expected: &str| assert_eq!(hide_paths(&text, &content), expected);
        check(
            format!("content folder {c}: No such file or directory"),
            "content folder <content>: No such file or directory",
        );
        check(
            format!("{c}/notes/a.md:3: skipped: bad front matter"),
            "notes/a.md:3: skipped: bad front matter",
        );
        check(
            "cannot move the new index into /srv/bot/data/index: Permission denied".into(),
            "cannot move the new index into <path>: Permission denied",
        );
        check(
            "link.md: skipped: a symbolic link to \"/etc/passwd\", outside".into(),
            "link.md: skipped: a symbolic link to \"<path>\", outside",
        );
        check("/root at the start".into(), "<path> at the start");
        // What is not an absolute path stays: relative paths, URLs, fractions, a lone slash.
        for kept in [
            "notes/a.md: note: url https://example.org/a/b dropped",
            "reloaded 5 articles (+1 −0 ~0), 1/2 done, a / b",
            "kept the old content: 2 file(s) rejected and strict_reload is on",
        ] {
            check(kept.into(), kept);
        }
    }

    #[test]
    fn a_content_folder_given_relative_is_hidden_as_resolved() {
        let cwd = std::env::current_dir().unwrap();
        let text = format!("content folder {}/nowhere: missing", cwd.display());
        assert_eq!(
            hide_paths(&text, Path::new("nowhere")),
            "content folder <content>: missing"
        );
    }
}
