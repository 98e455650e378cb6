//! How values read: addresses shortened like other wallets do, and each subnet hyperparameter
//! with its unit and a one-line meaning (the chain stores bare integers).

use tao_contract_subnets::params::PARAMS;
use tao_types::{Address, Balance};

/// `0x1234…abcd`: enough to recognise an address, short enough for a phone.
pub fn short(address: &Address) -> String {
    let text = address.to_string();
    match (text.get(..6), text.get(text.len().saturating_sub(4)..)) {
        (Some(head), Some(tail)) if text.len() > 12 => format!("{head}…{tail}"),
        _ => text,
    }
}

/// What a hyperparameter's integer counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Unit {
    Blocks,
    Count,
    /// A fraction of 65 535.
    U16Fraction,
    /// Thousandths of a tempo.
    MilliTempo,
    /// Millionths, shown as a multiplier.
    Ppm,
    /// Millionths, shown as a share.
    PpmShare,
    Rao,
    Epochs,
    Switch,
    Plain,
}

/// Each hyperparameter's unit and meaning, by name (in `PARAMS` order).
const MEANINGS: &[(&str, Unit, &str)] = &[
    ("tempo", Unit::Blocks, "an epoch runs every this many blocks"),
    ("activity_cutoff_factor_milli", Unit::MilliTempo, "neurons silent longer than this stop counting"),
    ("kappa", Unit::U16Fraction, "stake share that must agree for consensus"),
    ("max_allowed_uids", Unit::Count, "most neurons the subnet holds"),
    ("min_allowed_uids", Unit::Count, "fewest neurons before pruning starts"),
    ("max_allowed_validators", Unit::Count, "validator permits handed out each epoch"),
    ("min_allowed_weights", Unit::Count, "fewest weights a validator must set"),
    ("max_weights_limit", Unit::U16Fraction, "largest share one weight may carry"),
    ("immunity_period", Unit::Blocks, "new neurons cannot be pruned for this long"),
    ("weights_rate_limit", Unit::Blocks, "wait between two weight updates"),
    ("weights_version_key", Unit::Plain, "weights of older validator software are refused"),
    ("bonds_moving_average", Unit::PpmShare, "how much of the old bonds each epoch keeps"),
    ("bonds_penalty", Unit::U16Fraction, "how hard weights above consensus are cut in bonds"),
    ("bonds_reset", Unit::Switch, "a neuron's bonds start over when it is replaced"),
    ("liquid_alpha", Unit::Switch, "bond speed follows each validator's agreement"),
    ("alpha_low", Unit::U16Fraction, "slowest bond update under liquid alpha"),
    ("alpha_high", Unit::U16Fraction, "fastest bond update under liquid alpha"),
    ("alpha_sigmoid_steepness", Unit::Plain, "how sharply liquid alpha moves between the two"),
    ("yuma3", Unit::Switch, "bonds computed the Yuma 3 way"),
    ("commit_reveal", Unit::Switch, "weights are committed hidden and revealed later"),
    ("reveal_period_epochs", Unit::Epochs, "how long committed weights stay hidden"),
    ("min_burn", Unit::Rao, "cheapest registration"),
    ("max_burn", Unit::Rao, "dearest registration"),
    ("burn_half_life", Unit::Blocks, "the registration price halves over this long"),
    ("burn_increase_mult_ppm", Unit::Ppm, "each registration multiplies the price by this"),
    ("serving_rate_limit", Unit::Blocks, "wait between two axon updates"),
    ("immune_owner_uids_limit", Unit::Count, "owner neurons that cannot be pruned"),
    ("min_non_immune_uids", Unit::Count, "neurons that must stay open to pruning"),
    ("registration_allowed", Unit::Switch, "new neurons may register"),
    ("transfer_toggle", Unit::Switch, "stake in this subnet may change owner"),
];

/// A hyperparameter's value with its unit, and what it means; `None` for a name the wallet
/// does not know (a chain newer than the wallet), which is then shown bare.
pub fn hyperparameter(name: &str, value: u64) -> Option<(String, &'static str)> {
    let &(_, unit, meaning) = MEANINGS.iter().find(|(n, ..)| *n == name)?;
    let shown = match unit {
        Unit::Blocks => format!("{value} blocks"),
        Unit::Count => value.to_string(),
        Unit::U16Fraction => percent(u128::from(value) * 10_000 / 65_535),
        Unit::MilliTempo => format!("{}.{:03} tempos", value / 1_000, value % 1_000),
        Unit::Ppm => format!("×{}.{:02}", value / 1_000_000, value % 1_000_000 / 10_000),
        Unit::PpmShare => percent(u128::from(value) / 100),
        Unit::Rao => Balance(value).to_string(),
        Unit::Epochs => format!("{value} epochs"),
        Unit::Switch => if value == 0 { "off" } else { "on" }.to_string(),
        Unit::Plain => value.to_string(),
    };
    Some((shown, meaning))
}

/// Basis points as a percentage with two decimals.
fn percent(bps: u128) -> String {
    format!("{}.{:02}%", bps / 100, bps % 100)
}

/// Names of chain parameters the wallet has no meaning for (a test keeps this empty).
pub fn undescribed() -> Vec<&'static str> {
    PARAMS.iter().map(|p| p.name).filter(|n| hyperparameter(n, 0).is_none()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_shorten_to_both_ends() {
        let a: Address = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8".parse().unwrap_or_default();
        assert_eq!(short(&a), "0x7099…79C8");
    }

    #[test]
    fn every_chain_parameter_has_a_unit_and_meaning() {
        assert_eq!(undescribed(), Vec::<&str>::new());
        assert_eq!(hyperparameter("no_such_param", 1), None);
    }

    #[test]
    fn values_read_in_their_units() {
        let shown = |name, v| hyperparameter(name, v).map(|(s, _)| s).unwrap_or_default();
        assert_eq!(shown("tempo", 360), "360 blocks");
        assert_eq!(shown("kappa", 32_767), "49.99%");
        assert_eq!(shown("max_weights_limit", 65_535), "100.00%");
        assert_eq!(shown("activity_cutoff_factor_milli", 13_889), "13.889 tempos");
        assert_eq!(shown("burn_increase_mult_ppm", 1_260_000), "×1.26");
        assert_eq!(shown("bonds_moving_average", 900_000), "90.00%");
        assert_eq!(shown("min_burn", 500_000), "0.0005 τ");
        assert_eq!(shown("commit_reveal", 0), "off");
        assert_eq!(shown("yuma3", 1), "on");
    }
}
