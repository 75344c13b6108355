//! CPU time each request costs the handler: the thread CPU clock read around every poll of
//! the request's future, summed. Waiting on AWS (or anything else) is not CPU time and is
//! not counted. The part spent inside AWS SDK calls (building, signing and parsing them, and
//! the kernel's share of their network I/O) is counted apart, marked by the call meter's
//! interceptor at each call's start and end, so that the handler's own CPU time is the rest.

use std::cell::RefCell;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::extract::Request;
use axum::middleware::Next;
use axum::response::Response;

/// One request's CPU time.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct RequestCpu {
    /// Every poll of the request, SDK calls included.
    pub total: Duration,
    /// The part inside AWS SDK calls.
    pub aws: Duration,
}

impl RequestCpu {
    /// The handler's own CPU time: everything but the AWS calls.
    pub fn own(&self) -> Duration {
        self.total.saturating_sub(self.aws)
    }
}

#[derive(Debug, Clone, Default)]
pub struct CpuMeter {
    spent: Arc<Mutex<Vec<RequestCpu>>>,
}

impl CpuMeter {
    /// CPU time of each request finished since the last `take`.
    pub fn take(&self) -> Vec<RequestCpu> {
        std::mem::take(&mut self.spent.lock().unwrap_or_else(|e| e.into_inner()))
    }

    /// Axum middleware: put it outermost to include the gateway's token check.
    pub async fn layer(meter: axum::extract::State<CpuMeter>, req: Request, next: Next) -> Response {
        let (response, spent) = timed(next.run(req)).await;
        meter.spent.lock().unwrap_or_else(|e| e.into_inner()).push(spent);
        response
    }
}

/// Runs `inner`, measuring its CPU time.
async fn timed<F: Future>(inner: F) -> (F::Output, RequestCpu) {
    let timed = Timed { inner: Box::pin(inner), total: Duration::ZERO };
    SPLIT.scope(RefCell::new(Split::default()), timed).await
}

tokio::task_local! {
    /// Where the request in this task stands with its AWS calls.
    static SPLIT: RefCell<Split>;
}

#[derive(Debug, Default)]
struct Split {
    /// AWS calls under way (several when a handler joins calls).
    open: u32,
    /// Thread CPU time when the CPU spent since started counting as AWS's.
    mark: Duration,
    aws: Duration,
}

/// An AWS call starts in this task (the call meter's interceptor says so); outside a
/// metered request, nothing happens.
pub fn aws_call_started() {
    let _ = SPLIT.try_with(|split| {
        let mut split = split.borrow_mut();
        if split.open == 0 {
            split.mark = thread_cpu();
        }
        split.open += 1;
    });
}

/// An AWS call of this task ends.
pub fn aws_call_finished() {
    let _ = SPLIT.try_with(|split| {
        let mut split = split.borrow_mut();
        if split.open == 1 {
            let since = thread_cpu().saturating_sub(split.mark);
            split.aws += since;
        }
        split.open = split.open.saturating_sub(1);
    });
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
    total: Duration,
}

impl<F: Future> Future for Timed<F> {
    type Output = (F::Output, RequestCpu);

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let start = thread_cpu();
        // A call still under way when the last poll ended counts from here on.
        let _ = SPLIT.try_with(|split| split.borrow_mut().mark = start);
        let poll = self.inner.as_mut().poll(cx);
        let end = thread_cpu();
        self.total += end.saturating_sub(start);
        let aws = SPLIT
            .try_with(|split| {
                let mut split = split.borrow_mut();
                if split.open > 0 {
                    let since = end.saturating_sub(split.mark);
                    split.aws += since;
                    split.mark = end;
                }
                split.aws
            })
            .unwrap_or_default();
        let total = self.total;
        poll.map(|out| (out, RequestCpu { total, aws: aws.min(total) }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn busy(n: u64) -> u64 {
        let mut x = 0u64;
        for i in 0..n {
            x = std::hint::black_box(x.wrapping_add(i * i));
        }
        x
    }

    #[tokio::test]
    async fn waiting_is_not_cpu_time_but_work_is() {
        let (_, idle) = timed(tokio::time::sleep(Duration::from_millis(50))).await;
        assert!(idle.total < Duration::from_millis(5), "sleeping cost {idle:?}");
        let (_, spent) = timed(async { busy(20_000_000) }).await;
        assert!(spent.total > Duration::from_millis(1), "a busy loop cost only {spent:?}");
        assert_eq!(spent.aws, Duration::ZERO);
    }

    #[tokio::test]
    async fn work_inside_an_aws_call_is_counted_apart_even_across_polls() {
        let ((), cpu) = timed(async {
            busy(5_000_000);
            aws_call_started();
            busy(5_000_000);
            // The call waits (other polls, other work meanwhile is not this task's).
            tokio::time::sleep(Duration::from_millis(20)).await;
            busy(5_000_000);
            aws_call_finished();
            busy(5_000_000);
        })
        .await;
        let (own, aws) = (cpu.own().as_secs_f64(), cpu.aws.as_secs_f64());
        assert!(aws > 0.0 && own > 0.0, "{cpu:?}");
        // Half the work each side; generous bounds for a busy machine.
        assert!((0.3..3.0).contains(&(aws / own)), "own {own}, aws {aws}");
        // Outside a metered request the marks do nothing.
        aws_call_started();
        aws_call_finished();
    }
}
