//! End-to-end tests: HTTP against the local stack (dev gateway → handlers → the real AWS
//! SDK → the emulator). One binary, one stack, a fresh organization per test.

mod attachments;
mod audit;
mod campaigns;
mod categories;
mod consents;
mod contacts;
mod hardening;
mod hours;
mod housekeeping;
mod iam;
mod identity;
mod inbox;
mod input;
mod messages;
mod messaging;
mod notifications;
mod participants;
mod polling;
mod round_trips;
mod routing;
mod scheduled;
mod search;
mod support;
mod template;
mod templates;
mod threads;
mod throttled;
mod triage;
mod webhooks;
