use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::fmt;
use core::str::FromStr;

/// Rao in one TAO (τ).
pub const RAO_PER_TAO: u64 = 1_000_000_000;

/// An amount of TAO, counted in rao (1 τ = 10⁹ rao). Arithmetic is checked: an amount never wraps.
#[derive(
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Default,
    borsh::BorshSerialize,
    borsh::BorshDeserialize,
    serde::Serialize,
    serde::Deserialize,
)]
#[serde(transparent)]
pub struct Balance(pub u64);

/// Why a string is not an amount.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BalanceError {
    /// Neither `<n> rao` nor `<decimal> τ` / `<decimal> TAO`.
    #[error("write an amount as `1.5 τ`, `1.5 TAO` or `1500000000 rao`")]
    BadFormat,
    /// More than 9 decimal places: finer than one rao.
    #[error("TAO has at most 9 decimal places")]
    TooPrecise,
    /// Larger than a u64 number of rao.
    #[error("amount too large")]
    Overflow,
}

impl Balance {
    /// Zero rao.
    pub const ZERO: Balance = Balance(0);

    /// `tao` whole TAO, or `None` if that overflows.
    pub const fn from_tao(tao: u64) -> Option<Balance> {
        match tao.checked_mul(RAO_PER_TAO) {
            Some(rao) => Some(Balance(rao)),
            None => None,
        }
    }

    /// The amount in rao.
    pub const fn rao(self) -> u64 {
        self.0
    }

    /// `self + other`, or `None` on overflow.
    pub const fn checked_add(self, other: Balance) -> Option<Balance> {
        match self.0.checked_add(other.0) {
            Some(v) => Some(Balance(v)),
            None => None,
        }
    }

    /// `self - other`, or `None` if `other` is larger.
    pub const fn checked_sub(self, other: Balance) -> Option<Balance> {
        match self.0.checked_sub(other.0) {
            Some(v) => Some(Balance(v)),
            None => None,
        }
    }
}

impl fmt::Display for Balance {
    /// Shows TAO with trailing zeros trimmed: `1.5 τ`, `0.000000001 τ`, `21000000 τ`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let whole = self.0 / RAO_PER_TAO;
        let frac = self.0 % RAO_PER_TAO;
        if frac == 0 {
            return write!(f, "{whole} τ");
        }
        let mut digits = [0u8; 9];
        let mut rest = frac;
        for d in digits.iter_mut().rev() {
            *d = b'0' + (rest % 10) as u8;
            rest /= 10;
        }
        let len = digits.iter().rposition(|&d| d != b'0').map_or(0, |i| i + 1);
        let shown = core::str::from_utf8(&digits[..len]).map_err(|_| fmt::Error)?;
        write!(f, "{whole}.{shown} τ")
    }
}

impl fmt::Debug for Balance {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} rao", self.0)
    }
}

impl FromStr for Balance {
    type Err = BalanceError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        if let Some(n) = s.strip_suffix("rao") {
            return parse_digits(n.trim()).map(Balance);
        }
        let number =
            s.strip_suffix('τ').or_else(|| s.strip_suffix("TAO")).ok_or(BalanceError::BadFormat)?.trim();
        let (whole, frac) = number.split_once('.').unwrap_or((number, ""));
        if whole.is_empty() && frac.is_empty() {
            return Err(BalanceError::BadFormat);
        }
        if frac.len() > 9 {
            return Err(BalanceError::TooPrecise);
        }
        let whole_rao = if whole.is_empty() { 0 } else { parse_digits(whole)? }
            .checked_mul(RAO_PER_TAO)
            .ok_or(BalanceError::Overflow)?;
        let frac_rao =
            if frac.is_empty() { 0 } else { parse_digits(frac)? * 10u64.pow(9 - frac.len() as u32) };
        whole_rao.checked_add(frac_rao).map(Balance).ok_or(BalanceError::Overflow)
    }
}

/// Parses plain ASCII digits (no sign, no separators) into a u64.
fn parse_digits(s: &str) -> Result<u64, BalanceError> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(BalanceError::BadFormat);
    }
    s.parse().map_err(|_| BalanceError::Overflow)
}

/// A chain message with its amounts in τ (the chain counts and reports in rao, so messages stay
/// exact; clients show them with this): `1500000000 rao` reads `1.5 τ`, and in
/// `a < b rao` both sides do (contracts count in rao; people read τ).
pub fn amounts_in_tao(message: &str) -> String {
    let mut words: Vec<String> = message.split(' ').map(String::from).collect();
    let amount = |w: &str| w.parse::<u64>().ok().map(|rao| Balance(rao).to_string());
    for i in 1..words.len() {
        let Some(rest) = words[i].strip_prefix("rao").map(String::from) else { continue };
        let Some(tao) = amount(&words[i - 1]) else { continue };
        words[i - 1] = tao.trim_end_matches(" τ").to_string();
        words[i] = format!("τ{rest}");
        let compared = i >= 3 && ["<", ">", "<=", ">="].contains(&words[i - 2].as_str());
        if let Some(left) = compared.then(|| amount(&words[i - 3])).flatten() {
            words[i - 3] = left;
        }
    }
    words.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn contract_messages_read_in_tao() {
        assert_eq!(
            amounts_in_tao("insufficient balance: 88933460000 < 5000000000000 rao"),
            "insufficient balance: 88.93346 τ < 5000 τ"
        );
        assert_eq!(
            amounts_in_tao("keep-alive transfer would leave 500 rao"),
            "keep-alive transfer would leave 0.0000005 τ"
        );
        assert_eq!(amounts_in_tao("1000000000 rao, at least"), "1 τ, at least");
        assert_eq!(amounts_in_tao("no such subnet 3"), "no such subnet 3");
        assert_eq!(amounts_in_tao("rao is a unit"), "rao is a unit");
    }

    #[test]
    fn display_and_parse_examples() {
        assert_eq!(Balance(1_500_000_000).to_string(), "1.5 τ");
        assert_eq!(Balance(1).to_string(), "0.000000001 τ");
        assert_eq!(Balance(0).to_string(), "0 τ");
        assert_eq!("1.5 τ".parse(), Ok(Balance(1_500_000_000)));
        assert_eq!("1.5 TAO".parse(), Ok(Balance(1_500_000_000)));
        assert_eq!("1500000000 rao".parse(), Ok(Balance(1_500_000_000)));
        assert_eq!(".5τ".parse(), Ok(Balance(500_000_000)));
        assert_eq!("1.0000000001 τ".parse::<Balance>(), Err(BalanceError::TooPrecise));
        assert_eq!("-1 τ".parse::<Balance>(), Err(BalanceError::BadFormat));
        assert_eq!("1.5".parse::<Balance>(), Err(BalanceError::BadFormat));
        assert_eq!("99999999999 τ".parse::<Balance>(), Err(BalanceError::Overflow));
        assert_eq!("18446744073709551616 rao".parse::<Balance>(), Err(BalanceError::Overflow));
    }

    #[test]
    fn checked_arithmetic() {
        assert_eq!(Balance(u64::MAX).checked_add(Balance(1)), None);
        assert_eq!(Balance(1).checked_sub(Balance(2)), None);
        assert_eq!(Balance(3).checked_sub(Balance(2)), Some(Balance(1)));
        assert_eq!(Balance::from_tao(21_000_000), Some(Balance(21_000_000 * RAO_PER_TAO)));
    }

    proptest! {
        #[test]
        fn display_parse_round_trip(rao in any::<u64>()) {
            let b = Balance(rao);
            prop_assert_eq!(b.to_string().parse::<Balance>(), Ok(b));
            prop_assert_eq!(tao_codec::decode::<Balance>(&tao_codec::encode(&b), 8), Ok(b));
        }
    }
}
