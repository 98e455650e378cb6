//! One component per screen, each with its own messages and state. A screen reads the
//! [`Session`](crate::session::Session) it is given and changes shared state only through its
//! `act` callback; screens never import each other.

pub mod accounts;
pub mod deploy;
pub mod history;
pub mod onboarding;
pub mod receive;
pub mod review;
pub mod send;
pub mod settings;
pub mod stake;
pub mod subnet;
pub mod subnets;
pub mod unlock;
