//! Per-principal rate and concurrency limits, answered with
//! `ThrottlingException`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// A token bucket per principal and a count of requests in flight.
#[derive(Debug)]
pub struct Limiter {
    rate: f64,
    burst: f64,
    max_in_flight: u32,
    principals: Mutex<HashMap<String, Entry>>,
}

#[derive(Debug)]
struct Entry {
    tokens: f64,
    last: Instant,
    in_flight: u32,
}

/// Why a request was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    Rate,
    Concurrency,
}

/// Holds a principal's in-flight slot until dropped.
#[derive(Debug)]
pub struct Permit {
    limiter: Arc<Limiter>,
    principal: String,
}

impl Drop for Permit {
    fn drop(&mut self) {
        let mut map = self
            .limiter
            .principals
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        if let Some(e) = map.get_mut(&self.principal) {
            e.in_flight = e.in_flight.saturating_sub(1);
        }
    }
}

impl Limiter {
    pub fn new(rate_per_second: f64, burst: u32, max_in_flight: u32) -> Arc<Limiter> {
        Arc::new(Limiter {
            rate: rate_per_second,
            burst: f64::from(burst.max(1)),
            max_in_flight,
            principals: Mutex::new(HashMap::new()),
        })
    }

    /// Takes one token and one in-flight slot for `principal`.
    pub fn acquire(self: &Arc<Self>, principal: &str) -> Result<Permit, Refusal> {
        self.acquire_at(principal, Instant::now())
    }

    fn acquire_at(self: &Arc<Self>, principal: &str, now: Instant) -> Result<Permit, Refusal> {
        let mut map = self.principals.lock().unwrap_or_else(|p| p.into_inner());
        // Keep the table bounded: forget idle principals with full buckets.
        if map.len() > 100_000 {
            let burst = self.burst;
            map.retain(|_, e| e.in_flight > 0 || e.tokens < burst);
        }
        let entry = map.entry(principal.to_string()).or_insert(Entry {
            tokens: self.burst,
            last: now,
            in_flight: 0,
        });
        let elapsed = now.saturating_duration_since(entry.last).as_secs_f64();
        entry.tokens = (entry.tokens + elapsed * self.rate).min(self.burst);
        entry.last = now;
        if entry.in_flight >= self.max_in_flight {
            return Err(Refusal::Concurrency);
        }
        if entry.tokens < 1.0 {
            return Err(Refusal::Rate);
        }
        entry.tokens -= 1.0;
        entry.in_flight += 1;
        Ok(Permit {
            limiter: self.clone(),
            principal: principal.to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn rate_and_concurrency() {
        let l = Limiter::new(10.0, 2, 3);
        let t0 = Instant::now();
        let a = l.acquire_at("p", t0).unwrap();
        let b = l.acquire_at("p", t0).unwrap();
        assert_eq!(l.acquire_at("p", t0).unwrap_err(), Refusal::Rate);
        // Another principal has its own bucket.
        let _c = l.acquire_at("q", t0).unwrap();
        // 100 ms later one token is back.
        let later = t0 + Duration::from_millis(100);
        let d = l.acquire_at("p", later).unwrap();
        assert_eq!(
            l.acquire_at("p", later + Duration::from_secs(1))
                .unwrap_err(),
            Refusal::Concurrency
        );
        drop((a, b, d));
        assert!(l.acquire_at("p", later + Duration::from_secs(1)).is_ok());
    }
}
