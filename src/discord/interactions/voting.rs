//! Feedback on answers: the 👍/👎 row under an answer to a question, a press recorded as the
//! member's one vote on that answer (a new press replaces it), the demotions votes make
//! applied to answers, and what `/stats` and `/curate restore` show of them. The rules (who
//! counts, when a passage is demoted) are [`crate::feedback`]'s.

use std::sync::Arc;

use serenity::builder::{CreateActionRow, CreateButton};
use serenity::model::application::{ButtonStyle, ComponentInteraction};

use super::super::buttons::VoteButton;
use super::deferred::Reply;
use super::notices::{ephemeral, FAILED};
use super::Bot;
use crate::answer::{Answer, AskAnswer};
use crate::conversation::{Intent, Response, Turn};
use crate::feedback::{passage_key, question_hash, NewVote, Vote};
use crate::service::Asker;

/// The 👍/👎 buttons for an answer to a question with a passage; `None` for any other answer
/// (or when the passage's name does not fit in a custom id).
pub(super) fn vote_buttons(answer: &AskAnswer) -> Option<Vec<CreateButton>> {
    let top = answer.results.first()?;
    let question = question_hash(&answer.question);
    let passage = passage_key(&top.slug, top.section.as_deref());
    let id = |up| {
        VoteButton {
            up,
            question: question.clone(),
            passage: passage.clone(),
        }
        .custom_id()
    };
    Some(vec![
        CreateButton::new(id(true)?)
            .emoji('👍')
            .style(ButtonStyle::Secondary),
        CreateButton::new(id(false)?)
            .emoji('👎')
            .style(ButtonStyle::Secondary),
    ])
}

/// The answer a turn gave to a question, if it was one.
pub(super) fn asked(turn: &Turn) -> Option<&AskAnswer> {
    match (&turn.intent, &turn.response) {
        (Intent::Ask, Response::Answer(Answer::Ask(a))) => Some(a),
        _ => None,
    }
}

/// Appends the vote buttons for `answer` to `rows`: to the last row when it has room, else
/// as a row of their own.
pub(super) fn add_vote_buttons(rows: &mut Vec<CreateActionRow>, answer: Option<&AskAnswer>) {
    let Some(votes) = answer.and_then(vote_buttons) else {
        return;
    };
    match rows.last_mut() {
        Some(CreateActionRow::Buttons(row)) if row.len() + votes.len() <= 5 => row.extend(votes),
        _ => rows.push(CreateActionRow::Buttons(votes)),
    }
}

/// A press on 👍/👎: the member's vote on the answer the buttons are under (one per member and
/// answer; pressing again, or the other one, replaces it). The voter is kept as the
/// statistics' keyed hash, never their id.
pub(super) async fn press(bot: &Arc<Bot>, ci: &ComponentInteraction, button: VoteButton) -> Reply {
    let guild = ci.guild_id.map_or(0, |g| g.get());
    let asker = Asker::user(ci.user.id.get().to_string()).in_guild(Some(guild));
    let voter = bot.service.hash_asker(&asker);
    let answer = ci.message.id.get();
    // The question's text, from the answer's footer ("Asked: …"), for /stats.
    let question = ci.message.embeds.iter().find_map(|e| {
        e.footer
            .as_ref()
            .and_then(|f| f.text.strip_prefix("Asked: "))
            .map(str::to_string)
    });
    let vote = if button.up { Vote::Up } else { Vote::Down };
    let feedback = bot.feedback.clone();
    let ballot = NewVote {
        guild,
        answer,
        voter,
        question: button.question,
        passage: button.passage,
        vote,
    };
    let recorded =
        tokio::task::spawn_blocking(move || feedback.vote(&ballot, question.as_deref())).await;
    match recorded {
        Ok(Ok(())) => ephemeral(match vote {
            Vote::Up => "Thanks: your 👍 is recorded (press 👎 to change it).",
            Vote::Down => "Thanks: your 👎 is recorded (press 👍 to change it).",
        }),
        Ok(Err(e)) => {
            tracing::error!("recording a vote: {e:#}");
            ephemeral(FAILED)
        }
        Err(e) => {
            tracing::error!("recording a vote: {e}");
            ephemeral(FAILED)
        }
    }
}

impl Bot {
    /// Moves the passages demoted in `guild` for the question a turn answered after the
    /// others (the question as the engine read it, as the vote buttons carry it).
    pub(super) fn demote(&self, guild: u64, turn: &mut Turn) {
        if let (Intent::Ask, Response::Answer(Answer::Ask(a))) = (&turn.intent, &mut turn.response)
        {
            let question = a.question.clone();
            self.feedback.demote(guild, &question, a);
        }
    }

    /// `/stats`' lines on the guild's least helpful answers and the passages most often voted
    /// down (none: empty). Reads the store: call it off the async runtime.
    pub(super) fn least_helpful_text(&self, guild: u64) -> String {
        let (worst, passages) = match self.feedback.vote_summary(guild, 5, 3) {
            Ok(summary) => summary,
            Err(e) => {
                tracing::warn!("reading votes: {e:#}");
                return String::new();
            }
        };
        if worst.is_empty() {
            return String::new();
        }
        let mut out = String::from("\nLeast helpful answers (👎/👍 by distinct members):\n");
        for (t, demoted) in worst {
            let question = t
                .question
                .map(|q| format!("“{q}”"))
                .unwrap_or_else(|| format!("question {}", t.question_hash));
            out.push_str(&format!(
                "{} for {question}: {}/{} by {}{}\n",
                t.passage,
                t.down,
                t.up,
                t.voters,
                if demoted {
                    " (demoted; /curate restore undoes it)"
                } else {
                    ""
                }
            ));
        }
        out.push_str("Passages most often voted down (👎/👍, all questions):\n");
        for (passage, down, up) in passages {
            out.push_str(&format!("{passage}: {down}/{up}\n"));
        }
        out
    }
}
