//! Requests the host passes to the API as they are, adding only the
//! session token: each is data (method, path, body, reply type), and one
//! function sends them all.

use std::marker::PhantomData;

use reqwest::Method;
use serde::de::DeserializeOwned;
use serde::Serialize;
use shared::ErrorBody;

use super::{json, session};
use crate::services::Services;

/// One API call made for the person with their session token.
#[derive(Debug)]
pub struct Forward<R> {
    method: Method,
    path: String,
    body: Option<serde_json::Value>,
    /// The API answers 204: the reply is `R` read from `{}`.
    empty_reply: bool,
    /// The call changes the person's 2FA: re-read it for the status cache.
    refreshes_status: bool,
    reply: PhantomData<fn() -> R>,
}

impl<R: DeserializeOwned> Forward<R> {
    fn new(method: Method, path: String, body: Option<serde_json::Value>) -> Forward<R> {
        Forward {
            method,
            path,
            body,
            empty_reply: false,
            refreshes_status: false,
            reply: PhantomData,
        }
    }

    pub fn get(path: impl Into<String>) -> Forward<R> {
        Forward::new(Method::GET, path.into(), None)
    }

    pub fn with_body<B: Serialize>(
        method: Method,
        path: impl Into<String>,
        body: &B,
    ) -> Result<Forward<R>, ErrorBody> {
        Ok(Forward::new(method, path.into(), Some(json(body)?)))
    }

    /// A call the API answers with no body (204).
    pub fn without_reply(method: Method, path: impl Into<String>) -> Forward<R> {
        Forward {
            empty_reply: true,
            ..Forward::new(method, path.into(), None)
        }
    }

    /// After success, re-read the person's 2FA for the status cache.
    pub fn refreshing_status(self) -> Forward<R> {
        Forward {
            refreshes_status: true,
            ..self
        }
    }

    /// Sends it with the stored session token; a session the API rejects
    /// is forgotten (see [`session::authed`]).
    pub async fn send(self, services: &Services) -> Result<R, ErrorBody> {
        let reply = if self.empty_reply {
            session::authed_empty(services, self.method, &self.path, self.body).await?;
            serde_json::from_slice(b"{}").map_err(|e| {
                ErrorBody::new(shared::ErrorCode::Internal, format!("empty reply: {}", e))
            })?
        } else {
            session::authed(services, self.method, &self.path, self.body).await?
        };
        if self.refreshes_status {
            session::refresh_cache_quietly(services).await;
        }
        Ok(reply)
    }
}
