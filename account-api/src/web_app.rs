//! The web app: the pages in `web-app/` and the cookie-session routes they
//! call under `/web/`.
//!
//! The web app gets the same rules as every client because its routes call
//! the same functions in `rules` that the v1 handlers call. What differs
//! is where tokens live: a page script never sees a session, challenge or
//! trusted-device token. They travel only in HttpOnly SameSite=Strict
//! cookies, and every state-changing request must carry an `Origin` equal
//! to the configured public origin (`--public-origin`), so another site, or
//! another program on another port of the same host, cannot drive these
//! routes with the person's cookies.
//!
//! Cookies ignore ports, so over plain http any program on the same host
//! name can read them: the plain-http loopback default is for development
//! only. Over https the cookies are `__Host-` prefixed and `Secure`: sent
//! only over https, only to this exact host, never to a sibling domain.
//!
//! The one value a page does handle is a handoff code (one use, about 60 s):
//! that is how the web app and the extension on one computer share a
//! verification (R7) without moving long-lived tokens through page scripts.

use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use shared::api::{
    ChallengeAnswer, HandoffCode, HandoffRedeem, ResendRequest, SignInRequest, SignInResponse,
    SmsCodeSent, TwoFactorDeadline, TwoFactorMethod, TwoFactorState,
};

use crate::clock::Clock;
use crate::error::{ApiError, ApiResult};
use crate::extract::{AnySession, ApiJson, ClientAddr, SignedIn};
use crate::rules::session::SESSION_TTL;
use crate::rules::{challenge, enrollment, handoff, sign_in};
use crate::state::AppState;

/// Base names; over https each gets the `__Host-` prefix (see [`Jar`]).
const SESSION_COOKIE: &str = "d2fa_session";
const CHALLENGE_COOKIE: &str = "d2fa_challenge";
const DEVICE_COOKIE: &str = "d2fa_device";

const INDEX_HTML: &str = include_str!("../../web-app/index.html");
const APP_JS: &str = include_str!("../../web-app/app.js");
/// The 2FA pages' logic, imported by `app.js` (a module script) and by the
/// node unit tests in `tests/web-logic/`.
const LOGIC_JS: &str = include_str!("../../web-app/logic.mjs");
const APP_CSS: &str = include_str!("../../web-app/app.css");
/// The words both clients show, imported by `logic.mjs` as a JSON module;
/// the extension compiles the same file into its `text` module.
const WORDS_JSON: &str = include_str!("../../web-app/words.json");
/// The design tokens the extension's pages use too (one blue everywhere).
const TOKENS_CSS: &str = include_str!("../../web-app/tokens.css");

/// `POST /web/sign-in`: the password step. The trusted-device token, when
/// this browser has one, comes from its cookie.
#[derive(Deserialize)]
pub struct WebSignIn {
    pub email: String,
    pub password: String,
}

/// `POST /web/challenge`: exactly one of `code` and `recovery_code`.
#[derive(Deserialize)]
pub struct WebChallenge {
    #[serde(default)]
    pub code: Option<String>,
    #[serde(default)]
    pub recovery_code: Option<String>,
    #[serde(default)]
    pub remember_device: bool,
}

/// What a sign-in step led to, without the tokens (they are in cookies).
#[derive(Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum WebOutcome {
    Authenticated {
        #[serde(skip_serializing_if = "Option::is_none")]
        verified_until: Option<i64>,
        /// 2FA is scheduled for this person and not set up yet (issue 14).
        #[serde(skip_serializing_if = "Option::is_none")]
        deadline: Option<TwoFactorDeadline>,
    },
    TwoFactorRequired {
        method: TwoFactorMethod,
        #[serde(skip_serializing_if = "Option::is_none")]
        phone_hint: Option<String>,
        expires_at: i64,
    },
    TwoFactorSetupRequired {
        required_by: Vec<String>,
        /// The deadline that passed, with the skips left while the grace
        /// period lasts; absent for a requirement without a date.
        #[serde(skip_serializing_if = "Option::is_none")]
        deadline: Option<TwoFactorDeadline>,
    },
}

/// `GET /web/session`: who is signed in here.
#[derive(Serialize)]
pub struct WebSession {
    pub email: String,
    pub two_factor: TwoFactorState,
}

/// The pages and the `/web/` routes, checked against `state`'s configured
/// public origin.
pub fn router(state: &AppState) -> Router<AppState> {
    // Routes that take the session like any API client: the cookie becomes
    // the bearer token before the extractors run.
    let with_session = Router::new()
        .route("/web/session", get(session))
        .route("/web/sign-out", post(sign_out))
        .route("/web/sign-out-everywhere", post(sign_out_everywhere))
        .route("/web/handoff", post(create_handoff))
        .merge(crate::web_two_factor::routes())
        .layer(middleware::from_fn_with_state(
            state.clone(),
            cookie_to_bearer,
        ));
    Router::new()
        .route("/", get(index))
        .route("/app.js", get(app_js))
        .route("/logic.mjs", get(logic_js))
        .route("/words.json", get(words_json))
        .route("/app.css", get(app_css))
        .route("/tokens.css", get(tokens_css))
        .route("/web/sign-in", post(web_sign_in))
        .route("/web/challenge", post(answer_challenge))
        .route("/web/challenge/resend", post(resend))
        .route("/web/handoff/redeem", post(redeem_handoff))
        .merge(with_session)
        .layer(middleware::from_fn_with_state(
            state.clone(),
            same_origin_only,
        ))
}

async fn index() -> Response {
    // The page learns which extension to sync with from the server, so the
    // id is written once, in `shared`.
    let page = INDEX_HTML.replace("@EXTENSION_ID@", shared::product::EXTENSION_ID);
    let mut response = Html(page).into_response();
    response.headers_mut().insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'",
        ),
    );
    response
}

async fn app_js() -> Response {
    (
        [(header::CONTENT_TYPE, "text/javascript; charset=utf-8")],
        APP_JS,
    )
        .into_response()
}

async fn logic_js() -> Response {
    // A module script is run only with a JavaScript content type.
    (
        [(header::CONTENT_TYPE, "text/javascript; charset=utf-8")],
        LOGIC_JS,
    )
        .into_response()
}

async fn words_json() -> Response {
    // A JSON module is run only with a JSON content type.
    (
        [(header::CONTENT_TYPE, "application/json; charset=utf-8")],
        WORDS_JSON,
    )
        .into_response()
}

async fn app_css() -> Response {
    ([(header::CONTENT_TYPE, "text/css; charset=utf-8")], APP_CSS).into_response()
}

async fn tokens_css() -> Response {
    (
        [(header::CONTENT_TYPE, "text/css; charset=utf-8")],
        TOKENS_CSS,
    )
        .into_response()
}

/// Refuses state-changing requests whose `Origin` is not the configured
/// public origin. SameSite=Strict already keeps other sites' requests
/// cookie-less; this also stops a same-site page on another port or under
/// another loopback name. The `Host` header is not consulted: behind a
/// proxy it names the proxy's upstream, and a client chooses it.
async fn same_origin_only(State(state): State<AppState>, request: Request, next: Next) -> Response {
    if request.method() == Method::GET || request.method() == Method::HEAD {
        return next.run(request).await;
    }
    let origin = request
        .headers()
        .get(header::ORIGIN)
        .and_then(|v| v.to_str().ok());
    match origin {
        Some(origin) if state.config.public_origin.matches(origin) => next.run(request).await,
        _ => ApiError::Forbidden(
            "this request must come from the web app's own pages (Origin check failed)".into(),
        )
        .into_response(),
    }
}

/// The web app's cookies for the configured origin: over https they are
/// `__Host-` prefixed and `Secure` (with `Path=/` and no `Domain`, as the
/// prefix requires), so they go only to this exact host over https; over
/// plain http (development on loopback) they carry their base names.
#[derive(Clone, Copy)]
struct Jar<'a> {
    https: bool,
    clock: &'a Clock,
}

impl<'a> Jar<'a> {
    fn of(state: &'a AppState) -> Jar<'a> {
        Jar {
            https: state.config.public_origin.is_https(),
            clock: &state.clock,
        }
    }

    fn name(self, base: &str) -> String {
        if self.https {
            format!("__Host-{}", base)
        } else {
            base.to_string()
        }
    }

    fn get(self, headers: &HeaderMap, base: &str) -> Option<String> {
        cookie(headers, &self.name(base))
    }

    fn set(self, response: &mut Response, base: &str, value: &str, max_age: i64) {
        let text = format!(
            "{}={}; Path=/; HttpOnly; SameSite=Strict; Max-Age={}{}",
            self.name(base),
            value,
            max_age.max(0),
            if self.https { "; Secure" } else { "" }
        );
        if let Ok(value) = HeaderValue::from_str(&text) {
            response.headers_mut().append(header::SET_COOKIE, value);
        }
    }

    /// A cookie that ends at `until` (a challenge's or a trust's end). Its
    /// Max-Age counts from now, as the response goes out, not from when
    /// the handler began: a password check or a verification in between
    /// would otherwise let the cookie outlive what it carries by a second.
    fn set_until(self, response: &mut Response, base: &str, value: &str, until: i64) {
        self.set(response, base, value, until - self.clock.now());
    }

    fn clear(self, response: &mut Response, base: &str) {
        self.set(response, base, "", 0);
    }
}

async fn cookie_to_bearer(
    State(state): State<AppState>,
    mut request: Request,
    next: Next,
) -> Response {
    let token = Jar::of(&state).get(request.headers(), SESSION_COOKIE);
    request.headers_mut().remove(header::AUTHORIZATION);
    if let Some(token) = token {
        if let Ok(value) = HeaderValue::from_str(&format!("Bearer {}", token)) {
            request.headers_mut().insert(header::AUTHORIZATION, value);
        }
    }
    next.run(request).await
}

fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
        .filter(|v| !v.is_empty())
}

async fn web_sign_in(
    State(state): State<AppState>,
    ClientAddr(addr): ClientAddr,
    headers: HeaderMap,
    ApiJson(body): ApiJson<WebSignIn>,
) -> ApiResult<Response> {
    let jar = Jar::of(&state);
    let request = SignInRequest {
        email: body.email,
        password: body.password,
        trusted_device_token: jar.get(&headers, DEVICE_COOKIE),
    };
    let outcome = sign_in::sign_in(&state, addr, request).await?;
    Ok(match outcome {
        SignInResponse::Authenticated {
            session_token,
            verified_until,
            deadline,
        } => {
            let mut response = Json(WebOutcome::Authenticated {
                verified_until,
                deadline,
            })
            .into_response();
            jar.set(&mut response, SESSION_COOKIE, &session_token, SESSION_TTL);
            jar.clear(&mut response, CHALLENGE_COOKIE);
            response
        }
        SignInResponse::TwoFactorRequired {
            challenge_token,
            method,
            phone_hint,
            expires_at,
        } => {
            let mut response = Json(WebOutcome::TwoFactorRequired {
                method,
                phone_hint,
                expires_at,
            })
            .into_response();
            jar.set_until(
                &mut response,
                CHALLENGE_COOKIE,
                &challenge_token,
                expires_at,
            );
            response
        }
        SignInResponse::TwoFactorSetupRequired {
            session_token,
            required_by,
            deadline,
        } => {
            let mut response = Json(WebOutcome::TwoFactorSetupRequired {
                required_by,
                deadline,
            })
            .into_response();
            jar.set(&mut response, SESSION_COOKIE, &session_token, SESSION_TTL);
            response
        }
    })
}

fn pending_challenge(jar: Jar<'_>, headers: &HeaderMap) -> ApiResult<String> {
    jar.get(headers, CHALLENGE_COOKIE).ok_or_else(|| {
        ApiError::CodeExpired(
            "this sign-in has expired; enter your email and password again".into(),
        )
    })
}

async fn answer_challenge(
    State(state): State<AppState>,
    ClientAddr(addr): ClientAddr,
    headers: HeaderMap,
    ApiJson(body): ApiJson<WebChallenge>,
) -> ApiResult<Response> {
    let jar = Jar::of(&state);
    let answer = ChallengeAnswer {
        challenge_token: pending_challenge(jar, &headers)?,
        code: body.code,
        recovery_code: body.recovery_code,
        remember_device: body.remember_device,
        device_label: Some("web app".into()),
    };
    let result = challenge::answer(&state, addr, answer).await?;
    let mut response = Json(WebOutcome::Authenticated {
        verified_until: result.trusted_until,
        deadline: None,
    })
    .into_response();
    jar.set(
        &mut response,
        SESSION_COOKIE,
        &result.session_token,
        SESSION_TTL,
    );
    jar.clear(&mut response, CHALLENGE_COOKIE);
    if let (Some(token), Some(until)) = (&result.trusted_device_token, result.trusted_until) {
        jar.set_until(&mut response, DEVICE_COOKIE, token, until);
    }
    Ok(response)
}

async fn resend(State(state): State<AppState>, headers: HeaderMap) -> ApiResult<Json<SmsCodeSent>> {
    let request = ResendRequest {
        challenge_token: pending_challenge(Jar::of(&state), &headers)?,
    };
    Ok(Json(challenge::resend(&state, request).await?))
}

async fn session(
    State(state): State<AppState>,
    AnySession(caller): AnySession,
) -> ApiResult<Json<WebSession>> {
    let email = caller.email.clone();
    let two_factor = enrollment::read_state(&state, caller).await?;
    Ok(Json(WebSession { email, two_factor }))
}

async fn sign_out(
    State(state): State<AppState>,
    AnySession(caller): AnySession,
) -> ApiResult<Response> {
    let jar = Jar::of(&state);
    sign_in::sign_out(&state, caller).await?;
    let mut response = StatusCode::NO_CONTENT.into_response();
    jar.clear(&mut response, SESSION_COOKIE);
    Ok(response)
}

async fn sign_out_everywhere(
    State(state): State<AppState>,
    AnySession(caller): AnySession,
) -> ApiResult<Response> {
    let jar = Jar::of(&state);
    sign_in::sign_out_everywhere(&state, caller).await?;
    let mut response = StatusCode::NO_CONTENT.into_response();
    jar.clear(&mut response, SESSION_COOKIE);
    Ok(response)
}

async fn create_handoff(
    State(state): State<AppState>,
    SignedIn(caller): SignedIn,
) -> ApiResult<Json<HandoffCode>> {
    Ok(Json(handoff::create(&state, caller).await?))
}

async fn redeem_handoff(
    State(state): State<AppState>,
    ClientAddr(addr): ClientAddr,
    ApiJson(body): ApiJson<HandoffRedeem>,
) -> ApiResult<Response> {
    let jar = Jar::of(&state);
    let grant = handoff::redeem(&state, addr, body).await?;
    let mut response = Json(WebOutcome::Authenticated {
        verified_until: grant.verified_until,
        deadline: None,
    })
    .into_response();
    jar.set(
        &mut response,
        SESSION_COOKIE,
        &grant.session_token,
        SESSION_TTL,
    );
    // The computer's trust, when the other client had it (see handoff).
    if let (Some(token), Some(until)) = (&grant.trusted_device_token, grant.verified_until) {
        jar.set_until(&mut response, DEVICE_COOKIE, token, until);
    }
    Ok(response)
}
