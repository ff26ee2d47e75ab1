//! Every slash command, autocomplete, deferral, cooldowns, moderators, limits, no pings.

use std::time::Duration;

use serde_json::json;

use super::fake::{self, GUILD_ID};
use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commands_are_registered_in_the_guild_once() {
    let rig = rig().await;
    let puts = rig
        .fake
        .wait("command registration", |r| {
            (!r.command_puts.is_empty()).then(|| r.command_puts.clone())
        })
        .await;
    assert_eq!(puts.len(), 1);
    assert_eq!(puts[0].0, GUILD_ID.to_string());
    let names: Vec<&str> = puts[0]
        .1
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "ask",
            "search",
            "summary",
            "takeaways",
            "article",
            "discuss",
            "reload",
            "check",
            "stats",
            "curate"
        ]
    );
    // Manage Server (1 << 5) on the moderator commands, and on no other.
    for c in puts[0].1.as_array().unwrap() {
        let moderators = matches!(
            c["name"].as_str(),
            Some("reload" | "check" | "stats" | "curate")
        );
        let expected = if moderators { json!("32") } else { Value::Null };
        assert_eq!(c["default_member_permissions"], expected, "{}", c["name"]);
    }
    let f = rig.stop().await;
    assert_eq!(f.record(|r| r.command_puts.len()), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ask_answers_with_the_passage_in_an_ephemeral_embed() {
    let rig = rig().await;
    let seen = rig
        .slash(&ann(), "ask", &[("question", "how long does compost take")])
        .await;
    assert_eq!(seen.kind, 4);
    assert!(seen.ephemeral());
    let e = seen.embed(0);
    assert_eq!(e["title"], "Home Composting Basics");
    assert_eq!(
        e["url"],
        "https://site.example/a/guides-composting#how-long-it-takes"
    );
    let desc = e["description"].as_str().unwrap();
    assert!(desc.contains("How Long It Takes"), "{desc}");
    assert!(desc.contains("**"), "matched terms are bold: {desc}");
    assert!(desc.contains("two to three months"), "{desc}");
    let fields = e["fields"].as_array().unwrap();
    assert!(fields[0]["name"].as_str().unwrap().starts_with("Takeaways"));
    assert!(fields[0]["value"]
        .as_str()
        .unwrap()
        .contains("[ratio chart](https://example.org/ratios)"));
    // Post to channel, then 👍 and 👎 (emoji, no label).
    let buttons = seen.buttons();
    assert_eq!(buttons.len(), 3, "{buttons:?}");
    assert_eq!(buttons[0].0, "Post to channel");
    assert!(buttons[1].1.starts_with("abv:u:") && buttons[2].1.starts_with("abv:d:"));
    rig.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ask_limited_to_an_article_and_nothing_found() {
    let rig = rig().await;
    let seen = rig
        .slash(
            &ann(),
            "ask",
            &[
                ("question", "lights after dark"),
                ("article", "Why Sleep Matters"),
            ],
        )
        .await;
    assert_eq!(
        seen.embed(0)["title"],
        "Why Sleep Matters",
        "{}",
        seen.text()
    );
    let seen = rig
        .slash(&ann(), "ask", &[("question", "xylophone quantum zebra")])
        .await;
    assert_eq!(seen.embed(0)["title"], "No answer in the articles");
    rig.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn summary_takeaways_and_article_card() {
    let rig = rig().await;
    let s = rig
        .slash(&ann(), "summary", &[("article", "compost guide")])
        .await;
    assert_eq!(s.embed(0)["title"], "Home Composting Basics");
    assert_eq!(
        s.embed(0)["description"],
        "Turn kitchen scraps into soil in a few months."
    );
    let t = rig
        .slash(&ann(), "takeaways", &[("article", "composting")])
        .await;
    let d = t.embed(0)["description"].as_str().unwrap();
    assert!(d.starts_with("• Balance greens and browns"), "{d}");
    assert!(
        d.contains("([ratio chart](https://example.org/ratios))"),
        "{d}"
    );
    assert!(d.contains("• Turn the pile for faster compost."), "{d}");
    let c = rig
        .slash(&ann(), "article", &[("article", "Home Compostng Basics")])
        .await;
    let e = c.embed(0);
    assert_eq!(e["title"], "Home Composting Basics");
    assert_eq!(e["url"], "https://site.example/a/guides-composting");
    let field = |name: &str| {
        e["fields"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["name"] == name)
            .map(|f| f["value"].as_str().unwrap().to_string())
    };
    assert_eq!(field("Tags").as_deref(), Some("garden, Soil"));
    assert_eq!(field("Date").as_deref(), Some("2024-04-02"));
    assert_eq!(field("By").as_deref(), Some("Ada"));
    // Up to three articles that share terms with this one, the most similar first.
    let related = field("Related articles").unwrap();
    assert!(
        related.starts_with("• [Stablecoins and Their Pegs](https://site.example/a/stablecoins)"),
        "{related}"
    );
    assert!(related.lines().count() <= 3, "{related}");
    let nf = rig
        .slash(&ann(), "summary", &[("article", "qwertyuiop")])
        .await;
    assert_eq!(nf.embed(0)["title"], "No article called “qwertyuiop”");
    rig.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn search_lists_ranked_articles_with_paging_buttons() {
    let rig = rig_with(Options {
        tune: Box::new(|s| s.answer.page_size = 2),
        ..Options::default()
    })
    .await;
    let seen = rig
        .slash(&ann(), "search", &[("query", "sleep light")])
        .await;
    let e = seen.embed(0);
    assert_eq!(e["title"], "Search: sleep light");
    assert!(e["description"]
        .as_str()
        .unwrap()
        .starts_with("**1.** [Why Sleep Matters]"));
    assert!(e["footer"]["text"]
        .as_str()
        .unwrap()
        .starts_with("Page 1 of "));
    let labels: Vec<_> = seen.buttons().into_iter().map(|b| (b.0, b.2)).collect();
    assert_eq!(labels[0], ("Previous".to_string(), true));
    assert_eq!(labels[1].0, "Next");
    assert_eq!(labels[2].0, "Post to channel");
    let tagged = rig
        .slash(&ann(), "search", &[("query", "compost"), ("tag", "garden")])
        .await;
    assert!(tagged.text().contains("Home Composting Basics"));
    rig.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn autocomplete_offers_at_most_25_short_choices() {
    let f = standard_fixture();
    let long = "A Very Long Title ".repeat(10);
    f.write(
        "long-title.md",
        &format!("# {long}\n\nSome text about composting.\n"),
    );
    for i in 0..30 {
        f.write(
            &format!("many/note-{i}.md"),
            &format!("# Note {i}\n\nA note.\n"),
        );
    }
    let rig = rig_with(Options {
        fixture: Some(f),
        ..Options::default()
    })
    .await;
    let seen = rig
        .send(fake::autocomplete(
            &rig.fake,
            &ann(),
            "summary",
            "article",
            "comp",
        ))
        .await;
    assert_eq!(seen.kind, 8);
    let choices = seen.body["choices"].as_array().unwrap().clone();
    assert!(
        choices.iter().any(|c| c["value"] == "guides-composting"),
        "{choices:?}"
    );
    let all = rig
        .send(fake::autocomplete(&rig.fake, &ann(), "ask", "article", ""))
        .await;
    // 36 articles, nothing typed yet: exactly 25 choices.
    let n = all.body["choices"].as_array().unwrap().len();
    assert_eq!(n, 25);
    let long = rig
        .send(fake::autocomplete(
            &rig.fake,
            &ann(),
            "article",
            "article",
            "a very long",
        ))
        .await;
    let c = &long.body["choices"][0];
    assert_eq!(long.body["choices"].as_array().unwrap().len(), 1, "{c}");
    let name = c["name"].as_str().unwrap();
    assert!(name.chars().count() <= 100, "{name}");
    assert!(name.ends_with('…'), "cut with an ellipsis: {name}");
    assert!(c["name"].as_str().unwrap().starts_with("A Very Long Title"));
    assert_eq!(c["value"], "long-title");
    rig.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_answers_are_deferred_then_edited() {
    let rig = rig_with(Options {
        defer_after: Duration::ZERO,
        ..Options::default()
    })
    .await;
    let seen = rig
        .slash(&ann(), "ask", &[("question", "how long does compost take")])
        .await;
    assert_eq!(seen.kind, 5);
    assert!(seen.ephemeral());
    assert_eq!(seen.embed(0)["title"], "Home Composting Basics");
    assert_eq!(seen.buttons()[0].0, "Post to channel");
    rig.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cooldown_is_per_user_and_ephemeral() {
    let rig = rig_with(Options {
        tune: Box::new(|s| s.discord.cooldown = Duration::from_secs(60)),
        ..Options::default()
    })
    .await;
    let first = rig.slash(&ann(), "summary", &[("article", "sleep")]).await;
    assert!(first.content().is_empty());
    let second = rig.slash(&ann(), "summary", &[("article", "sleep")]).await;
    assert!(second.ephemeral());
    assert!(
        second
            .content()
            .starts_with("Slow down: you can ask again in "),
        "{}",
        second.content()
    );
    let other = rig.slash(&bob(), "summary", &[("article", "sleep")]).await;
    assert_eq!(other.embed(0)["title"], "Why Sleep Matters");
    rig.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn public_answers_when_ephemeral_is_off() {
    let rig = rig_with(Options {
        tune: Box::new(|s| s.discord.ephemeral = false),
        ..Options::default()
    })
    .await;
    let seen = rig.slash(&ann(), "summary", &[("article", "sleep")]).await;
    assert!(!seen.ephemeral());
    assert_eq!(seen.buttons()[0].0, "Delete");
    rig.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn article_text_never_pings() {
    let rig = rig().await;
    for seen in [
        rig.slash(&ann(), "summary", &[("article", "Server Announcements")])
            .await,
        rig.slash(
            &ann(),
            "ask",
            &[("question", "when do announcements go out")],
        )
        .await,
        rig.slash(
            &ann(),
            "ask",
            &[("question", "@everyone look <@&234567890123456789>")],
        )
        .await,
    ] {
        let text = seen.text();
        assert!(!text.contains("@everyone"), "{text}");
        assert!(!text.contains("@here"), "{text}");
        assert!(!text.contains("<@1"), "{text}");
        assert!(!text.contains("<@&"), "{text}");
        assert!(!text.contains("<#3"), "{text}");
        assert_eq!(
            seen.body["allowed_mentions"]["parse"],
            serde_json::json!([])
        );
    }
    let s = rig
        .slash(&ann(), "summary", &[("article", "Server Announcements")])
        .await;
    let d = s.embed(0)["description"].as_str().unwrap();
    assert!(d.contains("@\u{200B}everyone and @\u{200B}here"), "{d}");
    rig.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn long_articles_are_cut_to_discord_limits_with_a_link() {
    let f = standard_fixture();
    let para =
        "Tidal energy turns the rise and fall of the sea into electricity for coastal towns. "
            .repeat(30);
    let mut text = String::from("+++\ntitle = \"Tidal Power\"\nsummary = \"");
    text.push_str(&"The moon moves the sea and the sea turns turbines. ".repeat(120));
    text.push_str("\"\n+++\n\n");
    for i in 0..40 {
        text.push_str(&format!("## Part {i}\n\n{para}\n\n"));
    }
    text.push_str("## Key Takeaways\n\n");
    for i in 0..40 {
        text.push_str(&format!(
            "- Tidal takeaway number {i} explains why turbines matter for the coast.\n"
        ));
    }
    f.write("tidal.md", &text);
    let rig = rig_with(Options {
        fixture: Some(f),
        tune: Box::new(|s| {
            s.answer.excerpt_max_chars = 1000;
            s.answer.results = 10;
        }),
        ..Options::default()
    })
    .await;
    let s = rig
        .slash(&ann(), "summary", &[("article", "Tidal Power")])
        .await;
    let d = s.embed(0)["description"].as_str().unwrap();
    assert!(
        d.ends_with("… [Read more](https://site.example/a/tidal)"),
        "{d}"
    );
    let t = rig
        .slash(&ann(), "takeaways", &[("article", "Tidal Power")])
        .await;
    let d = t.embed(0)["description"].as_str().unwrap();
    assert!(d.chars().count() <= 4096);
    assert!(d.contains("Tidal takeaway number 39"), "all 40 fit in 4096");
    let a = rig
        .slash(
            &ann(),
            "ask",
            &[("question", "tidal energy turbines coastal towns")],
        )
        .await;
    let total: usize = a.text().chars().count();
    assert!(total > 1000, "{total}");
    let fields = a.embed(0)["fields"].as_array().unwrap();
    let takeaways = fields[0]["value"].as_str().unwrap();
    assert!(
        takeaways.ends_with("[More in the article](https://site.example/a/tidal)"),
        "{takeaways}"
    );
    // The fake checked every limit (1024 per field, 4096, 6000 in total) on the way.
    rig.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn moderators_only_for_reload_check_and_stats() {
    let rig = rig().await;
    rig.f.write(
        "new-article.md",
        "# Brand New Article\n\nFresh words about kites.\n",
    );
    for cmd in ["reload", "check", "stats"] {
        let seen = rig.slash(&ann(), cmd, &[]).await;
        assert_eq!(seen.kind, 4);
        assert!(seen.ephemeral());
        assert_eq!(seen.content(), "This command is for moderators only.");
    }
    // Nothing ran: the new article is not in service, and no reload was recorded.
    let nf = rig
        .slash(&ann(), "summary", &[("article", "Brand New Article")])
        .await;
    assert!(nf.embed(0)["title"]
        .as_str()
        .unwrap()
        .starts_with("No article called"));
    let stats = rig.slash(&sam(), "stats", &[]).await;
    assert!(stats.ephemeral());
    assert!(
        stats.content().starts_with("**Statistics**\n"),
        "{}",
        stats.content()
    );
    assert!(
        stats.content().contains("last reload: none"),
        "{}",
        stats.content()
    );
    rig.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reload_reports_to_the_moderator_and_goes_live() {
    let rig = rig().await;
    rig.f.write(
        "new-article.md",
        "# Brand New Article\n\nFresh words about kites.\n",
    );
    rig.f
        .write("broken.md", "+++\ntitle = \n+++\nbad front matter\n");
    let seen = rig.slash(&mia(), "reload", &[]).await;
    assert_eq!(seen.kind, 5, "reload defers");
    assert!(seen.ephemeral());
    let c = seen.content();
    assert!(c.starts_with("**Reload**\nReloaded: "), "{c}");
    assert!(c.contains("added (1): new-article"), "{c}");
    assert!(c.contains("broken.md"), "{c}");
    let s = rig
        .slash(&ann(), "summary", &[("article", "Brand New Article")])
        .await;
    assert_eq!(s.embed(0)["title"], "Brand New Article");
    let check = rig.slash(&sam(), "check", &[]).await;
    assert!(
        check.content().starts_with("**Content check**\n"),
        "{}",
        check.content()
    );
    assert!(check.content().contains("file(s) rejected"));
    let stats = rig.slash(&mia(), "stats", &[]).await;
    assert!(stats.content().contains("by mia"), "{}", stats.content());
    rig.stop().await;
}

/// Over the gateway: with no operator guild configured, `/reload` and `/check` run nowhere and
/// say which key to set; `/stats` still works for the guild's own moderators.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reload_and_check_need_an_operator_guild() {
    let rig = rig_with(Options {
        tune: Box::new(|s| s.discord.operator_guild_ids.clear()),
        ..Options::default()
    })
    .await;
    rig.f.write(
        "new-article.md",
        "# Brand New Article\n\nFresh words about kites.\n",
    );
    for cmd in ["reload", "check"] {
        let seen = rig.slash(&sam(), cmd, &[]).await;
        assert_eq!(seen.kind, 4);
        assert!(seen.ephemeral());
        assert!(
            seen.content().contains("`discord.operator_guild_ids`"),
            "{}",
            seen.content()
        );
    }
    let nf = rig
        .slash(&ann(), "summary", &[("article", "Brand New Article")])
        .await;
    assert!(
        nf.embed(0)["title"]
            .as_str()
            .unwrap()
            .starts_with("No article called"),
        "not reloaded"
    );
    let stats = rig.slash(&mia(), "stats", &[]).await;
    assert!(
        stats.content().starts_with("**Statistics**\n"),
        "{}",
        stats.content()
    );
    rig.stop().await;
}

/// Over the gateway: a moderator of another guild sees that guild's statistics only, and the
/// operator's `/reload` there is named to nobody else.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stats_are_per_guild_over_the_gateway() {
    const OTHER_GUILD: u64 = 900_000_000_000_000_099;
    let rig = rig().await;
    rig.slash(&ann(), "ask", &[("question", "how do pegs break")])
        .await;
    let mia_reloads = rig.slash(&mia(), "reload", &[]).await;
    assert_eq!(mia_reloads.kind, 5);
    let mut payload = fake::command(&rig.fake, &sam(), "stats", &[]);
    payload["guild_id"] = json!(OTHER_GUILD.to_string());
    payload["data"]["guild_id"] = json!(OTHER_GUILD.to_string());
    payload["channel"]["guild_id"] = json!(OTHER_GUILD.to_string());
    payload["authorizing_integration_owners"] = json!({"0": OTHER_GUILD.to_string()});
    let theirs = rig.send(payload).await;
    let text = theirs.content();
    assert!(text.contains("0 questions from 0 people"), "{text}");
    assert!(!text.contains("pegs"), "{text}");
    assert!(
        text.contains("by a moderator of another server") && !text.contains("mia"),
        "{text}"
    );
    let ours = rig.slash(&sam(), "stats", &[]).await;
    assert!(
        ours.content().contains("how do pegs break"),
        "{}",
        ours.content()
    );
    assert!(ours.content().contains("by mia"), "{}", ours.content());
    rig.stop().await;
}

/// Article titles are Markdown-escaped wherever they are shown: embed titles and field names
/// as well as descriptions, so a title renders as written.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn titles_are_escaped_in_embed_titles_and_field_names() {
    let f = standard_fixture();
    f.write(
        "marked.md",
        "+++\ntitle = \"*Bold* _Garden_ ~~Plans~~ ||Spoiler|| `Code`\"\n+++\n\n\
         Marigolds protect tomatoes from pests in the vegetable garden.\n\n\
         ## Key takeaways\n\n- Plant marigolds near the tomatoes.\n",
    );
    let rig = rig_with(Options {
        fixture: Some(f),
        ..Options::default()
    })
    .await;
    let escaped = "\\*Bold\\* \\_Garden\\_ \\~\\~Plans\\~\\~ \\|\\|Spoiler\\|\\| \\`Code\\`";
    let asked = rig
        .slash(
            &ann(),
            "ask",
            &[("question", "marigolds protect tomatoes pests")],
        )
        .await;
    assert_eq!(asked.embed(0)["title"], escaped, "{:?}", asked.body);
    assert_eq!(
        asked.embed(0)["fields"][0]["name"],
        format!("Takeaways: {escaped}"),
        "{:?}",
        asked.body
    );
    let summary = rig.slash(&ann(), "summary", &[("article", "marked")]).await;
    assert_eq!(summary.embed(0)["title"], escaped);
    let takeaways = rig
        .slash(&ann(), "takeaways", &[("article", "marked")])
        .await;
    assert_eq!(takeaways.embed(0)["title"], format!("Takeaways: {escaped}"));
    rig.stop().await;
}
