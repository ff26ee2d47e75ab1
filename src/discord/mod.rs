//! The Discord adapter: slash-command definitions, rendering within Discord's limits, the
//! interaction layer shared with the HTTP-interactions adapter, and the gateway bot
//! (`articlebot serve`). Everything here talks to [`crate::service::Service`], never to the
//! library or the index directly.

pub mod announce;
pub mod buttons;
pub mod commands;
pub mod gateway;
pub mod interactions;
pub mod render;
pub mod rest;
