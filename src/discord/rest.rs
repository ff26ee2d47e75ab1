//! The REST calls that finish a deferred interaction: edits and deletions of `@original` and
//! follow-ups through the interaction webhook, and the two calls `/discuss` makes as the bot
//! (a thread on a message, a post in it).
//!
//! Interaction webhooks are authenticated by the interaction token in their URL, so they need
//! no bot token. serenity's `Http` sends `Authorization: <token>` on every request, even when
//! the token is empty (`Bot `), and Discord answers an empty or malformed `Authorization` with
//! 401. So without a bot token ([`Rest::without_token`], `serve-http` without `DISCORD_TOKEN`)
//! the webhook calls are built from serenity's own routes and sent with no `Authorization`
//! header at all, and the bot-only calls fail at once, without a request Discord would refuse.

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
    /// `Some` without a bot token: the client that sends webhook calls without one.
    tokenless: Option<serenity_reqwest::Client>,
}

impl std::fmt::Debug for Rest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Rest")
            .field("bot_token", &self.tokenless.is_none())
            .finish_non_exhaustive()
    }
}

/// Why a bot-only call was not made.
const NO_BOT_TOKEN: &str = "no bot token is configured (discord.token_env)";

impl Rest {
    /// Every call through `http`, which carries the bot token (the gateway bot's client).
    pub fn with_token(http: Arc<Http>) -> Rest {
        Rest {
            http,
            tokenless: None,
        }
    }

    /// Webhook calls without an `Authorization` header, sent by `client` to where `http` would
    /// send them (its proxy, if any); `http` holds the application id. Bot-only calls fail.
    pub fn without_token(http: Arc<Http>, client: serenity_reqwest::Client) -> Rest {
        Rest {
            http,
            tokenless: Some(client),
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
        let Some(client) = &self.tokenless else {
            return Ok(self
                .http
                .edit_original_interaction_response(token, edit, vec![])
                .await?);
        };
        let route = Route::WebhookOriginalInteractionResponse {
            application_id: self.application_id()?,
            token,
        };
        let body = serde_json::to_vec(edit)?;
        let response = self
            .send(client, LightMethod::Patch, route, Some(body))
            .await?;
        json(response).await
    }

    /// DELETE `@original`.
    pub async fn delete_original(&self, token: &str) -> anyhow::Result<()> {
        let Some(client) = &self.tokenless else {
            return Ok(self
                .http
                .delete_original_interaction_response(token)
                .await?);
        };
        let route = Route::WebhookOriginalInteractionResponse {
            application_id: self.application_id()?,
            token,
        };
        self.send(client, LightMethod::Delete, route, None).await?;
        Ok(())
    }

    /// POST a follow-up message.
    pub async fn followup(
        &self,
        token: &str,
        message: &CreateInteractionResponseFollowup,
    ) -> anyhow::Result<Message> {
        let Some(client) = &self.tokenless else {
            return Ok(self
                .http
                .create_followup_message(token, message, vec![])
                .await?);
        };
        let route = Route::WebhookFollowupMessages {
            application_id: self.application_id()?,
            token,
        };
        let body = serde_json::to_vec(message)?;
        let response = self
            .send(client, LightMethod::Post, route, Some(body))
            .await?;
        json(response).await
    }

    /// Starts a thread on a message (needs the bot token).
    pub async fn create_thread_from_message(
        &self,
        channel: ChannelId,
        message: MessageId,
        thread: &CreateThread<'_>,
    ) -> anyhow::Result<GuildChannel> {
        if self.tokenless.is_some() {
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
        if self.tokenless.is_some() {
            anyhow::bail!("cannot post in a channel: {NO_BOT_TOKEN}");
        }
        Ok(self.http.send_message(channel, vec![], message).await?)
    }

    fn application_id(&self) -> anyhow::Result<serenity::model::id::ApplicationId> {
        self.http
            .application_id()
            .context("the application id is not known yet")
    }

    /// Sends serenity's request for `route` without an `Authorization` header; an unsuccessful
    /// status is an error naming it (and Discord's message, which never holds secrets).
    async fn send(
        &self,
        client: &serenity_reqwest::Client,
        method: LightMethod,
        route: Route<'_>,
        body: Option<Vec<u8>>,
    ) -> anyhow::Result<serenity_reqwest::Response> {
        let mut request = Request::new(route, method)
            .body(body)
            .build(client, "", self.http.proxy.as_deref())?
            .build()?;
        request.headers_mut().remove(AUTHORIZATION);
        let response = client.execute(request).await?;
        let status = response.status();
        if !status.is_success() {
            let text = response.text().await.unwrap_or_default();
            let text: String = text.chars().take(200).collect();
            anyhow::bail!("interaction webhook: {status}: {text}");
        }
        Ok(response)
    }
}

async fn json<T: DeserializeOwned>(response: serenity_reqwest::Response) -> anyhow::Result<T> {
    let bytes = response.bytes().await?;
    serde_json::from_slice(&bytes).context("unexpected interaction webhook response")
}
