//! API tests against the real worker in workerd (started once by `scripts/run-tests.sh`).
//! Each test makes its own random users, so tests share one server and run in parallel.

mod helpers;
mod mailbox;

mod abuse;
mod attacks;
mod breaches;
mod cleanup;
mod dbsc;
mod devices;
mod email;
mod events;
mod http_contract;
mod observability;
mod openapi;
mod passkey_device;
mod passkeys;
mod password;
mod sessions;
mod sign_in;
mod sign_up;
mod two_factor;
mod unfamiliar;
mod wrong_key;
