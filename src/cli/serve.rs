//! The serving processes, `serve` (the gateway bot) and `serve-http` (the interactions
//! endpoint): secrets read from the environment and checked before the (possibly long) index
//! build, the service opened, the async runtime, the reload triggers (SIGHUP, file watch) and
//! the shutdown signal. The adapters ([`crate::discord::gateway`], [`crate::http`]) only
//! serve until the signal.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;

use super::{report_content, Failure, EXIT_OK};
use crate::config::{IndexLocation, Settings};
use crate::discord::gateway::{self, Connection};
use crate::discord::interactions::Bot;
use crate::library::BuildProgress;
use crate::service::Service;

/// The environment variable that may hold the application's public key.
pub const PUBLIC_KEY_ENV: &str = "DISCORD_PUBLIC_KEY";

/// `articlebot serve`: checks the token, opens the service, runs the gateway bot until Ctrl-C
/// or SIGTERM; with `metrics`, serves `/metrics` and `/healthz` on that address meanwhile
/// (the bound address printed on stdout).
pub fn gateway(
    settings: &Settings,
    metrics: Option<&str>,
    progress: &dyn BuildProgress,
) -> Result<u8, Failure> {
    let var = &settings.discord.token_env;
    let token = match std::env::var(var) {
        Ok(t) if !t.trim().is_empty() => t.trim().to_string(),
        _ => {
            return Err(Failure::Usage(anyhow::anyhow!(
                "no Discord bot token: set the environment variable {var} (Developer Portal → \
                 your application → Bot → Reset Token), e.g.\n  {var}=... articlebot serve\n\
                 The variable's name is discord.token_env in config.toml."
            )))
        }
    };
    let service = open(settings, progress)?;
    let runtime = runtime()?;
    runtime.block_on(async {
        // Bound before anything starts, so that a taken address fails the start.
        let operations = match metrics {
            Some(addr) => {
                let listener = tokio::net::TcpListener::bind(addr)
                    .await
                    .with_context(|| format!("cannot listen on {addr} (--metrics)"))?;
                let bound = listener.local_addr()?;
                println!("articlebot serve: metrics on http://{bound}/metrics");
                tracing::info!("metrics on http://{bound}/metrics");
                let service = service.clone();
                Some(tokio::spawn(crate::http::run_operations(
                    service,
                    listener,
                    std::future::pending(),
                )))
            }
            None => None,
        };
        let _reloads = service.start_reload_triggers()?;
        let shutdown = crate::shutdown::on_signal()?;
        let connection = Connection {
            token,
            rest_base: settings.discord.rest_proxy.clone(),
            state_dir: state_dir(settings),
        };
        let result = gateway::run(Bot::new(service), connection, shutdown).await;
        // Scraped until the gateway has closed.
        if let Some(task) = operations {
            task.abort();
        }
        result
    })?;
    Ok(EXIT_OK)
}

/// `articlebot serve-http`: resolves the key (flag > env > file) and checks it, opens the
/// service, binds `listen` (flag > file) and serves until Ctrl-C or SIGTERM. Prints the bound
/// address on stdout once it accepts requests, and a last line when it stopped.
pub fn http(
    settings: &Settings,
    listen: Option<&str>,
    public_key: Option<&str>,
    progress: &dyn BuildProgress,
) -> Result<u8, Failure> {
    let env = std::env::var(PUBLIC_KEY_ENV).ok();
    let key = choose_public_key(
        public_key,
        env.as_deref(),
        settings.http.public_key.as_deref(),
    )
    .map_err(Failure::Usage)?;
    crate::http::verifier(&key).map_err(Failure::Usage)?;
    announcing_token(settings).map_err(Failure::Usage)?;
    let listen = listen.unwrap_or(&settings.http.listen).to_string();
    let service = open(settings, progress)?;
    let runtime = runtime()?;
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind(&listen)
            .await
            .with_context(|| format!("cannot listen on {listen}"))?;
        // Before the reload triggers, so that it hears every reload they make.
        let _announcing = crate::discord::announce::start(
            service.clone(),
            Arc::new(crate::http::rest_client(settings)),
            state_dir(settings),
        );
        let _reloads = service.start_reload_triggers()?;
        let shutdown = crate::shutdown::on_signal()?;
        let addr = listener.local_addr()?;
        println!(
            "articlebot serve-http: listening on http://{addr} ({} articles)",
            service.article_count()
        );
        tracing::info!("listening on http://{addr}");
        crate::http::run(service, listener, &key, shutdown).await?;
        println!("articlebot serve-http: stopped");
        anyhow::Ok(())
    })?;
    Ok(EXIT_OK)
}

/// With `discord.announce_channel_id` set, `serve-http` posts in that channel as the bot:
/// the token's variable (`discord.token_env`) must be set too, or the start fails saying so.
fn announcing_token(settings: &Settings) -> anyhow::Result<()> {
    let Some(channel) = settings.discord.announce_channel_id else {
        return Ok(());
    };
    let var = &settings.discord.token_env;
    match std::env::var(var) {
        Ok(t) if !t.trim().is_empty() => Ok(()),
        _ => anyhow::bail!(
            "discord.announce_channel_id: new articles are announced in channel {channel} as the \
             bot, which needs its token: set the environment variable {var} (or remove the key)"
        ),
    }
}

/// Opens the service the settings describe, reporting the content like every command.
fn open(settings: &Settings, progress: &dyn BuildProgress) -> Result<Arc<Service>, Failure> {
    let service = Service::open(settings.clone(), progress).map_err(super::classify)?;
    report_content(settings, &service.engine().library());
    Ok(service)
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Runtime::new().context("cannot start the async runtime")
}

/// Picks the public key: the `--public-key` flag, else `DISCORD_PUBLIC_KEY`, else the file's
/// `http.public_key`. Empty values count as absent.
pub fn choose_public_key(
    flag: Option<&str>,
    env: Option<&str>,
    file: Option<&str>,
) -> anyhow::Result<String> {
    fn present(v: Option<&str>) -> Option<&str> {
        v.map(str::trim).filter(|v| !v.is_empty())
    }
    match present(flag).or(present(env)).or(present(file)) {
        Some(key) => Ok(key.to_string()),
        None => anyhow::bail!(
            "no public key: set {PUBLIC_KEY_ENV}, pass --public-key HEX or set http.public_key \
             in config.toml (the application's \"Public Key\" in the Discord developer portal)"
        ),
    }
}

/// Where the bot keeps small state files (the command registration, `/discuss` threads): next
/// to the statistics database, else next to the index.
pub fn state_dir(settings: &Settings) -> Option<PathBuf> {
    if let Some(db) = &settings.stats.db {
        return db.parent().map(|p| p.to_path_buf());
    }
    match &settings.index {
        IndexLocation::Dir(d) => d.parent().map(|p| p.to_path_buf()),
        IndexLocation::Memory => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_precedence_is_flag_env_file() {
        assert_eq!(
            choose_public_key(Some("f"), Some("e"), Some("c")).unwrap(),
            "f"
        );
        assert_eq!(choose_public_key(None, Some("e"), Some("c")).unwrap(), "e");
        assert_eq!(
            choose_public_key(Some(""), Some(" "), Some("c")).unwrap(),
            "c"
        );
        let err = choose_public_key(None, None, None).unwrap_err().to_string();
        assert!(
            err.contains(PUBLIC_KEY_ENV) && err.contains("--public-key"),
            "{err}"
        );
    }
}
