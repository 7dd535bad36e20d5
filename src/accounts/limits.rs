//! Failed sign-ins, counted per client address and per user name: past a limit, further tries
//! are refused for the rest of the window before any password is hashed, so guessing cannot
//! take the CPU from real sign-ins.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Failed sign-ins a client address, or a user name, may have per window.
pub const MAX_FAILURES: u32 = 10;
/// The window failures are counted in, from the first.
pub const WINDOW: Duration = Duration::from_secs(60);
/// Most addresses and names remembered; past that, expired windows go, then the oldest.
const CAPACITY: usize = 65_536;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Key {
    Address(IpAddr),
    User(String),
}

#[derive(Debug, Clone, Copy)]
struct Window {
    started: Instant,
    failures: u32,
}

/// Who is limited, and for how long.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limited {
    /// `address 203.0.113.9` or `user admin`.
    pub who: String,
    pub retry_after: Duration,
}

/// The counts, shared by every way in (git, the API, the pages).
#[derive(Debug, Default)]
pub struct FailureLimiter {
    windows: Mutex<HashMap<Key, Window>>,
}

impl FailureLimiter {
    /// Refuses a sign-in from `address` as `user` while either has used up its failures.
    pub fn check(&self, address: Option<IpAddr>, user: &str) -> Result<(), Limited> {
        let now = Instant::now();
        let windows = self.lock();
        for key in keys(address, user) {
            if let Some(window) = windows.get(&key) {
                let ends = window.started + WINDOW;
                if window.failures >= MAX_FAILURES && ends > now {
                    return Err(Limited {
                        who: match &key {
                            Key::Address(address) => format!("address {address}"),
                            Key::User(name) => format!("user {name}"),
                        },
                        retry_after: ends - now,
                    });
                }
            }
        }
        Ok(())
    }

    /// Counts a failed sign-in.
    pub fn failed(&self, address: Option<IpAddr>, user: &str) {
        let now = Instant::now();
        let mut windows = self.lock();
        if windows.len() >= CAPACITY {
            windows.retain(|_, window| window.started + WINDOW > now);
            if windows.len() >= CAPACITY {
                windows.clear();
            }
        }
        for key in keys(address, user) {
            let window = windows.entry(key).or_insert(Window {
                started: now,
                failures: 0,
            });
            if window.started + WINDOW <= now {
                *window = Window {
                    started: now,
                    failures: 0,
                };
            }
            window.failures += 1;
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Key, Window>> {
        self.windows
            .lock()
            .expect("the failure counts are never poisoned")
    }
}

fn keys(address: Option<IpAddr>, user: &str) -> Vec<Key> {
    let mut keys = Vec::with_capacity(2);
    if let Some(address) = address {
        keys.push(Key::Address(address));
    }
    // Names are compared as typed, bounded: a long made-up name is one more key, not more.
    keys.push(Key::User(user.chars().take(64).collect()));
    keys
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_or_a_name_past_its_failures_is_refused_until_the_window_ends() {
        let limiter = FailureLimiter::default();
        let guesser: IpAddr = "203.0.113.9".parse().expect("address");
        let other: IpAddr = "198.51.100.1".parse().expect("address");
        for n in 0..MAX_FAILURES {
            assert!(limiter.check(Some(guesser), &format!("user{n}")).is_ok());
            limiter.failed(Some(guesser), &format!("user{n}"));
        }
        let limited = limiter
            .check(Some(guesser), "anyone")
            .expect_err("the address is limited");
        assert_eq!(limited.who, "address 203.0.113.9");
        assert!(limited.retry_after <= WINDOW && limited.retry_after > Duration::ZERO);
        assert!(
            limiter.check(Some(other), "anyone").is_ok(),
            "others are not"
        );

        for _ in 0..MAX_FAILURES {
            limiter.failed(Some(other), "admin");
        }
        let limited = limiter
            .check(Some("192.0.2.7".parse().expect("address")), "admin")
            .expect_err("the name is limited from anywhere");
        assert_eq!(limited.who, "user admin");
    }
}
