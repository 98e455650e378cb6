//! The validator loop: each round it asks every served miner a fresh challenge, scores the
//! answers (and who answered in time), keeps a moving average per UID, and at the subnet's
//! weights rate limit sets those averages as weights with its hotkey — committing and revealing
//! them when the subnet runs commit–reveal.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tao_contract_subnets::params::{PARAMS, id_of};
use tao_contract_weights::{WeightsArgs, commit_hash};
use tao_crypto::SecretKey;
use tao_types::{NetUid, Uid};

use crate::NeuronError;
use crate::axon::Protocol;
use crate::chain::Chain;
use crate::dendrite::{Dendrite, Target};
use crate::metagraph::Metagraph;

/// A subnet's scoring rule: fresh challenges and how good an answer is.
pub trait Scorer<P: Protocol>: Send + Sync {
    /// What the validator knows and the miner must not: the truth of a challenge.
    type Truth: Send;
    /// A new challenge, chosen at random.
    fn challenge(&self) -> (P::Request, Self::Truth);
    /// Quality of `answer` in [0, 1].
    fn score(&self, answer: &P::Response, truth: &Self::Truth) -> f64;
}

/// The loop's settings.
#[derive(Debug, Clone, Copy)]
pub struct ValidatorConfig {
    /// The subnet.
    pub netuid: NetUid,
    /// Pause between rounds.
    pub round: Duration,
    /// How long a miner has to answer.
    pub timeout: Duration,
    /// Weight of the newest round in the moving average, in (0, 1].
    pub alpha: f64,
}

/// What the validator measured, for logs, `/metrics` and callers.
#[derive(Debug, Clone, Default)]
pub struct Measured {
    /// Rounds run.
    pub rounds: u64,
    /// Moving-average quality per UID.
    pub quality: BTreeMap<Uid, f64>,
    /// Last latency per UID, milliseconds (absent: no answer).
    pub latency_ms: BTreeMap<Uid, u64>,
    /// Weights set (or revealed) on chain.
    pub weights_set: u64,
    /// The last weights sent.
    pub last_weights: Vec<(Uid, u16)>,
    /// The block that took them.
    pub last_weights_height: u64,
    /// Failed chain calls.
    pub errors: u64,
}

impl Measured {
    /// Prometheus text of these figures.
    pub fn prometheus(&self) -> String {
        let mut out = format!(
            "tao_validator_rounds {}\ntao_validator_weights_set {}\ntao_validator_errors {}\n",
            self.rounds, self.weights_set, self.errors
        );
        for (uid, q) in &self.quality {
            out.push_str(&format!("tao_validator_quality{{uid=\"{uid}\"}} {q}\n"));
        }
        for (uid, ms) in &self.latency_ms {
            out.push_str(&format!("tao_validator_latency_ms{{uid=\"{uid}\"}} {ms}\n"));
        }
        out
    }
}

/// A weights commit waiting to be revealed.
struct Pending {
    args: WeightsArgs,
    salt: [u8; 32],
}

/// The validator: run it with [`Validator::run`].
pub struct Validator<P: Protocol, S: Scorer<P>> {
    chain: Arc<Chain>,
    key: SecretKey,
    config: ValidatorConfig,
    dendrite: Dendrite,
    scorer: S,
    measured: Arc<Mutex<Measured>>,
    last_set: Option<u64>,
    pending: Vec<Pending>,
    _protocol: std::marker::PhantomData<P>,
}

impl<P: Protocol, S: Scorer<P>> Validator<P, S> {
    /// A validator signing with hotkey `key`.
    pub async fn new(chain: Arc<Chain>, key: SecretKey, config: ValidatorConfig, scorer: S) -> Self {
        let genesis = chain.domain().await.genesis_hash;
        let dendrite = Dendrite::new(key.clone(), genesis);
        Validator {
            chain,
            key,
            config,
            dendrite,
            scorer,
            measured: Arc::default(),
            last_set: None,
            pending: Vec::new(),
            _protocol: std::marker::PhantomData,
        }
    }

    /// What it measured so far (shared: read it while the loop runs).
    pub fn measured(&self) -> Arc<Mutex<Measured>> {
        self.measured.clone()
    }

    /// Rounds forever; a failed round is logged and the next one runs.
    pub async fn run(mut self) {
        loop {
            if let Err(e) = self.round().await {
                eprintln!("validator: round failed: {e}");
                self.note(|m| m.errors += 1);
            }
            tokio::time::sleep(self.config.round).await;
        }
    }

    fn note(&self, f: impl FnOnce(&mut Measured)) {
        if let Ok(mut m) = self.measured.lock() {
            f(&mut m);
        }
    }

    /// One round: query, score, and set weights when the rate limit allows.
    pub async fn round(&mut self) -> Result<(), NeuronError> {
        let metagraph = Metagraph::sync(&self.chain, self.config.netuid).await?;
        let me = self.key.address();
        let targets: Vec<Target> = metagraph
            .neurons
            .iter()
            .filter(|n| n.hotkey != me)
            .filter_map(|n| n.axon.map(|addr| Target { uid: n.uid, hotkey: n.hotkey, addr }))
            .collect();
        let (request, truth) = self.scorer.challenge();
        let answers = self.dendrite.query::<P>(&targets, &request, self.config.timeout).await;
        let alpha = self.config.alpha;
        let timeout_ms = self.config.timeout.as_secs_f64() * 1000.0;
        self.note(|m| {
            m.rounds += 1;
            for a in &answers {
                let q = match &a.result {
                    // Latency counts a little: an answer at the deadline loses a tenth.
                    Ok(r) => {
                        self.scorer.score(r, &truth)
                            * (1.0 - 0.1 * (a.latency.as_secs_f64() * 1000.0 / timeout_ms).min(1.0))
                    }
                    Err(_) => 0.0,
                };
                let old = m.quality.get(&a.target.uid).copied().unwrap_or(q);
                m.quality.insert(a.target.uid, alpha * q + (1.0 - alpha) * old);
                match a.result {
                    Ok(_) => m
                        .latency_ms
                        .insert(a.target.uid, u64::try_from(a.latency.as_millis()).unwrap_or(u64::MAX)),
                    Err(_) => m.latency_ms.remove(&a.target.uid),
                };
            }
            // UIDs that left the subnet or stopped serving are forgotten.
            m.quality.retain(|uid, _| targets.iter().any(|t| t.uid == *uid));
        });
        self.weights(metagraph.height).await
    }

    /// A hyperparameter of the subnet, proven (the default when unset).
    async fn param(&self, name: &str) -> Result<u64, NeuronError> {
        let id = id_of(name).ok_or_else(|| NeuronError::Malformed(format!("no parameter {name}")))?;
        let key = tao_contract_subnets::param_key(self.config.netuid, id);
        let default = PARAMS.get(usize::from(id)).map_or(0, |p| p.default);
        Ok(self.chain.view().await?.read::<u64>(&key).await?.unwrap_or(default))
    }

    /// Sets (or commits, and reveals due commits of) the measured weights, at most once per
    /// `weights_rate_limit` blocks.
    async fn weights(&mut self, height: u64) -> Result<(), NeuronError> {
        let commit_reveal = self.param("commit_reveal").await? == 1;
        if commit_reveal {
            self.reveal_due().await;
        }
        let limit = self.param("weights_rate_limit").await?;
        if self.last_set.is_some_and(|last| height.saturating_sub(last) <= limit) {
            return Ok(());
        }
        let quality = self.measured.lock().map(|m| m.quality.clone()).unwrap_or_default();
        let Some(args) = normalize(self.config.netuid, &quality) else { return Ok(()) };
        let me = self.key.address();
        let done = if commit_reveal {
            let salt: [u8; 32] = std::array::from_fn(|i| crate::auth::random_u64().to_le_bytes()[i % 8]);
            let hash = commit_hash(&me, &args, &salt);
            let input =
                borsh::to_vec(&(args.netuid, hash)).map_err(|e| NeuronError::Malformed(e.to_string()))?;
            let done = self.chain.submit(&self.key, "weights", "entry_commit_weights", input).await?;
            self.pending.push(Pending { args: args.clone(), salt });
            done
        } else {
            let input = borsh::to_vec(&args).map_err(|e| NeuronError::Malformed(e.to_string()))?;
            self.chain.submit(&self.key, "weights", "entry_set_weights", input).await?
        };
        self.last_set = Some(done.height);
        let sent: Vec<(Uid, u16)> = args.uids.iter().copied().zip(args.values.iter().copied()).collect();
        eprintln!(
            "validator: weights {} at #{}: {sent:?}",
            if commit_reveal { "committed" } else { "set" },
            done.height
        );
        self.note(|m| {
            if !commit_reveal {
                m.weights_set += 1;
            }
            m.last_weights = sent;
            m.last_weights_height = done.height;
        });
        Ok(())
    }

    /// Reveals the kept commits the chain now accepts; keeps those not yet due.
    async fn reveal_due(&mut self) {
        let mut kept = Vec::new();
        for p in std::mem::take(&mut self.pending) {
            let Ok(input) = borsh::to_vec(&(&p.args, p.salt.to_vec())) else { continue };
            match self.chain.submit(&self.key, "weights", "entry_reveal_weights", input).await {
                Ok(done) => {
                    eprintln!("validator: weights revealed at #{}", done.height);
                    self.note(|m| m.weights_set += 1);
                }
                // `WeightError::RevealTooEarly`: keep it for a later round.
                Err(NeuronError::Refused(why)) if why.contains("reveal opens at epoch") => kept.push(p),
                Err(e) => eprintln!("validator: reveal dropped: {e}"),
            }
        }
        self.pending = kept;
    }
}

/// Qualities as weights: each UID's share scaled so the best is 65535; `None` when nobody scored.
pub fn normalize(netuid: NetUid, quality: &BTreeMap<Uid, f64>) -> Option<WeightsArgs> {
    let best = quality.values().copied().fold(0.0f64, f64::max);
    if best <= 0.0 || !best.is_finite() {
        return None;
    }
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss, reason = "within 0..=65535")]
    let values: Vec<u16> =
        quality.values().map(|q| ((q / best) * 65535.0).round().clamp(0.0, 65535.0) as u16).collect();
    Some(WeightsArgs { netuid, uids: quality.keys().copied().collect(), values, version_key: 0 })
}

/// The example subnet's scorer: a few held-out patients per round.
impl Scorer<crate::ml::Diabetes> for crate::ml::Validation {
    type Truth = Vec<f64>;

    fn challenge(&self) -> (crate::ml::Query, Vec<f64>) {
        self.sample(16)
    }

    fn score(&self, answer: &crate::ml::Prediction, truth: &Vec<f64>) -> f64 {
        self.quality(answer, truth)
    }
}

/// Serves `measured` as Prometheus text at `GET /metrics` on `listener`.
pub async fn serve_metrics(
    listener: tokio::net::TcpListener,
    measured: Arc<Mutex<Measured>>,
) -> std::io::Result<()> {
    let router = axum::Router::new().route(
        "/metrics",
        axum::routing::get(move || {
            let text = measured.lock().map(|m| m.prometheus()).unwrap_or_default();
            async move { text }
        }),
    );
    axum::serve(listener, router).await
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "test code")]
    use super::*;

    #[test]
    fn the_best_gets_65535_and_the_rest_their_share() {
        let q = BTreeMap::from([(1, 0.25), (2, 0.5), (3, 0.0)]);
        let args = normalize(7, &q).unwrap();
        assert_eq!((args.uids, args.values), (vec![1, 2, 3], vec![32768, 65535, 0]));
        assert!(normalize(7, &BTreeMap::from([(1, 0.0)])).is_none());
    }
}
