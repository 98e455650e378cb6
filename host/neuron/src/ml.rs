//! The example subnet: regression on the diabetes data set shipped in `linfa-datasets` (442
//! patients, 10 features, disease progression a year later). Miners fit ordinary least squares
//! in Rust and serve predictions; validators ask for held-out patients chosen at random each
//! round and score by mean squared error. A miner's quality is set by two knobs: the fraction of
//! the training rows it fits on, and the noise it adds to its predictions.

use linfa::prelude::*;
use linfa_linear::{FittedLinearRegression, LinearRegression};
use ndarray::{Array1, Array2, Axis};
use serde::{Deserialize, Serialize};

use crate::NeuronError;
use crate::auth::random_u64;
use crate::axon::Protocol;

/// Features per patient.
pub const FEATURES: usize = 10;
/// Most patients asked in one request.
pub const MAX_BATCH: usize = 64;

/// The protocol: predict progression for patients' features.
pub struct Diabetes;

/// The route and name of the example protocol.
pub const PROTOCOL_NAME: &str = "diabetes";

/// Patients to predict, `FEATURES` values each.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Query {
    /// One row of features per patient.
    pub rows: Vec<Vec<f64>>,
}

/// One prediction per patient asked.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Prediction {
    /// Predicted progression, in the order asked.
    pub values: Vec<f64>,
}

impl Protocol for Diabetes {
    const NAME: &'static str = PROTOCOL_NAME;
    type Request = Query;
    type Response = Prediction;
}

/// Whether row `i` of the data set is held out for validation (every fifth).
fn held_out(i: usize) -> bool {
    i.is_multiple_of(5)
}

/// The data set split: `(train features, train targets, held-out features, held-out targets)`.
fn split() -> (Array2<f64>, Array1<f64>, Array2<f64>, Array1<f64>) {
    let data = linfa_datasets::diabetes();
    let (x, y) = (data.records(), data.targets());
    let train: Vec<usize> = (0..x.nrows()).filter(|i| !held_out(*i)).collect();
    let test: Vec<usize> = (0..x.nrows()).filter(|i| held_out(*i)).collect();
    (x.select(Axis(0), &train), y.select(Axis(0), &train), x.select(Axis(0), &test), y.select(Axis(0), &test))
}

/// A miner's model and its quality knobs.
pub struct Model {
    fitted: FittedLinearRegression<f64>,
    noise: f64,
}

/// How a miner trains: `fraction` of the training rows (the first ones), predictions with
/// Gaussian noise of standard deviation `noise` added.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ModelSpec {
    /// Share of the training rows fitted, in (0, 1].
    pub fraction: f64,
    /// Noise added to each prediction (target units; the targets' spread is about 77).
    pub noise: f64,
}

impl std::str::FromStr for ModelSpec {
    type Err = NeuronError;

    /// `ols`, or `ols:fraction=0.5,noise=40`.
    fn from_str(s: &str) -> Result<Self, NeuronError> {
        let bad =
            |why: &str| NeuronError::Model(format!("{s:?}: {why} (expected ols[:fraction=F][,noise=N])"));
        let (name, knobs) = s.split_once(':').unwrap_or((s, ""));
        if name != "ols" {
            return Err(bad("unknown model"));
        }
        let mut spec = ModelSpec { fraction: 1.0, noise: 0.0 };
        for knob in knobs.split(',').filter(|k| !k.is_empty()) {
            let (k, v) = knob.split_once('=').ok_or_else(|| bad("knob without value"))?;
            let v: f64 = v.parse().map_err(|_| bad("not a number"))?;
            match k {
                "fraction" if v > 0.0 && v <= 1.0 => spec.fraction = v,
                "noise" if (0.0..=1e6).contains(&v) => spec.noise = v,
                _ => return Err(bad("unknown knob or value out of range")),
            }
        }
        Ok(spec)
    }
}

impl Model {
    /// Trains on the spec's share of the training rows (at least 12, so the fit is determined).
    pub fn train(spec: ModelSpec) -> Result<Model, NeuronError> {
        let (x, y, _, _) = split();
        #[allow(
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss,
            clippy::cast_precision_loss,
            reason = "a share of a few hundred rows"
        )]
        let rows = ((x.nrows() as f64 * spec.fraction).ceil() as usize).clamp(FEATURES + 2, x.nrows());
        let data = Dataset::new(
            x.slice(ndarray::s![..rows, ..]).to_owned(),
            y.slice(ndarray::s![..rows]).to_owned(),
        );
        let fitted = LinearRegression::new().fit(&data).map_err(|e| NeuronError::Model(e.to_string()))?;
        Ok(Model { fitted, noise: spec.noise })
    }

    /// Predictions for `query` (an empty answer for a malformed one).
    pub fn predict(&self, query: &Query) -> Prediction {
        if query.rows.len() > MAX_BATCH || query.rows.iter().any(|r| r.len() != FEATURES) {
            return Prediction { values: Vec::new() };
        }
        let flat: Vec<f64> = query.rows.iter().flatten().copied().collect();
        let Ok(x) = Array2::from_shape_vec((query.rows.len(), FEATURES), flat) else {
            return Prediction { values: Vec::new() };
        };
        let y = self.fitted.predict(&x);
        Prediction { values: y.iter().map(|v| v + self.noise * gaussian()).collect() }
    }
}

/// A standard normal sample (Box–Muller on two uniform draws).
fn gaussian() -> f64 {
    #[allow(clippy::cast_precision_loss, reason = "53 random bits")]
    let uniform = || ((random_u64() >> 11) as f64 + 0.5) / (1u64 << 53) as f64;
    (-2.0 * uniform().ln()).sqrt() * (std::f64::consts::TAU * uniform()).cos()
}

/// The validator's side: the held-out patients and how answers are scored.
pub struct Validation {
    x: Array2<f64>,
    y: Array1<f64>,
    variance: f64,
}

impl Default for Validation {
    fn default() -> Self {
        let (_, _, x, y) = split();
        let variance = y.var(0.0);
        Validation { x, y, variance }
    }
}

impl Validation {
    /// `n` held-out patients chosen at random: the query and the true values.
    pub fn sample(&self, n: usize) -> (Query, Vec<f64>) {
        let n = n.clamp(1, MAX_BATCH);
        #[allow(clippy::cast_possible_truncation, reason = "an index below the row count")]
        let picks: Vec<usize> = (0..n).map(|_| (random_u64() % self.x.nrows() as u64) as usize).collect();
        let rows = picks.iter().map(|&i| self.x.row(i).to_vec()).collect();
        (Query { rows }, picks.iter().map(|&i| self.y[i]).collect())
    }

    /// Quality of `answer` in [0, 1]: `var / (var + MSE)` — 1 for perfect predictions, ½ for
    /// an error as large as the targets' spread, 0 for a wrong-sized or non-finite answer.
    pub fn quality(&self, answer: &Prediction, truth: &[f64]) -> f64 {
        if answer.values.len() != truth.len()
            || truth.is_empty()
            || answer.values.iter().any(|v| !v.is_finite())
        {
            return 0.0;
        }
        #[allow(clippy::cast_precision_loss, reason = "at most MAX_BATCH")]
        let mse =
            answer.values.iter().zip(truth).map(|(p, t)| (p - t) * (p - t)).sum::<f64>() / truth.len() as f64;
        self.variance / (self.variance + mse)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "test code")]
    use super::*;

    #[test]
    fn more_data_and_less_noise_score_higher_on_held_out_patients() {
        let validation = Validation::default();
        let specs =
            ["ols:fraction=0.05,noise=120", "ols:fraction=0.1,noise=60", "ols:fraction=0.3,noise=25", "ols"];
        let models: Vec<Model> = specs.iter().map(|s| Model::train(s.parse().unwrap()).unwrap()).collect();
        // Every held-out patient at once, so the comparison is not luck.
        let query =
            Query { rows: validation.x.rows().into_iter().map(|r| r.to_vec()).take(MAX_BATCH).collect() };
        let truth: Vec<f64> = validation.y.iter().copied().take(MAX_BATCH).collect();
        let q: Vec<f64> = models.iter().map(|m| validation.quality(&m.predict(&query), &truth)).collect();
        assert!(q.windows(2).all(|w| w[0] < w[1]), "{q:?}");
        assert!(q[3] > 0.6, "{q:?}");
        assert_eq!(validation.quality(&Prediction { values: vec![1.0] }, &truth), 0.0);
        assert!("svm".parse::<ModelSpec>().is_err());
        assert!("ols:fraction=0".parse::<ModelSpec>().is_err());
    }
}

/// How a miner of the example subnet runs.
#[derive(Debug, Clone, Copy)]
pub struct MinerConfig {
    /// The subnet.
    pub netuid: tao_types::NetUid,
    /// Its model.
    pub spec: ModelSpec,
    /// The address published on chain (where validators reach the listener).
    pub publish: std::net::SocketAddr,
    /// Extra time taken per answer (to show a slow miner; zero normally).
    pub delay: std::time::Duration,
    /// The axon's limits.
    pub limits: crate::AxonLimits,
}

/// Starts a miner: trains its model, follows the subnet's proven metagraph (who may call),
/// serves the axon on `listener` and publishes `config.publish` with `serve_axon`. The task
/// serves until dropped or aborted.
pub async fn start_miner(
    chain: std::sync::Arc<crate::Chain>,
    key: tao_crypto::SecretKey,
    listener: tokio::net::TcpListener,
    config: MinerConfig,
) -> Result<tokio::task::JoinHandle<()>, NeuronError> {
    let model = std::sync::Arc::new(Model::train(config.spec)?);
    let genesis = chain.domain().await.genesis_hash;
    let metagraph = crate::follow(chain.clone(), config.netuid, std::time::Duration::from_secs(2)).await?;
    let delay = config.delay;
    let handler: crate::axon::Handler<Diabetes> = std::sync::Arc::new(move |q: Query| {
        std::thread::sleep(delay);
        model.predict(&q)
    });
    let axon = crate::Axon::<Diabetes>::new(key.clone(), genesis, config.limits, metagraph, handler);
    let task = tokio::spawn(async move {
        if let Err(e) = axon.serve(listener).await {
            eprintln!("miner: axon stopped: {e}");
        }
    });
    chain.serve_axon(&key, config.netuid, config.publish).await?;
    Ok(task)
}
