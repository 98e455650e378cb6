//! Subnet hyperparameters: one table of names, defaults, ranges and who may set them.
//!
//! Values are stored as `u64` per subnet (`subnet/hp/<netuid><id>`); an absent value means the
//! default. Booleans are 0 or 1. Defaults are subtensor's values for a newly created network.

use tao_types::RAO_PER_TAO;

/// Who may change a parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Setter {
    /// The subnet owner, within the range and rate limit (and the chain through governance).
    Owner,
    /// Only the chain, through governance.
    Root,
}

/// One hyperparameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParamSpec {
    /// Name used by the CLI and RPC.
    pub name: &'static str,
    /// Value of a new subnet.
    pub default: u64,
    /// Smallest allowed value.
    pub min: u64,
    /// Largest allowed value.
    pub max: u64,
    /// Who may set it.
    pub setter: Setter,
}

const fn p(name: &'static str, default: u64, min: u64, max: u64, setter: Setter) -> ParamSpec {
    ParamSpec { name, default, min, max, setter }
}

use Setter::{Owner, Root};

/// Every hyperparameter; the index is its id.
pub const PARAMS: &[ParamSpec] = &[
    p("tempo", 360, 360, 50_400, Owner),
    p("activity_cutoff_factor_milli", 13_889, 1_000, 50_000, Owner),
    p("kappa", 32_767, 0, 65_535, Root),
    p("max_allowed_uids", 256, 64, 256, Root),
    p("min_allowed_uids", 64, 1, 256, Root),
    p("max_allowed_validators", 64, 1, 256, Root),
    p("min_allowed_weights", 1, 0, 256, Owner),
    p("max_weights_limit", 65_535, 0, 65_535, Owner),
    p("immunity_period", 5_000, 0, 64_800, Owner),
    p("weights_rate_limit", 100, 0, 7_200, Root),
    p("weights_version_key", 0, 0, u64::MAX, Owner),
    p("bonds_moving_average", 900_000, 0, 975_000, Owner),
    p("bonds_penalty", 65_535, 0, 65_535, Owner),
    p("bonds_reset", 0, 0, 1, Owner),
    p("liquid_alpha", 0, 0, 1, Owner),
    p("alpha_low", 45_875, 1_638, 65_535, Owner),
    p("alpha_high", 58_982, 1_638, 65_535, Owner),
    p("alpha_sigmoid_steepness", 1_000, 0, 65_535, Owner),
    p("yuma3", 1, 0, 1, Owner),
    p("commit_reveal", 1, 0, 1, Owner),
    p("reveal_period_epochs", 1, 1, 100, Owner),
    p("min_burn", 500_000, 0, RAO_PER_TAO - 1, Owner),
    p("max_burn", 100 * RAO_PER_TAO, RAO_PER_TAO / 10, u64::MAX, Owner),
    p("burn_half_life", 360, 1, 36_100, Owner),
    p("burn_increase_mult_ppm", 1_260_000, 1_000_000, 3_000_000, Owner),
    p("serving_rate_limit", 50, 0, 7_200, Root),
    p("immune_owner_uids_limit", 1, 1, 10, Owner),
    p("min_non_immune_uids", 10, 0, 256, Root),
    p("registration_allowed", 1, 0, 1, Owner),
    p("transfer_toggle", 1, 0, 1, Owner),
];

/// The id of the parameter called `name`.
pub fn id_of(name: &str) -> Option<u8> {
    PARAMS.iter().position(|p| p.name == name).and_then(|i| u8::try_from(i).ok())
}

/// Ids of parameters other modules read.
pub mod id {
    /// `tempo`.
    pub const TEMPO: u8 = 0;
    /// `weights_version_key`.
    pub const WEIGHTS_VERSION_KEY: u8 = 10;
    /// `max_allowed_uids`.
    pub const MAX_ALLOWED_UIDS: u8 = 3;
    /// `immunity_period`.
    pub const IMMUNITY_PERIOD: u8 = 8;
    /// `burn_half_life`.
    pub const BURN_HALF_LIFE: u8 = 23;
    /// `burn_increase_mult_ppm`.
    pub const BURN_INCREASE_MULT_PPM: u8 = 24;
    /// `serving_rate_limit`.
    pub const SERVING_RATE_LIMIT: u8 = 25;
    /// `immune_owner_uids_limit`.
    pub const IMMUNE_OWNER_UIDS_LIMIT: u8 = 26;
    /// `min_non_immune_uids`.
    pub const MIN_NON_IMMUNE_UIDS: u8 = 27;
    /// `registration_allowed`.
    pub const REGISTRATION_ALLOWED: u8 = 28;
    /// `transfer_toggle`.
    pub const TRANSFER_TOGGLE: u8 = 29;
    /// `alpha_low`.
    pub const ALPHA_LOW: u8 = 15;
    /// `alpha_high`.
    pub const ALPHA_HIGH: u8 = 16;
    /// `min_burn`.
    pub const MIN_BURN: u8 = 21;
    /// `max_burn`.
    pub const MAX_BURN: u8 = 22;
}

/// Pairs that must stay ordered (`low ≤ high`) after any change.
pub const ORDERED_PAIRS: &[(u8, u8)] = &[(id::ALPHA_LOW, id::ALPHA_HIGH), (id::MIN_BURN, id::MAX_BURN)];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_in_range_and_ids_match() {
        for (i, spec) in PARAMS.iter().enumerate() {
            assert!(spec.min <= spec.default && spec.default <= spec.max, "{}", spec.name);
            assert_eq!(id_of(spec.name), Some(i as u8));
        }
        let named = [
            (id::TEMPO, "tempo"),
            (id::MAX_ALLOWED_UIDS, "max_allowed_uids"),
            (id::IMMUNITY_PERIOD, "immunity_period"),
            (id::ALPHA_LOW, "alpha_low"),
            (id::ALPHA_HIGH, "alpha_high"),
            (id::MIN_BURN, "min_burn"),
            (id::MAX_BURN, "max_burn"),
            (id::BURN_HALF_LIFE, "burn_half_life"),
            (id::BURN_INCREASE_MULT_PPM, "burn_increase_mult_ppm"),
            (id::SERVING_RATE_LIMIT, "serving_rate_limit"),
            (id::IMMUNE_OWNER_UIDS_LIMIT, "immune_owner_uids_limit"),
            (id::MIN_NON_IMMUNE_UIDS, "min_non_immune_uids"),
            (id::REGISTRATION_ALLOWED, "registration_allowed"),
            (id::TRANSFER_TOGGLE, "transfer_toggle"),
        ];
        for (id, name) in named {
            assert_eq!(PARAMS[id as usize].name, name);
        }
    }
}
