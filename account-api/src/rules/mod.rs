//! The product's rules (R1-R10), one file per second-factor method
//! (`authenticator`, `sms`, `recovery_codes`) plus what they share
//! (`second_factor`), and the rules around them: `session`, `sign_in`,
//! `challenge`, `enrollment`, `policy`, `accounts`, `trusted_device`,
//! `handoff`, `throttle`, `audit` and `rollout` (scheduled 2FA: grace
//! skips and deadline notices).
//!
//! Rules take the state and plain values, never HTTP extractors, so the
//! v1 handlers in `routes` and the web app's cookie routes call the same
//! functions and get the same answers.

pub mod accounts;
pub mod audit;
pub mod authenticator;
pub mod challenge;
pub mod enrollment;
pub mod handoff;
pub mod policy;
pub mod recovery_codes;
pub mod rollout;
pub mod second_factor;
pub mod session;
pub mod sign_in;
pub mod sms;
pub mod throttle;
pub mod trusted_device;
