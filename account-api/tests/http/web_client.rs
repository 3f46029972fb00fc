//! A browser tab on the web app, for the `/web/` tests: a cookie jar that
//! keeps what `Set-Cookie` sets (and drops what it clears), and the page's
//! `Origin` on every state change, as a browser sends them. The page never
//! sees a token, so neither do these tests except through the jar.

use reqwest::header::{COOKIE, ORIGIN, SET_COOKIE};
use reqwest::{Method, StatusCode};
use serde_json::Value;

use crate::common::Server;

pub struct Web<'a> {
    pub s: &'a Server,
    /// The jar: name and value of each cookie the server set.
    pub cookies: Vec<(String, String)>,
    /// The Origin its state changes carry: the page's own.
    pub origin: String,
}

pub struct Answer {
    pub status: StatusCode,
    pub body: Value,
    pub set_cookies: Vec<String>,
}

impl Answer {
    /// The body of a success, which never holds a token.
    pub fn ok(&self) -> &Value {
        assert!(self.status.is_success(), "{} {}", self.status, self.body);
        assert_no_token_in(&self.body);
        &self.body
    }

    pub fn err(&self, status: u16, code: &str) {
        assert_eq!(self.status.as_u16(), status, "{}", self.body);
        assert_eq!(self.body["error"]["code"], code, "{}", self.body);
    }
}

impl<'a> Web<'a> {
    pub fn new(s: &'a Server) -> Self {
        Web {
            s,
            cookies: Vec::new(),
            origin: s.base.clone(),
        }
    }

    /// A page served from `origin` (the configured public origin, when the
    /// server runs behind a TLS proxy).
    pub fn at(s: &'a Server, origin: &str) -> Self {
        Web {
            origin: origin.to_string(),
            ..Web::new(s)
        }
    }

    pub fn cookie(&self, name: &str) -> Option<&str> {
        self.cookies
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// One request with the jar's cookies and the given Origin (`None`:
    /// no Origin header, as a GET from the page sends).
    pub async fn send(
        &mut self,
        method: Method,
        path: &str,
        body: Option<Value>,
        origin: Option<&str>,
    ) -> Answer {
        let mut req = self
            .s
            .client
            .request(method, format!("{}{}", self.s.base, path));
        if let Some(b) = body {
            req = req.json(&b);
        }
        if let Some(o) = origin {
            req = req.header(ORIGIN, o);
        }
        if !self.cookies.is_empty() {
            let jar: Vec<String> = self
                .cookies
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect();
            req = req.header(COOKIE, jar.join("; "));
        }
        let res = req.send().await.unwrap();
        let status = res.status();
        let set_cookies: Vec<String> = res
            .headers()
            .get_all(SET_COOKIE)
            .iter()
            .map(|v| v.to_str().unwrap().to_string())
            .collect();
        for c in &set_cookies {
            let pair = c.split(';').next().unwrap();
            let (k, v) = pair.split_once('=').unwrap();
            self.cookies.retain(|(name, _)| name != k);
            if !v.is_empty() {
                self.cookies.push((k.to_string(), v.to_string()));
            }
        }
        let text = res.text().await.unwrap();
        Answer {
            status,
            body: serde_json::from_str(&text).unwrap_or(Value::Null),
            set_cookies,
        }
    }

    pub async fn post(&mut self, path: &str, body: Value) -> Answer {
        let origin = self.origin.clone();
        self.send(Method::POST, path, Some(body), Some(&origin))
            .await
    }

    pub async fn put(&mut self, path: &str, body: Value) -> Answer {
        let origin = self.origin.clone();
        self.send(Method::PUT, path, Some(body), Some(&origin))
            .await
    }

    pub async fn delete(&mut self, path: &str) -> Answer {
        let origin = self.origin.clone();
        self.send(Method::DELETE, path, None, Some(&origin)).await
    }

    pub async fn get(&mut self, path: &str) -> Answer {
        self.send(Method::GET, path, None, None).await
    }
}

/// Fails when a body handed to the page carries a token.
pub fn assert_no_token_in(body: &Value) {
    let text = body.to_string();
    for prefix in ["ses_", "chl_", "dev_", "token"] {
        assert!(!text.contains(prefix), "a token reached the page: {text}");
    }
}
