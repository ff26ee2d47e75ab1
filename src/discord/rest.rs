//! The REST calls that finish a deferred interaction: edits and deletions of `@original` and
//! follow-ups through the interaction webhook, and the two calls `/discuss` makes as the bot
//! (a thread on a message, a post in it).
//!
//! Interaction webhooks are authenticated by the interaction token in their URL, so they need
//! no bot token. serenity's `Http` sends `Authorization: <token>` on every request, even when
//! the token is empty (`Bot `), and Discord answers an empty or malformed `Authorization` with
//! 401. So the webhook calls are built from serenity's own routes and sent by this module's
//! client: with the bot token when there is one, with no `Authorization` header at all without
//! ([`Rest::without_token`], `serve-http` without `DISCORD_TOKEN`); the bot-only calls then fail
//! at once, without a request Discord would refuse.
//!
//! The interaction token is in every webhook URL, and is valid for 15 minutes: enough to edit
//! the reply or post as the bot. So no error from here carries the URL (reqwest's errors name
//! it: [`serenity_reqwest::Error::without_url`]), and the webhook calls do not go through
//! serenity's `Http::request`, which records the route, token included, in its tracing span.

use std::sync::Arc;

use anyhow::Context;
use serde::de::DeserializeOwned;
use serenity::builder::{
    CreateInteractionResponseFollowup, CreateMessage, CreateThread, EditInteractionResponse,
};
use serenity::http::{Http, LightMethod, Request, Route};
use serenity::model::channel::{GuildChannel, Message};
use serenity::model::id::{ChannelId, MessageId};
use serenity_reqwest::header::AUTHORIZATION;

/// How a deferred interaction is finished: through serenity with the bot token, or through the
/// interaction webhook alone.
pub struct Rest {
    http: Arc<Http>,
    /// The client that sends the webhook calls.
    client: serenity_reqwest::Client,
    /// Whether `http` holds a bot token (sent on every call) or none (no `Authorization`).
    bot_token: bool,
}

impl std::fmt::Debug for Rest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Rest")
            .field("bot_token", &self.bot_token)
            .finish_non_exhaustive()
    }
}

/// Why a bot-only call was not made.
const NO_BOT_TOKEN: &str = "no bot token is configured (discord.token_env)";

impl Rest {
    /// Every call with the bot token `http` carries (the gateway bot's client).
    pub fn with_token(http: Arc<Http>) -> Rest {
        Rest {
            http,
            client: client(),
            bot_token: true,
        }
    }

    /// Webhook calls without an `Authorization` header, sent by `client` to where `http` would
    /// send them (its proxy, if any); `http` holds the application id. Bot-only calls fail.
    pub fn without_token(http: Arc<Http>, client: serenity_reqwest::Client) -> Rest {
        Rest {
            http,
            client,
            bot_token: false,
        }
    }

    /// The serenity client (the application id is set on it).
    pub fn http(&self) -> &Http {
        &self.http
    }

    /// PATCH `@original`.
    pub async fn edit_original(
        &self,
        token: &str,
        edit: &EditInteractionResponse,
    ) -> anyhow::Result<Message> {
        let route = Route::WebhookOriginalInteractionResponse {
            application_id: self.application_id()?,
            token,
        };
        let body = serde_json::to_vec(edit)?;
        let response = self.send(LightMethod::Patch, route, Some(body)).await?;
        json(response).await
    }

    /// DELETE `@original`.
    pub async fn delete_original(&self, token: &str) -> anyhow::Result<()> {
        let route = Route::WebhookOriginalInteractionResponse {
            application_id: self.application_id()?,
            token,
        };
        self.send(LightMethod::Delete, route, None).await?;
        Ok(())
    }

    /// POST a follow-up message.
    pub async fn followup(
        &self,
        token: &str,
        message: &CreateInteractionResponseFollowup,
    ) -> anyhow::Result<Message> {
        let route = Route::WebhookFollowupMessages {
            application_id: self.application_id()?,
            token,
        };
        let body = serde_json::to_vec(message)?;
        let response = self.send(LightMethod::Post, route, Some(body)).await?;
        json(response).await
    }

    /// Starts a thread on a message (needs the bot token).
    pub async fn create_thread_from_message(
        &self,
        channel: ChannelId,
        message: MessageId,
        thread: &CreateThread<'_>,
    ) -> anyhow::Result<GuildChannel> {
        if !self.bot_token {
            anyhow::bail!("cannot open a thread: {NO_BOT_TOKEN}");
        }
        Ok(self
            .http
            .create_thread_from_message(channel, message, thread, None)
            .await?)
    }

    /// Posts a message in a channel (needs the bot token).
    pub async fn send_message(
        &self,
        channel: ChannelId,
        message: &CreateMessage,
    ) -> anyhow::Result<Message> {
        if !self.bot_token {
            anyhow::bail!("cannot post in a channel: {NO_BOT_TOKEN}");
        }
        Ok(self.http.send_message(channel, vec![], message).await?)
    }

    fn application_id(&self) -> anyhow::Result<serenity::model::id::ApplicationId> {
        self.http
            .application_id()
            .context("the application id is not known yet")
    }

    /// Sends serenity's request for `route`, with the bot token or without an `Authorization`
    /// header; an unsuccessful status is an error naming it (and Discord's message, which
    /// never holds secrets). No error names the URL, which holds the interaction token.
    async fn send(
        &self,
        method: LightMethod,
        route: Route<'_>,
        body: Option<Vec<u8>>,
    ) -> anyhow::Result<serenity_reqwest::Response> {
        let token = if self.bot_token {
            self.http.token()
        } else {
            ""
        };
        let mut request = Request::new(route, method)
            .body(body)
            .build(&self.client, token, self.http.proxy.as_deref())
            .map_err(|_| anyhow::anyhow!("interaction webhook: cannot build the request"))?
            .build()
            .map_err(|e| e.without_url())?;
        if !self.bot_token {
            request.headers_mut().remove(AUTHORIZATION);
        }
        let response = self
            .client
            .execute(request)
            .await
            .map_err(|e| anyhow::Error::new(e.without_url()).context("interaction webhook"))?;
        let status = response.status();
        if !status.is_success() {
            let text = response.text().await.unwrap_or_default();
            let text: String = text.chars().take(200).collect();
            anyhow::bail!("interaction webhook: {status}: {text}");
        }
        Ok(response)
    }
}

/// A client for the webhook calls, as serenity would build it. Not shared by the whole
/// process: a client's pooled connections belong to the runtime that opened them.
pub fn client() -> serenity_reqwest::Client {
    serenity_reqwest::Client::builder()
        .use_rustls_tls()
        .build()
        .unwrap_or_default()
}

async fn json<T: DeserializeOwned>(response: serenity_reqwest::Response) -> anyhow::Result<T> {
    let bytes = response
        .bytes()
        .await
        .map_err(|e| anyhow::Error::new(e.without_url()).context("interaction webhook"))?;
    serde_json::from_slice(&bytes).context("unexpected interaction webhook response")
}
