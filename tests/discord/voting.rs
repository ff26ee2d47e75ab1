//! 👍/👎 under answers: one vote per member per answer (changeable), no effect below the
//! minimum of distinct voters, a demotion from it, `/stats` listing the least helpful answers
//! and `/curate restore` undoing a demotion.

use serde_json::Value;

use super::fake;
use super::*;

const QUESTION: &str = "how long does compost take";

/// The first line of an answer's description: which passage leads.
fn lead(seen: &Seen) -> String {
    seen.embed(0)["description"]
        .as_str()
        .unwrap_or("")
        .lines()
        .next()
        .unwrap_or("")
        .to_string()
}

async fn vote(rig: &Rig, member: &Value, answer: &Seen, up: bool) -> Seen {
    let prefix = if up { "abv:u:" } else { "abv:d:" };
    let id = answer
        .buttons()
        .into_iter()
        .find(|b| b.1.starts_with(prefix))
        .unwrap_or_else(|| panic!("no vote button in {:?}", answer.buttons()))
        .1;
    let seen = rig
        .press(member, answer.message.as_ref().unwrap(), &id)
        .await;
    assert!(seen.ephemeral());
    assert!(seen.content().starts_with("Thanks"), "{}", seen.content());
    seen
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn votes_demote_a_passage_only_from_the_minimum_and_a_moderator_restores_it() {
    let rig = rig_with(Options {
        tune: Box::new(|s| s.discord.ephemeral = false),
        ..Options::default()
    })
    .await;
    let first = rig.slash(&ann(), "ask", &[("question", QUESTION)]).await;
    let original = lead(&first);
    assert!(original.contains("How Long It Takes"), "{original}");
    // One member pressing many times, and changing their mind: one voter.
    for _ in 0..20 {
        vote(&rig, &ann(), &first, false).await;
    }
    vote(&rig, &ann(), &first, true).await;
    vote(&rig, &ann(), &first, false).await;
    // A second account: still below the minimum (3), nobody's answer changes.
    vote(&rig, &bob(), &first, false).await;
    let second = rig.slash(&ann(), "ask", &[("question", QUESTION)]).await;
    assert_eq!(lead(&second), original);
    // A third member: the passage is demoted for this question (moved after the others).
    vote(&rig, &sam(), &first, false).await;
    let third = rig
        .slash(
            &bob(),
            "ask",
            &[("question", "How long does composting take?")],
        )
        .await;
    assert_ne!(lead(&third), original, "{}", third.embed(0));
    let stats = rig.slash(&mia(), "stats", &[]).await;
    assert!(
        stats.content().contains("Least helpful answers"),
        "{}",
        stats.content()
    );
    assert!(stats.content().contains("3/0 by 3"), "{}", stats.content());
    assert!(stats.content().contains("demoted"), "{}", stats.content());
    assert!(
        stats.content().contains("Passages most often voted down"),
        "{}",
        stats.content()
    );
    // Another question is untouched.
    let other = rig
        .slash(&ann(), "ask", &[("question", "how do pegs break")])
        .await;
    assert_eq!(other.embed(0)["title"], "Stablecoins and Their Pegs");
    // A moderator restores it.
    let offered = rig
        .send(fake::subcommand_autocomplete(
            &rig.fake,
            &mia(),
            "curate",
            "restore",
            &[("answer", "")],
            "answer",
        ))
        .await;
    let value = offered.body["choices"][0]["value"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(offered.body["choices"][0]["name"]
        .as_str()
        .unwrap()
        .starts_with("[demoted]"));
    let restored = rig
        .send(fake::subcommand(
            &rig.fake,
            &mia(),
            "curate",
            "restore",
            &[("answer", &value)],
        ))
        .await;
    assert!(
        restored.content().starts_with("Restored"),
        "{}",
        restored.content()
    );
    let after = rig.slash(&ann(), "ask", &[("question", QUESTION)]).await;
    assert_eq!(lead(&after), original);
    // Members cannot restore.
    let refused = rig
        .send(fake::subcommand(
            &rig.fake,
            &ann(),
            "curate",
            "restore",
            &[("answer", &value)],
        ))
        .await;
    assert_eq!(refused.content(), "This command is for moderators only.");
    rig.stop().await;
}
