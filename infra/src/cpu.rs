//! CPU time each request costs the handler: the thread CPU clock read around every poll of
//! the request's future, summed. Waiting on AWS (or anything else) is not CPU time and is
//! not counted; building, signing and parsing SDK calls is, as it is in Lambda.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::extract::Request;
use axum::middleware::Next;
use axum::response::Response;

#[derive(Debug, Clone, Default)]
pub struct CpuMeter {
    spent: Arc<Mutex<Vec<Duration>>>,
}

impl CpuMeter {
    /// CPU time of each request finished since the last `take`.
    pub fn take(&self) -> Vec<Duration> {
        std::mem::take(&mut self.spent.lock().unwrap_or_else(|e| e.into_inner()))
    }

    /// Axum middleware: put it outermost to include the gateway's token check.
    pub async fn layer(meter: axum::extract::State<CpuMeter>, req: Request, next: Next) -> Response {
        let response = Timed { inner: Box::pin(next.run(req)), spent: Duration::ZERO }.await;
        let (response, spent) = response;
        meter.spent.lock().unwrap_or_else(|e| e.into_inner()).push(spent);
        response
    }
}

/// The calling thread's CPU time so far.
fn thread_cpu() -> Duration {
    clock(libc::CLOCK_THREAD_CPUTIME_ID)
}

/// This process's CPU time so far, all threads: a check on the per-request figure (a request
/// cannot cost the handler more than it cost the whole process, client included).
pub fn process_cpu() -> Duration {
    clock(libc::CLOCK_PROCESS_CPUTIME_ID)
}

fn clock(id: libc::clockid_t) -> Duration {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: clock_gettime writes one timespec to the pointer it is given.
    let rc = unsafe { libc::clock_gettime(id, &mut ts) };
    if rc != 0 {
        return Duration::ZERO;
    }
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

struct Timed<F> {
    inner: Pin<Box<F>>,
    spent: Duration,
}

impl<F: Future> Future for Timed<F> {
    type Output = (F::Output, Duration);

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let start = thread_cpu();
        let poll = self.inner.as_mut().poll(cx);
        let spent = thread_cpu().saturating_sub(start);
        self.spent += spent;
        poll.map(|out| (out, self.spent))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn waiting_is_not_cpu_time_but_work_is() {
        let (_, idle) =
            Timed { inner: Box::pin(tokio::time::sleep(Duration::from_millis(50))), spent: Duration::ZERO }
                .await;
        assert!(idle < Duration::from_millis(5), "sleeping cost {idle:?}");
        let busy = async {
            let mut x = 0u64;
            for i in 0..20_000_000u64 {
                x = std::hint::black_box(x.wrapping_add(i * i));
            }
            x
        };
        let (_, spent) = Timed { inner: Box::pin(busy), spent: Duration::ZERO }.await;
        assert!(spent > Duration::from_millis(1), "a busy loop cost only {spent:?}");
    }
}
