//! Curated answers through the local Discord: `/curate add` → a close question gets the
//! pinned passage first → `/curate remove` → it does not; moderators only (server-side, and
//! for the autocomplete that shows the guild's questions); the abuse cases (a 5,000-character
//! question, a pin whose article is removed); kept across restarts.

use serde_json::{json, Value};

use super::fake::{self, BOT_ID, CHANNEL_ID};
use super::*;

/// `/curate sub` with `options`, by `member`.
async fn curate(rig: &Rig, member: &Value, sub: &str, options: &[(&str, &str)]) -> Seen {
    let payload = fake::subcommand(&rig.fake, member, "curate", sub, options);
    rig.send(payload).await
}

/// Mentions the bot with `question` as ann; the bot's reply.
async fn mention(rig: &Rig, question: &str) -> Msg {
    let payload = fake::user_message(
        &rig.fake,
        CHANNEL_ID,
        (111, "ann"),
        &format!("<@{BOT_ID}> {question}"),
        true,
        None,
    );
    let id = payload["id"].clone();
    rig.fake.dispatch("MESSAGE_CREATE", payload);
    rig.fake
        .wait("the bot's reply", |r| {
            r.messages
                .iter()
                .find(|m| {
                    m.interaction.is_none() && m.body["message_reference"]["message_id"] == id
                })
                .cloned()
        })
        .await
}

fn first_title(m: &Msg) -> String {
    m.body["embeds"][0]["title"]
        .as_str()
        .unwrap_or("")
        .to_string()
}

const PINNED: &str = "Chosen by the moderators: Home Composting Basics › Greens and Browns";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pinned_passage_comes_first_until_it_is_removed() {
    let rig = rig().await;
    let question = "what goes with banana peels";
    let before = mention(&rig, question).await;
    assert_ne!(first_title(&before), PINNED);
    let added = curate(
        &rig,
        &mia(),
        "add",
        &[
            ("question", "What goes with banana peels?"),
            ("article", "Home Composting Basics"),
            ("section", "greens and browns"),
            ("note", "mix them with dry leaves"),
        ],
    )
    .await;
    assert!(added.ephemeral());
    assert!(
        added.content().starts_with("Curated answer #"),
        "{}",
        added.content()
    );
    // A close question (another form of the same words) gets the pin first, marked.
    let after = mention(&rig, "What goes with a banana peel?").await;
    assert_eq!(first_title(&after), PINNED, "{}", after.body);
    let pin = &after.body["embeds"][0];
    assert!(
        pin["description"].as_str().unwrap().contains("dry leaves"),
        "{pin}"
    );
    assert!(pin["footer"]["text"]
        .as_str()
        .unwrap()
        .contains("mix them with dry leaves"));
    assert_eq!(after.body["allowed_mentions"]["parse"], json!([]));
    // /ask too.
    let asked = rig.slash(&ann(), "ask", &[("question", question)]).await;
    assert_eq!(asked.embed(0)["title"], PINNED);
    // Listed, then removed (its number from the autocomplete, as Discord offers it).
    let list = curate(&rig, &mia(), "list", &[]).await;
    assert!(
        list.content()
            .contains("Home Composting Basics › Greens and Browns"),
        "{}",
        list.content()
    );
    let offered = rig
        .send(fake::subcommand_autocomplete(
            &rig.fake,
            &mia(),
            "curate",
            "remove",
            &[("entry", "banana")],
            "entry",
        ))
        .await;
    let id = offered.body["choices"][0]["value"]
        .as_str()
        .unwrap()
        .to_string();
    let removed = curate(&rig, &mia(), "remove", &[("entry", &id)]).await;
    assert_eq!(removed.content(), format!("Removed curated answer #{id}."));
    let gone = mention(&rig, question).await;
    assert_ne!(first_title(&gone), PINNED);
    let again = curate(&rig, &mia(), "remove", &[("entry", &id)]).await;
    assert!(
        again.content().contains("no curated answer"),
        "{}",
        again.content()
    );
    rig.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn curating_is_for_moderators_only() {
    let rig = rig().await;
    // Asked once, so that the statistics hold a question to suggest.
    rig.slash(&ann(), "ask", &[("question", "how do volcanoes erupt")])
        .await;
    for sub in ["add", "list", "remove"] {
        let options: &[(&str, &str)] = match sub {
            "add" => &[("question", "how do volcanoes erupt"), ("article", "sleep")],
            "remove" => &[("entry", "1")],
            _ => &[],
        };
        let seen = curate(&rig, &ann(), sub, options).await;
        assert!(seen.ephemeral());
        assert_eq!(
            seen.content(),
            "This command is for moderators only.",
            "{sub}"
        );
    }
    // The question suggestions are the guild's own questions: not for members either.
    let typed = [("question", "volc")];
    let member = rig
        .send(fake::subcommand_autocomplete(
            &rig.fake,
            &ann(),
            "curate",
            "add",
            &typed,
            "question",
        ))
        .await;
    assert_eq!(member.body["choices"], json!([]), "{}", member.body);
    let moderator = rig
        .send(fake::subcommand_autocomplete(
            &rig.fake,
            &sam(),
            "curate",
            "add",
            &typed,
            "question",
        ))
        .await;
    let choices: Vec<&str> = moderator.body["choices"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["value"].as_str().unwrap())
        .collect();
    assert_eq!(choices[0], "volc", "what was typed comes first");
    assert!(
        choices.contains(&"how do volcanoes erupt"),
        "a gap: {choices:?}"
    );
    // Nothing was pinned by the refused add.
    let list = curate(&rig, &mia(), "list", &[]).await;
    assert!(list.content().contains("None yet"), "{}", list.content());
    rig.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_pins_are_refused_with_the_reason() {
    let rig = rig().await;
    let long = "compost?".repeat(625);
    let seen = curate(
        &rig,
        &mia(),
        "add",
        &[("question", &long), ("article", "sleep")],
    )
    .await;
    assert!(
        seen.content().contains("5000 characters"),
        "{}",
        seen.content()
    );
    assert!(seen.content().chars().count() <= 2000);
    let seen = curate(
        &rig,
        &mia(),
        "add",
        &[("question", "sleep"), ("article", "no such article")],
    )
    .await;
    assert!(
        seen.content().contains("no article is called"),
        "{}",
        seen.content()
    );
    let seen = curate(
        &rig,
        &mia(),
        "add",
        &[
            ("question", "sleep"),
            ("article", "Why Sleep Matters"),
            ("section", "Dreams"),
        ],
    )
    .await;
    assert!(
        seen.content().contains("has no section"),
        "{}",
        seen.content()
    );
    let seen = curate(
        &rig,
        &mia(),
        "add",
        &[("question", "what is it?"), ("article", "sleep")],
    )
    .await;
    assert!(
        seen.content().contains("no word to match"),
        "{}",
        seen.content()
    );
    let list = curate(&rig, &mia(), "list", &[]).await;
    assert!(list.content().contains("None yet"), "{}", list.content());
    rig.stop().await;
}

/// The pinned article is removed: the pin stays (reported by /reload, /stats and /curate
/// list), is no longer used, and works again if the article returns.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pin_whose_article_is_removed_is_reported_not_dropped() {
    let rig = rig().await;
    curate(
        &rig,
        &mia(),
        "add",
        &[
            ("question", "lights after dark"),
            ("article", "Urban Cycling Safety"),
        ],
    )
    .await;
    let pinned = mention(&rig, "which lights after dark?").await;
    assert!(
        first_title(&pinned).starts_with("Chosen by the moderators"),
        "{}",
        pinned.body
    );
    let file = rig.f.content().join("cycling.md");
    let text = std::fs::read_to_string(&file).unwrap();
    std::fs::remove_file(&file).unwrap();
    let reload = rig.slash(&mia(), "reload", &[]).await;
    assert!(
        reload
            .content()
            .contains("Curated answers whose article is gone (1"),
        "{}",
        reload.content()
    );
    assert!(
        reload.content().contains("lights after dark"),
        "{}",
        reload.content()
    );
    let stats = rig.slash(&mia(), "stats", &[]).await;
    assert!(
        stats
            .content()
            .contains("Curated answers whose article is gone"),
        "{}",
        stats.content()
    );
    let list = curate(&rig, &mia(), "list", &[]).await;
    assert!(
        list.content().contains("article missing"),
        "{}",
        list.content()
    );
    let unpinned = mention(&rig, "which lights after dark?").await;
    assert!(
        !first_title(&unpinned).starts_with("Chosen by"),
        "{}",
        unpinned.body
    );
    std::fs::write(&file, text).unwrap();
    rig.slash(&mia(), "reload", &[]).await;
    let back = mention(&rig, "which lights after dark?").await;
    assert!(
        first_title(&back).starts_with("Chosen by the moderators"),
        "{}",
        back.body
    );
    rig.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pins_survive_a_restart() {
    let data = tempfile::tempdir().unwrap();
    let db = data.path().join("curated.sqlite3");
    let tune = |db: std::path::PathBuf| -> Box<dyn FnOnce(&mut articlebot::config::Settings)> {
        Box::new(move |s| s.curate.db = Some(db))
    };
    let rig = rig_with(Options {
        tune: tune(db.clone()),
        ..Options::default()
    })
    .await;
    curate(
        &rig,
        &mia(),
        "add",
        &[
            ("question", "what goes with banana peels"),
            ("article", "composting"),
        ],
    )
    .await;
    rig.stop().await;
    let rig = rig_with(Options {
        tune: tune(db.clone()),
        ..Options::default()
    })
    .await;
    let after = mention(&rig, "what goes with banana peels").await;
    assert!(
        first_title(&after).starts_with("Chosen by the moderators"),
        "{}",
        after.body
    );
    rig.stop().await;
}
