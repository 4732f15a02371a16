//! Retransmission of client-initiated exchanges (RFC 8415 §15) and the
//! client's timer constants (RFC 8415 §7.6).
//!
//! One [`Retransmission`] drives one exchange: it says when to send the
//! first message and each retransmission, and when the exchange has failed
//! (MRC transmissions made, or MRD elapsed since the first one). The random
//! factor comes from the machine's seeded [`Rng`], so a run replays exactly.
//!
//! Panic contract: nothing here panics; durations saturate.

use std::time::Duration;
use v6edge_core::{Instant, Rng};

/// RFC 8415 §7.6: the first Solicit is delayed by up to this much.
pub const SOL_MAX_DELAY: Duration = Duration::from_secs(1);
/// RFC 8415 §7.6: the first Information-request is delayed by up to this much.
pub const INF_MAX_DELAY: Duration = Duration::from_secs(1);
/// RFC 8415 §7.6 / §21.23: Information Refresh Time when the server sends none.
pub const IRT_DEFAULT: Duration = Duration::from_secs(86_400);
/// RFC 8415 §21.23: a smaller Information Refresh Time is raised to this.
pub const IRT_MINIMUM: Duration = Duration::from_secs(600);
/// RFC 8415 §21.24 / §21.25: SOL_MAX_RT and INF_MAX_RT values outside
/// these bounds are ignored.
pub const MAX_RT_OPTION_MIN: u32 = 60;
pub const MAX_RT_OPTION_MAX: u32 = 86_400;

/// The parameters of one kind of exchange (RFC 8415 §15: IRT, MRT, MRC, MRD).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetransParams {
    /// Initial retransmission time.
    pub irt: Duration,
    /// Maximum retransmission time; `None` = no cap.
    pub mrt: Option<Duration>,
    /// Maximum number of transmissions; `None` = unlimited.
    pub mrc: Option<u32>,
    /// Maximum duration from the first transmission; `None` = unlimited.
    pub mrd: Option<Duration>,
    /// RFC 8415 §15: for Solicit the first RT must be strictly greater than
    /// IRT, so RAND is drawn from (0, 0.1] for it.
    pub first_rand_positive: bool,
}

impl RetransParams {
    /// SOL_TIMEOUT 1 s, SOL_MAX_RT 3600 s (RFC 8415 §7.6, §18.2.1).
    pub const SOLICIT: RetransParams = RetransParams {
        irt: Duration::from_secs(1),
        mrt: Some(Duration::from_secs(3600)),
        mrc: None,
        mrd: None,
        first_rand_positive: true,
    };
    /// REQ_TIMEOUT 1 s, REQ_MAX_RT 30 s, REQ_MAX_RC 10 (RFC 8415 §18.2.2).
    pub const REQUEST: RetransParams = RetransParams {
        irt: Duration::from_secs(1),
        mrt: Some(Duration::from_secs(30)),
        mrc: Some(10),
        mrd: None,
        first_rand_positive: false,
    };
    /// REN_TIMEOUT 10 s, REN_MAX_RT 600 s; MRD (time until T2) is set per
    /// exchange (RFC 8415 §18.2.4).
    pub const RENEW: RetransParams = RetransParams {
        irt: Duration::from_secs(10),
        mrt: Some(Duration::from_secs(600)),
        mrc: None,
        mrd: None,
        first_rand_positive: false,
    };
    /// REB_TIMEOUT 10 s, REB_MAX_RT 600 s; MRD (until every valid lifetime
    /// has ended) is set per exchange (RFC 8415 §18.2.5).
    pub const REBIND: RetransParams = RetransParams {
        irt: Duration::from_secs(10),
        mrt: Some(Duration::from_secs(600)),
        mrc: None,
        mrd: None,
        first_rand_positive: false,
    };
    /// REL_TIMEOUT 1 s, REL_MAX_RC 4 (RFC 8415 §18.2.7).
    pub const RELEASE: RetransParams = RetransParams {
        irt: Duration::from_secs(1),
        mrt: None,
        mrc: Some(4),
        mrd: None,
        first_rand_positive: false,
    };
    /// INF_TIMEOUT 1 s, INF_MAX_RT 3600 s (RFC 8415 §18.2.6).
    pub const INFORMATION_REQUEST: RetransParams = RetransParams {
        irt: Duration::from_secs(1),
        mrt: Some(Duration::from_secs(3600)),
        mrc: None,
        mrd: None,
        first_rand_positive: false,
    };

    pub fn with_mrt(mut self, mrt: Duration) -> RetransParams {
        self.mrt = Some(mrt);
        self
    }

    pub fn with_mrd(mut self, mrd: Duration) -> RetransParams {
        self.mrd = Some(mrd);
        self
    }
}

/// What the exchange wants at a given moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetransStep {
    /// Send (or resend) the message now.
    Send,
    /// Nothing to do before this instant.
    Wait(Instant),
    /// The exchange failed: MRC transmissions made or MRD elapsed.
    Failed,
}

/// The retransmission state of one exchange.
#[derive(Debug, Clone)]
pub struct Retransmission {
    params: RetransParams,
    /// The current RT (zero before the first transmission).
    rt: Duration,
    sent: u32,
    first_sent_at: Option<Instant>,
    /// When the first RT ends (Advertise collection, RFC 8415 §18.2.1).
    first_rt_end: Option<Instant>,
    next_at: Instant,
}

impl Retransmission {
    /// An exchange whose first message goes out at `first_at`.
    pub fn new(params: RetransParams, first_at: Instant) -> Retransmission {
        Retransmission {
            params,
            rt: Duration::ZERO,
            sent: 0,
            first_sent_at: None,
            first_rt_end: None,
            next_at: first_at,
        }
    }

    pub fn params(&self) -> &RetransParams {
        &self.params
    }

    /// When [`Retransmission::step`] next has something to do.
    pub fn next_at(&self) -> Instant {
        self.next_at
    }

    /// Transmissions made so far.
    pub fn sent(&self) -> u32 {
        self.sent
    }

    /// The RT in force after the last transmission.
    pub fn rt(&self) -> Duration {
        self.rt
    }

    pub fn first_sent_at(&self) -> Option<Instant> {
        self.first_sent_at
    }

    /// End of the first RT, once the first message is out.
    pub fn first_rt_end(&self) -> Option<Instant> {
        self.first_rt_end
    }

    /// Replaces MRT for the retransmissions still to come (RFC 8415 §21.24:
    /// a SOL_MAX_RT from a server applies to the Solicit in progress).
    pub fn set_mrt(&mut self, mrt: Duration) {
        self.params.mrt = Some(mrt);
    }

    /// The MRD deadline, once the first message is out.
    fn deadline(&self) -> Option<Instant> {
        Some(self.first_sent_at? + self.params.mrd?)
    }

    /// Advance: call when `now >= next_at()`; earlier calls return `Wait`.
    pub fn step(&mut self, now: Instant, rng: &mut Rng) -> RetransStep {
        if now < self.next_at {
            return RetransStep::Wait(self.next_at);
        }
        if self.sent == 0 {
            // RFC 8415 §15: RT = IRT + RAND*IRT for the first message.
            let rand = if self.params.first_rand_positive {
                // RFC 8415 §15: for Solicit RAND is strictly positive, so the
                // first RT (the Advertise collection window) exceeds IRT.
                rng.range_u64(1, 100_000) as f64 / 1_000_000.0
            } else {
                rng.rand_factor()
            };
            self.rt = jitter(self.params.irt, rand);
            self.first_sent_at = Some(now);
            self.first_rt_end = Some(now + self.rt);
        } else {
            if self.params.mrc.is_some_and(|mrc| self.sent >= mrc) {
                return RetransStep::Failed;
            }
            if self.deadline().is_some_and(|d| now >= d) {
                return RetransStep::Failed;
            }
            // RFC 8415 §15: RT = 2*RTprev + RAND*RTprev, then capped:
            // RT = MRT + RAND*MRT when it exceeds MRT.
            let rand = rng.rand_factor();
            let mut rt = jitter(self.rt.saturating_mul(2), rand / 2.0);
            if let Some(mrt) = self.params.mrt
                && rt > mrt
            {
                rt = jitter(mrt, rng.rand_factor());
            }
            self.rt = rt;
        }
        self.sent = self.sent.saturating_add(1);
        let mut next = now + self.rt;
        // RFC 8415 §15: the exchange ends MRD after the first transmission.
        if let Some(d) = self.deadline() {
            next = next.min(d);
        }
        self.next_at = next;
        RetransStep::Send
    }

    /// RFC 8415 §21.9: Elapsed Time in hundredths of a second since the
    /// first transmission of this exchange, 0 for the first, saturating at
    /// 0xffff.
    pub fn elapsed_centis(&self, now: Instant) -> u16 {
        match self.first_sent_at {
            None => 0,
            Some(t) => {
                let cs = (now - t).as_millis() / 10;
                u16::try_from(cs).unwrap_or(u16::MAX)
            }
        }
    }
}

/// `base * (1 + rand)`, rand in [-0.1, 0.1].
fn jitter(base: Duration, rand: f64) -> Duration {
    // mul_f64 panics only on negative or non-finite factors; 1 + rand is in
    // [0.9, 1.1] by construction of `rand`. The clamp keeps that true even if
    // a caller passes something else.
    let factor = (1.0 + rand).clamp(0.0, 2.0);
    let secs = base.as_secs_f64() * factor;
    Duration::try_from_secs_f64(secs).unwrap_or(Duration::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(params: RetransParams, seed: u64, max: usize) -> (Vec<Duration>, Retransmission) {
        let mut rng = Rng::seed(seed);
        let mut r = Retransmission::new(params, Instant::from_secs(100));
        let mut rts = Vec::new();
        let mut now = Instant::from_secs(100);
        for _ in 0..max {
            match r.step(now, &mut rng) {
                RetransStep::Send => {
                    rts.push(r.rt());
                    now = r.next_at();
                }
                RetransStep::Wait(_) => panic!("stepped at next_at but told to wait"),
                RetransStep::Failed => break,
            }
        }
        (rts, r)
    }

    #[test]
    fn early_step_waits() {
        let mut rng = Rng::seed(1);
        let mut r = Retransmission::new(RetransParams::REQUEST, Instant::from_secs(5));
        assert_eq!(
            r.step(Instant::from_secs(4), &mut rng),
            RetransStep::Wait(Instant::from_secs(5))
        );
        assert_eq!(r.sent(), 0);
        assert_eq!(r.step(Instant::from_secs(5), &mut rng), RetransStep::Send);
        assert_eq!(
            r.step(Instant::from_secs(5), &mut rng),
            RetransStep::Wait(r.next_at())
        );
        assert_eq!(r.sent(), 1);
    }

    #[test]
    fn request_gives_up_after_ten() {
        // RFC 8415 §18.2.2: REQ_MAX_RC 10.
        let (rts, r) = run(RetransParams::REQUEST, 3, 100);
        assert_eq!(rts.len(), 10);
        assert_eq!(r.sent(), 10);
        for rt in &rts {
            assert!(*rt <= Duration::from_secs(33), "{rt:?}");
        }
    }

    #[test]
    fn release_gives_up_after_four() {
        let (rts, _) = run(RetransParams::RELEASE, 3, 100);
        assert_eq!(rts.len(), 4);
    }

    #[test]
    fn mrd_ends_exchange_exactly() {
        let params = RetransParams::RENEW.with_mrd(Duration::from_secs(1000));
        let mut rng = Rng::seed(9);
        let start = Instant::from_secs(0);
        let mut r = Retransmission::new(params, start);
        let mut now = start;
        let mut last = start;
        loop {
            match r.step(now, &mut rng) {
                RetransStep::Send => {
                    last = now;
                    now = r.next_at();
                    assert!(now <= Instant::from_secs(1000));
                }
                RetransStep::Failed => break,
                RetransStep::Wait(_) => unreachable!(),
            }
        }
        assert_eq!(now, Instant::from_secs(1000));
        assert!(last < Instant::from_secs(1000));
    }

    #[test]
    fn elapsed_saturates() {
        let mut rng = Rng::seed(1);
        let mut r = Retransmission::new(RetransParams::SOLICIT, Instant::from_secs(0));
        assert_eq!(r.elapsed_centis(Instant::from_secs(0)), 0);
        r.step(Instant::from_secs(0), &mut rng);
        assert_eq!(r.elapsed_centis(Instant::from_micros(1_234_567)), 123);
        assert_eq!(r.elapsed_centis(Instant::from_secs(100_000)), 0xffff);
    }

    proptest::proptest! {
        /// RFC 8415 §15: every RT within [IRT*0.9, MRT*1.1]; the first Solicit
        /// RT strictly above IRT; each later RT within [1.9, 2.1] of the
        /// previous one unless capped near MRT.
        #[test]
        fn rt_bounds(seed in proptest::prelude::any::<u64>(), which in 0usize..5) {
            let params = [
                RetransParams::SOLICIT,
                RetransParams::REQUEST,
                RetransParams::RENEW,
                RetransParams::REBIND,
                RetransParams::INFORMATION_REQUEST.with_mrt(Duration::from_secs(60)),
            ][which];
            let (rts, _) = run(params, seed, 40);
            let irt = params.irt.as_secs_f64();
            let mrt = params.mrt.map(|m| m.as_secs_f64()).unwrap_or(f64::INFINITY);
            proptest::prop_assert!(!rts.is_empty());
            if params.first_rand_positive {
                proptest::prop_assert!(rts[0] > params.irt);
            }
            let mut prev: Option<f64> = None;
            for rt in &rts {
                let rt = rt.as_secs_f64();
                proptest::prop_assert!(rt >= irt * 0.9 - 1e-6, "rt {} below IRT bound", rt);
                proptest::prop_assert!(rt <= mrt * 1.1 + 1e-6, "rt {} above MRT bound", rt);
                if let Some(p) = prev {
                    let capped = rt >= mrt * 0.9 - 1e-6;
                    proptest::prop_assert!(capped || (rt >= p * 1.9 - 1e-6 && rt <= p * 2.1 + 1e-6));
                }
                prev = Some(rt);
            }
            // Solicit backs off until the cap within 40 transmissions.
            if which == 0 {
                proptest::prop_assert!(rts.last().is_some_and(|r| r.as_secs_f64() >= mrt * 0.9 - 1e-6));
            }
        }
    }
}
