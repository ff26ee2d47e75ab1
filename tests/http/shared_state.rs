//! Two `serve-http` processes on one PostgreSQL (`[state] url`): `/stats` on either counts
//! the questions both answered; SIGHUP to one reloads both; PostgreSQL stopped under them
//! leaves answers going and `/healthz` degraded, and started again, the questions asked
//! meanwhile are counted; a killed instance leaves the other serving with everything
//! recorded. A cooldown, a member's conversation, a curated answer and a `/discuss` thread
//! begun on one instance hold on the other; a reload made while one instance is down is
//! served by it when it starts; with PostgreSQL away, cooldowns are each instance's own and
//! pins are refused with the reason.

use serde_json::json;

use super::binary::{Binary, CONFIG};
use super::*;
use crate::pg::Postgres;

const ENV: [(&str, &str); 1] = [("ARTICLEBOT_STATS_KEY", "the key every instance shares")];

async fn ask(server: &Binary) {
    let answer = server
        .interact(&command(
            "ask",
            json!([string_option("question", "how do pegs break")]),
        ))
        .await;
    assert_eq!(answer["type"], 4, "{answer}");
    assert!(
        answer.to_string().contains("Stablecoins"),
        "answered: {answer}"
    );
}

/// The `/stats` text a moderator of the test guild gets from `server`.
async fn stats(server: &Binary) -> String {
    let reply = server
        .interact(&command_from(
            "stats",
            json!([]),
            member(USER_ID, MODERATOR_PERMISSIONS),
        ))
        .await;
    reply["data"]["content"].as_str().unwrap().to_string()
}

/// Polls `/stats` on `server` until it says `want`: a question another instance answered
/// is written by that instance's queue a moment after its answer, so it appears eventually.
async fn wait_stats(server: &Binary, want: &str) -> String {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        let text = stats(server).await;
        if text.contains(want) {
            return text;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "/stats never said {want:?}: {text}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn health(server: &Binary) -> Value {
    reqwest::get(format!("{}/healthz", server.url))
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// Polls `/healthz` until its `status` is `want`.
async fn wait_health(server: &Binary, want: &str) {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        let h = health(server).await;
        if h["status"] == want {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "/healthz never said {want}: {h}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_on_one_postgres_share_statistics_and_survive_its_outage() {
    let pg = Postgres::start();
    let config = format!("{CONFIG}[state]\nurl = \"{}\"\n", pg.url());
    let (f, g) = (Fixture::standard(), Fixture::standard());
    let a = Binary::start(f.dir.path(), &config, &ENV).await;
    let b = Binary::start(g.dir.path(), &config, &ENV).await;
    ask(&a).await;
    ask(&b).await;
    ask(&b).await;
    for server in [&a, &b] {
        // Both instances' questions, one person.
        wait_stats(server, "3 questions from 1 people").await;
        assert_eq!(health(server).await["status"], "ok");
    }

    // SIGHUP to one instance reloads both (LISTEN/NOTIFY): a new article in the content
    // both read appears in the other's article count.
    let before = health(&a).await["articles"].as_u64().unwrap();
    for fixture in [&f, &g] {
        fixture.write("kites.md", "# Flying Kites\n\nA kite needs steady wind.\n");
    }
    let sent = std::time::Instant::now();
    b.signal("HUP");
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while health(&a).await["articles"].as_u64().unwrap() != before + 1 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the other instance never reloaded"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Reported, not asserted (no wall-clock limits in tests): the issue asks for 2 s.
    eprintln!("reload reached the other instance in {:?}", sent.elapsed());
    wait_stats(&a, "reloaded 5 articles (+1").await;

    // PostgreSQL goes away: answers go on, both say degraded.
    pg.halt();
    ask(&a).await;
    ask(&b).await;
    wait_health(&a, "degraded").await;
    wait_health(&b, "degraded").await;
    let h = health(&a).await;
    assert_eq!(h["state"], "postgres unreachable", "{h}");
    assert!(h["articles"].as_u64().unwrap() > 0);

    // Back: the queued questions are written, and counted by either instance.
    pg.resume();
    wait_health(&a, "ok").await;
    wait_health(&b, "ok").await;
    // The outage's questions caught up.
    wait_stats(&b, "5 questions from 1 people").await;

    // An instance killed outright: the other serves on, and counts what the dead one wrote.
    b.signal("KILL");
    drop(b);
    ask(&a).await;
    wait_stats(&a, "6 questions from 1 people").await;
    let (ok, _, log) = a.stop().await;
    assert!(ok, "{log}");
    assert_eq!(
        log.matches("reload announced (SIGHUP)").count(),
        1,
        "the other instance's SIGHUP reached this one once:\n{log}"
    );
}

/// The `[discord]` keys of the tests below: a cooldown, and the bot token `/discuss` needs.
const DISCORD: &str = "cooldown_seconds = 5\ntoken_env = \"ARTICLEBOT_TEST_TOKEN\"\n";
/// The cooldown above, and a little more.
const COOLDOWN_OVER: Duration = Duration::from_millis(5_500);

/// A member id of its own for the `n`th question (each question starts a cooldown).
fn someone(n: u32) -> String {
    format!("11800000000000{n:05}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cooldowns_conversations_curated_answers_and_threads_hold_on_both_instances() {
    let pg = Postgres::start();
    let config = format!("{CONFIG}[state]\nurl = \"{}\"\n", pg.url());
    let env = [ENV[0], ("ARTICLEBOT_TEST_TOKEN", fake::BOT_TOKEN)];
    let (f, g) = (Fixture::standard(), Fixture::standard());
    let a = Binary::start_with(f.dir.path(), &config, DISCORD, &env).await;
    let b = Binary::start_with(g.dir.path(), &config, DISCORD, &env).await;

    // A cooldown started on one instance holds on the other, for that member only.
    let summary = a
        .interact(&ask_as(USER_ID, "summarize the stablecoins article"))
        .await;
    assert_eq!(title(&summary), "Stablecoins and Their Pegs", "{summary}");
    let refused = b.interact(&ask_as(USER_ID, "tell me more")).await;
    assert!(content(&refused).starts_with("Slow down"), "{refused}");
    assert_eq!(refused["data"]["flags"], 64, "only to the member");
    let other = b
        .interact(&ask_as(OTHER_USER_ID, "how do pegs break"))
        .await;
    assert!(other.to_string().contains("Stablecoins"), "{other}");

    // Once it is over, the member's conversation goes on on the other instance.
    tokio::time::sleep(COOLDOWN_OVER).await;
    let more = b.interact(&ask_as(USER_ID, "tell me more")).await;
    assert_eq!(title(&more), "Stablecoins and Their Pegs", "{more}");
    let footer = more["data"]["embeds"][0]["footer"]["text"].as_str();
    assert!(footer.unwrap_or("").contains("tell me more"), "{more}");

    // A curated answer added on one instance is used by the other (which follows the
    // change a moment later: asked until it does, each time by another member).
    let add = command_from(
        "curate",
        json!([{"name": "add", "type": 1, "options": [
            string_option("question", "what goes with banana peels"),
            string_option("article", "composting"),
        ]}]),
        member(USER_ID, MODERATOR_PERMISSIONS),
    );
    let added = a.interact(&add).await;
    assert!(content(&added).starts_with("Curated answer #"), "{added}");
    let deadline = tokio::time::Instant::now() + PATIENCE;
    let mut n = 0;
    loop {
        n += 1;
        let asked = b
            .interact(&ask_as(&someone(n), "What goes with banana peel?"))
            .await;
        if title(&asked).starts_with("Chosen by the moderators: Home Composting Basics") {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the other instance never used the curated answer: {asked}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // A `/discuss` thread opened through one instance is known to the other: a section
    // button whose id does not name the article is answered from the thread's article.
    let discuss = command_from(
        "discuss",
        json!([string_option("article", "composting")]),
        member(OTHER_USER_ID, MEMBER_PERMISSIONS),
    );
    // (`OTHER_USER_ID`'s cooldown ended during the wait above.)
    let ack = a.interact(&discuss).await;
    assert_eq!(ack["type"], 5, "{ack}");
    let thread = a
        .fake
        .wait("the thread", |r| r.threads.first().map(|t| t.1))
        .await;
    let post = a
        .fake
        .wait("the thread post", |r| {
            r.messages.iter().find(|m| m.channel_id == thread).cloned()
        })
        .await;
    let first_section = post.body["components"][0]["components"][0]["custom_id"]
        .as_str()
        .unwrap()
        .to_string();
    // `abs:s:0:<slug>`: the same button without its article.
    let (bare, slug) = first_section.rsplit_once(':').unwrap();
    assert_eq!(bare.matches(':').count(), 2, "{first_section}");
    assert!(!slug.is_empty());
    let deadline = tokio::time::Instant::now() + PATIENCE;
    let mut n = 100;
    let shown = loop {
        n += 1;
        let press = fake::button(
            &a.fake,
            &member(&someone(n), MEMBER_PERMISSIONS),
            &post,
            bare,
        );
        let shown = b.interact(&press).await;
        if title(&shown) == "Home Composting Basics" {
            break shown;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the other instance never knew the thread: {shown}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(shown["type"], 4, "{shown}");
    let text = shown["data"]["embeds"].to_string();
    assert!(text.contains("Greens and Browns"), "{text}");
    assert_no_pings(&shown);

    Binary::stop_all([a, b]).await;
}

/// A reload made while one instance is down (killed): the instance that is up reloads, and
/// the one that was down serves the new content when it starts again, from the index it
/// had kept (the reload it missed is not replayed: its start reads the content as it is).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reload_while_one_instance_is_down_is_served_by_it_when_it_starts() {
    let pg = Postgres::start();
    let config = format!("{CONFIG}[state]\nurl = \"{}\"\n", pg.url());
    let (f, g) = (Fixture::standard(), Fixture::standard());
    let a = Binary::start(f.dir.path(), &config, &ENV).await;
    let b = Binary::start(g.dir.path(), &config, &ENV).await;
    let before = health(&b).await["articles"].as_u64().unwrap();
    b.signal("KILL");
    drop(b);

    for fixture in [&f, &g] {
        fixture.write("kites.md", "# Flying Kites\n\nA kite needs steady wind.\n");
    }
    a.signal("HUP");
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while health(&a).await["articles"].as_u64().unwrap() != before + 1 {
        assert!(tokio::time::Instant::now() < deadline, "a never reloaded");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    let b = Binary::start(g.dir.path(), &config, &ENV).await;
    assert_eq!(health(&b).await["articles"].as_u64(), Some(before + 1));
    let answer = b
        .interact(&command(
            "ask",
            json!([string_option("question", "what does a kite need")]),
        ))
        .await;
    assert!(answer.to_string().contains("Flying Kites"), "{answer}");
    // The reload a made is in the shared statistics both report.
    wait_stats(&b, "reloaded 5 articles (+1").await;
    Binary::stop_all([a, b]).await;
}

/// PostgreSQL stopped under two instances with a cooldown: answers go on, each instance's own
/// memory holds the cooldowns meanwhile, a curated answer cannot be pinned (the moderator is
/// told why), and once it is back, a cooldown started on one holds on the other again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cooldowns_fall_back_on_each_instance_while_postgres_is_away() {
    let pg = Postgres::start();
    let config = format!("{CONFIG}[state]\nurl = \"{}\"\n", pg.url());
    let env = [ENV[0], ("ARTICLEBOT_TEST_TOKEN", fake::BOT_TOKEN)];
    let (f, g) = (Fixture::standard(), Fixture::standard());
    let a = Binary::start_with(f.dir.path(), &config, DISCORD, &env).await;
    let b = Binary::start_with(g.dir.path(), &config, DISCORD, &env).await;

    pg.halt();
    let answered = a.interact(&ask_as(USER_ID, "how do pegs break")).await;
    assert!(answered.to_string().contains("Stablecoins"), "{answered}");
    let refused = a.interact(&ask_as(USER_ID, "how do pegs break")).await;
    assert!(content(&refused).starts_with("Slow down"), "{refused}");
    let add = command_from(
        "curate",
        json!([{"name": "add", "type": 1, "options": [
            string_option("question", "what goes with banana peels"),
            string_option("article", "composting"),
        ]}]),
        member(OTHER_USER_ID, MODERATOR_PERMISSIONS),
    );
    let not_pinned = a.interact(&add).await;
    assert!(
        content(&not_pinned).starts_with("Not pinned: cannot connect to PostgreSQL"),
        "{not_pinned}"
    );
    assert!(
        !content(&not_pinned).contains("postgres://"),
        "{not_pinned}"
    );
    wait_health(&a, "degraded").await;

    pg.resume();
    wait_health(&a, "ok").await;
    wait_health(&b, "ok").await;
    // Each instance's cooldown connection comes back at its next call: asked until a
    // cooldown started on one is refused on the other, each time by another member.
    let deadline = tokio::time::Instant::now() + PATIENCE;
    let mut n = 200;
    loop {
        n += 1;
        let who = someone(n);
        let first = a.interact(&ask_as(&who, "how do pegs break")).await;
        assert!(first.to_string().contains("Stablecoins"), "{first}");
        let second = b.interact(&ask_as(&who, "how do pegs break")).await;
        if content(&second).starts_with("Slow down") {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the cooldowns were never shared again: {second}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Binary::stop_all([a, b]).await;
}

/// A press by `USER_ID` on the button labelled `label` under `response`, as Discord sends it
/// to whichever instance the load balancer picks.
fn press(response: &Value, label: &str) -> Value {
    let custom_id = buttons(response)
        .into_iter()
        .find(|(l, _, _)| l == label)
        .unwrap_or_else(|| panic!("no {label:?} button in {response}"))
        .1;
    let mut payload = interaction(
        3,
        json!({"custom_id": custom_id, "component_type": 2}),
        member(USER_ID, MEMBER_PERMISSIONS),
    );
    payload["message"] = message_from(response, USER_ID, &next_id());
    payload
}

/// The first result line of a search page (page size 1): "**N.** [Title](url)…".
fn result_line(response: &Value) -> &str {
    let description = response["data"]["embeds"][0]["description"].as_str();
    description.unwrap_or("").lines().next().unwrap_or("")
}

/// Button state too long for a custom id, on the shared store: a search made through one
/// instance pages on the other, which turns the page for both (the first pages on from the
/// page the other turned to, not from its own), and posts from either. With PostgreSQL away,
/// the instance that made the buttons still pages them (its memory), the other says they
/// expired, and `/healthz` says degraded; once it is back, what was kept meanwhile reaches
/// the store and the other instance pages on from there.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn buttons_kept_by_one_instance_are_answered_by_the_other() {
    let pg = Postgres::start();
    let config = format!(
        "{CONFIG}[answer]\npage_size = 1\n[state]\nurl = \"{}\"\n",
        pg.url()
    );
    let (f, g) = (Fixture::standard(), Fixture::standard());
    let a = Binary::start(f.dir.path(), &config, &ENV).await;
    let b = Binary::start(g.dir.path(), &config, &ENV).await;
    // Too long for a custom id (three results, so three pages).
    let long =
        "how many hours of sleep do adults need each night, and which lights to use after dark";
    let search = || command("search", json!([string_option("query", long)]));

    let first = a.interact(&search()).await;
    assert!(
        result_line(&first).starts_with("**1.** [Why Sleep Matters]("),
        "{first}"
    );
    let next = &buttons(&first)[1].1;
    assert!(next.starts_with("ab:next:"), "kept in the store: {next}");
    let second = b.interact(&press(&first, "Next")).await;
    assert_eq!(second["type"], 7, "{second}");
    assert!(
        result_line(&second).starts_with("**2.** [Urban Cycling Safety]("),
        "{second}"
    );
    let third = a.interact(&press(&second, "Next")).await;
    assert_eq!(third["type"], 7, "{third}");
    assert!(
        result_line(&third).starts_with("**3.** [Home Composting Basics]("),
        "a pages on from the page b turned to: {third}"
    );
    // The first message's *Post to channel*, pressed on b: the kept state's page, in public.
    let posted = b.interact(&press(&first, "Post to channel")).await;
    assert_eq!(posted["type"], 4, "{posted}");
    assert_eq!(posted["data"]["flags"].as_u64().unwrap_or(0) & 64, 0);
    assert_eq!(posted["data"]["embeds"], third["data"]["embeds"]);
    assert_no_pings(&posted);

    // PostgreSQL away: a answers and pages its own buttons; b cannot read them.
    pg.halt();
    let outage = a.interact(&search()).await;
    assert!(buttons(&outage)[1].1.starts_with("ab:next:"), "{outage}");
    let paged = a.interact(&press(&outage, "Next")).await;
    assert_eq!(paged["type"], 7, "{paged}");
    assert!(result_line(&paged).starts_with("**2.** "), "{paged}");
    let unread = b.interact(&press(&outage, "Next")).await;
    assert_eq!(unread["data"]["flags"], 64, "{unread}");
    assert!(
        unread.to_string().contains("These buttons have expired"),
        "{unread}"
    );
    wait_health(&a, "degraded").await;

    // Back: the state kept meanwhile (and its page turned) is written, and b pages on.
    pg.resume();
    wait_health(&a, "ok").await;
    let deadline = tokio::time::Instant::now() + PATIENCE;
    let caught_up = loop {
        let reply = b.interact(&press(&paged, "Next")).await;
        if reply["type"] == 7 {
            break reply;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the state kept during the outage never reached b: {reply}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert!(
        result_line(&caught_up).starts_with("**3.** "),
        "{caught_up}"
    );
    Binary::stop_all([a, b]).await;
}

/// The reply to a `/reload` by a moderator of the operator's guild, sent to `server`: the
/// acknowledgement, then the edit the local Discord receives.
async fn reload(server: &Binary) -> String {
    let before = server.fake.calls().len();
    let asked = command_from("reload", json!([]), member(USER_ID, MODERATOR_PERMISSIONS));
    let ack = server.interact(&asked).await;
    assert_eq!(ack["type"], 5, "{ack}");
    let call = server
        .fake
        .wait("the /reload reply", |r| {
            r.calls
                .get(before..)?
                .iter()
                .find(|c| c.method == "PATCH")
                .cloned()
        })
        .await;
    call.body["content"].as_str().unwrap().to_string()
}

/// The line of a `/reload` reply about instance `name` (as Discord shows it: Markdown
/// escaped, so `~` is `\~` and `_` is `\_`).
fn line_of<'t>(reply: &'t str, name: &str) -> &'t str {
    reply
        .lines()
        .find(|l| l.starts_with(&format!("- {name}")))
        .unwrap_or_else(|| panic!("no line for {name}: {reply}"))
}

/// `/reload` on one instance reloads both and its reply names each one's outcome: both
/// applied; then one that keeps its old content (a rejected file with `strict_reload`) with
/// its reason; then, the other killed, that it did not answer (and the reply still comes).
/// Without PostgreSQL the reply is this instance's only, as it always was.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reload_reports_every_instance_outcome() {
    let pg = Postgres::start();
    let strict = CONFIG.replace("[content]\n", "[content]\nstrict_reload = true\n");
    let config = format!("{strict}[state]\nurl = \"{}\"\n", pg.url());
    let operator = format!("operator_guild_ids = [{GUILD_ID}]\n");
    let (f, g) = (Fixture::standard(), Fixture::standard());
    let named = |name| [ENV[0], ("ARTICLEBOT_INSTANCE", name)];
    let a = Binary::start_with(f.dir.path(), &config, &operator, &named("alpha")).await;
    let b = Binary::start_with(g.dir.path(), &config, &operator, &named("beta")).await;

    for fixture in [&f, &g] {
        fixture.write("kites.md", "# Flying Kites\n\nA kite needs steady wind.\n");
    }
    let reply = reload(&a).await;
    assert!(
        reply.starts_with("**Reload**\nReloaded: 5 article(s)"),
        "{reply}"
    );
    assert!(reply.contains("\nInstances (2):\n"), "{reply}");
    assert_eq!(
        line_of(&reply, "alpha"),
        "- alpha (this one): applied: reloaded 5 articles (+1 −0 \\~0)"
    );
    assert_eq!(
        line_of(&reply, "beta"),
        "- beta: applied: reloaded 5 articles (+1 −0 \\~0)"
    );
    assert!(reply.contains("added (1): kites"), "{reply}");
    assert_eq!(health(&b).await["articles"], 5, "b reloaded");

    // A rejected file on b only: b keeps its old content and says why.
    g.write("zz-broken.md", "+++\ntitle = \"x\"\nbogus = 1\n+++\ntext\n");
    for fixture in [&f, &g] {
        fixture.write("tides.md", "# Tides\n\nThe moon pulls the sea.\n");
    }
    let reply = reload(&a).await;
    assert_eq!(
        line_of(&reply, "alpha"),
        "- alpha (this one): applied: reloaded 6 articles (+1 −0 \\~0)"
    );
    assert_eq!(
        line_of(&reply, "beta"),
        "- beta: failed: kept the old content: 1 file(s) rejected and strict\\_reload is on"
    );
    assert_eq!(health(&b).await["articles"], 5, "b kept its old content");
    assert_no_pings_text(&reply);

    // b killed: a still replies, saying b did not answer.
    b.signal("KILL");
    drop(b);
    let reply = reload(&a).await;
    eprintln!("the reply with b killed:\n{reply}");
    assert!(
        line_of(&reply, "alpha").starts_with("- alpha (this one): applied: "),
        "{reply}"
    );
    assert!(
        line_of(&reply, "beta").starts_with("- beta: did not answer"),
        "{reply}"
    );
    let (ok, _, log) = a.stop().await;
    assert!(ok, "{log}");

    // Without PostgreSQL: this instance's outcome only.
    let h = Fixture::standard();
    let alone = Binary::start_with(h.dir.path(), CONFIG, &operator, &named("gamma")).await;
    let reply = reload(&alone).await;
    assert!(
        reply.starts_with("**Reload**\nReloaded: 4 article(s) in service ("),
        "{reply}"
    );
    assert!(!reply.contains("Instances"), "{reply}");
    assert!(!reply.contains("gamma"), "{reply}");
    let (ok, _, log) = alone.stop().await;
    assert!(ok, "{log}");
}

/// A reply's text cannot ping: no `@everyone`, `@here` or mention left intact.
fn assert_no_pings_text(text: &str) {
    for ping in ["@everyone", "@here", "<@"] {
        assert!(!text.contains(ping), "{ping} in {text}");
    }
}
