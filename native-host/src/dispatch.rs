//! The one place that decides what each request does, once it is known to
//! be well formed and the port has said `hello`: a single `match` over
//! every request type, each arm calling its action in [`crate::actions`]
//! with the one [`Services`] value.
//!
//! Each arm answers the reply type `shared` names for its request
//! ([`Request::reply_type`]); the reply is checked against it before it is
//! encoded, so the wire cannot drift from the document.

use shared::native::{HostMessage, Request};
use shared::replies::ReplyBody;
use shared::two_factor::AccountRequest;
use shared::{ErrorBody, ErrorCode};
use tokio::sync::mpsc;

use crate::actions::handoff::WebWaiting;
use crate::actions::sign_in::Challenge;
use crate::actions::status::Health;
use crate::actions::{
    accounts, handoff, hello, session, sign_in, trusted_devices, two_factor, vault,
};
use crate::api_client::ApiClientError;
use crate::config::HostConfig;
use crate::services::Services;

/// A request's outcome on the wire: a JSON result or a typed error for the
/// extension.
pub type Outcome = Result<serde_json::Value, ErrorBody>;

/// Everything one host process serves its port with: the services, and
/// what waits in memory between two requests of this port.
pub struct Dispatcher {
    services: Services,
    health: Health,
    challenge: Challenge,
    web: WebWaiting,
}

impl Dispatcher {
    /// `events` carries host-initiated messages (`status_changed`) to the
    /// port's writer.
    pub fn new(
        config: &HostConfig,
        data_dir: std::path::PathBuf,
        events: &mpsc::Sender<HostMessage>,
    ) -> Result<Dispatcher, ApiClientError> {
        Ok(Dispatcher {
            services: Services::new(config, data_dir)?,
            health: Health::new(events),
            challenge: Challenge::default(),
            web: WebWaiting::default(),
        })
    }

    /// Answers `hello`.
    pub fn hello(&self, protocol: u32) -> Outcome {
        encode(hello::hello(protocol).map(ReplyBody::Hello))
    }

    /// Handles any request after `hello`.
    pub async fn handle(&self, request: Request) -> Outcome {
        let kind = request.kind();
        let expected = request.reply_type();
        let answer = self.answer(request).await;
        if let Err(e) = &answer {
            tracing::info!(request = kind, code = ?e.code, "request failed");
        }
        if let Ok(body) = &answer {
            if body.reply_type() != expected {
                tracing::error!(request = kind, "the reply is not the request's reply type");
                return Err(ErrorBody::new(
                    ErrorCode::Internal,
                    format!("the host answered {} with the wrong type", kind),
                ));
            }
        }
        encode(answer)
    }

    /// The API's health (for `status`).
    pub async fn status(&self) -> shared::native::StatusResult {
        self.health.status(&self.services).await
    }

    async fn answer(&self, request: Request) -> Result<ReplyBody, ErrorBody> {
        use AccountRequest as A;
        use ReplyBody as R;
        let s = &self.services;
        let account = match request {
            Request::Hello { protocol } => return hello::hello(protocol).map(R::Hello),
            Request::Status => return Ok(R::Status(self.status().await)),
            Request::VaultSave { account, codes } => {
                return vault::save(s, account, codes).await.map(R::VaultSave)
            }
            Request::VaultList { account } => {
                return vault::list(s, account).await.map(R::VaultList)
            }
            Request::VaultReveal { code_id } => {
                return vault::reveal(s, code_id).await.map(R::VaultReveal)
            }
            Request::VaultDelete { account } => {
                return vault::delete(s, account).await.map(R::VaultDelete)
            }
            Request::VaultKeepCurrent { codes } => {
                return vault::keep_current(s, codes).await.map(R::VaultSave)
            }
            Request::Account(account) => account,
        };
        let (challenge, web) = (&self.challenge, &self.web);
        match account {
            A::SignIn { email, password } => sign_in::sign_in(s, challenge, email, password)
                .await
                .map(R::SignInOutcome),
            A::AnswerChallenge {
                code,
                recovery_code,
                remember_device,
            } => sign_in::answer_challenge(s, challenge, code, recovery_code, remember_device)
                .await
                .map(R::SignInOutcome),
            A::ResendSms => sign_in::resend_sms(s, challenge).await.map(R::SmsCodeSent),
            A::SignOut => session::sign_out(s, challenge).await.map(R::SessionView),
            A::SignOutEverywhere => session::sign_out_everywhere(s).await.map(R::SessionView),
            A::Session => session::session(s).await.map(R::SessionView),
            A::Disable { password, confirm } => session::disable(s, password, confirm)
                .await
                .map(R::SessionView),
            A::AuthenticatorSetup { password } => two_factor::authenticator_setup(password)?
                .send(s)
                .await
                .map(R::AuthenticatorSetup),
            A::AuthenticatorConfirm { code } => two_factor::authenticator_confirm(code)?
                .send(s)
                .await
                .map(R::EnrollmentComplete),
            A::SmsSetup { phone, password } => two_factor::sms_setup(phone, password)?
                .send(s)
                .await
                .map(R::SmsCodeSent),
            A::SmsConfirm { code } => two_factor::sms_confirm(code)?
                .send(s)
                .await
                .map(R::EnrollmentComplete),
            A::SwitchMethod { method, password } => two_factor::switch_method(method, password)?
                .send(s)
                .await
                .map(R::SwitchStarted),
            A::RegenerateRecoveryCodes { password } => {
                two_factor::regenerate_recovery_codes(password)?
                    .send(s)
                    .await
                    .map(R::RecoveryCodes)
            }
            A::ListTrustedDevices => trusted_devices::list()
                .send(s)
                .await
                .map(R::TrustedDeviceList),
            A::RevokeTrustedDevice { id } => trusted_devices::revoke(id).send(s).await.map(R::Done),
            A::ListAccounts => accounts::list().send(s).await.map(R::AccountList),
            A::SetEnforcement {
                account_id,
                enforce_2fa,
                password,
                from,
                grace_days,
            } => accounts::set_enforcement(account_id, enforce_2fa, password, from, grace_days)?
                .send(s)
                .await
                .map(R::Enforcement),
            A::ListMembers { account_id } => accounts::list_members(account_id)
                .send(s)
                .await
                .map(R::AccountMembers),
            A::SendReminder { account_id } => accounts::send_reminder(account_id)?
                .send(s)
                .await
                .map(R::RemindersSent),
            A::SkipSetup => session::skip_setup(s).await.map(R::SessionView),
            A::CreateHandoff { origin } => handoff::create_handoff(s, web, origin)
                .await
                .map(R::HandoffCode),
            A::RedeemHandoff { code, origin } => handoff::redeem_handoff(s, web, code, origin)
                .await
                .map(R::SessionView),
            A::WebAppPrompt => Ok(R::PendingPrompt(handoff::prompt(web).await)),
            A::AnswerWebAppPrompt { allow } => {
                handoff::answer(s, web, allow).await.map(R::SessionView)
            }
        }
    }
}

/// The one place a reply becomes JSON.
fn encode(answer: Result<ReplyBody, ErrorBody>) -> Outcome {
    serde_json::to_value(answer?).map_err(|e| {
        ErrorBody::new(
            ErrorCode::Internal,
            format!("could not encode the reply: {}", e),
        )
    })
}
